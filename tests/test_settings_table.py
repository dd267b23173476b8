"""Every environment variable the product reads is in the README's table of
settings, and every row of the table is read somewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
# Set by `make run` for the processes it starts, not by whoever runs the shop.
INTERNAL = {"CELERY_FLAGS", "EMBEDDED_REDIS_PORT", "PATH", "PYTHONUNBUFFERED"}
READ = re.compile(r"""(?:env|environ)(?:\.get\(|\.setdefault\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")


def read_by_the_code() -> set[str]:
    sources = [ROOT / name for name in ("app.py", "config.py", "exts.py", "tasks.py")]
    sources += [*(ROOT / "blueprints").rglob("*.py"), *(ROOT / "devtools").rglob("*.py")]
    return {name for path in sources for name in READ.findall(path.read_text())} - INTERNAL


def in_the_readme() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[
        readme.index("## Configuration") : readme.index(
            "\n## ", readme.index("## Configuration") + 1
        )
    ]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}


def test_every_setting_read_is_documented_and_every_documented_one_read():
    code, table = read_by_the_code(), in_the_readme()
    assert len(code) > 80, sorted(code)
    assert sorted(code - table) == [], "read but not in the README's table"
    assert sorted(table - code) == [], "in the README's table but read nowhere"

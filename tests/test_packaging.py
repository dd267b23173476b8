"""What an install from a wheel gets (not only the editable install of `make`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_wheel_ships_every_lua_script(tmp_path):
    source = tmp_path / "source"  # a copy: building writes build/ and egg-info into the tree
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "instance", "*.egg-info")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        check=True,
        timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    scripts = {path.relative_to(ROOT).as_posix() for path in ROOT.glob("blueprints/**/*.lua")}
    assert len(scripts) >= 7
    assert scripts <= shipped, scripts - shipped

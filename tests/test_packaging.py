"""What an install from a wheel gets (not only the editable install of `make`):
every Lua script, the pages and their files, the compiled catalogues and the
migrations, so an installed shop serves Chinese pages and migrates its database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    built = tmp_path_factory.mktemp("wheel")
    source = built / "source"  # a copy: building writes build/ and egg-info into the tree
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "instance", "*.egg-info", "artifacts", "*.mo"))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(built), str(source)],
        check=True,
        timeout=300,
    )  # fmt: skip
    (found,) = built.glob("*.whl")
    return found


def test_the_wheel_ships_every_lua_script_and_page_file(wheel):
    shipped = set(zipfile.ZipFile(wheel).namelist())
    scripts = {path.relative_to(ROOT).as_posix() for path in ROOT.glob("blueprints/**/*.lua")}
    assert len(scripts) >= 7
    assert scripts <= shipped, scripts - shipped
    files = {
        path.relative_to(ROOT).as_posix()
        for folder in ("templates", "static", "migrations")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert files <= shipped, files - shipped
    assert "translations/zh_Hans/LC_MESSAGES/messages.mo" in shipped, "compiled when built"


SERVE_AND_MIGRATE = """
import sys
from flask_migrate import upgrade
from sqlalchemy import inspect
import app as module
from app import create_app
from exts import db

assert module.__file__.startswith(sys.prefix), module.__file__  # the install, not the checkout
shop = create_app({"SECRET_KEY": "x", "HTTPS": False, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                   "REDIS_URL": "redis://127.0.0.1:1/0"})
with shop.app_context():
    upgrade()
    assert "seckill_orders" in inspect(db.engine).get_table_names()
page = shop.test_client().get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
assert page.status_code == 200 and 'lang="zh-Hans"' in page.text, page.status_code
assert "获取验证码" in page.text, "the compiled catalogue speaks Chinese"
print("served and migrated")
"""


def test_an_installed_wheel_serves_chinese_and_migrates(wheel, tmp_path):
    # A new venv outside the checkout, with the project's dependencies from
    # this one (by path: its editable install of the checkout stays out).
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", site, str(wheel)], check=True, timeout=300)  # fmt: skip
    run = subprocess.run(
        [python, "-c", SERVE_AND_MIGRATE, f"sqlite:///{tmp_path / 'shop.db'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "served and migrated" in run.stdout


def test_a_checkout_compiles_a_changed_catalogue_when_the_app_starts(tmp_path):
    from blueprints.core.i18n import compile_catalogues

    folder = tmp_path / "zh_Hans" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "translations/zh_Hans/LC_MESSAGES/messages.po", folder)
    compile_catalogues(tmp_path)
    compiled = folder / "messages.mo"
    assert compiled.stat().st_size > 10_000
    compiled.write_bytes(b"stale")
    edited = compiled.stat().st_mtime + 1
    os.utime(folder / "messages.po", (edited, edited))  # edited after it was compiled
    compile_catalogues(tmp_path)
    assert compiled.stat().st_size > 10_000
    assert [path.name for path in folder.iterdir()] == sorted(["messages.po", "messages.mo"])

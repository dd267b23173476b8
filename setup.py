"""The wheel carries the compiled catalogues (pyproject.toml has the rest):
an installed shop may not be able to write beside its own files."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        for po in (Path(self.build_lib) / "translations").glob("*/LC_MESSAGES/*.po"):
            with po.open("rb") as source, po.with_suffix(".mo").open("wb") as target:
                write_mo(target, read_po(source))


setup(cmdclass={"build_py": BuildWithCatalogues})

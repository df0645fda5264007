"""Where the course lives on disk, and how a module name on the command line
maps to a module folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "modules" / "source"
RELEASE_DIR = ROOT / "modules" / "release"
PACKAGE_DIR = ROOT / "tinytorch"

_FOLDER = re.compile(r"^(\d\d)_([a-z][a-z0-9_]*)$")


@dataclass(frozen=True)
class Module:
    number: int
    name: str  # "optimizers"
    folder: Path  # modules/source/09_optimizers

    @property
    def slug(self) -> str:  # "09_optimizers"
        return self.folder.name

    @property
    def source(self) -> Path:  # the single source of truth
        return self.folder / f"{self.name}_dev.py"

    @property
    def notebook(self) -> Path:  # its paired notebook (generated)
        return self.folder / f"{self.name}_dev.ipynb"

    @property
    def release_notebook(self) -> Path:
        return RELEASE_DIR / self.slug / f"{self.name}_dev.ipynb"


def all_modules() -> list[Module]:
    """Every module folder under modules/source, in course order."""
    found = []
    for folder in sorted(SOURCE_DIR.iterdir()) if SOURCE_DIR.is_dir() else []:
        match = _FOLDER.match(folder.name)
        if match and (folder / f"{match.group(2)}_dev.py").is_file():
            found.append(Module(int(match.group(1)), match.group(2), folder))
    return found


def find_module(name: str) -> Module:
    """Resolve `optimizers`, `09_optimizers`, `09` or `9` to a module;
    ValueError lists the valid names."""
    wanted = name.strip().lower().removesuffix("_dev").removesuffix(".py")
    modules = all_modules()
    for module in modules:
        if wanted in (module.name, module.slug) or (
            wanted.isdigit() and int(wanted) == module.number
        ):
            return module
    valid = ", ".join(module.name for module in modules)
    raise ValueError(
        f"unknown module {name!r}; --module takes one of: {valid} (or its "
        "folder name, e.g. 09_optimizers)"
    )

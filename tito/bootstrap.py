"""The first cell of every student notebook: make `tinytorch` importable
wherever the notebook opens.

Module sources hold a short cell tagged `#| bootstrap` (locally the package is
installed, so it only imports it). Generated notebooks (release editions, book
pages) get the full cell below instead, with the course repository read from
_config.yml: the one setting that says where the course lives.
"""

from __future__ import annotations

import yaml

from tito.modules import ROOT

BOOTSTRAP = "#| bootstrap"

TEMPLATE = """\
# Makes `tinytorch` importable. Locally and on Binder it is installed
# already (this does nothing); on Colab it installs the course package
# from the course repository first.
import importlib.util, subprocess, sys
if importlib.util.find_spec("tinytorch") is None:
    course = "{url}"
    package = f"tinytorch @ git+{{course}}@{branch}"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", package],
        check=True,
    )
import tinytorch"""


def repository() -> tuple[str, str]:
    """(url, branch) of the course repository, from _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = config.get("repository") or {}
    if not repo.get("url") or not repo.get("branch"):
        raise ValueError(
            "_config.yml needs repository.url and repository.branch (where "
            "the course lives)"
        )
    return repo["url"].rstrip("/"), repo["branch"]


def is_bootstrap(cell) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(
        BOOTSTRAP
    )


def fill_bootstrap(notebook) -> None:
    """Replace the source of the notebook's bootstrap cell(s) with the full
    install-if-missing cell."""
    url, branch = repository()
    for cell in notebook.cells:
        if is_bootstrap(cell):
            cell.source = TEMPLATE.format(url=url, branch=branch)

"""`tito export`: module source (.py) -> paired notebook (.ipynb) and package
file (tinytorch/core/*.py).

A cell goes into the package when its leading `#|` directive lines include
`#| export`. The module says where it goes with
`#| default_exp core.optimizers` in any cell. Solution markers are dropped from
the package (the reference solution is the package's code); nothing else is
changed, so the package reads like the module.

Generated files carry a hash of their own body. A file whose body no longer
matches was edited by hand: export refuses to overwrite it (and, with --force,
keeps a backup first), so nothing a user wrote is lost.

The paired notebook is the one generated file people edit on purpose (in
Jupyter). Export tells who changed what by content, never by modification time:
it records, in the notebook's metadata and in .tito/exports.json, the hash of
the .py it was made from and the hash of its cells. A notebook edited since
then while the .py was not is synced into the .py first; when both were edited
(and differ), export stops and names the two files to reconcile.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import time
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path

import jupytext
import nbformat

from tito.modules import PACKAGE_DIR, ROOT, Module, all_modules

EXPORT = "#| export"
DEFAULT_EXP = re.compile(r"^#\|\s*default_exp\s+([\w.]+)\s*$", re.MULTILINE)
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HASH_LINE = re.compile(r"^# body-sha256: ([0-9a-f]{64})$", re.MULTILINE)
NOTEBOOK_KEY = (
    "tito"  # notebook metadata: what the paired notebook was made from
)
EXPORTS = (
    ROOT / ".tito" / "exports.json"
)  # the same, per checkout (git-ignored)


class ExportError(Exception):
    """Something the user must resolve before export can write (a clear
    message, never a traceback)."""


@dataclass
class Output:
    path: Path
    text: str
    edited_by_hand: bool = (
        False  # the file on disk was changed since export wrote it
    )

    @property
    def stale(self) -> bool:
        return (
            not self.path.is_file()
            or self.path.read_text(encoding="utf-8") != self.text
        )


def read_source(module: Module) -> nbformat.NotebookNode:
    """The module source as a notebook; a syntax error is reported at the
    source's own file and line."""
    text = module.source.read_text(encoding="utf-8")
    check_syntax(text, module.source)
    return jupytext.reads(text, fmt="py:percent")


def check_syntax(text: str, path: Path) -> None:
    # a percent-format source is one valid Python file (markdown cells are
    # comments), so compiling it whole gives the line of the error in the file
    # the user edits, not in a generated file
    try:
        compile(text, str(path), "exec", flags=ast.PyCF_ONLY_AST)
    except SyntaxError as error:
        where = f"{_shown(path)}:{error.lineno}"
        line = (error.text or "").rstrip()
        raise ExportError(
            f"{where}: syntax error: {error.msg}\n    {line}\n"
            "Fix it there, then export again."
        ) from None


def _shown(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def cells_sha256(notebook) -> str:
    """Hash of what a notebook says (cell types and sources), not of outputs or
    metadata."""
    cells = [[c.cell_type, c.source] for c in notebook.cells]
    return sha256(json.dumps(cells))


def export_target(module: Module, notebook) -> Path:
    for cell in notebook.cells:
        match = DEFAULT_EXP.search(cell.source)
        if match:
            return PACKAGE_DIR.joinpath(
                *match.group(1).split(".")
            ).with_suffix(".py")
    raise ExportError(
        f"{module.source.relative_to(ROOT)} has no `#| default_exp core.NAME` "
        "line"
    )


def exported_code(notebook) -> list[str]:
    """The source of every `#| export` cell, directive and solution markers
    removed."""
    blocks = []
    for cell in notebook.cells:
        lines = cell.source.splitlines()
        directives = list(takewhile(lambda line: line.startswith("#|"), lines))
        if cell.cell_type != "code" or EXPORT not in (
            d.strip() for d in directives
        ):
            continue
        kept = [
            line
            for line in lines[len(directives) :]
            if line.strip() not in SOLUTION_MARKERS
        ]
        blocks.append("\n".join(kept).strip("\n"))
    return blocks


def public_names(code: str) -> list[str]:
    """Top-level classes, functions and constants not starting with `_`: the
    module's `__all__`."""
    names = []
    for node in ast.parse(code).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return [name for name in names if not name.startswith("_")]


def with_header(body: str, origin: str, command: str) -> str:
    digest = hashlib.sha256(body.encode()).hexdigest()
    return (
        f"# AUTOGENERATED from {origin} by `{command}`: do not edit this "
        "file, edit the source.\n"
        f"# body-sha256: {digest}\n{body}"
    )


def hand_edited(path: Path) -> bool:
    """True when a generated file's body no longer matches the hash export
    recorded in it."""
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    match = HASH_LINE.search(text)
    if not match:
        return True
    body = text[match.end() + 1 :]
    return hashlib.sha256(body.encode()).hexdigest() != match.group(1)


def package_file(module: Module, notebook) -> Output:
    code = "\n\n\n".join(exported_code(notebook))
    names = public_names(code)
    body = (
        f'"""{module.slug}: exported from the module source; see the module '
        'for the explanations."""\n'
        f"__all__ = {names!r}\n\n{code}\n"
    )
    path = export_target(module, notebook)
    origin = module.source.relative_to(ROOT).as_posix()
    text = with_header(body, origin, f"tito export --module {module.name}")
    return Output(path, text, edited_by_hand=hand_edited(path))


def paired_notebook(module: Module, notebook) -> Output:
    for index, cell in enumerate(notebook.cells):
        # stable cell ids (nbformat makes random ones), so exporting twice
        # writes the same notebook
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        digest = hashlib.sha1(cell.source.encode()).hexdigest()[:8]
        cell.id = grade_id or f"cell-{index}-{digest}"
    source_hash = sha256(module.source.read_text(encoding="utf-8"))
    notebook.metadata[NOTEBOOK_KEY] = {
        "source_sha256": source_hash,
        "cells_sha256": cells_sha256(notebook),
    }
    text = jupytext.writes(notebook, fmt="ipynb")
    del notebook.metadata[NOTEBOOK_KEY]
    edits = notebook_edits(module, notebook)
    return Output(module.notebook, text, edited_by_hand=edits == "both")


def _recorded(module: Module, on_disk) -> dict | None:
    """What the notebook on disk was made from: this checkout's record, else
    the notebook's own."""
    if EXPORTS.is_file():
        record = json.loads(EXPORTS.read_text(encoding="utf-8"))
        if module.slug in record:
            return record[module.slug]
    return on_disk.metadata.get(NOTEBOOK_KEY)


def notebook_edits(module: Module, notebook) -> str | None:
    """Which side changed since the last export: None, "source", "notebook" or
    "both".

    `notebook` is the source read as a notebook. Two sides that say the same
    thing are in sync, whoever changed them (Jupytext's own pairing writes
    both)."""
    path = module.notebook
    if not path.is_file():
        return None
    on_disk = jupytext.read(path)
    if cells_sha256(on_disk) == cells_sha256(notebook):
        return None
    recorded = _recorded(module, on_disk)
    if recorded is None:  # made before export kept records: assume the worst
        return "both"
    source_hash = sha256(module.source.read_text(encoding="utf-8"))
    source_edited = source_hash != recorded["source_sha256"]
    notebook_edited = cells_sha256(on_disk) != recorded["cells_sha256"]
    if source_edited and notebook_edited:
        return "both"
    return "notebook" if notebook_edited else "source"


def sync_notebook_into_source(module: Module) -> bool:
    """A notebook edited in Jupyter while its .py was not: write its cells into
    the .py.

    Returns True when the .py was rewritten. Nothing is lost: the .py held
    exactly what the notebook held before the edit."""
    notebook = read_source(module)
    if notebook_edits(module, notebook) != "notebook":
        return False
    on_disk = jupytext.read(module.notebook)
    on_disk.metadata.pop(NOTEBOOK_KEY, None)
    text = jupytext.writes(on_disk, fmt="py:percent")
    check_syntax(text, module.notebook)
    module.source.write_text(text, encoding="utf-8")
    return True


def remember_export(module: Module) -> None:
    """Record what the paired notebook on disk was made from (see
    notebook_edits)."""
    record = (
        json.loads(EXPORTS.read_text(encoding="utf-8"))
        if EXPORTS.is_file()
        else {}
    )
    on_disk = jupytext.read(module.notebook)
    record[module.slug] = {
        "source_sha256": sha256(module.source.read_text(encoding="utf-8")),
        "cells_sha256": cells_sha256(on_disk),
    }
    EXPORTS.parent.mkdir(exist_ok=True)
    EXPORTS.write_text(json.dumps(record, indent=1), encoding="utf-8")


def package_inits(modules: list[Module]) -> list[Output]:
    core = "\n".join(
        f"#   {m.slug:<16} -> tinytorch/core/{m.name}.py" for m in modules
    )
    core_body = (
        '"""The framework built in the course, one file per module."""\n'
        f"# Module map:\n{core}\n"
    )
    top_body = (
        '"""TinyTorch: a deep-learning framework built one module at a '
        'time."""\n'
        '__version__ = "0.9.0"\n'
    )
    return [
        Output(
            PACKAGE_DIR / "__init__.py",
            with_header(top_body, "tito/export.py", "tito export --all"),
        ),
        Output(
            PACKAGE_DIR / "core" / "__init__.py",
            with_header(core_body, "tito/export.py", "tito export --all"),
        ),
    ]


def outputs_for(module: Module) -> list[Output]:
    notebook = read_source(module)
    return [paired_notebook(module, notebook), package_file(module, notebook)]


def planned_outputs(modules: list[Module]) -> list[Output]:
    """Everything export would write for these modules, plus the package's
    __init__ files."""
    outputs = package_inits(all_modules())
    for module in modules:
        outputs += outputs_for(module)
    return outputs


def write(outputs: list[Output], force: bool = False) -> list[Path]:
    """Write the stale outputs; refuse (or back up, with force) anything edited
    by hand."""
    blocked = [o for o in outputs if o.stale and o.edited_by_hand]
    if blocked and not force:
        raise ExportError(_blocked_message(blocked))
    written = []
    for output in outputs:
        if not output.stale:
            continue
        output.path.parent.mkdir(parents=True, exist_ok=True)
        if output.edited_by_hand:
            output.path.rename(backup_path(output.path))
        output.path.write_text(output.text, encoding="utf-8")
        written.append(output.path)
    return written


def backup_path(path: Path) -> Path:
    """Where a file's copy is kept before it is replaced: NAME.bak-<time>
    beside it."""
    return path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")


def _blocked_message(blocked: list[Output]) -> str:
    lines = []
    for output in blocked:
        shown = _shown(output.path)
        if output.path.suffix == ".ipynb":
            source = output.path.with_suffix(".py").name
            lines.append(
                f"{shown}: edited in Jupyter, and {source} was edited too "
                "since the last export; copy what you want to keep from "
                "one into the other"
            )
        else:
            lines.append(f"{shown}: edited by hand")
    names = "\n  ".join(lines)
    return (
        "export will not overwrite these files, they hold your edits:\n"
        f"  {names}\n"
        "Move your changes into the module source "
        "(modules/source/NN_name/name_dev.py), then export again. "
        "`tito export --force` overwrites them after saving a "
        ".bak-<time> copy of each."
    )

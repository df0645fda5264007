"""The learner's own edition of a module: started from the reference, tested,
reset.

A fresh checkout holds the reference solution of every module (the maintainers'
source of truth). `tito module start NAME` turns one module into the student
edition at the same paths: the exercises become the stubs of the release
notebook and the hidden tests go. How we know the file is still the reference:
`tito sync` records each source's SHA-256 in modules/source/SHA256SUMS
(committed, so it works without git). Before replacing a file, `start` keeps a
copy of the reference in .tito/reference/ (git-ignored), which
`tito module reset NAME` puts back. The learner's state lives in
.tito/learner.json.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import jupytext

from tito import export
from tito.modules import ROOT, SOURCE_DIR, Module, all_modules

MANIFEST = SOURCE_DIR / "SHA256SUMS"
STATE = ROOT / ".tito"
RECORD = STATE / "learner.json"
REFERENCE = STATE / "reference"
STUB = re.compile(
    r"^[ \t]*# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)", re.M
)
SOLUTION = "### BEGIN SOLUTION"
_CORE_IMPORT = re.compile(r"^tinytorch\.core\.(\w+)$")


class LearnerError(export.ExportError):
    """A learner command that would lose work, or cannot run: the message says
    what to do."""


# ---------------------------------------------------------------------------
# the reference record


def manifest_text(modules: list[Module]) -> str:
    """SHA256SUMS of the module sources, in `sha256sum` format (check:
    `sha256sum -c SHA256SUMS`)."""
    return "".join(
        f"{export.sha256(m.source.read_text(encoding='utf-8'))}  "
        f"{m.source.relative_to(SOURCE_DIR).as_posix()}\n"
        for m in modules
    )


def reference_sha256(module: Module) -> str | None:
    if not MANIFEST.is_file():
        return None
    wanted = module.source.relative_to(SOURCE_DIR).as_posix()
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if name == wanted:
            return digest
    return None


def source_sha256(module: Module) -> str:
    return export.sha256(module.source.read_text(encoding="utf-8"))


# -----------------------------------------------------------------------------
# the learner's record


def load_record() -> dict:
    if not RECORD.is_file():
        return {}
    return json.loads(RECORD.read_text(encoding="utf-8"))


def save_record(record: dict) -> None:
    STATE.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps(record, indent=1), encoding="utf-8")


def started(module: Module) -> dict | None:
    """The learner's record of the module (None: it holds the reference)."""
    return load_record().get(module.slug)


def started_modules() -> list[Module]:
    record = load_record()
    return [m for m in all_modules() if m.slug in record]


def refuse_publishing(what: str) -> None:
    """Release notebooks, book pages and the reference record are made from the
    reference solutions, never from a learner's edition: refuse in a checkout
    where a module is started."""
    mine = started_modules()
    if mine:
        names = ", ".join(m.name for m in mine)
        raise LearnerError(
            f"this checkout holds your own edition of {names} (`tito module "
            f"start`), and {what} are made from the reference solutions: "
            "your edition would end up in them. Use `tito export --module "
            "NAME` for your code, or `tito module reset NAME` first."
        )


# -----------------------------------------------------------------------------
# the exercises


@dataclass
class Exercise:
    grade_id: str
    label: str  # what the learner writes: `Adam.step`, `gradient_descent_step`
    names: list[
        str
    ]  # top-level names its cell defines (what tests and later modules use)
    stub: bool  # still the stub of the student edition


def _enclosing_def(code: str, line: int) -> str | None:
    """Qualified name of the innermost function around a line (1-based) of a
    cell."""
    best = None

    def visit(node, prefix):
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            ):
                name = f"{prefix}{child.name}"
                inside = child.lineno <= line <= child.end_lineno
                if inside and not isinstance(child, ast.ClassDef):
                    best = name
                if inside:
                    visit(child, f"{name}.")

    visit(ast.parse(code), "")
    return best


def exercises(notebook, labels: dict | None = None) -> list[Exercise]:
    """The graded exercises of a module (read as a notebook), in order.

    An exercise is labelled by the function that holds its solution (or stub);
    once the learner has replaced the stub, the label recorded at `start` names
    it."""
    found = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        if meta.get("grade"):
            continue  # an autograded answer cell, not an exercise to write
        code = cell.source
        stub = STUB.search(code)
        marker = stub or re.search(re.escape(SOLUTION), code)
        label = None
        if marker:
            line = code[: marker.end()].count("\n") + 1
            try:
                label = _enclosing_def(code, line)
            except SyntaxError:
                label = None
        label = label or (labels or {}).get(meta["grade_id"])
        try:
            tree = ast.parse(code)
            names = [
                node.name
                for node in tree.body
                if isinstance(
                    node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)
                )
            ]
        except SyntaxError:
            names = []
        found.append(
            Exercise(
                meta["grade_id"],
                label or meta["grade_id"],
                names,
                stub is not None,
            )
        )
    return found


def module_exercises(module: Module) -> list[Exercise]:
    record = started(module) or {}
    notebook = jupytext.read(module.source, fmt="py:percent")
    return exercises(notebook, record.get("labels"))


# -----------------------------------------------------------------------------
# the student edition


def student_edition(module: Module):
    """The module source with the release notebook's stubs and without hidden
    tests."""
    from tito.book import nbgrader_config, student_preprocessors

    notebook = export.read_source(module)
    resources = {}
    for preprocessor in student_preprocessors(nbgrader_config()):
        notebook, resources = preprocessor.preprocess(notebook, resources)
    return notebook


def _notebook_holds_edits(module: Module) -> bool:
    """The paired notebook says something its .py does not (work done in
    Jupyter)."""
    if not module.notebook.is_file():
        return False
    try:
        source = export.read_source(module)
    except export.ExportError:  # a .py that does not parse: keep both
        return True
    on_disk = jupytext.read(module.notebook)
    return export.cells_sha256(on_disk) != export.cells_sha256(source)


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _export(module: Module, force: bool = False) -> list[Path]:
    """Write the module's paired notebook and package file from its .py."""
    written = export.write(export.outputs_for(module), force=force)
    export.remember_export(module)
    return written


def start(module: Module) -> list[str]:
    """Turn the module into the student edition; refuse when that would
    overwrite the learner's work."""
    if started(module):
        return [
            f"{module.slug} is already started: your code is in "
            f"{_shown(module.source)} (`tito module status` shows where "
            "you are; `tito module reset "
            f"{module.name}` brings the reference back)"
        ]
    reference = reference_sha256(module)
    if reference is None:
        raise LearnerError(
            f"no reference record of {_shown(module.source)} in "
            f"{_shown(MANIFEST)}, so start cannot tell the reference from "
            "your edits (maintainers: run `tito sync`)"
        )
    if source_sha256(module) != reference:
        raise LearnerError(
            f"{_shown(module.source)} is not the reference version "
            f"recorded in {_shown(MANIFEST)}: it holds edits, and start "
            "would replace them with the exercise stubs. Keep your file "
            "(copy it elsewhere), restore the reference (`git checkout -- "
            f"{_shown(module.source)}`, or a fresh download), then start "
            "again."
        )
    if _notebook_holds_edits(module):
        raise LearnerError(
            f"{_shown(module.notebook)} holds edits that are not in "
            f"{module.source.name} (work done in Jupyter?); start would "
            "replace them. Keep a copy of the notebook, restore it with "
            f"`tito export --module {module.name} --force` (which saves a "
            ".bak copy), then start again."
        )
    # the exercises' labels, from the reference, before the stubs hide the
    # solutions
    labels = {e.grade_id: e.label for e in module_exercises(module)}
    kept = REFERENCE / module.slug / module.source.name
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(module.source, kept)

    text = jupytext.writes(student_edition(module), fmt="py:percent")
    module.source.write_text(text, encoding="utf-8")
    written = _export(module)
    record = load_record()
    record[module.slug] = {
        "reference_sha256": reference,
        "student_sha256": export.sha256(text),
        "labels": labels,
        "started": time.strftime("%Y-%m-%d %H:%M"),
    }
    save_record(record)
    todo = ", ".join(f"`{label}`" for label in labels.values())
    return [
        f"started {module.slug}: {_shown(module.source)} is now your "
        f"edition (exercises: {todo}); the reference is kept in "
        f"{_shown(kept)}",
        *(f"wrote {_shown(path)}" for path in written),
        f"next: edit {_shown(module.source)} (or its notebook), then "
        f"`tito export --module {module.name} && tito test --module "
        f"{module.name}`",
    ]


def reset(module: Module) -> list[str]:
    """Bring the reference back; the learner's files are kept as .bak-<time>
    copies first."""
    record = started(module)
    if not record:
        if source_sha256(module) == reference_sha256(module):
            return [f"{module.slug} already holds the reference solution"]
        raise LearnerError(
            f"{module.slug} was not started with `tito module start`, and "
            f"{_shown(module.source)} differs from the reference: reset "
            "will not replace a file it did not write. Restore it with "
            f"`git checkout -- {_shown(module.source)}`."
        )
    kept = REFERENCE / module.slug / module.source.name
    if (
        not kept.is_file()
        or export.sha256(kept.read_text(encoding="utf-8"))
        != record["reference_sha256"]
    ):
        raise LearnerError(
            f"the copy of the reference in {_shown(kept)} is missing or "
            "changed; restore the reference with `git checkout -- "
            f"{_shown(module.source)}` (your file stays as it is)"
        )
    messages = []
    # the learner's work: anything but the untouched student edition, in the
    # .py or the notebook
    yours = source_sha256(module) != record["student_sha256"]
    if _notebook_holds_edits(module):
        copy = export.backup_path(module.notebook)
        shutil.copyfile(module.notebook, copy)
        messages.append(f"kept your notebook as {_shown(copy)}")
    if yours:
        copy = export.backup_path(module.source)
        shutil.copyfile(module.source, copy)
        messages.append(f"kept your code as {_shown(copy)}")
    shutil.copyfile(kept, module.source)
    if module.notebook.is_file():
        # its content is kept above when it was the learner's
        module.notebook.unlink()
    written = _export(module, force=True)
    record = load_record()
    del record[module.slug]
    save_record(record)
    return [
        *messages,
        *(f"wrote {_shown(path)}" for path in written),
        f"reset {module.slug}: the reference solution is back (in the "
        "package too); `tito module start "
        f"{module.name}` starts again",
    ]


# -----------------------------------------------------------------------------
# status


def record_test(module: Module, passed: bool) -> None:
    """`tito test` notes its result for the learner's module (status reports
    it)."""
    record = load_record()
    if module.slug not in record:
        return
    record[module.slug]["tested"] = {
        "source_sha256": source_sha256(module),
        "passed": passed,
    }
    save_record(record)


def _core_imports(module: Module) -> dict[str, set[str]]:
    """{core file name: names} that a module imports from tinytorch.core."""
    imports: dict[str, set[str]] = {}
    try:
        tree = ast.parse(module.source.read_text(encoding="utf-8"))
    except SyntaxError:
        return imports
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            match = _CORE_IMPORT.match(node.module)
            if match:
                imports.setdefault(match.group(1), set()).update(
                    alias.name for alias in node.names
                )
    return imports


def module_state(module: Module) -> tuple[str, list[Exercise]]:
    """("reference" | "edited" | "in progress" | "passing", its exercises)."""
    record = started(module)
    if not record:
        reference = reference_sha256(module)
        if reference is None or source_sha256(module) == reference:
            return "reference", []
        return "edited", []
    todo = module_exercises(module)
    tested = record.get("tested") or {}
    if (
        tested.get("passed")
        and tested.get("source_sha256") == source_sha256(module)
        and not any(e.stub for e in todo)
    ):
        return "passing", todo
    return "in progress", todo


def status_lines() -> list[str]:
    lines, unfinished = [], {}  # unfinished: core file -> (module, names)
    for module in all_modules():
        state, todo = module_state(module)
        title = f"{module.slug:<16}"
        if state == "reference":
            lines.append(f"{title} not started (uses the reference solution)")
        elif state == "edited":
            lines.append(
                f"{title} not started, but {module.source.name} differs from "
                "the reference (edited by hand?)"
            )
        elif state == "passing":
            lines.append(f"{title} ✅ exercises passing")
        else:
            stubs = [f"`{e.label}`" for e in todo if e.stub]
            tested = started(module).get("tested") or {}
            if stubs:
                detail = f"still to write: {', '.join(stubs)}"
            elif tested.get("source_sha256") == source_sha256(module):
                detail = (
                    "the last `tito test` failed: its exercise lines say "
                    "which and why"
                )
            else:
                detail = (
                    "every exercise written; run `tito export --module "
                    f"{module.name} && tito test --module {module.name}`"
                )
            lines.append(
                f"{title} in progress: {len(todo) - len(stubs)} of "
                f"{len(todo)} exercises written; {detail}"
            )
            names = {n for e in todo for n in e.names}
            unfinished[module.name] = (module, names)
        for core, names in _core_imports(module).items():
            if core not in unfinished or core == module.name:
                continue
            earlier, theirs = unfinished[core]
            needed = sorted(names & theirs)
            if needed:
                uses = ", ".join(f"`{n}`" for n in needed)
                lines.append(
                    f"{'':<16} ⚠️  uses your {uses} from module "
                    f"{earlier.number:02d}, unfinished: finish "
                    f"{earlier.slug} first, or `tito module reset "
                    f"{earlier.name}` to use the reference"
                )
    return lines

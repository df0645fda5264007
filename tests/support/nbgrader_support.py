"""Helpers of the nbgrader tests and of benchmarks/autograde_scale.py: a
temporary copy of the course, and student submissions built from the real
student notebook.

A submission is what a student hands in: the release notebook with the
`# YOUR CODE HERE` / `raise NotImplementedError()` stub of each exercise
replaced by their code (the answers to module 09 are in module09_answers.py).
"""

from __future__ import annotations

import ast
import copy
import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parents[2]
MODULE = "09_optimizers"
STUB = re.compile(
    r"^(?P<indent>[ \t]*)# YOUR CODE HERE\n(?P=indent)raise "
    r"NotImplementedError\(\)[ \t]*$",
    re.M,
)

# --- the course copy ---------------------------------------------------------


def course_copy(target: Path, modules=(MODULE,)) -> Path:
    """nbgrader_config.py and the given module sources, in a fresh folder
    (nothing else of the repo).

    The .py is the source of truth: when its paired notebook has not been
    exported yet, the copy gets the notebook `tito export` would write (the
    repository is not touched)."""
    from tito.export import paired_notebook
    from tito.modules import Module

    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    for slug in modules:
        folder = target / "modules" / "source" / slug
        folder.mkdir(parents=True)
        for path in (REPO / "modules" / "source" / slug).glob("*_dev.*"):
            if path.suffix in (".py", ".ipynb"):
                shutil.copy(path, folder / path.name)
        number, name = slug.split("_", 1)
        module = Module(int(number), name, folder)
        paired = paired_notebook(
            module, jupytext.read(module.source, fmt="py:percent")
        )
        if paired.stale:
            module.notebook.write_text(paired.text, encoding="utf-8")
    return target


def generated_course(target: Path, module: str = MODULE):
    """A course copy in `target` with the module's student notebook generated:
    (course, assignment, release notebook)."""
    from tito.grading.course import Course, generate

    course = Course(course_copy(target, (module,)))
    assignment = course.find(module)
    _, problems = generate(course, [assignment])
    if problems:
        raise RuntimeError(f"generating {module} failed: {problems}")
    return course, assignment, read_release(assignment.release_notebook)


# --- what the module asks for ------------------------------------------------


@dataclass
class Exercise:
    grade_id: str
    names: set  # top-level names its cell defines
    index: int  # cell position


@dataclass
class TestCell:
    grade_id: str
    points: float
    index: int
    depends_on: set  # grade_ids of the exercises it uses


def _identifiers(code: str) -> set:
    """The names code uses (not its comments or strings); falls back to the
    words of the text when it does not parse (an answer's body)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return set(re.findall(r"\w+", code))
    return {
        node.id if isinstance(node, ast.Name) else node.attr
        for node in ast.walk(tree)
        if isinstance(node, (ast.Name, ast.Attribute))
    }


def _named(exercises: list[Exercise], text: str) -> set:
    """The grade_ids of the exercises whose names `text`'s code uses."""
    used = _identifiers(text)
    return {e.grade_id for e in exercises if e.names & used}


def structure(
    source_py: Path, answers: dict[str, str] | None = None
) -> tuple[list[Exercise], list[TestCell]]:
    """The exercises and graded test cells of a module, and which exercises
    each test cell uses (by name, in the instructor's edition, hidden tests
    included). With `answers` (grade_id -> the body a test submits), a test
    also uses the exercises those answers name: a plan that trains with `SGD`
    needs a working `SGD.step`, although the test cell never names it."""
    cells = jupytext.read(source_py, fmt="py:percent").cells
    exercises, tests = [], []
    for index, cell in enumerate(cells):
        meta = cell.metadata.get("nbgrader", {})
        if (
            meta.get("solution")
            and not meta.get("grade")
            and cell.cell_type == "code"
        ):
            code = "\n".join(
                line
                for line in cell.source.splitlines()
                if not line.startswith("#|")
            )
            names = {
                node.name
                for node in ast.parse(code).body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))
            }
            exercises.append(Exercise(meta["grade_id"], names, index))
    for index, cell in enumerate(cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            uses = _named(exercises, cell.source)
            for grade_id in list(uses):
                uses |= _named(exercises, (answers or {}).get(grade_id, ""))
            tests.append(
                TestCell(meta["grade_id"], float(meta["points"]), index, uses)
            )
    return exercises, tests


def expected_grades(
    tests: list[TestCell],
    working: set,
    exercises: list[Exercise] | None = None,
    stops_after: str | None = None,
) -> dict[str, float]:
    """Points per test cell when the exercises in `working` are right (and the
    rest are not); with `stops_after`, nothing after that exercise's cell runs
    (a killed kernel)."""
    limit = None
    if stops_after is not None:
        limit = next(e.index for e in exercises if e.grade_id == stops_after)
    return {
        t.grade_id: (
            t.points
            if t.depends_on <= working and (limit is None or t.index < limit)
            else 0.0
        )
        for t in tests
    }


# --- building submissions ----------------------------------------------------


def read_release(path: Path):
    return nbformat.read(path, as_version=4)


def cell_by_id(nb, grade_id: str):
    for cell in nb.cells:
        if (
            cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            == grade_id
        ):
            return cell
    raise KeyError(f"no cell {grade_id!r} in the notebook")


def fill_stub(source: str, body: str) -> str:
    """Replace the `# YOUR CODE HERE` / `raise NotImplementedError()` stub by
    `body`, at its indentation."""
    match = STUB.search(source)
    if match is None:
        raise ValueError("no stub in this cell")
    indented = textwrap.indent(
        body.rstrip("\n"), match.group("indent"), lambda line: True
    )
    return source[: match.start()] + indented + source[match.end() :]


def submission(release, answers: dict[str, str], edit=None):
    """A copy of the release notebook with each exercise's stub replaced by
    answers[grade_id]; `edit` (a function of the notebook) then tampers with it
    as a student might."""
    nb = copy.deepcopy(release)
    for grade_id, body in answers.items():
        cell = cell_by_id(nb, grade_id)
        cell.source = fill_stub(cell.source, body)
    if edit is not None:
        edit(nb)
    return nb


def hand_in(course_root: Path, student: str, nb, module: str = MODULE) -> Path:
    notebook_id = module.split("_", 1)[1] + "_dev"
    path = (
        course_root
        / "modules"
        / "submitted"
        / student
        / module
        / f"{notebook_id}.ipynb"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path

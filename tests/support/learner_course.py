"""A learner's copy of the course for the journey tests, and the edits a
learner makes to it.

The exercises are read from the module source (whatever module 09 asks for
today), and the answers come from module09_answers.CORRECT: written
independently of the reference solution.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
from module09_answers import CORRECT
from nbgrader_support import fill_stub

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "modules/source/09_optimizers/optimizers_dev.py"
NOTEBOOK = "modules/source/09_optimizers/optimizers_dev.ipynb"
PACKAGE = "tinytorch/core/optimizers.py"
# what a learner's checkout holds (tests/ and the book only for the package
# tests)
COPIED = (
    "tito",
    "tinytorch",
    "modules/source",
    "nbgrader_config.py",
    "_config.yml",
    "requirements",
    "pyproject.toml",
)


def course_copy(target: Path, with_tests: bool = False) -> Path:
    """A fresh checkout of the course as a learner has it (no git, no .tito
    state)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.bak-*")
    names = COPIED + (("tests", "book", "_toc.yml") if with_tests else ())
    for name in names:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / name)
    return target


def tito(course: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "tito", *args],
        cwd=course,
        capture_output=True,
        text=True,
        env=dict(
            os.environ, PYTHONPATH=str(course), PYTHONDONTWRITEBYTECODE="1"
        ),
    )
    result.output = result.stdout + result.stderr
    return result


def python(course: Path, code: str) -> subprocess.CompletedProcess:
    """Python as an activated learner's shell runs it (module folders
    importable)."""
    folders = sorted(
        str(p) for p in (course / "modules/source").glob("[0-9]*")
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=course,
        capture_output=True,
        text=True,
        env=dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(course), *folders]),
            MPLBACKEND="Agg",
        ),
    )


def exercises(path: Path) -> list:
    """The module's exercises, read from its source."""
    from tito.learner import exercises as read

    return read(jupytext.read(path, fmt="py:percent"))


def answer(path: Path, answers: dict[str, str]) -> None:
    """The learner replaces the stubs of these exercises (grade_id -> body) in
    their .py."""
    notebook = jupytext.read(path, fmt="py:percent")
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = fill_stub(cell.source, answers[grade_id])
    path.write_text(jupytext.writes(notebook, fmt="py:percent"))


def correct_answers(grade_ids: list[str]) -> dict[str, str]:
    missing = [g for g in grade_ids if g not in CORRECT]
    assert not missing, f"module09_answers.CORRECT has no answer for {missing}"
    return {g: CORRECT[g] for g in grade_ids}


def with_sign_error(body: str) -> str | None:
    """The same answer with the update's sign flipped (θ + α g), or None if it
    has no update."""
    for right, wrong in (
        (r"-=", "+="),
        (r"np\.subtract\(", "np.add("),
    ):
        if re.search(right, body):
            return re.sub(right, wrong, body, count=1)
    return None

"""Tamper evidence with the real nbgrader: hostile module-09 submissions
(each from a student who solved nothing) are flagged and earn nothing;
honest ones keep their points and are never flagged; an instructor clears
a flag without a regrade; a 100 MB print gives a small feedback page.
"""

from __future__ import annotations

import nbformat
import pytest
from module09_answers import CORRECT
from module09_answers import WRONG as WRONG_ANSWERS
from nbgrader_support import (
    MODULE,
    cell_by_id,
    expected_grades,
    generated_course,
    hand_in,
    read_release,
    structure,
    submission,
)

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader-tamper")]

CELL_TIMEOUT = 90  # generous: the machine may be busy
GD, SGD, ADAM, STEP_LR = (
    "gradient-descent-step",
    "sgd-step",
    "adam-step",
    "step-lr",
)
FEEDBACK_LIMIT = (
    2 * 1024 * 1024
)  # bytes of the feedback page of a 100 MB print

# an input transformer that wraps every later cell in try/except, and a
# pre_run_cell hook that prints each cell (hidden tests too) in base64
HOOKS = """
import base64

def _swallow(lines):
    body = "".join("    " + line for line in lines).rstrip("\\n") + "\\n"
    return ["try:\\n", body, "except BaseException:\\n", "    pass\\n"]

def _grab(info):
    print(base64.b64encode(info.raw_cell.encode()).decode())

get_ipython().input_transformers_post.append(_swallow)
get_ipython().events.register("pre_run_cell", _grab)
"""
# the import guard removed: the package's solutions become importable
NO_GUARD = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "Guard" not in repr(f)]
from tinytorch.core.optimizers import {name}
"""
# assert helpers that accept anything, and tracebacks that show nothing
PATCHES = """
import numpy as np
import tinytorch.core.setup as helpers

def _anything(*args, **kwargs):
    return True

helpers.expect_close = helpers.expect_equal = helpers.expect = _anything
np.allclose = _anything
get_ipython().showtraceback = lambda *args, **kwargs: None
"""
LOUD = "for _ in range(100):\n    print('x' * 1_000_000)  # 100 MB\n"


def _append(grade_id, code):
    def edit(nb):
        cell = cell_by_id(nb, grade_id)
        cell.source = cell.source.rstrip("\n") + "\n\n" + code

    return edit


def _add_last_cell(code):
    def edit(nb):
        nb.cells.append(nbformat.v4.new_code_cell(code))

    return edit


def _all(*edits):
    def edit(nb):
        for one in edits:
            one(nb)

    return edit


WRONG = {grade_id: wrong[0].body for grade_id, wrong in WRONG_ANSWERS.items()}
ALL = set(CORRECT)
NO_GUARD_EDIT = _all(
    _append(GD, NO_GUARD.format(name="gradient_descent_step")),
    _append(SGD, "from tinytorch.core.optimizers import SGD"),
    _append(ADAM, "from tinytorch.core.optimizers import Adam"),
    _append(STEP_LR, "from tinytorch.core.optimizers import StepLR"),
)
# student -> (answers, edit); hostile ones solved nothing
HOSTILE = {
    "hooks": ({}, _append(GD, HOOKS)),
    "no-guard": ({}, NO_GUARD_EDIT),
    "patches": ({}, _append(GD, PATCHES)),
}
# student -> (answers, edit, exercises that work)
HONEST = {
    "correct": (dict(CORRECT), None, ALL),
    "untouched": ({}, None, set()),
    "partial": (
        {**CORRECT, ADAM: WRONG[ADAM], STEP_LR: WRONG[STEP_LR]},
        None,
        ALL - {ADAM, STEP_LR},
    ),
    "broken": (
        {**CORRECT, SGD: "g = = 1\n"},
        _append(STEP_LR, "import a_package_nobody_installed"),
        ALL - {SGD},  # StepLR is defined before the failing import
    ),
    # last: on a busy machine, sending 100 MB may outlast the cell timeout
    "loud": (dict(CORRECT), _add_last_cell(LOUD), ALL),
}
REFERENCE = "reference"  # the instructor's own notebook, handed in


def _autograde(course, assignment, students=None):
    """Student -> result, two workers at a time."""
    from tito.grading.autograde import autograde

    options = {"workers": 2, "cell_timeout": CELL_TIMEOUT, "progress": False}
    results = autograde(course, [assignment], students=students, **options)
    return {result.student: result for result in results}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from tito.grading.course import export_grades, feedback

    target = tmp_path_factory.mktemp("course")
    course, assignment, release = generated_course(target)
    root = course.repo
    for student, (answers, edit) in HOSTILE.items():
        hand_in(root, student, submission(release, answers, edit))
    for student, (answers, edit, _) in HONEST.items():
        hand_in(root, student, submission(release, answers, edit))
    hand_in(root, REFERENCE, read_release(assignment.source_notebook))
    results = _autograde(course, assignment)
    csv_path = export_grades(course, root / "grades.csv")
    pages = feedback(course, [assignment], ["loud", "hooks"])
    return {
        "course": course,
        "assignment": assignment,
        "results": results,
        "csv": csv_path,
        "feedback": dict(zip(["loud", "hooks"], pages)),
        "tests": structure(assignment.source_py, CORRECT),
    }


def _record(graded, student):
    from tito.grading import review

    return review.load(graded["course"].root)[MODULE][student]


def test_everyone_is_graded(graded):
    results = graded["results"]
    assert set(results) == set(HOSTILE) | set(HONEST) | {REFERENCE}
    assert all(r.ok for r in results.values()), {
        s: r.error for s, r in results.items() if not r.ok
    }


@pytest.mark.parametrize("student", list(HOSTILE))
def test_a_hostile_submission_is_flagged_and_earns_nothing(graded, student):
    result = graded["results"][student]
    assert result.flags, f"{student} was not flagged"
    assert result.score == 0
    grades = _gradebook_grades(graded, student)
    assert grades and all(auto == 0 and review for auto, review in grades)
    assert _record(graded, student)["cleared"] is None


def test_the_attacks_would_have_worked(graded):
    """What nbgrader computed before the flag: without it, the transformer
    would have earned points for no work. The missing guard earns nothing
    even unflagged: the sandbox's package holds no solution to import."""
    computed = _record(graded, "hooks")["computed"]
    assert sum(computed.values()) > 0, ("hooks", computed)
    computed = _record(graded, "no-guard")["computed"]
    assert sum(computed.values()) == 0, ("no-guard", computed)


def test_each_attack_is_named(graded):
    flags = {s: "\n".join(graded["results"][s].flags) for s in HOSTILE}
    assert "cell transformer added: input_transformers_post" in flags["hooks"]
    assert "execution event callback added: pre_run_cell" in flags["hooks"]
    assert "the grading import guard left sys.meta_path" in flags["no-guard"]
    assert "import system: `meta_path`" in flags["no-guard"]  # static scan
    patched = flags["patches"]
    for change in (
        "assert helper replaced: tinytorch.core.setup.expect_close",
        "assert helper replaced: numpy.allclose",
        "error reporting replaced: shell.showtraceback",
    ):
        assert change in patched, patched


@pytest.mark.parametrize("student", [*HONEST, REFERENCE])
def test_an_honest_submission_keeps_its_points(graded, student):
    from tito.grading import review

    exercises, tests = graded["tests"]
    working = ALL if student == REFERENCE else HONEST[student][2]
    expected = expected_grades(tests, working, exercises)
    result = graded["results"][student]
    assert result.flags == []
    assert result.grades == pytest.approx(expected)
    assert result.score == pytest.approx(sum(expected.values()))
    assert (MODULE, student) not in review.flagged(graded["course"].root)


def test_csv_and_status_say_who_is_flagged(graded):
    from tito.grading.course import read_grades_csv, status

    rows = {r["student_id"]: r for r in read_grades_csv(graded["csv"])}
    for student, row in rows.items():
        assert bool(row["flagged_for_review"]) == (student in HOSTILE)
        assert float(row["score"]) == pytest.approx(
            graded["results"][student].score
        )
    assert "input_transformers_post" in rows["hooks"]["flagged_for_review"]
    report = status(graded["course"], [graded["assignment"]])
    assert report["modules"][MODULE]["flagged"] == len(HOSTILE)
    flagged = {
        s
        for s, cells in report["students"].items()
        if cells[MODULE]["flagged"]
    }
    assert flagged == set(HOSTILE)


def test_a_100_mb_print_gives_a_small_feedback_page(graded):
    page = graded["feedback"]["loud"]
    assert page.stat().st_size < FEEDBACK_LIMIT
    nb = nbformat.read(
        graded["assignment"].autograded_notebook("loud"), as_version=4
    )
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "output cut: " in text and len(text) < 70_000
    assert (
        graded["results"]["loud"].score == graded["results"]["loud"].max_score
    )


def test_clearing_restores_the_computed_points_and_a_regrade_keeps_flags(
    graded,
):
    """Runs last: clear one flag (no regrade); then regrade two flagged
    students: the cleared one stays cleared (same notebook, same findings),
    the other stays flagged with nothing earned."""
    from tito.grading import review
    from tito.grading.course import status

    course, assignment = graded["course"], graded["assignment"]
    computed = _record(graded, "no-guard")["computed"]
    assert review.clear(course, assignment, "no-guard") == pytest.approx(
        sum(computed.values())
    )
    with pytest.raises(ValueError, match="no flag to clear"):
        review.clear(course, assignment, "no-guard")
    report = status(course, [assignment])
    assert report["students"]["no-guard"][MODULE]["flagged"] == []
    again = _autograde(course, assignment, ["hooks", "no-guard"])
    assert again["hooks"].flags and again["hooks"].score == 0
    assert again["no-guard"].flags == []
    assert again["no-guard"].score == pytest.approx(sum(computed.values()))


def _gradebook_grades(graded, student):
    """(auto score, needs manual grade) of each code cell graded."""
    from nbgrader.api import Gradebook

    course, assignment = graded["course"], graded["assignment"]
    with Gradebook(course.db_url, course.course_id) as gb:
        submission = gb.find_submission(assignment.slug, student)
        return [
            (grade.auto_score, grade.needs_manual_grade)
            for notebook in submission.notebooks
            for grade in notebook.grades
            if grade.cell.cell_type == "code"
        ]

"""Wrong answers lose points, and the message says which mistake it was: every
entry of module09_answers.WRONG (every exercise, whoever added it) is handed in
inside a submission built from the real student notebook and graded by the real
nbgrader (`tito.grading.autograde`). Its exercise's test cells must lose
points, and one of their error messages must match the entry's `mistake`. The
independent correct answers score full marks.

One submission holds one wrong answer per exercise, and never two exercises
that a test cell uses together (one failure would hide the other), so the whole
of WRONG costs a few submissions.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from module09_answers import CORRECT, WRONG
from nbgrader_support import (
    MODULE,
    REPO,
    cell_by_id,
    generated_course,
    hand_in,
    structure,
    submission,
)

pytestmark = [
    pytest.mark.nbgrader,
    pytest.mark.xdist_group("nbgrader-wrong-solutions"),
]

CELL_TIMEOUT = 20  # seconds, as in test_nbgrader_autograde.py
SOURCE = (
    REPO / "modules" / "source" / MODULE / f"{MODULE.split('_', 1)[1]}_dev.py"
)


def batches(wrong, tests):
    """Submissions as {exercise: Wrong}: each exercise at most once, and no two
    exercises that one test cell depends on together."""
    together = {exercise: set() for exercise in wrong}
    for test in tests:
        for exercise in test.depends_on & together.keys():
            together[exercise] |= test.depends_on - {exercise}
    grouped = []
    for exercise, entries in wrong.items():
        for entry in entries:
            batch = next(
                (
                    b
                    for b in grouped
                    if exercise not in b and not together[exercise] & b.keys()
                ),
                None,
            )
            if batch is None:
                grouped.append(batch := {})
            batch[exercise] = entry
    return grouped


EXERCISES, TESTS = structure(SOURCE, CORRECT)
BATCHES = batches(WRONG, TESTS)
CASES = [
    (f"wrong-{number}", exercise, WRONG[exercise].index(entry))
    for number, batch in enumerate(BATCHES)
    for exercise, entry in batch.items()
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from tito.grading.autograde import autograde

    course, assignment, release = generated_course(
        tmp_path_factory.mktemp("course")
    )
    missing = {e.grade_id for e in EXERCISES} - set(CORRECT)
    assert not missing, f"no correct answer for {missing}"
    hand_in(course.repo, "correct", submission(release, CORRECT))
    for number, batch in enumerate(BATCHES):
        answers = {**CORRECT, **{e: w.body for e, w in batch.items()}}
        hand_in(course.repo, f"wrong-{number}", submission(release, answers))
    results = autograde(
        course,
        [assignment],
        workers=2,
        cell_timeout=CELL_TIMEOUT,
        progress=False,
    )
    return {
        "assignment": assignment,
        "results": {r.student: r for r in results},
    }


def _errors(graded, student, grade_id):
    nb = nbformat.read(
        graded["assignment"].autograded_notebook(student), as_version=4
    )
    return [
        f"{o.ename}: {o.evalue}"
        for o in cell_by_id(nb, grade_id).outputs
        if o.output_type == "error"
    ]


def test_every_exercise_has_two_wrong_answers():
    exercises = {e.grade_id for e in EXERCISES}
    assert exercises <= WRONG.keys(), exercises - WRONG.keys()
    assert all(len(WRONG[e]) >= 2 for e in exercises)


def test_correct_answers_score_full_marks(graded):
    result = graded["results"]["correct"]
    assert result.ok, result.error
    total = sum(t.points for t in TESTS)
    assert result.score == result.max_score == pytest.approx(total)


@pytest.mark.parametrize(
    ("student", "exercise", "index"),
    CASES,
    ids=[f"{exercise}-{index}" for _, exercise, index in CASES],
)
def test_a_wrong_answer_loses_points_and_names_its_mistake(
    graded, student, exercise, index
):
    wrong = WRONG[exercise][index]
    result = graded["results"][student]
    assert result.ok, result.error
    own = [t for t in TESTS if exercise in t.depends_on]
    lost = [t for t in own if result.grades[t.grade_id] < t.points]
    assert lost, (
        f"{exercise}: this wrong answer keeps full marks:\n{wrong.body}"
    )
    messages = [m for t in lost for m in _errors(graded, student, t.grade_id)]
    assert any(re.search(wrong.mistake, m) for m in messages), (
        f"{exercise}: no message matches {wrong.mistake!r}:\n"
        + "\n".join(messages)
    )


@pytest.mark.parametrize("number", range(len(BATCHES)))
def test_wrong_answers_cost_nothing_elsewhere(graded, number):
    """Test cells that use none of a submission's wrong exercises keep their
    points (so no failure above comes from another exercise's mistake)."""
    result = graded["results"][f"wrong-{number}"]
    for test in TESTS:
        if not test.depends_on & BATCHES[number].keys():
            assert result.grades[test.grade_id] == test.points, test.grade_id

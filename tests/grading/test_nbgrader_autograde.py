"""Autograding survives real submissions: a class of module-09 submissions,
built from the real student notebook, graded by the real nbgrader (through
`tito nbgrader autograde`, two workers) in a temporary copy of the course. Each
student gets exactly the points their code earns, and nobody stops the batch.

Expected points come from the module itself: a graded test cell earns its
points when every exercise it uses is right (and it ran); the exercises it uses
are the ones whose names appear in the test cell.
"""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from module09_answers import CORRECT, LOOPS_WITHOUT_GRADIENT, STUBBORN_LOOP
from module09_answers import WRONG as WRONG_ANSWERS
from nbgrader_support import (
    MODULE,
    cell_by_id,
    course_copy,
    expected_grades,
    hand_in,
    read_release,
    structure,
    submission,
)

# one xdist worker builds each module-scoped course (run with `-n 2 --dist
# loadgroup`)
pytestmark = [
    pytest.mark.nbgrader,
    pytest.mark.xdist_group("nbgrader-autograde"),
]

# seconds: short, yet well above module 09's slowest cell (about 2.5 s) on a
# busy machine
CELL_TIMEOUT = 20


def _append(grade_id, code):
    def edit(nb):
        cell = cell_by_id(nb, grade_id)
        cell.source = cell.source.rstrip("\n") + "\n\n" + code

    return edit


def _prepend(grade_id, code):
    def edit(nb):
        cell = cell_by_id(nb, grade_id)
        cell.source = code + "\n" + cell.source

    return edit


def _delete(grade_id):
    def edit(nb):
        nb.cells.remove(cell_by_id(nb, grade_id))

    return edit


def _replace_source(grade_id, source):
    def edit(nb):
        cell_by_id(nb, grade_id).source = source

    return edit


def _change_types(changes):
    def edit(nb):
        for grade_id, kind in changes.items():
            cell = cell_by_id(nb, grade_id)
            make = {
                "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell,
            }[kind]
            nb.cells[nb.cells.index(cell)] = make(
                cell.source, metadata=cell.metadata, id=cell.get("id")
            )

    return edit


def _answers(**override):
    answers = dict(CORRECT)
    answers.update(override)
    return answers


ALL = set(CORRECT)
WRONG = {grade_id: wrong[0].body for grade_id, wrong in WRONG_ANSWERS.items()}
GD, SGD, ADAM, STEP_LR = (
    "gradient-descent-step",
    "sgd-step",
    "adam-step",
    "step-lr",
)


def _all(*edits):
    def edit(nb):
        for one in edits:
            one(nb)

    return edit


# student -> (answers, tampering, exercises that work, exercise after whose
# cell nothing runs). Independent misbehaviours share a student (each is
# checked on its own cells below): every submission costs a full run of the
# notebook, and the suite has a time budget.
SCENARIOS = {
    "correct": (_answers(), None, ALL, None),
    "untouched": ({}, None, set(), None),
    "partial": (
        _answers(**{ADAM: WRONG[ADAM], STEP_LR: WRONG[STEP_LR]}),
        None,
        ALL - {ADAM, STEP_LR},
        None,
    ),
    # an infinite loop in an exercise (stopped by the cell timeout); sys.exit()
    # in a cell; a fake answer written to the grading worker's stdout (it lands
    # in the worker's log, not in its protocol)
    "loops-and-exits": (
        _answers(**{GD: LOOPS_WITHOUT_GRADIENT}),
        _all(
            _append(SGD, "import sys\nsys.exit('bye')"),
            _append(
                STEP_LR,
                'import os\nos.write(1, b\'{"id": 0, "ok": false}\\n\')',
            ),
        ),
        ALL - {GD},
        None,
    ),
    # a loop that swallows KeyboardInterrupt: the kernel never answers again,
    # nothing after it runs
    "loops-stubbornly": (
        _answers(**{GD: STUBBORN_LOOP}),
        None,
        ALL - {GD},
        GD,
    ),
    # a syntax error; an exception at import
    "broken-code": (
        _answers(**{SGD: "g = = 1\n"}),
        _prepend(STEP_LR, "import a_package_nobody_installed"),
        ALL - {SGD, STEP_LR},
        None,
    ),
    # wrong answers, then attempts to take the instructor's: the module source
    # and the package file of the graded module are not importable while
    # grading
    "cheats": (
        _answers(**{ADAM: WRONG[ADAM], STEP_LR: WRONG[STEP_LR]}),
        _all(
            _append(ADAM, "from optimizers_dev import Adam"),
            _append(STEP_LR, "from tinytorch.core.optimizers import StepLR"),
        ),
        ALL - {ADAM, STEP_LR},
        None,
    ),
    # a deleted test cell (right answer: the restored test gives the points),
    # an edited test cell (wrong answer: the restored test takes them), a test
    # cell turned into markdown and an exercise turned raw
    "tampers": (
        _answers(**{ADAM: WRONG[ADAM]}),
        _all(
            _delete("test-sgd-momentum"),
            _replace_source(
                "test-adam", "def test_unit_adam():\n    pass  # all good!\n"
            ),
            _change_types({"test-step-lr": "markdown", ADAM: "raw"}),
        ),
        ALL - {ADAM},
        None,
    ),
    "kills-kernel": (
        _answers(),
        _append(ADAM, "import os\nos.kill(os.getpid(), 9)"),
        ALL,
        ADAM,
    ),
}
GARBAGE = "hands-in-garbage"  # not a notebook at all: nbgrader cannot grade it


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Generate module 09 in a course copy, hand in one submission per
    scenario, autograde all of them."""
    from tito.grading.autograde import autograde
    from tito.grading.course import Course, export_grades, feedback, generate

    root = course_copy(tmp_path_factory.mktemp("course"))
    course = Course(root)
    assignment = course.find(MODULE)
    written, problems = generate(course, [assignment])
    assert not problems, problems
    exercises, tests = structure(assignment.source_py, CORRECT)
    missing = {e.grade_id for e in exercises} - set(CORRECT)
    assert not missing, (
        f"module 09 has exercises these tests do not answer yet: {missing}"
    )
    release = read_release(assignment.release_notebook)
    for student, (answers, edit, _, _) in SCENARIOS.items():
        hand_in(root, student, submission(release, answers, edit))
    garbage = hand_in(root, GARBAGE, release)
    garbage.write_text("this is not a notebook {")
    # as after `source bin/activate-tinytorch.sh`: module sources on the path;
    # grading must strip them
    sources = os.pathsep.join(str(p) for p in sorted(course.source.iterdir()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "PYTHONPATH",
            sources + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        results = autograde(
            course,
            [assignment],
            workers=2,
            cell_timeout=CELL_TIMEOUT,
            progress=False,
        )
    csv_path = export_grades(course, root / "grades.csv")
    pages = feedback(course, [assignment], ["partial", "tampers", "correct"])
    return {
        "course": course,
        "assignment": assignment,
        "exercises": exercises,
        "tests": tests,
        "results": {r.student: r for r in results},
        "csv": csv_path,
        "feedback": pages,
    }


def test_the_whole_class_is_graded(graded):
    results = graded["results"]
    assert set(results) == set(SCENARIOS) | {GARBAGE}
    not_graded = {s: r.error for s, r in results.items() if not r.ok}
    assert list(not_graded) == [GARBAGE], (
        f"nbgrader could not grade: {not_graded}"
    )
    for student in SCENARIOS:
        assert graded["assignment"].autograded_notebook(student).is_file()


@pytest.mark.parametrize("student", list(SCENARIOS))
def test_each_submission_earns_exactly_its_points(graded, student):
    _, _, working, stops_after = SCENARIOS[student]
    expected = expected_grades(
        graded["tests"], working, graded["exercises"], stops_after
    )
    result = graded["results"][student]
    assert result.grades == pytest.approx(expected), (
        f"{student}: {result.grades} != {expected}"
    )
    assert result.score == pytest.approx(sum(expected.values()))


def test_the_extremes(graded):
    results, total = graded["results"], sum(t.points for t in graded["tests"])
    assert total > 0
    assert (
        results["correct"].score
        == results["correct"].max_score
        == pytest.approx(total)
    )
    assert results["untouched"].score == 0
    assert 0 < results["partial"].score < total
    assert 0 < results["kills-kernel"].score < total


def test_an_ungradable_submission_scores_zero_and_is_flagged(graded):
    from nbgrader.api import Gradebook

    course, assignment = graded["course"], graded["assignment"]
    result = graded["results"][GARBAGE]
    assert not result.ok and result.score == 0 and result.log.is_file()
    assert not (course.autograded / GARBAGE).exists() or not list(
        (course.autograded / GARBAGE).rglob("*.ipynb")
    )
    with Gradebook(course.db_url, course.course_id) as gb:
        submission = gb.find_submission(assignment.slug, GARBAGE)
        assert submission.score == 0 and submission.needs_manual_grade


def test_a_looping_exercise_is_stopped_by_the_cell_timeout(graded):
    nb = nbformat.read(
        graded["assignment"].autograded_notebook("loops-and-exits"),
        as_version=4,
    )
    errors = [
        o.ename
        for o in cell_by_id(nb, "test-gradient-descent-step").outputs
        if o.output_type == "error"
    ]
    assert "KeyboardInterrupt" in errors or "CellTimeoutError" in errors
    assert [
        o.ename
        for o in cell_by_id(nb, SGD).outputs
        if o.output_type == "error"
    ] == ["SystemExit"]
    # later exercises were graded normally
    assert graded["results"]["loops-and-exits"].grades["test-adam"] > 0
    stubborn = nbformat.read(
        graded["assignment"].autograded_notebook("loops-stubbornly"),
        as_version=4,
    )
    errors = [
        o.ename
        for o in cell_by_id(stubborn, "test-gradient-descent-step").outputs
        if o.output_type == "error"
    ]
    assert "CellTimeoutError" in errors


def test_restored_test_cells_are_the_instructors(graded):
    assignment = graded["assignment"]
    nb = nbformat.read(assignment.autograded_notebook("tampers"), as_version=4)
    restored = cell_by_id(nb, "test-sgd-momentum")
    assert (
        "def test_unit_sgd" in restored.source
        and "### BEGIN HIDDEN TESTS" in restored.source
    )
    assert "all good!" not in cell_by_id(nb, "test-adam").source
    assert cell_by_id(nb, "test-step-lr").cell_type == "code"
    assert cell_by_id(nb, ADAM).cell_type == "code"
    grades = graded["results"]["tampers"].grades
    assert (
        grades["test-sgd-momentum"] > 0
        and grades["test-step-lr"] > 0
        and grades["test-adam"] == 0
    )


def test_the_instructors_code_is_not_importable_while_grading(graded):
    nb = nbformat.read(
        graded["assignment"].autograded_notebook("cheats"), as_version=4
    )
    for exercise in (ADAM, STEP_LR):
        errors = [
            (o.ename, o.evalue)
            for o in cell_by_id(nb, exercise).outputs
            if o.output_type == "error"
        ]
        assert errors and errors[0][0] == "ModuleNotFoundError", errors
        assert "while grading" in errors[0][1]


def test_a_killed_kernel_marks_the_rest_as_not_run(graded):
    nb = nbformat.read(
        graded["assignment"].autograded_notebook("kills-kernel"), as_version=4
    )
    assert [
        o.ename
        for o in cell_by_id(nb, ADAM).outputs
        if o.output_type == "error"
    ] == ["KernelDied"]
    assert any(
        o.output_type == "error" and "not run" in o.evalue
        for o in cell_by_id(nb, "test-step-lr").outputs
    )


def test_grades_csv_has_one_row_per_student(graded):
    from tito.grading.course import read_grades_csv

    rows = read_grades_csv(graded["csv"])
    assert sorted(r["student_id"] for r in rows) == sorted(
        set(SCENARIOS) | {GARBAGE}
    )
    assert {r["assignment"] for r in rows} == {MODULE}
    by_student = {r["student_id"]: r for r in rows}
    for student, result in graded["results"].items():
        assert float(by_student[student]["score"]) == pytest.approx(
            result.score
        )
        assert float(by_student[student]["max_score"]) == pytest.approx(
            result.max_score
        )


def test_feedback_does_not_reveal_hidden_tests(graded):
    from tito.grading.leaks import course_secrets, html_text, scan

    course = graded["course"]
    hidden = {
        line: s
        for line, s in course_secrets(course.source).items()
        if s.kind == "hidden test"
    }
    assert hidden, "module 09 has hidden tests"
    pages = graded["feedback"]
    assert len(pages) == 3 and all(p.is_file() for p in pages)
    assert scan(pages, hidden, kinds=("hidden test",)) == []
    text = html_text(pages[0].read_text(encoding="utf-8"))
    assert "HIDDEN TESTS" not in text
    assert "def test_unit_adam" in text  # the visible tests are there
    assert re.search(r"Score:\s*[\d.]+\s*/\s*[\d.]+", text)  # and the score


def test_status_reports_the_class(graded):
    from tito.grading.course import status

    report = status(graded["course"], [graded["assignment"]])
    row = report["modules"][MODULE]
    assert row["submitted"] == len(SCENARIOS) + 1 and row["autograded"] == len(
        SCENARIOS
    )
    assert row["feedback"] == 3
    assert (
        report["students"]["correct"][MODULE]["score"]
        == graded["results"]["correct"].score
    )


def test_autograded_folders_hold_no_instructor_code(graded):
    course = graded["course"]
    assert not list(course.autograded.rglob("*.py")), (
        "a module source was copied next to a submission"
    )
    assert not list(course.release.rglob("*.py"))


def test_regrading_one_student_keeps_manual_grades(graded):
    """Runs last: re-autograde one student after an instructor's manual grade;
    the manual grade stays."""
    from nbgrader.api import Gradebook

    from tito.grading.autograde import autograde

    course, assignment = graded["course"], graded["assignment"]
    with Gradebook(course.db_url, course.course_id) as gb:
        grade = gb.find_grade(
            "test-adam", assignment.notebook_id, assignment.slug, "partial"
        )
        grade.manual_score = 1.0
        gb.db.commit()
    results = autograde(
        course,
        [assignment],
        students=["partial"],
        workers=1,
        cell_timeout=CELL_TIMEOUT,
        progress=False,
    )
    assert [r.student for r in results] == ["partial"] and results[0].ok
    with Gradebook(course.db_url, course.course_id) as gb:
        grade = gb.find_grade(
            "test-adam", assignment.notebook_id, assignment.slug, "partial"
        )
        assert (
            grade.manual_score == 1.0
            and grade.auto_score == 0.0
            and grade.needs_manual_grade
        )
        assert (
            len(gb.students) == len(SCENARIOS) + 1
        )  # nobody else was touched or added

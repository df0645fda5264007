"""A learner's journey through module 09, on a copy of the course: start,
stubs, answers, tests.

Over whatever exercises the module has (read from its source), with
module09_answers.CORRECT written independently of the reference. The secrets
are the reference's solution and hidden-test lines (tito.grading.leaks), so "no
solution line" is checked by other code than the code that strips them.
"""

from __future__ import annotations

import shutil

import pytest
from learner_course import (
    NOTEBOOK,
    PACKAGE,
    ROOT,
    SOURCE,
    answer,
    correct_answers,
    course_copy,
    exercises,
    python,
    tito,
    with_sign_error,
)

from tito.grading.leaks import course_secrets, scan

EXERCISES = exercises(ROOT / SOURCE)
LABELS = {e.grade_id: e.label for e in EXERCISES}


def exported_exercises(source):
    """grade_ids of the exercises whose cells go into the package."""
    import jupytext

    return {
        cell.metadata["nbgrader"]["grade_id"]
        for cell in jupytext.read(source, fmt="py:percent").cells
        if cell.metadata.get("nbgrader", {}).get("solution")
        and cell.source.startswith("#| export")
    }


@pytest.fixture(scope="module")
def started_once(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("learner"))
    result = tito(course, "module", "start", "optimizers")
    assert result.returncode == 0, result.output
    return course, result.output


@pytest.fixture
def started(started_once, tmp_path):
    """A fresh copy of the started course for each test (the learner may break
    it)."""
    course = tmp_path / "course"
    shutil.copytree(started_once[0], course)
    return course


def test_exercises_are_read_from_the_source():
    assert len(EXERCISES) >= 4
    assert "Adam.step" in LABELS.values()
    assert all(e.names for e in EXERCISES)


def test_start_gives_the_student_edition_with_no_solution_line(started_once):
    course, output = started_once
    for label in LABELS.values():
        assert f"`{label}`" in output
    # the secrets the leak check uses: no line the course shows in the open
    secrets = {
        line: secret
        for line, secret in course_secrets(ROOT / "modules" / "source").items()
        if secret.module == "09_optimizers"
    }
    assert any(s.kind == "solution" for s in secrets.values())
    assert any(s.kind == "hidden test" for s in secrets.values())
    leaks = scan(
        [course / SOURCE, course / NOTEBOOK, course / PACKAGE], secrets
    )
    assert leaks == [], "\n".join(map(str, leaks[:5]))

    student = (course / SOURCE).read_text()
    reference = (ROOT / SOURCE).read_text()
    assert student.count("raise NotImplementedError()") >= len(EXERCISES)
    assert "### BEGIN" not in student
    # visible tests and prose stay
    for line in reference.splitlines():
        if line.startswith(("def test_", "# #")):
            assert line in student, line
    assert "raise NotImplementedError()" in (course / PACKAGE).read_text()


def test_stubs_fail_naming_every_unfinished_exercise(started):
    assert tito(started, "export", "--module", "optimizers").returncode == 0
    result = tito(started, "test", "--module", "optimizers", "--inline-only")
    assert result.returncode == 1
    for label in LABELS.values():
        assert f"❌ `{label}`: not implemented yet" in result.stdout
    status = tito(started, "module", "status").stdout
    assert f"0 of {len(EXERCISES)} exercises written" in status
    assert "10_training" in status and "tito module reset optimizers" in status


def test_correct_answers_pass_and_are_what_the_package_holds(started):
    answers = correct_answers(list(LABELS))
    answer(started / SOURCE, answers)
    exported = tito(started, "export", "--module", "optimizers")
    assert exported.returncode == 0, exported.output
    result = tito(started, "test", "--module", "optimizers", "--inline-only")
    assert result.returncode == 0, result.output
    for label in LABELS.values():
        assert f"✅ `{label}`: its tests pass" in result.stdout
    package = (started / PACKAGE).read_text()
    in_package = exported_exercises(ROOT / SOURCE)
    assert in_package, "no exercise goes into the package"
    for grade_id, body in answers.items():
        if grade_id not in in_package:
            continue  # a notebook exercise (Use, Optimize): not in tinytorch/
        assert max(body.splitlines(), key=len).strip() in package
    # the page's manual examples use the learner's code, from the module and
    # from the package
    used = python(
        started,
        "import inspect\n"
        "from optimizers_dev import SGD, Adam, StepLR\n"
        "from autograd_dev import Variable\n"
        "from tinytorch.core.optimizers import Adam as Exported\n"
        "x = Variable(10.0, requires_grad=True)\n"
        "sgd = SGD([x], learning_rate=0.1, momentum=0.9)\n"
        "for step in range(100):\n"
        "    sgd.zero_grad()\n"
        "    loss = x**2\n"
        "    loss.backward()\n"
        "    sgd.step()\n"
        "print(repr(float(x.data)))\n"
        "print(inspect.getsource(Exported.step))",
    )
    assert used.returncode == 0, used.stderr
    # the page's SGD example, against the heavy-ball recurrence on x²
    x, velocity = 10.0, 0.0
    for _ in range(100):
        velocity = 0.9 * velocity + 2 * x
        x -= 0.1 * velocity
    assert float(used.stdout.splitlines()[0]) == pytest.approx(x, rel=1e-9)
    adam_body = answers.get("adam-step", "")
    if adam_body:
        assert max(adam_body.splitlines(), key=len).strip() in used.stdout
    status = tito(started, "module", "status").stdout
    assert "09_optimizers    ✅ exercises passing" in status
    assert "uses your" not in status


def test_one_sign_error_fails_naming_that_exercise(started):
    answers = correct_answers(list(LABELS))
    broken = next(g for g, body in answers.items() if with_sign_error(body))
    answers[broken] = with_sign_error(answers[broken])
    answer(started / SOURCE, answers)
    assert tito(started, "export", "--module", "optimizers").returncode == 0
    result = tito(started, "test", "--module", "optimizers", "--inline-only")
    assert result.returncode == 1
    line = next(
        x for x in result.stdout.splitlines() if f"`{LABELS[broken]}`:" in x
    )
    assert line.strip().startswith("❌") and "test_" in line, line
    for grade_id, label in LABELS.items():
        if grade_id != broken:
            assert f"❌ `{label}`" not in result.stdout, label


@pytest.mark.slow
def test_correct_answers_pass_the_package_tests_too(tmp_path):
    course = course_copy(tmp_path, with_tests=True)
    assert tito(course, "module", "start", "optimizers").returncode == 0
    answer(course / SOURCE, correct_answers(list(LABELS)))
    assert tito(course, "export", "--module", "optimizers").returncode == 0
    result = tito(course, "test", "--module", "optimizers")
    assert result.returncode == 0, result.output[-3000:]

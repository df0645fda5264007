"""Grading skips the ungraded demonstrations, and only them: a graded test
cell still calls its test, whatever the cells before it did to `__name__`;
`tito nbgrader validate` reports a test that depends on a demonstration."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = [
    pytest.mark.nbgrader,
    pytest.mark.xdist_group("nbgrader-demonstrations"),
]


def _graded(source, grade_id):
    meta = {"grade": True, "grade_id": grade_id, "points": 1.0}
    return new_code_cell(source, metadata={"nbgrader": meta})


NOTEBOOK = [
    new_code_cell("ran = []"),
    new_code_cell('if __name__ == "__main__":\n    ran.append("demo")'),
    _graded(
        "def test_unit_a():\n    ran.append('test a')\n"
        'if __name__ == "__main__":\n    test_unit_a()',
        "test-a",
    ),
    # a submission's attempt to switch the next test off
    new_code_cell('__name__ = "not main"'),
    _graded(
        "def test_unit_b():\n    assert 'demo' in ran, ran\n"
        'if __name__ == "__main__":\n    test_unit_b()',
        "test-b",
    ),
    new_code_cell("print(ran)"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from tito.grading.validate import execute

    path = tmp_path_factory.mktemp("nb") / "demo.ipynb"
    nbformat.write(new_notebook(cells=NOTEBOOK), path)
    env = dict(os.environ)
    return {
        skip: execute(str(path), env, 30, skip_demonstrations=skip)
        for skip in (False, True)
    }


def _errors(run, cell_id):
    return next(c.errors for c in run.cells if c.cell_id == cell_id)


def test_graded_cells_run_and_demonstrations_do_not(runs):
    full, graded = runs[False], runs[True]
    assert _errors(full, "test-a") == [] and _errors(full, "test-b") == []
    assert _errors(graded, "test-a") == []
    # test-b ran (the submission's `__name__` did not switch it off) and
    # failed, because the demonstration it depends on was skipped
    assert [e for e, _ in _errors(graded, "test-b")] == ["AssertionError"]


def test_validate_reports_a_test_that_needs_a_demonstration(runs):
    from tito.grading.validate import demonstration_problems

    problems = demonstration_problems(runs[False], runs[True])
    assert len(problems) == 1 and "test-b" in problems[0]
    assert "AssertionError" in problems[0] and "a pass" in problems[0]
    assert demonstration_problems(runs[False], runs[False]) == []

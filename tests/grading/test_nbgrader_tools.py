"""`tito nbgrader`: generate, validate, the leak check, the grading
environment, collect, export, the CLI.

Everything that writes works on a temporary copy of the course; the repository
is only read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jupytext
import nbformat
import pytest
from cell_markers import with_nbgrader
from nbgrader_support import MODULE, REPO, course_copy

# one xdist worker builds each module-scoped course (run with `-n 2 --dist
# loadgroup`)
pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader-tools")]


@pytest.fixture(scope="module")
def course09(tmp_path_factory):
    from tito.grading.course import Course, generate

    course = Course(course_copy(tmp_path_factory.mktemp("course09")))
    written, problems = generate(course, course.assignments())
    assert not problems and len(written) == 1
    return course


# --- generate ----------------------------------------------------------------


def test_generate_is_deterministic_and_releases_only_the_notebook(course09):
    from tito.grading.course import generate, stale_releases

    assignment = course09.find("optimizers")
    first = assignment.release_notebook.read_bytes()
    written, problems = generate(course09, [assignment])
    assert written == [] and problems == []
    assert assignment.release_notebook.read_bytes() == first
    assert stale_releases(course09, [assignment]) == []
    assert sorted(
        p.name for p in assignment.release_notebook.parent.iterdir()
    ) == ["optimizers_dev.ipynb"]
    assert (
        course09.db_path.is_file() and course09.db_path.parent == course09.root
    )


def test_student_notebook_has_stubs_bootstrap_and_no_pairing(course09):
    from tito.bootstrap import TEMPLATE, repository

    nb = nbformat.read(
        course09.find("optimizers").release_notebook, as_version=4
    )
    code = [c for c in nb.cells if c.cell_type == "code"]
    url, branch = repository()
    assert code[0].source == TEMPLATE.format(url=url, branch=branch)
    assert "jupytext" not in nb.metadata
    stubs = [c for c in code if c.metadata.get("nbgrader", {}).get("solution")]
    assert stubs and all(
        "raise NotImplementedError()" in c.source
        and "# YOUR CODE HERE" in c.source
        for c in stubs
    )
    text = json.dumps(nb)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text


def test_stale_release_is_detected(course09, tmp_path):
    from tito.grading.course import Course, generate, stale_releases

    course = Course(course_copy(tmp_path / "c"))
    assignment = course.find("optimizers")
    generate(course, [assignment])
    source = assignment.source_notebook
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].source += "\n\nOne more sentence."
    nbformat.write(nb, source)
    py = jupytext.read(source)
    jupytext.write(py, assignment.source_py, fmt="py:percent")
    assert stale_releases(course, [assignment]) == [assignment]


def test_generate_refuses_a_source_not_exported(tmp_path):
    from tito.grading.course import Course, generate

    course = Course(course_copy(tmp_path / "c"))
    assignment = course.find(MODULE)
    assignment.source_py.write_text(
        assignment.source_py.read_text() + "\n# %%\nx = 1\n"
    )
    written, problems = generate(course, [assignment])
    assert written == [] and "tito export --module optimizers" in problems[0]


def test_committed_release_notebooks_are_current():
    """`tito nbgrader generate --all --check` in the repository: CI fails when
    a student notebook is stale."""
    from tito.grading.course import Course, check_paired, stale_releases

    course = Course(REPO)
    released = [
        a for a in course.assignments() if a.release_notebook.is_file()
    ]
    assert any(a.slug == MODULE for a in released), (
        "modules/release/09_optimizers is not generated yet"
    )
    checkable = [a for a in released if check_paired(a) is None]
    assert stale_releases(course, checkable) == []


# --- the leak check ----------------------------------------------------------


def _secret(kind: str):
    from tito.grading.leaks import course_secrets

    secrets = course_secrets(REPO / "modules" / "source")
    return next(
        s
        for s in secrets.values()
        if s.module == MODULE and s.kind == kind and len(s.line) > 20
    )


def test_leak_check_passes_on_the_real_release():
    from tito.grading.leaks import course_secrets, scan

    releases = sorted((REPO / "modules" / "release").glob("*/*.ipynb"))
    assert any(p.parent.name == MODULE for p in releases)
    assert scan(releases, course_secrets(REPO / "modules" / "source")) == []


@pytest.mark.parametrize("kind", ["solution", "hidden test"])
def test_leak_check_finds_one_pasted_line(tmp_path, kind):
    from tito.grading.leaks import course_secrets, scan

    secret = _secret(kind)
    release = REPO / "modules" / "release" / MODULE / "optimizers_dev.ipynb"
    copy = tmp_path / release.name
    nb = nbformat.read(release, as_version=4)
    target = next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "code" and i > 5
    )
    nb.cells[target].source += "\n    " + secret.line  # pasted, re-indented
    nbformat.write(nb, copy)
    leaks = scan([copy], course_secrets(REPO / "modules" / "source"))
    assert len(leaks) == 1
    leak = leaks[0]
    assert (leak.path, leak.cell, leak.where) == (copy, target, "source")
    assert leak.line == len(nb.cells[target].source.splitlines())
    assert leak.secret.kind == kind and leak.secret.module == MODULE
    assert str(copy) in str(leak) and f"cell {target}" in str(leak)


def test_leak_check_finds_markers_and_secrets_in_outputs(tmp_path):
    from tito.grading.leaks import course_secrets, scan

    secret = _secret("solution")
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "print('hello')",
                outputs=[
                    nbformat.v4.new_output(
                        "error",
                        ename="AssertionError",
                        evalue="",
                        traceback=[f"\x1b[0;32m----> 3\x1b[0m {secret.line}"],
                    )
                ],
            ),
            nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\n"),
        ]
    )
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, path)
    leaks = scan([path], course_secrets(REPO / "modules" / "source"))
    assert [(k.cell, k.where, k.secret is None) for k in leaks] == [
        (0, "output", False),
        (1, "source", True),
    ]


def test_secrets_skip_trivial_and_public_lines(tmp_path):
    from tito.grading.leaks import module_secrets

    source = tmp_path / "toy_dev.py"
    source.write_text(
        with_nbgrader(
            textwrap.dedent("""\
        # %% [markdown]
        # The update is shown in the prose:
        #
        # total = total + value * weight

        # %% solution: toy
        def toy(values, weights):
            ### BEGIN SOLUTION
            total = 0.0
            for value, weight in zip(values, weights):
                total = total + value * weight
            return total
            ### END SOLUTION
        """)
        )
    )
    secrets, public = module_secrets(source, "01_toy")
    lines = {s.line for s in secrets if s.line not in public}
    assert lines == {
        "total = 0.0",
        "for value, weight in zip(values, weights):",
        "return total",
    }


def test_leaks_command_fails_on_a_leaking_file(tmp_path, capsys):
    from tito.cli import main

    secret = _secret("solution")
    page = tmp_path / "page.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(secret.line)]
        ),
        page,
    )
    assert main(["nbgrader", "leaks", str(page)]) == 1
    assert "LEAK" in capsys.readouterr().out
    clean = tmp_path / "clean.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
        clean,
    )
    assert main(["nbgrader", "leaks", str(clean)]) == 0


def test_nothing_students_see_leaks():
    """`tito nbgrader leaks` over the repository: release notebooks, book
    pages, every other notebook."""
    from tito.grading.leaks import check

    scanned, leaks = check(REPO, REPO / "modules" / "source")
    assert scanned
    assert leaks == [], "\n".join(map(str, leaks))


# --- hidden tests in feedback ------------------------------------------------


def test_feedback_preprocessor_hides_hidden_tests_and_their_tracebacks():
    from tito.grading.plugins import HideHiddenTests

    source = (
        "def test_unit_x():\n    assert x() == 1\n    ### BEGIN HIDDEN TESTS\n"
        "    assert x(secret_argument=7) == 49\n    ### END HIDDEN TESTS\n"
    )
    cell = nbformat.v4.new_code_cell(
        source,
        outputs=[
            nbformat.v4.new_output(
                "error",
                ename="AssertionError",
                evalue="",
                traceback=[
                    "Traceback",
                    "\x1b[0;32m----> 4\x1b[0m     "
                    "\x1b[38;5;28;01massert\x1b[39;00m x(secret_argument=7) "
                    "== 49",
                    "AssertionError: ",
                ],
            )
        ],
    )
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test-x",
        "points": 1,
    }
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    text = json.dumps(nb)
    assert "secret_argument" not in text and "HIDDEN" not in text
    assert "assert x() == 1" in nb.cells[0].source
    assert nb.cells[0].outputs[0].traceback[-1] == "AssertionError: "


# --- the grading environment -------------------------------------------------

PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        print(name, "ok")
    except ImportError:
        print(name, "blocked")
"""


def _imports(env, *names):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *names],
        env=env,
        capture_output=True,
        text=True,
        cwd="/",
    )
    return dict(line.split() for line in out.stdout.splitlines())


def test_grading_env_hides_the_instructors_code(course09):
    assignment = course09.find("optimizers")
    learner = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [
                str(assignment.source_py.parent),
                str(REPO / "modules" / "source" / MODULE),
            ]
        ),
    )
    names = (
        "optimizers_dev",
        "tinytorch.core.optimizers",
        "tinytorch.core.autograd",
    )
    assert _imports(learner, *names) == dict.fromkeys(
        names, "ok"
    )  # what a submission could do without it
    grading = course09.grading_env(assignment, base=learner)
    assert str(assignment.source_py.parent) not in grading["PYTHONPATH"]
    assert _imports(grading, *names) == {
        "optimizers_dev": "blocked",
        "tinytorch.core.optimizers": "blocked",
        "tinytorch.core.autograd": "ok",
    }


# --- validate ----------------------------------------------------------------


def test_validate_passes_on_module_09(course09):
    from tito.grading.validate import validate

    reports = validate(
        course09, [course09.find("optimizers")], workers=2, cell_timeout=60
    )
    assert [(r.edition, r.problems) for r in reports] == [
        ("source", []),
        ("release", []),
    ]


TOY = with_nbgrader("""\
# %%
#| bootstrap
import tinytorch

# %%
import sys

# %% solution: double
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

# %% test: test-double, 1 point
assert double(2) == 4
print("chatty test", file=sys.stderr)

# %% test: test-free, 1 point
assert 1 + 1 == 2

# %%
print(double(21))
""")


def test_validate_reports_what_would_hurt_students(tmp_path):
    from tito.grading.course import Course, generate
    from tito.grading.validate import validate

    root = tmp_path / "toy"
    (root / "modules" / "source" / "01_toy").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        (REPO / "nbgrader_config.py").read_text()
    )
    source = root / "modules" / "source" / "01_toy" / "toy_dev.py"
    source.write_text(TOY)
    jupytext.write(
        jupytext.read(source, fmt="py:percent"), source.with_suffix(".ipynb")
    )
    course = Course(root)
    generate(course, course.assignments())
    reports = {
        r.edition: r
        for r in validate(
            course, course.assignments(), workers=2, cell_timeout=30
        )
    }
    source_problems = "\n".join(reports["source"].problems)
    assert "test-double writes to stderr" in source_problems
    release_problems = "\n".join(reports["release"].problems)
    assert (
        "test-free passes on the untouched student notebook"
        in release_problems
    )
    assert (
        "after_exercise" in release_problems
    )  # the last cell calls the stub unguarded
    assert (
        "test-double" not in release_problems
    )  # fails with NotImplementedError, as it should


# --- collect, export, CLI ----------------------------------------------------


def test_collect_from_a_folder(course09, tmp_path):
    from tito.grading.course import collect_from_folder

    assignment = course09.find("optimizers")
    inbox = tmp_path / "inbox"
    (inbox / "ada").mkdir(parents=True)
    nb = assignment.release_notebook.read_text()
    (inbox / "ada" / "optimizers_dev.ipynb").write_text(nb)
    (inbox / "grace.ipynb").write_text(nb)
    (inbox / "bad name.ipynb").write_text(nb)
    assert collect_from_folder(course09, assignment, inbox) == ["ada", "grace"]
    for student in ("ada", "grace"):
        assert assignment.submitted_notebook(student).read_text() == nb
        assert (
            assignment.submitted_notebook(student).parent / "timestamp.txt"
        ).is_file()
    assert course09.students(assignment) == ["ada", "grace"]


def test_export_quotes_names(course09, tmp_path):
    from nbgrader.api import Gradebook

    from tito.grading.course import export_grades, read_grades_csv

    with Gradebook(course09.db_url, course09.course_id) as gb:
        gb.update_or_create_student(
            "lin", last_name="Lin, Jr.", first_name='Ada "A"'
        )
    rows = read_grades_csv(
        export_grades(
            course09, tmp_path / "g.csv", [course09.find("optimizers")]
        )
    )
    row = next(r for r in rows if r["student_id"] == "lin")
    assert (
        row["last_name"],
        row["first_name"],
        row["score"],
        row["assignment"],
    ) == ("Lin, Jr.", 'Ada "A"', "0.0", MODULE)


def test_cli_help_documents_every_step(capsys):
    from tito.cli import main

    with pytest.raises(SystemExit):
        main(["nbgrader", "--help"])
    out = capsys.readouterr().out
    for step in (
        "generate",
        "validate",
        "leaks",
        "release",
        "collect",
        "autograde",
        "feedback",
        "export",
        "status",
    ):
        assert step in out


def test_cli_generate_check_and_status(course09, capsys):
    from tito.cli import main

    assert (
        main(
            [
                "nbgrader",
                "generate",
                "--all",
                "--check",
                "--course",
                str(course09.repo),
            ]
        )
        == 0
    )
    assert "in sync" in capsys.readouterr().out
    assert (
        main(["nbgrader", "status", "--json", "--course", str(course09.repo)])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["modules"][MODULE]["released"] is True
    assert (
        main(
            [
                "nbgrader",
                "generate",
                "--module",
                "nope",
                "--course",
                str(course09.repo),
            ]
        )
        == 2
    )


def _as_student(exchange: Path, home: Path):
    """nbgrader's own student side of the exchange (what the Assignments tab
    does), as this OS user."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.course_id = "tinytorch"
    config.CourseDirectory.assignment_id = MODULE
    config.Exchange.root = str(exchange)
    config.Exchange.assignment_dir = str(home)
    return {
        "coursedir": CourseDirectory(config=config),
        "authenticator": Authenticator(config=config),
        "config": config,
    }


def test_release_collect_grade_and_feedback_through_an_exchange(
    course09, tmp_path, capsys
):
    """The JupyterHub path: release; a student fetches and submits; collect,
    autograde, release feedback; the student fetches the feedback."""
    import getpass

    from module09_answers import CORRECT
    from nbgrader.exchange.default import (
        ExchangeFetchAssignment,
        ExchangeFetchFeedback,
        ExchangeSubmit,
    )
    from nbgrader_support import submission

    from tito.cli import main

    exchange, home = tmp_path / "exchange", tmp_path / "home"
    home.mkdir()
    course = ["--course", str(course09.repo)]
    assert (
        main(
            [
                "nbgrader",
                "release",
                "--module",
                "9",
                "--exchange",
                str(exchange),
                *course,
            ]
        )
        == 0
    )
    assert (
        exchange / "tinytorch" / "outbound" / MODULE / "optimizers_dev.ipynb"
    ).is_file()

    student_side = _as_student(exchange, home)
    ExchangeFetchAssignment(**student_side).start()
    fetched = home / MODULE / "optimizers_dev.ipynb"
    nbformat.write(
        submission(nbformat.read(fetched, as_version=4), CORRECT), fetched
    )
    ExchangeSubmit(**student_side).start()

    student = getpass.getuser()
    assert (
        main(
            [
                "nbgrader",
                "collect",
                "--module",
                "9",
                "--exchange",
                str(exchange),
                *course,
            ]
        )
        == 0
    )
    assignment = course09.find("optimizers")
    assert assignment.submitted_notebook(student).is_file()
    assert (
        main(
            [
                "nbgrader",
                "autograde",
                "--module",
                "9",
                "--student",
                student,
                "--timeout",
                "20",
                "--quiet",
                *course,
            ]
        )
        == 0
    )
    assert student in capsys.readouterr().out
    assert (
        main(
            [
                "nbgrader",
                "feedback",
                "--module",
                "9",
                "--student",
                student,
                "--release",
                "--exchange",
                str(exchange),
                *course,
            ]
        )
        == 0
    )
    ExchangeFetchFeedback(**student_side).start()
    pages = list((home / MODULE / "feedback").rglob("optimizers_dev.html"))
    assert len(pages) == 1

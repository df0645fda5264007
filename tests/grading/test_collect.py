"""Nothing an instructor holds is lost or mixed up: `collect --from` keeps the
newer submission of a student whatever the order, refuses another module's
notebook by name, and a damaged gradebook gets a message that says how to
recover, from every command that opens it.

Everything works on a temporary copy of the course (modules 08 and 09); no
nbgrader pipeline runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3

import pytest
from cell_markers import with_nbgrader
from nbgrader_support import REPO, course_copy

from tito.cli import main
from tito.grading.course import Course, collect_from_folder
from tito.grading.gradebook import DamagedGradebook, check_gradebook

OLDER = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)
NEWER = dt.datetime(2026, 11, 21, 17, 5, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    return Course(course_copy(root, modules=("08_networks", "09_optimizers")))


@pytest.fixture
def fresh(course, tmp_path):
    """The module's course with no submission yet (each test starts from an
    empty submitted/)."""
    shutil.rmtree(course.submitted, ignore_errors=True)
    shutil.rmtree(course.logs, ignore_errors=True)
    return course


def _notebook(course, module: str, note: str) -> str:
    """The module's notebook, marked with `note` so that two submissions
    differ."""
    nb = json.loads(course.find(module).source_notebook.read_text())
    nb["cells"][-1]["source"] = f"# {note}\n"
    return json.dumps(nb)


def _as_file(inbox, student, text, when):
    """FOLDER/STUDENT.ipynb, an LMS download: its time is the file's
    modification time."""
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"{student}.ipynb"
    path.write_text(text)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def _as_folder(inbox, student, text, when):
    """FOLDER/STUDENT/name_dev.ipynb with nbgrader's timestamp.txt (the file's
    own time is now)."""
    folder = inbox / student
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "optimizers_dev.ipynb").write_text(text)
    (folder / "timestamp.txt").write_text(
        when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    )
    return folder / "optimizers_dev.ipynb"


def _stamp(assignment, student) -> str:
    return (
        assignment.submitted_notebook(student).parent / "timestamp.txt"
    ).read_text()


# --- the newer submission wins, in both orders -------------------------------


def _collect_in_order(course, tmp_path, layout, first: str):
    """ada hands in an older and a newer notebook; `first` ("older" or
    "newer") is collected first. Returns (what each collect took, texts)."""
    assignment = course.find("optimizers")
    texts = {
        age: _notebook(course, "optimizers", age) for age in ("newer", "older")
    }
    layout(tmp_path / "newer", "ada", texts["newer"], NEWER)
    layout(tmp_path / "older", "ada", texts["older"], OLDER)
    second = "older" if first == "newer" else "newer"
    took = [
        collect_from_folder(course, assignment, tmp_path / age)
        for age in (first, second)
    ]
    # whatever the order, the newer notebook and its time are what is held
    assert assignment.submitted_notebook("ada").read_text() == texts["newer"]
    assert _stamp(assignment, "ada").startswith("2026-11-21 17:05:00")
    return took, texts


@pytest.mark.parametrize("layout", [_as_file, _as_folder])
def test_an_older_submission_never_replaces_a_newer_one(
    fresh, tmp_path, capsys, layout
):
    took, _ = _collect_in_order(fresh, tmp_path, layout, first="newer")
    assert took == [["ada"], []]
    out = capsys.readouterr().out
    assert "kept ada's collected submission of 2026-11-21 17:05:00 UTC" in out
    assert "is older (2026-11-20 09:30:00 UTC)" in out


@pytest.mark.parametrize("layout", [_as_file, _as_folder])
def test_a_newer_submission_replaces_an_older_one_which_is_kept(
    fresh, tmp_path, capsys, layout
):
    took, texts = _collect_in_order(fresh, tmp_path, layout, first="older")
    assert took == [["ada"], ["ada"]]
    kept = list((fresh.logs / "collect" / "ada").rglob("*.ipynb"))
    assert [p.read_text() for p in kept] == [texts["older"]]
    assert "20261120-093000" in kept[0].name
    assert "replaced ada's submission of 2026-11-20 09:30:00 UTC" in (
        capsys.readouterr().out
    )


def test_collecting_the_same_folder_twice_changes_nothing(
    fresh, tmp_path, capsys
):
    assignment = fresh.find("optimizers")
    text = _notebook(fresh, "optimizers", "only")
    _as_file(tmp_path / "inbox", "ada", text, OLDER)
    assert collect_from_folder(fresh, assignment, tmp_path / "inbox") == [
        "ada"
    ]
    assert collect_from_folder(fresh, assignment, tmp_path / "inbox") == []
    assert assignment.submitted_notebook("ada").read_text() == text
    assert not fresh.logs.exists()  # nothing replaced, nothing to keep


def test_two_submissions_of_one_student_in_one_folder_take_the_newer(
    fresh, tmp_path, capsys
):
    assignment = fresh.find("optimizers")
    inbox = tmp_path / "inbox"
    newer = _notebook(fresh, "optimizers", "newer")
    _as_folder(inbox, "ada", newer, NEWER)  # ada/ sorts before ada.ipynb
    _as_file(inbox, "ada", _notebook(fresh, "optimizers", "older"), OLDER)
    assert collect_from_folder(fresh, assignment, inbox) == ["ada"]
    assert assignment.submitted_notebook("ada").read_text() == newer
    assert "took the newer" in capsys.readouterr().out


# --- another module's notebook -----------------------------------------------


def test_another_modules_notebook_is_refused_by_name(fresh, tmp_path, capsys):
    assignment = fresh.find("optimizers")
    inbox = tmp_path / "inbox"
    _as_file(inbox, "ada", _notebook(fresh, "networks", "ada"), OLDER)
    # renamed to the expected name: its cells still say which module it is
    _as_folder(inbox, "grace", _notebook(fresh, "networks", "grace"), OLDER)
    _as_file(inbox, "lin", _notebook(fresh, "optimizers", "lin"), OLDER)

    assert collect_from_folder(fresh, assignment, inbox) == ["lin"]
    out = capsys.readouterr().out
    for student in ("ada", "grace"):
        assert not assignment.submitted_notebook(student).exists()
        assert f"{student}" in out
    assert out.count("this is module 08's notebook") == 2
    assert "collect it with --module networks" in out


def test_a_notebook_without_cell_metadata_is_known_by_its_file_name(
    fresh, tmp_path, capsys
):
    assignment = fresh.find("optimizers")
    nb = json.loads(_notebook(fresh, "networks", "stripped"))
    for cell in nb["cells"]:
        cell["metadata"] = {}
    folder = tmp_path / "inbox" / "ada"
    folder.mkdir(parents=True)
    (folder / "networks_dev.ipynb").write_text(json.dumps(nb))
    assert collect_from_folder(fresh, assignment, tmp_path / "inbox") == []
    assert "this is module 08's notebook" in capsys.readouterr().out


# --- a damaged gradebook -----------------------------------------------------


def _gradebook(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE grade (id TEXT, score REAL)")
        db.executemany(
            "INSERT INTO grade VALUES (?, ?)",
            [(f"cell-{i}" * 40, i) for i in range(400)],
        )
    return path


@pytest.mark.parametrize("keep", [0.5, 40 / 400_000])
def test_a_truncated_gradebook_gets_a_recovery_message(tmp_path, keep):
    db = _gradebook(tmp_path / "gradebook.db")
    check_gradebook(db)  # a sound one passes
    data = db.read_bytes()
    db.write_bytes(data[: max(40, int(len(data) * keep))])
    with pytest.raises(DamagedGradebook) as error:
        check_gradebook(db)
    message = str(error.value)
    assert "is damaged" in message and str(db) in message
    assert "`tito nbgrader generate --all`" in message
    assert "re-autograde" in message and "submissions" in message


def test_no_gradebook_yet_is_not_damage(tmp_path):
    check_gradebook(tmp_path / "gradebook.db")
    (tmp_path / "empty.db").write_bytes(b"")  # SQLite's empty database
    check_gradebook(tmp_path / "empty.db")


COMMANDS = [
    ["generate", "--module", "9"],
    ["collect", "--module", "9", "--from", "."],
    ["autograde", "--module", "9", "--quiet"],
    ["feedback", "--module", "9"],
    ["export"],
    ["status"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_command_that_opens_the_gradebook_says_how_to_recover(
    course, tmp_path, capsys, command
):
    damaged = tmp_path / "course"
    shutil.copytree(course.repo, damaged)
    db = Course(damaged).db_path
    _gradebook(db).write_bytes(db.read_bytes()[:3000])
    before = db.read_bytes()

    assert main(["nbgrader", *command, "--course", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "tito nbgrader generate --all" in err
    assert "Traceback" not in err
    assert db.read_bytes() == before  # the check changes nothing


# --- a duplicated or extra test cell (the real nbgrader) ---------------------

TOY = with_nbgrader("""\
# %%
#| bootstrap
import tinytorch

# %% solution: double
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

# %% test: test-double, 2 points
assert double(3) == 6

# %% test: test-double-more, 3 points
assert double(-1.5) == -3.0
""")


def _copy_cell(grade_id, new_id=None):
    """A submission edit: a copy of the test cell right after it (same
    metadata, or a new grade id: a test cell the student added)."""

    def edit(nb):
        cell = next(
            c
            for c in nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
        )
        twin = json.loads(json.dumps(cell))
        twin["id"] = f"copy-of-{grade_id}"
        if new_id:
            twin["metadata"]["nbgrader"]["grade_id"] = new_id
        nb["cells"].insert(nb["cells"].index(cell) + 1, twin)

    return edit


@pytest.mark.nbgrader
@pytest.mark.xdist_group("nbgrader-collect")
def test_a_duplicated_or_extra_test_cell_does_not_stop_grading(tmp_path):
    """nbgrader 0.9.6 alone records these as not graded (KeyError)."""
    import jupytext

    from tito.grading.autograde import autograde
    from tito.grading.course import generate

    root = tmp_path / "toy"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        (REPO / "nbgrader_config.py").read_text()
    )
    source = root / "modules" / "source" / "01_toy" / "toy_dev.py"
    source.parent.mkdir(parents=True)
    source.write_text(TOY)
    jupytext.write(
        jupytext.read(source, fmt="py:percent"), source.with_suffix(".ipynb")
    )
    toy = Course(root)
    assignment = toy.find("toy")
    assert generate(toy, [assignment])[1] == []
    release = json.loads(assignment.release_notebook.read_text())
    stub = "# YOUR CODE HERE\n    raise NotImplementedError()"

    def answered(*edits, body="return x + x"):
        nb = json.loads(json.dumps(release))
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            cell["source"] = text.replace(stub, body)
        for edit in edits:
            edit(nb)
        return json.dumps(nb)

    submissions = {
        "twin": answered(_copy_cell("test-double")),
        "extra": answered(_copy_cell("test-double-more", "my-own-test")),
        "both": answered(
            _copy_cell("test-double"),
            _copy_cell("test-double-more", "my-own-test"),
            body="return x + 1",  # wrong: the kept twin must still fail
        ),
    }
    for student, text in submissions.items():
        path = assignment.submitted_notebook(student)
        path.parent.mkdir(parents=True)
        path.write_text(text)

    results = {
        r.student: r
        for r in autograde(toy, [assignment], cell_timeout=30, progress=False)
    }
    assert {s: (r.ok, r.score, r.max_score) for s, r in results.items()} == {
        "twin": (True, 5.0, 5.0),
        "extra": (True, 5.0, 5.0),
        # double(3) == 4 fails, double(-1.5) == -0.5 fails
        "both": (True, 0.0, 5.0),
    }
    assert results["twin"].grades == {
        "test-double": 2.0,
        "test-double-more": 3.0,
    }


def test_a_new_gradebook_records_the_schema_version_nbgrader_would():
    """tito asks alembic in-process (tito/grading/gradebook.py) what
    nbgrader's `alembic heads` command would answer."""
    import subprocess

    from nbgrader.api import _temp_alembic_ini

    from tito.grading.gradebook import alembic_head

    with _temp_alembic_ini("sqlite:////tmp/unused.db") as ini:
        printed = subprocess.check_output(["alembic", "-c", ini, "heads"])
    expected = printed.decode().split()[0]
    assert alembic_head() == expected, (alembic_head(), expected)

"""Nothing a learner wrote is lost: start and reset refusals and copies,
notebook edits, both sides edited, and `tito sync` in a learner's checkout."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest
from learner_course import (
    NOTEBOOK,
    PACKAGE,
    SOURCE,
    course_copy,
    tito,
)

MINE = "# my own note, written by the learner"


@pytest.fixture(scope="module")
def fresh_once(tmp_path_factory):
    return course_copy(tmp_path_factory.mktemp("fresh"))


@pytest.fixture
def fresh(fresh_once, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(fresh_once, course)
    return course


@pytest.fixture(scope="module")
def started_once(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("started"))
    result = tito(course, "module", "start", "optimizers")
    assert result.returncode == 0, result.output
    return course


@pytest.fixture
def started(started_once, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(started_once, course)
    return course


def edit_notebook(course, text):
    """The learner edits the first code cell of the paired notebook in Jupyter
    (and saves)."""
    path = course / NOTEBOOK
    notebook = json.loads(path.read_text())
    cell = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    cell["source"] = text + "\n" + "".join(cell["source"])
    path.write_text(json.dumps(notebook))


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_start_refuses_a_module_the_learner_edited(fresh):
    source = fresh / SOURCE
    source.write_text(source.read_text() + f"\n{MINE}\n")
    before = sha(source)
    result = tito(fresh, "module", "start", "optimizers")
    assert result.returncode == 2
    assert "not the reference version" in result.stderr
    assert SOURCE in result.stderr
    assert sha(source) == before


def test_start_refuses_when_the_notebook_holds_edits(fresh):
    edit_notebook(fresh, MINE)
    result = tito(fresh, "module", "start", "optimizers")
    assert result.returncode == 2
    assert NOTEBOOK in result.stderr and "Jupyter" in result.stderr
    assert MINE in (fresh / NOTEBOOK).read_text()
    assert "### BEGIN SOLUTION" in (fresh / SOURCE).read_text()


def test_start_twice_changes_nothing(started):
    before = sha(started / SOURCE)
    result = tito(started, "module", "start", "optimizers")
    assert result.returncode == 0 and "already started" in result.stdout
    assert sha(started / SOURCE) == before


def test_reset_keeps_the_learners_code_and_brings_the_reference_back(
    started,
):
    source = started / SOURCE
    source.write_text(source.read_text() + f"\n{MINE}\n")
    result = tito(started, "module", "reset", "optimizers")
    assert result.returncode == 0, result.output
    copies = list(source.parent.glob("optimizers_dev.py.bak-*"))
    assert len(copies) == 1 and MINE in copies[0].read_text()
    recorded = (started / "modules/source/SHA256SUMS").read_text()
    assert f"{sha(source)}  09_optimizers/optimizers_dev.py" in recorded
    assert "raise NotImplementedError()" not in (started / PACKAGE).read_text()
    assert "not started" in tito(started, "module", "status").stdout


def test_reset_of_an_untouched_edition_keeps_no_copy(started):
    assert tito(started, "module", "reset", "optimizers").returncode == 0
    assert not list((started / SOURCE).parent.glob("*.bak-*"))


def test_export_takes_a_notebook_edit_into_the_source(started):
    edit_notebook(started, "EDITED_IN_JUPYTER = 1")
    # the .py is newer: a time-based check would discard the notebook edit
    source = started / SOURCE
    later = (started / NOTEBOOK).stat().st_mtime + 10
    os.utime(source, (later, later))
    result = tito(started, "export", "--module", "optimizers")
    assert result.returncode == 0, result.output
    assert "synced your notebook edits into" in result.stdout
    assert "EDITED_IN_JUPYTER = 1" in source.read_text()
    assert "EDITED_IN_JUPYTER = 1" in (started / NOTEBOOK).read_text()


def test_export_refuses_when_both_sides_were_edited(started):
    edit_notebook(started, "IN_THE_NOTEBOOK = 1")
    source = started / SOURCE
    source.write_text(source.read_text() + "\nIN_THE_SOURCE = 1\n")
    result = tito(started, "export", "--module", "optimizers")
    assert result.returncode == 2
    assert NOTEBOOK in result.stderr and "optimizers_dev.py" in result.stderr
    assert "IN_THE_NOTEBOOK = 1" in (started / NOTEBOOK).read_text()
    assert "IN_THE_SOURCE = 1" in source.read_text()
    forced = tito(started, "export", "--module", "optimizers", "--force")
    assert forced.returncode == 0, forced.output
    (copy,) = source.parent.glob("optimizers_dev.ipynb.bak-*")
    assert "IN_THE_NOTEBOOK = 1" in copy.read_text()


def test_a_syntax_error_is_reported_at_its_own_file_and_line(started):
    source = started / SOURCE
    lines = source.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "YOUR CODE HERE" in line)
    lines[at] = lines[at].replace("# YOUR CODE HERE", "x = (1 +")  # unclosed
    source.write_text("\n".join(lines) + "\n")
    result = tito(started, "export", "--module", "optimizers")
    assert result.returncode == 2
    assert f"{SOURCE}:{at + 1}: syntax error" in result.stderr


def test_sync_refuses_in_a_learners_checkout(started):
    release_before = sorted(p.name for p in started.rglob("*.ipynb"))
    result = tito(started, "sync")
    assert result.returncode == 2
    assert "optimizers" in result.stderr and "module reset" in result.stderr
    assert sorted(p.name for p in started.rglob("*.ipynb")) == release_before

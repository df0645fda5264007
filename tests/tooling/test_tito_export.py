"""`tito export`: idempotent, detects stale files, and never overwrites work a
user did by hand."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def course(tmp_path):
    """A throwaway copy of the course tooling with modules 01 and 03, so tests
    can break things freely."""
    for name in ("tito", "_config.yml", "requirements"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(
            source, tmp_path / name
        )
    for slug in ("01_setup", "03_autograd"):
        folder = tmp_path / "modules" / "source" / slug
        folder.mkdir(parents=True)
        shutil.copy(
            next((ROOT / "modules/source" / slug).glob("*_dev.py")), folder
        )
    return tmp_path


def tito(course, *args):
    return subprocess.run(
        [sys.executable, "-m", "tito", *args],
        cwd=course,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(course)),
    )


def test_export_writes_package_and_notebooks_then_is_idempotent(course):
    first = tito(course, "export", "--all")
    assert first.returncode == 0, first.stderr
    setup = (course / "tinytorch/core/setup.py").read_text()
    assert "def system_info():" in setup and "### BEGIN SOLUTION" not in setup
    assert (
        "__all__ = ['after_exercise', 'expect', 'expect_equal', "
        "'expect_close', "
        "'system_info']" in setup
    )
    notebook = json.loads(
        (course / "modules/source/01_setup/setup_dev.ipynb").read_text()
    )
    solution = [
        c
        for c in notebook["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "system-info"
    ]
    assert solution and solution[0]["id"] == "system-info"
    snapshot = {
        p: p.read_bytes()
        for p in course.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    second = tito(course, "export", "--all")
    assert "0 file(s) changed" in second.stdout
    assert snapshot == {p: p.read_bytes() for p in snapshot}
    assert tito(course, "export", "--all", "--check").returncode == 0


def test_check_names_stale_files_and_fails(course):
    tito(course, "export", "--all")
    source = course / "modules/source/01_setup/setup_dev.py"
    source.write_text(
        source.read_text().replace(
            '"platform": platform.system(),',
            '"platform": platform.system(),  # os',
        )
    )
    result = tito(course, "export", "--all", "--check")
    assert result.returncode == 1
    assert "stale: modules/source/01_setup/setup_dev.ipynb" in result.stdout
    assert "stale: tinytorch/core/setup.py" in result.stdout


def test_hand_edited_package_file_is_not_overwritten(course):
    tito(course, "export", "--all")
    package_file = course / "tinytorch/core/setup.py"
    package_file.write_text(
        package_file.read_text() + "\nMY_NOTE = 'keep me'\n"
    )
    source = course / "modules/source/01_setup/setup_dev.py"
    source.write_text(source.read_text() + "\n# %%\n#| export\nEXTRA = 1\n")
    refused = tito(course, "export", "--module", "setup")
    assert refused.returncode == 2
    assert (
        "tinytorch/core/setup.py" in refused.stderr
        and "--force" in refused.stderr
    )
    assert "MY_NOTE = 'keep me'" in package_file.read_text()
    forced = tito(course, "export", "--module", "setup", "--force")
    assert forced.returncode == 0, forced.stderr
    backups = list(package_file.parent.glob("setup.py.bak-*"))
    assert (
        len(backups) == 1 and "MY_NOTE = 'keep me'" in backups[0].read_text()
    )
    assert "EXTRA = 1" in package_file.read_text()


def write_notes_in_jupyter(course):
    """The first cell of module 01's paired notebook, edited in Jupyter."""
    notebook_path = course / "modules/source/01_setup/setup_dev.ipynb"
    notebook = json.loads(notebook_path.read_text())
    notebook["cells"][0]["source"] = "# my own notes, written in Jupyter"
    notebook_path.write_text(json.dumps(notebook))
    return notebook_path


def test_notebook_edited_in_jupyter_is_synced_into_the_source(course):
    tito(course, "export", "--all")
    notebook_path = write_notes_in_jupyter(course)
    source = course / "modules/source/01_setup/setup_dev.py"
    later = notebook_path.stat().st_mtime + 10
    os.utime(source, (later, later))  # the .py is newer: edits go by content
    result = tito(course, "export", "--module", "setup")
    assert result.returncode == 0, result.stderr
    assert "synced your notebook edits into" in result.stdout
    assert "# my own notes, written in Jupyter" in source.read_text()
    assert "my own notes" in notebook_path.read_text()
    again = tito(course, "export", "--module", "setup")
    assert "0 file(s) changed" in again.stdout


def test_notebook_and_source_both_edited_are_not_overwritten(course):
    tito(course, "export", "--all")
    notebook_path = write_notes_in_jupyter(course)
    source = course / "modules/source/01_setup/setup_dev.py"
    source.write_text(source.read_text() + "\n# %%\nLATER = 1\n")
    result = tito(course, "export", "--module", "setup")
    assert result.returncode == 2
    assert "setup_dev.ipynb: edited in Jupyter, and setup_dev.py" in (
        result.stderr
    )
    assert "my own notes" in notebook_path.read_text()
    assert "LATER = 1" in source.read_text()


def test_syntax_error_names_the_source_file_and_line(course):
    source = course / "modules/source/03_autograd/autograd_dev.py"
    lines = source.read_text().splitlines()
    at = next(
        i for i, line in enumerate(lines) if "### BEGIN SOLUTION" in line
    )
    lines.insert(at + 1, "    value = (1 +")
    source.write_text("\n".join(lines) + "\n")
    result = tito(course, "export", "--module", "autograd")
    assert result.returncode == 2
    assert (
        f"modules/source/03_autograd/autograd_dev.py:{at + 2}: syntax error"
        in result.stderr
    )
    assert not (course / "tinytorch/core/autograd.py").exists()


@pytest.mark.parametrize(
    "name", ["autograd", "03_autograd", "03", "3", "autograd_dev"]
)
def test_module_names_resolve(course, name):
    stale = [
        line
        for line in tito(
            course, "export", "--module", name, "--check"
        ).stdout.splitlines()
        if line.startswith("stale: modules/")
    ]
    assert stale == ["stale: modules/source/03_autograd/autograd_dev.ipynb"]


def test_unknown_module_lists_valid_names(course):
    result = tito(course, "export", "--module", "optimisers")
    assert result.returncode == 2
    assert (
        "unknown module 'optimisers'" in result.stderr
        and "setup, autograd" in result.stderr
    )


def test_module_without_export_target_is_a_clear_error(course):
    source = course / "modules/source/01_setup/setup_dev.py"
    source.write_text(
        source.read_text().replace("#| default_exp core.setup\n", "")
    )
    result = tito(course, "export", "--module", "setup")
    assert (
        result.returncode == 2
        and "has no `#| default_exp core.NAME` line" in result.stderr
    )

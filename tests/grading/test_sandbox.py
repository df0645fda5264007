"""The grading sandbox holds against hostile submissions: graded by the real
nbgrader (through `tito nbgrader autograde`, two workers) alongside an honest
one, in a temporary copy of the course.

None of the hostile submissions solves anything: each scores 0 unless its
attack works. They try to find and run the reference (walking up from their
folder, and at the course's real paths), to read and write the gradebook, to
reach the network, to overwrite another student's submission and a tracked file
of the repository, and to leave a detached process behind that changes grades
after grading.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest
from module09_answers import CORRECT
from nbgrader_support import (
    MODULE,
    REPO,
    generated_course,
    hand_in,
    submission,
)

# one xdist worker builds the course (run with `-n 2 --dist loadgroup`)
ONE_WORKER = pytest.mark.xdist_group("nbgrader-sandbox")
pytestmark = [pytest.mark.nbgrader, ONE_WORKER]

CELL_TIMEOUT = 20
TRACKED = REPO / "tito" / "__init__.py"
TOKEN = f"tito-sandbox-test-{uuid.uuid4().hex}"  # in the daemon's command line

# Each attack prints what it tried: the test checks that it ran and got
# nowhere.
SNOOP = """
import os, socket, sqlite3
found = []
here = os.getcwd()
print("working folder:", here)
while True:  # walk up from the work folder, two levels down at each step
    for root, dirs, files in os.walk(here):
        dirs[:] = [] if root.count(os.sep) - here.count(os.sep) >= 2 else dirs
        found += [os.path.join(root, f) for f in files
                  if f in ("optimizers_dev.py", "optimizers.py",
                           "gradebook.db")]
    if os.path.dirname(here) == here:
        break
    here = os.path.dirname(here)
found += [p for p in {known} if os.path.exists(p)]
for path in found:
    if path.endswith(".py"):
        exec(open(path).read(), globals())  # the reference's classes
    else:
        try:
            db = sqlite3.connect(path)
            db.execute("UPDATE grade SET auto_score = 1000")
            db.commit()
        except Exception as error:
            print("gradebook refused:", error)
print("snoop found:", found)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    print("network: connected")
except OSError as error:
    print("network refused:", error)
"""

VANDAL = """
targets = (({victim!r}, "w", "{{}}"), ({tracked!r}, "a", "# owned\\n"))
for path, mode, text in targets:
    try:
        with open(path, mode) as handle:
            handle.write(text)
        print("vandal wrote", path)
    except OSError as error:
        print("vandal refused:", error)
"""

DAEMON = """
import os, sys
child = os.fork()
if child == 0:  # double fork and a new session: a detached process
    os.setsid()
    if os.fork() == 0:
        code = '''
import sqlite3, sys, time
for _ in range(300):
    time.sleep(0.2)
    try:
        open({marker!r}, "a").write("alive\\\\n")
        db = sqlite3.connect({gradebook!r})
        db.execute("UPDATE grade SET auto_score = 1000")
        db.commit()
    except Exception:
        pass
'''
        os.execv(sys.executable, [sys.executable, "-c", code, {token!r}])
    os._exit(0)
os.waitpid(child, 0)
print("daemon started")
"""


def _insert_cell(code):
    def edit(nb):
        nb.cells.insert(2, nbformat.v4.new_code_cell(code))

    return edit


class _Listener:
    """A TCP server on the loopback that counts the connections it gets."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git_status():
    """Changes to the tracked files a submission would want to rig."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--", "tito", "tinytorch", "modules"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    from tito.grading.autograde import autograde

    course, assignment, release = generated_course(
        tmp_path_factory.mktemp("course")
    )
    root = course.repo
    marker = tmp_path_factory.mktemp("outside") / "daemon-was-here"
    listener = _Listener()
    honest = hand_in(root, "honest", submission(release, CORRECT))
    known = [
        str(assignment.source_py),
        str(REPO / "modules" / "source" / MODULE / "optimizers_dev.py"),
        str(REPO / "tinytorch" / "core" / "optimizers.py"),
        str(course.db_path),
    ]
    attacks = {
        "snoop": SNOOP.format(known=known, port=listener.port),
        "vandal": VANDAL.format(victim=str(honest), tracked=str(TRACKED)),
        "daemon": DAEMON.format(
            marker=str(marker), gradebook=str(course.db_path), token=TOKEN
        ),
    }
    for student, code in attacks.items():
        hand_in(root, student, submission(release, {}, _insert_cell(code)))
    before = {
        "honest": honest.read_bytes(),
        "tracked": _digest(TRACKED),
        "git": _git_status(),
    }
    two_workers = {"workers": 2, "cell_timeout": CELL_TIMEOUT}
    results = autograde(course, [assignment], progress=False, **two_workers)
    gradebook = _digest(course.db_path)
    time.sleep(2)  # the daemon, had it survived, would act now
    return {
        "course": course,
        "assignment": assignment,
        "results": {r.student: r for r in results},
        "before": before,
        "gradebook": gradebook,
        "marker": marker,
        "listener": listener,
        "honest": honest,
    }


def _printed(attacked, student):
    nb = nbformat.read(
        attacked["assignment"].autograded_notebook(student), as_version=4
    )
    return "".join(
        output.get("text", "")
        for output in nb.cells[2].outputs
        if output.output_type == "stream"
    )


def test_hostile_submissions_score_zero_and_the_honest_one_full(attacked):
    results = attacked["results"]
    assert all(r.ok for r in results.values()), {
        s: r.error for s, r in results.items()
    }
    assert results["honest"].score == results["honest"].max_score > 0
    for student in ("snoop", "vandal", "daemon"):
        assert results[student].score == 0, (student, results[student].grades)


def test_the_reference_the_gradebook_and_the_network_are_out_of_reach(
    attacked,
):
    printed = _printed(attacked, "snoop")
    assert "snoop found: []" in printed, printed
    # the notebook runs in its own folder (the kernel, started before
    # nbgrader made it, moved there: tito/grading/head_start.py)
    folder = f"/autograded/snoop/{MODULE}\n"
    assert "working folder: " in printed and folder in printed, printed
    assert "network refused" in printed, printed
    assert attacked["listener"].connections == 0


def test_other_submissions_and_tracked_files_are_untouched(attacked):
    printed = _printed(attacked, "vandal")
    # each write is refused, or lands in the sandbox's private /tmp (when the
    # repository itself lives under /tmp, as in a fresh clone there)
    wrote = [line for line in printed.splitlines() if "vandal wrote" in line]
    assert printed.count("vandal refused") + len(wrote) == 2, printed
    assert all(line.split()[-1].startswith("/tmp/") for line in wrote)
    before = attacked["before"]
    assert attacked["honest"].read_bytes() == before["honest"]
    assert _digest(TRACKED) == before["tracked"]
    assert _git_status() == before["git"]


def test_nothing_the_submission_started_outlives_its_grading(attacked):
    from nbgrader.api import Gradebook

    assert "daemon started" in _printed(attacked, "daemon")
    assert not attacked["marker"].exists()
    left = [
        p.info["pid"]
        for p in psutil.process_iter(["pid", "cmdline"])
        if TOKEN in " ".join(p.info["cmdline"] or [])
    ]
    assert left == []
    course, assignment = attacked["course"], attacked["assignment"]
    assert _digest(course.db_path) == attacked["gradebook"]
    with Gradebook(course.db_url, course.course_id) as gb:
        for student, result in attacked["results"].items():
            submission = gb.find_submission(assignment.slug, student)
            assert submission.score == result.score


def test_grading_refuses_without_bwrap_unless_told_to(
    attacked, monkeypatch, capsys
):
    """Runs last: regrades the honest student without the sandbox."""
    from tito.cli import main

    course, assignment = attacked["course"], attacked["assignment"]
    # the virtual environment's programs (nbgrader runs alembic), not bwrap
    without_bwrap = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", without_bwrap)
    command = [
        "nbgrader",
        "autograde",
        "--module",
        assignment.name,
        "--course",
        str(course.repo),
        "--student",
        "honest",
        "--timeout",
        str(CELL_TIMEOUT),
        "--quiet",
    ]
    assert main(command) == 2
    error = capsys.readouterr().err
    assert "bwrap" in error and "apt-get install bubblewrap" in error
    assert "--unsafe-no-sandbox" in error
    assert main([*command, "--unsafe-no-sandbox"]) == 0
    printed = capsys.readouterr().out
    full = attacked["results"]["honest"].max_score
    assert f"honest {MODULE} {full:g}/{full:g}" in " ".join(printed.split())
    assert os.environ["PATH"] == without_bwrap

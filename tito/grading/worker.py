"""A grading worker: `python -m tito.grading.worker REPO`, started by
tito/grading/autograde.py.

It imports nbgrader once, then autogrades one submission per line it reads
(JSON task) and answers one JSON line per task. Each task is a private nbgrader
course folder (its own copy of the gradebook), so workers never share a SQLite
file; the parent merges the grades into the real gradebook, one task at a time.

The kernels it starts inherit this process's environment (the parent built it:
no module sources on PYTHONPATH, the import guard on), and never its protocol
pipes: fds 0 and 1 are moved out of the way, so whatever a submission prints to
the process's stdout cannot be mistaken for an answer.

When the task carries sandbox settings, each kernel runs under bwrap
(tito/grading/sandbox.py), with a clean environment.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
from pathlib import Path


def _private_pipes():
    tasks = os.fdopen(os.dup(0), "r", encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(
        2,
        1,
        # stray prints of kernels go to the worker log (stderr), never to the
        # protocol
    )
    return tasks, answers


def grade(course, task: dict) -> dict:
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException

    from tito.grading import head_start
    from tito.grading.course import _coursedir

    log = logging.getLogger(
        f"tito.grading.worker.{task['student']}.{task['assignment']}"
    )
    log.handlers.clear()
    log.propagate = False
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(task["log"], mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    log.addHandler(handler)

    config = course.fresh_config()
    config.CourseDirectory.root = task["root"]
    config.CourseDirectory.db_url = f"sqlite:///{task['root']}/gradebook.db"
    config.CourseDirectory.assignment_id = task["assignment"]
    config.CourseDirectory.student_id = task["student"]
    if task.get("cell_timeout"):
        config.Execute.timeout = int(task["cell_timeout"])
        config.ExecutePreprocessor.timeout = int(task["cell_timeout"])
    # nothing of a graded kernel is kept: stop it (and its sandbox) at once
    # instead of waiting for it to exit cleanly
    config.NotebookClient.shutdown_kernel = "immediate"
    os.environ["TINYTORCH_GRADING_BLOCK"] = task["block"]
    if task.get("sandbox"):
        config.SandboxedExecution.sandbox = True
        for name, value in task["sandbox"].items():
            setattr(config.SandboxedKernelManager, name, value)
    started = time.monotonic()
    try:
        # the kernel starts while nbgrader prepares the notebook
        head_start.start(
            config, task["root"], task["student"], task["assignment"]
        )
        Autograde(
            coursedir=_coursedir(config, log),
            config=config,
            log=log,
            force=True,
        ).start()
        ok, error = True, None
    except NbGraderException as exc:
        ok, error = False, str(exc)
    except Exception as exc:  # one submission never stops the worker
        ok, error = False, f"{type(exc).__name__}: {exc}"
        log.error(traceback.format_exc())
    finally:
        head_start.discard()
        handler.close()
        log.removeHandler(handler)
    if not ok:
        error = _cause(task["log"]) or error
    return {
        "id": task["id"],
        "ok": ok,
        "error": error,
        "seconds": round(time.monotonic() - started, 3),
    }


_EXCEPTION_LINE = re.compile(
    r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*$"
)


def _cause(log_path: str) -> str | None:
    """The last exception line of nbgrader's traceback
    ("nbformat.reader.NotJSONError: ..."): nbgrader's own message only says
    "see the above traceback"."""
    try:
        lines = Path(log_path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    causes = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return causes[-1][:300] if causes else None


def main(repo: str) -> int:
    tasks, answers = _private_pipes()
    from tito.grading.course import Course

    course = Course(repo)
    _ = course.config  # load once
    answers.write(json.dumps({"ready": True}) + "\n")
    for line in tasks:
        if not line.strip():
            continue
        task = json.loads(line)
        answers.write(json.dumps(grade(course, task)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))

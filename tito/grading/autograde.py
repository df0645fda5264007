"""`tito nbgrader autograde`: grade many submissions in parallel with the real
nbgrader, safely.

nbgrader keeps grades in one SQLite gradebook, which parallel nbgrader
processes would fight over. Here every submission is graded in a private copy
of the course (its notebook, and a gradebook holding only the assignments) by a
worker process (tito/grading/worker.py); the parent alone writes the real
gradebook, merging one finished submission at a time. So:

- workers never share a database file, and the real gradebook has exactly
  one writer;
- a broken submission (syntax error, exception, sys.exit, a killed kernel, a
  cell looping past the per-cell timeout) is graded on what ran; a submission
  that hangs the whole worker past --submission-timeout is stopped, recorded
  with no autograde score (0, "needs review") and the batch goes on with a
  fresh worker;
- manual grades already in the gradebook are kept (as `nbgrader autograde`
  keeps them);
- each kernel runs in a sandbox (tito/grading/sandbox.py): it sees its own
  submission, the release files and the earlier modules' package files, never
  the course source, the gradebook or another submission, and nothing it
  starts outlives its grading.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from tito.grading import review
from tito.grading import sandbox as sandboxing
from tito.grading.course import (
    Assignment,
    Course,
    ensure_in_gradebook,
    stale_releases,
)

SUBMISSION_TABLES = (
    "grade",
    "comment",
    "submitted_notebook",
    "submitted_assignment",
    "student",
)


@dataclass
class Result:
    student: str
    assignment: str
    ok: bool
    seconds: float
    score: float | None = None
    max_score: float | None = None
    error: str | None = None
    log: Path | None = None
    grades: dict = field(default_factory=dict)  # grade cell -> auto score
    flags: list = field(default_factory=list)  # tampering: points withheld


# --- the parent's side -------------------------------------------------------


def skeleton_gradebook(course: Course, target: Path) -> None:
    """A copy of the gradebook with the assignments (cells, checksums, points)
    and no student data."""
    source, copy = sqlite3.connect(course.db_path), sqlite3.connect(target)
    try:
        source.backup(copy)
        for table in SUBMISSION_TABLES:
            copy.execute(f"DELETE FROM {table}")
        copy.commit()
    finally:
        source.close()
        copy.close()


@contextlib.contextmanager
def _quiet_sqlalchemy():
    """nbgrader's add_submission triggers harmless SQLAlchemy autoflush
    warnings; keep the output readable."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


def merge(
    course: Course,
    task_db: Path,
    assignment: Assignment,
    student: str,
    timestamp_known: bool,
) -> Result:
    """Copy one graded submission from a task's gradebook into the course
    gradebook."""
    from nbgrader.api import Gradebook

    with (
        _quiet_sqlalchemy(),
        Gradebook(f"sqlite:///{task_db}", course.course_id) as task_gb,
    ):
        graded = task_gb.find_submission(assignment.slug, student)
        timestamp = graded.timestamp if timestamp_known else None
        notebooks = {}
        for notebook in graded.notebooks:
            notebooks[notebook.name] = {
                "penalty": notebook.late_submission_penalty,
                "grades": {
                    g.name: (g.auto_score, g.needs_manual_grade)
                    for g in notebook.grades
                },
                "comments": {
                    c.name: c.auto_comment for c in notebook.comments
                },
            }
    with _quiet_sqlalchemy(), Gradebook(course.db_url, course.course_id) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(
            assignment.slug,
            student,
            **({"timestamp": timestamp} if timestamp_known else {}),
        )
        grades = {}
        for notebook in submission.notebooks:
            data = notebooks.get(notebook.name)
            if data is None:
                continue
            notebook.late_submission_penalty = data["penalty"]
            for grade in notebook.grades:
                auto, _ = data["grades"].get(grade.name, (None, True))
                grade.auto_score = auto
                grade.needs_manual_grade = (
                    grade.manual_score is not None or auto is None
                )
                grades[grade.name] = auto
            for comment in notebook.comments:
                comment.auto_comment = data["comments"].get(comment.name)
        gb.db.commit()
        return Result(
            student,
            assignment.slug,
            True,
            0.0,
            submission.score,
            submission.max_score,
            grades=grades,
        )


def record_failure(
    course: Course, assignment: Assignment, student: str
) -> tuple[float, float]:
    """A submission nbgrader could not grade: it is in the gradebook with no
    autograde score (counts 0, flagged for review), and no stale autograded
    notebook is left behind."""
    from nbgrader.api import Gradebook

    with _quiet_sqlalchemy(), Gradebook(course.db_url, course.course_id) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment.slug, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.manual_score is None:
                    grade.auto_score = None
                    grade.needs_manual_grade = True
        gb.db.commit()
        score, max_score = submission.score, submission.max_score
    stale = course.autograded / student / assignment.slug
    if stale.exists():
        shutil.rmtree(stale)
    return score, max_score


class Worker:
    """One `python -m tito.grading.worker` process, in its own session so it
    can be stopped with its kernels."""

    def __init__(self, course: Course, env: dict, log: Path):
        self.log_handle = open(log, "ab")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tito.grading.worker", str(course.repo)],
            cwd=course.repo,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log_handle,
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        self.ready = False

    def ask(self, task: dict | None, deadline: float) -> dict | None:
        """Send a task (or only wait for `ready`) and read the answer; None
        when the deadline passes."""
        if task is not None:
            self.process.stdin.write(json.dumps(task) + "\n")
            self.process.stdin.flush()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select(
                [self.process.stdout], [], [], remaining
            )
            if not readable:
                return None
            line = self.process.stdout.readline()
            if not line:  # the worker itself died
                return {
                    "ok": False,
                    "error": "the grading worker exited",
                    "dead": True,
                }
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue

    def stop(self) -> None:
        """Stop the worker and every process it started (kernels run in their
        own sessions)."""
        try:
            import psutil

            family = psutil.Process(self.process.pid).children(recursive=True)
        except Exception:
            family = []
        for process in family:
            try:
                process.kill()
            except Exception:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.log_handle.close()

    def close(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=30)
        except Exception:
            pass
        self.stop()


class Progress:
    def __init__(self, total: int, enabled: bool = True, stream=None):
        stream = (
            stream or sys.stderr
        )  # looked up now: sys.stderr may have been replaced since import
        self.total, self.done, self.enabled, self.stream = (
            total,
            0,
            enabled,
            stream,
        )
        self.tty = enabled and stream.isatty()
        self.started = time.monotonic()

    def update(self, result: Result) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "█" * filled + "·" * (width - filled)
        score = (
            "failed"
            if not result.ok
            else f"{result.score:g}/{result.max_score:g}"
        )
        text = (
            f"[{bar}] {self.done}/{self.total} "
            f"{time.monotonic() - self.started:5.0f} s  "
            f"{result.student} {result.assignment}: {score} "
            f"({result.seconds:.1f} s)"
        )
        if self.tty:
            self.stream.write(
                "\r\x1b[K" + text + ("\n" if self.done == self.total else "")
            )
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def autograde(
    course: Course,
    assignments: list[Assignment],
    students: list[str] | None = None,
    workers: int = 1,
    cell_timeout: int | None = None,
    submission_timeout: float | None = None,
    progress: bool = True,
    verbose: bool = False,
    sandbox: bool = True,
) -> list[Result]:
    """Autograde every submission of the given modules (of the given students),
    `workers` at a time. Without `sandbox` (--unsafe-no-sandbox) kernels run
    with the grader's rights."""
    bwrap = sandboxing.find_bwrap() if sandbox else None
    ensure_in_gradebook(course, assignments, verbose=verbose)
    for assignment in stale_releases(
        course,
        [
            a
            for a in assignments
            if a.release_notebook.is_file() and a.source_notebook.is_file()
        ],
    ):
        print(
            f"note: {assignment.slug} changed since its student notebook was "
            "generated; grading uses the tests "
            "recorded by the last `tito nbgrader generate --module "
            f"{assignment.name}`"
        )
    tasks = []
    for assignment in assignments:
        for student in course.students(assignment):
            if students and student not in students:
                continue
            tasks.append((assignment, student))
    if students:
        unknown = sorted(set(students) - {s for _, s in tasks})
        if unknown:
            print(
                "no submission in "
                f"{course.submitted.relative_to(course.repo)}/ for: "
                f"{', '.join(unknown)}"
            )
    if not tasks:
        print("nothing to autograde")
        return []
    cell_timeout = cell_timeout or course.cell_timeout
    if submission_timeout is None:
        # a last resort only: a looping cell is already stopped after
        # cell_timeout by the worker
        submission_timeout = max(600.0, 10.0 * cell_timeout)
    workers = max(1, min(workers, len(tasks)))
    (course.logs / "autograde").mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    bar = Progress(len(tasks), enabled=progress)
    with tempfile.TemporaryDirectory(prefix="tito-autograde-") as tmp:
        tmp = Path(tmp)
        skeleton = tmp / "skeleton.db"
        skeleton_gradebook(course, skeleton)
        sandboxes = {
            a.slug: _sandbox_settings(bwrap, tmp, a) if bwrap else None
            for a in assignments
        }
        todo: queue.Queue = queue.Queue()
        for number, (assignment, student) in enumerate(tasks):
            todo.put((number, assignment, student))
        done: queue.Queue = queue.Queue()
        env = course.grading_env(None)
        # parallelism comes from the workers: each kernel gets its share of the
        # cores for NumPy's BLAS threads, so that N workers do not run N x
        # cores threads (unless the instructor set them)
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for variable in (
            "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS",
        ):
            env.setdefault(variable, threads)
        batch = _Batch(
            course,
            env,
            tmp,
            skeleton,
            todo,
            done,
            cell_timeout,
            submission_timeout,
            sandboxes,
        )
        threads = [
            threading.Thread(target=_worker_loop, args=(batch, i), daemon=True)
            for i in range(workers)
        ]
        for thread in threads:
            thread.start()
        for _ in tasks:
            number, assignment, student, answer, task_dir, seconds = done.get()
            try:
                result = _finish(
                    course, assignment, student, answer, task_dir, seconds
                )
            # e.g. the gradebook is locked by another program: say so, go on
            except Exception as error:
                result = Result(
                    student,
                    assignment.slug,
                    False,
                    seconds,
                    error=f"recording the grades failed: {error}",
                )
            results.append(result)
            bar.update(result)
            if task_dir is not None:
                shutil.rmtree(task_dir, ignore_errors=True)
        for thread in threads:
            thread.join()
    return results


def _prepare(
    course: Course,
    tmp: Path,
    skeleton: Path,
    number: int,
    assignment: Assignment,
    student: str,
) -> Path:
    task_dir = tmp / f"task-{number:05d}"
    (task_dir / "submitted" / student).mkdir(parents=True)
    shutil.copytree(
        course.submitted / student / assignment.slug,
        task_dir / "submitted" / student / assignment.slug,
    )
    shutil.copy(skeleton, task_dir / "gradebook.db")
    # nbgrader copies a module's other files next to the submission: the
    # release files, not the course source (which holds the solutions)
    release = assignment.release_notebook.parent
    if release.is_dir():
        shutil.copytree(release, task_dir / "source" / assignment.slug)
    return task_dir


def _sandbox_settings(bwrap: str, tmp: Path, assignment: Assignment) -> dict:
    """What a worker needs to sandbox this module's kernels: bwrap, and a copy
    of the package holding the earlier modules only, mounted where the package
    lives."""
    home = sandboxing.package_home()
    copy = sandboxing.earlier_modules_only(
        home, tmp / f"package-{assignment.slug}" / home.name, assignment.number
    )
    return {"bwrap": bwrap, "package": str(copy), "package_home": str(home)}


@dataclasses.dataclass(frozen=True)
class _Batch:
    """What every worker thread of one `autograde` call shares."""

    course: Course
    env: dict
    tmp: Path  # the batch's scratch folder
    skeleton: Path  # the empty gradebook each task starts from
    todo: queue.Queue  # (number, assignment, student)
    done: queue.Queue  # what _finish needs, per submission
    cell_timeout: int
    submission_timeout: float
    sandboxes: dict  # module -> the worker's sandbox settings (or None)


def _worker_loop(batch: _Batch, index: int) -> None:
    """One thread per worker process: hand it submissions until none are left.
    Every submission taken from `todo` ends up in `done`, whatever happens, so
    the batch always finishes."""
    course, todo, done = batch.course, batch.todo, batch.done
    log_dir = course.logs / "autograde"
    worker = None
    while True:
        try:
            number, assignment, student = todo.get_nowait()
        except queue.Empty:
            break
        task_dir, seconds = None, 0.0
        try:
            if worker is None:
                log = log_dir / f"worker-{index}.log"
                worker = Worker(course, batch.env, log)
                if worker.ask(None, time.monotonic() + 120) is None:
                    raise RuntimeError(
                        "the grading worker did not start (see its log)"
                    )
            task_dir = _prepare(
                course, batch.tmp, batch.skeleton, number, assignment, student
            )
            task = {
                "id": number,
                "root": str(task_dir),
                "assignment": assignment.slug,
                "student": student,
                "log": str(log_dir / f"{assignment.slug}--{student}.log"),
                "cell_timeout": batch.cell_timeout,
                "block": ",".join(course.blocked_imports(assignment)),
                "sandbox": batch.sandboxes[assignment.slug],
            }
            started = time.monotonic()
            answer = worker.ask(task, started + batch.submission_timeout)
            seconds = time.monotonic() - started
            if answer is None:
                raise RuntimeError(
                    f"stopped after {batch.submission_timeout:.0f} s "
                    "(--submission-timeout)"
                )
            if answer.get("dead"):
                raise RuntimeError(answer["error"])
        # this submission fails; the worker is replaced; the batch goes on
        except Exception as error:
            answer = {"ok": False, "error": str(error)}
            if worker is not None:
                worker.stop()
                worker = None
        done.put((number, assignment, student, answer, task_dir, seconds))
    if worker is not None:
        worker.close()


def _finish(
    course: Course,
    assignment: Assignment,
    student: str,
    answer: dict,
    task_dir: Path | None,
    seconds: float,
) -> Result:
    log = course.logs / "autograde" / f"{assignment.slug}--{student}.log"
    graded = (
        task_dir / "autograded" / student / assignment.slug
        if task_dir
        else None
    )
    if answer.get("ok") and graded is not None and graded.is_dir():
        timestamp_known = (
            course.submitted / student / assignment.slug / "timestamp.txt"
        ).is_file()
        result = merge(
            course,
            task_dir / "gradebook.db",
            assignment,
            student,
            timestamp_known,
        )
        target = course.autograded / student / assignment.slug
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        # symlinks the kernel made stay links: their targets are never copied
        shutil.copytree(graded, target, symlinks=True)
        result.seconds, result.log = seconds, log
        result.flags = review.check(course, assignment, student, result)
        return result
    score, max_score = record_failure(course, assignment, student)
    return Result(
        student,
        assignment.slug,
        False,
        seconds,
        score,
        max_score,
        error=answer.get("error")
        or "nbgrader could not grade this submission",
        log=log,
    )


def print_summary(results: list[Result]) -> None:
    if not results:
        return
    print(f"\n{'student':<20} {'module':<16} {'score':>10} {'time':>7}  note")
    for r in sorted(results, key=lambda r: (r.assignment, r.student)):
        score = "-" if r.score is None else f"{r.score:g}/{r.max_score:g}"
        note = "" if r.ok else f"NOT GRADED: {r.error} (log: {r.log})"
        if r.flags:  # tito nbgrader review lists what was found
            note = f"FLAGGED FOR REVIEW: {r.flags[0]}"
        print(
            f"{r.student:<20} {r.assignment:<16} {score:>10} "
            f"{r.seconds:6.1f}s  {note}"
        )
    failed = [r for r in results if not r.ok]
    mean = sum(r.seconds for r in results) / len(results)
    print(
        f"\n{len(results) - len(failed)} graded, {len(failed)} could not be "
        "graded (recorded as 0, "
        f"flagged for review); {mean:.1f} s per submission"
    )

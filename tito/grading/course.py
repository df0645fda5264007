"""The course as an nbgrader course: where its files are, which modules a
command means, and the steps that do not need a class of students (generate,
validate, release, collect, feedback, export, status).

Autograding lives in tito/grading/autograde.py; the leak check in
tito/grading/leaks.py. Everything takes a `Course`, so the same code runs on
the repository and on a temporary copy of it (the tests' copies).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import filecmp
import json
import logging
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tito.grading.gradebook import ask_alembic_in_process
from tito.modules import ROOT

ask_alembic_in_process()
GUARD_DIR = Path(__file__).resolve().parent / "guard"
_FOLDER = re.compile(r"^(\d\d)_([a-z][a-z0-9_]*)$")


# --- the course on disk ------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """One module as an nbgrader assignment: `09_optimizers`, notebook
    `optimizers_dev`."""

    number: int
    name: str
    slug: str
    course: Course = field(repr=False, compare=False)

    @property
    def notebook_id(self) -> str:
        return f"{self.name}_dev"

    @property
    def source_py(self) -> Path:
        return self.course.source / self.slug / f"{self.notebook_id}.py"

    @property
    def source_notebook(self) -> Path:
        return self.course.source / self.slug / f"{self.notebook_id}.ipynb"

    @property
    def release_notebook(self) -> Path:
        return self.course.release / self.slug / f"{self.notebook_id}.ipynb"

    @property
    def package_module(self) -> str:
        """Where `tito export` puts the module's code:
        `#| default_exp core.optimizers` -> tinytorch.core.optimizers."""
        match = re.search(
            r"^#\|\s*default_exp\s+([\w.]+)\s*$",
            self.source_py.read_text(encoding="utf-8"),
            re.M,
        )
        return f"tinytorch.{match.group(1) if match else 'core.' + self.name}"

    def submitted_notebook(self, student: str) -> Path:
        return (
            self.course.submitted
            / student
            / self.slug
            / f"{self.notebook_id}.ipynb"
        )

    def autograded_notebook(self, student: str) -> Path:
        return (
            self.course.autograded
            / student
            / self.slug
            / f"{self.notebook_id}.ipynb"
        )

    def feedback_html(self, student: str) -> Path:
        return (
            self.course.feedback
            / student
            / self.slug
            / f"{self.notebook_id}.html"
        )


class Course:
    """A course folder: `nbgrader_config.py` at its top and the nbgrader course
    root (modules/) below it."""

    def __init__(self, repo: Path | str = ROOT):
        self.repo = Path(repo).resolve()
        if not (self.repo / "nbgrader_config.py").is_file():
            raise ValueError(
                f"{self.repo} has no nbgrader_config.py (run tito from the "
                "course repository)"
            )

    def __repr__(self):
        return f"Course({str(self.repo)!r})"

    @cached_property
    def config(self):
        """nbgrader_config.py, loaded as nbgrader loads it (a traitlets
        Config)."""
        from traitlets.config.loader import PyFileConfigLoader

        return PyFileConfigLoader(
            "nbgrader_config.py", path=str(self.repo)
        ).load_config()

    def fresh_config(self):
        return copy.deepcopy(self.config)

    @property
    def root(self) -> Path:
        return Path(self.config.CourseDirectory.root)

    def _dir(self, trait: str, default: str) -> Path:
        value = self.config.CourseDirectory.get(trait, default)
        return self.root / value

    source = property(lambda self: self._dir("source_directory", "source"))
    release = property(lambda self: self._dir("release_directory", "release"))
    submitted = property(
        lambda self: self._dir("submitted_directory", "submitted")
    )
    autograded = property(
        lambda self: self._dir("autograded_directory", "autograded")
    )
    feedback = property(
        lambda self: self._dir("feedback_directory", "feedback")
    )
    logs = property(lambda self: self.root / "logs")

    @property
    def db_url(self) -> str:
        return (
            self.config.CourseDirectory.get("db_url")
            or f"sqlite:///{self.root / 'gradebook.db'}"
        )

    @property
    def db_path(self) -> Path:
        return Path(self.db_url.removeprefix("sqlite:///"))

    @property
    def course_id(self) -> str:
        return self.config.CourseDirectory.get("course_id", "default_course")

    @property
    def cell_timeout(self) -> int:
        return int(
            self.config.Execute.get(
                "timeout", self.config.ExecutePreprocessor.get("timeout", 30)
            )
        )

    # modules
    # -------------------------------------------------------------------------
    def assignments(self) -> list[Assignment]:
        found = []
        for folder in (
            sorted(self.source.iterdir()) if self.source.is_dir() else []
        ):
            match = _FOLDER.match(folder.name)
            if match and (folder / f"{match.group(2)}_dev.py").is_file():
                found.append(
                    Assignment(
                        int(match.group(1)), match.group(2), folder.name, self
                    )
                )
        return found

    def find(self, name: str) -> Assignment:
        wanted = (
            name.strip()
            .lower()
            .removesuffix(".ipynb")
            .removesuffix(".py")
            .removesuffix("_dev")
        )
        for assignment in self.assignments():
            if wanted in (assignment.name, assignment.slug) or (
                wanted.isdigit() and int(wanted) == assignment.number
            ):
                return assignment
        valid = ", ".join(a.name for a in self.assignments())
        raise ValueError(
            f"unknown module {name!r}; --module takes one of: {valid} (or "
            "09_optimizers, or 9)"
        )

    def select(
        self,
        module: str | None = None,
        range_: str | None = None,
        all_: bool = False,
    ) -> list[Assignment]:
        """The modules named by --module NAME, --range 02-09 or --all."""
        if all_:
            return self.assignments()
        if range_:
            match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", range_)
            if not match:
                raise ValueError(
                    "--range takes FIRST-LAST module numbers, e.g. 02-09 "
                    f"(got {range_!r})"
                )
            first, last = sorted(int(n) for n in match.groups())
            chosen = [
                a for a in self.assignments() if first <= a.number <= last
            ]
            if not chosen:
                raise ValueError(
                    f"no module numbered {first:02d} to {last:02d}"
                )
            return chosen
        if module:
            return [
                self.find(part) for part in module.split(",") if part.strip()
            ]
        raise ValueError(
            "say which modules: --module NAME, --range 02-09 or --all"
        )

    def students(self, assignment: Assignment | None = None) -> list[str]:
        """Students with a submission (of `assignment`, when given), from
        modules/submitted/."""
        if not self.submitted.is_dir():
            return []
        return sorted(
            d.name
            for d in self.submitted.iterdir()
            if d.is_dir()
            and not d.name.startswith(".")
            and (assignment is None or (d / assignment.slug).is_dir())
        )

    # how nbgrader runs here
    # -------------------------------------------------------------------------
    def grading_env(
        self, assignment: Assignment | None = None, base: dict | None = None
    ) -> dict[str, str]:
        """The environment of a grading kernel: no module source folder on
        PYTHONPATH, and the import guard (tito/grading/guard) refusing the
        instructor's code for this module and the later ones: `optimizers_dev`
        (any `*_dev`) and `tinytorch.core.optimizers` would hand out the
        solution."""
        env = dict(os.environ if base is None else base)
        blocked_dirs = {
            self.source.resolve(),
            (ROOT / "modules").resolve(),
            self.root.resolve(),
        }
        kept = []
        for entry in env.get("PYTHONPATH", "").split(os.pathsep):
            if not entry:
                continue
            path = Path(entry).resolve()
            if (
                any(path == d or d in path.parents for d in blocked_dirs)
                or path == GUARD_DIR
            ):
                continue
            kept.append(entry)
        env["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR)] + kept)
        env["TINYTORCH_GRADING_BLOCK"] = ",".join(
            self.blocked_imports(assignment)
        )
        env["MPLBACKEND"] = "Agg"
        env.pop("NBGRADER_EXECUTION", None)
        return env

    def blocked_imports(self, assignment: Assignment | None) -> list[str]:
        """Module sources (`optimizers_dev`), and the package files of this
        module and the later ones."""
        names = [a.notebook_id for a in self.assignments()] + ["modules"]
        if assignment is not None:
            names += [
                a.package_module
                for a in self.assignments()
                if a.number >= assignment.number
            ]
        return names


# --- running nbgrader in this process ----------------------------------------


def nbgrader_logger(verbose: bool = False) -> logging.Logger:
    logger = logging.getLogger("tito.nbgrader")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("  nbgrader %(levelname)s: %(message)s")
        )
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.INFO if verbose else logging.ERROR)
    return logger


def _coursedir(config, log):
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=config, log=log)


class NbgraderFailed(ValueError):  # tito prints ValueErrors as a clean message
    pass


def run_converter(converter_class, config, log, **kwargs) -> None:
    from nbgrader.converters.base import NbGraderException

    converter = converter_class(
        coursedir=_coursedir(config, log), config=config, log=log, **kwargs
    )
    try:
        converter.start()
    except NbGraderException as error:
        raise NbgraderFailed(str(error)) from None


# --- generate ----------------------------------------------------------------


def check_paired(assignment: Assignment) -> str | None:
    """An error message when the paired notebook is missing or older than the
    .py (export not run)."""
    import jupytext
    import nbformat

    export = f"run `tito export --module {assignment.name}`"
    if not assignment.source_notebook.is_file():
        return f"{assignment.source_notebook.name} is missing: {export}"
    py_cells = [
        c.source
        for c in jupytext.read(assignment.source_py, fmt="py:percent").cells
    ]
    nb_cells = [
        c.source
        for c in nbformat.read(assignment.source_notebook, as_version=4).cells
    ]
    if py_cells != nb_cells:
        notebook = assignment.source_notebook.relative_to(
            assignment.course.repo
        )
        return (
            f"{notebook} does not match {assignment.source_py.name}: {export}"
        )
    return None


def generate(
    course: Course, assignments: list[Assignment], verbose: bool = False
) -> tuple[list[Path], list[str]]:
    """nbgrader generate_assignment for each module: release notebook +
    gradebook entry (tests, points). Returns (notebooks that changed,
    problems); a module with a problem is skipped, the others go on."""
    from nbgrader.converters import GenerateAssignment

    log = nbgrader_logger(verbose)
    written, problems = [], []
    for assignment in assignments:
        problem = check_paired(assignment)
        if problem:
            problems.append(f"{assignment.slug}: {problem}")
            continue
        config = course.fresh_config()
        config.CourseDirectory.assignment_id = assignment.slug
        before = (
            assignment.release_notebook.read_bytes()
            if assignment.release_notebook.is_file()
            else None
        )
        try:
            run_converter(GenerateAssignment, config, log, force=True)
        except NbgraderFailed as error:
            problems.append(
                f"{assignment.slug}: nbgrader generate_assignment failed "
                f"({error}); rerun with -v"
            )
            continue
        _clean_release_folder(assignment)
        if assignment.release_notebook.read_bytes() != before:
            written.append(assignment.release_notebook)
    return written, problems


def _clean_release_folder(assignment: Assignment) -> None:
    """Only the notebook belongs in the release folder (nbgrader copies other
    non-ignored files)."""
    folder = assignment.release_notebook.parent
    for path in folder.iterdir():
        if path != assignment.release_notebook:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def stale_releases(
    course: Course, assignments: list[Assignment]
) -> list[Assignment]:
    """Release notebooks that differ from what `generate` would write now
    (nothing is written)."""
    from nbgrader.converters import GenerateAssignment

    log = nbgrader_logger()
    stale = []
    with tempfile.TemporaryDirectory(prefix="tito-release-check-") as tmp:
        tmp = Path(tmp)
        (tmp / "source").mkdir()
        for assignment in assignments:
            (tmp / "source" / assignment.slug).mkdir()
            shutil.copy(
                assignment.source_notebook, tmp / "source" / assignment.slug
            )
            config = course.fresh_config()
            config.CourseDirectory.root = str(tmp)
            config.CourseDirectory.db_url = f"sqlite:///{tmp / 'gradebook.db'}"
            config.CourseDirectory.assignment_id = assignment.slug
            run_converter(GenerateAssignment, config, log, force=True)
            fresh = (
                tmp
                / "release"
                / assignment.slug
                / assignment.release_notebook.name
            )
            committed = assignment.release_notebook
            if not committed.is_file() or not filecmp.cmp(
                fresh, committed, shallow=False
            ):
                stale.append(assignment)
    return stale


def ensure_in_gradebook(
    course: Course, assignments: list[Assignment], verbose: bool = False
) -> list[Assignment]:
    """Autograding needs each module's tests in the gradebook; generate the
    ones that are missing."""
    missing = [a for a in assignments if not _in_gradebook(course, a)]
    if missing:
        print(
            f"recording {', '.join(a.slug for a in missing)} in the gradebook "
            "(tito nbgrader generate)"
        )
        _, problems = generate(course, missing, verbose=verbose)
        if problems:
            raise ValueError("; ".join(problems))
    return missing


def _in_gradebook(course: Course, assignment: Assignment) -> bool:
    from tito.grading.gradebook import check_gradebook

    if not course.db_path.is_file():
        return False
    check_gradebook(course.db_path)  # damaged: say how to recover
    with sqlite3.connect(course.db_path) as db:
        try:
            row = db.execute(
                "SELECT count(*) FROM notebook JOIN assignment ON "
                "notebook.assignment_id = assignment.id "
                "WHERE assignment.name = ? AND notebook.name = ?",
                (assignment.slug, assignment.notebook_id),
            ).fetchone()
        except sqlite3.OperationalError:
            return False
    return bool(row and row[0])


# --- release and collect (the exchange, or a folder) -------------------------


def exchange_config(course: Course, exchange: str | None):
    config = course.fresh_config()
    if exchange:
        Path(exchange).mkdir(parents=True, exist_ok=True)
        config.Exchange.root = str(Path(exchange).resolve())
    return config


def release_to_exchange(
    course: Course,
    assignments: list[Assignment],
    exchange: str | None,
    verbose=False,
) -> None:
    from nbgrader.exchange.abc.exchange import ExchangeError
    from nbgrader.exchange.default.release_assignment import (
        ExchangeReleaseAssignment,
    )

    log = nbgrader_logger(verbose)
    for assignment in assignments:
        if not assignment.release_notebook.is_file():
            raise ValueError(
                f"{assignment.slug} has no release notebook: "
                f"run `tito nbgrader generate --module {assignment.name}`"
            )
        config = exchange_config(course, exchange)
        config.CourseDirectory.assignment_id = assignment.slug
        coursedir = _coursedir(config, log)
        try:
            ExchangeReleaseAssignment(
                coursedir=coursedir, config=config, log=log, force=True
            ).start()
        except ExchangeError as error:
            raise NbgraderFailed(
                f"release of {assignment.slug} failed: {error}"
            ) from None
        print(f"released {assignment.slug} to the exchange")


def collect_from_exchange(
    course: Course,
    assignments: list[Assignment],
    exchange: str | None,
    verbose=False,
) -> None:
    from nbgrader.exchange.abc.exchange import ExchangeError
    from nbgrader.exchange.default.collect import ExchangeCollect

    log = nbgrader_logger(verbose)
    for assignment in assignments:
        config = exchange_config(course, exchange)
        config.CourseDirectory.assignment_id = assignment.slug
        try:
            ExchangeCollect(
                coursedir=_coursedir(config, log),
                config=config,
                log=log,
                update=True,
            ).start()
        except ExchangeError as error:
            raise NbgraderFailed(
                f"collect of {assignment.slug} failed: {error}"
            ) from None
        print(
            f"collected {assignment.slug}: {len(course.students(assignment))} "
            "submission(s) in "
            f"{course.submitted.relative_to(course.repo)}/"
        )


_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


def collect_from_folder(
    course: Course, assignment: Assignment, folder: Path
) -> list[str]:
    """Copy submissions from a folder into modules/submitted/STUDENT/NN_name/
    (with a timestamp.txt); returns the students whose submission was collected
    (new or newer).

    Accepted layouts: FOLDER/STUDENT/*.ipynb (one notebook per student;
    FOLDER/STUDENT/timestamp.txt gives its time when present) or
    FOLDER/STUDENT.ipynb (the file's modification time). A submission never
    replaces a newer one (the replaced older one is kept under
    modules/logs/collect/), and a notebook of another module is refused by
    name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--from {folder}: not a folder")
    collected = []
    for student, notebook in _newest_per_student(assignment, folder).items():
        if not _STUDENT_ID.match(student):
            print(
                f"skipped {notebook}: {student!r} is not a usable student id "
                "(letters, digits, _ . @ -)"
            )
        elif _refused_as_other_module(course, assignment, notebook):
            continue
        elif _keep_or_replace(course, assignment, student, notebook):
            collected.append(student)
    return collected


def _candidates(assignment: Assignment, folder: Path):
    """(student, notebook) of every submission in the folder."""
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            notebooks = sorted(
                p for p in path.glob("*.ipynb") if not p.name.startswith(".")
            )
            exact = [p for p in notebooks if p.stem == assignment.notebook_id]
            if exact or len(notebooks) == 1:
                yield path.name, (exact or notebooks)[0]
            elif notebooks:
                print(
                    f"skipped {path}: several notebooks and none named "
                    f"{assignment.notebook_id}.ipynb"
                )
        elif path.suffix == ".ipynb":
            yield path.stem, path


def _newest_per_student(
    assignment: Assignment, folder: Path
) -> dict[str, Path]:
    """One notebook per student: when a folder holds two (ada/ and ada.ipynb),
    the newer one."""
    from tito.grading.submissions import handed_in_at

    chosen: dict[str, Path] = {}
    for student, notebook in _candidates(assignment, folder):
        other = chosen.get(student)
        if other is not None:
            older, newer = sorted(
                (other, notebook), key=lambda p: (handed_in_at(p), str(p))
            )
            print(
                f"{student}: two submissions in {folder}; took the newer "
                f"{newer}, not {older}"
            )
            notebook = newer
        chosen[student] = notebook
    return chosen


def _refused_as_other_module(
    course: Course, assignment: Assignment, notebook: Path
) -> bool:
    from tito.grading.submissions import module_of

    found = module_of(notebook, course.assignments(), expected=assignment)
    if found is None or found == assignment:
        return False
    print(
        f"refused {notebook}: this is module {found.number:02d}'s notebook "
        f"({found.slug}, {found.notebook_id}.ipynb), not "
        f"{assignment.slug}'s: collect it with --module {found.name}"
    )
    return True


def _keep_or_replace(
    course: Course, assignment: Assignment, student: str, notebook: Path
) -> bool:
    """Collect `notebook` unless the student's collected submission is as new
    or newer; say which one is kept. A replaced submission is kept under
    modules/logs/collect/."""
    from tito.grading.submissions import handed_in_at, write_stamp

    target = assignment.submitted_notebook(student)
    incoming = handed_in_at(notebook)
    if target.is_file():
        held = handed_in_at(target)
        if held >= incoming:
            print(f"kept {student}'s collected submission of {_when(held)}")
            if held > incoming:
                print(f"    {notebook} is older ({_when(incoming)})")
            elif not filecmp.cmp(target, notebook, shallow=False):
                print(
                    f"    {notebook} has the same time: check which is right"
                )
            return False
        backup = (
            course.logs
            / "collect"
            / student
            / assignment.slug
            / f"{held:%Y%m%d-%H%M%S}-{target.name}"
        )
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, backup)
        print(
            f"replaced {student}'s submission of {_when(held)} by the newer "
            f"one of {_when(incoming)} "
            f"(the older one is kept in {backup})"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook, target)
    write_stamp(target.parent, incoming)
    return True


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


# --- feedback and export -----------------------------------------------------


@dataclass
class Withheld:
    """A feedback page that would show a hidden test: kept from the student,
    kept for the instructor."""

    student: str
    assignment: Assignment
    kept_at: Path  # under modules/logs/, which is never released
    leaks: list  # tito.grading.leaks.Leak

    def __str__(self) -> str:
        first = self.leaks[0]
        why = (
            f"{first.secret.kind} line of cell {first.secret.grade_id}"
            if first.secret
            else "a hidden-test marker"
        )
        if first.encoding:
            why += f", {first.encoding}-encoded"
        more = (
            f" (and {len(self.leaks) - 1} more)" if len(self.leaks) > 1 else ""
        )
        return (
            f"{self.student} {self.assignment.slug}: feedback withheld, its "
            f"page shows a {why} at line {first.line}{more}; the page is kept "
            f"for review in {self.kept_at}"
        )


@dataclass
class FeedbackRun:
    written: list[Path] = field(default_factory=list)  # pages students get
    withheld: list[Withheld] = field(default_factory=list)


def generate_feedback(
    course: Course,
    assignments: list[Assignment],
    students: list[str] | None = None,
    verbose: bool = False,
) -> FeedbackRun:
    """nbgrader generate_feedback, student by student (hidden tests stripped by
    tito.grading.plugins.HideHiddenTests); then each page is checked for hidden
    tests, encoded ones included. A page that leaks is moved out of
    modules/feedback/ (so no release sends it) and reported; the other
    students' pages are not held back by it."""
    from nbgrader.converters import GenerateFeedback

    from tito.grading import leaks

    log = nbgrader_logger(verbose)
    hidden = leaks.Finder(
        leaks.course_secrets(course.source), kinds=("hidden test",)
    )
    run = FeedbackRun()
    for assignment in assignments:
        graded = [
            s
            for s in (students or _autograded_students(course, assignment))
            if assignment.autograded_notebook(s).is_file()
        ]
        for student in graded:
            config = course.fresh_config()
            config.CourseDirectory.assignment_id = assignment.slug
            config.CourseDirectory.student_id = student
            run_converter(GenerateFeedback, config, log, force=True)
            page = assignment.feedback_html(student)
            found = leaks.scan_text_file(page, hidden)
            if found:
                run.withheld.append(
                    _withhold(course, assignment, student, found)
                )
            else:
                run.written.append(page)
    return run


def _withhold(
    course: Course, assignment: Assignment, student: str, found: list
) -> Withheld:
    page = assignment.feedback_html(student)
    kept = course.logs / "feedback-withheld" / student / assignment.slug
    kept.mkdir(parents=True, exist_ok=True)
    shutil.move(page, kept / page.name)
    # the whole folder goes: `feedback --release` sends every folder it finds
    shutil.rmtree(page.parent)
    moved = [
        dataclasses.replace(leak, path=kept / page.name) for leak in found
    ]
    return Withheld(student, assignment, kept / page.name, moved)


def feedback(
    course: Course,
    assignments: list[Assignment],
    students: list[str] | None = None,
    verbose: bool = False,
) -> list[Path]:
    """The feedback pages students get (see generate_feedback: a leaking page
    is withheld)."""
    return generate_feedback(course, assignments, students, verbose).written


def _autograded_students(course: Course, assignment: Assignment) -> list[str]:
    if not course.autograded.is_dir():
        return []
    return sorted(
        d.name
        for d in course.autograded.iterdir()
        if (d / assignment.slug).is_dir()
    )


def export_grades(
    course: Course, to: Path, assignments: list[Assignment] | None = None
) -> Path:
    """Grades CSV: one row per student per assignment (nbgrader's CSV export,
    quoted properly)."""
    from nbgrader.api import Gradebook

    from tito.grading.plugins import QuotedCsvExportPlugin

    plugin = QuotedCsvExportPlugin(
        to=str(to),
        config=course.config,
        assignment=[a.slug for a in assignments] if assignments else [],
    )
    to.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(course.db_url, course.course_id) as gradebook:
        plugin.export(gradebook)
    return to


def read_grades_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- status ------------------------------------------------------------------


def status(course: Course, assignments: list[Assignment]) -> dict:
    """Per module: released, submissions, autograded, feedback, mean score; per
    student: score per module."""
    from nbgrader.api import Gradebook

    modules, students = {}, {}
    scores: dict[tuple[str, str], tuple[float, float, bool]] = {}
    in_db = set()
    if course.db_path.is_file():
        with Gradebook(course.db_url, course.course_id) as gb:
            in_db = {a.name for a in gb.assignments}
            for assignment in assignments:
                if assignment.slug not in in_db:
                    continue
                for submission in gb.assignment_submissions(assignment.slug):
                    scores[(submission.student_id, assignment.slug)] = (
                        submission.score,
                        submission.max_score,
                        bool(submission.needs_manual_grade),
                    )
            all_students = [s.id for s in gb.students]
    else:
        all_students = []
    all_students = sorted(set(all_students) | set(course.students()))
    from tito.grading import review

    flags = review.flagged(course.root)
    for assignment in assignments:
        submitted = course.students(assignment)
        graded = [
            s for s in submitted if assignment.autograded_notebook(s).is_file()
        ]
        with_feedback = [
            s for s in submitted if assignment.feedback_html(s).is_file()
        ]
        got = [
            scores[(s, assignment.slug)]
            for s in submitted
            if (s, assignment.slug) in scores
        ]
        modules[assignment.slug] = {
            "released": assignment.release_notebook.is_file(),
            "in_gradebook": assignment.slug in in_db,
            "submitted": len(submitted),
            "autograded": len(graded),
            "feedback": len(with_feedback),
            "mean_score": (sum(g[0] for g in got) / len(got)) if got else None,
            "max_score": got[0][1] if got else None,
            "needs_review": sum(1 for g in got if g[2]),
            "flagged": sum(1 for key in flags if key[0] == assignment.slug),
        }
    for student in all_students:
        students[student] = {}
        for assignment in assignments:
            if (student, assignment.slug) in scores:
                score, max_score, needs_review = scores[
                    (student, assignment.slug)
                ]
                students[student][assignment.slug] = {
                    "score": score,
                    "max_score": max_score,
                    "needs_review": needs_review,
                    "flagged": flags.get((assignment.slug, student), []),
                }
            elif (course.submitted / student / assignment.slug).is_dir():
                students[student][assignment.slug] = {
                    "score": None,
                    "max_score": None,
                    "needs_review": False,
                }
    return {"modules": modules, "students": students}


def print_status(report: dict) -> None:
    modules = report["modules"]
    print(
        f"{'module':<16} {'release':>7} {'gradebook':>9} {'submitted':>9} "
        f"{'autograded':>10} {'feedback':>8} "
        f"{'mean score':>12} {'review':>6}"
    )
    for slug, row in modules.items():
        mean = (
            "-"
            if row["mean_score"] is None
            else f"{row['mean_score']:.1f}/{row['max_score']:g}"
        )
        print(
            f"{slug:<16} {'yes' if row['released'] else 'no':>7} "
            f"{'yes' if row['in_gradebook'] else 'no':>9} "
            f"{row['submitted']:>9} {row['autograded']:>10} "
            f"{row['feedback']:>8} {mean:>12} {row['needs_review']:>6}"
        )
    if not report["students"]:
        print(
            "\nno students yet (submissions go to "
            "modules/submitted/STUDENT/NN_name/)"
        )
        return
    slugs = list(modules)
    print("\n" + f"{'student':<20}" + "".join(f"{s:>16}" for s in slugs))
    for student, cells in report["students"].items():
        row = []
        for slug in slugs:
            cell = cells.get(slug)
            if cell is None:
                row.append("-")
            elif cell["score"] is None:
                row.append("submitted")
            else:
                row.append(
                    f"{cell['score']:g}/{cell['max_score']:g}"
                    + ("!" if cell.get("flagged") else "")
                    + ("*" if cell["needs_review"] else "")
                )
        print(f"{student:<20}" + "".join(f"{r:>16}" for r in row))
    print(
        "\n* needs review (autograding failed or a manual grade exists): see "
        "`tito nbgrader autograde` output"
    )
    if any(row.get("flagged") for row in modules.values()):
        print(
            "! flagged for review: signs of tampering, test cells earn "
            "nothing until cleared (`tito nbgrader review`)"
        )
        for student, cells in report["students"].items():
            for slug, cell in cells.items():
                if cell.get("flagged"):
                    print(f"  {student} {slug}: {cell['flagged'][0]}")


def dumps(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True)

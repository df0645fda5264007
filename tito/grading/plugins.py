"""nbgrader preprocessors of the course (named in nbgrader_config.py).

- StudentEdition: the student notebook's bootstrap cell makes `tinytorch`
  importable (installs it on Colab); no Jupytext pairing metadata.
- SurvivingExecute: nbgrader's Execute, except that a kernel killed by the
  submission (os.kill, os._exit, exit()) or one that ignores the timeout's
  interrupt does not abort the student's grading: that cell and every later
  code cell get an error output, so the notebook is graded on what ran and
  nothing after the crash earns points. Its kernel runs in a sandbox
  (tito/grading/sandbox.py) and skips the ungraded demonstrations
  (tito/grading/demonstrations.py).
- HideHiddenTests: feedback shows the test cells without their hidden part,
  and a traceback never quotes a hidden line (nbgrader 0.9 shows hidden tests
  in feedback by design).
- QuotedCsvExportPlugin: the grades CSV, properly quoted.
- UngradeExtraCells: a duplicated or extra test cell in a submission becomes
  an ordinary cell instead of stopping its grading (nbgrader 0.9 fails with
  KeyError: 'grade_id').
"""

from __future__ import annotations

import csv
import re

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from nbgrader.preprocessors import Execute
from traitlets import Bool

from tito.bootstrap import fill_bootstrap
from tito.grading import head_start
from tito.grading.demonstrations import SkipDemonstrations
from tito.grading.sandbox import SandboxedExecution

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class StudentEdition(Preprocessor):
    """Fill the `#| bootstrap` cell with the full install-if-missing cell, and
    drop the Jupytext pairing metadata: a student notebook is not paired with a
    .py (Jupyter would otherwise write one beside it)."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        fill_bootstrap(nb)
        nb.metadata.pop("jupytext", None)
        nb.metadata.pop("tito", None)  # what `tito export` made it from
        for cell in nb.cells:
            cell.metadata.pop("lines_to_next_cell", None)
        return nb, resources


def _error(ename: str, message: str) -> NotebookNode:
    return NotebookNode(
        output_type="error",
        ename=ename,
        evalue=message,
        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {message}"],
    )


class SurvivingExecute(SkipDemonstrations, SandboxedExecution, Execute):
    """Execute every cell; when the kernel dies or stops answering, mark the
    rest as not run instead of failing the whole notebook (nbgrader would then
    record no grade at all for the student). Its kernel runs in a sandbox when
    the grading worker turns it on, and skips the demonstrations."""

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_gone = False
        early = None
        if km is None:  # the worker may have started it already
            kernelspec = nb.metadata.get("kernelspec", {})
            early = head_start.take(kernelspec.get("name"))
        self._move_to = early.folder if early else None
        try:
            return super().preprocess(nb, resources, early and early.manager)
        finally:
            if early is not None and self.km is not None:
                # nbclient stops only the kernels it started itself
                self._cleanup_kernel()

    def preprocess_cell(self, cell, resources, index):
        if index == 0 and getattr(self, "_move_to", None) is not None:
            # started in the folder above the notebook's (head_start.py)
            where = str(self._move_to)
            self.run_silently(f"__import__('os').chdir({where!r})")
        if getattr(self, "_kernel_gone", False):
            if cell.cell_type == "code":
                cell.outputs = [
                    _error(
                        "KernelDied",
                        "not run: the kernel stopped in an earlier cell",
                    )
                ]
                cell.execution_count = None
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            reason = (
                "KernelDied",
                "the kernel died while running this cell "
                "(os.kill, os._exit, exit() or running out of memory)",
            )
        except CellTimeoutError:
            reason = (
                "CellTimeoutError",
                f"the cell ran past the {self.timeout} s limit and did not "
                "stop "
                "when interrupted",
            )
        self._kernel_gone = True
        self.shutdown_kernel = "immediate"
        self.log.warning(
            "Cell %d: %s; later cells are marked as not run", index, reason[1]
        )
        cell.outputs.append(_error(*reason))
        return cell, self.resources


def split_hidden(source: str) -> tuple[list[str], list[str]]:
    """A test cell's lines outside the hidden-test markers, and the stripped
    non-empty lines inside them."""
    visible, hidden, inside = [], [], False
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            inside = True
        elif HIDDEN_END in line:
            inside = False
        elif not inside:
            visible.append(line)
        elif line.strip():
            hidden.append(line.strip())
    return visible, hidden


def hidden_lines(source: str) -> list[str]:
    return split_hidden(source)[1]


def without_hidden_tests(source: str) -> str:
    return "\n".join(split_hidden(source)[0])


class HideHiddenTests(Preprocessor):
    """Strip hidden tests from test cells, and traceback frames that quote
    them, before feedback is made."""

    enabled = Bool(True)
    NOTE = "(this check is one of the hidden tests: its code is not shown)"

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or HIDDEN_BEGIN not in cell.source:
            return cell, resources
        secret = [line for line in hidden_lines(cell.source) if len(line) > 3]
        cell.source = without_hidden_tests(cell.source)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [
                    self.NOTE
                    if any(s in ANSI.sub("", entry) for s in secret)
                    else entry
                    for entry in output.traceback
                ]
                if any(s in output.evalue for s in secret):
                    output.evalue = self.NOTE
        return cell, resources


class QuotedCsvExportPlugin(ExportPlugin):
    """nbgrader's CSV export (one row per student per assignment; no submission
    scores 0), written with the csv module so that a name holding a comma or a
    quote cannot shift the columns."""

    KEYS = [
        "assignment",
        "duedate",
        "timestamp",
        "student_id",
        "last_name",
        "first_name",
        "email",
        "raw_score",
        "late_submission_penalty",
        "score",
        "max_score",
        "flagged_for_review",  # why its test cells earn nothing for now
    ]

    def export(self, gradebook):
        from nbgrader.coursedir import CourseDirectory

        from tito.grading import review

        root = CourseDirectory(config=self.config).root
        flags = review.flagged(root)
        assignments, students = (
            set(map(str, self.assignment)),
            set(map(str, self.student)),
        )
        with open(
            self.to or "grades.csv", "w", newline="", encoding="utf-8"
        ) as handle:
            writer = csv.writer(handle)
            writer.writerow(self.KEYS)
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    try:
                        submission = gradebook.find_submission(
                            assignment.name, student.id
                        )
                    except MissingEntry:
                        timestamp, raw, penalty = None, 0.0, 0.0
                    else:
                        timestamp, raw = submission.timestamp, submission.score
                        penalty = submission.late_submission_penalty
                    row = [
                        assignment.name,
                        assignment.duedate,
                        timestamp,
                        student.id,
                        student.last_name,
                        student.first_name,
                        student.email,
                        raw,
                        penalty,
                        max(0.0, raw - penalty),
                        assignment.max_score,
                        "; ".join(
                            flags.get((assignment.name, student.id), [])
                        ),
                    ]
                    writer.writerow(
                        ["" if value is None else value for value in row]
                    )


class UngradeExtraCells(Preprocessor):
    """Before nbgrader restores the test cells of a submission: a cell with
    grading metadata that the gradebook does not hold becomes an ordinary cell.

    Two cases stop nbgrader 0.9.6 with `KeyError: 'grade_id'` and leave the
    student without a grade: DeduplicateIds empties the metadata of every copy
    of a duplicated cell but the last (`nbgrader: {}`), and OverwriteCells
    deletes the id of a cell it does not know (a student's extra cell with
    copied metadata); its next step then reads the missing id. Runs after
    DeduplicateIds, before OverwriteCells: the kept copy is graded as usual,
    every other copy just runs."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        grading = resources["nbgrader"]
        with Gradebook(grading["db_url"]) as gradebook:
            known = {
                cell.name
                for cell in gradebook.find_notebook(
                    grading["notebook"], grading["assignment"]
                ).source_cells
            }
        for index, cell in enumerate(nb.cells):
            metadata = cell.metadata.get("nbgrader")
            if metadata is None:
                continue
            if metadata.get("grade_id") not in known:
                if metadata:  # an empty one is a copy DeduplicateIds reported
                    self.log.warning(
                        "Cell %d (%s) is not in the gradebook: not graded",
                        index,
                        metadata.get("grade_id"),
                    )
                del cell.metadata["nbgrader"]
        return nb, resources

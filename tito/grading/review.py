"""Submissions flagged for review: tampering found, points withheld.

The grader (never the kernel) keeps one record per flagged submission in
`modules/tamper-review.json`, next to the gradebook:

    {"09_optimizers": {"alice": {"findings": [...], "computed": {...},
                                  "notebook": "<sha256>", "cleared": null}}}

`computed` holds the points nbgrader gave each test cell, so clearing a
flag restores them without a regrade; the gradebook meanwhile holds 0 for
those cells (needs review). A regrade finding the same tampering in the
same notebook keeps the instructor's decision; anything new flags again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path

FILE = "tamper-review.json"


def _path(root: Path) -> Path:
    return Path(root) / FILE


def load(root: Path) -> dict:
    path = _path(root)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(
            f"{path} is damaged ({error}); delete it and run "
            "`tito nbgrader autograde` again to rebuild it"
        ) from None


def _save(root: Path, records: dict) -> None:
    """Write a temporary file and rename it into place: never half a file."""
    path = _path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(records, out, indent=1, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def flagged(root: Path) -> dict[tuple[str, str], list[str]]:
    """(module, student) -> findings, for every flag not cleared."""
    return {
        (slug, student): record["findings"]
        for slug, students in load(root).items()
        for student, record in students.items()
        if not record.get("cleared")
    }


def notebook_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check(course, assignment, student: str, result) -> list[str]:
    """Tamper evidence of a just autograded submission (both checks), then
    `settle`. Returns the findings that stand (empty: nothing withheld)."""
    import nbformat

    from tito.grading.tamper import findings

    released = assignment.release_notebook
    if not released.is_file():  # instructor lines are those of the source
        released = assignment.source_notebook
    found = findings(
        nbformat.read(assignment.autograded_notebook(student), as_version=4),
        nbformat.read(released, as_version=4),
    )
    return settle(course, assignment, student, found, result)


def settle(course, assignment, student: str, findings: list[str], result):
    """After autograding: record (or drop) the flag and, while it stands,
    withhold the test cells' points. Returns the findings that stand."""
    records = load(course.root)
    module = records.setdefault(assignment.slug, {})
    previous = module.pop(student, None)
    if previous is None and not findings:
        return []  # the usual case: nothing to record
    digest = notebook_digest(assignment.submitted_notebook(student))
    if findings:
        same = (
            previous is not None
            and previous.get("findings") == findings
            and previous.get("notebook") == digest
        )
        module[student] = {
            "findings": findings,
            "computed": result.grades,
            "notebook": digest,
            "flagged": dt.datetime.now(dt.timezone.utc).isoformat(),
            "cleared": previous.get("cleared") if same else None,
        }
    if not module:
        records.pop(assignment.slug)
    _save(course.root, records)
    standing = findings if findings and not module[student]["cleared"] else []
    if standing:
        result.score = _set_scores(course, assignment, student, None)
    return standing


def clear(course, assignment, student: str) -> float:
    """An instructor's decision: the submission is honest. Its test cells
    get back the points nbgrader computed; returns the restored score."""
    records = load(course.root)
    record = records.get(assignment.slug, {}).get(student)
    if record is None or record.get("cleared"):
        raise ValueError(
            f"{student} has no flag to clear in {assignment.slug} "
            "(see `tito nbgrader review`)"
        )
    score = _set_scores(course, assignment, student, record["computed"])
    record["cleared"] = dt.datetime.now(dt.timezone.utc).isoformat()
    _save(course.root, records)
    return score


def _set_scores(course, assignment, student, computed) -> float:
    """Withhold (computed=None: 0 and needs review) or restore the
    autograded points of the submission's test cells; manual grades stay."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        submission = gb.find_submission(assignment.slug, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell.cell_type != "code":
                    continue  # a written answer is graded by hand anyway
                if computed is None:
                    grade.auto_score, grade.needs_manual_grade = 0.0, True
                else:
                    grade.auto_score = computed.get(grade.name)
                    grade.needs_manual_grade = (
                        grade.manual_score is not None
                        or grade.auto_score is None
                    )
        gb.db.commit()
        return submission.score

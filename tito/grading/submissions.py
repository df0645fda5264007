"""What a handed-in notebook is: when it was handed in, and which module it
belongs to.

`collect --from FOLDER` uses both: a submission never replaces a newer one of
the same student, and a notebook of another module is refused by name instead
of being graded (and scoring zero) as this one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from nbgrader.utils import parse_utc

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's timestamp.txt


def handed_in_at(notebook: Path) -> dt.datetime:
    """When a submission was handed in (UTC): its folder's timestamp.txt, which
    nbgrader's exchange and `collect` write, or else the notebook file's
    modification time."""
    stamp = Path(notebook).parent / "timestamp.txt"
    if stamp.is_file():
        try:
            return _utc(parse_utc(stamp.read_text(encoding="utf-8").strip()))
        except (ValueError, OverflowError):
            pass  # unreadable: the file's own time is the next best thing
    return dt.datetime.fromtimestamp(
        Path(notebook).stat().st_mtime, dt.timezone.utc
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # parse_utc returns naive UTC times
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def write_stamp(folder: Path, moment: dt.datetime) -> None:
    (Path(folder) / "timestamp.txt").write_text(
        moment.strftime(STAMP_FORMAT), encoding="utf-8"
    )


def grade_ids(notebook: Path) -> set[str]:
    """The nbgrader cell ids of a notebook (empty when it is not a notebook at
    all)."""
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return set()
    return {
        cell["metadata"]["nbgrader"]["grade_id"]
        for cell in cells
        if isinstance(cell, dict)
        and isinstance(cell.get("metadata", {}).get("nbgrader"), dict)
        and "grade_id" in cell["metadata"]["nbgrader"]
    }


def module_of(notebook: Path, assignments: list, expected=None):
    """The assignment whose cells the notebook holds (most grade ids in common;
    a tie goes to `expected`), or by its file name when it holds no cell of any
    module (metadata stripped by another editor), or None."""
    ids = grade_ids(notebook)
    overlap = {
        a: len(ids & grade_ids(_reference_notebook(a))) for a in assignments
    }
    best = max(
        assignments, key=lambda a: (overlap[a], a == expected), default=None
    )
    if best is not None and overlap[best]:
        return best
    stem = Path(notebook).stem
    return next((a for a in assignments if a.notebook_id == stem), None)


def _reference_notebook(assignment) -> Path:
    """The student notebook when generated, else the instructor's (same cell
    ids)."""
    if assignment.release_notebook.is_file():
        return assignment.release_notebook
    return assignment.source_notebook

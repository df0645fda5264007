"""Module sources written in tests: short cell markers for nbgrader cells.

A test's toy module says `# %% solution: double` or
`# %% test: test-double, 2 points`; `with_nbgrader(text)` turns each into
the one-line nbgrader metadata a module source carries (too long to write
out in a test, and the same in every one of them).
"""

from __future__ import annotations

import json
import re

_MARKER = re.compile(
    r"^(?P<indent>\s*)# %% (?P<kind>solution|test): (?P<id>[\w-]+)"
    r"(?:, (?P<points>\d+) points?)?$",
    re.M,
)


def nbgrader_line(grade_id: str, points: int | None = None) -> str:
    """`# %% nbgrader={...}` of a solution cell, or of a test cell when it
    has points."""
    graded = points is not None
    meta = {
        "grade": graded,
        "grade_id": grade_id,
        "locked": graded,
        **({"points": points} if graded else {}),
        "schema_version": 3,
        "solution": not graded,
        "task": False,
    }
    return "# %% nbgrader=" + json.dumps(meta)


def with_nbgrader(text: str) -> str:
    def line(match):
        if match["kind"] == "solution":
            return match["indent"] + nbgrader_line(match["id"])
        points = int(match["points"] or 1)
        return match["indent"] + nbgrader_line(match["id"], points)

    return _MARKER.sub(line, text)

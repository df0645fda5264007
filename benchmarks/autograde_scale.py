"""How long does autograding a class take? A class of module-09 submissions,
graded by the real nbgrader through `tito nbgrader autograde`, with 1 and with
2 workers.

    # 30 students, workers 1 and 2
    python benchmarks/autograde_scale.py
    python benchmarks/autograde_scale.py --students 10 --workers 1 2 4
    # the sandbox's cost
    python benchmarks/autograde_scale.py --unsafe-no-sandbox
    # what skipping the demonstrations saves
    python benchmarks/autograde_scale.py --with-demonstrations

Each run grades a fresh temporary copy of the course (nothing is written in the
repository). The class is mostly right answers, some partly right, a few
untouched, as a real class is. Prints wall time, time per submission and the
speed-up over one worker.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "tests" / "support")
)

from module09_answers import CORRECT, WRONG  # noqa: E402
from nbgrader_support import (  # noqa: E402
    MODULE,
    course_copy,
    hand_in,
    read_release,
    submission,
)


def class_of(count: int) -> dict[str, dict]:
    """student -> answers: 80 % right, 13 % partly right, 7 % untouched."""
    partial = dict(
        CORRECT,
        **{name: WRONG[name][0].body for name in ("adam-step", "step-lr")},
    )
    students = {}
    for number in range(count):
        kind = number % 15
        students[f"student{number:03d}"] = (
            {} if kind == 14 else partial if kind in (12, 13) else CORRECT
        )
    return students


def run(
    students: int,
    workers: int,
    cell_timeout: int,
    sandbox: bool = True,
    demonstrations: bool = False,
) -> dict:
    from tito.grading.autograde import autograde
    from tito.grading.course import Course, generate

    with tempfile.TemporaryDirectory(prefix="tito-bench-") as tmp:
        course = Course(course_copy(Path(tmp) / "course"))
        if demonstrations:  # as before they were skipped when grading
            with open(course.repo / "nbgrader_config.py", "a") as config:
                config.write(
                    "c.SkipDemonstrations.skip_demonstrations = False\n"
                )
        assignment = course.find(MODULE)
        _, problems = generate(course, [assignment])
        if problems:
            raise SystemExit("; ".join(problems))
        release = read_release(assignment.release_notebook)
        for student, answers in class_of(students).items():
            hand_in(course.repo, student, submission(release, answers))
        started = time.monotonic()
        results = autograde(
            course,
            [assignment],
            workers=workers,
            cell_timeout=cell_timeout,
            progress=False,
            sandbox=sandbox,
        )
        wall = time.monotonic() - started
    failed = [r.student for r in results if not r.ok]
    return {
        "workers": workers,
        "wall": wall,
        "per_submission": wall / students,
        "worker_seconds": statistics.mean(r.seconds for r in results),
        "failed": failed,
        "scores": sorted({r.score for r in results}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--timeout", type=int, default=60, help="per-cell timeout (s)"
    )
    parser.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade without the bwrap sandbox",
    )
    parser.add_argument(
        "--with-demonstrations",
        action="store_true",
        help="run the ungraded demonstrations too",
    )
    args = parser.parse_args()
    import os

    print(
        f"autograding {args.students} submissions of {MODULE} on "
        f"{os.cpu_count()} CPU(s); "
        f"load average before: {os.getloadavg()[0]:.1f} (other work on the "
        "machine skews the figures)"
    )
    rows = []
    for workers in args.workers:
        row = run(
            args.students,
            workers,
            args.timeout,
            sandbox=not args.unsafe_no_sandbox,
            demonstrations=args.with_demonstrations,
        )
        rows.append(row)
        print(
            f"  workers={workers}: {row['wall']:.1f} s wall, "
            f"{row['per_submission']:.2f} s per submission "
            f"(each takes {row['worker_seconds']:.2f} s in its worker), "
            f"scores {row['scores']}, "
            f"not graded: {len(row['failed'])}; load average "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )
    base = rows[0]["wall"]
    print(
        "\n| workers | wall time | per submission | speed-up |"
        "\n| ---: | ---: | ---: | ---: |"
    )
    for row in rows:
        print(
            f"| {row['workers']} | {row['wall']:.1f} s "
            f"| {row['per_submission']:.2f} s "
            f"| {base / row['wall']:.2f}x |"
        )
    return 0 if not any(row["failed"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

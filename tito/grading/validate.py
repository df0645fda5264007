"""`tito nbgrader validate`: the instructor edition passes every test; the
student edition fails only on the stubbed exercises, each with
NotImplementedError, and so scores zero untouched.

Both notebooks run in a fresh kernel in an empty temporary folder, with the
grading environment (no module source on PYTHONPATH; the module's own package
file and `*_dev` not importable), with the per-cell timeout of
nbgrader_config.py, several notebooks at a time (--workers).

The instructor edition runs twice: in full, and as the grader runs it, without
the ungraded demonstrations; both runs must give every graded test cell the
same result.
"""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from tito.grading.course import (
    Assignment,
    Course,
    check_paired,
    stale_releases,
)
from tito.grading.leaks import course_secrets, scan_notebook

SLOW_FRACTION = (
    0.5  # warn when a cell takes this share of the per-cell timeout
)


@dataclass
class CellRun:
    index: int
    cell_id: str
    # "test" (graded), "solution", "locked" (nbgrader, ungraded) or "code"
    # (plain)
    kind: str
    points: float
    errors: list  # [(ename, evalue)]
    stderr: str
    seconds: float | None


@dataclass
class Run:
    path: str
    cells: list = field(default_factory=list)
    crash: str | None = None  # the kernel died / the run could not finish
    seconds: float = 0.0


def _kind(cell) -> tuple[str, float]:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution"):
        return "test", float(meta.get("points", 0))
    if meta.get("solution"):
        return "solution", float(meta.get("points", 0) or 0)
    if meta:
        return "locked", 0.0
    return "code", 0.0


def execute(
    notebook: str,
    env: dict,
    cell_timeout: int,
    skip_demonstrations: bool = False,
) -> Run:
    """Run a notebook (copied to an empty folder) with allow_errors; report
    every code cell. With `skip_demonstrations`, as the grader runs it
    (tito/grading/demonstrations.py)."""
    import nbclient
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from tito.grading.demonstrations import SkipDemonstrations

    started = time.monotonic()
    run = Run(notebook)
    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="tito-validate-") as folder:
        client_class = (
            SkipDemonstrations
            if skip_demonstrations
            else nbclient.NotebookClient
        )
        client = client_class(
            nb,
            timeout=cell_timeout,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            record_timing=True,
            resources={"metadata": {"path": folder}},
        )
        try:
            client.execute(env=env)
        except DeadKernelError:
            run.crash = "the kernel died"
        except CellTimeoutError as error:
            run.crash = (
                "a cell did not stop when interrupted after "
                f"{cell_timeout} s: {str(error)[:200]}"
            )
        except Exception as error:  # report, never hide
            run.crash = f"{type(error).__name__}: {error}"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        kind, points = _kind(cell)
        outputs = cell.get("outputs", [])
        errors = [
            (o.get("ename", ""), o.get("evalue", ""))
            for o in outputs
            if o.output_type == "error"
        ]
        stderr = "".join(
            o.get("text", "")
            for o in outputs
            if o.output_type == "stream" and o.get("name") == "stderr"
        )
        timing = cell.get("metadata", {}).get("execution", {})
        seconds = None
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            from dateutil.parser import isoparse

            ran = isoparse(timing["shell.execute_reply"]) - isoparse(
                timing["iopub.execute_input"]
            )
            seconds = ran.total_seconds()
        cell_id = (
            cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            or cell.get("id")
            or str(index)
        )
        run.cells.append(
            CellRun(index, cell_id, kind, points, errors, stderr, seconds)
        )
    run.seconds = time.monotonic() - started
    return run


def _quiet_kernels() -> None:
    """Kernels inherit fds 1 and 2 of the process that starts them; their
    start-up chatter is not ours."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


# --- checks ------------------------------------------------------------------


def static_problems(assignment: Assignment) -> list[str]:
    """Problems visible without running anything: pairing, nbgrader metadata,
    the bootstrap cell."""
    import jupytext

    problems = []
    paired = check_paired(assignment)
    if paired:
        problems.append(paired)
    cells = jupytext.read(assignment.source_py, fmt="py:percent").cells
    seen = set()
    for cell in cells:
        meta = cell.metadata.get("nbgrader")
        source = cell.source
        has_solution = "### BEGIN SOLUTION" in source
        has_hidden = "### BEGIN HIDDEN TESTS" in source
        if not meta:
            if has_solution or has_hidden:
                problems.append(
                    "a cell without nbgrader metadata holds "
                    "solution/hidden-test markers: "
                    f"{source.strip().splitlines()[0][:60]!r}"
                )
            continue
        grade_id = meta.get("grade_id", "?")
        if grade_id in seen:
            problems.append(f"grade_id {grade_id!r} is used twice")
        seen.add(grade_id)
        if (
            meta.get("solution")
            and cell.cell_type == "code"
            and not has_solution
        ):
            problems.append(
                f"solution cell {grade_id!r} has no ### BEGIN SOLUTION region "
                "(nbgrader would "
                "blank the whole cell)"
            )
        if has_solution and not meta.get("solution"):
            problems.append(
                f"cell {grade_id!r} holds a solution region but is not a "
                "solution cell"
            )
        if has_hidden and not meta.get("grade"):
            problems.append(
                f"cell {grade_id!r} holds hidden tests but is not a graded "
                "cell"
            )
        if meta.get("grade") and not float(meta.get("points", 0)) > 0:
            problems.append(f"graded cell {grade_id!r} has no points")
    code = [c for c in cells if c.cell_type == "code"]
    if not code or not code[0].source.lstrip().startswith("#| bootstrap"):
        problems.append(
            "the first code cell is not a `#| bootstrap` cell: the student "
            "notebook could not "
            "install tinytorch on Colab (copy the cell from "
            "modules/source/01_setup/setup_dev.py)"
        )
    if not any(c.metadata.get("nbgrader", {}).get("grade") for c in cells):
        problems.append(
            "no graded test cell: the assignment is worth 0 points"
        )
    return problems


def source_problems(
    run: Run, cell_timeout: int
) -> tuple[list[str], list[str]]:
    problems, warnings = [], []
    if run.crash:
        problems.append(run.crash)
    for cell in run.cells:
        for ename, evalue in cell.errors:
            problems.append(
                f"cell {cell.index} ({cell.cell_id}) raised {ename}: "
                f"{evalue[:160]}"
            )
        if cell.kind == "test" and cell.stderr.strip():
            problems.append(
                f"graded test cell {cell.cell_id} writes to stderr, which "
                "nbgrader scores as a "
                "failure (0 points for everyone): "
                f"{cell.stderr.strip()[:160]!r}"
            )
        if (
            cell.seconds is not None
            and cell.seconds > SLOW_FRACTION * cell_timeout
        ):
            warnings.append(
                f"cell {cell.index} ({cell.cell_id}) took {cell.seconds:.1f} "
                f"s of the {cell_timeout} s "
                "per-cell timeout"
            )
    return problems, warnings


def demonstration_problems(full: Run, graded: Run) -> list[str]:
    """Graded test cells whose result changes when the demonstrations are
    skipped (as when grading)."""
    if graded.crash and not full.crash:
        return [f"without the demonstrations (as graded): {graded.crash}"]
    results = {c.cell_id: c.errors for c in full.cells if c.kind == "test"}
    return [
        f"graded test cell {cell.cell_id} gives {_outcome(cell.errors)} when "
        f"graded (demonstrations skipped) but "
        f"{_outcome(results.get(cell.cell_id))} "
        'in a full run: it depends on code under `if __name__ == "__main__":` '
        "in an ungraded cell"
        for cell in graded.cells
        if cell.kind == "test" and cell.errors != results.get(cell.cell_id)
    ]


def _outcome(errors) -> str:
    if errors is None:
        return "no result"
    return ", ".join(ename for ename, _ in errors) or "a pass"


def release_problems(run: Run) -> list[str]:
    problems = []
    if run.crash:
        problems.append(run.crash)
    for cell in run.cells:
        names = {ename for ename, _ in cell.errors}
        if cell.kind == "test":
            if not cell.errors:
                problems.append(
                    f"graded test cell {cell.cell_id} passes on the untouched "
                    "student notebook: "
                    f"{cell.points:g} points for doing nothing"
                )
            elif names != {"NotImplementedError"}:
                problems.append(
                    f"graded test cell {cell.cell_id} fails with "
                    f"{', '.join(sorted(names))}, "
                    "not NotImplementedError: "
                    + "; ".join(f"{e}: {v[:120]}" for e, v in cell.errors)
                )
        elif cell.kind in ("solution", "locked"):
            # an exercise, or an ungraded check the instructor locked: only the
            # stub may make them fail
            if names - {"NotImplementedError"}:
                what = (
                    "exercise cell"
                    if cell.kind == "solution"
                    else "locked cell"
                )
                problems.append(
                    f"{what} {cell.cell_id} fails with "
                    f"{', '.join(sorted(names))} in the "
                    "student notebook: "
                    + "; ".join(f"{e}: {v[:120]}" for e, v in cell.errors)
                )
        elif cell.errors:
            hint = (
                " (wrap the use of the exercise in `with after_exercise(...)`)"
                if names == {"NotImplementedError"}
                else ""
            )
            problems.append(
                f"cell {cell.index} ({cell.cell_id}) fails in the student "
                f"notebook{hint}: "
                + "; ".join(f"{e}: {v[:120]}" for e, v in cell.errors)
            )
    return problems


def release_static_problems(assignment: Assignment, secrets) -> list[str]:
    from tito.bootstrap import TEMPLATE, repository

    problems = []
    notebook = json.loads(
        assignment.release_notebook.read_text(encoding="utf-8")
    )
    code = [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in notebook["cells"]
        if c["cell_type"] == "code"
    ]
    url, branch = repository()
    if not code or code[0] != TEMPLATE.format(url=url, branch=branch):
        problems.append(
            "the first code cell of the student notebook is not the filled "
            "bootstrap cell"
        )
    for leak in scan_notebook(assignment.release_notebook, secrets):
        problems.append(f"leak: {leak}")
    return problems


# --- the command -------------------------------------------------------------


@dataclass
class Report:
    assignment: str
    edition: str
    problems: list
    warnings: list
    seconds: float
    summary: str


def validate(
    course: Course,
    assignments: list[Assignment],
    workers: int = 2,
    cell_timeout: int | None = None,
    editions=("source", "release"),
) -> list[Report]:
    cell_timeout = cell_timeout or course.cell_timeout
    reports: list[Report] = []
    static = {a.slug: static_problems(a) for a in assignments}
    secrets = course_secrets(course.source)
    stale = {
        a.slug
        for a in stale_releases(
            course,
            [
                a
                for a in assignments
                if a.release_notebook.is_file() and a.source_notebook.is_file()
            ],
        )
    }
    jobs = {}
    with ProcessPoolExecutor(
        max_workers=max(1, workers), initializer=_quiet_kernels
    ) as pool:
        for assignment in assignments:
            env = course.grading_env(assignment)
            if "source" in editions and assignment.source_notebook.is_file():
                for skip, edition in ((False, "source"), (True, "graded")):
                    jobs[(assignment.slug, edition)] = pool.submit(
                        execute,
                        str(assignment.source_notebook),
                        env,
                        cell_timeout,
                        skip,
                    )
            if "release" in editions and assignment.release_notebook.is_file():
                jobs[(assignment.slug, "release")] = pool.submit(
                    execute,
                    str(assignment.release_notebook),
                    env,
                    cell_timeout,
                )
        for assignment in assignments:
            if "source" in editions:
                problems, warnings = list(static[assignment.slug]), []
                run = jobs.get((assignment.slug, "source"))
                summary = ""
                if run is not None:
                    run = run.result()
                    more, warnings = source_problems(run, cell_timeout)
                    problems += more
                    graded = jobs[(assignment.slug, "graded")].result()
                    problems += demonstration_problems(run, graded)
                    tests = [c for c in run.cells if c.kind == "test"]
                    summary = (
                        f"{len(run.cells)} code cells, {len(tests)} graded "
                        "test cells "
                        f"({sum(c.points for c in tests):g} points) pass; "
                        f"{graded.seconds:.1f} s without the demonstrations"
                    )
                reports.append(
                    Report(
                        assignment.slug,
                        "source",
                        problems,
                        warnings,
                        run.seconds if run else 0.0,
                        summary,
                    )
                )
            if "release" in editions:
                if not assignment.release_notebook.is_file():
                    reports.append(
                        Report(
                            assignment.slug,
                            "release",
                            [
                                "no student notebook: run `tito nbgrader "
                                f"generate --module {assignment.name}`"
                            ],
                            [],
                            0.0,
                            "",
                        )
                    )
                    continue
                problems = []
                if assignment.slug in stale:
                    release = assignment.release_notebook.relative_to(
                        course.repo
                    )
                    problems.append(
                        f"{release} is stale: run `tito nbgrader generate "
                        f"--module {assignment.name}`"
                    )
                problems += release_static_problems(assignment, secrets)
                run = jobs[(assignment.slug, "release")].result()
                problems += release_problems(run)
                tests = [c for c in run.cells if c.kind == "test"]
                summary = (
                    f"{len(tests)} graded test cells, each fails with "
                    "NotImplementedError "
                    f"(0/{sum(c.points for c in tests):g} points untouched)"
                )
                reports.append(
                    Report(
                        assignment.slug,
                        "release",
                        problems,
                        [],
                        run.seconds,
                        summary,
                    )
                )
    return reports


def print_reports(reports: list[Report]) -> bool:
    ok = True
    for report in reports:
        mark = "✅" if not report.problems else "❌"
        ok = ok and not report.problems
        head = (
            f"{mark} {report.assignment:<16} {report.edition:<8} "
            f"{report.seconds:6.1f} s"
        )
        print(
            f"{head}  {report.summary if not report.problems else ''}".rstrip()
        )
        for problem in report.problems:
            print(f"     - {problem}")
        for warning in report.warnings:
            print(f"     ! {warning}")
    return ok

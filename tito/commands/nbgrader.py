"""`tito nbgrader`: the instructor's workflow, thin wrappers over nbgrader
0.9.6.

generate   modules/source/NN/name_dev.ipynb
           -> modules/release/NN/name_dev.ipynb (+ the gradebook)
validate   the instructor notebook passes; the student notebook fails only
           on the stubbed exercises
leaks      no solution line or hidden test in anything students see
release    student notebooks -> nbgrader exchange (JupyterHub)
collect    submissions from the exchange, or from a folder
           -> modules/submitted/STUDENT/NN/
autograde  grade submissions, in parallel, surviving broken ones
feedback   HTML feedback per student (hidden tests not shown)
export     grades CSV: one row per student per module
status     per-module and per-student progress
review     submissions flagged for tampering; --clear restores their points
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tito.modules import ROOT

EPILOG = """\
the workflow (see book/instructor-guide.md):
  # student notebooks + gradebook (commit modules/release/)
  tito nbgrader generate --all
  # instructor notebook passes, student notebook fails only on stubs
  tito nbgrader validate --all
  # nothing students see holds a solution or a hidden test
  tito nbgrader leaks
  # JupyterHub: to the nbgrader exchange, and back (or --from FOLDER)
  tito nbgrader release --module 09
  tito nbgrader collect --module 09
  tito nbgrader autograde --module 09 --workers 4
  tito nbgrader feedback --module 09
  tito nbgrader export                    # modules/grades.csv
  tito nbgrader status
  tito nbgrader review --module 09        # flagged: signs of tampering
A module is named by --module NAME (optimizers, 09_optimizers or 9; several
with commas), --range 02-09, or --all. Each command takes --course DIR to work
on another copy of the course."""


def _add_selection(parser, required=True):
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(
        "--module",
        "-m",
        help="module: optimizers, 09_optimizers or 9 (several: 2,3,9)",
    )
    group.add_argument(
        "--range",
        dest="range_",
        metavar="FIRST-LAST",
        help="modules by number, e.g. 02-09",
    )
    group.add_argument(
        "--all", dest="all_", action="store_true", help="every module"
    )


def _add_common(parser):
    parser.add_argument(
        "--course",
        type=Path,
        default=ROOT,
        metavar="DIR",
        help="course folder holding nbgrader_config.py (default: this "
        "repository)",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="show nbgrader's own log"
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "nbgrader",
        help="instructor workflow: generate, validate, release, collect, "
        "autograde, feedback, export",
        description=__doc__.split("\n\n", 1)[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="nbgrader_command", metavar="STEP", required=True
    )

    p = commands.add_parser(
        "generate",
        help="make the student notebooks (modules/release/) and record the "
        "tests and points in the gradebook",
        description="nbgrader generate_assignment per module: solutions "
        "become "
        "`raise NotImplementedError()`, hidden tests are removed, the "
        "bootstrap "
        "cell is filled from _config.yml. Deterministic: running it twice "
        "changes nothing. Ends with the leak check of what it wrote.",
    )
    _add_selection(p)
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when a committed student notebook is "
        "stale (for CI)",
    )
    _add_common(p)
    p.set_defaults(func=_generate)

    p = commands.add_parser(
        "validate",
        help="instructor notebook passes all tests; student notebook fails "
        "only on the stubbed exercises (NotImplementedError)",
        description="Runs both editions of each module in fresh kernels, in "
        "the grading "
        "environment, with the per-cell timeout of nbgrader_config.py.",
    )
    _add_selection(p)
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="notebooks run at the same time (default 2)",
    )
    p.add_argument(
        "--timeout",
        type=int,
        help="per-cell timeout in seconds (default: nbgrader_config.py)",
    )
    p.add_argument(
        "--edition", choices=["source", "release", "both"], default="both"
    )
    _add_common(p)
    p.set_defaults(func=_validate)

    p = commands.add_parser(
        "leaks",
        help="scan student-facing files for solution lines and hidden tests",
        description="Secrets are the lines between the solution and "
        "hidden-test markers of "
        "the module sources (trivial lines and lines shown elsewhere "
        "excluded), found as whole lines, inside longer lines, and base64- "
        "or hex-encoded. Scans release notebooks, every book page (narrative "
        "ones too), READMEs and every other notebook outside "
        "modules/source; exit 1 on any finding.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files to scan instead of the default targets",
    )
    p.add_argument(
        "--html",
        type=Path,
        metavar="DIR",
        help="also scan every page of the built site (e.g. _build/html)",
    )
    _add_common(p)
    p.set_defaults(func=_leaks)

    p = commands.add_parser(
        "release",
        help="copy student notebooks to the nbgrader exchange (JupyterHub)",
    )
    _add_selection(p)
    p.add_argument(
        "--exchange",
        help="exchange folder (default: nbgrader's, /srv/nbgrader/exchange)",
    )
    _add_common(p)
    p.set_defaults(func=_release)

    p = commands.add_parser(
        "collect",
        help="collect submissions from the exchange, or from a folder",
        description="Into modules/submitted/STUDENT/NN_name/. With --from "
        "FOLDER, takes "
        "FOLDER/STUDENT/*.ipynb or FOLDER/STUDENT.ipynb (e.g. an LMS "
        "download): a submission never replaces a newer one "
        "(timestamp.txt or the file's time), and another module's notebook "
        "is refused by name.",
    )
    _add_selection(p)
    p.add_argument("--exchange", help="exchange folder (default: nbgrader's)")
    p.add_argument(
        "--from",
        dest="from_",
        type=Path,
        metavar="FOLDER",
        help="a folder of submissions",
    )
    _add_common(p)
    p.set_defaults(func=_collect)

    p = commands.add_parser(
        "autograde",
        help="grade submissions with nbgrader, in parallel, surviving "
        "broken, looping and tampered ones",
        description="Each submission is graded by a worker process in a "
        "private copy of "
        "the course; the gradebook is written by this process only. Test "
        "cells a student deleted or edited are restored from the gradebook. "
        "Each kernel runs in a bubblewrap sandbox: no course source, no "
        "gradebook, no other submission, no network, nothing left running. "
        "Ungraded demonstrations are not run.",
    )
    _add_selection(p)
    p.add_argument(
        "--student",
        "-s",
        action="append",
        help="only this student (repeat, or comma-separated)",
    )
    p.add_argument(
        "--workers",
        "-j",
        type=int,
        default=1,
        help="submissions graded at the same time",
    )
    p.add_argument(
        "--timeout",
        type=int,
        help="per-cell timeout in seconds (default: nbgrader_config.py)",
    )
    p.add_argument(
        "--submission-timeout",
        type=float,
        help="stop a submission whose grading takes longer (default max(600, "
        "10 x cell timeout))",
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar"
    )
    p.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade without the bwrap sandbox, where bubblewrap is missing: "
        "a submission can then read the course source and change grades",
    )
    _add_common(p)
    p.set_defaults(func=_autograde)

    p = commands.add_parser(
        "feedback",
        help="HTML feedback per student (hidden tests not shown)",
        description="A page that shows a hidden test (encoded ones too) is "
        "withheld for that student only, kept in "
        "modules/logs/feedback-withheld/, and reported; exit 1 when any is.",
    )
    _add_selection(p)
    p.add_argument(
        "--student", "-s", action="append", help="only this student"
    )
    p.add_argument(
        "--release",
        action="store_true",
        help="also release it to the exchange (JupyterHub)",
    )
    p.add_argument("--exchange", help="exchange folder (default: nbgrader's)")
    _add_common(p)
    p.set_defaults(func=_feedback)

    p = commands.add_parser(
        "export", help="grades CSV: one row per student per module"
    )
    _add_selection(p, required=False)
    p.add_argument(
        "--to", type=Path, help="CSV file (default: modules/grades.csv)"
    )
    _add_common(p)
    p.set_defaults(func=_export)

    p = commands.add_parser(
        "status", help="per-module and per-student progress"
    )
    _add_selection(p, required=False)
    p.add_argument("--json", action="store_true", help="machine-readable")
    _add_common(p)
    p.set_defaults(func=_status)

    p = commands.add_parser(
        "review",
        help="submissions flagged for tampering (points withheld); "
        "--clear STUDENT gives them back",
    )
    _add_selection(p, required=False)
    p.add_argument(
        "--clear",
        metavar="STUDENT",
        help="you reviewed the submission and found it honest: restore the "
        "points autograding computed (needs --module)",
    )
    _add_common(p)
    p.set_defaults(func=_review)


# --- commands ----------------------------------------------------------------


def _course(args, gradebook: bool = False):
    """The course; with `gradebook`, for a command that opens the gradebook,
    which is checked first (a damaged one gets a message that says how to
    recover, not an SQLite traceback)."""
    from tito.grading.course import Course
    from tito.grading.gradebook import check_gradebook

    course = Course(args.course)
    if gradebook:
        check_gradebook(course.db_path)
    return course


def _selection(course, args, default_all=False):
    if default_all and not (args.module or args.range_ or args.all_):
        return course.assignments()
    return course.select(args.module, args.range_, args.all_)


def _students(args):
    if not getattr(args, "student", None):
        return None
    return [
        s.strip()
        for item in args.student
        for s in item.split(",")
        if s.strip()
    ]


def _generate(args) -> int:
    from tito.grading import course as grading
    from tito.grading import leaks

    course = _course(args, gradebook=not args.check)
    assignments = _selection(course, args)
    if args.check:
        stale = grading.stale_releases(course, assignments)
        for assignment in stale:
            print(
                "stale: "
                f"{assignment.release_notebook.relative_to(course.repo)}"
            )
        print(
            "student notebooks are in sync"
            if not stale
            else "run `tito nbgrader generate --all` and commit"
        )
        return 1 if stale else 0
    from tito.learner import refuse_publishing

    refuse_publishing("student notebooks (modules/release)")
    started = time.monotonic()
    written, problems = grading.generate(
        course, assignments, verbose=args.verbose
    )
    for assignment in assignments:
        if assignment.release_notebook in written:
            print(
                "    wrote "
                f"{assignment.release_notebook.relative_to(course.repo)}"
            )
        elif not any(p.startswith(assignment.slug + ":") for p in problems):
            print(
                "unchanged "
                f"{assignment.release_notebook.relative_to(course.repo)}"
            )
    found = leaks.scan(
        [
            a.release_notebook
            for a in assignments
            if a.release_notebook.is_file()
        ],
        leaks.course_secrets(course.source),
    )
    for leak in found:
        print(f"LEAK {leak}")
    for problem in problems:
        print(f"FAILED {problem}")
    done = len(assignments) - len(problems)
    print(
        f"generated {done} of {len(assignments)} student notebook(s) in "
        f"{time.monotonic() - started:.1f} s; "
        f"gradebook: {course.db_path}"
    )
    return 1 if found or problems else 0


def _validate(args) -> int:
    from tito.grading.validate import print_reports, validate

    course = _course(args)
    editions = (
        ("source", "release") if args.edition == "both" else (args.edition,)
    )
    reports = validate(
        course,
        _selection(course, args),
        workers=args.workers,
        cell_timeout=args.timeout,
        editions=editions,
    )
    ok = print_reports(reports)
    print("\nall valid" if ok else "\nvalidation failed")
    return 0 if ok else 1


def _leaks(args) -> int:
    from tito.grading import leaks

    course = _course(args)
    targets = list(args.paths) or leaks.default_targets(
        course.repo, course.source
    )
    if args.html:
        if not Path(args.html).is_dir():
            raise ValueError(
                f"--html {args.html}: not a folder (build the site first: "
                "`tito book build`, then --html _build/html)"
            )
        targets += leaks.built_pages(args.html)
    secrets = leaks.course_secrets(course.source)  # read once: it is slow
    scanned, found = targets, leaks.scan(targets, secrets)
    for leak in found:
        print(f"LEAK {leak}")
    print(
        f"scanned {len(scanned)} file(s) for {len(secrets)} secret lines: "
        + ("nothing leaks" if not found else f"{len(found)} leak(s)")
    )
    return 1 if found else 0


def _release(args) -> int:
    from tito.grading import course as grading
    from tito.grading import leaks

    course = _course(args)
    assignments = _selection(course, args)
    found = leaks.scan(
        [
            a.release_notebook
            for a in assignments
            if a.release_notebook.is_file()
        ],
        leaks.course_secrets(course.source),
    )
    if found:
        for leak in found:
            print(f"LEAK {leak}")
        print("not released: fix the leaks first")
        return 1
    grading.release_to_exchange(
        course, assignments, args.exchange, verbose=args.verbose
    )
    return 0


def _collect(args) -> int:
    from tito.grading import course as grading

    course = _course(args, gradebook=True)
    assignments = _selection(course, args)
    if args.from_:
        if len(assignments) != 1:
            raise ValueError(
                "--from collects one module at a time: give --module NAME"
            )
        students = grading.collect_from_folder(
            course, assignments[0], args.from_
        )
        print(
            f"collected {len(students)} submission(s) of "
            f"{assignments[0].slug}: {', '.join(students)}"
        )
        return 0
    grading.collect_from_exchange(
        course, assignments, args.exchange, verbose=args.verbose
    )
    return 0


def _autograde(args) -> int:
    from tito.grading.autograde import autograde, print_summary

    course = _course(args, gradebook=True)
    if args.unsafe_no_sandbox:
        print(
            "warning: grading without a sandbox (--unsafe-no-sandbox): the "
            "submissions' code runs with your rights",
            file=sys.stderr,
        )
    results = autograde(
        course,
        _selection(course, args),
        students=_students(args),
        workers=args.workers,
        cell_timeout=args.timeout,
        submission_timeout=args.submission_timeout,
        progress=not args.quiet,
        verbose=args.verbose,
        sandbox=not args.unsafe_no_sandbox,
    )
    print_summary(results)
    return 0


def _feedback(args) -> int:
    from tito.grading import course as grading

    course = _course(args, gradebook=True)
    assignments = _selection(course, args)
    run = grading.generate_feedback(
        course, assignments, _students(args), verbose=args.verbose
    )
    for withheld in run.withheld:
        print(f"WITHHELD {withheld}")
        for leak in withheld.leaks:
            print(f"    LEAK {leak}")
    print(
        f"wrote {len(run.written)} feedback page(s) in "
        f"{course.feedback.relative_to(course.repo)}/"
        + (f"; withheld {len(run.withheld)}" if run.withheld else "")
    )
    if args.release:
        from nbgrader.exchange.default.release_feedback import (
            ExchangeReleaseFeedback,
        )

        log = grading.nbgrader_logger(args.verbose)
        for assignment in assignments:
            pages = sorted(course.feedback.glob(f"*/{assignment.slug}/*.html"))
            # feedback goes back through the exchange only to submissions that
            # came through it
            local = [
                p.parent.parent.name
                for p in pages
                if not (p.parent / "submission_secret.txt").is_file()
            ]
            if local:
                print(
                    f"{assignment.slug}: not through the exchange (collected "
                    f"from a folder): {', '.join(local)}"
                )
            if len(local) == len(pages):
                continue
            config = grading.exchange_config(course, args.exchange)
            config.CourseDirectory.assignment_id = assignment.slug
            config.CourseDirectory.student_id_exclude = ",".join(local)
            ExchangeReleaseFeedback(
                coursedir=grading._coursedir(config, log),
                config=config,
                log=log,
            ).start()
            print(f"{assignment.slug}: feedback released to the exchange")
    return 1 if run.withheld else 0


def _export(args) -> int:
    from tito.grading import course as grading

    course = _course(args, gradebook=True)
    selected = (
        _selection(course, args)
        if (args.module or args.range_ or args.all_)
        else None
    )
    to = args.to or course.root / "grades.csv"
    grading.export_grades(course, to, selected)
    rows = grading.read_grades_csv(to)
    print(f"wrote {to} ({len(rows)} rows: one per student per module)")
    return 0


def _status(args) -> int:
    from tito.grading import course as grading

    course = _course(args, gradebook=True)
    report = grading.status(course, _selection(course, args, default_all=True))
    if args.json:
        print(grading.dumps(report))
    else:
        grading.print_status(report)
    return 0


def _review(args) -> int:
    from tito.grading import review

    course = _course(args)
    if args.clear:
        if not args.module:
            raise ValueError("--clear STUDENT needs --module NAME")
        for assignment in _selection(course, args):
            score = review.clear(course, assignment, args.clear)
            print(
                f"{args.clear} {assignment.slug}: cleared, score {score:g} "
                "(the points autograding computed)"
            )
        return 0
    slugs = {a.slug for a in _selection(course, args, default_all=True)}
    flags = review.flagged(course.root)
    shown = {key: found for key, found in flags.items() if key[0] in slugs}
    for (slug, student), found in sorted(shown.items()):
        print(f"{student} {slug}: flagged for review (test cells earn 0)")
        for finding in found:
            print(f"  - {finding}")
    print(
        f"{len(shown)} submission(s) flagged"
        + (
            "; after reading the notebook, clear an honest one with "
            "`tito nbgrader review --clear STUDENT --module NAME`"
            if shown
            else ""
        )
    )
    return 0


if __name__ == "__main__":  # python -m tito.commands.nbgrader ...
    from tito.cli import main

    sys.exit(main(["nbgrader", *sys.argv[1:]]))

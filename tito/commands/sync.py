"""`tito sync`: the one command that regenerates every generated file, in
dependency order.

module source (.py) -> paired notebook + tinytorch/ -> release notebook
(nbgrader) -> book page. With --check nothing is written and the exit status
says whether everything is in sync (CI runs this). Sync also records each
source's SHA-256 in modules/source/SHA256SUMS: the reference that
`tito module start` checks before it turns a module into a learner's edition.

A maintainer's command: in a learner's checkout (a module started with
`tito module start`) it refuses, so a student edition never becomes release
notebooks, book pages or the reference record.
"""

from __future__ import annotations

import subprocess
import sys

from tito import learner
from tito.modules import ROOT, all_modules

STEPS = [
    ("paired notebooks and the tinytorch package", ["export", "--all"]),
    ("student notebooks (modules/release)", ["nbgrader", "generate", "--all"]),
    ("book module pages (book/modules)", ["book", "pages"]),
]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="regenerate every generated file from the module sources",
        description="Runs, in order: "
        + "; ".join(f"tito {' '.join(cmd)} ({what})" for what, cmd in STEPS),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when any file is stale",
    )
    parser.set_defaults(func=_command)


def _command(args) -> int:
    learner.refuse_publishing(
        "release notebooks, book pages and modules/source/SHA256SUMS"
    )
    failed = []
    print(f"— reference record: {learner.MANIFEST.relative_to(ROOT)}")
    wanted = learner.manifest_text(all_modules())
    recorded = (
        learner.MANIFEST.read_text(encoding="utf-8")
        if learner.MANIFEST.is_file()
        else None
    )
    if recorded != wanted:
        if args.check:
            print(f"stale: {learner.MANIFEST.relative_to(ROOT)}")
            failed.append("reference record")
        else:
            learner.MANIFEST.write_text(wanted, encoding="utf-8")
    for what, command in STEPS:
        print(
            f"— {what}: tito "
            f"{' '.join(command)}{' --check' if args.check else ''}",
            flush=True,
        )
        code = subprocess.run(
            [
                sys.executable,
                "-m",
                "tito",
                *command,
                *(["--check"] if args.check else []),
            ],
            cwd=ROOT,
        ).returncode
        if code:
            failed.append(what)
            if not args.check:  # later steps read what this one writes
                break
    if failed:
        print(
            f"out of sync: {', '.join(failed)}"
            if args.check
            else f"failed: {failed[0]}",
            file=sys.stderr,
        )
        return 1
    print(
        "everything generated is in sync"
        if args.check
        else "regenerated everything"
    )
    return 0

"""`tito module`: a learner's own edition of a module (start, reset, status).

The logic lives in tito/learner.py; this file is its command-line face.
"""

from __future__ import annotations

from tito import learner
from tito.modules import find_module

EPILOG = """\
the learner's workflow (README, "Work through a module locally"):
  tito module start optimizers      # your edition: exercises become stubs
  $EDITOR modules/source/09_optimizers/optimizers_dev.py   # or the notebook
  tito export --module optimizers && tito test --module optimizers
  tito module status                # where you are, what later modules need
  tito module reset optimizers      # the reference back (your files kept)
"""


def register(subparsers) -> None:
    import argparse

    parser = subparsers.add_parser(
        "module",
        help="work on a module as a learner: start, reset, status",
        description="A fresh checkout holds the reference solutions.\n"
        "  start   turns a module into your edition: the exercises become\n"
        "          stubs, hidden tests go (refuses on a module you edited)\n"
        "  reset   brings the reference back (keeps your files as .bak-*)\n"
        "  status  every module: not started, in progress, passing",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    for name, help_text, func in (
        ("start", "turn a module into your edition (stubs)", _start),
        ("reset", "bring the reference solution back", _reset),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument(
            "name", help="module name: optimizers, 09_optimizers or 9"
        )
        action.set_defaults(func=func)
    status = actions.add_parser("status", help="progress of every module")
    status.set_defaults(func=_status)


def _start(args) -> int:
    print("\n".join(learner.start(find_module(args.name))))
    return 0


def _reset(args) -> int:
    print("\n".join(learner.reset(find_module(args.name))))
    return 0


def _status(args) -> int:
    print("\n".join(learner.status_lines()))
    return 0

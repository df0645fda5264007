"""The command-line faces of tito: each module registers one command."""


def module_or_all(parser, all_help: str) -> None:
    """`--module NAME` or `--all`: which modules a command works on."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--module", "-m", help="module name: optimizers, 09_optimizers or 9"
    )
    target.add_argument("--all", action="store_true", help=all_help)

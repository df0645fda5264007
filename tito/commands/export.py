"""`tito export`: the command-line face of tito.export."""

from __future__ import annotations

from tito import export
from tito.commands import module_or_all
from tito.modules import ROOT, all_modules, find_module


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="module source -> paired notebook and tinytorch/ package file",
        description="Regenerates the paired .ipynb and the tinytorch/core "
        "file "
        "of a module from its _dev.py. A notebook edited in Jupyter (and a "
        ".py that was not) is first synced into the .py; when both were "
        "edited, or a generated file was edited by hand, export refuses and "
        "names the files to reconcile. Edits are told by content.",
    )
    module_or_all(parser, "every module")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files that are stale",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite generated files edited by hand, after saving a "
        ".bak-<time> copy",
    )
    parser.set_defaults(func=_command)


def _command(args) -> int:
    modules = all_modules() if args.all else [find_module(args.module)]
    if args.check:
        return _check(export.planned_outputs(modules))
    for module in modules:
        if export.sync_notebook_into_source(module):
            print(
                f"synced your notebook edits into "
                f"{module.source.relative_to(ROOT)}"
            )
    outputs = export.planned_outputs(modules)
    written = export.write(outputs, force=args.force)
    for module in modules:
        export.remember_export(module)
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")
    print(
        f"exported {', '.join(m.name for m in modules)}: "
        f"{len(written)} file(s) changed"
    )
    return 0


def _check(outputs) -> int:
    stale = [o for o in outputs if o.stale]
    for output in stale:
        print(f"stale: {output.path.relative_to(ROOT)}")
    print(
        "export is in sync"
        if not stale
        else "run `tito export --all` and commit the result"
    )
    return 1 if stale else 0

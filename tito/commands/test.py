"""`tito test`: a module's own inline tests, then the package tests that name
it.

In a learner's checkout (`tito module start NAME`) this tests the learner's
code: the module's visible test cells run on their .py, and the package tests
import what `tito export` built from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tito.commands import module_or_all
from tito.modules import ROOT, Module


def module_env() -> dict[str, str]:
    """The environment a learner has after activation: module folders
    importable, plots off-screen."""
    from tito.modules import all_modules

    env = dict(os.environ, MPLBACKEND="Agg")
    paths = [str(m.folder) for m in all_modules()] + [str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(
        paths + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    return env


def run_module_tests(module: Module, summary: Path | None = None) -> bool:
    """The module's test cells; the per-exercise lines go to `summary`."""
    print(
        f"🧪 {module.slug}: inline tests of {module.source.relative_to(ROOT)}"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tito.run_module_tests",
            str(module.source),
            f"{module.name}_dev",
            *([str(summary)] if summary else []),
        ],
        cwd=ROOT,
        env=module_env(),
    )
    return result.returncode == 0


def package_is_stale(module: Module) -> bool:
    """The package file was not exported from the module's current source."""
    from tito import export

    try:
        return export.outputs_for(module)[1].stale
    except export.ExportError:
        return True


PACKAGE_TEST_AREAS = ("package", "optimizers")


def run_package_tests(module: Module, extra: list[str] = ()) -> bool:
    print(
        f"\n🧪 {module.slug}: package tests (pytest tests/ -k {module.name})"
    )
    # the package's own tests; the site, tooling and grading tests check the
    # reference course, not a learner's edition
    areas = [str(ROOT / "tests" / area) for area in PACKAGE_TEST_AREAS]
    command = [
        sys.executable,
        "-m",
        "pytest",
        *areas,
        "-k",
        module.name,
        "-m",
        "not browser and not nbgrader",
        "-q",
        "-p",
        "no:cacheprovider",
        *extra,
    ]
    code = subprocess.run(command, cwd=ROOT, env=module_env()).returncode
    if code == 5:
        print(f"(no package tests name {module.name!r})")
        return True
    return code == 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "test",
        help="run a module's inline tests and its package tests (in a module "
        "you started: your code)",
        description="Runs the test functions of the module source, then "
        "`pytest tests/ -k NAME`, and ends with one line per exercise (not "
        "implemented yet, the failing test's message, or passing). In a "
        "module started with `tito module start` it tests your code: your "
        ".py and what `tito export` built from it. Exits non-zero when any "
        "test fails.",
    )
    module_or_all(parser, "every module, in course order")
    parser.add_argument(
        "--inline-only", action="store_true", help="skip the package tests"
    )
    parser.set_defaults(func=_command)


def _command(args) -> int:
    from tito import learner
    from tito.modules import all_modules, find_module

    modules = all_modules() if args.all else [find_module(args.module)]
    results = {}
    for module in modules:
        mine = learner.started(module) is not None
        if mine and package_is_stale(module):
            print(
                "⚠️  tinytorch/ does not hold your current "
                f"{module.source.name}"
                f": the package tests below test your last export. Run "
                f"`tito export --module {module.name}` first."
            )
        with tempfile.TemporaryDirectory() as folder:
            summary = Path(folder) / "exercises.txt"
            ok = run_module_tests(module, summary)
            if not args.inline_only:
                # a learner reads one line per failure; maintainers get
                # tracebacks
                extra = ["--tb=line"] if mine else []
                ok = run_package_tests(module, extra) and ok
                # the exercises again, last, where the learner looks
                if summary.is_file() and summary.read_text().strip():
                    print(f"\nexercises of {module.slug} (its test cells):")
                    print(summary.read_text())
        results[module.slug] = ok
        if mine:
            learner.record_test(module, ok)
    print(
        "\n"
        + "\n".join(
            f"{'✅' if ok else '❌'} {slug}" for slug, ok in results.items()
        )
    )
    return 0 if all(results.values()) else 1

"""`tito doctor`: check the environment and say exactly what to do about
anything that is wrong."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import shutil
import sys
from pathlib import Path

from tito.modules import ROOT, all_modules

OK, INFO, WARN, FAIL = "✅", "ℹ️ ", "⚠️ ", "❌"
ACTIVATE = "run `source bin/activate-tinytorch.sh` from the repository root"


def _python():
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 10):  # noqa: UP036 (an old venv runs this too)
        return (
            FAIL,
            f"Python {version}: TinyTorch needs 3.10 or newer (set "
            f"TINYTORCH_PYTHON, then {ACTIVATE})",
        )
    return OK, f"Python {version}"


def _venv():
    venv = ROOT / ".venv"
    if Path(sys.prefix).resolve() != venv.resolve():
        return (
            WARN,
            f"not running in the project environment ({sys.prefix}); "
            f"{ACTIVATE}",
        )
    return OK, f"virtual environment {venv.relative_to(ROOT)}"


def _package():
    try:
        import tinytorch
    except ImportError:
        return (
            FAIL,
            f"`import tinytorch` fails; {ACTIVATE} (it installs the package "
            "in editable mode)",
        )
    where = Path(tinytorch.__file__).resolve().parent
    if where != ROOT / "tinytorch":
        return (
            WARN,
            f"`tinytorch` comes from {where}, not from this checkout; "
            f"{ACTIVATE}",
        )
    return OK, "tinytorch imports from this checkout"


def _module_path():
    on_path = {
        Path(p).resolve()
        for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if p
    }
    missing = [
        m.slug for m in all_modules() if m.folder.resolve() not in on_path
    ]
    if missing:
        return WARN, (
            f"module folders not on PYTHONPATH ({', '.join(missing)}): `from "
            "optimizers_dev import SGD` "
            f"will fail; {ACTIVATE}"
        )
    return OK, "module sources importable (from optimizers_dev import SGD)"


def _pins():
    pins = dict(
        re.findall(
            r"^([A-Za-z0-9_.-]+)==(\S+)$",
            (ROOT / "requirements/constraints.txt").read_text(),
            re.M,
        )
    )
    wrong = []
    for name in (
        "numpy",
        "jupytext",
        "nbgrader",
        "jupyter-book",
        "matplotlib",
        "ipywidgets",
        "pytest",
    ):
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{name} missing")
            continue
        if name in pins and not same_release(have, pins[name]):
            wrong.append(f"{name} {have} (pinned {pins[name]})")
    if wrong:
        return (
            WARN,
            "dependencies differ from requirements/constraints.txt: "
            f"{', '.join(wrong)}; run bin/setup-venv",
        )
    return OK, "pinned dependencies installed"


def same_release(have: str, pin: str) -> bool:
    """`2.13.0+cpu` is the pinned 2.13.0 (a local build label, as PEP 440
    compares them)."""
    return have.split("+")[0] == pin.split("+")[0]


def _torch():
    """PyTorch is the tests' cross-check only: the course set-up does not
    install it."""
    pin = re.search(
        r"^torch==(\S+)$",
        (ROOT / "requirements/constraints.txt").read_text(),
        re.M,
    )
    try:
        have = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return INFO, (
            "PyTorch not installed: the course does not need it; the "
            "tests that cross-check against it skip (bin/test installs it)"
        )
    if pin and not same_release(have, pin.group(1)):
        return (
            WARN,
            f"torch {have} (pinned {pin.group(1)}): tests may disagree; "
            "run bin/setup-venv test",
        )
    return OK, f"PyTorch {have} for the tests' cross-check"


def _export():
    from tito import export

    outputs = export.planned_outputs(all_modules())
    stale = [str(o.path.relative_to(ROOT)) for o in outputs if o.stale]
    if stale:
        return (
            WARN,
            f"{len(stale)} generated file(s) out of date ({stale[0]}, …): run "
            "`tito export --all`",
        )
    return (
        OK,
        f"package and paired notebooks in sync with {len(all_modules())} "
        "module sources",
    )


def _kernel():
    try:
        from jupyter_client.kernelspec import find_kernel_specs
    except ImportError:
        return (
            FAIL,
            "jupyter_client missing: notebooks cannot run; run bin/setup-venv",
        )
    if "python3" not in find_kernel_specs():
        return (
            FAIL,
            "no `python3` Jupyter kernel: run `python -m ipykernel install "
            "--sys-prefix`",
        )
    return OK, "Jupyter kernel python3"


def _chromium():
    if not shutil.which("chromium") and not Path("/usr/bin/chromium").exists():
        return (
            INFO,
            "Chromium not found: only the browser tests need it "
            "(bin/test installs it with apt-get)",
        )
    return OK, "Chromium for the browser tests"


CHECKS = [
    _python,
    _venv,
    _package,
    _module_path,
    _pins,
    _torch,
    _kernel,
    _export,
    _chromium,
]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the environment and say how to fix what is wrong",
        description="Checks Python, the virtual environment, the package, the "
        "import "
        "path, pinned versions, PyTorch (tests only), the Jupyter kernel, "
        "export state and Chromium (browser tests only).",
    )
    parser.set_defaults(func=_command)


def _command(args) -> int:
    failed = False
    for check in CHECKS:
        status, message = check()
        failed |= status == FAIL
        print(f"{status} {message}")
    print(
        "\nAll good."
        if not failed
        else "\nFix the ❌ lines above, then run `tito doctor` again."
    )
    return 1 if failed else 0

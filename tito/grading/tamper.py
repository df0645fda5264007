"""Tamper evidence: did a submission change its grading kernel to rig tests?

Two checks, because each can be fooled alone:

- dynamic: TamperCheckedExecute (the course's nbgrader Execute) runs
  tamper_probe.py in the kernel before the first cell (the baseline, taken
  before any submission code ran), before every graded test cell and after
  the last cell, and compares the snapshots here, in the grader: cell
  transformers, execution event callbacks, the import system (and the
  grading import guard), builtins, the assert helpers (`expect_close`,
  NumPy, `math`) and error reporting (tracebacks, trace hooks).
- static: `scan` reads the code the student wrote (every line that is not
  in the student notebook as released) for the same constructs, and for
  what hides them from the dynamic check (reaching the shell, `exec`,
  frame and history introspection).

The findings go into the autograded notebook's metadata (written by the
grader after the kernel is gone); tito/grading/review.py turns them into a
flag that withholds the test cells' points until an instructor clears it.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import secrets
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode

from tito.grading.output_cap import CapStreamsWhileRunning
from tito.grading.plugins import SurvivingExecute
from tito.grading.tamper_probe import TITO_SHELL_PARTS

REPORT_KEY = "tito_tamper"
PROBE_SOURCE = (
    Path(__file__).with_name("tamper_probe.py").read_text(encoding="utf-8")
)
AREAS = {
    "transformers": "cell transformer",
    "events": "execution event callback",
    "imports": "import system",
    "builtins": "builtin",
    "helpers": "assert helper",
    "names": "notebook name",
    "errors": "error reporting",
}
# callbacks an honest `import matplotlib.pyplot` or `%matplotlib inline`
# registers (the code's file is part of the key, so no look-alike passes)
KERNEL_CALLBACKS = re.compile(r" in \S*/site-packages/matplotlib(_inline)?/")
# areas keyed by the object itself (the value is its place, or its event)
KEYED = ("events", "imports")
# modules whose new attributes count (NumPy adds some lazily on first use)
CLOSED_MODULES = ("math.", "tinytorch.core.setup.")


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


# --- the dynamic check ---------------------------------------------------


class TamperCheckedExecute(CapStreamsWhileRunning, SurvivingExecute):
    """SurvivingExecute that snapshots the kernel before the first cell,
    before each graded test cell and after the last cell, and records what
    changed in the notebook's metadata under `tito_tamper` (and keeps no
    more of a cell's printing than output_cap.py allows)."""

    def preprocess(self, nb, resources=None, km=None):
        nb.metadata.pop(REPORT_KEY, None)  # a submission's own says nothing
        self._baseline, self._findings = None, []
        nb, resources = super().preprocess(nb, resources, km)
        nb.metadata[REPORT_KEY] = {
            "dynamic": self._findings,
            # False when the kernel died: the last snapshots were not taken
            "complete": self._baseline is not None and not self._kernel_gone,
        }
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if index == 0:
            self._probe("before the first cell", index)
        elif is_test_cell(cell):
            grade_id = cell.metadata["nbgrader"].get("grade_id", index)
            self._probe(f"before test cell {grade_id}", index)
        cell, resources = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            self._probe("after the last cell", index)
        return cell, resources

    def _probe(self, moment: str, index: int) -> None:
        if self._kernel_gone:
            return
        marker = f"@@tito-{secrets.token_hex(8)}@@"
        probe = NotebookNode(
            cell_type="code",
            metadata={},
            outputs=[],
            source=PROBE_SOURCE
            + f"try:\n    _tito_tamper_snapshot({marker!r})\n"
            "finally:\n    del _tito_tamper_snapshot, TITO_SHELL_PARTS\n",
        )
        cell, self.capping = self.nb.cells[index], False  # a whole answer
        try:
            self.execute_cell(probe, index, store_history=False)
        except DeadKernelError:  # the next cell finds out and says so
            return
        except CellTimeoutError:
            self._note(f"the in-kernel check did not answer ({moment})")
            return
        finally:  # nbclient puts the cell it ran in the notebook
            self.nb.cells[index], self.capping = cell, True
        snapshot = _read_snapshot(probe.outputs, marker)
        if snapshot is None:
            self._note(
                "the in-kernel check's answer was missing or changed "
                f"({moment})"
            )
        elif self._baseline is None:
            self._baseline = snapshot
        else:
            for change in compare(self._baseline, snapshot):
                self._note(f"{change} ({moment})")

    def _note(self, finding: str) -> None:
        # one line per change, however many probes see it again
        seen = {f.rsplit(" (", 1)[0] for f in self._findings}
        if finding.rsplit(" (", 1)[0] not in seen:
            self._findings.append(finding)


def _read_snapshot(outputs, marker: str) -> dict | None:
    text = "".join(
        o.get("text", "") for o in outputs if o.output_type == "stream"
    )
    parts = text.split(marker)
    if len(parts) != 3:
        return None
    try:
        return json.loads(parts[1])
    except ValueError:
        return None


def _label(description: str) -> str:
    """`numpy.allclose@7f..` -> `numpy.allclose` (no address: stable text)."""
    return description.split("@", 1)[0]


def compare(baseline: dict, now: dict) -> list[str]:
    """What changed between two snapshots, in words; [] for an honest run."""
    changes = []
    for area, noun in AREAS.items():
        before, after = baseline.get(area, {}), now.get(area, {})
        if area == "names":
            changes += _foreign_names(baseline, after)
            continue
        for key in sorted(set(before) | set(after)):
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            if old is None:
                if area == "events" and KERNEL_CALLBACKS.search(key):
                    continue
                if area == "helpers" and not key.startswith(CLOSED_MODULES):
                    continue
                what = "" if area in KEYED else f" = {_label(new)}"
                changes.append(f"{noun} added: {_label(key)}{what}")
            elif new is None:
                what = "" if area in KEYED else f" ({_label(old)})"
                changes.append(f"{noun} removed: {_label(key)}{what}")
            elif area in KEYED:
                changes.append(f"{noun} moved: {_label(key)} ({old} -> {new})")
            else:
                changes.append(f"{noun} replaced: {key} -> {_label(new)}")
    guards = [g for g in baseline.get("imports", {}) if "Guard" in g]
    if any(g not in now.get("imports", {}) for g in guards):
        changes.insert(0, "the grading import guard left sys.meta_path")
    return changes


GENUINE = {
    "np": "numpy",
    "numpy": "numpy",
    "math": "math",
    "expect_close": "tinytorch.core.setup.expect_close",
    "expect_equal": "tinytorch.core.setup.expect_equal",
    "expect": "tinytorch.core.setup.expect",
}


def _foreign_names(baseline: dict, names: dict) -> list[str]:
    """Names the tests use (`np`, `expect_close`...) bound to something
    other than the genuine module or helper of the baseline."""
    helpers, changes = baseline.get("helpers", {}), []
    for name, description in sorted(names.items()):
        genuine = helpers.get(GENUINE[name])
        if genuine is not None and description != genuine:
            changes.append(
                f"notebook name `{name}` is {_label(description)}, "
                f"not {GENUINE[name]}"
            )
    return changes


# --- the static scan -----------------------------------------------------

WORDS = {
    "cell transformer": {
        "input_transformers_cleanup",
        "input_transformers_post",
        "ast_transformers",
        "input_transformer_manager",
        "cleanup_transforms",
        "line_transforms",
        "token_transformers",
    },
    "execution event": {
        "events",
        "pre_run_cell",
        "post_run_cell",
        "pre_execute",
        "post_execute",
        "register_post_execute",
        "set_hook",
    },
    "kernel machinery": {
        "get_ipython",
        "InteractiveShell",
        "do_execute",
        "execute_request",
        "shell_handlers",
        "history_manager",
        *TITO_SHELL_PARTS,
    },
    "import system": {
        "meta_path",
        "path_hooks",
        "path_importer_cache",
        "__import__",
        "importlib",
    },
    "builtins": {"builtins", "__builtins__"},
    "error reporting": {
        "set_custom_exc",
        "custom_exceptions",
        "excepthook",
        "displayhook",
        "settrace",
        "setprofile",
        "addaudithook",
    },
    "code introspection": {
        "_getframe",
        "f_back",
        "f_globals",
        "f_locals",
        "f_code",
        "tb_frame",
        "gi_frame",
        "cr_frame",
        "__code__",
        "__globals__",
        "__defaults__",
        "__kwdefaults__",
        "__closure__",
        "CodeType",
        "FunctionType",
        "get_referrers",
        "get_objects",
        "linecache",
        "inspect",
        "_ih",
        "_oh",
        "_i",
        "_ii",
        "_iii",
        "In",
        "Out",
    },
    "hidden code": {"exec", "eval", "compile", "ctypes", "marshal"},
    "mocking": {"mock"},
}
KIND = {word: kind for kind, words in WORDS.items() for word in words}
# flagged as names and imports only: `re.compile`, `model.eval` are honest
NAME_ONLY = {"exec", "eval", "compile", "In", "Out", "inspect", "mock"}
NAME_ONLY |= {"_i", "_ii", "_iii"}
SKIP = {
    "name": set(),
    "attribute": NAME_ONLY,
    "string": NAME_ONLY | {"events"},
}
INPUT_HISTORY = re.compile(r"^_i\d+$")
# the modules holding the assert helpers, and the names tests look up
MODULE_ALIASES = {"np", "numpy", "math", "setup", "testing", "npt"}
KERNEL_PACKAGES = ("IPython", "ipykernel", "traitlets")
SAFE_MAGICS = {"matplotlib", "time", "timeit", "precision", "pinfo"}
PIP = re.compile(r"^\s*(python3? -m )?pip3? (install|list|show)[\w .=<>~-]*$")
ALLOWED_IMPORTS = {
    "np": "numpy",
    "numpy": "numpy",
    "math": "math",
    "expect_close": "tinytorch.core.setup",
    "expect_equal": "tinytorch.core.setup",
    "expect": "tinytorch.core.setup",
}


@functools.lru_cache(maxsize=4096)  # a class hands in the same cells
def python_of(source: str) -> str:
    """A cell as the kernel runs it: IPython magics become plain calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # the kernel would not run it either
        return ""


class _Scan(ast.NodeVisitor):
    def __init__(self):
        self.found: list[tuple[int, str]] = []

    def flag(self, node, what: str) -> None:
        self.found.append((node.lineno, what))

    def word(self, node, word: str, used_as: str = "name") -> None:
        if word in SKIP[used_as]:
            return
        if word in KIND:
            self.flag(node, f"{KIND[word]}: `{word}`")
        elif INPUT_HISTORY.match(word):
            self.flag(node, f"code introspection: `{word}`")

    def visit_Name(self, node):
        self.word(node, node.id)
        if isinstance(node.ctx, ast.Store) and node.id in ALLOWED_IMPORTS:
            self.flag(node, f"assert helper: `{node.id}` rebound")

    def visit_Attribute(self, node):
        self.word(node, node.attr, "attribute")
        root = node.value
        if isinstance(root, ast.Name):
            if root.id == "sys" and node.attr == "modules":
                self.flag(node, "import system: `sys.modules`")
            if root.id in MODULE_ALIASES and not isinstance(
                node.ctx, ast.Load
            ):
                self.flag(node, f"assert helper: `{root.id}.{node.attr}` set")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            self.word(node, node.value, "string")

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr"):
            target = node.args[0] if node.args else None
            if isinstance(target, ast.Name) and target.id in MODULE_ALIASES:
                self.flag(node, f"assert helper: {func.id}({target.id}, ...)")
        if _is_magic(node):
            self.magic(node)
            return  # get_ipython() here is IPython's spelling of a magic
        self.generic_visit(node)

    def magic(self, node) -> None:
        kind = node.func.attr
        args = [a.value for a in node.args if isinstance(a, ast.Constant)]
        name = str(args[0]).lstrip("%") if args else "?"
        if kind in ("system", "getoutput"):
            if not PIP.match(name):
                self.flag(node, f"shell command: `!{name}`")
        elif kind in ("run_line_magic", "run_cell_magic"):
            if name not in SAFE_MAGICS:
                self.flag(node, f"magic: `%{name}`")
        else:
            self.flag(node, f"kernel machinery: `{kind}`")

    def visit_Import(self, node):
        for alias in node.names:  # `import numpy.testing` binds numpy
            top = alias.name.split(".")[0]
            bound = alias.asname or top
            self.imported(node, alias.name, bound, alias.asname and alias.name)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for alias in node.names:
            self.word(node, alias.name)
            self.imported(node, module, alias.asname or alias.name, module)

    def imported(self, node, module: str, bound: str, source) -> None:
        """`import M as bound` / `from source import bound`."""
        for part in module.split("."):
            self.word(node, part)
        top = module.split(".")[0]
        if top in KERNEL_PACKAGES and module != "IPython.display":
            self.flag(node, f"kernel machinery: import of {module}")
        source = source or bound
        if bound in ALLOWED_IMPORTS and ALLOWED_IMPORTS[bound] != source:
            self.flag(node, f"assert helper: `{bound}` bound to {module}")

    def visit_FunctionDef(self, node):
        if node.name in ALLOWED_IMPORTS:
            self.flag(node, f"assert helper: `{node.name}` redefined")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef


def _is_magic(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "get_ipython"
        and not func.value.args
    )


def scan(nb, released) -> list[str]:
    """What the student wrote (lines not in the released notebook) that
    reaches into the kernel's machinery, in the cells the kernel ran.
    Locked and test cells hold the instructor's code: they are skipped."""
    theirs = {
        line.strip()
        for cell in released.cells
        if cell.cell_type == "code"
        for line in python_of(cell.source).splitlines()
    }
    findings = []
    for number, cell in enumerate(nb.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if (
            cell.cell_type != "code"
            or meta.get("locked")
            or is_test_cell(cell)
        ):
            continue
        code = python_of(cell.source)
        try:
            tree = ast.parse(code)
        except SyntaxError:  # never ran: it changed nothing
            continue
        visitor = _Scan()
        visitor.visit(tree)
        lines = code.splitlines()
        name = meta.get("grade_id") or f"cell {number}"
        for lineno, what in sorted(set(visitor.found)):
            line = lines[lineno - 1].strip() if lineno <= len(lines) else ""
            if line not in theirs:
                findings.append(f"{what} in {name}: {line[:80]}")
    return findings


def findings(autograded, released) -> list[str]:
    """Every sign of tampering in an autograded notebook (both checks)."""
    report = autograded.metadata.get(REPORT_KEY)
    if report is None:
        dynamic = ["the notebook was not graded with the tamper check"]
    else:
        dynamic = list(report.get("dynamic", []))
    return dynamic + scan(autograded, released)

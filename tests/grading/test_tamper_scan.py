"""Tamper evidence and the output cap, without a kernel: the static scan
reads what a student wrote; the snapshot comparison names each change;
CapOutputs keeps a bounded, annotated part of what cells printed."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader_support import REPO

from tito.grading.output_cap import CELL_TEXT, CapOutputs
from tito.grading.tamper import compare, scan

RELEASED = new_notebook(
    cells=[new_code_cell("from IPython.display import display\nimport sys")]
)


def _scan(*sources):
    return scan(
        new_notebook(cells=[new_code_cell(s) for s in sources]), RELEASED
    )


@pytest.mark.parametrize(
    "source",
    sorted((REPO / "modules" / "source").glob("*/*_dev.ipynb")),
    ids=lambda p: p.parent.name,
)
def test_no_reference_notebook_trips_the_static_scan(source):
    release = REPO / "modules" / "release" / source.parent.name / source.name
    found = scan(
        nbformat.read(source, as_version=4),
        nbformat.read(release, as_version=4),
    )
    assert found == []


@pytest.mark.parametrize(
    "code, finding",
    [
        ("get_ipython().input_transformers_post.append(f)", "transformer"),
        ("ip.events.register('pre_run_cell', f)", "execution event"),
        ("s = get_ipython()", "kernel machinery: `get_ipython`"),
        ("import sys\nsys.meta_path.pop(0)", "import system: `meta_path`"),
        ("import sys\ndel sys.modules['numpy']", "`sys.modules`"),
        ("import builtins\nbuiltins.len = f", "builtins"),
        ("__builtins__['print'] = f", "builtins"),
        ("np.allclose = lambda *a, **k: True", "assert helper: `np.allclose`"),
        ("setattr(np, 'allclose', f)", "setattr(np"),
        ("def expect_close(*a, **k):\n    pass", "`expect_close` redefined"),
        ("import pandas as np", "`np` bound to pandas"),
        ("ip.showtraceback = f", "kernel machinery: `showtraceback`"),
        ("import sys\nsys.settrace(f)", "error reporting: `settrace`"),
        ("exec(base64.b64decode(code))", "hidden code: `exec`"),
        ("print(In[-1])", "code introspection: `In`"),
        ("x = _i3", "code introspection: `_i3`"),
        ("import inspect", "code introspection: `inspect`"),
        ("from unittest import mock", "mocking"),
        ("%load_ext evil", "magic: `%load_ext`"),
        ("!cat /etc/passwd", "shell command"),
        ("f.__code__ = g.__code__", "`__code__`"),
    ],
)
def test_the_static_scan_names_what_it_finds(code, finding):
    found = _scan("x = 1", code)
    assert any(finding in f for f in found), found
    assert all("cell 2" in f for f in found)


def test_honest_code_passes_the_static_scan():
    honest = """
import math
import numpy as np
from tinytorch.core.setup import expect_close
import re
%matplotlib inline
!pip install matplotlib
pattern = re.compile("a+")
model.eval()
display(np.zeros(3))
import sys
def step(self):
    self.state["m"] = np.sqrt(math.pi)
"""
    assert _scan(honest) == []
    assert _scan("g = = 1\nimport builtins") == []  # never runs


def test_the_comparison_names_each_change():
    base = {
        "imports": {
            "sys.meta_path: guard._GradingImportGuard@1": "0",
            "sys.meta_path: importlib.PathFinder@a": "1",
        },
        "builtins": {"print": "builtins.print@2"},
        "helpers": {"numpy": "numpy.module@3", "numpy.sum": "x.sum@4"},
        "events": {},
    }
    now = {
        "imports": {"sys.meta_path: importlib.PathFinder@a": "0"},
        "builtins": {"print": "__main__.fake@5", "evil": "__main__.e@6"},
        "helpers": {"numpy": "numpy.module@3", "numpy.new": "x@7"},
        "events": {"post_execute: __main__.hook@8 in /tmp/1.py": "x"},
        "names": {"np": "__main__.Fake@9"},
    }
    changes = compare(base, now)
    assert changes == [
        "the grading import guard left sys.meta_path",
        "execution event callback added: post_execute: __main__.hook",
        "import system removed: sys.meta_path: guard._GradingImportGuard",
        "import system moved: sys.meta_path: importlib.PathFinder (1 -> 0)",
        "builtin added: evil = __main__.e",
        "builtin replaced: print -> __main__.fake",
        "assert helper removed: numpy.sum (x.sum)",
        "notebook name `np` is __main__.Fake, not numpy",
    ]
    assert compare(base, base) == []


def _capped(outputs):
    nb = new_notebook(cells=[new_code_cell("x", outputs=outputs)])
    nb, _ = CapOutputs().preprocess(nb, {})
    return nb.cells[0].outputs


def test_a_huge_print_is_cut_with_a_note():
    printed = [
        new_output("stream", name="stdout", text="x" * 10**6)
        for _ in range(100)
    ]
    outputs = _capped(printed)
    text = "".join(o.text for o in outputs)
    assert len(text) < CELL_TEXT + 500
    assert f"output cut: {10**8 - CELL_TEXT:,} characters" in text


def test_errors_always_stay_and_small_outputs_are_untouched():
    small = new_output("execute_result", data={"text/plain": "2.5"})
    error = new_output(
        "error", ename="ValueError", evalue="v" * 10**6, traceback=["t"]
    )
    flood = new_output("stream", name="stdout", text="x" * 10**6)
    outputs = _capped([small, flood, error])
    assert outputs[0] == small
    assert [o.output_type for o in outputs] == [
        "execute_result",
        "stream",
        "error",
        "stream",
    ]
    assert outputs[2].ename == "ValueError" and len(outputs[2].evalue) < 5000

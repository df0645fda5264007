"""`tito book`: how a page is made, when it is stale, and how launch buttons
are pointed at the student notebook."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import nbformat
import pytest
from cell_markers import with_nbgrader
from traitlets.config import Config

import tito.book as book
import tito.export as export
import tito.modules as modules
from tito.modules import ROOT, Module

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import tinytorch_book  # noqa: E402  (the site's Sphinx extension)

HEADER = textwrap.dedent("""\
    # ---
    # jupyter:
    #   jupytext:
    #     formats: ipynb,py:percent
    #     text_representation:
    #       extension: .py
    #       format_name: percent
    #       format_version: '1.3'
    #       jupytext_version: 1.19.6
    #   kernelspec:
    #     display_name: Python 3
    #     language: python
    #     name: python3
    # ---
    """)

TINY_MODULE = HEADER + with_nbgrader(
    textwrap.dedent('''
    # %% [markdown]
    # # Module 01: Tiny
    #
    # A module small enough to execute in a test.

    # %%
    #| bootstrap
    import tinytorch

    # %%
    #| default_exp core.tiny_for_tests
    #| export
    import numpy as np

    # %% solution: double
    #| export
    def double(x):
        """Twice x."""
        ### BEGIN SOLUTION
        return_value_unique_to_the_solution = 2 * x
        return return_value_unique_to_the_solution
        ### END SOLUTION

    # %% test: test-double, 1 point
    def test_unit_double():
        assert double(2) == 4
        ### BEGIN HIDDEN TESTS
        assert double(-1.5) == -3.0, "hidden check unique to the tests"
        ### END HIDDEN TESTS
        print("✅ double works:", double(21))

    if __name__ == "__main__":
        test_unit_double()

    # %%
    if __name__ == "__main__":
        import matplotlib.pyplot as plt
        import matplotlib
        print("backend:", matplotlib.get_backend())
        plt.plot([0, 1], [0, 2])
        plt.show()
    ''')
)


@pytest.fixture
def tiny_course(tmp_path, monkeypatch):
    """A course with one module, in a temporary folder: the page machinery
    pointed at it."""
    source_dir = tmp_path / "modules" / "source"
    folder = source_dir / "01_tiny"
    folder.mkdir(parents=True)
    (folder / "tiny_dev.py").write_text(TINY_MODULE, encoding="utf-8")
    monkeypatch.setattr(modules, "SOURCE_DIR", source_dir)
    monkeypatch.setattr(export, "PACKAGE_DIR", tmp_path / "tinytorch")
    monkeypatch.setattr(book, "PAGES_DIR", tmp_path / "book" / "modules")
    module = Module(1, "tiny", folder)
    output = export.paired_notebook(module, export.read_source(module))
    export.write([output])
    return module


def test_a_page_runs_the_reference_and_shows_the_student_edition(
    tiny_course,
):
    slug, _ = book.make_page(tiny_course.slug)
    page = nbformat.read(book.page_path(tiny_course), as_version=4)
    text = "\n".join(cell.source for cell in page.cells)
    assert (
        "return_value_unique_to_the_solution" not in text
    )  # solution stripped
    assert (
        "hidden check unique to the tests" not in text
    )  # hidden test stripped
    assert "raise NotImplementedError()" in text  # the learner's stub
    assert "### BEGIN" not in text
    outputs = [o for cell in page.cells for o in cell.get("outputs", [])]
    printed = "".join(
        o.get("text", "") for o in outputs if o.output_type == "stream"
    )
    assert "✅ double works: 42" in printed  # output of the reference solution
    assert "matplotlib_inline" in printed  # MPLBACKEND unset: figures inline
    assert any("image/png" in o.get("data", {}) for o in outputs)
    url, branch = book_repository()
    bootstrap = page.cells[1].source  # filled from _config.yml
    assert f'course = "{url}"' in bootstrap and f"@{branch}" in bootstrap
    assert (
        book.page_status(tiny_course, [tiny_course], book.nbgrader_config())
        is None
    )


def book_repository():
    from tito.bootstrap import repository

    return repository()


def _write_recorded_page(module, modules_, config):
    page = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Page")]
    )
    page.metadata[book.METADATA_KEY] = {
        "source_sha256": book.source_hash(module, modules_, config),
        "cells_sha256": book.cells_hash(page),
    }
    book.page_path(module).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(page, book.page_path(module))
    return page


def test_page_status_missing_current_stale_and_edited(tiny_course):
    config = Config()
    assert book.page_status(tiny_course, [tiny_course], config) == "missing"
    page = _write_recorded_page(tiny_course, [tiny_course], config)
    assert book.page_status(tiny_course, [tiny_course], config) is None

    page.cells[0].source = "# Page, edited by hand"
    nbformat.write(page, book.page_path(tiny_course))
    assert book.page_status(tiny_course, [tiny_course], config).startswith(
        "edited by hand"
    )

    _write_recorded_page(tiny_course, [tiny_course], config)
    tiny_course.source.write_text(
        TINY_MODULE + "\n# %% [markdown]\n# One more sentence.\n",
        encoding="utf-8",
    )
    assert book.page_status(tiny_course, [tiny_course], config).startswith(
        "stale"
    )


def test_source_hash_follows_earlier_modules_and_the_stub_settings(
    tiny_course, tmp_path
):
    later_folder = tiny_course.folder.parent / "02_later"
    later_folder.mkdir()
    (later_folder / "later_dev.py").write_text(
        HEADER + "\n# %%\nfrom tinytorch.core.tiny_for_tests import double\n",
        encoding="utf-8",
    )
    later = Module(2, "later", later_folder)
    course = [tiny_course, later]
    before = book.source_hash(later, course, Config())
    package_file = tmp_path / "tinytorch" / "core" / "tiny_for_tests.py"
    package_file.parent.mkdir(parents=True)
    package_file.write_text(
        "def double(x):\n    return 2 * x\n", encoding="utf-8"
    )
    assert (
        book.source_hash(later, course, Config()) != before
    )  # what it imports changed
    # the earlier module does not depend on the later one
    assert book.source_hash(tiny_course, course, Config()) == book.source_hash(
        tiny_course, [tiny_course], Config()
    )

    stubbed = Config()
    stubbed.ClearSolutions.code_stub = {
        "python": "# your code\nraise NotImplementedError()"
    }
    assert book.source_hash(later, course, stubbed) != book.source_hash(
        later, course, Config()
    )


def test_module_info_reads_title_summary_and_prerequisites(tiny_course):
    info = book.module_info(tiny_course)
    assert info.title == "Module 01: Tiny"
    assert info.summary == "A module small enough to execute in a test."
    assert info.core_name == "tiny_for_tests"
    later = book.ModuleInfo(
        Module(2, "later", tiny_course.folder),
        "Module 02",
        "",
        "later",
        ("tiny_for_tests",),
    )
    assert book.prerequisites(later, [info, later]) == [tiny_course]


def test_toc_lists_every_module_between_the_narrative_pages(tiny_course):
    text = book.toc_text([tiny_course])
    assert "root: book/intro" in text
    assert (
        text.index("book/getting-started")
        < text.index("book/modules/01_tiny")
        < text.index("book/instructor-guide")
    )


class _App:
    class config:
        html_theme_options = {
            "path_to_docs": "",
            "repository_url": "https://github.com/org/course",
            "repository_branch": "main",
            "launch_buttons": {
                "binderhub_url": "https://mybinder.org",
                "colab_url": "https://colab.research.google.com",
            },
        }


def test_launch_buttons_are_pointed_at_the_release_notebook():
    module = modules.all_modules()[0]
    pagename = f"book/modules/{module.slug}"
    target = f"modules/release/{module.slug}/{module.name}_dev.ipynb"
    context = {
        "header_buttons": [
            {
                "label": "launch-buttons",
                "buttons": [
                    {
                        "type": "link",
                        "text": "Binder",
                        "url": f"https://mybinder.org/v2/gh/org/course/main?urlpath=tree/{pagename}.ipynb",
                    },
                    {
                        "type": "link",
                        "text": "Colab",
                        "url": f"https://colab.research.google.com/github/org/course/blob/main/{pagename}.ipynb",
                    },
                    {"type": "javascript", "text": "Live Code"},
                ],
            }
        ]
    }
    tinytorch_book.retarget_launch_buttons(
        _App, pagename, "page.html", context, None
    )
    binder, colab, thebe = context["header_buttons"][0]["buttons"]
    assert (
        binder["url"]
        == f"https://mybinder.org/v2/gh/org/course/main?urlpath=tree/{target}"
    )
    assert (
        colab["url"]
        == f"https://colab.research.google.com/github/org/course/blob/main/{target}"
    )
    assert "url" not in thebe
    # the links at the end of the page are the same
    assert tinytorch_book.launch_urls(_App.config, target) == {
        "Binder": binder["url"],
        "Colab": colab["url"],
    }


def test_launch_buttons_of_other_pages_are_left_alone():
    context = {
        "header_buttons": [
            {
                "label": "launch-buttons",
                "buttons": [
                    {
                        "type": "link",
                        "url": "https://mybinder.org/v2/gh/org/course/main?urlpath=tree/book/intro.ipynb",
                    }
                ],
            }
        ]
    }
    tinytorch_book.retarget_launch_buttons(
        _App, "book/intro", "page.html", context, None
    )
    assert context["header_buttons"][0]["buttons"][0]["url"].endswith(
        "tree/book/intro.ipynb"
    )


def test_duplicate_inline_scripts_are_dropped_once():
    from sphinx.builders.html._assets import _JavaScript

    scripts = [
        _JavaScript("_static/a.js"),
        _JavaScript(None, body="const X = 1"),
        _JavaScript("", body="const X = 1"),
    ]
    context = {"script_files": scripts}
    tinytorch_book.drop_duplicate_scripts(
        None, "page", "page.html", context, None
    )
    assert context["script_files"] == scripts[:2]


def test_cli_lists_the_book_actions():
    result = subprocess.run(
        [sys.executable, "-m", "tito", "book", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    for action in ("pages", "build", "serve"):
        assert action in result.stdout


def test_serve_serves_the_site_on_localhost(tmp_path):
    (tmp_path / "index.html").write_text("<h1>course</h1>", encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "import pathlib, tito.book as b; b.HTML_DIR = "
        f"pathlib.Path({str(tmp_path)!r}); "
        f"raise SystemExit(b.serve({port}))"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
        deadline = time.monotonic() + 10
        while True:
            try:
                body = (
                    urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/", timeout=2
                    )
                    .read()
                    .decode()
                )
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert "<h1>course</h1>" in body
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_without_a_build_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(book, "HTML_DIR", tmp_path / "nothing")
    assert book.serve(0) == 1
    assert "tito book build" in capsys.readouterr().err


def test_check_reports_a_missing_page_and_exits_1(
    tiny_course, capsys, monkeypatch
):
    monkeypatch.setattr(book, "TOC_FILE", tiny_course.folder / "_toc.yml")
    assert book.sync_pages(check=True) == 1
    out = capsys.readouterr().out
    assert "01_tiny.ipynb: missing" in out
    assert "_toc.yml" in out
    assert not book.page_path(tiny_course).exists()  # --check writes nothing

"""The committed module pages (book/modules/NN_name.ipynb): the student edition
with the reference outputs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from book_support import (
    PAGES_DIR,
    ROOT,
    bootstrap_install_command,
    hidden_lines,
    module_slugs,
    page_notebook,
    repository,
    source_of,
    toc_docnames,
)

MODULES = module_slugs()


def cell_text(cell) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


@pytest.fixture(params=MODULES)
def page(request):
    slug = request.param
    if not (PAGES_DIR / f"{slug}.ipynb").is_file():
        pytest.fail(
            f"book/modules/{slug}.ipynb is missing: run `tito book pages` and "
            "commit it"
        )
    return slug, page_notebook(slug)


def test_page_holds_no_solution_and_no_hidden_test(page):
    slug, notebook = page
    shown = {
        line.strip()
        for cell in notebook["cells"]
        for line in cell_text(cell).splitlines()
    }
    leaked = sorted(
        hidden_lines(source_of(slug).read_text(encoding="utf-8")) & shown
    )
    assert not leaked, (
        f"{slug}: lines from solution / hidden-test regions on the page: "
        f"{leaked}"
    )
    for cell in notebook["cells"]:
        for marker in (
            "### BEGIN SOLUTION",
            "### END SOLUTION",
            "### BEGIN HIDDEN TESTS",
            "### END HIDDEN TESTS",
        ):
            assert marker not in cell_text(cell), (
                f"{slug}: {marker} left in cell {cell.get('id')}"
            )


def test_exercise_cells_are_stubs_with_the_reference_outputs_kept(page):
    slug, notebook = page
    code_cells = [
        cell for cell in notebook["cells"] if cell["cell_type"] == "code"
    ]
    exercises = [
        cell
        for cell in code_cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]
    assert exercises, f"{slug}: no exercise cell"
    for cell in exercises:
        assert "raise NotImplementedError()" in cell_text(cell), cell.get("id")
    outputs = [
        output for cell in code_cells for output in cell.get("outputs", [])
    ]
    assert outputs, (
        f"{slug}: the page has no outputs (it must be executed with the "
        "reference solution)"
    )
    errors = [output for output in outputs if output["output_type"] == "error"]
    assert not errors, (
        f"{slug}: the reference solution raised {[e['ename'] for e in errors]}"
    )
    # test cells ran against the reference solution and printed their progress
    assert any(
        "✅" in "".join(o.get("text", ""))
        for o in outputs
        if o["output_type"] == "stream"
    )


def test_figures_are_inline_images(page):
    slug, notebook = page
    images = [
        output
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert images, (
        f"{slug}: no figure on the page (MPLBACKEND must be unset when the "
        "page is executed)"
    )


def test_bootstrap_cell_installs_from_the_configured_repository(page):
    slug, notebook = page
    url, branch = repository()
    first_code = next(
        cell for cell in notebook["cells"] if cell["cell_type"] == "code"
    )
    command = bootstrap_install_command(cell_text(first_code))
    assert command is not None and command[-1] == (
        f"tinytorch @ git+{url}@{branch}"
    ), f"{slug}: without tinytorch the first cell runs {command}"
    assert "#| bootstrap" not in cell_text(first_code)


def test_page_metadata(page):
    slug, notebook = page
    metadata = notebook["metadata"]
    assert (
        metadata["kernelspec"]["name"] == "python3"
    )  # the theme shows launch buttons on notebook pages
    assert "jupytext" not in metadata  # the page is paired with nothing
    recorded = metadata["tinytorch_book"]
    assert recorded["source"] == source_of(slug).relative_to(ROOT).as_posix()
    assert len(recorded["source_sha256"]) == 64


def test_no_page_without_a_module():
    pages = sorted(path.stem for path in PAGES_DIR.glob("*.ipynb"))
    assert pages == MODULES


def test_toc_lists_the_narrative_pages_then_every_module_in_order():
    names = toc_docnames()
    assert names[:2] == ["book/intro", "book/getting-started"]
    assert [
        n.removeprefix("book/modules/")
        for n in names
        if n.startswith("book/modules/")
    ] == MODULES
    assert "book/instructor-guide" in names
    for name in names:
        assert any(
            (ROOT / f"{name}{suffix}").is_file()
            for suffix in (".md", ".ipynb")
        ), name


def test_pages_are_in_sync_with_their_sources():
    result = subprocess.run(
        [sys.executable, "-m", "tito", "book", "pages", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_widget_state_is_saved_with_the_page_when_a_module_shows_widgets():
    for slug in MODULES:
        notebook = (
            page_notebook(slug)
            if (PAGES_DIR / f"{slug}.ipynb").is_file()
            else {"cells": []}
        )
        views = [
            output
            for cell in notebook["cells"]
            for output in cell.get("outputs", [])
            if "application/vnd.jupyter.widget-view+json"
            in output.get("data", {})
        ]
        # the static page renders a widget only from the state saved in the
        # notebook metadata
        if views:
            state = notebook["metadata"]["widgets"][
                "application/vnd.jupyter.widget-state+json"
            ]["state"]
            for view in views:
                assert (
                    view["data"]["application/vnd.jupyter.widget-view+json"][
                        "model_id"
                    ]
                    in state
                )
            json.dumps(state)

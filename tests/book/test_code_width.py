"""Every line of code a reader sees fits the book's code column (79 characters,
as ruff formats it).

The browser test (tests/browser) measures the built pages; this one reads the
sources, so it runs in a second and names the file and line to fix: code cells
of the module sources (what the book shows as code, cell markers and export
directives aside) and code blocks in the markdown of modules and pages.
"""

import re
import unicodedata

import jupytext
import pytest
from book_support import ROOT

WIDTH = 79
FENCE = re.compile(r"^\s*(```|~~~)")
SOURCES = sorted((ROOT / "modules" / "source").glob("[0-9][0-9]_*/*_dev.py"))
PAGES = sorted((ROOT / "book").glob("*.md"))


def width(line):
    """Columns a line takes on screen: a combining mark (the hat of v̂)
    takes none."""
    return sum(not unicodedata.combining(char) for char in line)


def _fenced_lines(markdown):
    """Lines of fenced code blocks (a MyST directive such as ```{note} is
    prose, not code)."""
    opened = None  # the fence of the open block, and whether it is code
    for line in markdown.splitlines():
        fence = FENCE.match(line)
        if fence and opened is None:
            info = line.strip()[3:].strip()
            opened = (
                fence.group(1),
                not info.startswith("{") or "code" in info,
            )
        elif fence and line.strip() == opened[0]:
            opened = None
        elif opened and opened[1]:
            yield line


def too_wide(path):
    """(cell number, line) of every line wider than WIDTH that the book shows
    as code."""
    found = []
    if path.suffix == ".md":
        cells = [("markdown", path.read_text(encoding="utf-8"))]
    else:
        notebook = jupytext.read(path, fmt="py:percent")
        cells = [(c.cell_type, c.source) for c in notebook.cells]
    for number, (kind, source) in enumerate(cells):
        lines = (
            source.splitlines() if kind == "code" else _fenced_lines(source)
        )
        found += [(number, line) for line in lines if width(line) > WIDTH]
    return found


@pytest.mark.parametrize("path", SOURCES + PAGES, ids=lambda p: p.name)
def test_code_fits_the_column(path):
    wide = too_wide(path)
    assert not wide, (
        f"{len(wide)} code line(s) of {path.relative_to(ROOT)} are wider than "
        f"{WIDTH} characters (the book's code column); first ones:\n"
        + "\n".join(f"  cell {n}: {line!r}" for n, line in wide[:5])
    )

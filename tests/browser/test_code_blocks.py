"""No code block on any page scrolls sideways at 1280 px: a reader sees every
line of code whole.

The check is the browser's own: a block scrolls when its content is wider than
its box (`scrollWidth > clientWidth`). Code cells, their outputs and code in
the prose all count.
"""

from __future__ import annotations

import pytest
from book_support import toc_docnames

pytestmark = pytest.mark.browser

PAGES = ["index.html"] + [f"{name}.html" for name in toc_docnames()]
BLOCKS = "div.highlight pre, div.cell_output pre"


@pytest.mark.parametrize("path", PAGES)
def test_no_code_block_scrolls_sideways(visit, path):
    page = visit(path).page
    wide = page.eval_on_selector_all(
        BLOCKS,
        """blocks => blocks
            .filter(b => b.scrollWidth > b.clientWidth + 1)
            .map(b => ({
                overflow: b.scrollWidth - b.clientWidth,
                line: b.textContent.split('\\n')
                    .reduce((a, l) => l.length > a.length ? l : a, ''),
            }))""",
    )
    assert not wide, (
        f"{len(wide)} code block(s) of {path} scroll sideways at 1280 px; "
        "their longest lines:\n"
        + "\n".join(
            f"  {block['overflow']} px too wide: {block['line']!r}"
            for block in wide[:8]
        )
    )

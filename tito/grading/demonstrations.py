"""Grading without the ungraded demonstrations: most of a module's run time,
and no points.

In a module source every demonstration runs under `if __name__ == "__main__":`
in a cell that is not graded, and every graded test cell defines its test and
calls it under the same guard. So the grader sets `__name__` before each code
cell: "__main__" before a graded cell (its test runs, as in a full run),
another name before any other cell (its demonstrations are skipped). A
submission cannot use this to skip a test: `__name__` is set again right before
every graded cell. `tito nbgrader validate` checks that the reference earns the
same per-cell results both ways.
"""

from __future__ import annotations

from nbclient import NotebookClient
from nbclient.util import run_sync
from traitlets import Bool

GRADING_NAME = "__grading__"


def is_graded(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


class SkipDemonstrations(NotebookClient):
    """An executor that runs every cell, with the demonstrations of ungraded
    cells switched off."""

    skip_demonstrations = Bool(
        True,
        help="run ungraded cells with __name__ != '__main__' "
        "(tito/grading/demonstrations.py)",
    ).tag(config=True)

    async def async_execute_cell(
        self, cell, cell_index, execution_count=None, store_history=True
    ):
        if self.skip_demonstrations and cell.cell_type == "code":
            graded = is_graded(cell)
            # one message per change, not per cell: a graded cell always
            # gets its own, so no cell can switch its test off
            if graded or getattr(self, "_named", None) != GRADING_NAME:
                await self._set_name("__main__" if graded else GRADING_NAME)
        return await super().async_execute_cell(
            cell, cell_index, execution_count, store_history
        )

    async def async_start_new_kernel(self, **kwargs):
        self._named = None  # a new kernel starts as "__main__"
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    # nbclient's execute_cell wraps its own async_execute_cell, not this one
    execute_cell = run_sync(async_execute_cell)

    async def _set_name(self, name: str) -> None:
        await self.async_run_silently(f"__name__ = {name!r}")
        self._named = name

    async def async_run_silently(self, code: str) -> None:
        """Run the grader's code in the kernel: no execution count, no output,
        no history, nothing in the notebook."""
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        await self.async_wait_for_reply(msg_id)

    run_silently = run_sync(async_run_silently)

"""Start a submission's kernel while nbgrader prepares its notebook.

A kernel takes most of a second to start (Python, ipykernel, the sandbox),
and nbgrader spends a third of a second checking and copying the notebook
before it runs it. So the grading worker starts the kernel first
(`start`), and the grading executor takes it over (`take`, in
tito/grading/plugins.py) instead of starting its own.

nbgrader deletes and re-creates the notebook's folder before it runs it,
so the kernel starts in the folder above, which stays (the sandbox shows
that folder: it holds only this submission), and the executor moves it
into the notebook's folder before the first cell.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from tito.grading.sandbox import SandboxedKernelManager

KERNEL_NAME = "python3"  # what nbgrader writes into every graded notebook


@dataclasses.dataclass
class EarlyKernel:
    manager: AsyncKernelManager
    folder: Path  # where the notebook will be: the kernel's cwd to be

    def stop(self) -> None:
        run_sync(self.manager.shutdown_kernel)(now=True)


_waiting: EarlyKernel | None = None


def start(config, root: str, student: str, assignment: str) -> None:
    """Start the kernel of one submission (its settings from `config`, as
    the executor would start it)."""
    global _waiting
    discard()
    folder = Path(root) / "autograded" / student / assignment
    folder.parent.mkdir(parents=True, exist_ok=True)
    sandboxed = config.SandboxedExecution.get("sandbox", False)
    manager_class = SandboxedKernelManager if sandboxed else AsyncKernelManager
    manager = manager_class(kernel_name=KERNEL_NAME, config=config)
    run_sync(manager.start_kernel)(
        cwd=str(folder.parent),
        # as nbclient starts a kernel: no history file
        extra_arguments=["--HistoryManager.hist_file=:memory:"],
    )
    _waiting = EarlyKernel(manager, folder)


def take(kernel_name: str | None) -> EarlyKernel | None:
    """The kernel started for this notebook, if it has the right kind."""
    global _waiting
    early, _waiting = _waiting, None
    if early is not None and kernel_name != KERNEL_NAME:
        early.stop()
        return None
    return early


def discard() -> None:
    """Stop a kernel nobody took (nbgrader failed before running cells)."""
    early = take(KERNEL_NAME)
    if early is not None:
        early.stop()

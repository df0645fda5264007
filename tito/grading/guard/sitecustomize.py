"""Import guard of a grading kernel (put on PYTHONPATH by `tito nbgrader`;
never imported otherwise).

TINYTORCH_GRADING_BLOCK lists modules a submission must not import because they
hold the instructor's solution: the module sources (`optimizers_dev`) and the
package files of the graded module and later ones
(`tinytorch.core.optimizers`). Importing one raises ModuleNotFoundError with a
short explanation.
"""

import os
import sys


class _GradingImportGuard:
    def __init__(self, blocked):
        self.blocked = tuple(blocked)

    def find_spec(self, name, path=None, target=None):
        for blocked in self.blocked:
            if name == blocked or name.startswith(blocked + "."):
                raise ModuleNotFoundError(
                    f"No module named {name!r} while grading: a submission "
                    "uses its own code, "
                    "not the instructor's",
                    name=name,
                )
        return None


_blocked = [
    name.strip()
    for name in os.environ.get("TINYTORCH_GRADING_BLOCK", "").split(",")
    if name.strip()
]
if _blocked:
    sys.meta_path.insert(0, _GradingImportGuard(_blocked))

"""PyTorch, when it is installed: the tests' independent cross-check, never a
need of the course.

A learner's set-up does not install it (bin/test does), so the tests that
compare against it skip cleanly without it, and every other test in the same
file still runs.

    from torch_support import needs_torch, torch

    @needs_torch
    def test_matches_torch(): ...
"""

from __future__ import annotations

import pytest

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(
    torch is None,
    reason="PyTorch is not installed (the test set-up, bin/test, installs it)",
)

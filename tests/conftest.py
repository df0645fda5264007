"""Shared by every test: see tito/__init__.py for why it is imported first."""

import tito  # noqa: F401  (skips a 3 s import nothing here needs)

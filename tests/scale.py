"""Sizes for the few long soaks and property runs (marked ``slow``).

CI and a plain ``pytest`` run them at a small size; ``FLOWVIEW_FULL_SIZE=1`` runs them at the size
the issues ask for (``bench/`` runs its own at full size too). Hypothesis follows the same switch
through its ``full`` profile (see ``tests/conftest.py``).
"""

from __future__ import annotations

import os

FULL_SIZE = os.environ.get("FLOWVIEW_FULL_SIZE", "") not in ("", "0")


def scaled(full: int, ci: int) -> int:
    """``full`` when FLOWVIEW_FULL_SIZE is set, else ``ci``."""
    return full if FULL_SIZE else ci

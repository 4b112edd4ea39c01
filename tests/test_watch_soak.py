"""The watch soak (bench/soak_watch.py) at CI size: runs coming and going through the backend's
fault injection at 20 %, every row delivered exactly once, no watch ended by a fault.
FLOWVIEW_FULL_SIZE=1 runs it at the issue's size (50 runs, 10 minutes)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.scale import scaled

_SPEC = importlib.util.spec_from_file_location(
    "soak_watch", Path(__file__).resolve().parent.parent / "bench" / "soak_watch.py")
assert _SPEC is not None
assert _SPEC.loader is not None
soak_watch = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(soak_watch)


@pytest.mark.slow
async def test_watch_soak_through_faults_delivers_every_row_exactly_once() -> None:
    result = await soak_watch.soak(duration=scaled(600, 8), runs=scaled(50, 8), fault_rate=0.2,
                                   seed=7)
    assert result.watch_error is None
    assert result.runs >= scaled(50, 8)  # at full size runs are also added as others end
    assert result.lines > 0
    assert result.missing == 0
    assert result.repeated == 0
    assert result.wrong_end == 0

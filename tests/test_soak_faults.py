"""A small version of bench/soak_faults.py: full inspections through 20 % faults of every kind
(FLOWVIEW_FULL_SIZE=1 runs the issue's 1,000)."""

from __future__ import annotations

import pytest

from bench.soak_faults import run_soak
from tests.scale import scaled


@pytest.mark.slow
async def test_inspections_through_twenty_percent_faults_end_correct_or_typed() -> None:
    report = await run_soak(scaled(1000, 40), concurrency=8, fault_rate=0.2, seed=3)
    assert report.failures() == []
    assert report.wrong == 0
    assert report.untyped == []
    assert report.hangs == 0
    assert report.pending_tasks == 0
    assert report.unclosed == 0
    assert report.correct + sum(report.typed.values()) == report.inspections
    assert sum(n for status, n in report.faults_served.items() if status != 200) > 0

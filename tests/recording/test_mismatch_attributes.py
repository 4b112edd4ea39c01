"""A replay miss carries what missed as attributes, for tests that assert on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowview_async import FlowRunView, replay
from flowview_async.errors import CassetteMismatchError

SHIPPED = Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json"


async def test_miss_names_operation_variables_cassette_and_mode() -> None:
    async with replay(SHIPPED) as client:
        with pytest.raises(CassetteMismatchError) as caught:
            await FlowRunView.from_flow_run_name("not-recorded", client=client)
    error = caught.value
    assert error.operation_name == "FlowRuns"
    assert error.variables is not None
    assert "not-recorded" in error.variables
    assert error.cassette_path == str(SHIPPED)
    assert error.record_mode == "none"
    assert "How to fix" in str(error)

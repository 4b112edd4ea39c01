"""Parity with Prefect 1.4.1's views: FlowView's serialized_flow and flow_group_labels, and
FlowRunLog unpacking and sorting like Prefect's ``(timestamp, level, message)`` NamedTuple."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from flowview_async import Client, FlowRunView, FlowView
from flowview_async.logs import FlowRunLog
from tests.conftest import DOC_FLOW_ID, DOC_FLOW_RUN_ID


async def test_flow_view_has_serialized_flow_and_flow_group_labels(client: Client) -> None:
    flow = await FlowView.from_flow_id(DOC_FLOW_ID, client=client)
    assert flow.serialized_flow["name"] == flow.name
    assert flow.serialized_flow["type"] == "prefect.core.flow.Flow"
    assert flow.flow_group_labels == flow.labels == ["dev"]
    assert flow.to_dict()["serialized_flow"] == dict(flow.serialized_flow)


async def test_flow_run_logs_unpack_like_prefects(client: Client) -> None:
    view = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    logs = await view.get_logs()
    assert logs
    for log in logs:
        timestamp, level, message = log
        assert (timestamp, level, message) == (log.timestamp, log.level, log.message)
        assert (log[0], log[1], log[2]) == tuple(log)
        assert log[-1] == message
        assert len(log) == 3
    assert sorted(reversed(logs)) == sorted(logs)


def test_flow_run_logs_sort_by_timestamp_then_level_then_message() -> None:
    at = datetime(2021, 6, 1, tzinfo=timezone.utc)
    later = datetime(2021, 6, 2, tzinfo=timezone.utc)
    logs = [FlowRunLog(timestamp=later, level=logging.INFO, message="a"),
            FlowRunLog(timestamp=at, level=logging.ERROR, message="a"),
            FlowRunLog(timestamp=at, level=logging.INFO, message="b"),
            FlowRunLog(timestamp=at, level=logging.INFO, message="a")]
    assert [tuple(log) for log in sorted(logs)] == sorted(tuple(log) for log in logs)
    assert logs[3] < logs[2] < logs[1] < logs[0]
    assert logs[0] >= logs[1]

"""FlowRunView over real HTTP against the local backend: fields, logs, caching, immutability."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import attrs
import pytest

from flowview_async import Client, FlowRunView, FlowView, TaskRunView, inspect_flow_run
from flowview_async.errors import (
    AmbiguousMatchError,
    FlowRunNotFoundError,
    ImmutableViewError,
    InvalidArgumentError,
    TaskRunNotFoundError,
)
from flowview_async.server import LocalBackend
from tests.conftest import DOC_FLOW_ID, DOC_FLOW_RUN_ID, DOC_TASK_RUN_IDS, WOODOO_LEOPARD_ID

PAGE_LOGS = [
    (datetime(1978, 3, 8, 22, 30, 0, 0, tzinfo=timezone.utc), "Submitted for execution: Task XXXXXXX"),
    (datetime(1978, 3, 8, 22, 30, 1, 123456, tzinfo=timezone.utc), "Beginning Flow run for 'radio_show'"),
    (datetime(1978, 3, 8, 22, 30, 2, 234567, tzinfo=timezone.utc), "Task 'series_one': Starting task run..."),
    (datetime(1978, 3, 8, 22, 42, 42, 424242, tzinfo=timezone.utc),
     "It feels like I just had my brains smashed out by a slice of lemon wrapped round a large gold brick."),
    (datetime(1978, 4, 12, 22, 59, 59, 987654, tzinfo=timezone.utc),
     "Task 'series_one': Finished task run for task with final state: 'Success'"),
    (datetime(1978, 4, 12, 23, 0, 0, 0, tzinfo=timezone.utc),
     "Flow run SUCCESS: all reference tasks succeeded"),
]


async def test_state_of_the_documented_flow_run(client: Client, backend: LocalBackend) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    assert repr(flow_run.state) == '<Success: "All reference tasks succeeded.">'
    assert flow_run.state.is_finished() is True
    assert flow_run.state.is_running() is False
    assert flow_run.state.message == "All reference tasks succeeded."
    assert flow_run.flow_id == DOC_FLOW_ID
    assert flow_run.updated_at is not None
    assert flow_run.updated_at.tzinfo is not None
    assert len(backend.requests) == 1
    assert backend.requests[0].operation_name == "FlowRuns"


async def test_state_history_is_time_ordered(client: Client) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    assert flow_run.states, "the fixture has a state history"
    stamps = [s.timestamp for s in flow_run.states]
    assert all(stamp is not None for stamp in stamps)
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert type(flow_run.states[-1]).__name__ == "Success"


async def test_logs_are_the_pages_six_lines(client: Client, backend: LocalBackend) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    backend.clear_requests()
    logs = await flow_run.get_logs()
    assert [(log.timestamp, log.message) for log in logs] == PAGE_LOGS
    assert {log.level for log in logs} == {20}
    assert len(backend.requests) == 1
    assert repr(logs[1]).startswith("FlowRunLog(timestamp=datetime.datetime(1978, 3, 8, 22, 30, 1, 123456")


async def test_log_window_and_paging_lose_nothing(client: Client, backend: LocalBackend) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    backend.clear_requests()
    paged = await flow_run.get_logs(page_size=2)
    assert [log.message for log in paged] == [m for _, m in PAGE_LOGS]
    assert len(backend.requests) == 3  # 2 + 2 + 2: each page asks for one row more
    after = await flow_run.get_logs(start_time=PAGE_LOGS[1][0], end_time=PAGE_LOGS[4][0])
    assert [log.message for log in after] == [m for _, m in PAGE_LOGS[2:5]]
    streamed = [log.message async for log in flow_run.iter_logs(page_size=4)]
    assert streamed == [m for _, m in PAGE_LOGS]


async def test_flow_metadata_is_lazy_then_cached(client: Client, backend: LocalBackend) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    backend.clear_requests()
    flow = await flow_run.get_flow_metadata()
    assert isinstance(flow, FlowView)
    assert repr(flow) == (
        "FlowView(flow_id='8bdcf5b5-7598-49d1-a885-61612ca550de', name='hello-world', "
        "project_name='default', storage_type=Module)"
    )
    assert await flow_run.get_flow_metadata() is flow
    assert len(backend.requests) == 1
    reloaded = await flow_run.get_flow_metadata(no_cache=True)
    assert reloaded == flow
    assert reloaded is not flow
    assert len(backend.requests) == 2


async def test_task_run_by_slug_matches_the_page_and_is_cached(client: Client,
                                                               backend: LocalBackend) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    backend.clear_requests()
    task_run = await flow_run.get_task_run(task_slug="say_hello-1")
    assert isinstance(task_run, TaskRunView)
    assert repr(task_run) == (
        "TaskRunView(task_run_id='c8751f34-9d5e-4ea7-aead-8b50978dabb7', "
        "task_id='34b0dd2d-582e-4f0a-923d-63daf1e38fe5', task_slug='say_hello-1', "
        "state=<Success: \"Task run succeeded.\">, result=<not loaded>)"
    )
    again = await flow_run.get_task_run(task_slug="say_hello-1")
    by_id = await flow_run.get_task_run(task_run_id=task_run.task_run_id)
    assert again is task_run
    assert by_id is task_run
    assert len(backend.requests) == 1


async def test_task_run_ids_awaited_like_the_page(client: Client, backend: LocalBackend) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    backend.clear_requests()
    assert await flow_run.task_run_ids == DOC_TASK_RUN_IDS
    assert await flow_run.get_task_run_ids() == DOC_TASK_RUN_IDS
    assert len(backend.requests) == 1  # cached: the flow run is finished


async def test_all_task_runs_then_all_from_cache(client: Client, backend: LocalBackend) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    backend.clear_requests()
    task_runs = await flow_run.get_all_task_runs(page_size=2)
    assert [t.task_run_id for t in task_runs] == DOC_TASK_RUN_IDS
    requests_after_first = len(backend.requests)
    assert await flow_run.get_all_task_runs() == task_runs
    assert len(backend.requests) == requests_after_first


async def test_get_latest_keeps_finished_task_runs_only(client: Client, backend: LocalBackend) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    task_run = await flow_run.get_task_run(task_slug="say_hello-1")
    await flow_run.get_flow_metadata()
    latest = await flow_run.get_latest()
    assert latest is not flow_run
    assert latest == flow_run
    backend.clear_requests()
    assert await latest.get_task_run(task_slug="say_hello-1") is task_run
    assert len(backend.requests) == 0
    await latest.get_flow_metadata()
    assert len(backend.requests) == 1  # flow metadata is reloaded for the new snapshot


async def test_views_are_immutable(client: Client) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        flow_run.name = "renamed"  # type: ignore[misc]
    with pytest.raises(ImmutableViewError):
        flow_run.parameters["injected"] = 1  # type: ignore[index]
    with pytest.raises(ImmutableViewError):
        flow_run.context.update({"x": 1})
    with pytest.raises(ImmutableViewError):
        flow_run.labels.append("extra")
    assert flow_run.labels == list(flow_run.labels)  # still compares equal to a plain list


async def test_lookup_by_name_and_bulk(client: Client, backend: LocalBackend) -> None:
    by_name = await FlowRunView.from_flow_run_name("woodoo-leopard", client=client)
    assert by_name.flow_run_id == WOODOO_LEOPARD_ID
    backend.clear_requests()
    views = await FlowRunView.from_flow_run_ids([WOODOO_LEOPARD_ID, DOC_FLOW_RUN_ID,
                                                 WOODOO_LEOPARD_ID], client=client)
    assert [v.flow_run_id for v in views] == [WOODOO_LEOPARD_ID, DOC_FLOW_RUN_ID, WOODOO_LEOPARD_ID]
    assert len(backend.requests) == 1


async def test_full_inspection_sends_its_requests_together() -> None:
    # Every answer waits 50 ms, so requests sent together are seen in flight together.
    async with LocalBackend(latency_ms=50.0) as backend, Client(backend.url) as client:
        backend.clear_requests()
        inspection = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
    assert backend.max_in_flight == 4
    assert {r.operation_name for r in backend.requests} == {
        "FlowRuns", "FlowOfFlowRun", "TaskRuns", "FlowRunLogs"}
    assert inspection.flow.name == "hello-world"
    assert [t.task_run_id for t in inspection.task_runs] == DOC_TASK_RUN_IDS
    assert [log.message for log in inspection.logs] == [m for _, m in PAGE_LOGS]
    document = inspection.to_dict()
    assert set(document) == {"flow_run", "flow", "task_runs", "logs"}
    assert document["flow_run"]["state_message"] == "All reference tasks succeeded."


async def test_many_runs_inspected_concurrently_within_the_bound() -> None:
    async with LocalBackend(latency_ms=20.0) as backend, Client(backend.url, max_concurrency=3) as client:
        backend.clear_requests()
        views = await asyncio.gather(
            *(FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client) for _ in range(12))
        )
    assert len(views) == 12
    assert all(v == views[0] for v in views)
    assert 1 < backend.max_in_flight <= 3


# --- errors ------------------------------------------------------------------------------------


async def test_unknown_flow_run_is_a_typed_not_found(client: Client) -> None:
    with pytest.raises(FlowRunNotFoundError, match="No flow run with id"):
        await FlowRunView.from_flow_run_id("00000000-0000-0000-0000-000000000000", client=client)


@pytest.mark.parametrize("bad", ["not-a-uuid", "", 42, None])
async def test_malformed_ids_are_refused_before_any_request(client: Client, backend: LocalBackend,
                                                            bad: object) -> None:
    with pytest.raises(InvalidArgumentError):
        await FlowRunView.from_flow_run_id(bad, client=client)  # type: ignore[arg-type]
    assert backend.requests == []


async def test_task_run_argument_errors(client: Client) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    with pytest.raises(InvalidArgumentError, match="task_slug"):
        await flow_run.get_task_run()
    with pytest.raises(InvalidArgumentError, match="disagree"):
        await flow_run.get_task_run(task_slug="other-1", task_run_id=DOC_TASK_RUN_IDS[0])
    with pytest.raises(InvalidArgumentError, match="map_index"):
        await flow_run.get_task_run(task_run_id=DOC_TASK_RUN_IDS[0], map_index=3)
    with pytest.raises(TaskRunNotFoundError, match="nope-1"):
        await flow_run.get_task_run(task_slug="nope-1")


async def test_task_run_of_another_flow_run_is_refused(client: Client) -> None:
    other = await FlowRunView.from_flow_run_id(WOODOO_LEOPARD_ID, client=client)
    with pytest.raises(TaskRunNotFoundError, match="belongs to flow run"):
        await other.get_task_run(task_run_id=DOC_TASK_RUN_IDS[0])


async def test_ambiguous_name(client: Client, backend: LocalBackend) -> None:
    await backend.insert("flow_run", [{"flow_id": DOC_FLOW_ID, "name": "woodoo-leopard"}])
    with pytest.raises(AmbiguousMatchError, match="Several flow runs"):
        await FlowRunView.from_flow_run_name("woodoo-leopard", client=client)


async def test_missing_ids_in_bulk_are_listed(client: Client) -> None:
    missing = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(FlowRunNotFoundError, match=missing):
        await FlowRunView.from_flow_run_ids([DOC_FLOW_RUN_ID, missing], client=client)

"""The zombie killer: task runs whose flow run stopped beating are retried or failed; stuck
Cancelling flow runs are failed; flow groups with heartbeats off are left alone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiohttp

from flowview_async.server.runner import LocalBackend
from flowview_async.server.services import run_zombie_killer_once
from tests.server.services.conftest import FLOW, TASKS, TENANT, reader, world

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
RUN = "bbbbbbbb-0000-4000-8000-000000000001"
TASK_RUN = "bbbbbbbb-0000-4000-8000-000000000002"
QUERY = """{ flow_run { state states { state } logs { name level message task_run_id } }
  task_run { id state serialized_state states { state } } }"""


def stale_run(*, flow_state: str = "Running", task_state: str = "Running", beat_minutes_ago: float = 11,
              max_retries: int = 0, retry_delay: Any = None, retried: int = 0,
              group_settings: Any = None) -> dict[str, Any]:
    data = world(group_settings=group_settings)
    data["task"][0].update(max_retries=max_retries, retry_delay=retry_delay)
    beat = (NOW - dt.timedelta(minutes=beat_minutes_ago)).isoformat()
    data["flow_run"] = [{"id": RUN, "tenant_id": TENANT, "flow_id": FLOW, "name": "r", "heartbeat": beat,
                         "state": flow_state}]
    history = [{"task_run_id": TASK_RUN, "state": "Retrying", "version": i + 1,
                "timestamp": f"2026-06-01T11:0{i}:00+00:00"} for i in range(retried)]
    history.append({"task_run_id": TASK_RUN, "state": task_state, "version": retried + 1,
                    "timestamp": "2026-06-01T11:30:00+00:00"})
    data["task_run"] = [{"id": TASK_RUN, "tenant_id": TENANT, "flow_run_id": RUN, "task_id": TASKS[0],
                         "name": "t0"}]
    data["task_run_state"] = history
    return data


async def killed(session: aiohttp.ClientSession, fixture: dict[str, Any]) -> tuple[int, Any]:
    async with LocalBackend(fixture) as backend:
        handled = await run_zombie_killer_once(backend.database, now=NOW)
        return handled, await reader(session, backend).data(QUERY)


async def test_a_running_task_of_a_silent_flow_run_is_failed_with_a_log(
    reader_session: aiohttp.ClientSession,
) -> None:
    handled, data = await killed(reader_session, stale_run())
    assert handled == 1
    (task_run,) = data["task_run"]
    assert task_run["state"] == "Failed"
    assert [s["state"] for s in task_run["states"]][-1] == "Failed"
    (run,) = data["flow_run"]
    assert run["state"] == "Running"  # the flow run itself is the lazarus' business, not this one's
    (log,) = run["logs"]
    assert log["name"] == "ZombieKiller.TaskRun"
    assert log["level"] == "ERROR"
    assert log["task_run_id"] == TASK_RUN
    assert log["message"] == (f"No heartbeat detected from the remote task; marking the task run {TASK_RUN} "
                              "(t0) as failed.")


async def test_a_task_with_retries_left_is_retrying_after_its_delay(
    reader_session: aiohttp.ClientSession,
) -> None:
    handled, data = await killed(reader_session, stale_run(max_retries=2, retry_delay="00:00:30", retried=1))
    assert handled == 1
    (task_run,) = data["task_run"]
    assert task_run["state"] == "Retrying"
    state = task_run["serialized_state"]
    assert state["run_count"] == 2
    assert state["start_time"] == "2026-06-01T12:00:30+00:00"
    assert "This will be retry 2 of 2." in state["message"]


async def test_retries_used_up_or_flow_run_not_running_mean_failed(
    reader_session: aiohttp.ClientSession,
) -> None:
    _, used_up = await killed(reader_session, stale_run(max_retries=1, retried=1))
    assert used_up["task_run"][0]["state"] == "Failed"
    _, not_running = await killed(reader_session, stale_run(max_retries=3, flow_state="Cancelling"))
    assert not_running["task_run"][0]["state"] == "Failed"


async def test_fresh_heartbeats_other_states_and_disabled_heartbeats_are_left_alone(
    reader_session: aiohttp.ClientSession,
) -> None:
    for fixture in (
        stale_run(beat_minutes_ago=9),
        stale_run(task_state="Retrying"),
        stale_run(task_state="Success"),
        stale_run(group_settings={"heartbeat_enabled": False}),
    ):
        handled, data = await killed(reader_session, fixture)
        assert handled == 0
        assert data["flow_run"][0]["logs"] == []
    handled, _ = await killed(reader_session, stale_run(group_settings={"heartbeat_enabled": True}))
    assert handled == 1


async def test_a_flow_run_stuck_in_cancelling_is_failed(
    reader_session: aiohttp.ClientSession,
) -> None:
    handled, data = await killed(reader_session, stale_run(flow_state="Cancelling", task_state="Success"))
    assert handled == 1
    (run,) = data["flow_run"]
    assert run["state"] == "Failed"
    (log,) = run["logs"]
    assert (log["name"], log["task_run_id"]) == ("ZombieKiller.FlowRun", None)
    assert log["message"] == "No heartbeat detected from the flow run; marking the run as failed."

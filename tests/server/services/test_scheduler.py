"""The scheduler service: the next runs of flows with an active schedule, as Prefect Server makes them."""

from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp

from flowview_async.server.runner import LocalBackend
from flowview_async.server.services import ServiceSettings, run_scheduler_once
from tests.server.services.conftest import FLOW, hourly, reader, world

NOW = dt.datetime(2026, 6, 1, 12, 30, tzinfo=dt.timezone.utc)
RUNS = """{ flow_run(where: {flow_id: {_eq: "FLOW"}}, order_by: {scheduled_start_time: asc}) {
  id scheduled_start_time state auto_scheduled labels parameters idempotency_key
  states { state message } task_runs { map_index state }
} }""".replace("FLOW", FLOW)


async def test_an_active_schedule_gets_its_next_ten_runs_once(
    reader_session: aiohttp.ClientSession,
) -> None:
    async with LocalBackend(world(schedule=hourly())) as backend:
        assert await run_scheduler_once(backend.database, now=NOW) == 10
        runs = (await reader(reader_session, backend).data(RUNS))["flow_run"]
        assert [r["scheduled_start_time"] for r in runs] == [
            f"2026-06-01T{hour:02d}:00:00+00:00" for hour in range(13, 23)
        ]
        first = runs[0]
        assert first["state"] == "Scheduled"
        assert first["auto_scheduled"] is True
        assert first["idempotency_key"] == "auto-scheduled:2026-06-01T13:00:00+00:00"
        assert first["labels"] == ["dev"]
        assert first["parameters"] == {"who": "world"}
        assert first["states"] == [{"state": "Scheduled", "message": "Flow run scheduled."}]
        assert sorted((t["map_index"], t["state"]) for t in first["task_runs"]) == [(-1, "Pending")] * 2

        # Visiting again, even a little later, adds nothing: the same events are already there.
        later = NOW + dt.timedelta(minutes=5)
        await run_scheduler_once(backend.database, now=later)
        assert len((await reader(reader_session, backend).data(RUNS))["flow_run"]) == 10
        # An hour on, one new event is due beyond the last scheduled run: exactly one run more.
        await run_scheduler_once(backend.database, now=NOW + dt.timedelta(hours=1))
        again = (await reader(reader_session, backend).data(RUNS))["flow_run"]
        assert len(again) == 11
        assert again[-1]["scheduled_start_time"] == "2026-06-01T23:00:00+00:00"


async def test_clock_parameters_and_labels_go_on_the_runs(
    reader_session: aiohttp.ClientSession,
) -> None:
    schedule = hourly(parameter_defaults={"who": "clock"}, labels=["night"])
    async with LocalBackend(world(schedule=schedule)) as backend:
        await run_scheduler_once(backend.database, now=NOW, max_runs=2)
        await run_scheduler_once(backend.database, now=NOW, max_runs=2)
        runs = (await reader(reader_session, backend).data(RUNS))["flow_run"]
        assert len(runs) == 2  # the hashed idempotency key still stops doubles
        assert {(tuple(r["labels"]), r["parameters"]["who"]) for r in runs} == {(("night",), "clock")}
        assert all(r["idempotency_key"].startswith("auto-scheduled:2026-06-01T1") for r in runs)


async def test_inactive_archived_or_unscheduled_flows_get_nothing(
    reader_session: aiohttp.ClientSession,
) -> None:
    for kwargs in ({"schedule": hourly(), "active": False}, {"schedule": hourly(), "archived": True},
                   {"schedule": None}):
        async with LocalBackend(world(**kwargs)) as backend:  # type: ignore[arg-type]
            assert await run_scheduler_once(backend.database, now=NOW) == 0
            assert (await reader(reader_session, backend).data(RUNS))["flow_run"] == []


async def test_a_schedule_it_cannot_read_is_skipped(
    reader_session: aiohttp.ClientSession,
) -> None:
    unreadable = {"type": "Schedule", "clocks": [{"type": "RRuleClock"}]}
    async with LocalBackend(world(schedule=unreadable)) as backend:
        assert await run_scheduler_once(backend.database, now=NOW) == 0


async def test_the_service_runs_in_the_background_of_a_backend(
    reader_session: aiohttp.ClientSession,
) -> None:
    settings = ServiceSettings(zombie_killer=False, max_scheduled_runs_per_flow=3)
    async with LocalBackend(world(schedule=hourly()), services=settings) as backend:
        read = reader(reader_session, backend)
        # The first visit happens at start; wait for it without assuming how long it takes.
        while len((await read.data(RUNS))["flow_run"]) < 3:
            await asyncio.sleep(0.02)
        assert len((await read.data(RUNS))["flow_run"]) == 3


async def test_services_are_off_unless_asked(
    reader_session: aiohttp.ClientSession,
) -> None:
    async with LocalBackend(world(schedule=hourly())) as backend:
        await asyncio.sleep(0)  # give a wrongly started service its chance
        await backend.database.run(lambda c: None)
        assert (await reader(reader_session, backend).data(RUNS))["flow_run"] == []


async def test_turning_a_schedule_on_creates_its_next_runs_and_off_deletes_them(
    reader_session: aiohttp.ClientSession,
) -> None:
    on = f"mutation {{ set_schedule_active(input: {{flow_id: \"{FLOW}\"}}) {{ success }} }}"
    off = f"mutation {{ set_schedule_inactive(input: {{flow_id: \"{FLOW}\"}}) {{ success }} }}"
    async with LocalBackend(world(schedule=hourly(), active=False)) as backend:
        read = reader(reader_session, backend)
        assert (await read.data(on))["set_schedule_active"]["success"] is True
        runs = (await read.data(RUNS))["flow_run"]
        assert len(runs) == 10
        assert all(r["auto_scheduled"] and r["state"] == "Scheduled" for r in runs)
        # The service's next visit finds them already there.
        assert await run_scheduler_once(backend.database) == 0
        assert len((await read.data(RUNS))["flow_run"]) == 10
        assert (await read.data(off))["set_schedule_inactive"]["success"] is True
        assert (await read.data(RUNS))["flow_run"] == []

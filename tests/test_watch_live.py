"""The watch against many live runs in the local backend (issue 10's "what it must show").

A driver task advances the runs (tests/watch_scenario.py) while the watch runs; what must have been
delivered is read back from the database at the end, and compared id for id: every state, task-run
state and log line exactly once, however the watch was interrupted, resumed or changed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from contextlib import aclosing
from typing import Any

import pytest

from flowview_async import Client
from flowview_async._retry import RetryPolicy
from flowview_async.errors import FlowRunNotFoundError, UsageError
from flowview_async.server import LocalBackend
from flowview_async.server.faults import FAULT_KINDS
from flowview_async.watch import (
    LogLine,
    RunError,
    RunFinished,
    StateChange,
    TaskRunStateChange,
    WatchEvent,
    watch_flow_run,
    watch_flow_runs,
)
from tests.watch_scenario import (
    Collector,
    advance,
    at,
    delete_run,
    delivered,
    make_runs,
    state,
    stored,
    write_logs,
)

FAST: dict[str, Any] = {"poll_interval": 0.01, "max_poll_interval": 0.05, "max_duration": 900}


def assert_exactly_once(got: list[str], expected: list[str], what: str) -> None:
    repeated = [i for i, n in Counter(got).items() if n > 1]
    assert not repeated, f"{what} delivered twice: {repeated[:3]}"
    assert sorted(got) == sorted(expected), f"{what}: {len(got)} delivered, {len(expected)} stored"


async def test_fifty_live_runs_one_deleted_halfway(backend: LocalBackend, client: Client) -> None:
    runs = await make_runs(backend, 50)
    doomed = runs[17].flow_run_id
    collector = Collector()
    watch = watch_flow_runs([r.flow_run_id for r in runs], client=client, stream_task_runs=True,
                            page_size=50, **FAST)
    consumer = asyncio.create_task(collector.consume(watch))

    def lines_of_others(events: list[WatchEvent]) -> int:
        return sum(isinstance(e, LogLine) and e.flow_run_id != doomed for e in events)

    async def checkpoint(number: int) -> None:
        # Let the watcher see each round before the next, so late lines really come late.
        await collector.wait_for(lambda events: sum(
            isinstance(e, StateChange) for e in events) >= 50 * min(number + 1, 3))
        if number >= 3:
            batch = min(number - 3, 2)
            await collector.wait_for(
                lambda events: lines_of_others(events) >= 49 * ((batch + 1) * 30 + batch * 5))
        if number == 3:
            await delete_run(backend, doomed)
            alive.remove(runs[17])

    alive = list(runs)

    async def drive_all() -> None:
        # All runs step together; the doomed run is deleted after round 3 and not advanced.
        await advance(backend, alive, checkpoint=checkpoint)

    await drive_all()
    await asyncio.wait_for(consumer, timeout=120)

    by_run = delivered(collector.events)
    for run in runs:
        got = by_run[run.flow_run_id]
        if run.flow_run_id == doomed:
            assert len(got.ends) == 1
            assert isinstance(got.ends[0], RunError)
            assert isinstance(got.ends[0].error, FlowRunNotFoundError)
            assert "deleted" in got.ends[0].message
            continue
        expected = await stored(backend, run.flow_run_id)
        assert got.states == expected.states  # in the backend's order, each once
        assert_exactly_once(got.task_states, expected.task_states, "task-run states")
        assert_exactly_once(got.logs, expected.logs, "log lines")
        assert len(got.ends) == 1
        assert isinstance(got.ends[0], RunFinished)
        assert got.ends[0].state.is_failed() == (run.index % 2 == 1)
    # The doomed run's error is its last event, and each run's end is its last event.
    for run_id, got in by_run.items():
        last = max(i for i, e in enumerate(collector.events) if e.flow_run_id == run_id)
        assert collector.events[last] is got.ends[0]
    # A mapped child failing is an event a service can act on.
    failed_children = [e for e in collector.events if isinstance(e, TaskRunStateChange)
                       and e.map_index >= 0 and e.state.is_failed()]
    assert {e.flow_run_id for e in failed_children} == {
        r.flow_run_id for r in runs if r.index % 2 == 1 and r.flow_run_id != doomed}
    assert all(e.task_slug and e.task_slug.startswith("mapped-") for e in failed_children)


async def test_a_clock_skewed_late_state_is_delivered_once(backend: LocalBackend,
                                                           client: Client) -> None:
    (run,) = await make_runs(backend, 1)
    collector = Collector()
    consumer = asyncio.create_task(collector.consume(
        watch_flow_run(run.flow_run_id, client=client, **FAST)))
    await backend.set_state("flow_run", run.flow_run_id, state("Running", "running"),
                            timestamp=at(20))
    await collector.wait_for(lambda events: len(events) == 2)
    # Written after Running was seen, stamped before it (the agent's clock is behind).
    await backend.set_state("flow_run", run.flow_run_id, state("Submitted", "late"),
                            timestamp=at(10))
    await collector.wait_for(lambda events: len(events) == 3)
    await backend.set_state("flow_run", run.flow_run_id, state("Success", "done"),
                            timestamp=at(30))
    await asyncio.wait_for(consumer, timeout=60)
    states = [e for e in collector.events if isinstance(e, StateChange)]
    assert [type(e.state).__name__ for e in states] == ["Scheduled", "Running", "Submitted",
                                                        "Success"]
    assert sorted(str(e.state_id) for e in states) == sorted(
        (await stored(backend, run.flow_run_id)).states)
    assert isinstance(collector.events[-1], RunFinished)


async def test_a_late_state_resumed_across_a_cursor_is_neither_lost_nor_repeated(
        backend: LocalBackend, client: Client) -> None:
    # Versions 2 and 3 arrive in one poll with 3 stamped before 2: after delivering 3 (first by
    # timestamp), a cursor must still ask for 2.
    (run,) = await make_runs(backend, 1)
    await backend.set_state("flow_run", run.flow_run_id, state("Running", "v2"), timestamp=at(20))
    await backend.set_state("flow_run", run.flow_run_id, state("Submitted", "v3"), timestamp=at(5))
    async with watch_flow_run(run.flow_run_id, client=client, stream_logs=False, **FAST) as watch:
        first = [await watch.__anext__() for _ in range(2)]  # Scheduled (at 0), Submitted (at 5)
    assert [e.state.message for e in first if isinstance(e, StateChange)] == ["scheduled", "v3"]
    await backend.set_state("flow_run", run.flow_run_id, state("Success", "v4"), timestamp=at(30))
    rest = [e async for e in watch_flow_run(run.flow_run_id, client=client, start=first[-1].cursor,
                                            stream_logs=False, **FAST)]
    messages = [e.state.message for e in rest if isinstance(e, StateChange)]
    assert messages == ["v2", "v4"]


async def test_resuming_from_saved_cursors_loses_and_repeats_nothing(backend: LocalBackend,
                                                                     client: Client) -> None:
    runs = await make_runs(backend, 6)
    ids = [r.flow_run_id for r in runs]
    # A backlog first (read in pages of 7, so cursors fall mid-page), then live rounds.
    for run in runs:
        await write_logs(backend, run.flow_run_id, 3, 30, label="backlog")
    all_events: list[WatchEvent] = []
    cursor = "beginning"
    driver = asyncio.create_task(advance(backend, runs, pause=0.05))
    watches = 0
    while True:
        watches += 1
        async with watch_flow_runs(ids, client=client, start=cursor, stream_task_runs=True,
                                   page_size=7, **FAST) as watch:
            taken = 0
            async for event in watch:
                all_events.append(event)
                taken += 1
                if taken == 37:  # stop mid-way, as a service restarting would
                    break
            else:
                break
        cursor = all_events[-1].cursor
        # A few dozen characters per row stored within the late window, a little per run.
        assert len(cursor) < 200 * len(runs) + 40 * len(all_events)
    await driver
    assert watches > 3
    by_run = delivered(all_events)
    for run in runs:
        expected = await stored(backend, run.flow_run_id)
        got = by_run[run.flow_run_id]
        assert_exactly_once(got.states, expected.states, "states")
        assert_exactly_once(got.task_states, expected.task_states, "task-run states")
        assert_exactly_once(got.logs, expected.logs, "log lines")
        assert [type(e) for e in got.ends] == [RunFinished]
    # A cursor taken after the end resumes to nothing.
    assert [e async for e in watch_flow_runs(ids, client=client, start=all_events[-1].cursor,
                                             **FAST)] == []


async def test_runs_added_and_removed_while_watching(backend: LocalBackend,
                                                     client: Client) -> None:
    first, added, added_now, removed = await make_runs(backend, 4)
    await write_logs(backend, added.flow_run_id, 3, 5, label="history")
    await write_logs(backend, added_now.flow_run_id, 3, 5, label="history")
    collector = Collector()
    async with watch_flow_runs([first.flow_run_id, removed.flow_run_id], client=client,
                               **FAST) as watch:
        consumer = asyncio.create_task(collector.consume(watch))
        await collector.wait_for(lambda events: len(events) >= 2)
        watch.add(added.flow_run_id)  # from its beginning
        watch.add(added_now.flow_run_id, start="now")
        watch.remove(removed.flow_run_id)
        assert set(watch.runs) == {first.flow_run_id, added.flow_run_id, added_now.flow_run_id}
        await collector.wait_for(lambda events: any(
            e.flow_run_id == added.flow_run_id for e in events))
        await advance(backend, [first, added, added_now, removed], batches=1, lines=4)
        await asyncio.wait_for(consumer, timeout=60)
    by_run = delivered(collector.events)
    assert_exactly_once(by_run[added.flow_run_id].logs,
                        (await stored(backend, added.flow_run_id)).logs, "added run's lines")
    # "now": only what happened after it was added: not the 5 history lines nor Scheduled.
    now_run = by_run[added_now.flow_run_id]
    expected_now = await stored(backend, added_now.flow_run_id)
    assert len(now_run.logs) == len(expected_now.logs) - 5
    assert len(now_run.states) == len(expected_now.states) - 1
    # The removed run: nothing after its removal, no end event.
    assert by_run[removed.flow_run_id].ends == []
    assert [type(e) for e in by_run[first.flow_run_id].ends] == [RunFinished]
    with pytest.raises(UsageError):
        watch.add(first.flow_run_id)


# Every kind the backend injects; short Retry-After waits, and "slow" past the client's timeout.
_FAULT_ARGUMENTS = {"429": "@0.01", "503_errors": "@0.01", "429_errors": "@0.01", "slow": "@1"}


@pytest.mark.parametrize("fault", [kind + _FAULT_ARGUMENTS.get(kind, "") for kind in FAULT_KINDS])
async def test_every_transient_fault_is_ridden_out(fault: str) -> None:
    # No client retries and a short client timeout: every fault reaches the watch.
    async with LocalBackend(faults=f"ok*3,{fault}*4,ok*2,{fault}*3") as backend, \
            Client(backend.url, retry=RetryPolicy(attempts=1), timeout=0.5) as client:
        (run,) = await make_runs(backend, 1)
        collector = Collector()
        consumer = asyncio.create_task(collector.consume(
            watch_flow_run(run.flow_run_id, client=client, stream_task_runs=True, **FAST)))
        await advance(backend, [run], batches=2, lines=6)
        await asyncio.wait_for(consumer, timeout=60)
        expected = await stored(backend, run.flow_run_id)
    got = delivered(collector.events)[run.flow_run_id]
    assert got.states == expected.states
    assert_exactly_once(got.task_states, expected.task_states, "task-run states")
    assert_exactly_once(got.logs, expected.logs, "log lines")
    assert [type(e) for e in got.ends] == [RunFinished]


async def test_a_run_whose_rows_keep_failing_leaves_alone(backend: LocalBackend,
                                                          client: Client) -> None:
    good, bad = await make_runs(backend, 2)

    def corrupt(connection: Any) -> None:
        connection.execute("UPDATE flow_run_state SET serialized_state = '{\"type\": 7}' "
                           "WHERE flow_run_id = ?", (bad.flow_run_id,))

    await backend.database.transaction(corrupt)
    await backend.set_state("flow_run", good.flow_run_id, state("Success", "ok"), timestamp=at(5))
    events = [e async for e in watch_flow_runs([good.flow_run_id, bad.flow_run_id],
                                               client=client, max_run_failures=2, **FAST)]
    errors = [e for e in events if isinstance(e, RunError)]
    assert [e.flow_run_id for e in errors] == [bad.flow_run_id]
    assert "could not be read 2 times in a row" in errors[0].message
    assert [type(e) for e in events if e.flow_run_id == good.flow_run_id][-1] is RunFinished


async def test_closing_mid_backlog_leaves_no_task_and_the_client_usable(
        backend: LocalBackend, client: Client) -> None:
    (run,) = await make_runs(backend, 1)
    await write_logs(backend, run.flow_run_id, 3, 50, label="backlog")
    async with aclosing(watch_flow_run(run.flow_run_id, client=client, page_size=5,
                                       **FAST)) as watch:
        async for event in watch:
            if isinstance(event, LogLine):
                break
    left = asyncio.all_tasks() - {asyncio.current_task()}
    assert all(getattr(t.get_coro(), "__qualname__", "").startswith("RequestHandler.")
               for t in left)
    assert (await client.execute("{ flow_run(limit: 1) { id } }"))["flow_run"]
    with pytest.raises(UsageError):
        watch.add(str(uuid.uuid4()))


async def test_a_fan_out_failing_cancels_its_siblings_and_the_watch_goes_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Two runs per request, so a poll of six runs is three requests at once; some of them fail
    # (no client retries), and the latency keeps the others in flight when one does.
    monkeypatch.setattr("flowview_async.watch.poller.RUNS_PER_REQUEST", 2)
    async with LocalBackend(faults="ok*8,503*1,ok*3,500*2", latency_ms=20) as backend, \
            Client(backend.url, retry=RetryPolicy(attempts=1)) as client:
        runs = await make_runs(backend, 6)
        collector = Collector()
        consumer = asyncio.create_task(collector.consume(watch_flow_runs(
            [r.flow_run_id for r in runs], client=client, **FAST)))
        await advance(backend, runs, batches=1, lines=4)
        await asyncio.wait_for(consumer, timeout=60)
        by_run = delivered(collector.events)
        for run in runs:
            expected = await stored(backend, run.flow_run_id)
            assert_exactly_once(by_run[run.flow_run_id].logs, expected.logs, "log lines")
            assert by_run[run.flow_run_id].states == expected.states
        assert sum(r.status >= 500 for r in backend.requests) == 3
    left = asyncio.all_tasks() - {asyncio.current_task()}
    assert not left


async def test_cancelling_the_consumer_mid_fan_out_leaves_no_task(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flowview_async.watch.poller.RUNS_PER_REQUEST", 1)
    async with LocalBackend(latency_ms=50) as backend, Client(backend.url) as client:
        runs = await make_runs(backend, 4)
        collector = Collector()
        consumer = asyncio.create_task(collector.consume(watch_flow_runs(
            [r.flow_run_id for r in runs], client=client, **FAST)))
        await collector.wait_for(lambda events: len(events) >= 4)  # backlogs read: polls now
        while backend.max_in_flight < 2:  # until a fan-out is in flight
            await asyncio.sleep(0.01)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        left = asyncio.all_tasks() - {asyncio.current_task()}
        assert all(getattr(t.get_coro(), "__qualname__", "").startswith("RequestHandler.")
                   for t in left)
        assert (await client.execute("{ flow_run(limit: 1) { id } }"))["flow_run"]

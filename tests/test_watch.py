"""watch_flow_run / watch_flow_runs against the local backend, over real HTTP on 127.0.0.1.

A driver task advances runs through their states and writes log lines (many sharing one timestamp,
some written after the watcher already read that timestamp, with ids sorting before the ones it
saw) while the watcher runs. The driver waits for the watcher to see each step before the next one,
so the interleaving is deterministic without asserting anything about time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from flowview_async import Client
from flowview_async._retry import RetryPolicy
from flowview_async.errors import (
    BackendUnavailableError,
    FlowRunNotFoundError,
    InvalidArgumentError,
    WatchTimeoutError,
)
from flowview_async.recording import replay
from flowview_async.server import LocalBackend
from flowview_async.watch import (
    LogLine,
    RunError,
    RunFinished,
    StateChange,
    WatchEvent,
    watch_flow_run,
    watch_flow_runs,
)

DOC_FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
DOC_FLOW_ID = "8bdcf5b5-7598-49d1-a885-61612ca550de"
TENANT_ID = "5e0a5f3c-2d1b-4c7e-9a8f-6b4d2c0e8a11"
BASE = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

FAST: dict[str, Any] = {"poll_interval": 0.01, "max_poll_interval": 0.05, "max_duration": 60}


def at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat()


def state(kind: str, message: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "__version__": "1.4.1"}


async def new_flow_run(backend: LocalBackend, name: str) -> str:
    flow_run_id = str(uuid.uuid4())
    await backend.insert("flow_run", [{
        "id": flow_run_id, "tenant_id": TENANT_ID, "flow_id": DOC_FLOW_ID, "name": name,
        "labels": [], "parameters": {}, "context": {}, "created": at(0), "updated": at(0),
    }])
    await backend.set_state("flow_run", flow_run_id, state("Scheduled", "Flow run scheduled."),
                            timestamp=at(0))
    return flow_run_id


async def write_logs(backend: LocalBackend, flow_run_id: str, seconds: float, messages: list[str],
                     *, id_prefix: str) -> list[str]:
    """Log lines all stamped ``seconds`` after BASE, with ids sorting by ``id_prefix``."""
    ids = [f"{id_prefix}{index:04x}-0000-4000-8000-{uuid.uuid4().hex[:12]}"
           for index in range(len(messages))]
    await backend.insert("log", [{
        "id": log_id, "flow_run_id": flow_run_id, "timestamp": at(seconds), "level": "INFO",
        "name": "prefect.test", "message": message,
    } for log_id, message in zip(ids, messages, strict=True)])
    return ids


def log_lines(events: list[WatchEvent]) -> list[LogLine]:
    return [e for e in events if isinstance(e, LogLine)]


class Collector:
    """Consumes a watch stream, letting a driver wait until a condition on the events holds."""

    def __init__(self) -> None:
        self.events: list[WatchEvent] = []
        self._changed = asyncio.Condition()

    async def consume(self, stream: AsyncIterator[WatchEvent]) -> None:
        async for event in stream:
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[list[WatchEvent]], bool]) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self.events))

    def logs(self) -> list[LogLine]:
        return log_lines(self.events)

    def states(self) -> list[StateChange]:
        return [e for e in self.events if isinstance(e, StateChange)]


def only_our_task_left() -> bool:
    """No task but the test's own, apart from the local backend's per-connection server tasks
    (it runs in the same event loop, and keeps idle keep-alive connections open)."""
    left = asyncio.all_tasks() - {asyncio.current_task()}
    return all(type(t.get_coro()).__name__ == "coroutine"
               and t.get_coro().__qualname__.startswith("RequestHandler.")  # type: ignore[union-attr]
               for t in left)


async def test_every_state_and_log_line_arrives_once_in_order(backend: LocalBackend,
                                                              client: Client) -> None:
    flow_run_id = await new_flow_run(backend, "equal-timestamps")
    collector = Collector()
    stream = watch_flow_run(flow_run_id, client=client, page_size=7, **FAST)
    consumer = asyncio.create_task(collector.consume(stream))
    written: list[str] = []

    await collector.wait_for(lambda events: len(events) == 1)  # Scheduled
    await backend.set_state("flow_run", flow_run_id, state("Submitted", "Submitted"), timestamp=at(1))
    await backend.set_state("flow_run", flow_run_id, state("Running", "Running flow."), timestamp=at(2))
    # 30 lines sharing one timestamp, more than a page: Prefect 1's `_gt` kept one of them per poll.
    written += await write_logs(backend, flow_run_id, 3, [f"first {i}" for i in range(30)],
                                id_prefix="ffff")
    await collector.wait_for(lambda events: len(log_lines(events)) == 30)
    # The same timestamp again, after the watcher read it, with ids sorting before the ones seen:
    # a pure (timestamp, id) cursor would skip every one of them.
    written += await write_logs(backend, flow_run_id, 3, [f"late {i}" for i in range(12)],
                                id_prefix="0000")
    written += await write_logs(backend, flow_run_id, 4, [f"next {i}" for i in range(9)],
                                id_prefix="8888")
    await collector.wait_for(lambda events: len(log_lines(events)) == 51)
    await backend.set_state("flow_run", flow_run_id, state("Success", "All reference tasks succeeded."),
                            timestamp=at(5))
    # Lines of the final moments, written after the final state: drained before the stream ends.
    written += await write_logs(backend, flow_run_id, 5, ["Flow run SUCCESS"], id_prefix="aaaa")
    await asyncio.wait_for(consumer, timeout=30)

    assert [type(s.state).__name__ for s in collector.states()] == [
        "Scheduled", "Submitted", "Running", "Success"]
    assert [line.log.id for line in collector.logs()].count(written[0]) == 1
    assert sorted(str(line.log.id) for line in collector.logs()) == sorted(written)
    assert len({line.log.id for line in collector.logs()}) == len(written)
    timestamps = [event.timestamp for event in collector.events]
    assert timestamps == sorted(timestamps)
    final = collector.events[-1]
    assert isinstance(final, RunFinished)
    assert final.state.is_successful()
    assert final.flow_run.flow_run_id == flow_run_id
    assert all(event.flow_run_id == flow_run_id for event in collector.events)


async def test_finished_run_replays_its_history_and_logs(client: Client) -> None:
    async with aclosing(watch_flow_run(DOC_FLOW_RUN_ID, client=client, **FAST)) as stream:
        events = [event async for event in stream]
    states = [e for e in events if isinstance(e, StateChange)]
    logs = [e for e in events if isinstance(e, LogLine)]
    assert [type(s.state).__name__ for s in states][-1] == "Success"
    assert len(logs) == 6  # the six lines the documentation page shows
    assert logs[0].log.message == "Submitted for execution: Task XXXXXXX"
    assert isinstance(events[-1], RunFinished)
    assert events[-1].state.message == "All reference tasks succeeded."


async def test_stream_switches(client: Client) -> None:
    only_logs = [e async for e in watch_flow_run(DOC_FLOW_RUN_ID, client=client, stream_states=False,
                                                 **FAST)]
    only_states = [e async for e in watch_flow_run(DOC_FLOW_RUN_ID, client=client, stream_logs=False,
                                                   **FAST)]
    assert {type(e) for e in only_logs} == {LogLine, RunFinished}
    assert {type(e) for e in only_states} == {StateChange, RunFinished}


async def test_early_break_leaves_no_task_behind(backend: LocalBackend, client: Client) -> None:
    flow_run_id = await new_flow_run(backend, "never-ends")
    async with aclosing(watch_flow_run(flow_run_id, client=client, **FAST)) as stream:
        async for event in stream:
            assert isinstance(event, StateChange)
            break
    assert only_our_task_left()
    # The client is still usable: nothing was left half-done on it.
    assert (await client.execute("{ flow_run(limit: 1) { id } }"))["flow_run"]


async def test_early_break_without_a_client_closes_the_temporary_one(
        backend: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT__BACKEND", "server")  # Prefect 1's default backend is cloud
    monkeypatch.setenv("PREFECT__SERVER__ENDPOINT", backend.url)
    async with aclosing(watch_flow_run(DOC_FLOW_RUN_ID, **FAST)) as stream:
        async for _ in stream:
            break
    assert only_our_task_left()


async def test_cancellation_mid_request_leaves_no_task_behind() -> None:
    # Latency keeps the watcher inside its concurrent requests most of the time.
    async with LocalBackend(latency_ms=40) as backend, Client(backend.url) as client:
        flow_run_id = await new_flow_run(backend, "cancel-me")
        collector = Collector()
        consumer = asyncio.create_task(
            collector.consume(watch_flow_run(flow_run_id, client=client, **FAST)))
        await collector.wait_for(lambda events: len(events) >= 1)
        await backend.set_state("flow_run", flow_run_id, state("Running", "Running"), timestamp=at(1))
        await collector.wait_for(lambda events: len(events) >= 2)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert only_our_task_left()
        assert not client.is_closed
        # In-flight requests were cancelled on our side; the client keeps working.
        assert (await client.execute("{ flow_run(limit: 1) { id } }"))["flow_run"]


async def test_max_duration_raises_watch_timeout(backend: LocalBackend, client: Client) -> None:
    flow_run_id = await new_flow_run(backend, "too-slow")
    collector = Collector()
    stream = watch_flow_run(flow_run_id, client=client, poll_interval=0.01, max_poll_interval=0.02,
                            max_duration=0.15)
    with pytest.raises(WatchTimeoutError) as caught:
        await collector.consume(stream)
    seen = collector.events
    assert flow_run_id in str(caught.value)
    assert "Scheduled" in str(caught.value)
    assert "max_duration" in str(caught.value)
    assert [type(e) for e in seen] == [StateChange]
    assert isinstance(caught.value, TimeoutError)


async def test_backoff_grows_while_quiet_and_resets_on_change(backend: LocalBackend,
                                                               client: Client) -> None:
    flow_run_id = await new_flow_run(backend, "quiet")
    waits: list[float] = []
    real_sleep = client.sleep

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 6:
            await backend.set_state("flow_run", flow_run_id, state("Running", "go"), timestamp=at(1))
        if len(waits) == 12:
            await backend.set_state("flow_run", flow_run_id, state("Failed", "boom"), timestamp=at(2))
        await real_sleep(0)

    client.sleep = recording_sleep  # type: ignore[method-assign]
    events = [e async for e in watch_flow_run(flow_run_id, client=client, poll_interval=1.0,
                                              max_poll_interval=4.0, max_duration=None)]
    assert waits[:6] == [1.0, 1.5, 2.25, 3.375, 4.0, 4.0]
    assert waits[6] == 1.0  # the poll after the change
    assert waits[7] == 1.5
    assert isinstance(events[-1], RunFinished)
    assert events[-1].state.is_failed()


async def test_many_runs_from_one_task_with_two_requests_per_poll(backend: LocalBackend,
                                                                   client: Client) -> None:
    runs = [await new_flow_run(backend, f"run-{i}") for i in range(5)]
    collector = Collector()
    consumer = asyncio.create_task(collector.consume(
        watch_flow_runs([*runs, runs[0]], client=client, **FAST)))
    await collector.wait_for(lambda events: len(events) == 5)
    for index, flow_run_id in enumerate(runs):
        await write_logs(backend, flow_run_id, 1, [f"run {index} line {i}" for i in range(3)],
                         id_prefix="1234")
        final = state("Failed", "boom") if index % 2 else state("Success", "ok")
        await backend.set_state("flow_run", flow_run_id, final, timestamp=at(2))
    await asyncio.wait_for(consumer, timeout=30)

    finished = {e.flow_run_id: e.state for e in collector.events if isinstance(e, RunFinished)}
    assert set(finished) == set(runs)
    assert [flow_run_id for flow_run_id in runs if finished[flow_run_id].is_failed()] == runs[1::2]
    for flow_run_id in runs:
        lines = [e for e in collector.logs() if e.flow_run_id == flow_run_id]
        assert len(lines) == 3
    operations = [r.operation_name for r in backend.requests]
    # Where the backend's clock is (one request), each run's (empty) backlog in one request each;
    # then one request per poll for all five runs (counting new lines), the new lines when the
    # counts moved, and the final snapshots of the runs that finished together.
    assert operations[:6] == ["WatchNewest"] + ["WatchPoll"] * 5
    assert set(operations[6:]) == {"WatchPoll", "WatchLogs", "FlowRuns"}
    # Only polls whose counts moved read lines: far fewer than the polls.
    assert operations.count("WatchLogs") < operations.count("WatchPoll") - 5
    assert operations.count("FlowRuns") <= 5


async def test_an_unknown_run_ends_with_its_own_error_event(client: Client) -> None:
    unknown = str(uuid.uuid4())
    events = [e async for e in watch_flow_runs([unknown, DOC_FLOW_RUN_ID], client=client, **FAST)]
    errors = [e for e in events if isinstance(e, RunError)]
    assert [e.flow_run_id for e in errors] == [unknown]
    assert isinstance(errors[0].error, FlowRunNotFoundError)
    assert unknown in errors[0].message
    # The known run went on to its end.
    assert isinstance(events[-1], RunFinished)
    assert events[-1].flow_run_id == DOC_FLOW_RUN_ID


@pytest.mark.parametrize("arguments", [
    {"flow_run_id": "not-a-uuid"},
    {"poll_interval": 0},
    {"poll_interval": -1},
    {"poll_interval": float("nan")},
    {"max_poll_interval": float("inf")},
    {"poll_interval": 5, "max_poll_interval": 1},
    {"late_log_window": float("inf")},
    {"late_log_window": float("nan")},
    {"late_log_window": -1},
    {"max_duration": float("nan")},
    {"page_size": 0},
    {"max_run_failures": 0},
    {"start": "yesterday"},
    {"start": "fvw1.not-base64-zlib"},
    {"start": 3},
])
async def test_bad_arguments_raise_at_once(client: Client, arguments: dict[str, Any]) -> None:
    flow_run_id = arguments.pop("flow_run_id", DOC_FLOW_RUN_ID)
    with pytest.raises(InvalidArgumentError):
        watch_flow_run(flow_run_id, client=client, **arguments)
    assert not client.is_closed


@pytest.mark.parametrize("ids", [[], DOC_FLOW_RUN_ID, [DOC_FLOW_RUN_ID, 7], [None], 5])
async def test_bad_id_lists_raise_at_once(client: Client, ids: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        watch_flow_runs(ids, client=client)


async def test_a_recorded_watch_replays_identically_and_instantly(backend: LocalBackend,
                                                                  tmp_path: Any) -> None:
    cassette = tmp_path / "watch.json"
    async with Client(backend.url, cassette=cassette, record_mode="all") as recording:
        recorded = [e async for e in watch_flow_run(DOC_FLOW_RUN_ID, client=recording, **FAST)]
    async with replay(cassette) as replaying:
        assert replaying.replaying
        # Hour-long poll intervals: replay sleeps return at once (Client.sleep), so this is quick.
        replayed = [e async for e in watch_flow_run(DOC_FLOW_RUN_ID, client=replaying,
                                                    poll_interval=3600, max_poll_interval=3600)]
        assert replaying.recorder is not None
        assert replaying.recorder.all_played
    assert replayed == recorded


async def test_lines_arriving_late_with_older_timestamps_still_arrive_once(
        backend: LocalBackend, client: Client) -> None:
    # Prefect agents send lines in batches: a line can reach the backend after newer ones.
    flow_run_id = await new_flow_run(backend, "batched-logs")
    collector = Collector()
    consumer = asyncio.create_task(collector.consume(
        watch_flow_run(flow_run_id, client=client, late_log_window=5, **FAST)))
    newer = await write_logs(backend, flow_run_id, 10, ["newer"], id_prefix="5555")
    await collector.wait_for(lambda events: len(log_lines(events)) == 1)
    late = await write_logs(backend, flow_run_id, 7, ["late, within the window"], id_prefix="6666")
    await collector.wait_for(lambda events: len(log_lines(events)) == 2)
    await backend.set_state("flow_run", flow_run_id, state("Success", "ok"), timestamp=at(11))
    await asyncio.wait_for(consumer, timeout=30)
    assert [line.log.id for line in collector.logs()] == [*newer, *late]


async def test_an_outage_longer_than_the_clients_retries_is_ridden_out(
        caplog: pytest.LogCaptureFixture) -> None:
    # The first poll (two requests) goes through, then 20 requests in a row get 503, far more than
    # a client with no retries survives.
    async with LocalBackend(faults="ok*2,503*20") as backend, \
            Client(backend.url, retry=RetryPolicy(attempts=1), introspect=False) as client:
        flow_run_id = await new_flow_run(backend, "outage")
        collector = Collector()
        consumer = asyncio.create_task(
            collector.consume(watch_flow_run(flow_run_id, client=client, **FAST)))
        await collector.wait_for(lambda events: len(events) == 1)  # Scheduled, before the outage
        await backend.set_state("flow_run", flow_run_id, state("Running", "Running flow."),
                                timestamp=at(1))
        written = await write_logs(backend, flow_run_id, 2, [f"during {i}" for i in range(5)],
                                   id_prefix="7777")
        await backend.set_state("flow_run", flow_run_id, state("Success", "done"), timestamp=at(3))
        with caplog.at_level("INFO", logger="flowview_async"):
            await asyncio.wait_for(consumer, timeout=30)
        assert sum(1 for r in backend.requests if r.status == 503) == 20
    assert [type(s.state).__name__ for s in collector.states()] == ["Scheduled", "Running", "Success"]
    assert [line.log.id for line in collector.logs()] == written
    assert isinstance(collector.events[-1], RunFinished)
    records = [(r.levelname, r.getMessage()) for r in caplog.records
               if r.name == "flowview_async.watch"]
    # One warning for the outage, not one per failed poll; an info record when it is over.
    assert [level for level, _ in records] == ["WARNING", "INFO"]
    assert records[0][1].startswith("Backend unavailable while watching (")
    assert records[1][1] == "Backend reachable again; watching resumed."


async def test_an_outage_outlasting_max_duration_raises_the_backend_error() -> None:
    async with LocalBackend(faults="ok*2,503*100000") as backend, \
            Client(backend.url, retry=RetryPolicy(attempts=1), introspect=False) as client:
        flow_run_id = await new_flow_run(backend, "long-outage")
        stream = watch_flow_run(flow_run_id, client=client, poll_interval=0.01,
                                max_poll_interval=0.05, max_duration=0.3)
        events: list[WatchEvent] = []

        async def consume() -> None:
            async with aclosing(stream):
                async for event in stream:
                    events.append(event)

        with pytest.raises(BackendUnavailableError):
            await consume()
    assert [type(e) for e in events] == [StateChange]

"""Live runs for watch tests and the watch soak: made in the local backend, advanced by a task.

Each run gets a mapped task (a parent and ``children`` mapped children) and goes through
Scheduled, Submitted, Running, task-run states (one child of every other run fails), log lines
written in batches that share one timestamp, lines written late with timestamps older than lines
already written, and a final state. What a watch must have delivered is then read back from the
database (:func:`stored`), so a test compares ids, not counts.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from flowview_async.server import LocalBackend
from flowview_async.watch import (
    LogLine,
    RunError,
    RunFinished,
    StateChange,
    TaskRunStateChange,
    WatchEvent,
)

DOC_FLOW_ID = "8bdcf5b5-7598-49d1-a885-61612ca550de"
TENANT_ID = "5e0a5f3c-2d1b-4c7e-9a8f-6b4d2c0e8a11"
BASE = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat()


def state(kind: str, message: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "__version__": "1.4.1"}


@attrs.define
class LiveRun:
    flow_run_id: str
    parent_task_run_id: str
    child_task_run_ids: list[str]
    index: int


async def make_runs(backend: LocalBackend, count: int, *, children: int = 3) -> list[LiveRun]:
    """``count`` Scheduled flow runs, each with a mapped task's parent and children task runs."""
    task_id = str(uuid.uuid4())
    await backend.insert("task", [{"id": task_id, "tenant_id": TENANT_ID, "flow_id": DOC_FLOW_ID,
                                   "name": "mapped", "slug": f"mapped-{task_id[:8]}",
                                   "mapped": True}])
    runs = []
    for index in range(count):
        run = LiveRun(str(uuid.uuid4()), str(uuid.uuid4()),
                      [str(uuid.uuid4()) for _ in range(children)], index)
        await backend.insert("flow_run", [{
            "id": run.flow_run_id, "tenant_id": TENANT_ID, "flow_id": DOC_FLOW_ID,
            "name": f"live-{index}", "labels": [], "parameters": {}, "context": {}}])
        await backend.insert("task_run", [
            {"id": task_run_id, "tenant_id": TENANT_ID, "flow_run_id": run.flow_run_id,
             "task_id": task_id, "map_index": map_index}
            for map_index, task_run_id in enumerate([run.parent_task_run_id,
                                                     *run.child_task_run_ids], start=-1)])
        await backend.set_state("flow_run", run.flow_run_id, state("Scheduled", "scheduled"),
                                timestamp=at(0))
        runs.append(run)
    return runs


async def write_logs(backend: LocalBackend, flow_run_id: str, seconds: float, count: int, *,
                     label: str, task_run_id: str | None = None) -> None:
    """``count`` lines in one batch, all stamped ``seconds`` after BASE (stored now)."""
    await backend.insert("log", [{
        "id": str(uuid.uuid4()), "flow_run_id": flow_run_id, "task_run_id": task_run_id,
        "timestamp": at(seconds), "level": "INFO", "name": "prefect.test",
        "message": f"{label} {i}"} for i in range(count)])


Checkpoint = Callable[[int], Awaitable[None]]


async def advance(backend: LocalBackend, runs: Sequence[LiveRun], *, batches: int = 3,
                  lines: int = 20, checkpoint: Checkpoint | None = None,
                  pause: float = 0.0) -> None:
    """Drive every run to its end, round by round (all runs step together); ``checkpoint(n)`` is
    awaited after round n (a test waits there for the watcher, or deletes a run)."""

    async def step(number: int) -> None:
        if checkpoint is not None:
            await checkpoint(number)
        if pause:
            await asyncio.sleep(pause)

    for run in runs:
        await backend.set_state("flow_run", run.flow_run_id, state("Submitted", "submitted"),
                                timestamp=at(1))
    await step(1)
    for run in runs:
        await backend.set_state("flow_run", run.flow_run_id, state("Running", "running"),
                                timestamp=at(2))
        await backend.set_state("task_run", run.parent_task_run_id, state("Mapped", "mapped"))
    await step(2)
    for batch in range(batches):
        for run in runs:
            # A batch of lines sharing one timestamp, and a batch of task-run lines.
            await write_logs(backend, run.flow_run_id, 10 + batch * 10, lines,
                             label=f"batch {batch}")
            await write_logs(backend, run.flow_run_id, 11 + batch * 10, lines // 2,
                             label=f"task batch {batch}", task_run_id=run.child_task_run_ids[0])
        await step(3 + batch)
        for run in runs:
            # Late: stored after lines stamped later were already written (agents batch logs).
            await write_logs(backend, run.flow_run_id, 5 + batch * 10, lines // 4,
                             label=f"late {batch}")
    for run in runs:
        for map_index, child in enumerate(run.child_task_run_ids):
            await backend.set_state("task_run", child, state("Running", "running"))
            failed = run.index % 2 == 1 and map_index == len(run.child_task_run_ids) - 1
            final = state("Failed", "child failed") if failed else state("Success", "ok")
            await backend.set_state("task_run", child, final)
    await step(3 + batches)
    end = 20 + batches * 10
    for run in runs:
        final = state("Failed", "a child failed") if run.index % 2 else state("Success", "done")
        await backend.set_state("task_run", run.parent_task_run_id, final)
        await backend.set_state("flow_run", run.flow_run_id, final, timestamp=at(end))
        # The flow runner's last line, stored after the final state.
        await write_logs(backend, run.flow_run_id, end, 1, label="final")


async def delete_run(backend: LocalBackend, flow_run_id: str) -> None:
    """Delete a run and everything under it, directly in the database (as an admin would)."""

    def delete(connection: sqlite3.Connection) -> None:
        task_runs = "SELECT id FROM task_run WHERE flow_run_id = ?"
        connection.execute(f"DELETE FROM task_run_state WHERE task_run_id IN ({task_runs})",
                           (flow_run_id,))
        connection.execute("DELETE FROM log WHERE flow_run_id = ?", (flow_run_id,))
        connection.execute("DELETE FROM task_run WHERE flow_run_id = ?", (flow_run_id,))
        connection.execute("DELETE FROM flow_run_state WHERE flow_run_id = ?", (flow_run_id,))
        connection.execute("DELETE FROM flow_run WHERE id = ?", (flow_run_id,))

    await backend.database.transaction(delete)


@attrs.frozen
class Stored:
    states: list[str]
    task_states: list[str]
    logs: list[str]


async def stored(backend: LocalBackend, flow_run_id: str) -> Stored:
    """The ids a watch of this run from its beginning must deliver, each once."""

    def read(connection: sqlite3.Connection) -> Stored:
        def ids(sql: str) -> list[str]:
            return [row[0] for row in connection.execute(sql, (flow_run_id,))]

        return Stored(
            states=ids("SELECT id FROM flow_run_state WHERE flow_run_id = ? "
                       "ORDER BY timestamp, id"),
            task_states=ids("SELECT s.id FROM task_run_state s JOIN task_run t "
                            "ON s.task_run_id = t.id WHERE t.flow_run_id = ?"),
            logs=ids("SELECT id FROM log WHERE flow_run_id = ?"))

    return await backend.database.transaction(read)


@attrs.define
class Delivered:
    """What a watch delivered for one run, as ids in delivery order."""

    states: list[str] = attrs.field(factory=list)
    task_states: list[str] = attrs.field(factory=list)
    logs: list[str] = attrs.field(factory=list)
    ends: list[WatchEvent] = attrs.field(factory=list)


def delivered(events: Sequence[WatchEvent]) -> dict[str, Delivered]:
    found: dict[str, Delivered] = {}
    for event in events:
        entry = found.setdefault(event.flow_run_id, Delivered())
        if isinstance(event, StateChange):
            entry.states.append(str(event.state_id))
        elif isinstance(event, TaskRunStateChange):
            entry.task_states.append(event.state_id)
        elif isinstance(event, LogLine):
            entry.logs.append(str(event.log.id))
        elif isinstance(event, (RunFinished, RunError)):
            entry.ends.append(event)
    return found


class Collector:
    """Consumes a watch, letting a driver wait until a condition on the events holds."""

    def __init__(self) -> None:
        self.events: list[WatchEvent] = []
        self._changed = asyncio.Condition()
        self._ended = False

    async def consume(self, stream: Any) -> None:
        try:
            async for event in stream:
                async with self._changed:
                    self.events.append(event)
                    self._changed.notify_all()
        finally:
            async with self._changed:
                self._ended = True
                self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[list[WatchEvent]], bool]) -> None:
        """Wait until ``predicate(events)`` holds; fails if the watch ends first (a test would
        otherwise hang on a watch that raised)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._ended or predicate(self.events))
            if not predicate(self.events):
                raise AssertionError("the watch ended before the awaited events came")

"""Rows of a watch's answers turned into :class:`Item` s: an event (or none) and the bookkeeping
changes its delivery makes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from flowview_async._rows import Row
from flowview_async.errors import FlowRunNotFoundError, FlowViewError, MalformedResponseError
from flowview_async.logs import FlowRunLog
from flowview_async.states import parse_state_history
from flowview_async.watch.cursor import Book, Change
from flowview_async.watch.events import (
    LogLine,
    RunError,
    StateChange,
    TaskRunStateChange,
    WatchEvent,
)

__all__ = [
    "Item",
    "RunFaultError",
    "error_item",
    "log_item",
    "missing_error",
    "state_events",
    "state_items",
    "task_item",
]


@attrs.frozen
class Item:
    """What one row (or one finding) means: an event to deliver, if any, and the changes to the
    bookkeeping once it is delivered. ``order`` merges rows of different kinds."""

    event: WatchEvent | None
    changes: tuple[Change, ...]
    order: tuple[datetime, int, str] | None = None


class RunFaultError(Exception):
    """Internal: a row of one run cannot be read; the watch counts this against that run."""

    def __init__(self, flow_run_id: str, error: FlowViewError) -> None:
        super().__init__(str(error))
        self.flow_run_id = flow_run_id
        self.error = error


def _run_of(row: Row, *, task: bool) -> str:
    source = row.raw.get("task_run") if task else row.raw
    run = source.get("flow_run_id") if isinstance(source, Mapping) else None
    if not isinstance(run, str):
        raise MalformedResponseError("a watched row came back without its flow_run_id")
    return run


def _guarded(row: Row, *, task: bool, parse: Callable[[str], Item]) -> Item:
    run = _run_of(row, task=task)
    try:
        return parse(run)
    except MalformedResponseError as error:
        raise RunFaultError(run, error) from error


def state_events(rows: Iterable[Row]) -> list[StateChange]:
    def parse(row: Row) -> StateChange:
        def event(run: str) -> Item:
            state = parse_state_history([{"timestamp": row.raw.get("timestamp"),
                                          "serialized_state": row.raw.get("serialized_state")}])[0]
            assert state.timestamp is not None  # parse_state_history requires one
            return Item(StateChange(flow_run_id=run, timestamp=state.timestamp, state=state,
                                    state_id=row.string("id"), version=row.integer("version")), ())
        made = _guarded(row, task=False, parse=event).event
        assert isinstance(made, StateChange)
        return made
    return [parse(row) for row in rows]


def state_items(events: Sequence[StateChange], book: Book) -> list[Item]:
    """Items for new state rows, in timestamp order. Each carries the version below which every
    row of its run is delivered once it is: a late state (older timestamp, newer version) comes
    before rows of lower versions, and a cursor taken between them must not skip those."""
    by_run: dict[str, list[StateChange]] = {}
    for event in events:
        position = book.runs.get(event.flow_run_id)
        if position is not None and event.state_id not in position.extra:
            by_run.setdefault(event.flow_run_id, []).append(event)
    floors: dict[str | None, int] = {}
    for run, run_events in by_run.items():
        pending = sorted(run_events, key=lambda e: (e.version or 0, e.state_id or ""))
        delivered: set[str | None] = set()
        floor, index = book.runs[run].version, 0
        for event in run_events:
            delivered.add(event.state_id)
            while index < len(pending) and pending[index].state_id in delivered:
                index += 1
                version = pending[index - 1].version or 0
                if index == len(pending) or (pending[index].version or 0) != version:
                    floor = max(floor, version)
            floors[event.state_id] = floor
    ordered = sorted((e for run_events in by_run.values() for e in run_events),
                     key=lambda e: (e.timestamp, e.state_id or ""))
    return [Item(e, (("state", e.flow_run_id, e.state_id, e.version or 0, floors[e.state_id],
                      e.state.is_finished()),), (e.timestamp, 0, e.state_id or ""))
            for e in ordered]


def _map_index(task_run: Row) -> int:
    index = task_run.opt_integer("map_index")
    return -1 if index is None else index


def task_item(row: Row, *, backlog: bool) -> Item:
    def parse(run: str) -> Item:
        state = parse_state_history([{"timestamp": row.raw.get("timestamp"),
                                      "serialized_state": row.raw.get("serialized_state")}])[0]
        assert state.timestamp is not None
        task_run = row.row("task_run", "task run")
        task = task_run.opt_row("task", "task")
        row_id = row.string("id")
        event = TaskRunStateChange(
            flow_run_id=run, task_run_id=task_run.string("id"),
            task_slug=task.opt_string("slug") if task is not None else None,
            map_index=_map_index(task_run),
            timestamp=state.timestamp, state=state, state_id=row_id)
        changes: tuple[Change, ...] = (("row", row_id, row.string("created"), run, "t"),)
        if backlog:
            changes += (("key", run, "task", (row.string("timestamp"), row_id)),)
        return Item(event, changes, (state.timestamp, 1, row_id))
    return _guarded(row, task=True, parse=parse)


def log_item(row: Row, *, backlog: bool) -> Item:
    def parse(run: str) -> Item:
        log = FlowRunLog.from_row(row)
        row_id = row.string("id")
        changes: tuple[Change, ...] = (("row", row_id, row.string("created"), run, "l"),)
        if backlog:
            changes += (("key", run, "log", (row.string("timestamp"), row_id)),)
        return Item(LogLine(flow_run_id=run, log=log), changes, (log.timestamp, 2, row_id))
    return _guarded(row, task=False, parse=parse)


def missing_error(run: str, *, seen_before: bool) -> FlowRunNotFoundError:
    if seen_before:
        return FlowRunNotFoundError(
            f"Flow run {run} was deleted while it was watched; it left the watch (the other "
            "runs go on).")
    return FlowRunNotFoundError(
        f"No flow run has the id {run}; it left the watch (the other runs go on). Check the id.")


def error_item(run: str, error: FlowViewError, when: datetime) -> Item:
    return Item(RunError(flow_run_id=run, timestamp=when, error=error), (("end", run),))

"""The requests of a watch: one step reads what changed for a group of runs, page by page.

A step starts with one request whose root fields answer everything a quiet poll needs at once
(how many of the runs still exist, their new flow-run states, the first page of new task-run
states and log lines); only what overflows a page costs further requests. The rows come back as
:class:`Item` s (an event, or nothing, and the bookkeeping changes it implies), merged across the
three kinds of rows in timestamp order, so memory holds one page per kind whatever the backlog.

* Flow-run states are asked for by ``version`` (each new state row carries the run's next version),
  never by timestamp or position: a state written late with an older timestamp is still new.
* Live task-run states and log lines are asked for by ``created`` (when the backend stored them)
  since the newest one delivered, minus the late window; ids already delivered are skipped.
* A run's backlog is read on its own, by keyset ``(timestamp, id)``, which the backend's index on
  ``(flow_run_id, timestamp)`` serves page after page in constant time.
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from flowview_async import _queries
from flowview_async._rows import Row, root_rows
from flowview_async.errors import FlowRunNotFoundError, FlowViewError, MalformedResponseError
from flowview_async.flow_run import FlowRunView
from flowview_async.logs import FlowRunLog
from flowview_async.states import parse_state_history
from flowview_async.watch.cursor import Book, Change, Key
from flowview_async.watch.events import (
    LogLine,
    RunError,
    StateChange,
    TaskRunStateChange,
    WatchEvent,
)

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = [
    "Item",
    "Plan",
    "RunFaultError",
    "Streams",
    "backlog_plan",
    "fetch_head",
    "final_views",
    "live_plans",
    "step_items",
    "sync_now",
]

# Runs per live request: keeps the `_in` lists and the SQL a sensible size.
RUNS_PER_REQUEST = 200

_STATE_FIELDS = "id flow_run_id version timestamp serialized_state"
_TASK_STATE_FIELDS = ("id created timestamp serialized_state "
                      "task_run { id flow_run_id map_index task { slug } }")
_LOG_FIELDS = "...LogFields created"
_ORDER = "order_by: [{timestamp: asc}, {id: asc}]"


@attrs.frozen
class Streams:
    """Which kinds of rows the watch reads (flow-run states always: they tell when a run ends)."""

    task_runs: bool
    logs: bool
    page_size: int


def _head_document(streams: Streams) -> str:
    variables = ["$runs: [uuid!]!", "$states: flow_run_state_bool_exp!"]
    fields = ["flow_run_aggregate(where: {id: {_in: $runs}}) { aggregate { count } }",
              f"flow_run_state(where: $states, {_ORDER}) {{ {_STATE_FIELDS} }}"]
    if streams.task_runs:
        variables.append("$tasks: task_run_state_bool_exp!")
        fields.append(f"task_run_state(where: $tasks, {_ORDER}, limit: $limit) "
                      f"{{ {_TASK_STATE_FIELDS} }}")
    if streams.logs:
        variables.append("$logs: log_bool_exp!")
        fields.append(f"log(where: $logs, {_ORDER}, limit: $limit) {{ {_LOG_FIELDS} }}")
    if streams.task_runs or streams.logs:
        variables.append("$limit: Int!")
    body = "\n  ".join(fields)
    document = f"query WatchPoll({', '.join(variables)}) {{\n  {body}\n}}\n"
    return document + (_queries.LOG_FIELDS if streams.logs else "")


_TASK_PAGE = (f"query WatchTaskRunStates($where: task_run_state_bool_exp!, $limit: Int!) {{\n"
              f"  task_run_state(where: $where, {_ORDER}, limit: $limit) {{ {_TASK_STATE_FIELDS} }}\n}}\n")
_LOG_PAGE = (f"query WatchLogs($where: log_bool_exp!, $limit: Int!) {{\n"
             f"  log(where: $where, {_ORDER}, limit: $limit) {{ {_LOG_FIELDS} }}\n}}\n"
             + _queries.LOG_FIELDS)
_EXISTING = "query WatchedRuns($runs: [uuid!]!) { flow_run(where: {id: {_in: $runs}}) { id } }"
_NOW = """
query WatchStart($runs: [uuid!]!) {
  flow_run(where: {id: {_in: $runs}}) { id version serialized_state }
  log(where: {flow_run_id: {_in: $runs}}, order_by: [{created: desc}], limit: 1) { created }
  task_run_state(where: {task_run: {flow_run_id: {_in: $runs}}}, order_by: [{created: desc}],
                 limit: 1) { created }
}
"""
_RECENT_TASKS = """
query WatchRecentTaskRunStates($where: task_run_state_bool_exp!, $limit: Int!) {
  task_run_state(where: $where, order_by: [{created: asc}, {id: asc}], limit: $limit) { id created }
}
"""
_RECENT_LOGS = """
query WatchRecentLogs($where: log_bool_exp!, $limit: Int!) {
  log(where: $where, order_by: [{created: asc}, {id: asc}], limit: $limit) { id created }
}
"""


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


def _after(key: Key) -> dict[str, Any]:
    return {"_or": [{"timestamp": {"_gt": key[0]}},
                    {"timestamp": {"_eq": key[0]}, "id": {"_gt": key[1]}}]}


def _with_key(where: Mapping[str, Any], key: Key | None) -> dict[str, Any]:
    return dict(where) if key is None else {"_and": [dict(where), _after(key)]}


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


def _state_events(rows: Iterable[Row]) -> list[StateChange]:
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


def _state_items(events: Sequence[StateChange], book: Book) -> list[Item]:
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


def _task_item(row: Row, *, backlog: bool) -> Item:
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
        changes: tuple[Change, ...] = (("row", row_id, row.string("created")),)
        if backlog:
            changes += (("key", run, "task", (row.string("timestamp"), row_id)),)
        return Item(event, changes, (state.timestamp, 1, row_id))
    return _guarded(row, task=True, parse=parse)


def _log_item(row: Row, *, backlog: bool) -> Item:
    def parse(run: str) -> Item:
        log = FlowRunLog.from_row(row)
        row_id = row.string("id")
        changes: tuple[Change, ...] = (("row", row_id, row.string("created")),)
        if backlog:
            changes += (("key", run, "log", (row.string("timestamp"), row_id)),)
        return Item(LogLine(flow_run_id=run, log=log), changes, (log.timestamp, 2, row_id))
    return _guarded(row, task=False, parse=parse)


async def _pages(client: Client, document: str, root: str, where: Mapping[str, Any],
                 first: list[Row], page_size: int, key: Callable[[Row], Key],
                 ) -> AsyncGenerator[list[Row], None]:
    """The head request's first page, then keyset pages until one comes back short."""
    rows = first
    while True:
        page = rows[:page_size]
        if page:
            yield page
        if len(rows) <= page_size:
            return
        variables = {"where": _with_key(where, key(page[-1])), "limit": page_size + 1}
        rows = root_rows(await client.execute(document, variables), root, root)


def _raw_key(row: Row) -> Key:
    return (str(row.raw.get("timestamp")), str(row.raw.get("id")))


async def _items(pages: AsyncGenerator[list[Row], None], convert: Callable[[Row], Item],
                 skip: Callable[[Row], bool]) -> AsyncGenerator[list[Item], None]:
    async with aclosing(pages):
        async for page in pages:
            yield [convert(row) for row in page if not skip(row)]


async def _merged(sources: Sequence[AsyncGenerator[list[Item], None]]
                  ) -> AsyncGenerator[Item, None]:
    """Items of several sorted sources, in ``order``; one page of each in memory. The sources
    are closed when this is (explicitly, so that no finalizer task is left to the loop)."""
    try:
        async for item in _merge(sources):
            yield item
    finally:
        for source in sources:
            await source.aclose()


async def _merge(sources: Sequence[AsyncGenerator[list[Item], None]]
                 ) -> AsyncGenerator[Item, None]:
    heap: list[tuple[tuple[datetime, int, str], int, int, list[Item]]] = []

    async def refill(index: int) -> None:
        async for page in sources[index]:
            if page:
                order = page[0].order
                assert order is not None
                heapq.heappush(heap, (order, index, 0, page))
                return

    for index in range(len(sources)):
        await refill(index)
    while heap:
        _, index, position, page = heapq.heappop(heap)
        yield page[position]
        if position + 1 < len(page):
            order = page[position + 1].order
            assert order is not None
            heapq.heappush(heap, (order, index, position + 1, page))
        else:
            await refill(index)


async def _one_page(items: list[Item]) -> AsyncGenerator[list[Item], None]:
    yield items


def _is_seen(book: Book) -> Callable[[Row], bool]:
    return lambda row: row.raw.get("id") in book.recent


def _never(_: Row) -> bool:
    return False


def _missing_error(run: str, *, seen_before: bool) -> FlowRunNotFoundError:
    if seen_before:
        return FlowRunNotFoundError(
            f"Flow run {run} was deleted while it was watched; it left the watch (the other "
            "runs go on).")
    return FlowRunNotFoundError(
        f"No flow run has the id {run}; it left the watch (the other runs go on). Check the id.")


async def _missing(client: Client, runs: Sequence[str]) -> list[str]:
    data = await client.execute(_EXISTING, {"runs": list(runs)})
    found = {row.string("id") for row in root_rows(data, "flow_run", "flow run")}
    return [run for run in runs if run not in found]


def _count(data: Mapping[str, Any]) -> int:
    aggregate = data.get("flow_run_aggregate")
    count = aggregate.get("aggregate", {}).get("count") if isinstance(aggregate, Mapping) else None
    if not isinstance(count, int) or isinstance(count, bool):
        raise MalformedResponseError("flow_run_aggregate.aggregate.count is missing or not a count")
    return count


def _error_item(run: str, error: FlowViewError, when: datetime) -> Item:
    return Item(RunError(flow_run_id=run, timestamp=when, error=error), (("end", run),))


@attrs.frozen
class Plan:
    """One step's request: the runs, the filter of each kind of row, and the kinds read."""

    runs: tuple[str, ...]
    streams: Streams
    states: Mapping[str, Any]
    tasks: Mapping[str, Any]
    logs: Mapping[str, Any]
    backlog: bool


async def fetch_head(client: Client, plan: Plan) -> dict[str, Any]:
    """The step's first request (for a quiet poll, the only one)."""
    variables: dict[str, Any] = {"runs": list(plan.runs), "states": dict(plan.states)}
    if plan.streams.task_runs or plan.streams.logs:
        variables["limit"] = plan.streams.page_size + 1
    if plan.streams.task_runs:
        variables["tasks"] = dict(plan.tasks)
    if plan.streams.logs:
        variables["logs"] = dict(plan.logs)
    return await client.execute(_head_document(plan.streams), variables)


async def step_items(client: Client, plan: Plan, head: Mapping[str, Any], book: Book, *,
                     seen_before: Callable[[str], bool], now: datetime) -> AsyncGenerator[Item, None]:
    """The step's items: runs gone first, then every new row in timestamp order."""
    gone: set[str] = set()
    if _count(head) < len(plan.runs):
        for run in await _missing(client, plan.runs):
            gone.add(run)
            yield _error_item(run, _missing_error(run, seen_before=seen_before(run)), now)
    skip: Callable[[Row], bool] = _never if plan.backlog else _is_seen(book)
    states = _state_events(root_rows(head, "flow_run_state", "flow run state"))
    sources = [_one_page(_state_items([e for e in states if e.flow_run_id not in gone], book))]
    size = plan.streams.page_size
    if plan.streams.task_runs:
        first = root_rows(head, "task_run_state", "task run state")
        pages = _pages(client, _TASK_PAGE, "task_run_state", plan.tasks, first, size, _raw_key)
        sources.append(_items(pages, lambda row: _task_item(row, backlog=plan.backlog), skip))
    if plan.streams.logs:
        first = root_rows(head, "log", "log line")
        pages = _pages(client, _LOG_PAGE, "log", plan.logs, first, size, _raw_key)
        sources.append(_items(pages, lambda row: _log_item(row, backlog=plan.backlog), skip))
    async with aclosing(_merged(sources)) as items:
        async for item in items:
            if item.event is None or item.event.flow_run_id not in gone:
                yield item
    for run in plan.runs:
        if plan.backlog and run not in gone:
            yield Item(None, (("exhausted", run, "task"), ("exhausted", run, "log"),
                              ("mode", run, "live")))


def _state_filter(versions: Mapping[str, int]) -> dict[str, Any]:
    by_version: dict[int, list[str]] = {}
    for run, version in versions.items():
        by_version.setdefault(version, []).append(run)
    clauses = [{"flow_run_id": {"_in": runs}, "version": {"_gt": version}}
               for version, runs in sorted(by_version.items())]
    return clauses[0] if len(clauses) == 1 else {"_or": clauses}


def live_plans(streams: Streams, book: Book, runs: Sequence[str]) -> list[Plan]:
    """Requests for runs already caught up, RUNS_PER_REQUEST runs each."""
    since = book.since()
    created = {} if since is None else {"created": {"_gte": since}}
    plans = []
    for start in range(0, len(runs), RUNS_PER_REQUEST):
        chunk = list(runs[start:start + RUNS_PER_REQUEST])
        plans.append(Plan(
            runs=tuple(chunk), streams=streams, backlog=False,
            states=_state_filter({run: book.runs[run].version for run in chunk}),
            tasks={"task_run": {"flow_run_id": {"_in": chunk}}, **created},
            logs={"flow_run_id": {"_in": chunk}, **created}))
    return plans


def backlog_plan(streams: Streams, book: Book, run: str) -> Plan:
    """The rest of one run's history (states, task-run states, log lines), oldest first; once it
    is read to its end the run goes live."""
    position = book.runs[run]
    return Plan(
        runs=(run,), backlog=True,
        streams=Streams(task_runs=streams.task_runs and not position.tasks_done,
                        logs=streams.logs and not position.logs_done,
                        page_size=streams.page_size),
        states={"flow_run_id": {"_eq": run}, "version": {"_gt": position.version}},
        tasks=_with_key({"task_run": {"flow_run_id": {"_eq": run}}}, position.task_key),
        logs=_with_key({"flow_run_id": {"_eq": run}}, position.log_key))


async def _recent_ids(client: Client, document: str, root: str,
                      where: dict[str, Any]) -> AsyncGenerator[tuple[str, str], None]:
    key: tuple[str, str] | None = None
    while True:
        page_where = where if key is None else {"_and": [where, {"_or": [
            {"created": {"_gt": key[0]}}, {"created": {"_eq": key[0]}, "id": {"_gt": key[1]}}]}]}
        rows = root_rows(await client.execute(document, {"where": page_where, "limit": 1001}),
                         root, root)
        for row in rows[:1000]:
            yield row.string("id"), row.string("created")
        if len(rows) <= 1000:
            return
        key = (str(rows[999].raw.get("created")), str(rows[999].raw.get("id")))


async def sync_now(client: Client, streams: Streams, book: Book, runs: Sequence[str], *,
                   now: datetime) -> AsyncGenerator[Item, None]:
    """Runs that start "now": mark what exists as delivered, without events; they go live."""
    from flowview_async.flow_run import flow_run_state
    from flowview_async.watch.cursor import newest

    data = await client.execute(_NOW, {"runs": list(runs)})
    found = {row.string("id"): row for row in root_rows(data, "flow_run", "flow run")}
    newest_created: str | None = None
    for root in ("log", "task_run_state"):
        for row in root_rows(data, root, root):
            newest_created = newest(newest_created, row.string("created"))
    present = [run for run in runs if run in found]
    for run in runs:
        if run not in found:
            yield _error_item(run, _missing_error(run, seen_before=False), now)
    floor = newest(book.created, newest_created)
    changes: list[Change] = [("advance", floor)]
    if floor is not None and present:
        probe = Book(window=book.window, created=floor)
        since = probe.since()
        kinds: list[tuple[str, str, dict[str, Any]]] = [
            ("log", _RECENT_LOGS, {"flow_run_id": {"_in": present}})]
        if streams.task_runs:
            kinds.append(("task_run_state", _RECENT_TASKS,
                          {"task_run": {"flow_run_id": {"_in": present}}}))
        for root, document, where in kinds:
            recent = _recent_ids(client, document, root, {**where, "created": {"_gte": since}})
            async with aclosing(recent):
                async for row_id, created in recent:
                    changes.append(("row", row_id, created))
    for run in present:
        row = found[run]
        state = flow_run_state(row.json("serialized_state"))
        changes.append(("state", run, row.opt_integer("version") or 0, state.is_finished()))
        changes.append(("mode", run, "live"))
    yield Item(None, tuple(changes))


async def final_views(client: Client, runs: Iterable[str]) -> dict[str, FlowRunView]:
    """Snapshots of runs that finished, for their RunFinished events (missing ones are left out)."""
    wanted = list(runs)
    if not wanted:
        return {}
    data = await client.execute(_queries.FLOW_RUNS_WHERE,
                                {"where": {"id": {"_in": wanted}}, "limit": None})
    views = [FlowRunView.from_row(row, client=client)
             for row in root_rows(data, "flow_run", "flow run")]
    return {view.flow_run_id: view for view in views}

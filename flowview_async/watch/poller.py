"""The requests of a watch: one step reads what changed for a group of runs, page by page.

A step starts with one request whose root fields answer everything a quiet poll needs at once:
how many of the runs still exist, their new flow-run states, and (live) how many task-run states
and log lines the window holds, or (backlog) the first page of them. Rows are asked for only when a
count differs from what was delivered, and only what overflows a page costs further requests.
The rows come back as :class:`Item` s (an event, or nothing, and the bookkeeping changes it
implies), merged across the three kinds of rows in timestamp order, so memory holds one page per
kind whatever the backlog.

* Flow-run states are asked for by ``version`` (each new state row carries the run's next version),
  never by timestamp or position: a state written late with an older timestamp is still new.
* Live task-run states and log lines are asked for by ``created`` (when the backend stored them)
  since the newest one delivered, minus the late window; ids already delivered are skipped.
* A run's backlog is read on its own, by keyset ``(timestamp, id)``, which the backend's index on
  ``(flow_run_id, timestamp)`` serves page after page in constant time.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from flowview_async._rows import Row, root_rows
from flowview_async.errors import (
    BackendUnavailableError,
    GraphQLQueryError,
    MalformedResponseError,
    QueryValidationError,
)
from flowview_async.watch.cursor import Book, Key, fingerprint
from flowview_async.watch.documents import EXISTING, LOG_PAGE, TASK_PAGE, Streams, head_document
from flowview_async.watch.items import (
    Item,
    error_item,
    log_item,
    missing_error,
    state_events,
    state_items,
    task_item,
)

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = [
    "RUNS_PER_REQUEST",
    "Plan",
    "backlog_plan",
    "fan_out",
    "fetch_head",
    "is_transient",
    "live_plans",
    "step_items",
]

# Runs per live request: keeps the `_in` lists and the SQL a sensible size.
RUNS_PER_REQUEST = 200

def _after(key: Key) -> dict[str, Any]:
    return {"_or": [{"timestamp": {"_gt": key[0]}},
                    {"timestamp": {"_eq": key[0]}, "id": {"_gt": key[1]}}]}


def _with_key(where: Mapping[str, Any], key: Key | None) -> dict[str, Any]:
    return dict(where) if key is None else {"_and": [dict(where), _after(key)]}


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
    return lambda row: fingerprint(str(row.raw.get("id"))) in book.recent


def _never(_: Row) -> bool:
    return False


async def _missing(client: Client, runs: Sequence[str]) -> list[str]:
    data = await client.execute(EXISTING, {"runs": list(runs)})
    found = {row.string("id") for row in root_rows(data, "flow_run", "flow run")}
    return [run for run in runs if run not in found]


def _aggregate_count(data: Mapping[str, Any], root: str) -> int:
    aggregate = data.get(root)
    inner = aggregate.get("aggregate") if isinstance(aggregate, Mapping) else None
    count = inner.get("count") if isinstance(inner, Mapping) else None
    if not isinstance(count, int) or isinstance(count, bool):
        raise MalformedResponseError(f"{root}.aggregate.count is missing or not a count")
    return count


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
    if (plan.streams.task_runs or plan.streams.logs) and plan.backlog:
        variables["limit"] = plan.streams.page_size + 1
    if plan.streams.task_runs:
        variables["tasks"] = dict(plan.tasks)
    if plan.streams.logs:
        variables["logs"] = dict(plan.logs)
    return await client.execute(head_document(plan.streams, counts=not plan.backlog), variables)


async def step_items(client: Client, plan: Plan, head: Mapping[str, Any], book: Book, *,
                     seen_before: Callable[[str], bool], now: datetime) -> AsyncGenerator[Item, None]:
    """The step's items: runs gone first, then every new row in timestamp order."""
    gone: set[str] = set()
    if _aggregate_count(head, "flow_run_aggregate") < len(plan.runs):
        for run in await _missing(client, plan.runs):
            gone.add(run)
            yield error_item(run, missing_error(run, seen_before=seen_before(run)), now)
    skip: Callable[[Row], bool] = _never if plan.backlog else _is_seen(book)
    states = state_events(root_rows(head, "flow_run_state", "flow run state"))
    sources = [_one_page(state_items([e for e in states if e.flow_run_id not in gone], book))]
    size = plan.streams.page_size
    if plan.streams.task_runs and _changed(head, plan, book, "task_run_state", "t"):
        first = await _first(client, plan, head, TASK_PAGE, "task_run_state", plan.tasks)
        pages = _pages(client, TASK_PAGE, "task_run_state", plan.tasks, first, size, _raw_key)
        sources.append(_items(pages, lambda row: task_item(row, backlog=plan.backlog), skip))
    if plan.streams.logs and _changed(head, plan, book, "log", "l"):
        first = await _first(client, plan, head, LOG_PAGE, "log", plan.logs)
        pages = _pages(client, LOG_PAGE, "log", plan.logs, first, size, _raw_key)
        sources.append(_items(pages, lambda row: log_item(row, backlog=plan.backlog), skip))
    async with aclosing(_merged(sources)) as items:
        async for item in items:
            if item.event is None or item.event.flow_run_id not in gone:
                yield item
    for run in plan.runs:
        if plan.backlog and run not in gone:
            yield Item(None, (("exhausted", run, "task"), ("exhausted", run, "log"),
                              ("mode", run, "live")))


def _changed(head: Mapping[str, Any], plan: Plan, book: Book, root: str, kind: str) -> bool:
    """Whether rows of ``root`` must be read: always for a backlog; for a live poll, when the
    backend counts more (or other) rows in the window than were delivered from it."""
    if plan.backlog:
        return True
    return _aggregate_count(head, f"{root}_aggregate") != book.expected(plan.runs, kind)


async def _first(client: Client, plan: Plan, head: Mapping[str, Any], document: str, root: str,
                 where: Mapping[str, Any]) -> list[Row]:
    if plan.backlog:
        return root_rows(head, root, root)
    variables = {"where": dict(where), "limit": plan.streams.page_size + 1}
    return root_rows(await client.execute(document, variables), root, root)


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


def is_transient(error: BaseException) -> bool:
    """Whether the watch retries ``error`` (after the client's own retries) rather than end."""
    if isinstance(error, QueryValidationError):
        return False
    return isinstance(error, (BackendUnavailableError, MalformedResponseError, GraphQLQueryError))


async def fan_out(client: Client, plans: Sequence[Plan]) -> list[dict[str, Any]]:
    """The first request of each plan, sent at once. If one fails, or the caller is cancelled,
    the others are cancelled and awaited before this returns (no task outlives it); the most
    serious failure is raised (a fatal one before a transient one)."""
    if len(plans) == 1:
        return [await fetch_head(client, plans[0])]
    tasks = [asyncio.ensure_future(fetch_head(client, plan)) for plan in plans]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        # Waits for the cancelled ones; a cancellation of this call still propagates after.
        await asyncio.gather(*tasks, return_exceptions=True)
    errors = [t.exception() for t in tasks if not t.cancelled() and t.exception() is not None]
    if errors:
        fatal = [e for e in errors if e is not None and not is_transient(e)]
        failure = (fatal or errors)[0]
        assert failure is not None
        raise failure
    return [task.result() for task in tasks]

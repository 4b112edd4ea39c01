"""What a watch asks outside its polls: where the backend's clock is, what exists for runs that
start "now", and the final snapshots for :class:`~flowview_async.watch.RunFinished`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowview_async import _queries
from flowview_async._rows import root_rows
from flowview_async.flow_run import FlowRunView, flow_run_state
from flowview_async.watch.cursor import Book, Change, newest
from flowview_async.watch.documents import NEWEST, RECENT_LOGS, RECENT_TASKS, START, Streams
from flowview_async.watch.items import Item, error_item, missing_error

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = ["final_views", "newest_created", "sync_now"]


async def _recent_ids(client: Client, document: str, root: str,
                      where: dict[str, Any]) -> AsyncGenerator[tuple[str, str, str], None]:
    key: tuple[str, str] | None = None
    while True:
        page_where = where if key is None else {"_and": [where, {"_or": [
            {"created": {"_gt": key[0]}}, {"created": {"_eq": key[0]}, "id": {"_gt": key[1]}}]}]}
        rows = root_rows(await client.execute(document, {"where": page_where, "limit": 1001}),
                         root, root)
        for row in rows[:1000]:
            owner = row.opt_row("task_run", "task run") or row
            yield row.string("id"), row.string("created"), owner.string("flow_run_id")
        if len(rows) <= 1000:
            return
        key = (str(rows[999].raw.get("created")), str(rows[999].raw.get("id")))


async def sync_now(client: Client, streams: Streams, book: Book, runs: Sequence[str], *,
                   now: datetime) -> AsyncGenerator[Item, None]:
    """Runs that start "now": mark what exists as delivered, without events; they go live."""
    data = await client.execute(START, {"runs": list(runs)})
    found = {row.string("id"): row for row in root_rows(data, "flow_run", "flow run")}
    newest_created: str | None = None
    for root in ("log", "task_run_state"):
        for row in root_rows(data, root, root):
            newest_created = newest(newest_created, row.string("created"))
    present = [run for run in runs if run in found]
    for run in runs:
        if run not in found:
            yield error_item(run, missing_error(run, seen_before=False), now)
    floor = newest(book.created, newest_created)
    changes: list[Change] = [("advance", floor)]
    if floor is not None and present:
        probe = Book(window=book.window, created=floor)
        since = probe.since()
        kinds: list[tuple[str, str, str, dict[str, Any]]] = [
            ("log", "l", RECENT_LOGS, {"flow_run_id": {"_in": present}})]
        if streams.task_runs:
            kinds.append(("task_run_state", "t", RECENT_TASKS,
                          {"task_run": {"flow_run_id": {"_in": present}}}))
        for root, kind, document, where in kinds:
            recent = _recent_ids(client, document, root, {**where, "created": {"_gte": since}})
            async with aclosing(recent):
                async for row_id, created, run in recent:
                    changes.append(("row", row_id, created, run, kind))
    for run in present:
        row = found[run]
        state = flow_run_state(row.json("serialized_state"))
        version = row.opt_integer("version") or 0
        changes.append(("state", run, "", version, version, state.is_finished()))
        changes.append(("mode", run, "live"))
    yield Item(None, tuple(changes))


async def newest_created(client: Client, runs: Sequence[str]) -> str | None:
    """When the newest stored row of these runs was stored (the backend's clock), if any."""
    data = await client.execute(NEWEST, {"runs": list(runs)})
    found: str | None = None
    for root in ("log", "task_run_state"):
        for row in root_rows(data, root, root):
            found = newest(found, row.string("created"))
    return found


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

"""The watch itself: a handle that polls, delivers events in order, and rides out faults.

Structure of one pass (then a sleep, with backoff while nothing changes):

1. runs added with ``start="now"`` are synced silently (what exists counts as delivered);
2. each run with a backlog is read page by page, its events delivered as each page arrives;
3. runs caught up are polled together, ``RUNS_PER_REQUEST`` per request, the requests sent at once
   in a task group (one failing cancels the others and is awaited with them);
4. runs seen finished before this pass's poll (so their last lines are drained) end with
   :class:`RunFinished`.

Each pass's failures are sorted by :func:`is_transient`: a transient one (backend unavailable,
rate limited, timed out, a malformed answer, a GraphQL error other than a validation error) is
retried with the backoff until ``max_duration``; nothing was recorded for undelivered rows, so the
retry reads from where delivery stopped. A row one run keeps failing on makes that run, alone,
leave the watch with a :class:`RunError`. Anything else (bad credentials, a query the schema
refuses, a cassette miss) ends the watch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING

import attrs

from flowview_async._ids import check_id
from flowview_async.client import open_client
from flowview_async.errors import (
    BackendUnavailableError,
    FlowRunNotFoundError,
    FlowViewError,
    InvalidArgumentError,
    MalformedResponseError,
    UsageError,
    WatchTimeoutError,
)
from flowview_async.watch.cursor import Book, Change, Journal, Mark, RunPosition, apply, decode, newest
from flowview_async.watch.documents import Streams
from flowview_async.watch.events import (
    LogLine,
    RunError,
    RunFinished,
    StateChange,
    TaskRunStateChange,
    WatchEvent,
)
from flowview_async.watch.items import Item, RunFaultError
from flowview_async.watch.options import BACKOFF_FACTOR, Clock, Pacing, check_ids, check_start
from flowview_async.watch.poller import (
    backlog_plan,
    fan_out,
    fetch_head,
    is_transient,
    live_plans,
    step_items,
)
from flowview_async.watch.sync import final_views, newest_created, sync_now

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = ["FlowRunWatch"]

logger = logging.getLogger("flowview_async.watch")


@attrs.frozen
class _Flags:
    states: bool
    logs: bool
    task_runs: bool

    def wants(self, event: WatchEvent) -> bool:
        if isinstance(event, StateChange):
            return self.states
        if isinstance(event, LogLine):
            return self.logs
        if isinstance(event, TaskRunStateChange):
            return self.task_runs
        return True


class FlowRunWatch:
    """A running watch of flow runs: iterate it for events; add and remove runs meanwhile.

    ::

        async with watch_flow_runs(ids, client=client) as watch:
            watch.add(other_id)
            async for event in watch:
                save(event.cursor)

    Made by :func:`~flowview_async.watch.watch_flow_runs`; see there for the arguments.
    ``async with`` (or :func:`contextlib.aclosing`) closes it, and a temporary client with it,
    as soon as the block is left.
    """

    def __init__(self, flow_run_ids: Iterable[str], *, client: Client | None, start: str,
                 flags: _Flags, pacing: Pacing, keep_open: bool = False) -> None:
        ids = check_ids(flow_run_ids, allow_empty=keep_open)
        self._keep_open = keep_open
        start = check_start(start)
        self._client = client
        self._pacing = pacing
        self._flags = flags
        self._streams = Streams(task_runs=flags.task_runs, logs=flags.logs,
                                page_size=pacing.page_size)
        window = pacing.late_log_window
        if start in ("now", "beginning"):
            self._default_mode = "now" if start == "now" else "backlog"
            self._book = Book(window=window)
            for run in ids:
                self._book.runs[run] = RunPosition(mode=self._default_mode)  # type: ignore[arg-type]
        else:
            saved = decode(start, window=window)
            self._default_mode = "backlog"
            self._book = Book(window=window, created=saved.created, recent=saved.recent,
                              ended={run for run in ids if run in saved.ended})
            for run in ids:
                if run not in saved.ended:
                    self._book.runs[run] = saved.runs.get(run) or RunPosition(mode="backlog")
        self._journal = Journal.start(self._book)
        self._step_newest: str | None = None
        self._last_state: dict[str, str] = {}
        self._events: AsyncGenerator[WatchEvent, None] | None = None
        self._closed = False

    # --- the handle ------------------------------------------------------------------------------

    @property
    def runs(self) -> tuple[str, ...]:
        """The runs watched now (not yet ended or removed)."""
        return tuple(self._book.runs)

    def add(self, flow_run_id: str, *, start: str | None = None) -> None:
        """Watch one more run, from its beginning (``start="beginning"``) or from now on
        (``"now"``); by default as the watch started (``"beginning"`` after a cursor)."""
        self._check_open()
        run = check_id(flow_run_id, "flow_run_id")
        if start not in (None, "now", "beginning"):
            msg = f"add(start=...) must be 'now' or 'beginning', got {start!r}."
            raise InvalidArgumentError(msg)
        mode = self._default_mode if start is None else ("now" if start == "now" else "backlog")
        if run not in self._book.runs:
            self._record(("add", run, mode))

    def remove(self, flow_run_id: str) -> None:
        """Stop watching a run: no further event of it is delivered (no RunFinished either)."""
        self._check_open()
        run = check_id(flow_run_id, "flow_run_id")
        if run in self._book.runs:
            self._record(("remove", run))

    def _check_open(self) -> None:
        if self._closed:
            msg = "This watch is closed; start a new one (pass start=<a saved cursor> to resume)."
            raise UsageError(msg)

    # --- async iteration and closing -------------------------------------------------------------

    def __aiter__(self) -> FlowRunWatch:
        return self

    async def __anext__(self) -> WatchEvent:
        if self._closed:
            raise StopAsyncIteration
        if self._events is None:
            self._events = self._run()
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop the watch, cancel its requests and close a temporary client; safe to call twice."""
        self._closed = True
        if self._events is not None:
            await self._events.aclose()

    async def __aenter__(self) -> FlowRunWatch:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()

    # --- bookkeeping -----------------------------------------------------------------------------

    def _record(self, change: Change) -> None:
        apply(self._book, change)
        self._journal.changes.append(change)
        if change[0] == "row":
            self._step_newest = newest(self._step_newest, change[2])

    def _begin_step(self) -> None:
        self._journal = Journal.start(self._book)
        self._step_newest = None

    def _end_step(self) -> None:
        self._record(("advance", self._step_newest))

    def _deliver(self, item: Item) -> WatchEvent | None:
        """Record an item; the event to yield, if it is wanted and its run still watched."""
        event = item.event
        if event is not None and event.flow_run_id not in self._book.runs:
            return None  # removed (or ended) meanwhile
        for change in item.changes:
            self._record(change)
        if event is None:
            return None
        if isinstance(event, StateChange):
            self._last_state[event.flow_run_id] = repr(event.state)
        if not self._flags.wants(event):
            return None
        return attrs.evolve(event, mark=Mark(self._journal, len(self._journal.changes)))

    # --- the loop --------------------------------------------------------------------------------

    async def _run(self) -> AsyncGenerator[WatchEvent, None]:
        async with open_client(self._client) as client:
            clock = Clock(asyncio.get_running_loop(), self._pacing.max_duration)
            interval = self._pacing.poll_interval
            outage: FlowViewError | None = None
            failures: dict[str, int] = {}
            while self._book.runs or self._keep_open:
                progress = False
                try:
                    async with aclosing(self._pass(client)) as events:
                        async for event in events:
                            progress = True
                            yield event
                except RunFaultError as fault:
                    error: FlowViewError = fault.error
                    failures[fault.flow_run_id] = failures.get(fault.flow_run_id, 0) + 1
                    if failures[fault.flow_run_id] >= self._pacing.max_run_failures:
                        failures.pop(fault.flow_run_id)
                        failed = self._run_failed(fault)
                        if failed is not None:
                            yield failed
                        continue
                except FlowViewError as caught:
                    if not is_transient(caught):
                        raise
                    error = caught
                else:
                    failures.clear()
                    if outage is not None:
                        logger.info("Backend reachable again; watching resumed.")
                        outage = None
                    if not self._book.runs and not self._keep_open:
                        return
                    pending = any(p.final for p in self._book.runs.values())
                    interval = (self._pacing.poll_interval if progress or pending
                                else min(interval * BACKOFF_FACTOR, self._pacing.max_poll_interval))
                    wait = clock.next_wait(interval)
                    if wait is None:
                        raise self._timeout_error()
                    await client.sleep(wait)
                    clock.slept += wait
                    continue
                # A transient failure: nothing undelivered was recorded, so the next pass reads
                # from where delivery stopped.
                if outage is None:
                    what = ("Backend unavailable" if isinstance(error, BackendUnavailableError)
                            else "Backend answered with an error")
                    logger.warning("%s while watching (%s); retrying with backoff until the "
                                   "watch's maximum duration.", what, " ".join(str(error).split()))
                outage = error
                interval = min(interval * BACKOFF_FACTOR, self._pacing.max_poll_interval)
                wait = clock.next_wait(interval)
                if wait is None:
                    raise error
                await client.sleep(wait)
                clock.slept += wait

    def _run_failed(self, fault: RunFaultError) -> WatchEvent | None:
        self._begin_step()
        error = MalformedResponseError(
            f"Flow run {fault.flow_run_id} left the watch: its rows could not be read "
            f"{self._pacing.max_run_failures} times in a row ({fault.error}).")
        error.__cause__ = fault.error
        event = RunError(flow_run_id=fault.flow_run_id, timestamp=datetime.now(timezone.utc),
                         error=error)
        return self._deliver(Item(event, (("end", fault.flow_run_id),)))

    async def _pass(self, client: Client) -> AsyncGenerator[WatchEvent, None]:
        now = datetime.now(timezone.utc)
        starting = [run for run, p in self._book.runs.items() if p.mode == "now"]
        if starting:
            self._begin_step()
            async with aclosing(sync_now(client, self._streams, self._book, starting,
                                         now=now)) as items:
                async for item in items:
                    if (event := self._deliver(item)) is not None:
                        yield event
            self._end_step()
        backlogs = [run for run, p in self._book.runs.items() if p.mode == "backlog"]
        if backlogs and self._book.created is None:
            # Where the backend's clock is: backlog rows older than the late window before it
            # need not be remembered once delivered (memory and cursors stay small).
            found = await newest_created(client, backlogs)
            self._begin_step()
            self._record(("advance", found))
        for run in backlogs:
            position = self._book.runs.get(run)
            if position is None or position.mode != "backlog":
                continue  # removed meanwhile
            fresh = position.version == 0 and position.log_key is None and position.task_key is None
            plan = backlog_plan(self._streams, self._book, run)
            self._begin_step()
            head = await fetch_head(client, plan)
            async with aclosing(step_items(client, plan, head, self._book,
                                           seen_before=_constant(not fresh), now=now)) as items:
                async for item in items:
                    if (event := self._deliver(item)) is not None:
                        yield event
            # No advance: only live polls move the `created` mark (a live run's next poll must
            # reach back to its previous one, however long this backlog took).
        live = [run for run, p in self._book.runs.items() if p.mode == "live"]
        # Runs seen finished before this poll end after it: it read their last lines.
        finishing = [run for run in live if self._book.runs[run].final]
        plans = live_plans(self._streams, self._book, live)
        heads = await fan_out(client, plans) if plans else []
        for plan, head in zip(plans, heads, strict=True):
            self._begin_step()
            async with aclosing(step_items(client, plan, head, self._book,
                                           seen_before=_constant(True), now=now)) as items:
                async for item in items:
                    if (event := self._deliver(item)) is not None:
                        yield event
            self._end_step()
        done = [run for run in finishing if run in self._book.runs and self._book.runs[run].final]
        if done:
            views = await final_views(client, done)
            self._begin_step()
            for run in done:
                view = views.get(run)
                if view is None:
                    error = FlowRunNotFoundError(f"Flow run {run} was deleted as it finished.")
                    item = Item(RunError(flow_run_id=run, timestamp=now, error=error), (("end", run),))
                else:
                    # The backend's times, not the wall clock: a replayed watch is identical.
                    when = max((t for t in (view.state.timestamp, view.updated_at) if t),
                               default=now)
                    item = Item(RunFinished(flow_run_id=run, timestamp=when, state=view.state,
                                            flow_run=view), (("end", run),))
                if (event := self._deliver(item)) is not None:
                    yield event

    def _timeout_error(self) -> WatchTimeoutError:
        waiting = list(self._book.runs)
        shown = ", ".join(f"{run} ({self._last_state[run]})" if run in self._last_state else run
                          for run in waiting[:5])
        more = f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
        msg = (f"Watching timed out after {self._pacing.max_duration:g}s: still not finished: "
               f"{shown}{more}. Pass a larger max_duration= (or None to wait as long as it takes).")
        return WatchTimeoutError(msg)


def _constant(value: bool) -> Callable[[str], bool]:
    return lambda _: value

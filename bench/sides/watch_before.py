"""Watching flow runs: an async stream of state changes and log lines while the runs go on.

::

    from contextlib import aclosing

    async with aclosing(watch_flow_run(flow_run_id, client=client)) as events:
        async for event in events:
            print(event.timestamp, event)

Compared with Prefect 1's ``watch_flow_run`` (a blocking generator polling every 2 s, which lost any
log line sharing its timestamp with the last one seen), this one:

* polls the state and the logs concurrently, then sleeps with :meth:`Client.sleep` (instant when
  replaying a cassette), backing off while nothing changes and resetting as soon as something does;
* pages logs by keyset on ``(timestamp, id)`` and re-reads a short window behind the newest line it
  delivered, de-duplicating by log id, so lines that share a timestamp, or that reach the backend a
  little after their timestamp (Prefect agents send logs in batches), are neither lost nor repeated;
* watches many runs from one task with two requests per poll (one bulk state query, one bulk log
  query), whatever the number of runs;
* ends once each run is finished and its final log lines are drained, with a :class:`RunFinished`
  event per run; ``max_duration`` raises :class:`~flowview_async.errors.WatchTimeoutError`;
* rides out backend outages: a poll that still fails with
  :class:`~flowview_async.errors.BackendUnavailableError` after the client's own retries is tried
  again with the watch's backoff until ``max_duration`` (one warning per outage on the
  ``flowview_async.watch`` logger, an info record when it is over), and the stream resumes where
  it was, nothing lost or repeated;
* starts no background task that could outlive it: each poll's two requests run in tasks that are
  cancelled and awaited before the poll returns, so an early ``break`` (with ``aclosing``) or a
  cancellation leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Iterable, Sequence
from contextlib import aclosing
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from flowview_async import _queries
from flowview_async._ids import check_id
from flowview_async._paging import DEFAULT_PAGE_SIZE, check_page_size, keyset_pages
from flowview_async._rows import format_timestamp
from flowview_async.client import open_client
from flowview_async.errors import BackendUnavailableError, InvalidArgumentError, WatchTimeoutError
from flowview_async.flow_run import FlowRunView
from flowview_async.logs import FlowRunLog
from flowview_async.states import State

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = [
    "DEFAULT_LATE_LOG_WINDOW",
    "DEFAULT_MAX_DURATION",
    "DEFAULT_MAX_POLL_INTERVAL",
    "DEFAULT_POLL_INTERVAL",
    "LogLine",
    "RunFinished",
    "StateChange",
    "WatchEvent",
    "watch_flow_run",
    "watch_flow_runs",
]

DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_MAX_POLL_INTERVAL = 10.0
# Each quiet poll waits this much longer than the previous one (Prefect 1's int(2 * 1.3) == 2
# meant its backoff never grew).
BACKOFF_FACTOR = 1.5
DEFAULT_MAX_DURATION = timedelta(hours=12)
# How far behind the newest delivered line each poll looks again. Prefect 1 agents stamp a line
# when it is logged but send lines in batches every few seconds, so a line can reach the backend
# after newer ones were already read.
DEFAULT_LATE_LOG_WINDOW = 15.0
# Runs per bulk log query: keeps the `_or` filter and the SQL a sensible size.
_RUNS_PER_LOG_QUERY = 200

logger = logging.getLogger("flowview_async.watch")

_T1 = TypeVar("_T1")
_T2 = TypeVar("_T2")


# --- events --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StateChange:
    """The run entered ``state`` at ``timestamp`` (one event per entry of the state history)."""

    flow_run_id: str
    timestamp: datetime
    state: State


@attrs.frozen(kw_only=True)
class LogLine:
    """A log line of the run or of one of its task runs."""

    flow_run_id: str
    log: FlowRunLog

    @property
    def timestamp(self) -> datetime:
        return self.log.timestamp


@attrs.frozen(kw_only=True)
class RunFinished:
    """The run is finished and its log lines are drained: the last event of that run.

    Attributes:
        flow_run: the final snapshot of the run (``flow_run.state`` is its final state).
    """

    flow_run_id: str
    timestamp: datetime
    state: State
    flow_run: FlowRunView = attrs.field(eq=False, repr=False)


WatchEvent = StateChange | LogLine | RunFinished


# --- per-run bookkeeping -------------------------------------------------------------------------


def _log_key(log: FlowRunLog) -> str:
    if log.id is not None:
        return log.id
    # A backend without log ids: the line's content is the best identity left.
    return f"{log.timestamp.isoformat()}|{log.task_run_id}|{log.level_name}|{log.message}"


class _RunTracker:
    """What has been delivered for one run, so that each poll yields only what is new."""

    def __init__(self, flow_run_id: str, late_log_window: timedelta) -> None:
        self.flow_run_id = flow_run_id
        self._late_log_window = late_log_window
        self._states_seen = 0
        self._last_state: State | None = None
        self._newest_log: datetime | None = None
        # Delivered log keys -> timestamp, pruned to the re-read window.
        self._delivered: dict[str, datetime] = {}
        self.newest_event: datetime | None = None
        # Set when the run was seen finished; the next poll drains its logs once more.
        self.final_view: FlowRunView | None = None
        self.done = False

    def log_filter(self) -> dict[str, Any]:
        where: dict[str, Any] = {"flow_run_id": {"_eq": self.flow_run_id}}
        if self._newest_log is not None:
            since = self._newest_log - self._late_log_window
            where["timestamp"] = {"_gte": format_timestamp(since)}
        return where

    def new_states(self, view: FlowRunView) -> list[StateChange]:
        changes = [
            StateChange(flow_run_id=self.flow_run_id, timestamp=state.timestamp, state=state)
            for state in view.states[self._states_seen:]
            if state.timestamp is not None
        ]
        self._states_seen = max(self._states_seen, len(view.states))
        if not view.states and view.state != self._last_state:
            # No history (some backends only keep the current state): report what changed.
            when = view.state.timestamp or view.updated_at
            if when is not None:
                changes.append(StateChange(flow_run_id=self.flow_run_id, timestamp=when,
                                           state=view.state))
        self._last_state = view.state
        self._note(changes)
        return changes

    def new_logs(self, logs: Iterable[FlowRunLog]) -> list[LogLine]:
        lines = []
        for log in logs:
            key = _log_key(log)
            if key in self._delivered:
                continue
            self._delivered[key] = log.timestamp
            lines.append(LogLine(flow_run_id=self.flow_run_id, log=log))
            if self._newest_log is None or log.timestamp > self._newest_log:
                self._newest_log = log.timestamp
        if self._newest_log is not None:
            # Lines older than the window are never read again, so their keys can go.
            horizon = self._newest_log - self._late_log_window
            self._delivered = {k: t for k, t in self._delivered.items() if t >= horizon}
        self._note(lines)
        return lines

    def finished_event(self) -> RunFinished:
        assert self.final_view is not None  # only called for runs seen finished
        state = self.final_view.state
        candidates = [t for t in (state.timestamp, self.final_view.updated_at, self.newest_event) if t]
        return RunFinished(flow_run_id=self.flow_run_id, timestamp=max(candidates),
                           state=state, flow_run=self.final_view)

    def _note(self, events: Sequence[StateChange | LogLine]) -> None:
        for event in events:
            if self.newest_event is None or event.timestamp > self.newest_event:
                self.newest_event = event.timestamp


# --- polling -------------------------------------------------------------------------------------


async def _concurrently(first: Awaitable[_T1], second: Awaitable[_T2]) -> tuple[_T1, _T2]:
    """Await both at once. If either fails, or the caller is cancelled, the other is cancelled
    and awaited before this returns: no task outlives the call."""
    tasks = (asyncio.ensure_future(first), asyncio.ensure_future(second))
    try:
        await asyncio.gather(*tasks)
        return tasks[0].result(), tasks[1].result()
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _poll_states(client: Client, trackers: Sequence[_RunTracker]) -> list[FlowRunView]:
    if not trackers:
        return []
    return await FlowRunView.from_flow_run_ids([t.flow_run_id for t in trackers], client=client)


async def _poll_logs(client: Client, trackers: Sequence[_RunTracker],
                     page_size: int) -> dict[str, list[FlowRunLog]]:
    found: dict[str, list[FlowRunLog]] = {t.flow_run_id: [] for t in trackers}
    for start in range(0, len(trackers), _RUNS_PER_LOG_QUERY):
        chunk = trackers[start:start + _RUNS_PER_LOG_QUERY]
        where = {"_or": [t.log_filter() for t in chunk]}
        async for rows in keyset_pages(client, _queries.LOGS_PAGE, root="log", where=where,
                                       keys=("timestamp", "id"), page_size=page_size,
                                       what="log line"):
            for row in rows:
                found.setdefault(row.string("flow_run_id"), []).append(FlowRunLog.from_row(row))
    return found


def _event_order(event: WatchEvent) -> tuple[datetime, int]:
    # At equal timestamps a state change comes before the lines logged in that state.
    return (event.timestamp, 0 if isinstance(event, StateChange) else 1)


def _seconds(value: float | timedelta | None, name: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        msg = f"{name} must be a positive number of seconds or a timedelta, got {value!r}."
        raise InvalidArgumentError(msg)
    return float(value)


@attrs.frozen(kw_only=True)
class _Pacing:
    poll_interval: float
    max_poll_interval: float
    max_duration: float | None
    late_log_window: timedelta


def _pacing(poll_interval: float | timedelta, max_poll_interval: float | timedelta,
            max_duration: float | timedelta | None, late_log_window: float | timedelta) -> _Pacing:
    first = _seconds(poll_interval, "poll_interval")
    most = _seconds(max_poll_interval, "max_poll_interval")
    assert first is not None
    assert most is not None
    if most < first:
        msg = f"max_poll_interval ({most}s) must be at least poll_interval ({first}s)."
        raise InvalidArgumentError(msg)
    if isinstance(late_log_window, timedelta):
        late_log_window = late_log_window.total_seconds()
    if isinstance(late_log_window, bool) or not isinstance(late_log_window, (int, float)) \
            or late_log_window < 0:
        msg = f"late_log_window must be zero or a positive number of seconds, got {late_log_window!r}."
        raise InvalidArgumentError(msg)
    return _Pacing(poll_interval=first, max_poll_interval=most,
                   max_duration=_seconds(max_duration, "max_duration", allow_none=True),
                   late_log_window=timedelta(seconds=late_log_window))


def _check_ids(flow_run_ids: Iterable[str]) -> list[str]:
    if isinstance(flow_run_ids, str):
        msg = "flow_run_ids must be a list of ids, not one string; use watch_flow_run() for one run."
        raise InvalidArgumentError(msg)
    ids = list(dict.fromkeys(check_id(i, "flow_run_id") for i in flow_run_ids))
    if not ids:
        msg = "flow_run_ids is empty: pass at least one flow run id to watch."
        raise InvalidArgumentError(msg)
    return ids


def _timeout_error(trackers: Iterable[_RunTracker], states: dict[str, State],
                   max_duration: float) -> WatchTimeoutError:
    waiting = [t.flow_run_id for t in trackers if not t.done]
    shown = ", ".join(f"{i} ({states[i]!r})" if i in states else i for i in waiting[:5])
    more = f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
    msg = (f"Watching timed out after {max_duration:g}s: still not finished: {shown}{more}. "
           "Pass a larger max_duration= (or None to wait as long as it takes).")
    return WatchTimeoutError(msg)


# --- public API ----------------------------------------------------------------------------------


async def watch_flow_runs(
    flow_run_ids: Iterable[str],
    *,
    client: Client | None = None,
    stream_states: bool = True,
    stream_logs: bool = True,
    poll_interval: float | timedelta = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float | timedelta = DEFAULT_MAX_POLL_INTERVAL,
    max_duration: float | timedelta | None = DEFAULT_MAX_DURATION,
    late_log_window: float | timedelta = DEFAULT_LATE_LOG_WINDOW,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> AsyncGenerator[WatchEvent, None]:
    """Watch several flow runs from one task: their events merged into one stream.

    Each event carries its ``flow_run_id``. Within each poll, events are yielded in timestamp
    order; a run's :class:`RunFinished` comes after its last state change and log line. The stream
    ends when every run has finished. Each poll costs two requests (one bulk state query, one bulk
    log query, per 200 runs), sent concurrently.

    A run that is already finished yields its whole history and logs, then :class:`RunFinished`.
    Log lines that reach the backend more than ``late_log_window`` after newer lines were read are
    not delivered; lines that arrive later but within that window are delivered, even if an event
    with a later timestamp was already yielded.

    Args:
        flow_run_ids: the runs to watch (duplicates are watched once).
        client: the client to use; else a temporary one from the Prefect settings.
        stream_states: yield :class:`StateChange` events.
        stream_logs: yield :class:`LogLine` events.
        poll_interval: seconds between polls while things change.
        max_poll_interval: the longest wait between polls while nothing changes.
        max_duration: give up after this long (seconds or a timedelta; None waits forever).
        late_log_window: how far behind the newest delivered line each poll looks again.
        page_size: log lines per request.

    Raises:
        InvalidArgumentError: bad ids or timings.
        FlowRunNotFoundError: one of the ids matches no flow run.
        WatchTimeoutError: some run did not finish within ``max_duration``.
        BackendUnavailableError: the backend was still unavailable when ``max_duration`` ran out
            (a shorter outage only logs a warning on the ``flowview_async.watch`` logger).

    Use it with :func:`contextlib.aclosing` when you may stop early, so that a temporary client
    is closed at once rather than when the generator is garbage-collected.
    """
    ids = _check_ids(flow_run_ids)
    pacing = _pacing(poll_interval, max_poll_interval, max_duration, late_log_window)
    check_page_size(page_size)
    trackers = {i: _RunTracker(i, pacing.late_log_window) for i in ids}
    last_states: dict[str, State] = {}
    async with open_client(client) as active:
        loop = asyncio.get_running_loop()
        started = loop.time()
        # Nominal time slept: makes max_duration deterministic when sleeps are instant (replay).
        slept = 0.0
        interval = pacing.poll_interval
        outage: BackendUnavailableError | None = None

        def next_wait(interval: float) -> float | None:
            """How long to sleep before the next poll; None once max_duration is used up."""
            if pacing.max_duration is None:
                return interval
            remaining = pacing.max_duration - max(loop.time() - started, slept)
            return None if remaining <= 0 else min(interval, remaining)

        while True:
            polling = [t for t in trackers.values() if not t.done]
            # Runs seen finished last poll only need their logs drained, not their state.
            unfinished = [t for t in polling if t.final_view is None]
            try:
                views, logs = await _concurrently(
                    _poll_states(active, unfinished),
                    _poll_logs(active, polling, page_size) if stream_logs else _nothing(),
                )
            except BackendUnavailableError as error:
                # A long watch outlives a backend restart: the client's retries span seconds, the
                # watch may last hours. Nothing was recorded from the failed poll, so the next one
                # reads from the same place (no event lost or repeated).
                if outage is None:
                    logger.warning("Backend unavailable while watching (%s); retrying with "
                                   "backoff until the watch's maximum duration.",
                                   " ".join(str(error).split()))
                outage = error
                interval = min(interval * BACKOFF_FACTOR, pacing.max_poll_interval)
                wait = next_wait(interval)
                if wait is None:
                    raise
                await active.sleep(wait)
                slept += wait
                continue
            if outage is not None:
                logger.info("Backend reachable again; watching resumed.")
                outage = None
            events: list[WatchEvent] = []
            draining = [t for t in polling if t.final_view is not None]
            for view in views:
                tracker = trackers[view.flow_run_id]
                last_states[view.flow_run_id] = view.state
                states = tracker.new_states(view)
                if stream_states:
                    events.extend(states)
                if view.state.is_finished():
                    tracker.final_view = view
            for tracker in polling:
                events.extend(tracker.new_logs(logs.get(tracker.flow_run_id, ())))
            events.sort(key=_event_order)
            for event in events:
                yield event
            # A run seen finished is done once one more log poll ran after that sighting (the
            # concurrent poll that saw the final state may have missed the final lines).
            for tracker in polling:
                if tracker.final_view is not None and (tracker in draining or not stream_logs):
                    tracker.done = True
                    yield tracker.finished_event()
            if all(t.done for t in trackers.values()):
                return
            changed = bool(events) or any(t.final_view is not None and not t.done
                                          for t in trackers.values())
            interval = pacing.poll_interval if changed else min(interval * BACKOFF_FACTOR,
                                                                pacing.max_poll_interval)
            wait = next_wait(interval)
            if wait is None:
                raise _timeout_error(trackers.values(), last_states, pacing.max_duration or 0.0)
            await active.sleep(wait)
            slept += wait


async def _nothing() -> dict[str, list[FlowRunLog]]:
    return {}


async def watch_flow_run(
    flow_run_id: str,
    *,
    client: Client | None = None,
    stream_states: bool = True,
    stream_logs: bool = True,
    poll_interval: float | timedelta = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float | timedelta = DEFAULT_MAX_POLL_INTERVAL,
    max_duration: float | timedelta | None = DEFAULT_MAX_DURATION,
    late_log_window: float | timedelta = DEFAULT_LATE_LOG_WINDOW,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> AsyncGenerator[WatchEvent, None]:
    """Watch one flow run: its state changes and log lines in timestamp order, then
    :class:`RunFinished` once it is finished and its last lines are read.

    Same arguments and errors as :func:`watch_flow_runs`.
    """
    checked = check_id(flow_run_id, "flow_run_id")
    events = watch_flow_runs([checked], client=client, stream_states=stream_states,
                             stream_logs=stream_logs, poll_interval=poll_interval,
                             max_poll_interval=max_poll_interval, max_duration=max_duration,
                             late_log_window=late_log_window, page_size=page_size)
    async with aclosing(events):
        async for event in events:
            yield event

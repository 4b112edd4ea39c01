"""Watching flow runs: one async stream of their state changes, task-run states and log lines.

::

    async with watch_flow_runs(ids, client=client, start=saved_cursor or "beginning") as watch:
        async for event in watch:
            handle(event)
            saved_cursor = event.cursor      # resume right after this event later

Compared with Prefect 1's ``watch_flow_run`` (a blocking generator polling every 2 s, which lost
any log line sharing its timestamp with the last one seen), this one:

* watches many runs from one task; each poll asks only for what changed since the last (states
  above the last version delivered, a count of the rows stored since the newest one delivered,
  and those rows only when the count says there are new ones), for up to 200 runs per request,
  so a quiet poll of 200 runs is one small request with a small answer;
* tells states apart by their history row id and version, never by position, so a state written
  late with an older timestamp (clock skew) is delivered once, where it belongs in the news;
* reads a run's backlog page by page, so memory stays flat and the first event comes after one
  page, whatever the history;
* gives every event a ``cursor`` string: a new watch started from it delivers each state and line
  exactly once across the two;
* ends a run on its own (:class:`RunError`) when it never existed, is deleted, or its rows keep
  failing; the other runs go on, and the watch ends when every run has ended;
* rides out every transient failure (backend down, 5xx, 429, timeouts, malformed answers, API
  errors), after the client's retries, with its own backoff until ``max_duration``;
* can be changed while it runs (:meth:`FlowRunWatch.add`, :meth:`FlowRunWatch.remove`) and
  starts no task that outlives it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from flowview_async._ids import check_id
from flowview_async._paging import DEFAULT_PAGE_SIZE
from flowview_async.watch.events import (
    LogLine,
    RunError,
    RunFinished,
    StateChange,
    TaskRunStateChange,
    WatchEvent,
)
from flowview_async.watch.options import (
    DEFAULT_LATE_LOG_WINDOW,
    DEFAULT_MAX_DURATION,
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_MAX_RUN_FAILURES,
    DEFAULT_POLL_INTERVAL,
    pacing,
)
from flowview_async.watch.poller import is_transient
from flowview_async.watch.stream import FlowRunWatch, _Flags

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = [
    "DEFAULT_LATE_LOG_WINDOW",
    "DEFAULT_MAX_DURATION",
    "DEFAULT_MAX_POLL_INTERVAL",
    "DEFAULT_MAX_RUN_FAILURES",
    "DEFAULT_POLL_INTERVAL",
    "FlowRunWatch",
    "LogLine",
    "RunError",
    "RunFinished",
    "StateChange",
    "TaskRunStateChange",
    "WatchEvent",
    "is_transient",
    "watch_flow_run",
    "watch_flow_runs",
]


def watch_flow_runs(
    flow_run_ids: Iterable[str],
    *,
    client: Client | None = None,
    start: str = "beginning",
    stream_states: bool = True,
    stream_logs: bool = True,
    stream_task_runs: bool = False,
    poll_interval: float | timedelta = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float | timedelta = DEFAULT_MAX_POLL_INTERVAL,
    max_duration: float | timedelta | None = DEFAULT_MAX_DURATION,
    late_log_window: float | timedelta = DEFAULT_LATE_LOG_WINDOW,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_run_failures: int = DEFAULT_MAX_RUN_FAILURES,
    keep_open: bool = False,
) -> FlowRunWatch:
    """Watch several flow runs from one task: their events merged into one stream.

    Each event carries its ``flow_run_id`` and a ``cursor``. A run's events come in the order the
    backend records them: its history oldest first, then each poll's news in timestamp order
    (a flow-run state before the task-run states and lines of the same instant). Each run ends
    with one :class:`RunFinished` (finished, its last lines drained) or one :class:`RunError`
    (it never existed, was deleted, or its rows failed ``max_run_failures`` polls in a row).

    Args:
        flow_run_ids: the runs to watch (duplicates are watched once).
        client: the client to use; else a temporary one from the Prefect settings.
        start: ``"beginning"`` (each run's whole history first), ``"now"`` (only what happens
            from now on), or an event's ``cursor`` (resume right after that event; runs not in the
            cursor start from their beginning, runs that had ended are not watched again).
        stream_states: deliver :class:`StateChange` events.
        stream_logs: deliver :class:`LogLine` events (False also stops reading them).
        stream_task_runs: deliver :class:`TaskRunStateChange` events (mapped children too).
        poll_interval: seconds between polls while things change.
        max_poll_interval: the longest wait between polls while nothing changes.
        max_duration: give up after this long (seconds or a timedelta; None waits forever).
        late_log_window: seconds after a row's storage time during which a row stored earlier
            may still appear (out-of-order commits); each poll looks this far back.
        page_size: rows per request while reading a backlog.
        max_run_failures: polls in a row a run's rows may fail to read before it leaves.
        keep_open: go on when every run has ended (until closed or ``max_duration``), for a
            service that adds runs as they come; ``flow_run_ids`` may then be empty.

    Returns:
        A :class:`FlowRunWatch`: iterate it; use it with ``async with`` (or
        :func:`contextlib.aclosing`) so that stopping early closes a temporary client at once.

    Raises:
        InvalidArgumentError: bad ids, timings or cursor (at once, before any request).
        WatchTimeoutError: some run did not finish within ``max_duration``.
        BackendUnavailableError: a transient failure still lasted when ``max_duration`` ran out
            (a shorter one only logs a warning on the ``flowview_async.watch`` logger).
        AuthenticationError, QueryValidationError: failures retrying cannot fix.
    """
    checked = pacing(poll_interval=poll_interval, max_poll_interval=max_poll_interval,
                     max_duration=max_duration, late_log_window=late_log_window,
                     page_size=page_size, max_run_failures=max_run_failures)
    flags = _Flags(states=bool(stream_states), logs=bool(stream_logs),
                   task_runs=bool(stream_task_runs))
    return FlowRunWatch(flow_run_ids, client=client, start=start, flags=flags, pacing=checked,
                        keep_open=bool(keep_open))


def watch_flow_run(
    flow_run_id: str,
    *,
    client: Client | None = None,
    start: str = "beginning",
    stream_states: bool = True,
    stream_logs: bool = True,
    stream_task_runs: bool = False,
    poll_interval: float | timedelta = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float | timedelta = DEFAULT_MAX_POLL_INTERVAL,
    max_duration: float | timedelta | None = DEFAULT_MAX_DURATION,
    late_log_window: float | timedelta = DEFAULT_LATE_LOG_WINDOW,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_run_failures: int = DEFAULT_MAX_RUN_FAILURES,
) -> FlowRunWatch:
    """Watch one flow run: its events, then :class:`RunFinished` once it is finished and its last
    lines are read (or :class:`RunError` if it does not exist or is deleted).

    Same arguments, errors and return value as :func:`watch_flow_runs`.
    """
    return watch_flow_runs([check_id(flow_run_id, "flow_run_id")], client=client, start=start,
                           stream_states=stream_states, stream_logs=stream_logs,
                           stream_task_runs=stream_task_runs, poll_interval=poll_interval,
                           max_poll_interval=max_poll_interval, max_duration=max_duration,
                           late_log_window=late_log_window, page_size=page_size,
                           max_run_failures=max_run_failures)

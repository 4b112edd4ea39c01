"""A watch's arguments, checked before anything is sent, and its constants."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import attrs

from flowview_async._ids import check_id
from flowview_async._paging import check_page_size
from flowview_async.errors import InvalidArgumentError

__all__ = [
    "BACKOFF_FACTOR",
    "DEFAULT_LATE_LOG_WINDOW",
    "DEFAULT_MAX_DURATION",
    "DEFAULT_MAX_POLL_INTERVAL",
    "DEFAULT_MAX_RUN_FAILURES",
    "DEFAULT_POLL_INTERVAL",
    "Clock",
    "Pacing",
    "check_ids",
    "check_start",
    "pacing",
]

DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_MAX_POLL_INTERVAL = 10.0
# Each quiet poll waits this much longer than the previous one (Prefect 1's int(2 * 1.3) == 2
# meant its backoff never grew).
BACKOFF_FACTOR = 1.5
DEFAULT_MAX_DURATION = timedelta(hours=12)
# How long after a row's insertion time (`created`, the backend's clock) a row inserted earlier
# may still become visible (transactions commit out of order); each poll looks this far back
# again. Lines an agent sends late with old timestamps need no window: they are stored late.
DEFAULT_LATE_LOG_WINDOW = 5.0
# Polls in a row in which one run's rows cannot be read before that run leaves the watch.
DEFAULT_MAX_RUN_FAILURES = 3


def _seconds(value: Any, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not allow_zero):
        least = "zero or a positive" if allow_zero else "a positive"
        msg = f"{name} must be {least} finite number of seconds or a timedelta, got {value!r}."
        raise InvalidArgumentError(msg)
    return float(value)


@attrs.frozen(kw_only=True)
class Pacing:
    poll_interval: float
    max_poll_interval: float
    max_duration: float | None
    late_log_window: float
    page_size: int
    max_run_failures: int


def pacing(*, poll_interval: Any, max_poll_interval: Any, max_duration: Any,
           late_log_window: Any, page_size: Any, max_run_failures: Any) -> Pacing:
    """Check the timing arguments; raises InvalidArgumentError naming the bad one."""
    first = _seconds(poll_interval, "poll_interval")
    most = _seconds(max_poll_interval, "max_poll_interval")
    if most < first:
        msg = f"max_poll_interval ({most}s) must be at least poll_interval ({first}s)."
        raise InvalidArgumentError(msg)
    if isinstance(max_run_failures, bool) or not isinstance(max_run_failures, int) \
            or max_run_failures < 1:
        msg = f"max_run_failures must be a positive integer, got {max_run_failures!r}."
        raise InvalidArgumentError(msg)
    return Pacing(
        poll_interval=first, max_poll_interval=most,
        max_duration=None if max_duration is None else _seconds(max_duration, "max_duration"),
        late_log_window=_seconds(late_log_window, "late_log_window", allow_zero=True),
        page_size=check_page_size(page_size), max_run_failures=max_run_failures)


def check_ids(flow_run_ids: Iterable[str], *, allow_empty: bool = False) -> list[str]:
    """The ids to watch, canonical and without duplicates."""
    if isinstance(flow_run_ids, (str, bytes)):
        msg = "flow_run_ids must be a list of ids, not one string; use watch_flow_run() for one run."
        raise InvalidArgumentError(msg)
    try:
        items = list(flow_run_ids)
    except TypeError:
        msg = f"flow_run_ids must be a list of flow run id strings, got {flow_run_ids!r}."
        raise InvalidArgumentError(msg) from None
    ids = list(dict.fromkeys(check_id(i, "flow_run_id") for i in items))
    if not ids and not allow_empty:
        msg = ("flow_run_ids is empty: pass at least one flow run id to watch (or keep_open=True "
               "to add them later).")
        raise InvalidArgumentError(msg)
    return ids


def check_start(start: Any) -> str:
    """``"now"``, ``"beginning"`` or a cursor string (decoded later, with the window)."""
    if not isinstance(start, str) or not start:
        msg = f"start must be 'now', 'beginning' or a cursor string from an event, got {start!r}."
        raise InvalidArgumentError(msg)
    return start


class Clock:
    """max_duration, counted both in wall time and in nominal time slept (replayed sleeps are
    instant, so a replayed watch times out where the recorded one did)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_duration: float | None) -> None:
        self._loop = loop
        self._started = loop.time()
        self._max = max_duration
        self.slept = 0.0

    def next_wait(self, interval: float) -> float | None:
        """How long to sleep before the next poll; None once max_duration is used up."""
        if self._max is None:
            return interval
        remaining = self._max - max(self._loop.time() - self._started, self.slept)
        return None if remaining <= 0 else min(interval, remaining)

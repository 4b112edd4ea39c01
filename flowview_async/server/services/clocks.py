"""The next events of a Prefect 1 schedule, read from its serialized form (``flow.schedule``).

Prefect Server asks Prefect's own ``Schedule.next(n)`` for these; the local backend cannot import
Prefect, so this module reads the JSON that ``ScheduleSchema`` writes and follows the same rules:

* ``IntervalClock``: ``start_date`` (default 2019-01-01 UTC) plus whole intervals; the first event is
  the first at or after ``after`` (an event exactly at ``after`` is skipped). Intervals of a day or
  more are added in the start date's wall-clock time, so a daily 9am clock stays at 9am across DST;
  shorter ones are added in UTC.
* ``CronClock``: croniter in the start date's time zone, from ``max(after, start - 1 s)``, microseconds
  rounded up, never ``after`` itself; ``day_or`` as given (default True).
* ``DatesClock``: its dates strictly after ``after``.
* Several clocks: their events merged in time order, an event equal to the previous one dropped.

Filters, adjustments and ``RRuleClock`` are not understood: :class:`UnsupportedSchedule` says so, and
the scheduler skips that flow (as Prefect Server skips a schedule it cannot deserialize).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import re
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from croniter import croniter

_UTC = dt.timezone.utc
_DEFAULT_INTERVAL_START = dt.datetime(2019, 1, 1, tzinfo=_UTC)
_OFFSET_NAME = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
# Prefect's Schedule.next stops after this many clock events whatever it found; CronClock after 1000.
_MAX_EVENTS_CHECKED = 10_000
_MAX_CRON_ITERATIONS = 1_000
_FILTER_KEYS = ("filters", "not_filters", "or_filters", "adjustments")


class UnsupportedSchedule(ValueError):
    """A serialized schedule this module cannot compute events for; the message says which part."""


@attrs.frozen(order=True)
class ClockEvent:
    """One event: when, and the parameter defaults and labels its clock gives the run."""

    start_time: dt.datetime
    parameter_defaults: dict[str, Any] = attrs.field(factory=dict, order=False)
    labels: list[str] | None = attrs.field(default=None, order=False)


def _zone(name: Any) -> dt.tzinfo:
    if not isinstance(name, str) or name in ("", "UTC", "utc", "Z"):
        return _UTC
    offset = _OFFSET_NAME.match(name)
    if offset is not None:
        sign = -1 if offset[1] == "-" else 1
        return dt.timezone(sign * dt.timedelta(hours=int(offset[2]), minutes=int(offset[3])))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnsupportedSchedule(f"unknown time zone {name!r}") from None


def _local_datetime(value: Any) -> dt.datetime | None:
    """A ``DateTimeTZ`` value ``{"dt": naive wall time, "tz": zone name}`` as an aware datetime."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("dt"), str):
        raise UnsupportedSchedule(f"a clock date must be {{'dt': ..., 'tz': ...}}, not {value!r}")
    zone = _zone(value.get("tz"))
    try:
        naive = dt.datetime.fromisoformat(value["dt"])
    except ValueError:
        raise UnsupportedSchedule(f"bad clock date {value['dt']!r}") from None
    if naive.tzinfo is not None:  # an offset written into "dt" wins, as pendulum.parse does
        return naive.astimezone(zone)
    # fold=1: an ambiguous wall time (clocks set back) is taken after the transition, like pendulum.
    return naive.replace(tzinfo=zone, fold=1)


def _add_wall_clock(start: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """``start + step`` the way pendulum's ``add(days=, seconds=)`` does it.

    With whole days in it, the sum is taken on the wall clock and localised again (DST keeps the
    hour); without, it is taken in UTC.
    """
    if step.days == 0:
        return (start.astimezone(_UTC) + step).astimezone(start.tzinfo)
    wall = start.replace(tzinfo=None) + step
    return wall.replace(tzinfo=start.tzinfo, fold=1)


def _interval_events(clock: Mapping[str, Any], after: dt.datetime) -> Iterator[dt.datetime]:
    microseconds = clock.get("interval")
    if not isinstance(microseconds, int) or isinstance(microseconds, bool) or microseconds <= 0:
        raise UnsupportedSchedule(f"IntervalClock interval must be positive microseconds: {microseconds!r}")
    interval = dt.timedelta(microseconds=microseconds)
    start = _local_datetime(clock.get("start_date")) or _DEFAULT_INTERVAL_START
    end = _local_datetime(clock.get("end_date"))
    skip_exact = (after - start) / interval
    if skip_exact < 0:
        skip = 0
    elif int(skip_exact) == skip_exact:
        skip = int(skip_exact) + 1
    else:
        skip = int(skip_exact + 1)
    offset = interval * skip
    while True:
        moment = _add_wall_clock(start, offset)
        offset += interval
        if moment < after:
            continue
        if end is not None and moment > end:
            return
        yield moment


def _cron_events(clock: Mapping[str, Any], after: dt.datetime) -> Iterator[dt.datetime]:
    expression = clock.get("cron")
    if not isinstance(expression, str) or not croniter.is_valid(expression):
        raise UnsupportedSchedule(f"invalid cron string: {expression!r}")
    day_or = clock.get("day_or")
    day_or = True if day_or is None else bool(day_or)
    start = _local_datetime(clock.get("start_date"))
    end = _local_datetime(clock.get("end_date"))
    zone = start.tzinfo if start is not None else _UTC
    begin = after.astimezone(zone)
    if start is not None:
        # One second before the start, so that the start itself can be an event.
        begin = max(begin, start - dt.timedelta(seconds=1))
    if begin.microsecond:
        begin = begin.replace(microsecond=0) + dt.timedelta(seconds=1)
    iterator = croniter(expression, begin, day_or=day_or)
    seen: set[dt.datetime] = set()
    for _ in range(_MAX_CRON_ITERATIONS):
        moment = iterator.get_next(dt.datetime)
        # croniter may hand back the starting point itself or repeat a DST-folded time.
        while moment == after or moment in seen:
            moment = iterator.get_next(dt.datetime)
        if end is not None and moment > end:
            return
        seen.add(moment)
        yield moment


def _dates_events(clock: Mapping[str, Any], after: dt.datetime) -> Iterator[dt.datetime]:
    dates = clock.get("dates")
    if not isinstance(dates, list) or not dates:
        raise UnsupportedSchedule("DatesClock needs a non-empty list of dates")
    moments = sorted(moment for moment in map(_local_datetime, dates) if moment is not None)
    yield from (moment for moment in moments if moment > after)


_CLOCKS = {"IntervalClock": _interval_events, "CronClock": _cron_events, "DatesClock": _dates_events}


def _clock_events(clock: Any, after: dt.datetime) -> Iterator[ClockEvent]:
    if not isinstance(clock, Mapping):
        raise UnsupportedSchedule(f"a clock must be an object, not {clock!r}")
    kind = clock.get("type")
    events = _CLOCKS.get(kind) if isinstance(kind, str) else None
    if events is None:
        raise UnsupportedSchedule(
            f"clock type {kind!r} is not supported (IntervalClock, CronClock, DatesClock)"
        )
    defaults = clock.get("parameter_defaults") or {}
    labels = clock.get("labels")
    for moment in events(clock, after):
        yield ClockEvent(moment.astimezone(_UTC), dict(defaults), None if labels is None else list(labels))


def next_events(schedule: Mapping[str, Any], *, after: dt.datetime, n: int) -> list[ClockEvent]:
    """The next ``n`` events of a serialized schedule after ``after`` (aware), earliest first."""
    for key in _FILTER_KEYS:
        if schedule.get(key):
            raise UnsupportedSchedule(f"schedules with {key} are not supported by the local scheduler")
    clocks = schedule.get("clocks")
    if not isinstance(clocks, list) or not clocks:
        raise UnsupportedSchedule("the schedule has no clocks")
    merged = heapq.merge(*(_clock_events(clock, after) for clock in clocks))
    # Consecutive equal events (two clocks firing at once with the same defaults) count once.
    unique = (next(group) for _, group in itertools.groupby(merged, key=_identity))
    return list(itertools.islice(unique, min(n, _MAX_EVENTS_CHECKED)))


def _identity(event: ClockEvent) -> tuple[dt.datetime, str, str]:
    return (event.start_time, repr(sorted(event.parameter_defaults.items())), repr(event.labels))


def event_key_time(moment: dt.datetime) -> str:
    """The UTC text of an event time used in auto-scheduled idempotency keys (pendulum's ``str``)."""
    return moment.astimezone(_UTC).isoformat()

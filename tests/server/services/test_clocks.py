"""Schedule events computed from Prefect 1.4.1's serialized schedules, as ``Schedule.next`` gives them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from flowview_async.server.services.clocks import UnsupportedSchedule, next_events

UTC = dt.timezone.utc
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US


def schedule(*clocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "Schedule", "clocks": list(clocks), "filters": [], "not_filters": [],
            "or_filters": [], "adjustments": [], "__version__": "1.4.1", **extra}


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def test_interval_clock_counts_whole_intervals_from_its_start() -> None:
    clock = {"type": "IntervalClock", "interval": HOUR_US,
             "start_date": {"dt": "2026-01-01T00:30:00", "tz": "UTC"}}
    events = next_events(schedule(clock), after=when("2026-01-01T05:00:00+00:00"), n=3)
    assert [e.start_time for e in events] == [
        when("2026-01-01T05:30:00+00:00"),
        when("2026-01-01T06:30:00+00:00"),
        when("2026-01-01T07:30:00+00:00"),
    ]


def test_interval_clock_skips_an_event_exactly_at_after_and_starts_at_its_start_date() -> None:
    clock = {"type": "IntervalClock", "interval": HOUR_US,
             "start_date": {"dt": "2026-01-01T00:00:00", "tz": "UTC"}}
    at = next_events(schedule(clock), after=when("2026-01-01T02:00:00+00:00"), n=1)
    assert at[0].start_time == when("2026-01-01T03:00:00+00:00")
    before = next_events(schedule(clock), after=when("2025-06-01T00:00:00+00:00"), n=1)
    assert before[0].start_time == when("2026-01-01T00:00:00+00:00")


def test_a_daily_interval_keeps_its_wall_clock_hour_across_dst_and_an_hourly_one_does_not() -> None:
    daily = {"type": "IntervalClock", "interval": DAY_US,
             "start_date": {"dt": "2026-03-27T09:00:00", "tz": "Europe/Berlin"}}
    events = next_events(schedule(daily), after=when("2026-03-27T12:00:00+00:00"), n=2)
    # Berlin moves to summer time on 2026-03-29: 9am is 08:00 UTC before, 07:00 UTC after.
    assert [e.start_time for e in events] == [
        when("2026-03-28T08:00:00+00:00"), when("2026-03-29T07:00:00+00:00")
    ]
    hourly = {"type": "IntervalClock", "interval": HOUR_US,
              "start_date": {"dt": "2026-03-29T00:00:00", "tz": "Europe/Berlin"}}
    events = next_events(schedule(hourly), after=when("2026-03-29T00:30:00+00:00"), n=2)
    assert [e.start_time for e in events] == [
        when("2026-03-29T01:00:00+00:00"), when("2026-03-29T02:00:00+00:00")
    ]


def test_cron_clock_in_its_time_zone_with_an_end_date() -> None:
    clock = {"type": "CronClock", "cron": "0 9 * * *",
             "start_date": {"dt": "2026-01-01T00:00:00", "tz": "America/New_York"},
             "end_date": {"dt": "2026-01-03T00:00:00", "tz": "America/New_York"}}
    events = next_events(schedule(clock), after=when("2025-12-01T00:00:00+00:00"), n=5)
    assert [e.start_time for e in events] == [
        when("2026-01-01T14:00:00+00:00"), when("2026-01-02T14:00:00+00:00")
    ]


def test_dates_clock_and_merged_clocks_are_in_order_without_repeats() -> None:
    dates = {"type": "DatesClock", "dates": [{"dt": "2026-01-01T03:00:00", "tz": "UTC"},
                                             {"dt": "2026-01-01T01:00:00", "tz": "UTC"}],
             "parameter_defaults": {}, "labels": None}
    hourly = {"type": "IntervalClock", "interval": HOUR_US,
              "start_date": {"dt": "2026-01-01T00:00:00", "tz": "UTC"}}
    events = next_events(schedule(dates, hourly), after=when("2026-01-01T00:30:00+00:00"), n=4)
    assert [e.start_time.hour for e in events] == [1, 2, 3, 4]


def test_clock_parameter_defaults_and_labels_ride_on_the_events() -> None:
    clock = {"type": "IntervalClock", "interval": HOUR_US, "parameter_defaults": {"x": 1}, "labels": ["a"]}
    (event,) = next_events(schedule(clock), after=when("2026-01-01T00:30:00+00:00"), n=1)
    assert (event.parameter_defaults, event.labels) == ({"x": 1}, ["a"])


@pytest.mark.parametrize(
    "bad",
    [
        schedule({"type": "RRuleClock"}),
        schedule({"type": "IntervalClock", "interval": HOUR_US}, filters=[{"fn": "is_weekday"}]),
        schedule({"type": "CronClock", "cron": "not a cron"}),
        schedule({"type": "IntervalClock", "interval": 0}),
        schedule({"type": "IntervalClock", "interval": HOUR_US,
                  "start_date": {"dt": "2026-01-01", "tz": "Mars/Base"}}),
        schedule(),
    ],
)
def test_schedules_it_cannot_compute_say_so(bad: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedSchedule):
        next_events(bad, after=when("2026-01-01T00:00:00+00:00"), n=1)

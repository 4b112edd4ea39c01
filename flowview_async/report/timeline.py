"""The geometry of a run's timeline, shared by the terminal (``flowview inspect --timeline``) and
the HTML report's SVG: which rows, in which order, where each bar starts and ends on the run's
time axis (as fractions of it), and how a mapped task's bar splits by its children's states.

Renderers only scale fractions to their unit (character cells, SVG pixels) with
:func:`span_units`; nothing here knows about either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from flowview_async.report.gather import RunReport, TaskRunDetail
from flowview_async.states import State
from flowview_async.task_run import TaskRunView

__all__ = [
    "Segment",
    "StateCount",
    "Timeline",
    "TimelineRow",
    "build_timeline",
    "fold_mapped",
    "format_duration",
    "span_units",
    "state_counts",
]

T = TypeVar("T")


def fold_mapped(items: Iterable[T], view: Callable[[T], TaskRunView]) -> list[tuple[T, list[T]]]:
    """Each item that is not a mapped child, with the mapped children of its task (map order).

    Children whose parent is missing are shown under the first of them, so none is hidden.
    """
    children: dict[str, list[T]] = {}
    rows: list[T] = []
    for item in items:
        task_run = view(item)
        if task_run.is_mapped_child:
            children.setdefault(task_run.task_id, []).append(item)
        else:
            rows.append(item)
    parents = {view(item).task_id for item in rows}
    for task_id, orphans in children.items():
        if task_id not in parents:
            orphans.sort(key=lambda item: view(item).map_index)
            rows.append(orphans[0])
            children[task_id] = orphans[1:]
    return [(row, sorted(children.get(view(row).task_id, []), key=lambda item: view(item).map_index))
            for row in rows]


@attrs.frozen
class StateCount:
    """How many mapped children are in one state."""

    name: str
    color: str
    count: int


def state_counts(states: Iterable[State]) -> tuple[StateCount, ...]:
    """A count per state name, by name (``1 Failed, 2 Success``), with each state's colour."""
    states = list(states)
    counts = Counter(state.name for state in states)
    colours = {state.name: state.color for state in states}
    return tuple(StateCount(name, colours[name], count) for name, count in sorted(counts.items()))


@attrs.frozen
class Segment:
    """A piece of a bar, in one state's colour; ``start``/``end`` are fractions of the axis."""

    name: str
    color: str
    start: float
    end: float


@attrs.frozen(kw_only=True)
class TimelineRow:
    """One task (a mapped one with its children folded in), as a bar on the run's axis."""

    label: str
    task_run_id: str
    state: State
    start_time: datetime | None
    end_time: datetime | None
    children: tuple[StateCount, ...] = ()
    segments: tuple[Segment, ...] = ()

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, None if it never started or has not ended."""
        if self.start_time is None or self.end_time is None:
            return None
        return max(0.0, (self.end_time - self.start_time).total_seconds())

    @property
    def summary(self) -> str:
        """``Success``, or for a mapped task its children by state: ``Mapped: 1 Failed, 2 Success``."""
        if not self.children:
            return self.state.name
        counts = ", ".join(f"{count.count} {count.name}" for count in self.children)
        return f"{self.state.name}: {counts}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "task_run_id": self.task_run_id,
            "state": self.state.name,
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "duration_seconds": self.duration,
            "mapped_children": {count.name: count.count for count in self.children},
            "segments": [attrs.asdict(segment) for segment in self.segments],
        }


@attrs.frozen(kw_only=True)
class Timeline:
    """The run's time axis (``start`` to ``end``) and a row per task, by start time."""

    start: datetime | None
    end: datetime | None
    rows: tuple[TimelineRow, ...]

    @property
    def span(self) -> float:
        """Seconds the axis covers (0 when nothing ran)."""
        if self.start is None or self.end is None:
            return 0.0
        return max(0.0, (self.end - self.start).total_seconds())

    def fraction(self, moment: datetime) -> float:
        """Where ``moment`` falls on the axis, clamped to 0..1."""
        if self.start is None or self.span == 0:
            return 0.0
        return min(1.0, max(0.0, (moment - self.start).total_seconds() / self.span))

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "span_seconds": self.span,
            "rows": [row.to_dict() for row in self.rows],
        }


def _bounds(detail: TaskRunDetail, children: Sequence[TaskRunDetail]) -> tuple[datetime | None,
                                                                              datetime | None]:
    """A task's start and end; a mapped parent spans its children (its own end is often unset)."""
    starts = [d.start_time for d in (detail, *children) if d.start_time is not None]
    ends = [d.end_time for d in (detail, *children) if d.end_time is not None]
    start = min(starts) if starts else None
    if children and any(child.end_time is None for child in children if child.start_time):
        return start, None  # a child still runs
    end = max(ends) if ends else None
    if detail.start_time is not None and detail.end_time is None and not children:
        end = None  # still running
    return start, end


def build_timeline(report: RunReport) -> Timeline:
    """The timeline of ``report``'s run: its axis runs from the run's start (or its first task
    run's) to its end (or, while it runs, the latest time any task run reached)."""
    folded = fold_mapped(report.task_runs, lambda detail: detail.task_run)
    spans = [(detail, children, *_bounds(detail, children)) for detail, children in folded]
    known = [moment for _, _, start, end in spans for moment in (start, end) if moment is not None]
    known += [state.timestamp for d in report.task_runs for state in d.states[-1:]
              if state.timestamp is not None]
    start = report.start_time or (min(known) if known else None)
    end = report.end_time or (max(known) if known else None)
    if start is not None and end is not None and end < start:
        end = start
    axis = Timeline(start=start, end=end, rows=())
    rows = []
    for detail, children, row_start, row_end in spans:
        counts = state_counts(child.task_run.state for child in children)
        segments: tuple[Segment, ...] = ()
        if row_start is not None:
            left = axis.fraction(row_start)
            right = axis.fraction(row_end) if row_end is not None else 1.0
            segments = _split(left, max(left, right), counts, detail.task_run.state)
        rows.append(TimelineRow(
            label=detail.label, task_run_id=detail.task_run.task_run_id,
            state=detail.task_run.state, start_time=row_start, end_time=row_end,
            children=counts, segments=segments))
    order = sorted(range(len(rows)), key=lambda i: (rows[i].start_time is None,
                                                    rows[i].start_time or datetime.min, i))
    return attrs.evolve(axis, rows=tuple(rows[i] for i in order))


def _split(left: float, right: float, counts: Sequence[StateCount],
           state: State) -> tuple[Segment, ...]:
    """The bar from ``left`` to ``right``: one segment in the task's state, or for a mapped task
    one per children's state, in proportion to how many children are in it."""
    if not counts:
        return (Segment(state.name, state.color, left, right),)
    total = sum(count.count for count in counts)
    segments, done = [], 0
    for count in counts:
        start = left + (right - left) * done / total
        done += count.count
        segments.append(Segment(count.name, count.color, start, left + (right - left) * done / total))
    return tuple(segments)


def span_units(start: float, end: float, units: int, *, minimum: int = 1) -> tuple[int, int]:
    """The fractions ``start``..``end`` of an axis ``units`` long, as (offset, length) in whole
    units: at least ``minimum`` long (a 5 ms task stays visible on a month's axis) and never
    past the axis's end."""
    if units <= 0:
        return 0, 0
    minimum = min(minimum, units)
    offset = min(units - minimum, max(0, int(start * units)))
    length = max(minimum, round(end * units) - offset)
    return offset, min(length, units - offset)


def format_duration(seconds: float | None) -> str:
    """``0.005s``, ``1.250s``, ``2m 03s``, ``1h 02m``, ``35d 00h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.3f}s"
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"

"""``flowview inspect ID --timeline`` in the terminal: one line per task, a bar on the run's time
axis in its state's colour (a mapped task's bar split by its children's states), its duration
and its state. Lines fit the given width; without colour (piped) bars are drawn with ``#``.

The geometry comes from :mod:`flowview_async.report.timeline`, shared with the HTML report.
"""

from __future__ import annotations

from rich.text import Text

from flowview_async.cli import render
from flowview_async.report.timeline import Timeline, TimelineRow, format_duration, span_units

__all__ = ["timeline_lines"]

_MIN_BAR = 12
_DURATION_WIDTH = 9
_GAPS = 3


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _bar(row: TimelineRow, width: int, *, colour: bool) -> Text:
    if not row.segments:
        return Text("(not started)".ljust(width)[:width], style="dim")
    first, last = row.segments[0], row.segments[-1]
    offset, length = span_units(first.start, last.end, width)
    total = last.end - first.start
    text = Text(" " * offset)
    cursor = offset
    for index, segment in enumerate(row.segments):
        # Each segment gets the cells up to where its end falls within the bar; the last one
        # takes the rest, so the bar is exactly `length` cells whatever the rounding.
        if index == len(row.segments) - 1:
            end = offset + length
        else:
            share = (segment.end - first.start) / total if total > 0 else (index + 1) / len(row.segments)
            end = max(cursor, min(offset + length, offset + round(share * length)))
        text.append(("█" if colour else "#") * (end - cursor), style=segment.color if colour else "")
        cursor = end
    text.append(" " * (width - cursor))
    return text


def timeline_lines(timeline: Timeline, width: int, *, colour: bool) -> list[Text]:
    """The timeline as lines of at most ``width`` cells: an axis line with the start and end
    times, then a line per task."""
    rows = timeline.rows
    summaries = [row.summary for row in rows]
    label_width = min(max((len(row.label) for row in rows), default=4), max(8, width // 4))
    fixed = label_width + _DURATION_WIDTH + _GAPS
    # The bar takes at least a third of the line; the summary what it needs of the rest.
    summary_width = min(max((len(s) for s in summaries), default=0),
                        max(0, width - fixed - max(_MIN_BAR, width // 3)))
    bar_width = max(_MIN_BAR, width - fixed - summary_width)
    start = render.timestamp_text(timeline.start)
    end = render.timestamp_text(timeline.end)
    gap = bar_width - len(start) - len(end)
    axis = f"{start}{' ' * gap}{end}" if gap >= 1 else start
    lines = [Text(f"{'Task':<{label_width}} {axis:<{bar_width}} {'Duration':>{_DURATION_WIDTH}} "
                  f"State", style="bold")]
    lines[0].truncate(width)
    for row, summary in zip(rows, summaries, strict=True):
        line = Text(f"{_clip(row.label, label_width):<{label_width}} ")
        line.append_text(_bar(row, bar_width, colour=colour))
        line.append(f" {format_duration(row.duration):>{_DURATION_WIDTH}} ")
        if row.children:
            line.append(_clip(summary, summary_width))
            if colour:
                _colour_counts(line, row, len(line) - len(_clip(summary, summary_width)))
        else:
            line.append(_clip(summary, summary_width), style=row.state.color if colour else "")
        line.truncate(width)
        lines.append(line)
    return lines


def _colour_counts(line: Text, row: TimelineRow, start: int) -> None:
    """Colour each ``N State`` of a mapped task's summary in that state's colour."""
    plain = line.plain
    position = start
    for count in row.children:
        piece = f"{count.count} {count.name}"
        found = plain.find(piece, position)
        if found < 0:
            return
        line.stylize(count.color, found, found + len(piece))
        position = found + len(piece)

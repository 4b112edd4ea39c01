"""The run report as one self-contained HTML file.

Everything is inline (CSS, JavaScript, the timeline as SVG) and the page declares a strict
Content-Security-Policy: nothing may be loaded from anywhere, and only the report's own style
sheet and script (allowed by their SHA-256 hashes) may run. Every value from the backend (names,
messages, log lines) goes through Jinja2's autoescaping, and only into element text or quoted
attribute values, never into a script, a style or a URL: a log line ``<script>…`` shows as text.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from flowview_async import __version__
from flowview_async.report.gather import RunReport, TaskRunDetail
from flowview_async.report.timeline import (
    Timeline,
    build_timeline,
    fold_mapped,
    format_duration,
    span_units,
    state_counts,
)
from flowview_async.states import PREFECT_STATE_CLASSES, State, UnknownState

__all__ = ["SVG_GEOMETRY", "content_security_policy", "render_html"]

# The SVG's coordinate system (it scales to the page's width through its viewBox).
SVG_GEOMETRY = {"width": 1000, "label_width": 210, "bar_left": 216, "bar_right": 900,
                "row_height": 18, "bar_height": 14, "top": 22, "ticks": 5}
_LABEL_CHARS = 32


def _resource(name: str) -> str:
    return resources.files("flowview_async.report").joinpath("resources").joinpath(name).read_text("utf-8")


def _ink(background: str) -> str:
    """Dark text on a light state colour (Submitted's pale yellow), white on the others."""
    red, green, blue = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#1d2330" if 0.299 * red + 0.587 * green + 0.114 * blue > 170 else "#ffffff"


def _state_css() -> str:
    """A class per state type (``s-Success``) in the state's colour, as Prefect's UI had them."""
    classes: tuple[type[State], ...] = (*PREFECT_STATE_CLASSES, UnknownState)
    return "\n".join(f".s-{cls.__name__} {{ background: {cls.color}; color: {_ink(cls.color)}; }}"
                     for cls in classes)


def _tick_label(moment: datetime, span_seconds: float) -> str:
    """Short enough for five ticks side by side; the header has the full start and end."""
    if span_seconds < 60:
        return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    if span_seconds < 86_400:
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M")


@functools.lru_cache(maxsize=1)
def _assets() -> tuple[str, str, jinja2.Template]:
    css = _resource("report.css") + _state_css() + "\n"
    js = _resource("report.js")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                                     keep_trailing_newline=True)
    return css, js, environment.from_string(_resource("report.html.j2"))


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def content_security_policy() -> str:
    """The report's policy: no network at all; only its own inline style and script run."""
    css, js, _ = _assets()
    return ("default-src 'none'; "
            f"style-src 'sha256-{_sha256(css)}'; script-src 'sha256-{_sha256(js)}'; "
            "img-src data:; base-uri 'none'; form-action 'none'")


def _time(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="milliseconds") if value else "-"


def _millis(value: datetime | None) -> str:
    return str(round(value.timestamp() * 1000)) if value else ""


def _css(state: State) -> str:
    return f"s-{type(state).__name__}"


def _svg(timeline: Timeline) -> dict[str, Any]:
    geometry = SVG_GEOMETRY
    left, right = geometry["bar_left"], geometry["bar_right"]
    units = right - left
    rows = []
    for index, row in enumerate(timeline.rows):
        bars = []
        for segment in row.segments:
            offset, length = span_units(segment.start, segment.end, units, minimum=2)
            bars.append({"name": segment.name, "color": segment.color, "x": left + offset,
                         "width": length})
        label = row.label if len(row.label) <= _LABEL_CHARS else row.label[:_LABEL_CHARS - 1] + "…"
        rows.append({"id": row.task_run_id, "label": row.label, "short_label": label,
                     "summary": row.summary, "duration": format_duration(row.duration),
                     "bars": bars, "y": geometry["top"] + index * geometry["row_height"]})
    ticks = []
    if timeline.start is not None and timeline.end is not None:
        count = geometry["ticks"]
        for step in range(count):
            moment = timeline.start + (timeline.end - timeline.start) * step / (count - 1)
            anchor = "start" if step == 0 else "end" if step == count - 1 else "middle"
            ticks.append({"x": left + round(units * step / (count - 1)), "anchor": anchor,
                          "label": _tick_label(moment, timeline.span)})
    return {"width": geometry["width"], "right": right, "top": geometry["top"],
            "bar_height": geometry["bar_height"], "rows": rows, "ticks": ticks,
            "height": geometry["top"] + max(1, len(rows)) * geometry["row_height"] + 4}


def _task_row(detail: TaskRunDetail, *, child: bool) -> dict[str, Any]:
    view = detail.task_run
    duration = None
    if detail.start_time is not None and detail.end_time is not None:
        duration = (detail.end_time - detail.start_time).total_seconds()
    return {"id": view.task_run_id, "label": detail.label, "child": child,
            "state": view.state.name, "css": _css(view.state), "message": view.state.message or "",
            "start": _time(detail.start_time), "end": _time(detail.end_time),
            "duration": format_duration(duration), "seconds": duration}


def _task_groups(task_runs: Sequence[TaskRunDetail]) -> list[dict[str, Any]]:
    groups = []
    for detail, children in fold_mapped(task_runs, lambda d: d.task_run):
        head = _task_row(detail, child=False)
        if children:
            counts = state_counts(c.task_run.state for c in children)
            head["message"] = (f"{len(children)} mapped: "
                               + ", ".join(f"{c.count} {c.name}" for c in counts))
        members = [detail, *children]
        starts = [d.start_time for d in members if d.start_time is not None]
        ends = [d.end_time for d in members if d.end_time is not None]
        seconds = head["seconds"]
        groups.append({
            "task": detail.label, "state": detail.task_run.state.name,
            "start": _millis(min(starts)) if starts else "", "end": _millis(max(ends)) if ends else "",
            "duration": "" if seconds is None else str(round(seconds * 1000)),
            "rows": [head, *(_task_row(child, child=True) for child in children)],
        })
    return groups


def render_html(report: RunReport, *, generated_at: datetime | None = None) -> str:
    """The report of ``report``'s run as one HTML document (a string, ready to be written)."""
    css, js, template = _assets()
    run = report.flow_run
    timeline = build_timeline(report)
    labels = {d.task_run.task_run_id: d.label for d in report.task_runs}
    run_counts = state_counts(d.task_run.state for d in report.task_runs)
    span = None
    if report.start_time is not None and report.end_time is not None:
        span = (report.end_time - report.start_time).total_seconds()
    context = {
        "csp": content_security_policy(),
        "css": Markup(css),
        "js": Markup(js),
        "version": __version__,
        "generated": _time(generated_at) if generated_at else "",
        "run": {
            "name": run.name or "(no name)", "id": run.flow_run_id, "state": run.state.name,
            "state_class": _css(run.state), "message": run.state.message or "",
            "flow": report.flow.name, "project": report.flow.project_name or "-",
            "start": _time(report.start_time), "end": _time(report.end_time),
            "duration": format_duration(span), "labels": ", ".join(run.labels) or "-",
            "task_run_count": len(report.task_runs),
            "task_run_states": ", ".join(f"{c.count} {c.name}" for c in run_counts) or "none",
            "log_count": len(report.logs),
        },
        "svg": _svg(timeline),
        "states": [{"time": _time(s.timestamp), "name": s.name, "css": _css(s),
                    "message": s.message or ""} for s in run.states],
        "task_groups": _task_groups(report.task_runs),
        "logs": [{"time": _time(log.timestamp), "level": log.level,
                  "level_class": min(50, max(0, log.level // 10 * 10)),
                  "level_name": log.level_name or str(log.level),
                  "task": labels.get(log.task_run_id or "", ""), "message": log.message}
                 for log in report.logs],
    }
    return template.render(**context)

"""Rich renderables for flow runs, states, task runs and log lines (no I/O here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from flowview_async.flow import FlowView
from flowview_async.flow_run import FlowRunInspection, FlowRunView
from flowview_async.logs import FlowRunLog
from flowview_async.report.timeline import fold_mapped, state_counts
from flowview_async.states import State
from flowview_async.task_run import TaskRunView

__all__ = [
    "flow_table",
    "inspection",
    "log_line",
    "logs_table",
    "plain_log_line",
    "run_header",
    "state_history_table",
    "state_text",
    "task_runs_table",
    "timestamp_text",
]

_LEVEL_STYLES = {"CRITICAL": "bold red", "ERROR": "red", "WARNING": "yellow", "DEBUG": "dim"}


def timestamp_text(value: datetime | None) -> str:
    """``2021-05-13 09:00:01.250+00:00``: to the millisecond, as every text output shows times."""
    return value.isoformat(sep=" ", timespec="milliseconds") if value else "-"


def state_text(state: State) -> Text:
    """``Success: All reference tasks succeeded.``, the name in the state's own colour."""
    text = Text()
    text.append(state.name, style=f"bold {state.color}")
    if state.message:
        text.append(f": {state.message}")
    return text


def state_history_table(states: Sequence[State]) -> Table:
    table = Table(title="State history", title_justify="left", expand=False)
    table.add_column("Time")
    table.add_column("State")
    table.add_column("Message", overflow="fold")
    for state in states:
        table.add_row(timestamp_text(state.timestamp), Text(state.name, style=state.color),
                      state.message or "")
    return table


def flow_table(flow: FlowView) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("Flow", f"{flow.name} ({flow.flow_id})"),
        ("Project", flow.project_name or "-"),
        ("Version", "-" if flow.version is None else str(flow.version)),
        ("Storage", flow.storage_type or "-"),
        ("Core version", flow.core_version or "-"),
        ("Labels", ", ".join(flow.labels) or "-"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _children_summary(children: Sequence[TaskRunView]) -> Text:
    counts = state_counts(child.state for child in children)
    text = Text(f"{len(children)} mapped: ")
    for index, count in enumerate(counts):
        if index:
            text.append(", ")
        text.append(f"{count.count} {count.name}", style=count.color)
    return text


def task_runs_table(task_runs: Sequence[TaskRunView]) -> Table:
    """One row per task; a mapped task's children folded into a count per state."""
    table = Table(title=f"Task runs ({len(task_runs)})", title_justify="left")
    table.add_column("Task")
    table.add_column("State")
    table.add_column("Message", overflow="fold")
    table.add_column("Task run id", no_wrap=True)
    for task_run, children in fold_mapped(task_runs, lambda view: view):
        slug = task_run.task_slug
        if task_run.is_mapped_child:
            slug += f"[{task_run.map_index}]"
        message: Text | str = task_run.state.message or ""
        if children:
            message = _children_summary(children)
        table.add_row(slug, Text(task_run.state.name, style=task_run.state.color), message,
                      task_run.task_run_id)
    return table


def log_line(log: FlowRunLog) -> Text:
    """``2021-05-13 09:00:00 INFO    message``, the level coloured."""
    level = log.level_name or str(log.level)
    text = Text(f"{timestamp_text(log.timestamp)} ")
    text.append(f"{level:<8}", style=_LEVEL_STYLES.get(level.upper(), ""))
    text.append(log.message)
    return text


def plain_log_line(log: FlowRunLog) -> str:
    """:func:`log_line` without colour, for output that is not a terminal (no rich involved)."""
    return f"{timestamp_text(log.timestamp)} {log.level_name or log.level!s:<8}{log.message}"


def logs_table(logs: Sequence[FlowRunLog], *, last: int, total: int | None = None) -> RenderableType:
    """The last ``last`` of ``logs``; ``total`` is how many the run has when ``logs`` holds only
    the last ones (``flowview inspect`` fetches no more than it shows)."""
    shown = logs[-last:] if last > 0 else []
    count = len(logs) if total is None else max(total, len(logs))
    title = f"Last {len(shown)} of {count} log lines" if len(shown) < count else \
        f"Log lines ({count})"
    return Group(Text(title, style="italic"), *(log_line(log) for log in shown))


def run_header(flow_run: FlowRunView) -> Text:
    """``Flow run NAME  ID``, its state, when it was last updated."""
    text = Text("Flow run ", style="bold")
    text.append(flow_run.name or "(no name)", style="bold cyan")
    text.append(f"  {flow_run.flow_run_id}\n")
    text.append("State: ")
    text.append_text(state_text(flow_run.state))
    if flow_run.updated_at is not None:
        text.append(f"\nUpdated: {timestamp_text(flow_run.updated_at)}")
    return text


def inspection(found: FlowRunInspection, *, last_logs: int,
               log_count: int | None = None) -> RenderableType:
    """Everything ``flowview inspect`` shows, top to bottom; ``log_count``: see :func:`logs_table`."""
    return Group(
        run_header(found.flow_run),
        Text(),
        state_history_table(found.flow_run.states),
        flow_table(found.flow),
        Text(),
        task_runs_table(found.task_runs),
        logs_table(found.logs, last=last_logs, total=log_count),
    )

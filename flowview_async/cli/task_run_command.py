"""``flowview task-run ID`` (and ``flowview inspect RUN --task SLUG``): one task run, its state
history, its mapped children summarised by state, and its log lines."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import click
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from flowview_async._ids import check_id
from flowview_async._rows import root_rows
from flowview_async.cli import render
from flowview_async.cli._common import CommonOptions, common_options, run_command, stdout_console
from flowview_async.cli.log_queries import last_logs
from flowview_async.client import Client
from flowview_async.errors import AmbiguousMatchError, InvalidArgumentError, TaskRunNotFoundError
from flowview_async.logs import FlowRunLog
from flowview_async.report.gather import TaskRunDetail, all_logs, task_run_details, together
from flowview_async.report.timeline import format_duration, state_counts

__all__ = ["TaskRunReport", "gather_task_run", "parse_task_spec", "show_task_run", "task_run",
           "task_run_ids", "task_where"]

# The task runs of one task in a flow run (its mapped children too), for --task SLUG[/INDEX].
TASK_RUN_IDS = """
query FlowviewCliTaskRunIds($where: task_run_bool_exp!) {
  task_run(where: $where, order_by: [{map_index: asc}, {id: asc}]) {
    id
    map_index
  }
}
"""
# Children not in a successful state listed by id (the rest are only counted).
_PROBLEM_CHILDREN_SHOWN = 10


def parse_task_spec(spec: str) -> tuple[str, int | None]:
    """``say_hello-1`` -> (slug, None: every run of the task); ``greet-1/2`` -> mapped child 2;
    ``greet-1/-1`` -> the mapped parent only."""
    slug, separator, index = spec.rpartition("/")
    if separator and index.strip().lstrip("-").isdigit() and slug.strip():
        return slug.strip(), int(index)
    if not spec.strip():
        msg = "--task needs a task slug, e.g. --task say_hello-1 or --task greet-1/2."
        raise InvalidArgumentError(msg)
    return spec.strip(), None


def _task_where(flow_run_id: str, slug: str, map_index: int | None) -> dict[str, Any]:
    where: dict[str, Any] = {"flow_run_id": {"_eq": flow_run_id}, "task": {"slug": {"_eq": slug}}}
    if map_index is not None:
        where["map_index"] = {"_eq": map_index}
    return where


def _describe(flow_run_id: str, slug: str, map_index: int | None) -> str:
    index = "" if map_index is None else f" and map index {map_index}"
    return f"with slug {slug!r}{index} in flow run {flow_run_id}"


async def task_run_ids(client: Client, flow_run_id: str, spec: str) -> list[str]:
    """The ids of the task runs ``--task SPEC`` names in a flow run.

    Raises:
        TaskRunNotFoundError: none (the message says how to list the run's task slugs).
    """
    slug, map_index = parse_task_spec(spec)
    data = await client.execute(TASK_RUN_IDS, {"where": _task_where(flow_run_id, slug, map_index)})
    ids = [row.string("id") for row in root_rows(data, "task_run", "task run")]
    if not ids:
        msg = (f"No task run {_describe(flow_run_id, slug, map_index)}. `flowview inspect "
               f"{flow_run_id}` lists its task slugs.")
        raise TaskRunNotFoundError(msg)
    return ids


@attrs.frozen(kw_only=True)
class TaskRunReport:
    """One task run: its details, its mapped children, and its log lines (``log_count`` in all)."""

    detail: TaskRunDetail
    children: tuple[TaskRunDetail, ...]
    logs: tuple[FlowRunLog, ...]
    log_count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_run": self.detail.to_dict(),
            "mapped_children": [child.to_dict() for child in self.children],
            "mapped_children_by_state": {count.name: count.count for count in
                                         state_counts(c.task_run.state for c in self.children)},
            "logs": [log.to_dict() for log in self.logs],
        }


async def gather_task_run(client: Client, where: Mapping[str, Any], describe: str, *,
                          last: int | None) -> TaskRunReport:
    """The one task run matching ``where``, its mapped children when it is a mapped parent, and
    its log lines: the last ``last`` of them, or all of them with ``last=None``.

    Raises:
        TaskRunNotFoundError: no task run matches.
    """
    found = await task_run_details(client, where)
    if not found:
        msg = f"No task run {describe}. Check the id, or the slug and map index."
        raise TaskRunNotFoundError(msg)
    if len(found) > 1:
        msg = f"{len(found)} task runs match {describe}; look it up by its id instead."
        raise AmbiguousMatchError(msg)
    detail = found[0]
    view = detail.task_run
    log_where = {"task_run_id": {"_eq": view.task_run_id}}
    logs: Any = all_logs(client, log_where) if last is None else last_logs(client, log_where, last)
    if view.state.is_mapped() and not view.is_mapped_child:
        child_where = {"flow_run_id": {"_eq": view.flow_run_id}, "task_id": {"_eq": view.task_id},
                       "map_index": {"_neq": -1}}
        children, lines = await together(task_run_details(client, child_where), logs)
    else:
        children, lines = [], await logs
    lines, count = (lines, len(lines)) if last is None else lines
    children = sorted(children, key=lambda child: child.task_run.map_index)
    return TaskRunReport(detail=detail, children=tuple(children), logs=tuple(lines), log_count=count)


def _header(detail: TaskRunDetail) -> Text:
    view = detail.task_run
    text = Text("Task run ", style="bold")
    text.append(detail.label, style="bold cyan")
    text.append(f"  {view.task_run_id}\n")
    text.append(f"Flow run: {view.flow_run_id}\nState: ")
    text.append_text(render.state_text(view.state))
    duration = None
    if detail.start_time is not None and detail.end_time is not None:
        duration = (detail.end_time - detail.start_time).total_seconds()
    text.append(f"\nStarted: {render.timestamp_text(detail.start_time)}   "
                f"Ended: {render.timestamp_text(detail.end_time)}   "
                f"Duration: {format_duration(duration)}")
    return text


def _children(children: Sequence[TaskRunDetail]) -> RenderableType:
    counts = state_counts(child.task_run.state for child in children)
    summary = Text(f"Mapped children ({len(children)}): ", style="bold")
    for index, count in enumerate(counts):
        if index:
            summary.append(", ")
        summary.append(f"{count.count} {count.name}", style=count.color)
    problems = [child for child in children if not child.task_run.state.is_successful()]
    if not problems:
        return summary
    table = Table(title="Mapped children not successful", title_justify="left")
    for header in ("Map index", "State", "Message", "Task run id"):
        table.add_column(header, no_wrap=header == "Task run id")
    for child in problems[:_PROBLEM_CHILDREN_SHOWN]:
        state = child.task_run.state
        table.add_row(str(child.task_run.map_index), Text(state.name, style=state.color),
                      state.message or "", child.task_run.task_run_id)
    more = len(problems) - _PROBLEM_CHILDREN_SHOWN
    tail = [Text(f"... and {more} more (--json lists them all)", style="italic")] if more > 0 else []
    return Group(summary, table, *tail)


def task_run_view(found: TaskRunReport, *, last: int) -> RenderableType:
    """Everything the text output shows, top to bottom."""
    parts: list[RenderableType] = [_header(found.detail), Text(),
                                   render.state_history_table(found.detail.states)]
    if found.children:
        parts.append(_children(found.children))
    parts.append(render.logs_table(found.logs, last=last, total=found.log_count))
    return Group(*parts)


async def show_task_run(client: Client, options: CommonOptions, where: Mapping[str, Any],
                        describe: str, last: int) -> int:
    """Print the task run matching ``where`` (shared by ``task-run`` and ``inspect --task``)."""
    found = await gather_task_run(client, where, describe, last=None if options.json else last)
    if options.json:
        click.echo(json.dumps(found.to_dict(), indent=2))
    else:
        stdout_console().print(task_run_view(found, last=last))
    return 0


def task_where(flow_run_id: str, spec: str) -> tuple[dict[str, Any], str]:
    """``inspect --task SPEC`` as the filter of one task run and its description: a slug alone
    is the task's run with map index -1 (an unmapped run, or a mapped task's parent)."""
    slug, map_index = parse_task_spec(spec)
    map_index = -1 if map_index is None else map_index
    return _task_where(flow_run_id, slug, map_index), _describe(flow_run_id, slug, map_index)


@click.command("task-run", short_help="Show a task run: state history, mapped children, logs.")
@click.argument("task_run_id")
@click.option("--last-logs", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the last log lines to show (--json always has them all).")
@common_options
def task_run(task_run_id: str, last_logs: int, options: CommonOptions) -> None:
    """Show a task run: its state, state history, times, its mapped children summarised by state
    (the ones not successful listed), and its last log lines.

    \b
    flowview task-run c8751f34-9d5e-4ea7-aead-8b50978dabb7
    flowview inspect 4c0101af-c6bb-4b96-8661-63a5bbfb5596 --task say_hello-1   # by slug
    flowview inspect e1d2c3b4-a5f6-4789-9abc-def012345678 --task greet-1/2     # a mapped child

    --json prints one JSON document with keys task_run, mapped_children,
    mapped_children_by_state and logs.
    """

    async def body(client: Client) -> int:
        checked = check_id(task_run_id, "TASK_RUN_ID")
        return await show_task_run(client, options, {"id": {"_eq": checked}},
                                   f"with id {checked!r}", last_logs)

    run_command(options, body)

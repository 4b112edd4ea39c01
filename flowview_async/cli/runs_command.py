"""``flowview runs``: list flow runs, newest first, with filters, in one query."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
import click
from rich.table import Table
from rich.text import Text

from flowview_async._rows import Row, format_timestamp, root_rows
from flowview_async.cli import render
from flowview_async.cli._common import CommonOptions, common_options, run_command, stdout_console
from flowview_async.cli.logs_command import parse_since
from flowview_async.client import Client
from flowview_async.errors import InvalidArgumentError
from flowview_async.report.timeline import format_duration
from flowview_async.states import PREFECT_STATE_CLASSES

__all__ = ["DEFAULT_LIMIT", "RUNS", "RunRow", "runs", "runs_where"]

DEFAULT_LIMIT = 20

# One query whatever the filters: they travel as a flow_run_bool_exp variable.
RUNS = """
query FlowviewRuns($where: flow_run_bool_exp!, $limit: Int!) {
  flow_run(where: $where, order_by: [{created: desc}, {id: desc}], limit: $limit) {
    id
    name
    state
    state_message
    labels
    created
    scheduled_start_time
    start_time
    end_time
    flow {
      name
      version
      project {
        name
      }
    }
  }
}
"""

_STATE_NAMES = {cls.__name__.lower(): cls.__name__ for cls in PREFECT_STATE_CLASSES}
_STATE_COLOURS = {cls.__name__: cls.color for cls in PREFECT_STATE_CLASSES}


def _state_names(values: Sequence[str]) -> list[str]:
    names = []
    for value in values:
        name = _STATE_NAMES.get(value.strip().lower())
        if name is None:
            known = ", ".join(sorted(_STATE_NAMES.values()))
            msg = f"--state {value!r} is not a Prefect 1 state; use one of: {known}."
            raise InvalidArgumentError(msg)
        names.append(name)
    return names


def runs_where(*, flow: str | None = None, project: str | None = None,
               states: Sequence[str] = (), since: datetime | None = None,
               labels: Sequence[str] = ()) -> dict[str, Any]:
    """The ``flow_run_bool_exp`` of ``flowview runs``' filters (all of them must hold)."""
    where: dict[str, Any] = {}
    flow_where: dict[str, Any] = {}
    if flow is not None:
        flow_where["name"] = {"_eq": flow}
    if project is not None:
        flow_where["project"] = {"name": {"_eq": project}}
    if flow_where:
        where["flow"] = flow_where
    if states:
        where["state"] = {"_in": _state_names(states)}
    if since is not None:
        where["created"] = {"_gte": format_timestamp(since)}
    if labels:
        # jsonb containment: the run has every label given (and maybe more).
        where["labels"] = {"_contains": list(dict.fromkeys(labels))}
    return where


@attrs.frozen(kw_only=True)
class RunRow:
    """One line of ``flowview runs``."""

    flow_run_id: str
    name: str | None
    flow_name: str | None
    project_name: str | None
    state: str | None
    state_message: str | None
    labels: tuple[str, ...]
    created: datetime | None
    scheduled_start_time: datetime | None
    start_time: datetime | None
    end_time: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> RunRow:
        flow = row.opt_row("flow", "flow")
        project = flow.opt_row("project", "project") if flow else None
        return cls(
            flow_run_id=row.string("id"), name=row.opt_string("name"),
            flow_name=flow.opt_string("name") if flow else None,
            project_name=project.opt_string("name") if project else None,
            state=row.opt_string("state"), state_message=row.opt_string("state_message"),
            labels=tuple(row.string_list("labels")), created=row.opt_timestamp("created"),
            scheduled_start_time=row.opt_timestamp("scheduled_start_time"),
            start_time=row.opt_timestamp("start_time"), end_time=row.opt_timestamp("end_time"),
        )

    @property
    def duration(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return max(0.0, (self.end_time - self.start_time).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "flow_run_id": self.flow_run_id, "name": self.name, "flow_name": self.flow_name,
            "project_name": self.project_name, "state": self.state,
            "state_message": self.state_message, "labels": list(self.labels),
            "created": iso(self.created), "scheduled_start_time": iso(self.scheduled_start_time),
            "start_time": iso(self.start_time), "end_time": iso(self.end_time),
            "duration_seconds": self.duration,
        }


def runs_table(rows: Sequence[RunRow]) -> Table:
    table = Table(title=f"Flow runs ({len(rows)}, newest first)", title_justify="left")
    for header in ("Name", "Flow", "State", "Started", "Duration", "Labels", "Flow run id"):
        table.add_column(header, no_wrap=header in ("Started", "Flow run id"))
    for row in rows:
        state = Text(row.state or "-", style=_STATE_COLOURS.get(row.state or "", ""))
        started = row.start_time or row.scheduled_start_time
        table.add_row(row.name or "-", row.flow_name or "-", state,
                      render.timestamp_text(started) + ("" if row.start_time else " (scheduled)"),
                      format_duration(row.duration), ", ".join(row.labels) or "-", row.flow_run_id)
    return table


@click.command("runs", short_help="List flow runs, newest first, with filters.")
@click.option("--flow", metavar="NAME", help="Only runs of the flow with this name.")
@click.option("--project", metavar="NAME", help="Only runs of flows in this project.")
@click.option("--state", "states", metavar="STATE", multiple=True,
              help="Only runs in this state (repeatable: any of them), e.g. --state failed.")
@click.option("--since", metavar="TIME",
              help="Only runs created after TIME: ISO 8601 (2021-05-13T09:00:00Z) or ago (10m, 2h, 1d).")
@click.option("--label", "labels", metavar="LABEL", multiple=True,
              help="Only runs with this label (repeatable: all of them).")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=DEFAULT_LIMIT,
              show_default=True, help="How many runs at most.")
@common_options
def runs(flow: str | None, project: str | None, states: tuple[str, ...], since: str | None,
         labels: tuple[str, ...], limit: int, options: CommonOptions) -> None:
    """List flow runs, newest (last created) first, in one query.

    \b
    flowview runs --state failed --since 1d
    flowview runs --flow hello-world --project default --label dev --limit 5
    flowview runs --json | jq -r '.[].flow_run_id'

    --json prints a JSON list of objects (flow_run_id, name, flow_name, project_name, state,
    state_message, labels, created, scheduled_start_time, start_time, end_time,
    duration_seconds).
    """

    async def body(client: Client) -> int:
        where = runs_where(flow=flow, project=project, states=states,
                           since=parse_since(since) if since is not None else None, labels=labels)
        data = await client.execute(RUNS, {"where": where, "limit": limit})
        rows = [RunRow.from_row(row) for row in root_rows(data, "flow_run", "flow run")]
        if options.json:
            click.echo(json.dumps([row.to_dict() for row in rows], indent=2))
        else:
            stdout_console().print(runs_table(rows))
        return 0

    run_command(options, body)

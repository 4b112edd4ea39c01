"""``flowview inspect``: a flow run's state, history, flow, task runs and last log lines."""

from __future__ import annotations

import json

import click
from rich.text import Text

from flowview_async._ids import check_id
from flowview_async.cli import render
from flowview_async.cli._common import (
    CommonOptions,
    common_options,
    fit_width,
    run_command,
    stdout_console,
)
from flowview_async.cli.log_queries import last_logs
from flowview_async.cli.task_run_command import show_task_run, task_where
from flowview_async.cli.timeline_view import timeline_lines
from flowview_async.client import Client
from flowview_async.errors import AmbiguousMatchError, InvalidArgumentError, MalformedResponseError
from flowview_async.flow_run import FlowRunInspection, FlowRunView, inspect_flow_run
from flowview_async.report.gather import gather_report, together
from flowview_async.report.timeline import build_timeline

__all__ = ["inspect"]

# The runs sharing a name, for the message that asks the user to pick one by id.
RUNS_NAMED = """
query FlowviewCliRunsNamed($name: String!, $limit: Int!) {
  flow_run(where: {name: {_eq: $name}}, order_by: [{start_time: desc_nulls_last}, {id: asc}],
           limit: $limit) {
    id
    start_time
    state
  }
}
"""
_NAMESAKES_SHOWN = 10

@click.command("inspect", short_help="Show a flow run: state, history, flow, task runs, logs.")
@click.argument("flow_run_id", required=False)
@click.option("--name", help="Look the flow run up by name instead of id (must be unique).")
@click.option("--last-logs", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the last log lines to show (--json always has them all).")
@click.option("--timeline", is_flag=True,
              help="Show the task runs as bars on the run's time axis instead.")
@click.option("--task", "task_spec", metavar="SLUG[/MAP_INDEX]",
              help="Show this task run instead: state history, mapped children, logs "
                   "(as `flowview task-run`).")
@common_options
def inspect(flow_run_id: str | None, name: str | None, last_logs: int, timeline: bool,
            task_spec: str | None, options: CommonOptions) -> None:
    """Show a flow run: its state, state history, flow, task runs and last log lines.

    \b
    flowview inspect 4c0101af-c6bb-4b96-8661-63a5bbfb5596
    flowview inspect --name tranquil-dolphin --json
    flowview inspect 4c0101af-c6bb-4b96-8661-63a5bbfb5596 --cassette cassettes/inspecting-flow-runs.json
    flowview inspect 4c0101af-c6bb-4b96-8661-63a5bbfb5596 --timeline
    flowview inspect e1d2c3b4-a5f6-4789-9abc-def012345678 --task greet-1/2

    --json prints one JSON document with keys flow_run, flow, task_runs and logs; with
    --timeline, keys flow_run and timeline (rows with their bars as fractions of the axis).
    """

    async def body(client: Client) -> int:
        if timeline and task_spec is not None:
            msg = "Give --timeline or --task, not both."
            raise InvalidArgumentError(msg)
        run_id = await _resolve(client, flow_run_id, name)
        if task_spec is not None:
            where, describe = task_where(check_id(run_id, "FLOW_RUN_ID"), task_spec)
            return await show_task_run(client, options, where, describe, last_logs)
        if timeline:
            return await _show_timeline(client, options, run_id)
        total: int | None = None
        if options.json or client.recorder is not None:
            # --json has every line. With a cassette, the requests are exactly the SDK's
            # inspect_flow_run, so that cassettes recorded by the SDK (the shipped ones among them)
            # answer this command, and the other way round.
            found = await inspect_flow_run(run_id, client=client)
        else:
            found, total = await _inspect_with_last_logs(client, run_id, last_logs)
        if options.json:
            click.echo(json.dumps(found.to_dict(), indent=2))
        else:
            stdout_console().print(render.inspection(found, last_logs=last_logs, log_count=total))
        return 0

    run_command(options, body)


async def _show_timeline(client: Client, options: CommonOptions, flow_run_id: str) -> int:
    found = await gather_report(client, flow_run_id, logs=False)
    drawn = build_timeline(found)
    if options.json:
        click.echo(json.dumps({"flow_run": found.flow_run.to_dict(),
                               "timeline": drawn.to_dict()}, indent=2))
        return 0
    console = stdout_console()
    console.print(render.run_header(found.flow_run))
    console.print()
    colour = console.is_terminal and not console.no_color
    console.print(Text("\n").join(timeline_lines(drawn, fit_width(console), colour=colour)))
    return 0


async def _resolve(client: Client, flow_run_id: str | None, name: str | None) -> str:
    if (flow_run_id is None) == (name is None):
        msg = "Give either a FLOW_RUN_ID or --name NAME (not both). See `flowview inspect --help`."
        raise InvalidArgumentError(msg)
    if flow_run_id is not None:
        return flow_run_id
    assert name is not None
    try:
        return (await FlowRunView.from_flow_run_name(name, client=client)).flow_run_id
    except AmbiguousMatchError:
        raise await _ambiguous_name(client, name) from None


async def _ambiguous_name(client: Client, name: str) -> AmbiguousMatchError:
    """The error for a name several runs share, listing them so the user can pick one by id."""
    data = await client.execute(RUNS_NAMED, {"name": name, "limit": _NAMESAKES_SHOWN + 1})
    runs = data.get("flow_run") if isinstance(data, dict) else None
    if not isinstance(runs, list) or not all(isinstance(run, dict) for run in runs):
        raise MalformedResponseError(f"The backend answered the flow runs named {name!r} with "
                                     "something that is not a list of runs.")
    shown = [f"{run.get('id')} ({run.get('state') or 'no state'}, started "
             f"{run.get('start_time') or 'never'})" for run in runs[:_NAMESAKES_SHOWN]]
    more = " and more" if len(runs) > _NAMESAKES_SHOWN else ""
    msg = (f"Several flow runs are named {name!r}: {'; '.join(shown)}{more}. Inspect one by its "
           "id: flowview inspect FLOW_RUN_ID.")
    return AmbiguousMatchError(msg)


async def _inspect_with_last_logs(client: Client, flow_run_id: str,
                                  last: int) -> tuple[FlowRunInspection, int]:
    """The inspection with only the ``last`` log lines, and how many lines the run has."""
    view = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    flow, task_runs, (logs, total) = await together(
        view.get_flow_metadata(), view.get_all_task_runs(),
        last_logs(client, {"flow_run_id": {"_eq": view.flow_run_id}}, last))
    found = FlowRunInspection(flow_run=view, flow=flow, task_runs=tuple(task_runs), logs=tuple(logs))
    return found, total

"""``flowview inspect``: a flow run's state, history, flow, task runs and last log lines."""

from __future__ import annotations

import json

import click

from flowview_async.cli import render
from flowview_async.cli._common import CommonOptions, common_options, run_command, stdout_console
from flowview_async.client import Client
from flowview_async.errors import AmbiguousMatchError, InvalidArgumentError, MalformedResponseError
from flowview_async.flow_run import FlowRunView, inspect_flow_run

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
@common_options
def inspect(flow_run_id: str | None, name: str | None, last_logs: int,
            options: CommonOptions) -> None:
    """Show a flow run: its state, state history, flow, task runs and last log lines.

    \b
    flowview inspect 4c0101af-c6bb-4b96-8661-63a5bbfb5596
    flowview inspect --name tranquil-dolphin --json
    flowview inspect 4c0101af-c6bb-4b96-8661-63a5bbfb5596 --cassette cassettes/inspecting-flow-runs.json

    --json prints one JSON document with keys flow_run, flow, task_runs and logs.
    """

    async def body(client: Client) -> int:
        run_id = await _resolve(client, flow_run_id, name)
        found = await inspect_flow_run(run_id, client=client)
        if options.json:
            click.echo(json.dumps(found.to_dict(), indent=2))
        else:
            stdout_console().print(render.inspection(found, last_logs=last_logs))
        return 0

    run_command(options, body)


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

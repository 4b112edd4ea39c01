"""``flowview inspect``: a flow run's state, history, flow, task runs and last log lines."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

import click

from flowview_async import _queries
from flowview_async._concurrency import gather
from flowview_async._rows import root_rows
from flowview_async.cli import render
from flowview_async.cli._common import CommonOptions, common_options, run_command, stdout_console
from flowview_async.client import Client
from flowview_async.errors import AmbiguousMatchError, InvalidArgumentError, MalformedResponseError
from flowview_async.flow_run import FlowRunInspection, FlowRunView, inspect_flow_run
from flowview_async.logs import FlowRunLog

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

# The text view shows only the last lines: fetch just those (newest first, reversed here) and the
# total, rather than every line of a run that may have hundreds of thousands.
LAST_LOGS = (
    """
query FlowviewCliLastLogs($flow_run_id: uuid!, $limit: Int!) {
  log(where: {flow_run_id: {_eq: $flow_run_id}}, order_by: [{timestamp: desc}, {id: desc}],
      limit: $limit) {
    ...LogFields
  }
  log_aggregate(where: {flow_run_id: {_eq: $flow_run_id}}) {
    aggregate {
      count
    }
  }
}
"""
    + _queries.LOG_FIELDS
)


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


async def _together(*awaitables: Awaitable[Any]) -> list[Any]:
    """Await all at once; if one fails, the others are cancelled and awaited (none outlives it).
    The SDK's one structured-concurrency helper does it (:func:`flowview_async._concurrency.gather`)."""
    return await gather(*awaitables)


async def _inspect_with_last_logs(client: Client, flow_run_id: str,
                                  last: int) -> tuple[FlowRunInspection, int]:
    """The inspection with only the ``last`` log lines, and how many lines the run has."""
    view = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    flow, task_runs, (logs, total) = await _together(
        view.get_flow_metadata(), view.get_all_task_runs(), _last_logs(client, view.flow_run_id, last))
    found = FlowRunInspection(flow_run=view, flow=flow, task_runs=tuple(task_runs), logs=tuple(logs))
    return found, total


async def _last_logs(client: Client, flow_run_id: str, last: int) -> tuple[list[FlowRunLog], int]:
    data = await client.execute(LAST_LOGS, {"flow_run_id": flow_run_id, "limit": last})
    newest_first = [FlowRunLog.from_row(row) for row in root_rows(data, "log", "log line")]
    aggregate = data.get("log_aggregate")
    count = aggregate.get("aggregate", {}).get("count") if isinstance(aggregate, dict) else None
    if not isinstance(count, int) or isinstance(count, bool):
        msg = (f"The backend's log count for flow run {flow_run_id} is {count!r}, not a number; "
               "check that --api points at a Prefect Server 1.x GraphQL endpoint.")
        raise MalformedResponseError(msg)
    return newest_first[::-1], count

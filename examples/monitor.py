"""Watch many flow runs at once from one task and report the ones that fail.

::

    python examples/monitor.py 4c0101af-c6bb-4b96-8661-63a5bbfb5596 8e445d74-9ca6-425b-98e5-72754b7ea174
    python examples/monitor.py            # no ids: the 20 most recent flow runs

A quiet poll costs one request for up to 200 runs. Every state change is printed; each failed
run is reported with its last error lines, and a run that does not exist (or is deleted) leaves
the watch on its own while the others go on. The exit code is the number of failed or missing
runs (0: all good), capped at 100; 1 with a message on stderr if watching itself failed (bad
credentials, backend down past the watch's maximum duration...).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections import defaultdict, deque

from flowview_async import Client, FlowRunLog, errors
from flowview_async.watch import (
    LogLine,
    RunError,
    RunFinished,
    StateChange,
    WatchEvent,
    watch_flow_runs,
)

RECENT_RUNS = """
query RecentRuns($limit: Int!) {
  flow_run(order_by: [{created: desc}, {id: asc}], limit: $limit) { id }
}
"""
# Lines kept per run to explain a failure.
KEEP_LINES = 5


async def recent_flow_run_ids(client: Client, limit: int = 20) -> list[str]:
    data = await client.execute(RECENT_RUNS, {"limit": limit})
    return [row["id"] for row in data["flow_run"]]


async def monitor(flow_run_ids: list[str], client: Client, poll_interval: float) -> list[str]:
    """Watch the runs until all are finished; returns the ids of those that failed or are gone."""
    # Each run's last few warnings and errors, to show with its failure.
    trouble: dict[str, deque[FlowRunLog]] = defaultdict(lambda: deque(maxlen=KEEP_LINES))
    failed: list[str] = []
    async with watch_flow_runs(flow_run_ids, client=client, poll_interval=poll_interval) as events:
        async for event in events:
            _report(event, trouble, failed)
    return failed


def _report(event: WatchEvent, trouble: dict[str, deque[FlowRunLog]], failed: list[str]) -> None:
    run = event.flow_run_id[:8]
    if isinstance(event, StateChange):
        print(f"{event.timestamp:%Y-%m-%d %H:%M:%S} {run} {event.state.name}: "
              f"{event.state.message or ''}")
    elif isinstance(event, LogLine) and event.log.level >= logging.WARNING:
        trouble[event.flow_run_id].append(event.log)
    elif isinstance(event, RunError):
        failed.append(event.flow_run_id)
        print(f"GONE: {event.message}")
    elif isinstance(event, RunFinished) and event.state.is_failed():
        failed.append(event.flow_run_id)
        name = event.flow_run.name or event.flow_run_id
        print(f"FAILED: {name} ({event.flow_run_id}): {event.state.message}")
        for log in trouble[event.flow_run_id]:
            print(f"    {log.timestamp:%H:%M:%S} {log.level_name} {log.message}")


async def main(flow_run_ids: list[str], api: str | None, poll_interval: float) -> int:
    async with Client(api) as client:
        ids = flow_run_ids or await recent_flow_run_ids(client)
        print(f"Watching {len(ids)} flow runs")
        failed = await monitor(ids, client, poll_interval)
    print(f"{len(ids) - len(failed)} finished well, {len(failed)} failed or missing")
    return min(len(failed), 100)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Watch flow runs and report failures.")
    parser.add_argument("flow_run_ids", nargs="*", help="ids to watch (default: 20 most recent)")
    parser.add_argument("--api", default=None, help="GraphQL endpoint (default: Prefect settings)")
    parser.add_argument("--poll-interval", type=float, default=1.0)
    arguments = parser.parse_args()
    try:
        sys.exit(asyncio.run(main(arguments.flow_run_ids, arguments.api, arguments.poll_interval)))
    except errors.FlowViewError as error:
        # Every SDK error says what went wrong and what to do: one line is enough.
        sys.exit(f"monitor: {error}")

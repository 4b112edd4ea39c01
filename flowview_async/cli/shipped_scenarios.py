"""What the CLI's commands ask the backend, as scenarios for re-recording the shipped cassette
(``python -m flowview_async.recording.ship``), so that ``flowview runs``, ``logs -n/--head``,
``task-run``, ``inspect --task``/``--timeline`` and ``report`` replay from it offline.

Each scenario goes through the same functions as its command, with the command's defaults; a
change of those defaults needs a re-recording.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flowview_async._paging import DEFAULT_PAGE_SIZE
from flowview_async.cli.log_queries import first_logs, last_logs, logs_where
from flowview_async.cli.runs_command import DEFAULT_LIMIT, RUNS, runs_where
from flowview_async.cli.task_run_command import gather_task_run, task_run_ids, task_where
from flowview_async.client import Client
from flowview_async.flow_run import FlowRunView
from flowview_async.logs import log_pages
from flowview_async.report.gather import gather_report

__all__ = ["DEFAULT_LAST_LOGS", "DOC_TASK_RUN_ID", "DOC_TASK_SLUG", "cli_scenarios"]

# The documentation run's say_hello-1 task run.
DOC_TASK_RUN_ID = "c8751f34-9d5e-4ea7-aead-8b50978dabb7"
DOC_TASK_SLUG = "say_hello-1"
DEFAULT_LAST_LOGS = 10  # --last-logs and the -n/--head examples of the README

Scenario = Callable[[Client], Awaitable[Any]]


def cli_scenarios(flow_run_id: str) -> list[Scenario]:
    """One scenario per command (and per --json variant that asks differently)."""
    by_id = {"id": {"_eq": DOC_TASK_RUN_ID}}
    slug_where, slug_describe = task_where(flow_run_id, DOC_TASK_SLUG)
    every_line = logs_where(flow_run_id)
    return [
        # flowview runs [--json]
        lambda client: client.execute(RUNS, {"where": runs_where(), "limit": DEFAULT_LIMIT}),
        # flowview report ID; flowview inspect ID --timeline asks the same but the logs
        lambda client: gather_report(client, flow_run_id),
        # flowview task-run ID, then with --json
        lambda client: gather_task_run(client, by_id, "", last=DEFAULT_LAST_LOGS),
        lambda client: gather_task_run(client, by_id, "", last=None),
        # flowview inspect ID --task say_hello-1, then with --json
        lambda client: gather_task_run(client, slug_where, slug_describe, last=DEFAULT_LAST_LOGS),
        lambda client: gather_task_run(client, slug_where, slug_describe, last=None),
        # flowview logs ID -n 10 / --head 10 / --task say_hello-1
        lambda client: last_logs(client, every_line, DEFAULT_LAST_LOGS),
        lambda client: first_logs(client, every_line, DEFAULT_LAST_LOGS),
        lambda client: _task_logs(client, flow_run_id),
    ]


async def _task_logs(client: Client, flow_run_id: str) -> None:
    """``flowview logs ID --task say_hello-1``: the run (to fail on an unknown id), the task's
    run ids, then its lines page by page."""
    await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    ids = await task_run_ids(client, flow_run_id, DOC_TASK_SLUG)
    where = logs_where(flow_run_id, task_run_ids=ids)
    async for _ in log_pages(client, where, page_size=DEFAULT_PAGE_SIZE):
        pass

"""What a run report (and the terminal timeline, and ``flowview task-run``) shows, fetched from
the backend: the run, its flow, every task run with its times and state history, every log line.

Each part needs only the flow run id, so the requests go out together: a run whose task runs and
log lines fit in a page costs one round trip of wall time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any

import attrs

from flowview_async import _queries
from flowview_async._concurrency import gather
from flowview_async._ids import check_id
from flowview_async._paging import DEFAULT_PAGE_SIZE, keyset_pages
from flowview_async._rows import Row, root_rows
from flowview_async.client import Client
from flowview_async.errors import FlowNotFoundError
from flowview_async.flow import FlowView
from flowview_async.flow_run import FlowRunView
from flowview_async.logs import FlowRunLog, log_pages
from flowview_async.states import State, parse_state_history
from flowview_async.task_run import TaskRunView

__all__ = [
    "TASK_RUN_DETAILS",
    "RunReport",
    "TaskRunDetail",
    "all_logs",
    "gather_report",
    "task_run_details",
    "together",
]

# Task runs with what a timeline needs on top of the SDK's TaskRunFields: when each started and
# ended, and its state history. Ordered by (created, id) for keyset paging, as the SDK's pages.
TASK_RUN_DETAILS = """
query FlowviewTaskRunDetails($where: task_run_bool_exp!, $limit: Int!) {
  task_run(where: $where, order_by: [{created: asc}, {id: asc}], limit: $limit) {
    id
    name
    task_id
    map_index
    flow_run_id
    serialized_state
    created
    start_time
    end_time
    task {
      id
      slug
    }
    states(order_by: [{timestamp: asc}, {id: asc}]) {
      timestamp
      serialized_state
    }
  }
}
"""


async def together(*awaitables: Awaitable[Any]) -> list[Any]:
    """Await all at once; if one fails, the others are cancelled and awaited (none outlives it).
    The SDK's one structured-concurrency helper does it (:func:`flowview_async._concurrency.gather`)."""
    return await gather(*awaitables)


@attrs.frozen(kw_only=True)
class TaskRunDetail:
    """A task run with its start and end times and its state history (oldest first)."""

    task_run: TaskRunView
    start_time: datetime | None
    end_time: datetime | None
    states: tuple[State, ...]

    @classmethod
    def from_row(cls, row: Row) -> TaskRunDetail:
        history = [{"timestamp": r.raw.get("timestamp"),
                    "serialized_state": r.raw.get("serialized_state")}
                   for r in row.rows("states", "task run state")]
        return cls(task_run=TaskRunView.from_row(row), start_time=row.opt_timestamp("start_time"),
                   end_time=row.opt_timestamp("end_time"), states=parse_state_history(history))

    @property
    def label(self) -> str:
        """``say_hello-1``, or ``greet-1[2]`` for a mapped child."""
        task_run = self.task_run
        return f"{task_run.task_slug}[{task_run.map_index}]" if task_run.is_mapped_child \
            else task_run.task_slug

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.task_run.to_dict(),
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "states": [_state_dict(state) for state in self.states],
        }


def _state_dict(state: State) -> dict[str, Any]:
    return {"type": type(state).__name__, "name": state.name, "message": state.message,
            "timestamp": state.timestamp.isoformat() if state.timestamp else None}


@attrs.frozen(kw_only=True)
class RunReport:
    """Everything a report shows about one flow run."""

    flow_run: FlowRunView
    flow: FlowView
    task_runs: tuple[TaskRunDetail, ...]
    logs: tuple[FlowRunLog, ...] = ()

    @property
    def start_time(self) -> datetime | None:
        """When the run started: its first Running state (as Prefect Server's start_time)."""
        return next((s.timestamp for s in self.flow_run.states if s.is_running()), None)

    @property
    def end_time(self) -> datetime | None:
        """When the run finished: the time of its final state; None while it runs."""
        states = self.flow_run.states
        if not states or not states[-1].is_finished():
            return None
        return states[-1].timestamp

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow_run": self.flow_run.to_dict(),
            "flow": self.flow.to_dict(),
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "task_runs": [task_run.to_dict() for task_run in self.task_runs],
            "logs": [log.to_dict() for log in self.logs],
        }


async def task_run_details(client: Client, where: Mapping[str, Any], *,
                           page_size: int = DEFAULT_PAGE_SIZE) -> list[TaskRunDetail]:
    """The task runs matching ``where``, with times and state history, page by page."""
    found: list[TaskRunDetail] = []
    async for rows in keyset_pages(client, TASK_RUN_DETAILS, root="task_run", where=where,
                                   keys=("created", "id"), page_size=page_size, what="task run"):
        found.extend(TaskRunDetail.from_row(row) for row in rows)
    return found


async def _flow_of(client: Client, flow_run_id: str) -> FlowView | None:
    data = await client.execute(_queries.FLOW_OF_FLOW_RUN, {"flow_run_id": flow_run_id})
    rows = root_rows(data, "flow_run", "flow run")
    flow = rows[0].opt_row("flow", "flow") if rows else None
    return FlowView.from_row(flow) if flow is not None else None


async def all_logs(client: Client, where: Mapping[str, Any]) -> list[FlowRunLog]:
    return [log async for page in log_pages(client, where, page_size=DEFAULT_PAGE_SIZE)
            for log in page]


async def gather_report(client: Client, flow_run_id: str, *, logs: bool = True) -> RunReport:
    """The run, its flow, its task runs with times and history, and (``logs``) its log lines,
    requested concurrently.

    Raises:
        FlowRunNotFoundError: no flow run has this id.
    """
    flow_run_id = check_id(flow_run_id, "FLOW_RUN_ID")
    parts: list[Awaitable[Any]] = [
        FlowRunView.from_flow_run_id(flow_run_id, client=client),
        _flow_of(client, flow_run_id),
        task_run_details(client, {"flow_run_id": {"_eq": flow_run_id}}),
    ]
    if logs:
        parts.append(all_logs(client, {"flow_run_id": {"_eq": flow_run_id}}))
    view, flow, task_runs, *rest = await together(*parts)
    if flow is None:
        msg = f"The flow of flow run {flow_run_id!r} is missing from the backend."
        raise FlowNotFoundError(msg)
    return RunReport(flow_run=view, flow=flow, task_runs=tuple(task_runs),
                     logs=tuple(rest[0]) if rest else ())

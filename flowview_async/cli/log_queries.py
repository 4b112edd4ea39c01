"""The log queries of the CLI beyond the SDK's paging: the last N lines, the first N, and the
filters ``flowview logs`` hands to the backend (levels, times, task runs) instead of filtering
what it downloaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flowview_async import _queries
from flowview_async._paging import DEFAULT_PAGE_SIZE
from flowview_async._rows import format_timestamp, root_rows
from flowview_async.client import Client
from flowview_async.errors import MalformedResponseError
from flowview_async.logs import FlowRunLog, level_number, log_pages

__all__ = ["LAST_LOGS", "first_logs", "last_logs", "level_names_from", "logs_where"]

# The last lines only (newest first, reversed here) and how many there are in all, rather than
# every line of a run that may have hundreds of thousands.
LAST_LOGS = (
    """
query FlowviewCliLastLogs($where: log_bool_exp!, $limit: Int!) {
  log(where: $where, order_by: [{timestamp: desc}, {id: desc}], limit: $limit) {
    ...LogFields
  }
  log_aggregate(where: $where) {
    aggregate {
      count
    }
  }
}
"""
    + _queries.LOG_FIELDS
)

# Every spelling of a level Prefect's log handler may store (Python's level names).
_LEVEL_NAMES = ("DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "CRITICAL")


def level_names_from(minimum: int) -> list[str]:
    """The stored level names at ``minimum`` or above, for a ``level: {_in: [...]}`` filter."""
    return [name for name in _LEVEL_NAMES if level_number(name) >= minimum]


def logs_where(flow_run_id: str, *, after: datetime | None = None, minimum: int | None = None,
               task_run_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """The ``log_bool_exp`` of a run's lines after ``after``, at level ``minimum`` or above, of
    the task runs ``task_run_ids`` (all of them when None)."""
    where: dict[str, Any] = {"flow_run_id": {"_eq": flow_run_id}}
    if after is not None:
        where["timestamp"] = {"_gt": format_timestamp(after)}
    if minimum is not None:
        where["level"] = {"_in": level_names_from(minimum)}
    if task_run_ids is not None:
        where["task_run_id"] = {"_in": list(task_run_ids)}
    return where


async def last_logs(client: Client, where: Mapping[str, Any],
                    limit: int) -> tuple[list[FlowRunLog], int]:
    """The last ``limit`` lines matching ``where``, oldest first, and how many match in all."""
    data = await client.execute(LAST_LOGS, {"where": dict(where), "limit": limit})
    newest_first = [FlowRunLog.from_row(row) for row in root_rows(data, "log", "log line")]
    aggregate = data.get("log_aggregate")
    count = aggregate.get("aggregate", {}).get("count") if isinstance(aggregate, dict) else None
    if not isinstance(count, int) or isinstance(count, bool):
        msg = (f"The backend's log line count is {count!r}, not a number; check that --api "
               "points at a Prefect Server 1.x GraphQL endpoint.")
        raise MalformedResponseError(msg)
    return newest_first[::-1], count


async def first_logs(client: Client, where: Mapping[str, Any], limit: int) -> list[FlowRunLog]:
    """The first ``limit`` lines matching ``where``, oldest first (pages of at most 1,000)."""
    found: list[FlowRunLog] = []
    async for page in log_pages(client, where, page_size=min(limit, DEFAULT_PAGE_SIZE)):
        found.extend(page[:limit - len(found)])
        if len(found) >= limit:
            break
    return found

"""``write_run_logs``: a batch of log records, inserted together (Server's api/logs.py).

Prefect 1.4.1's CloudHandler ships batches of up to ~4 MB; the whole batch is one transaction.
A record the server cannot store (an invalid id or timestamp, an unknown flow run) is skipped,
as Server skips records that fail its model validation, so one bad line never loses the rest of
the batch.
"""

from __future__ import annotations

import functools
from typing import Any

from flowview_async.server.values import normalize_timestamp, normalize_uuid
from flowview_async.server.writes._core import Tx, Write, WriteError


@functools.lru_cache(maxsize=4096)
def _cached_uuid(text: str) -> str:
    return normalize_uuid(text)


def _uuid(value: Any) -> str:
    # A batch names the same few runs over and over: parse each id text once.
    return _cached_uuid(value) if isinstance(value, str) else normalize_uuid(value)


def _row(tx: Tx, log: Any, tenants: dict[str, tuple[bool, str | None]]) -> dict[str, Any] | None:
    if not isinstance(log, dict):
        return None
    try:
        flow_run_id = _uuid(log.get("flow_run_id"))
        task_run_id = _uuid(log["task_run_id"]) if log.get("task_run_id") else None
        timestamp = normalize_timestamp(log["timestamp"]) if log.get("timestamp") else tx.now
    except ValueError:
        return None
    if flow_run_id not in tenants:
        found = tx.one("SELECT tenant_id FROM flow_run WHERE id = ?", (flow_run_id,))
        tenants[flow_run_id] = (False, None) if found is None else (True, found["tenant_id"])
    exists, tenant_id = tenants[flow_run_id]
    if not exists:
        return None  # Server's foreign key refuses it; here the rest of the batch still lands.
    return {
        "flow_run_id": flow_run_id,
        "task_run_id": task_run_id,
        "tenant_id": tenant_id,
        "timestamp": timestamp,
        "message": log.get("message"),
        "name": log.get("name"),
        "level": log.get("level") or "INFO",
        "info": log.get("info"),
        "is_loaded_from_archive": bool(log.get("is_loaded_from_archive", False)),
    }


def write_run_logs(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    logs = data.get("logs")
    if not isinstance(logs, list):
        raise WriteError("logs must be a list of log records")
    tenants: dict[str, tuple[bool, str | None]] = {}
    # _row normalizes ids and timestamps itself, so the batch goes in as one executemany.
    rows = [row for row in (_row(tx, log, tenants) for log in logs) if row is not None]
    tx.insert_many("log", rows)
    return {"success": True}


MUTATIONS: dict[str, Write] = {"write_run_logs": write_run_logs}

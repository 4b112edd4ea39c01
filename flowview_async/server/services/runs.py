"""Creating a scheduled flow run from inside the backend (the scheduler's one write of a new run).

Interim: until the writes' ``create_flow_run`` lands (flowview_async/server/writes/), this is the
smallest insert Prefect Server's ``create_flow_run`` implies for an auto-scheduled run: the flow's
and flow group's parameters merged with the clock's, labels from the clock or the flow group, the
idempotency key honoured per flow, a Scheduled state row, and one Pending task run per task (Prefect
Server's flow run insert trigger). It goes away as soon as that function exists.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from flowview_async.server.states import append_state, serialized_state
from flowview_async.server.values import canonical_json, utc_now


def _labels(
    run_labels: list[str] | None, group_labels: Any, group_config: Any, flow_config: Any
) -> list[str]:
    if run_labels is not None:
        return sorted(run_labels)
    if group_labels is not None:
        return sorted(json.loads(group_labels))
    for config in (group_config, flow_config):
        if config is not None:
            return sorted(json.loads(config).get("labels") or [])
    return []


def create_scheduled_run(
    connection: sqlite3.Connection,
    flow_id: str,
    *,
    scheduled_start_time: str,
    parameters: dict[str, Any],
    labels: list[str] | None,
    idempotency_key: str,
) -> str:
    """Insert one Scheduled run of ``flow_id`` (or find it by idempotency key); its id."""
    existing = connection.execute(
        "SELECT id FROM flow_run WHERE flow_id = ? AND idempotency_key = ?", (flow_id, idempotency_key)
    ).fetchone()
    if existing is not None:
        return str(existing[0])
    flow = connection.execute(
        "SELECT f.tenant_id, f.parameters, f.run_config, g.default_parameters, g.labels, g.run_config "
        "FROM flow AS f JOIN flow_group AS g ON g.id = f.flow_group_id WHERE f.id = ?",
        (flow_id,),
    ).fetchone()
    if flow is None:
        raise ValueError(f"Flow {flow_id} not found")
    tenant_id, flow_parameters, flow_config, group_defaults, group_labels, group_config = flow
    merged = {
        p["name"]: p["default"] for p in json.loads(flow_parameters or "[]") if p.get("default")
    }
    merged.update(json.loads(group_defaults or "{}"))
    merged.update(parameters)
    run_config = group_config if group_config is not None else flow_config
    now = utc_now()
    run_id = str(uuid.uuid4())
    connection.execute(
        "INSERT INTO flow_run (id, tenant_id, flow_id, name, labels, parameters, context, run_config, "
        "scheduled_start_time, idempotency_key, auto_scheduled, version, times_resurrected, created, "
        "updated) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, 0, 0, 0, ?, ?)",
        (
            run_id, tenant_id, flow_id, f"scheduled-{run_id[:8]}",
            canonical_json(_labels(labels, group_labels, group_config, flow_config)),
            canonical_json(merged), run_config, scheduled_start_time, idempotency_key, now, now,
        ),
    )
    tasks = connection.execute("SELECT id, tenant_id FROM task WHERE flow_id = ?", (flow_id,)).fetchall()
    for task_id, task_tenant in tasks:
        task_run_id = str(uuid.uuid4())
        connection.execute(
            "INSERT INTO task_run (id, tenant_id, flow_run_id, task_id, map_index, version, created, "
            "updated) VALUES (?, ?, ?, ?, -1, 0, ?, ?)",
            (task_run_id, task_tenant, run_id, task_id, now, now),
        )
        append_state(connection, "task_run", task_run_id, serialized_state("Pending", "Task run created"),
                      now, str(uuid.uuid4()))
    scheduled = serialized_state("Scheduled", "Flow run scheduled.", scheduled_start_time)
    append_state(connection, "flow_run", run_id, scheduled, now, str(uuid.uuid4()))
    return run_id

"""Agents: registration, the run queue, agent configs (Server's api/agents.py and runs.get_runs_in_queue).

Agents send ``X-Prefect-Agent-Id`` with every request once registered; the queue query uses it to
stamp the agent's ``last_queried``, and a Submitted state to record which agent took the run.
"""

from __future__ import annotations

import json
from typing import Any

from flowview_async.server.values import normalize_timestamp
from flowview_async.server.writes._core import Tx, Write, WriteError, as_uuid, dump_json
from flowview_async.server.writes.cascade import delete_rows

# Server's queued_runs_returned_limit: the queue answers at most this many runs per call.
QUEUE_LIMIT = 25
# Scheduled and its subclasses, plus Queued: states of a run waiting to be picked up.
QUEUED_STATES = ("Scheduled", "Paused", "Resume", "Retrying", "Queued")


def register_agent(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    tenant_id = data.get("tenant_id")
    if tenant_id:
        tenant_id = as_uuid(tenant_id, "Invalid tenant ID.")
    else:
        first = tx.one("SELECT id FROM tenant ORDER BY created LIMIT 1")
        if first is None:
            raise WriteError("No tenant found.")
        tenant_id = first["id"]
    labels = sorted(data.get("labels") or [])
    core_version = tx.headers.get("x-prefect-core-version")
    # The same agent (tenant, name, type, core version, labels) registering again gets its id back.
    existing = tx.one(
        "SELECT id FROM agent WHERE tenant_id = ? AND name IS ? AND type IS ? AND core_version IS ? "
        "AND labels = ?",
        (tenant_id, data.get("name"), data.get("type"), core_version, dump_json(labels)),
    )
    if existing is not None:
        return {"id": existing["id"]}
    agent_config_id = data.get("agent_config_id")
    agent_id = tx.insert(
        "agent",
        {
            "tenant_id": tenant_id,
            "agent_config_id": as_uuid(agent_config_id, "Invalid agent config ID.")
            if agent_config_id
            else None,
            "labels": labels,
            "name": data.get("name"),
            "type": data.get("type"),
            "core_version": core_version,
        },
    )
    return {"id": agent_id}


def delete_agent(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    agent_id = as_uuid(data.get("agent_id"), "Must supply an agent ID to delete.")
    tx.run("UPDATE flow_run SET agent_id = NULL WHERE agent_id = ?", (agent_id,))
    return {"success": delete_rows(tx, "agent", "id", [agent_id]) > 0}


def get_runs_in_queue(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    """Ids of runs due by ``before`` whose labels the agent all has, earliest first, at most 25.

    A run is due when it is in a waiting state whose start time has come, or when it is Running
    with a task run waiting so (a task run retrying later). Reading does not dequeue.
    """
    tenant_id = as_uuid(data.get("tenant_id"), "Invalid tenant ID")
    try:
        before = normalize_timestamp(data["before"]) if data.get("before") else tx.now
    except ValueError as error:
        raise WriteError(str(error)) from None
    labels = set(data.get("labels") or [])
    marks = ", ".join("?" for _ in QUEUED_STATES)
    candidates = tx.all(
        "SELECT fr.id, fr.labels FROM flow_run AS fr WHERE fr.tenant_id = ? AND ("
        f"(fr.state IN ({marks}) AND fr.state_start_time <= ?) OR "
        f"(fr.state = 'Running' AND EXISTS (SELECT 1 FROM task_run AS tr WHERE tr.flow_run_id = fr.id "
        f"AND tr.state IN ({marks}) AND tr.state_start_time <= ?))"
        ") ORDER BY fr.state_start_time LIMIT ?",
        (tenant_id, *QUEUED_STATES, before, *QUEUED_STATES, before, QUEUE_LIMIT * 3),
    )
    chosen: list[str] = []
    for run in candidates:
        if len(chosen) == QUEUE_LIMIT:
            break
        run_labels = set(json.loads(run["labels"] or "[]"))
        if run_labels - labels:
            continue  # the agent lacks one of the run's labels
        if not run_labels and labels:
            continue  # an unlabeled run only goes to an unlabeled agent
        chosen.append(run["id"])
    if tx.agent_id:
        tx.run("UPDATE agent SET last_queried = ?, updated = ? WHERE id = ?", (tx.now, tx.now, tx.agent_id))
    return {"flow_run_ids": chosen}


def create_agent_config(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    tenant_id = as_uuid(data.get("tenant_id"), "Invalid tenant ID.")
    config_id = tx.insert(
        "agent_config",
        {"tenant_id": tenant_id, "name": data.get("name"), "settings": data.get("settings") or {}},
    )
    return {"id": config_id}


def update_agent_config(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    config_id = as_uuid(data.get("agent_config_id"), "Invalid agent config ID.")
    changes = {key: data[key] for key in ("name", "settings") if data.get(key) is not None}
    if not changes:
        return {"success": tx.one("SELECT 1 FROM agent_config WHERE id = ?", (config_id,)) is not None}
    return {"success": tx.update("agent_config", config_id, changes)}


def delete_agent_config(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    config_id = as_uuid(data.get("agent_config_id"), "Must supply an agent ID to delete.")
    tx.run("UPDATE agent SET agent_config_id = NULL WHERE agent_config_id = ?", (config_id,))
    return {"success": delete_rows(tx, "agent_config", "id", [config_id]) > 0}


MUTATIONS: dict[str, Write] = {
    "register_agent": register_agent,
    "delete_agent": delete_agent,
    "get_runs_in_queue": get_runs_in_queue,
    "create_agent_config": create_agent_config,
    "update_agent_config": update_agent_config,
    "delete_agent_config": delete_agent_config,
}

"""Flow runs and task runs: creation, names, labels, deletion, heartbeats (Server's api/runs.py).

``create_flow_run`` also does what Server's ``insert_task_runs_after_flow_run_insert`` trigger
does: one task run per task of the flow (map index -1) with a Pending "Task run created" state,
then the run's first state, Scheduled. ``get_or_create_task_run_info`` creates mapped children on
first use; since every write runs alone on the database thread, two workers asking for the same
child at once get the same row, created once.
"""

from __future__ import annotations

import uuid
from typing import Any

from flowview_async.server.states import serialized_state
from flowview_async.server.values import normalize_timestamp
from flowview_async.server.writes._core import Tx, Write, WriteError, as_uuid, load_json
from flowview_async.server.writes.cascade import delete_flow_runs
from flowview_async.server.writes.names import generate_name
from flowview_async.server.writes.states import record_state

# The state the trigger gives every task run it creates (exactly this document, as on Server).
_CREATED_STATE = {"type": "Pending", "message": "Task run created"}


def _flow_for_run(tx: Tx, flow_id: str | None, version_group_id: str | None) -> Any:
    columns = (
        "f.id, f.archived, f.tenant_id, f.environment, f.run_config, f.parameters, f.flow_group_id, "
        "fg.default_parameters AS group_parameters, fg.labels AS group_labels, "
        "fg.run_config AS group_run_config"
    )
    source = "FROM flow AS f LEFT JOIN flow_group AS fg ON fg.id = f.flow_group_id"
    if flow_id is not None:
        flow = tx.one(f"SELECT {columns} {source} WHERE f.id = ?", (flow_id,))
        missing = f"Flow {flow_id} not found"
    else:
        flow = tx.one(
            f"SELECT {columns} {source} WHERE f.version_group_id = ? AND f.archived = 0 "
            "ORDER BY f.version DESC LIMIT 1",
            (version_group_id,),
        )
        missing = f"Version group {version_group_id} has no unarchived flows."
    if flow is None:
        raise WriteError(missing)
    if flow["archived"]:
        raise WriteError(f"Flow {flow['id']} is archived.")
    return flow


def _run_labels(flow: Any, labels: list[str] | None, run_config: Any) -> list[str]:
    """Server's order: given labels, given run config, group labels, group run config, flow's."""
    group_run_config = load_json(flow["group_run_config"])
    flow_run_config = load_json(flow["run_config"])
    environment = load_json(flow["environment"])
    group_labels = load_json(flow["group_labels"])
    if labels is not None:
        chosen = labels
    elif run_config is not None:
        chosen = run_config.get("labels") or []
    elif group_labels is not None:
        chosen = group_labels
    elif group_run_config is not None:
        chosen = group_run_config.get("labels") or []
    elif flow_run_config is not None:
        chosen = flow_run_config.get("labels") or []
    elif environment is not None:
        chosen = environment.get("labels") or []
    else:
        chosen = []
    return sorted(chosen)


def _run_parameters(flow: Any, given: dict[str, Any] | None) -> dict[str, Any]:
    declared = load_json(flow["parameters"]) or []
    if not isinstance(declared, list):
        declared = []
    # Server keeps a declared default only when it is truthy (0, "" and False are left out).
    declared = [p for p in declared if isinstance(p, dict)]
    parameters = {p.get("name") or p.get("slug"): p["default"] for p in declared if p.get("default")}
    parameters.update(load_json(flow["group_parameters"]) or {})
    parameters.update(given or {})
    required = {p.get("name") or p.get("slug") for p in declared if p.get("required")}
    missing = required.difference(parameters)
    if missing:
        raise WriteError(f"Required parameters were not supplied: {missing}")
    return parameters


def create_flow_run_row(
    tx: Tx,
    *,
    flow_id: str | None,
    version_group_id: str | None = None,
    parameters: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    scheduled_start_time: Any = None,
    flow_run_name: str | None = None,
    labels: list[str] | None = None,
    run_config: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> str:
    """Create a flow run (or find the one with this idempotency key); returns its id.

    Also the entry point for the scheduler service, which passes ``idempotency_key`` per event.
    """
    if flow_id is None and version_group_id is None:
        raise WriteError("One of flow_id or version_group_id must be provided.")
    for name, value in (("parameters", parameters), ("context", context), ("run_config", run_config)):
        if value is not None and not isinstance(value, dict):
            raise WriteError(f"Flow run {name} must be a JSON object, not {type(value).__name__}.")
    flow = _flow_for_run(tx, flow_id, version_group_id)
    try:
        start = normalize_timestamp(scheduled_start_time) if scheduled_start_time is not None else tx.now
    except ValueError as error:
        raise WriteError(str(error)) from None
    if idempotency_key is not None:
        existing = tx.one(
            "SELECT id FROM flow_run WHERE flow_id = ? AND idempotency_key = ?", (flow["id"], idempotency_key)
        )
        if existing is not None:
            return str(existing["id"])
    if run_config is None:
        chosen_config = load_json(flow["group_run_config"])
        if chosen_config is None:
            chosen_config = load_json(flow["run_config"])
    else:
        chosen_config = run_config
    run_id = tx.insert(
        "flow_run",
        {
            "tenant_id": flow["tenant_id"],
            "flow_id": flow["id"],
            "labels": _run_labels(flow, labels, run_config),
            "parameters": _run_parameters(flow, parameters),
            "run_config": chosen_config,
            "context": context or {},
            "scheduled_start_time": start,
            "name": flow_run_name or generate_name(),
            "idempotency_key": idempotency_key,
        },
    )
    _create_task_runs(tx, run_id, flow["id"], flow["tenant_id"])
    run = {"id": run_id, "version": 0, "tenant_id": flow["tenant_id"]}
    record_state(tx, "flow_run", run, serialized_state("Scheduled", "Flow run scheduled.", start))
    return run_id


def _create_task_runs(tx: Tx, flow_run_id: str, flow_id: str, tenant_id: str | None) -> None:
    """The trigger's work in two bulk inserts: each task's run, at version 1, and its state row.

    The same rows :func:`_new_task_run` writes one at a time (a flow of a thousand tasks must
    not hold the database thread for long).
    """
    tasks = tx.all("SELECT id, cache_key FROM task WHERE flow_id = ?", (flow_id,))
    run_ids = [str(uuid.uuid4()) for _ in tasks]
    created = {"tenant_id": tenant_id, "state": "Pending", "serialized_state": _CREATED_STATE, "version": 1}
    tx.insert_many(
        "task_run",
        [
            {
                **created,
                "id": run_id,
                "flow_run_id": flow_run_id,
                "task_id": task["id"],
                "map_index": -1,
                "cache_key": task["cache_key"],
                "state_message": _CREATED_STATE["message"],
                "state_timestamp": tx.now,
            }
            for run_id, task in zip(run_ids, tasks, strict=True)
        ],
    )
    tx.insert_many(
        "task_run_state",
        [
            {**created, "task_run_id": run_id, "timestamp": tx.now, "message": _CREATED_STATE["message"]}
            for run_id in run_ids
        ],
    )


def _new_task_run(
    tx: Tx, flow_run_id: str, task_id: str, map_index: int, cache_key: str | None, tenant_id: str | None
) -> str:
    task_run_id = tx.insert(
        "task_run",
        {
            "tenant_id": tenant_id,
            "flow_run_id": flow_run_id,
            "task_id": task_id,
            "map_index": map_index,
            "cache_key": cache_key,
            "version": 0,
        },
    )
    record_state(
        tx, "task_run", {"id": task_run_id, "version": 0, "tenant_id": tenant_id}, dict(_CREATED_STATE)
    )
    return task_run_id


def create_flow_run(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_id = data.get("flow_id")
    version_group_id = data.get("version_group_id")
    if not flow_id and not version_group_id:
        raise WriteError("A flow id or version group ID must be provided.")
    run_id = create_flow_run_row(
        tx,
        flow_id=as_uuid(flow_id, "Invalid flow ID.") if flow_id else None,
        version_group_id=version_group_id,
        parameters=data.get("parameters"),
        context=data.get("context"),
        scheduled_start_time=data.get("scheduled_start_time"),
        flow_run_name=data.get("flow_run_name"),
        labels=data.get("labels"),
        run_config=data.get("run_config"),
        idempotency_key=data.get("idempotency_key"),
    )
    return {"id": run_id}


def _task_run_info(tx: Tx, data: dict[str, Any], *, missing_task: str) -> dict[str, Any]:
    flow_run_id = as_uuid(data.get("flow_run_id"), "Invalid flow run ID.")
    task_id = as_uuid(data.get("task_id"), missing_task)
    map_index = data.get("map_index")
    if map_index is None:
        map_index = -1
    found = tx.one(
        "SELECT id, version, state, serialized_state FROM task_run "
        "WHERE flow_run_id = ? AND task_id = ? AND map_index = ?",
        (flow_run_id, task_id, map_index),
    )
    if found is None:
        task = tx.one("SELECT cache_key, tenant_id FROM task WHERE id = ?", (task_id,))
        if task is None:
            raise WriteError(missing_task)
        if tx.one("SELECT 1 FROM flow_run WHERE id = ?", (flow_run_id,)) is None:
            raise WriteError(
                'Foreign key violation. insert or update on table "task_run" violates foreign key '
                'constraint "task_run_flow_run_id_fkey"'
            )
        _new_task_run(tx, flow_run_id, task_id, map_index, task["cache_key"], task["tenant_id"])
        found = tx.one(
            "SELECT id, version, state, serialized_state FROM task_run "
            "WHERE flow_run_id = ? AND task_id = ? AND map_index = ?",
            (flow_run_id, task_id, map_index),
        )
        assert found is not None
    # The stored version (Server answers 0 for a child it just created, though its trigger has
    # already made it 1; the stored one is what a version-locked client must send next).
    return {
        "id": found["id"],
        "version": found["version"],
        "state": found["state"],
        "serialized_state": load_json(found["serialized_state"]),
    }


def get_or_create_task_run_info(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    return _task_run_info(tx, data, missing_task="Invalid task ID")


def get_or_create_task_run(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": _task_run_info(tx, data, missing_task="Invalid ID")["id"]}


def set_flow_run_name(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_run_id = as_uuid(data.get("flow_run_id"), "Invalid flow run ID")
    if not data.get("name"):
        raise WriteError("Invalid name")
    return {"success": tx.update("flow_run", flow_run_id, {"name": data["name"]})}


def set_task_run_name(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    task_run_id = as_uuid(data.get("task_run_id"), "Invalid task run ID")
    if not data.get("name"):
        raise WriteError("Invalid name")
    return {"success": tx.update("task_run", task_run_id, {"name": data["name"]})}


def set_flow_run_labels(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_run_id = as_uuid(data.get("flow_run_id"), "Invalid flow run ID")
    labels = data.get("labels")
    if labels is None:
        raise WriteError("Invalid labels")
    return {"success": tx.update("flow_run", flow_run_id, {"labels": sorted(labels)})}


def delete_flow_run(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_run_id = as_uuid(data.get("flow_run_id"), "Invalid flow run ID.")
    return {"success": delete_flow_runs(tx, [flow_run_id]) > 0}


def update_flow_run_heartbeat(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    # Server answers success at once and writes in the background, so an unknown id is no error.
    flow_run_id = as_uuid(data.get("flow_run_id"), "Invalid flow run ID")
    tx.run("UPDATE flow_run SET heartbeat = ?, updated = ? WHERE id = ?", (tx.now, tx.now, flow_run_id))
    return {"success": True}


def update_task_run_heartbeat(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    task_run_id = as_uuid(data.get("task_run_id"), "Invalid task run ID")
    tx.run("UPDATE task_run SET heartbeat = ?, updated = ? WHERE id = ?", (tx.now, tx.now, task_run_id))
    return {"success": True}


MUTATIONS: dict[str, Write] = {
    "create_flow_run": create_flow_run,
    "get_or_create_task_run_info": get_or_create_task_run_info,
    "get_or_create_task_run": get_or_create_task_run,
    "set_flow_run_name": set_flow_run_name,
    "set_task_run_name": set_task_run_name,
    "set_flow_run_labels": set_flow_run_labels,
    "delete_flow_run": delete_flow_run,
    "update_flow_run_heartbeat": update_flow_run_heartbeat,
    "update_task_run_heartbeat": update_task_run_heartbeat,
}

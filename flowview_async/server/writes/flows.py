"""Flows: registration, versions, archiving, deletion, schedules (Server's api/flows.py).

A flow belongs to a flow group (its "version group"): registering a flow with the name of one
already in the project, or with an explicit ``version_group_id``, adds a version to that group
(version = highest + 1) and archives the group's other versions. The group's settings keep the
last registration's idempotency key, so registering the same flow twice returns the same flow.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import uuid
import zlib
from typing import Any

from flowview_async.server.writes._core import Tx, Write, WriteError, as_uuid, load_json
from flowview_async.server.writes.cascade import delete_flow_runs, delete_flows
from flowview_async.server.writes.states import cancel_flow_run
from flowview_async.server.writes.tasks import register_edge_rows, register_task_rows

# Flows built with an older Prefect Core are refused (Server's core_version_cutoff).
CORE_VERSION_CUTOFF = (0, 6, 1)
MAX_FLOW_BYTES = 256 * 1024 * 1024
NEW_GROUP_SETTINGS = {"heartbeat_enabled": True, "lazarus_enabled": True, "version_locking_enabled": False}


def decompress_flow(text: Any) -> dict[str, Any]:
    """Undo Prefect's ``compress`` (JSON, gzip, base64); anything else is refused as Server does.

    The inflated size is bounded: a few MB of request must not inflate into gigabytes.
    """
    try:
        # wbits 47: accept a gzip or a zlib header.
        inflater = zlib.decompressobj(47)
        raw = inflater.decompress(base64.b64decode(text), MAX_FLOW_BYTES)
        if inflater.unconsumed_tail:
            raise WriteError(f"The serialized flow inflates to more than {MAX_FLOW_BYTES} bytes.")
        flow = json.loads(raw.decode("utf-8"))
    except (TypeError, ValueError, binascii.Error, zlib.error):
        raise WriteError("Unable to decompress serialized flow") from None
    if not isinstance(flow, dict):
        raise WriteError("Unable to decompress serialized flow")
    return flow


# What Server's FlowSchema needs of a serialized flow before it stores anything.
_OBJECT_FIELDS = ("environment", "run_config", "storage", "schedule")
_LIST_FIELDS = ("tasks", "edges", "parameters", "reference_tasks")


def _check_shape(serialized: dict[str, Any]) -> None:
    for name in _OBJECT_FIELDS:
        if serialized.get(name) is not None and not isinstance(serialized[name], dict):
            raise WriteError(f"Invalid serialized flow: '{name}' must be an object or null")
    for name in _LIST_FIELDS:
        if serialized.get(name) is not None and not isinstance(serialized[name], list):
            raise WriteError(f"Invalid serialized flow: '{name}' must be a list")
    for parameter in serialized.get("parameters") or []:
        if not isinstance(parameter, dict) or not isinstance(
            parameter.get("name", parameter.get("slug")), str
        ):
            raise WriteError("Invalid serialized flow: every parameter needs a string 'name'")
    clocks = (serialized.get("schedule") or {}).get("clocks") or []
    if not isinstance(clocks, list) or not all(isinstance(clock, dict) for clock in clocks):
        raise WriteError("Invalid serialized flow: 'schedule.clocks' must be a list of clock objects")


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _resolve_version_group(tx: Tx, project_id: str, name: Any, version_group_id: str | None) -> str | None:
    if version_group_id:
        return version_group_id
    latest = tx.one(
        "SELECT version_group_id FROM flow WHERE project_id = ? AND name = ? ORDER BY created DESC LIMIT 1",
        (project_id, name),
    )
    return None if latest is None else latest["version_group_id"]


def create_flow(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    serialized = data.get("serialized_flow")
    if not isinstance(serialized, dict):
        raise WriteError("serialized_flow must be a JSON object (a serialized Prefect flow)")
    _check_shape(serialized)
    project_id = as_uuid(data.get("project_id"), "Invalid project ID")
    core_version = serialized.get("__version__")
    if isinstance(core_version, str) and _version_tuple(core_version) < CORE_VERSION_CUTOFF:
        raise WriteError(
            "Prefect backends require new flows to be built with Prefect 0.6.1+, but this flow was "
            f"built with Prefect {core_version}."
        )
    project = tx.one("SELECT tenant_id FROM project WHERE id = ?", (project_id,))
    if project is None:
        raise WriteError("Invalid project.")
    tenant_id = project["tenant_id"]
    name = serialized.get("name")
    version_group_id = _resolve_version_group(tx, project_id, name, data.get("version_group_id")) or str(
        uuid.uuid4()
    )
    idempotency_key = data.get("idempotency_key")
    group = tx.one(
        "SELECT id, schedule, settings FROM flow_group WHERE tenant_id IS ? AND name = ?",
        (tenant_id, version_group_id),
    )
    if group is None:
        group_id = tx.insert(
            "flow_group",
            {
                "tenant_id": tenant_id,
                "name": version_group_id,
                "settings": {**NEW_GROUP_SETTINGS, "idempotency_key": idempotency_key},
            },
        )
        group_schedule = None
    else:
        group_id = group["id"]
        group_schedule = load_json(group["schedule"])
        settings = load_json(group["settings"]) or {}
        last_key = settings.get("idempotency_key")
        if last_key and idempotency_key and last_key == idempotency_key:
            same = tx.one(
                "SELECT id FROM flow WHERE version_group_id = ? AND archived = 0 "
                "ORDER BY version DESC LIMIT 1",
                (version_group_id,),
            )
            if same is not None:
                return {"id": same["id"]}
        tx.update("flow_group", group_id, {"settings": {**settings, "idempotency_key": idempotency_key}})
    latest = tx.one(
        "SELECT max(version) AS version FROM flow WHERE version_group_id = ? AND tenant_id IS ?",
        (version_group_id, tenant_id),
    )
    version = int(latest["version"] or 0) + 1 if latest is not None else 1
    flow_id = tx.insert(
        "flow",
        {
            "tenant_id": tenant_id,
            "project_id": project_id,
            "name": name,
            "serialized_flow": serialized,
            "environment": serialized.get("environment"),
            "run_config": serialized.get("run_config"),
            "core_version": core_version,
            "storage": serialized.get("storage"),
            "parameters": serialized.get("parameters") or [],
            "version_group_id": version_group_id,
            "version": version,
            "archived": False,
            "flow_group_id": group_id,
            "description": data.get("description"),
            "schedule": serialized.get("schedule"),
            "is_schedule_active": False,
        },
    )
    tasks = serialized.get("tasks") or []
    edges = serialized.get("edges") or []
    register_task_rows(tx, flow_id, tasks)
    register_edge_rows(tx, flow_id, edges)
    for other in tx.all(
        "SELECT id FROM flow WHERE version_group_id = ? AND id != ? AND archived = 0",
        (version_group_id, flow_id),
    ):
        archive(tx, other["id"])
    # set_schedule_active defaults to true; without a schedule there is nothing to turn on.
    if data.get("set_schedule_active", True) is not False and (
        serialized.get("schedule") is not None or group_schedule is not None
    ):
        # Server logs a refusal and keeps the flow: registration must not fail on the schedule.
        with contextlib.suppress(WriteError):
            activate_schedule(tx, flow_id)
    return {"id": flow_id}


def create_flow_from_compressed_string(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    return create_flow(tx, {**data, "serialized_flow": decompress_flow(data.get("serialized_flow"))})


def delete_flow(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_id = as_uuid(data.get("flow_id"), "Must provide flow ID.")
    return {"success": delete_flows(tx, [flow_id]) > 0}


def archive(tx: Tx, flow_id: str) -> bool:
    """Archive a flow: its auto-scheduled runs go, its other Scheduled runs are cancelled."""
    if not tx.update("flow", flow_id, {"archived": True}):
        return False
    _delete_auto_scheduled(tx, "flow_id = ?", (flow_id,))
    for run in tx.all(
        "SELECT id FROM flow_run WHERE flow_id = ? AND state = 'Scheduled' AND auto_scheduled = 0", (flow_id,)
    ):
        cancel_flow_run(tx, {"flow_run_id": run["id"]}, message=f"Flow {flow_id} was archived.")
    return True


def _delete_auto_scheduled(tx: Tx, where: str, params: tuple[Any, ...]) -> None:
    runs = tx.all(
        f"SELECT id FROM flow_run WHERE state = 'Scheduled' AND auto_scheduled = 1 AND {where}", params
    )
    delete_flow_runs(tx, [run["id"] for run in runs])


def archive_flow(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    return {"success": archive(tx, as_uuid(data.get("flow_id"), "Must provide flow ID."))}


def update_flow_project(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_id = as_uuid(data.get("flow_id"), "Invalid flow ID.")
    project_id = as_uuid(data.get("project_id"), "Invalid project ID.")
    changed = tx.run(
        "UPDATE flow SET project_id = ?, updated = ? WHERE id = ? AND EXISTS "
        "(SELECT 1 FROM project WHERE project.id = ? AND project.tenant_id IS flow.tenant_id)",
        (project_id, tx.now, flow_id, project_id),
    )
    if not changed:
        raise WriteError("Invalid flow or project ID.")
    return {"id": flow_id}


def activate_schedule(tx: Tx, flow_id: str) -> bool:
    """Turn a flow's schedule on when it has one and its clocks provide the required parameters.

    Like Prefect Server, turning it on creates its next runs at once (the scheduler service's
    per-flow step, in this transaction); the service keeps them coming afterwards.
    """
    flow = tx.one(
        "SELECT f.schedule, f.parameters, fg.schedule AS group_schedule, fg.default_parameters "
        "FROM flow AS f LEFT JOIN flow_group AS fg ON fg.id = f.flow_group_id WHERE f.id = ?",
        (flow_id,),
    )
    if flow is None:
        return False
    schedule = load_json(flow["schedule"])
    declared = load_json(flow["parameters"]) or []
    required = {p.get("name") for p in declared if isinstance(p, dict) and p.get("required")}
    if schedule is not None and required:
        still_needed = required.difference(load_json(flow["default_parameters"]) or {})
        clocks = schedule.get("clocks") or [] if isinstance(schedule, dict) else []
        provided = [set((clock.get("parameter_defaults") or {}).keys()) for clock in clocks]
        if not all(still_needed <= given for given in provided):
            raise WriteError("Can not schedule a flow that has required parameters.")
    if schedule is None and load_json(flow["group_schedule"]) is None:
        return False
    if not tx.update("flow", flow_id, {"is_schedule_active": True}):
        return False
    # Imported here: the services build on these write modules.
    from flowview_async.server.services.scheduler import schedule_now

    schedule_now(tx, flow_id)
    return True


def set_schedule_active(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    return {"success": activate_schedule(tx, as_uuid(data.get("flow_id"), "Invalid flow id."))}


def set_schedule_inactive(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_id = as_uuid(data.get("flow_id"), "Invalid flow id.")
    if not tx.update("flow", flow_id, {"is_schedule_active": False}):
        return {"success": False}
    _delete_auto_scheduled(tx, "flow_id = ?", (flow_id,))
    return {"success": True}


MUTATIONS: dict[str, Write] = {
    "create_flow": create_flow,
    "create_flow_from_compressed_string": create_flow_from_compressed_string,
    "delete_flow": delete_flow,
    "archive_flow": archive_flow,
    "update_flow_project": update_flow_project,
    "set_schedule_active": set_schedule_active,
    "set_schedule_inactive": set_schedule_inactive,
}

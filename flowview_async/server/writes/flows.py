"""Flows: registration, tasks and edges, archiving, deletion, schedules (Server's api/flows.py).

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


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _slug(value: Any) -> Any:
    # Core sends tasks inside edges and reference_tasks as {"slug": ..., "__version__": ...}.
    return value.get("slug") if isinstance(value, dict) else value


def _interval(seconds: Any) -> str | None:
    """A retry delay (seconds) as Postgres prints an ``interval``: ``[N day[s] ]HH:MM:SS[.ffffff]``."""
    if seconds is None:
        return None
    try:
        total = float(seconds)
    except (TypeError, ValueError):
        raise WriteError(f"Invalid retry_delay: {seconds!r}") from None
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{int(hours):02d}:{int(minutes):02d}:{int(secs):02d}"
    fraction = round(secs - int(secs), 6)
    if fraction:
        clock += f"{fraction:.6f}"[1:].rstrip("0")
    if days:
        clock = f"{int(days)} day{'s' if days != 1 else ''} {clock}"
    return clock


def _flow_row(tx: Tx, flow_id: str, columns: str = "id, tenant_id, serialized_flow") -> Any:
    flow = tx.one(f"SELECT {columns} FROM flow WHERE id = ?", (flow_id,))
    if flow is None:
        raise WriteError("Invalid flow ID")
    return flow


def register_task_rows(tx: Tx, flow_id: str, tasks: Any) -> None:
    """Insert the flow's tasks (a slug already there is skipped) and add them to serialized_flow."""
    if not isinstance(tasks, list):
        raise WriteError("serialized_tasks must be a list of serialized tasks")
    flow = _flow_row(tx, flow_id)
    known = {row["slug"] for row in tx.all("SELECT slug FROM task WHERE flow_id = ?", (flow_id,))}
    for task in tasks:
        if not isinstance(task, dict) or not isinstance(task.get("slug"), str):
            raise WriteError("Invalid task: every serialized task needs a string 'slug'")
        if task["slug"] in known:
            continue
        known.add(task["slug"])
        trigger = task.get("trigger")
        tx.insert(
            "task",
            {
                "id": task.get("id") or str(uuid.uuid4()),
                "flow_id": flow_id,
                "tenant_id": flow["tenant_id"],
                "name": task.get("name"),
                "slug": task["slug"],
                "type": task.get("type"),
                "max_retries": int(task.get("max_retries") or 0),
                "tags": list(task.get("tags") or []),
                "retry_delay": _interval(task.get("retry_delay")),
                "trigger": trigger.get("fn") if isinstance(trigger, dict) else trigger,
                "auto_generated": bool(task.get("auto_generated", False)),
                "cache_key": task.get("cache_key"),
                "description": task.get("description"),
            },
        )
    serialized = load_json(flow["serialized_flow"]) or {}
    current = list(serialized.get("tasks") or [])
    listed = {t.get("slug") for t in current if isinstance(t, dict)}
    current.extend(t for t in tasks if t["slug"] not in listed)
    serialized["tasks"] = current
    tx.update("flow", flow_id, {"serialized_flow": serialized})
    _update_task_flags(tx, flow_id, serialized)


def register_edge_rows(tx: Tx, flow_id: str, edges: Any) -> None:
    if not isinstance(edges, list):
        raise WriteError("serialized_edges must be a list of serialized edges")
    flow = _flow_row(tx, flow_id)
    by_slug = {
        row["slug"]: row["id"] for row in tx.all("SELECT id, slug FROM task WHERE flow_id = ?", (flow_id,))
    }
    existing = {
        (row["upstream_task_id"], row["downstream_task_id"])
        for row in tx.all(
            "SELECT upstream_task_id, downstream_task_id FROM edge WHERE flow_id = ?", (flow_id,)
        )
    }
    for edge in edges:
        if not isinstance(edge, dict):
            raise WriteError("Invalid edge: every serialized edge must be an object")
        try:
            upstream = by_slug[_slug(edge.get("upstream_task"))]
            downstream = by_slug[_slug(edge.get("downstream_task"))]
        except (KeyError, TypeError):
            raise WriteError(
                "Edges could not be registered - some edges reference tasks that do not exist "
                "within this flow."
            ) from None
        if (upstream, downstream) in existing:
            continue
        existing.add((upstream, downstream))
        tx.insert(
            "edge",
            {
                "flow_id": flow_id,
                "tenant_id": flow["tenant_id"],
                "upstream_task_id": upstream,
                "downstream_task_id": downstream,
                "key": edge.get("key"),
                "mapped": bool(edge.get("mapped", False)),
            },
        )
    _update_task_flags(tx, flow_id, load_json(flow["serialized_flow"]) or {})


def _update_task_flags(tx: Tx, flow_id: str, serialized: dict[str, Any]) -> None:
    """mapped / root / terminal / reference flags from the edges, recomputed after each batch.

    Tasks and edges arrive in separate batches (Prefect 1.4.1's Client.register sends tasks,
    then edges), so the flags can only be known once the edges are in.
    """
    references = [_slug(t) for t in serialized.get("reference_tasks") or []]
    tx.run(
        "UPDATE task SET "
        "mapped = EXISTS (SELECT 1 FROM edge WHERE edge.downstream_task_id = task.id AND edge.mapped), "
        "is_root_task = NOT EXISTS (SELECT 1 FROM edge WHERE edge.downstream_task_id = task.id), "
        "is_terminal_task = NOT EXISTS (SELECT 1 FROM edge WHERE edge.upstream_task_id = task.id) "
        "WHERE flow_id = ?",
        (flow_id,),
    )
    if references:
        tx.run(
            "UPDATE task SET is_reference_task = (slug IN (SELECT value FROM json_each(?))) "
            "WHERE flow_id = ?",
            (json.dumps(references), flow_id),
        )
    else:
        # Without explicit reference tasks, a flow's state follows its terminal tasks.
        tx.run("UPDATE task SET is_reference_task = is_terminal_task WHERE flow_id = ?", (flow_id,))


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


def register_tasks(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_id = as_uuid(data.get("flow_id"), "Invalid flow ID")
    register_task_rows(tx, flow_id, data.get("serialized_tasks"))
    return {"success": True}


def register_edges(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_id = as_uuid(data.get("flow_id"), "Invalid flow ID")
    register_edge_rows(tx, flow_id, data.get("serialized_edges"))
    return {"success": True}


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

    Creating the upcoming runs is the scheduler service's job (it runs for active schedules).
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
    return tx.update("flow", flow_id, {"is_schedule_active": True})


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
    "register_tasks": register_tasks,
    "register_edges": register_edges,
    "delete_flow": delete_flow,
    "archive_flow": archive_flow,
    "update_flow_project": update_flow_project,
    "set_schedule_active": set_schedule_active,
    "set_schedule_inactive": set_schedule_inactive,
}

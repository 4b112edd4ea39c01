"""A flow's structure: its tasks and edges, registered with the flow or in later batches
(Prefect 1.4.1's ``Client.register`` sends the flow, then ``register_tasks``, then
``register_edges``), and the task flags that follow from the edges."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flowview_async.server.writes._core import Tx, Write, WriteError, as_uuid, load_json


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


def register_tasks(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_id = as_uuid(data.get("flow_id"), "Invalid flow ID")
    register_task_rows(tx, flow_id, data.get("serialized_tasks"))
    return {"success": True}


def register_edges(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    flow_id = as_uuid(data.get("flow_id"), "Invalid flow ID")
    register_edge_rows(tx, flow_id, data.get("serialized_edges"))
    return {"success": True}


MUTATIONS: dict[str, Write] = {
    "register_tasks": register_tasks,
    "register_edges": register_edges,
}

"""Task run artifacts (Server's api/artifacts.py), and the UI's messages."""

from __future__ import annotations

from typing import Any

from flowview_async.server.writes._core import Tx, Write, WriteError, as_uuid
from flowview_async.server.writes.cascade import delete_rows


def create_task_run_artifact(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    task_run_id = as_uuid(data.get("task_run_id"), "A `task_run_id` must be provided to create artifact")
    task_run = tx.one("SELECT tenant_id FROM task_run WHERE id = ?", (task_run_id,))
    if task_run is None:
        raise WriteError(f"Task run {task_run_id} not found")
    tenant_id = data.get("tenant_id")
    if tenant_id and as_uuid(tenant_id, "Invalid tenant ID.") != task_run["tenant_id"]:
        raise WriteError("Invalid tenant ID.")
    artifact_id = tx.insert(
        "task_run_artifact",
        {
            "tenant_id": task_run["tenant_id"],
            "task_run_id": task_run_id,
            "kind": data.get("kind"),
            "data": data.get("data"),
        },
    )
    return {"id": artifact_id}


def update_task_run_artifact(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    artifact_id = as_uuid(
        data.get("task_run_artifact_id"), "Must supply a valid task run artifact ID to update"
    )
    return {"success": tx.update("task_run_artifact", artifact_id, {"data": data.get("data")})}


def delete_task_run_artifact(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    artifact_id = as_uuid(
        data.get("task_run_artifact_id"), "Must supply a valid task run artifact ID to delete"
    )
    return {"success": delete_rows(tx, "task_run_artifact", "id", [artifact_id]) > 0}


def _message_read(read: bool) -> Write:
    def write(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
        message_id = as_uuid(data.get("message_id"), "Invalid message ID.")
        return {"success": tx.update("message", message_id, {"read": read})}

    return write


def delete_message(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    message_id = as_uuid(data.get("message_id"), "Invalid message ID.")
    return {"success": delete_rows(tx, "message", "id", [message_id]) > 0}


MUTATIONS: dict[str, Write] = {
    "create_task_run_artifact": create_task_run_artifact,
    "update_task_run_artifact": update_task_run_artifact,
    "delete_task_run_artifact": delete_task_run_artifact,
    "mark_message_as_read": _message_read(True),
    "mark_message_as_unread": _message_read(False),
    "delete_message": delete_message,
}

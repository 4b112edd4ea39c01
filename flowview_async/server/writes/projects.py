"""Projects and tenants: create, rename, describe, delete (Prefect Server's api/projects.py, tenants.py)."""

from __future__ import annotations

import json
from typing import Any

from flowview_async.server.writes._core import Tx, Write, WriteError, as_uuid
from flowview_async.server.writes.cascade import delete_flows, delete_rows


def create_project(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    tenant_id = as_uuid(data.get("tenant_id"), "Invalid tenant ID.")
    name = data.get("name")
    if tx.one("SELECT 1 FROM tenant WHERE id = ?", (tenant_id,)) is None:
        raise WriteError("Invalid tenant ID.")
    # The (tenant_id, name) unique constraint: Server answers exactly this, and Prefect 1.4.1's
    # Client.create_project matches on it to return the existing project instead.
    if tx.one("SELECT 1 FROM project WHERE tenant_id = ? AND name = ?", (tenant_id, name)) is not None:
        raise WriteError("Uniqueness violation.")
    project_id = tx.insert(
        "project", {"tenant_id": tenant_id, "name": name, "description": data.get("description")}
    )
    return {"id": project_id}


def set_project_name(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    project_id = as_uuid(data.get("project_id"), "Invalid project ID.")
    found = tx.one("SELECT tenant_id FROM project WHERE id = ?", (project_id,))
    if found is None:
        # Server answers the id back even when nothing was updated (its payload is the id).
        return {"id": project_id}
    clash = tx.one(
        "SELECT 1 FROM project WHERE tenant_id IS ? AND name = ? AND id != ?",
        (found["tenant_id"], data.get("name"), project_id),
    )
    if clash is not None:
        raise WriteError("Uniqueness violation.")
    tx.update("project", project_id, {"name": data.get("name")})
    return {"id": project_id}


def set_project_description(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    project_id = as_uuid(data.get("project_id"), "Invalid project ID.")
    tx.update("project", project_id, {"description": data.get("description")})
    return {"id": project_id}


def delete_project(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    project_id = as_uuid(data.get("project_id"), "Invalid project ID.")
    flow_ids = [row["id"] for row in tx.all("SELECT id FROM flow WHERE project_id = ?", (project_id,))]
    delete_flows(tx, flow_ids)
    return {"success": delete_rows(tx, "project", "id", [project_id]) > 0}


def create_tenant(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    slug = data.get("slug")
    if tx.one("SELECT 1 FROM tenant WHERE slug = ?", (slug,)) is not None:
        raise WriteError("Uniqueness violation.")
    return {"id": tx.insert("tenant", {"name": data.get("name"), "slug": slug})}


def update_tenant_name(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    tenant_id = as_uuid(data.get("tenant_id"), "Invalid tenant ID.")
    if not data.get("name"):
        raise WriteError("Invalid name.")
    if not tx.update("tenant", tenant_id, {"name": data["name"]}):
        raise WriteError("Invalid tenant ID.")
    return {"id": tenant_id}


def update_tenant_slug(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    tenant_id = as_uuid(data.get("tenant_id"), "Invalid tenant ID.")
    slug = data.get("slug")
    if tx.one("SELECT 1 FROM tenant WHERE slug = ? AND id != ?", (slug, tenant_id)) is not None:
        raise WriteError("Uniqueness violation.")
    if not tx.update("tenant", tenant_id, {"slug": slug}):
        raise WriteError("Invalid tenant ID.")
    return {"id": tenant_id}


def update_tenant_settings(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    tenant_id = as_uuid(data.get("tenant_id"), "Invalid tenant ID.")
    found = tx.one("SELECT settings FROM tenant WHERE id = ?", (tenant_id,))
    if found is None:
        raise WriteError("Invalid tenant ID.")
    settings = json.loads(found["settings"] or "{}")
    settings.update(data.get("settings") or {})
    tx.update("tenant", tenant_id, {"settings": settings})
    return {"id": tenant_id}


def delete_tenant(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    tenant_id = as_uuid(data.get("tenant_id"), "Invalid tenant ID.")
    if not data.get("confirm"):
        raise WriteError("Deletion not confirmed.")
    project_ids = [row["id"] for row in tx.all("SELECT id FROM project WHERE tenant_id = ?", (tenant_id,))]
    for project_id in project_ids:
        delete_project(tx, {"project_id": project_id})
    for table in ("agent", "agent_config", "flow_group", "cloud_hook", "message"):
        delete_rows(tx, table, "tenant_id", [tenant_id])
    return {"success": delete_rows(tx, "tenant", "id", [tenant_id]) > 0}


MUTATIONS: dict[str, Write] = {
    "create_project": create_project,
    "set_project_name": set_project_name,
    "set_project_description": set_project_description,
    "delete_project": delete_project,
    "create_tenant": create_tenant,
    "update_tenant_name": update_tenant_name,
    "update_tenant_slug": update_tenant_slug,
    "update_tenant_settings": update_tenant_settings,
    "delete_tenant": delete_tenant,
}

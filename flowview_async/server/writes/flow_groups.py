"""Flow groups: labels, run config, default parameters, schedule, description, settings
(Server's api/flow_groups.py). A flow group outlives its flow versions; runs take their labels,
run config and default parameters from it first."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import croniter

from flowview_async.server.writes._core import Tx, Write, WriteError, as_uuid, load_json
from flowview_async.server.writes.cascade import delete_flow_runs, delete_flows, delete_rows

_GROUP_ID = "Invalid flow group ID"


def _group_id(data: dict[str, Any]) -> str:
    return as_uuid(data.get("flow_group_id"), _GROUP_ID)


def set_flow_group_labels(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    # Labels are deduplicated; null clears them (runs then fall back to the run configs' labels).
    labels = data.get("labels")
    value = sorted(set(labels)) if labels else labels
    return {"success": tx.update("flow_group", _group_id(data), {"labels": value})}


def set_flow_group_run_config(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    return {"success": tx.update("flow_group", _group_id(data), {"run_config": data.get("run_config")})}


def set_flow_group_description(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    return {"success": tx.update("flow_group", _group_id(data), {"description": data.get("description")})}


def set_flow_group_default_parameters(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    parameters = data.get("parameters")
    if not isinstance(parameters, dict):
        raise WriteError("Default parameters must be a JSON object of parameter names and values.")
    return {"success": tx.update("flow_group", _group_id(data), {"default_parameters": parameters})}


def _delete_group_auto_scheduled(tx: Tx, group_id: str) -> None:
    runs = tx.all(
        "SELECT fr.id FROM flow_run AS fr JOIN flow AS f ON f.id = fr.flow_id "
        "WHERE f.flow_group_id = ? AND fr.state = 'Scheduled' AND fr.auto_scheduled = 1",
        (group_id,),
    )
    delete_flow_runs(tx, [run["id"] for run in runs])


def _schedule_start(timezone: Any) -> dict[str, Any] | None:
    """Clocks of a schedule with a time zone start now, in that zone's wall time (as Server does)."""
    if not timezone:
        return None
    try:
        zone = zoneinfo.ZoneInfo(str(timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise WriteError(f"Invalid timezone provided for schedule: {timezone}") from None
    return {"dt": dt.datetime.now(zone).replace(tzinfo=None).isoformat(), "tz": str(timezone)}


def _clocks(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Prefect 1 clock documents from the input (an interval is sent in seconds, kept in µs)."""
    clocks: list[dict[str, Any]] = [{"type": "CronClock", **clock} for clock in data.get("cron_clocks") or []]
    for given in data.get("interval_clocks") or []:
        clock: dict[str, Any] = {"type": "IntervalClock", "interval": given["interval"] * 1_000_000}
        if given.get("parameter_defaults"):
            clock["parameter_defaults"] = given["parameter_defaults"]
        clocks.append(clock)
    start_date = _schedule_start(data.get("timezone"))
    for clock in clocks:
        clock["start_date"] = start_date
        valid = (
            croniter.croniter.is_valid(clock["cron"])
            if clock["type"] == "CronClock"
            else clock["interval"] > 0
        )
        if not valid:
            raise WriteError(f"Invalid clock provided for schedule: {clock}")
    return clocks


def set_flow_group_schedule(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    group_id = _group_id(data)
    changed = tx.update("flow_group", group_id, {"schedule": {"type": "Schedule", "clocks": _clocks(data)}})
    _delete_group_auto_scheduled(tx, group_id)
    return {"success": changed}


def delete_flow_group_schedule(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    group_id = _group_id(data)
    changed = tx.update("flow_group", group_id, {"schedule": None})
    _delete_group_auto_scheduled(tx, group_id)
    return {"success": changed}


def delete_flow_group(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    group_id = as_uuid(data.get("flow_group_id"), "Must provide flow group ID.")
    flows = tx.all("SELECT id FROM flow WHERE flow_group_id = ?", (group_id,))
    delete_flows(tx, [flow["id"] for flow in flows])
    return {"success": delete_rows(tx, "flow_group", "id", [group_id]) > 0}


def update_setting(tx: Tx, group_id: str | None, key: str, value: Any) -> bool:
    found = tx.one("SELECT settings FROM flow_group WHERE id = ?", (group_id,)) if group_id else None
    if found is None:
        raise WriteError(_GROUP_ID)
    settings = load_json(found["settings"]) or {}
    settings[key] = value
    return tx.update("flow_group", str(group_id), {"settings": settings})


def _flow_setting(key: str, value: bool) -> Write:
    def write(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
        flow_id = as_uuid(data.get("flow_id"), "Invalid flow ID.")
        flow = tx.one("SELECT flow_group_id FROM flow WHERE id = ?", (flow_id,))
        if flow is None:
            raise WriteError("Invalid flow ID.")
        update_setting(tx, flow["flow_group_id"], key, value)
        return {"success": True}

    return write


MUTATIONS: dict[str, Write] = {
    "set_flow_group_labels": set_flow_group_labels,
    "set_flow_group_run_config": set_flow_group_run_config,
    "set_flow_group_description": set_flow_group_description,
    "set_flow_group_default_parameters": set_flow_group_default_parameters,
    "set_flow_group_schedule": set_flow_group_schedule,
    "delete_flow_group_schedule": delete_flow_group_schedule,
    "delete_flow_group": delete_flow_group,
    "enable_flow_heartbeat": _flow_setting("heartbeat_enabled", True),
    "disable_flow_heartbeat": _flow_setting("heartbeat_enabled", False),
    "enable_flow_lazarus_process": _flow_setting("lazarus_enabled", True),
    "disable_flow_lazarus_process": _flow_setting("lazarus_enabled", False),
}

"""State changes of flow and task runs: ``set_flow_run_states``, ``set_task_run_states``, ``cancel_flow_run``.

Prefect Server inserts one ``*_run_state`` row per change and a database trigger copies it onto the
run (``update_{flow,task}_run_details_on_state_insert``): version, state, serialized_state, the
state_* columns, ``start_time`` on the first Running, ``end_time`` on a finishing state. The API
layer adds: Running and Submitted states refresh the heartbeat, a Submitted state names the
agent, a second Submitted within 30 s is refused, a Running task run needs a Running flow run,
Cancelled cancels every unfinished task run, and cached inputs carry over to the next state.

Versions: Prefect Server accepts any ``version`` (it is kept for Prefect Cloud compatibility).
Here a flow group whose settings say ``version_locking_enabled: true`` gets Cloud's check (the
version sent must be the run's current one); new flow groups have it off, as on the Server.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any, Literal

from flowview_async.server.states import (
    END_STATES,
    FINISHED_STATES,
    RUN_TABLES,
    StateError,
    complete_state_columns,
    serialized_state,
)
from flowview_async.server.values import normalize_timestamp, parse_timestamp
from flowview_async.server.writes._core import (
    VERSION_LOCKING_ERROR,
    Tx,
    Write,
    WriteError,
    as_uuid,
    dump_json,
    load_json,
)

RunTable = Literal["flow_run", "task_run"]

# State.is_running(): Running and its subclass Cancelling.
RUNNING_STATES = frozenset({"Running", "Cancelling"})
# Server's limit on one serialized state (its check measures the JSON text).
_MAX_STATE_BYTES = 1_000_000
# How long a Submitted state locks the run against a second submission (Server's ExpiringSet).
_SUBMITTED_LOCK_S = 30.0


def checked_state(value: Any) -> dict[str, Any]:
    """The serialized state from the input, refused as Server refuses what StateSchema cannot load."""
    if len(json.dumps(value)) > _MAX_STATE_BYTES:
        raise WriteError("State payload is too large.")
    if not isinstance(value, dict):
        raise WriteError(f"Invalid state: expected an object, got {type(value).__name__}")
    row: dict[str, Any] = {"serialized_state": value}
    try:
        complete_state_columns(row, state_key="state", message_key="message", start_key="start_time")
        if row.get("start_time") is not None:
            normalize_timestamp(row["start_time"])
    except (StateError, ValueError) as error:
        raise WriteError(f"Invalid state: {error}") from None
    return value


def record_state(tx: Tx, table: RunTable, run: Any, state: dict[str, Any]) -> int:
    """Insert the state row for ``run`` (a row with id, version, tenant_id) and update the run.

    Returns the new version. Does what Server's state-insert trigger and API layer do together.
    """
    state_table, foreign_key = RUN_TABLES[table]
    row: dict[str, Any] = {"serialized_state": state}
    complete_state_columns(row, state_key="state", message_key="message", start_key="start_time")
    kind: str = row["state"]
    start = row.get("start_time")
    start_text = normalize_timestamp(start) if start is not None else None
    version = int(run["version"] or 0) + 1
    tx.insert(
        state_table,
        {
            foreign_key: run["id"],
            "tenant_id": run["tenant_id"],
            "timestamp": tx.now,
            "state": kind,
            "message": row.get("message"),
            "start_time": start_text,
            "serialized_state": state,
            "version": version,
        },
    )
    heartbeat = kind in RUNNING_STATES or (table == "flow_run" and kind == "Submitted")
    tx.run(
        f'UPDATE "{table}" SET version = ?, state = ?, serialized_state = ?, state_message = ?, '
        "state_timestamp = ?, state_start_time = ?, state_result = NULL, updated = ?, "
        "start_time = CASE WHEN ? THEN min(coalesce(start_time, ?), ?) ELSE start_time END, "
        "end_time = CASE WHEN ? THEN max(coalesce(end_time, ?), ?) ELSE end_time END, "
        "heartbeat = CASE WHEN ? THEN ? ELSE heartbeat END "
        "WHERE id = ?",
        (
            version,
            kind,
            dump_json(state),
            row.get("message"),
            tx.now,
            start_text,
            tx.now,
            int(kind == "Running"),
            tx.now,
            tx.now,
            int(kind in END_STATES),
            tx.now,
            tx.now,
            int(heartbeat),
            tx.now,
            run["id"],
        ),
    )
    return version


def append_state(
    connection: sqlite3.Connection, table: RunTable, run_id: str, state: dict[str, Any], timestamp: str
) -> int | None:
    """Record ``state`` for a run at ``timestamp`` (the state's time, not the clock's).

    For :meth:`LocalBackend.set_state`: the same rows a ``set_*_run_states`` mutation writes,
    without its API checks. Returns the new version, or None when there is no such run.
    """
    tx = Tx(connection, timestamp)
    run = tx.one(f'SELECT id, version, tenant_id FROM "{table}" WHERE id = ?', (run_id,))
    return None if run is None else record_state(tx, table, run, state)


def _version_locked(settings_text: str | None) -> bool:
    settings = load_json(settings_text) or {}
    return isinstance(settings, dict) and settings.get("version_locking_enabled") is True


def _check_version(kind: str, run: Any, version: Any) -> None:
    if version is not None and _version_locked(run["group_settings"]) and int(version) != int(run["version"]):
        raise WriteError(
            f"State update failed: the {kind} run's version is {run['version']}, not {version} "
            "(version locking is on for its flow group); read the run again and retry.",
            VERSION_LOCKING_ERROR,
        )


_FLOW_RUN_SQL = (
    "SELECT fr.id, fr.version, fr.tenant_id, fr.state, fr.serialized_state, fg.settings AS group_settings "
    "FROM flow_run AS fr LEFT JOIN flow AS f ON f.id = fr.flow_id "
    "LEFT JOIN flow_group AS fg ON fg.id = f.flow_group_id WHERE fr.id = ?"
)
_TASK_RUN_SQL = (
    "SELECT tr.id, tr.version, tr.tenant_id, tr.state, tr.serialized_state, "
    "fr.id AS flow_run_id, fr.state AS flow_run_state, fg.settings AS group_settings "
    "FROM task_run AS tr LEFT JOIN flow_run AS fr ON fr.id = tr.flow_run_id "
    "LEFT JOIN flow AS f ON f.id = fr.flow_id LEFT JOIN flow_group AS fg ON fg.id = f.flow_group_id "
    "WHERE tr.id = ?"
)


def _recently_submitted(tx: Tx, flow_run_id: str) -> bool:
    moment = parse_timestamp(tx.now).timestamp() - _SUBMITTED_LOCK_S
    since = normalize_timestamp(_from_epoch(moment))
    found = tx.one(
        "SELECT 1 FROM flow_run_state WHERE flow_run_id = ? AND state = 'Submitted' AND timestamp >= ?",
        (flow_run_id, since),
    )
    return found is not None


def _from_epoch(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat()


def set_flow_run_state(tx: Tx, flow_run_id: str, state: dict[str, Any], version: Any = None) -> None:
    run = tx.one(_FLOW_RUN_SQL, (flow_run_id,))
    if run is None:
        raise WriteError(f"State update failed for flow run ID {flow_run_id}")
    _check_version("flow", run, version)
    kind = state["type"]
    if kind == "Submitted" and _recently_submitted(tx, flow_run_id):
        raise WriteError("State update failed: this run has already been submitted.")
    if kind == "Cancelled":
        # Every task run not yet finished is cancelled with the same state.
        unfinished = tx.all(
            "SELECT id FROM task_run WHERE flow_run_id = ? AND (state IS NULL OR state NOT IN "
            f"({', '.join('?' for _ in FINISHED_STATES)}))",
            (flow_run_id, *sorted(FINISHED_STATES)),
        )
        for task_run in unfinished:
            set_task_run_state(tx, task_run["id"], state)
    record_state(tx, "flow_run", run, state)
    if kind == "Submitted" and tx.agent_id:
        agent = tx.one("SELECT id FROM agent WHERE id = ?", (tx.agent_id,))
        if agent is not None:
            tx.run("UPDATE flow_run SET agent_id = ? WHERE id = ?", (agent["id"], flow_run_id))


def set_task_run_state(tx: Tx, task_run_id: str, state: dict[str, Any], version: Any = None) -> None:
    run = tx.one(_TASK_RUN_SQL, (task_run_id,))
    if run is None:
        raise WriteError(f"State update failed for task run ID {task_run_id}")
    if state["type"] in RUNNING_STATES and run["flow_run_state"] != "Running":
        raise WriteError(
            f"State update failed for task run ID {task_run_id}: provided a running state but "
            f"associated flow run {run['flow_run_id']} is not in a running state."
        )
    _check_version("task", run, version)
    previous = load_json(run["serialized_state"]) or {}
    if not state.get("cached_inputs") and isinstance(previous, dict) and previous.get("cached_inputs"):
        # Inputs cached by an earlier state (a Retrying one, say) stay available to the next run.
        state = {**state, "cached_inputs": previous["cached_inputs"]}
    record_state(tx, "task_run", run, state)


def _states_input(data: dict[str, Any]) -> list[dict[str, Any]]:
    states = data.get("states")
    return list(states) if isinstance(states, list) else []


def set_flow_run_states(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    results = []
    for item in _states_input(data):
        flow_run_id = as_uuid(item.get("flow_run_id"), "Invalid flow run ID.")
        set_flow_run_state(tx, flow_run_id, checked_state(item.get("state")), item.get("version"))
        results.append({"id": flow_run_id, "status": "SUCCESS", "message": None})
    return {"states": results}


def set_task_run_states(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    results = []
    for item in _states_input(data):
        task_run_id = as_uuid(item.get("task_run_id"), "Invalid task run ID.")
        set_task_run_state(tx, task_run_id, checked_state(item.get("state")), item.get("version"))
        results.append({"id": task_run_id, "status": "SUCCESS", "message": None})
    return {"states": results}


def cancel_flow_run(tx: Tx, data: dict[str, Any], message: str | None = None) -> dict[str, Any]:
    """Cancelled when not started, Cancelling when running, unchanged when already finished."""
    flow_run_id = as_uuid(data.get("flow_run_id"), "Invalid flow run ID.")
    run = tx.one("SELECT state FROM flow_run WHERE id = ?", (flow_run_id,))
    if run is None:
        raise WriteError(f"Invalid flow run ID: {flow_run_id}.")
    current = run["state"]
    if current in FINISHED_STATES:
        return {"state": current}
    if current in RUNNING_STATES:
        new = serialized_state("Cancelling", message or "Flow run is cancelling")
    else:
        new = serialized_state("Cancelled", message or "Flow run is cancelled")
    set_flow_run_state(tx, flow_run_id, new)
    return {"state": new["type"]}


MUTATIONS: dict[str, Write] = {
    "set_flow_run_states": set_flow_run_states,
    "set_task_run_states": set_task_run_states,
    "cancel_flow_run": cancel_flow_run,
}

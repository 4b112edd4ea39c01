"""Keeping runs and their state history consistent, the way Prefect Server's triggers do.

On the real server every state change inserts a ``flow_run_state``/``task_run_state`` row, and the
trigger ``update_{flow,task}_run_details_on_state_insert`` copies it onto the run row (version,
state, serialized_state, state_* columns; ``start_time`` on Running, ``end_time`` on a finishing
state). Fixtures may give either side; :func:`sync_fixture_states` fills in the other one, and
:mod:`flowview_async.server.writes.states` does what the trigger does for a live state change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowview_async.server.values import normalize_timestamp

PREFECT_VERSION = "1.4.1"
# Prefect 1 state classes and their parents (prefect_server_schema.md §5); served by reference_data.
# The backend's one list of them: the names and the Finished family are derived below.
STATE_PARENTS: dict[str, list[str]] = {
    "Pending": ["State"],
    "Scheduled": ["Pending", "State"],
    "Paused": ["Scheduled", "Pending", "State"],
    "Resume": ["Scheduled", "Pending", "State"],
    "Retrying": ["Scheduled", "Pending", "State"],
    "Submitted": ["State"],
    "Queued": ["State"],
    "ClientFailed": ["State"],
    "Running": ["State"],
    "Cancelling": ["Running", "State"],
    "Finished": ["State"],
    "Success": ["Finished", "State"],
    "Cached": ["Success", "Finished", "State"],
    "Mapped": ["Success", "Finished", "State"],
    "Skipped": ["Success", "Finished", "State"],
    "Looped": ["Finished", "State"],
    "Failed": ["Finished", "State"],
    "TimedOut": ["Failed", "Finished", "State"],
    "TriggerFailed": ["Failed", "Finished", "State"],
    "ValidationFailed": ["Failed", "Finished", "State"],
    "Cancelled": ["Finished", "State"],
}
STATE_NAMES = frozenset(STATE_PARENTS)
# Prefect 1's Finished family (State.is_finished()).
FINISHED_STATES = frozenset(name for name, parents in STATE_PARENTS.items()
                            if name == "Finished" or "Finished" in parents)
# States whose insertion sets the run's end_time (TriggerFailed, Skipped, Mapped... do not).
END_STATES = frozenset({"Success", "Failed", "Cached", "TimedOut", "Looped", "Cancelled"})
_START_TIME_STATES = frozenset({"Scheduled", "Paused", "Resume", "Retrying", "Queued"})
RUN_TABLES = {"flow_run": ("flow_run_state", "flow_run_id"), "task_run": ("task_run_state", "task_run_id")}


class StateError(ValueError):
    """A state row or run row whose state columns cannot be reconciled; says which column."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def serialized_state(state: str, message: str | None = None, start_time: str | None = None) -> dict[str, Any]:
    """A state as Prefect 1.4.1's ``State.serialize()`` writes it, for a state given by name."""
    if state not in STATE_NAMES:
        raise StateError("state", f"{state!r} is not a Prefect 1 state class name")
    result: dict[str, Any] = {
        "context": {},
        "message": message,
        "cached_inputs": {},
        "__version__": PREFECT_VERSION,
        "type": state,
    }
    if state == "Mapped":
        result["n_map_states"] = 0
    else:
        result["_result"] = {"__version__": PREFECT_VERSION, "type": "NoResultType"}
    if state in _START_TIME_STATES:
        result["start_time"] = start_time
    if state == "Retrying":
        result["run_count"] = None
    if state == "Looped":
        result["loop_count"] = 1
    return result


def complete_state_columns(row: dict[str, Any], *, state_key: str, message_key: str, start_key: str) -> None:
    """Make ``state``/``message``/``start_time`` and ``serialized_state`` of one row agree.

    Works for a state row (``state``, ``message``, ``start_time``) and for a run row
    (``state``, ``state_message``, ``state_start_time``); only missing values are filled.
    """
    serialized = row.get("serialized_state")
    if serialized is not None:
        if not isinstance(serialized, dict) or not isinstance(serialized.get("type"), str):
            raise StateError("serialized_state", "serialized_state must be an object with a string 'type'")
        kind = serialized["type"]
        if kind not in STATE_NAMES:
            raise StateError("serialized_state", f"type {kind!r} is not a Prefect 1 state")
        if row.get(state_key) is None:
            row[state_key] = kind
        elif row[state_key] != kind:
            raise StateError(
                state_key, f"{state_key} {row[state_key]!r} disagrees with serialized_state type {kind!r}"
            )
        if message_key not in row:
            row[message_key] = serialized.get("message")
        if start_key not in row and serialized.get("start_time") is not None:
            row[start_key] = serialized["start_time"]
    elif row.get(state_key) is not None:
        if not isinstance(row[state_key], str):
            raise StateError(state_key, f"{state_key} must be a state class name")
        row["serialized_state"] = serialized_state(row[state_key], row.get(message_key), row.get(start_key))


def _timestamp(row: Mapping[str, Any], key: str, default: str) -> str:
    value = row.get(key)
    if value is None:
        return default
    try:
        return normalize_timestamp(value)
    except ValueError as error:
        raise StateError(key, str(error)) from None


def apply_latest_state(run: dict[str, Any], states: list[dict[str, Any]], now: str) -> None:
    """Copy the newest state row onto ``run`` and derive start/end times, filling gaps only."""

    def order(row: dict[str, Any]) -> tuple[int, str]:
        return (int(row.get("version") or 0), _timestamp(row, "timestamp", now))

    latest = max(states, key=order)
    run.setdefault("version", latest.get("version"))
    run["state"] = latest["state"]
    run["serialized_state"] = latest["serialized_state"]
    run.setdefault("state_message", latest.get("message"))
    run.setdefault("state_timestamp", _timestamp(latest, "timestamp", now))
    run.setdefault("state_start_time", latest.get("start_time"))
    run.setdefault("state_result", latest.get("result"))
    running = [_timestamp(s, "timestamp", now) for s in states if s.get("state") == "Running"]
    if running and run.get("start_time") is None:
        run["start_time"] = min(running)
    ended = [_timestamp(s, "timestamp", now) for s in states if s.get("state") in END_STATES]
    if ended and run.get("end_time") is None:
        run["end_time"] = max(ended)


def state_row_from_run(run: Mapping[str, Any], foreign_key: str, now: str) -> dict[str, Any]:
    """The history row a run's current state implies when the fixture gave none."""
    return {
        foreign_key: run["id"],
        "timestamp": _timestamp(run, "state_timestamp", now),
        "state": run["state"],
        "message": run.get("state_message"),
        "result": run.get("state_result"),
        "start_time": run.get("state_start_time"),
        "serialized_state": run["serialized_state"],
        "version": run.get("version") or 1,
    }

"""The zombie killer: runs that claim to be working but whose heartbeat stopped, as Prefect Server
handles them.

* A task run in ``Running`` whose flow run's heartbeat is older than the cutoff (10 minutes) is a
  zombie. If its flow run is still ``Running`` and the task has retries left (fewer ``Retrying``
  states in its history than the task's ``max_retries``), it is put in ``Retrying``, due after the
  task's ``retry_delay``; otherwise it is ``Failed``.
* A flow run in ``Cancelling`` whose heartbeat is older than the cutoff never reached ``Cancelled``:
  it is ``Failed``.
* Runs of a flow group whose settings say ``heartbeat_enabled: false`` are left alone; so are runs
  with no heartbeat at all (SQL's NULL is never older than anything, as in Postgres).

Each change goes through the writes' ``set_task_run_state`` / ``set_flow_run_state`` (a state row,
the run's columns following) and ``write_run_logs`` (an ERROR log line on the run, named
``ZombieKiller.TaskRun`` / ``ZombieKiller.FlowRun``). At most 5,000 of each per visit, the most
recently updated first.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from flowview_async.server.database import Database
from flowview_async.server.states import serialized_state
from flowview_async.server.values import format_timestamp
from flowview_async.server.writes._core import Tx
from flowview_async.server.writes.logs import write_run_logs
from flowview_async.server.writes.states import set_flow_run_state, set_task_run_state

__all__ = ["DEFAULT_HEARTBEAT_TIMEOUT_S", "run_zombie_killer_once"]

logger = logging.getLogger("flowview_async.server.services.zombie_killer")

# Prefect Server's zombie killer: heartbeats older than 10 minutes.
DEFAULT_HEARTBEAT_TIMEOUT_S = 600.0
_LIMIT = 5000
_HEARTBEAT_ON = (
    "coalesce(json_type(g.settings, '$.heartbeat_enabled'), '') != 'false'"
)
_CLOCK = re.compile(r"^(?:(?P<days>-?\d+) days?,? ?)?(?P<h>-?\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)$")


def interval_seconds(value: Any) -> float:
    """A stored ``interval`` (seconds as a number, or Postgres text like ``1 day 00:00:10``)."""
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    match = _CLOCK.match(text)
    if match is None:
        return 0.0  # an interval we cannot read: retry at once rather than never
    days = int(match["days"] or 0)
    return days * 86400 + int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])


def _log(tx: Tx, flow_run_id: str, task_run_id: str | None, name: str, message: str) -> None:
    line = {"flow_run_id": flow_run_id, "task_run_id": task_run_id, "timestamp": tx.now, "name": name,
            "level": "ERROR", "message": message}
    write_run_logs(tx, {"logs": [line]})


def reap_zombie_task_runs(tx: Tx, *, cutoff: dt.datetime, now: dt.datetime) -> int:
    """Retry or fail the zombie task runs; how many were handled."""
    rows = tx.connection.execute(
        "SELECT tr.id, tr.flow_run_id, tr.name, fr.state, t.max_retries, t.retry_delay, "
        "(SELECT count(*) FROM task_run_state AS s WHERE s.task_run_id = tr.id AND s.state = 'Retrying') "
        "FROM task_run AS tr JOIN flow_run AS fr ON fr.id = tr.flow_run_id "
        "JOIN task AS t ON t.id = tr.task_id JOIN flow AS f ON f.id = t.flow_id "
        "JOIN flow_group AS g ON g.id = f.flow_group_id "
        f"WHERE tr.state = 'Running' AND fr.heartbeat <= ? AND {_HEARTBEAT_ON} "
        "ORDER BY tr.updated DESC LIMIT ?",
        (format_timestamp(cutoff), _LIMIT),
    ).fetchall()
    for task_run_id, flow_run_id, name, flow_state, max_retries, retry_delay, retries in rows:
        if flow_state == "Running" and retries < (max_retries or 0):
            message = (
                "No heartbeat detected from the remote task; retrying the run. "
                f"This will be retry {retries + 1} of {max_retries}."
            )
            due = now + dt.timedelta(seconds=interval_seconds(retry_delay))
            state = serialized_state("Retrying", message, format_timestamp(due))
            state["run_count"] = retries + 1
        else:
            message = (
                "No heartbeat detected from the remote task; marking the "
                f"task run {task_run_id} ({name}) as failed."
            )
            state = serialized_state("Failed", message)
        set_task_run_state(tx, task_run_id, state)
        _log(tx, flow_run_id, task_run_id, "ZombieKiller.TaskRun", message)
    return len(rows)


def reap_zombie_cancelling_flow_runs(tx: Tx, *, cutoff: dt.datetime) -> int:
    """Fail the flow runs stuck in Cancelling; how many were handled."""
    rows = tx.connection.execute(
        "SELECT fr.id FROM flow_run AS fr JOIN flow AS f ON f.id = fr.flow_id "
        "JOIN flow_group AS g ON g.id = f.flow_group_id "
        f"WHERE fr.state = 'Cancelling' AND fr.heartbeat <= ? AND {_HEARTBEAT_ON} "
        "ORDER BY fr.updated DESC LIMIT ?",
        (format_timestamp(cutoff), _LIMIT),
    ).fetchall()
    message = "No heartbeat detected from the flow run; marking the run as failed."
    for (flow_run_id,) in rows:
        set_flow_run_state(tx, flow_run_id, serialized_state("Failed", message))
        _log(tx, flow_run_id, None, "ZombieKiller.FlowRun", message)
    return len(rows)


async def run_zombie_killer_once(
    database: Database,
    *,
    now: dt.datetime | None = None,
    heartbeat_timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S,
) -> int:
    """One visit: zombie task runs first, then stuck Cancelling flow runs (one transaction each)."""
    moment = now or dt.datetime.now(dt.timezone.utc)
    cutoff = moment - dt.timedelta(seconds=heartbeat_timeout_s)
    stamp = format_timestamp(moment)
    tasks = await database.transaction(
        lambda c: reap_zombie_task_runs(Tx(c, stamp), cutoff=cutoff, now=moment)
    )
    flows = await database.transaction(
        lambda c: reap_zombie_cancelling_flow_runs(Tx(c, stamp), cutoff=cutoff)
    )
    if tasks:
        logger.info("Addressed %d zombie task runs.", tasks)
    if flows:
        logger.info("Addressed %d zombie flow runs.", flows)
    return tasks + flows

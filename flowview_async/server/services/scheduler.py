"""The scheduler: the next runs of every flow with an active schedule, as Prefect Server makes them.

Prefect Server's scheduler service visits every flow whose schedule is active and that is not
archived, and for each asks for the next ``max_scheduled_runs_per_flow`` (10) events of its schedule
(the flow group's schedule if it has one, else the flow's). Each event becomes a flow run created
with the idempotency key ``auto-scheduled:<UTC time>``, so visiting twice creates nothing new; events
at or before the latest auto-scheduled run are skipped, unless the clock gives parameter defaults or
labels (then the key also hashes those, and runs at the same time with different parameters are
allowed). Created runs are marked ``auto_scheduled``.

:func:`schedule_flow_runs` is that per-flow step inside a write transaction, so the writes'
``set_schedule_active`` calls it too (turning a schedule on creates its next runs at once); runs
are created by the writes' ``create_flow_run_row``, the one place a flow run is made.
:func:`run_scheduler_once` is one visit of the service.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import sqlite3
from typing import Any

from flowview_async.server.database import Database
from flowview_async.server.services.clocks import ClockEvent, UnsupportedSchedule, event_key_time, next_events
from flowview_async.server.values import format_timestamp, parse_timestamp, utc_now
from flowview_async.server.writes._core import Tx, WriteError
from flowview_async.server.writes.runs import create_flow_run_row

__all__ = ["DEFAULT_MAX_RUNS", "run_scheduler_once", "schedule_flow_runs", "schedule_now"]

logger = logging.getLogger("flowview_async.server.services.scheduler")

# Prefect Server's config.toml: services.towel.max_scheduled_runs_per_flow.
DEFAULT_MAX_RUNS = 10
_BATCH = 500


def _idempotency_key(event: ClockEvent) -> str:
    key = f"auto-scheduled:{event_key_time(event.start_time)}"
    if event.parameter_defaults or event.labels is not None:
        # Same-time runs are allowed when they differ in parameters or labels: hash those in.
        # (Prefect Server hashes the sorted characters of the JSON texts; the same keys as it makes.)
        digest = hashlib.md5(usedforsecurity=False)
        parameters = str(sorted(json.dumps(event.parameter_defaults)))
        labels = str(sorted(json.dumps(event.labels)))
        digest.update((parameters + labels).encode("utf-8"))
        key += f":{digest.hexdigest()}"
    return key


def schedule_flow_runs(
    tx: Tx, flow_id: str, *, now: dt.datetime, max_runs: int = DEFAULT_MAX_RUNS
) -> list[str]:
    """Create the next ``max_runs`` scheduled runs of one flow; the ids of the runs it stands for.

    Nothing happens for a flow that is missing, archived, inactive or without a schedule. Raises
    :class:`UnsupportedSchedule` for a schedule the local backend cannot compute.
    """
    row = tx.connection.execute(
        "SELECT f.schedule, g.schedule FROM flow AS f JOIN flow_group AS g ON g.id = f.flow_group_id "
        "WHERE f.id = ? AND f.is_schedule_active = 1 AND f.archived = 0 "
        "AND (f.schedule IS NOT NULL OR g.schedule IS NOT NULL)",
        (flow_id,),
    ).fetchone()
    if row is None:
        return []
    schedule = json.loads(row[1] if row[1] is not None else row[0])
    if not isinstance(schedule, dict):
        raise UnsupportedSchedule(f"the schedule of flow {flow_id} is not an object")
    (latest,) = tx.connection.execute(
        "SELECT max(scheduled_start_time) FROM flow_run WHERE flow_id = ? AND auto_scheduled = 1",
        (flow_id,),
    ).fetchone()
    last_scheduled = parse_timestamp(latest) if latest is not None else now
    run_ids: list[str] = []
    for event in next_events(schedule, after=now, n=max_runs):
        if not (event.parameter_defaults or event.labels is not None) and event.start_time <= last_scheduled:
            continue  # already scheduled on an earlier visit
        run_ids.append(
            create_flow_run_row(
                tx,
                flow_id=flow_id,
                scheduled_start_time=format_timestamp(event.start_time),
                parameters=event.parameter_defaults,
                labels=event.labels,
                idempotency_key=_idempotency_key(event),
            )
        )
    if run_ids:
        marks = ", ".join("?" for _ in run_ids)
        tx.connection.execute(f"UPDATE flow_run SET auto_scheduled = 1 WHERE id IN ({marks})", run_ids)
    return run_ids


def schedule_now(tx: Tx, flow_id: str) -> list[str]:
    """:func:`schedule_flow_runs` at the transaction's time, for ``set_schedule_active``.

    A schedule the local backend cannot compute is logged and creates nothing, as Prefect Server
    does with a schedule it cannot deserialize; the schedule is still turned on.
    """
    try:
        return schedule_flow_runs(tx, flow_id, now=parse_timestamp(tx.now))
    except UnsupportedSchedule as error:
        logger.error("cannot schedule flow %s: %s", flow_id, error)
        return []


def _schedule_in(
    connection: sqlite3.Connection, *, flow_id: str, now: dt.datetime, max_runs: int
) -> list[str]:
    return schedule_flow_runs(Tx(connection, utc_now()), flow_id, now=now, max_runs=max_runs)


async def run_scheduler_once(
    database: Database, *, now: dt.datetime | None = None, max_runs: int = DEFAULT_MAX_RUNS
) -> int:
    """One visit of every schedulable flow (each flow its own transaction); the runs it scheduled."""
    moment = now or dt.datetime.now(dt.timezone.utc)
    scheduled = 0
    offset = 0
    while True:
        rows: list[Any] = await database.fetch_all(
            "SELECT id FROM flow WHERE is_schedule_active = 1 AND archived = 0 "
            "ORDER BY id DESC LIMIT :limit OFFSET :offset",
            {"limit": _BATCH, "offset": offset},
        )
        if not rows:
            break
        offset += _BATCH
        for (flow_id,) in rows:
            try:
                run_ids = await database.transaction(
                    functools.partial(_schedule_in, flow_id=flow_id, now=moment, max_runs=max_runs)
                )
            except (UnsupportedSchedule, WriteError, ValueError) as error:
                # One flow's bad schedule must not stop the others (Prefect Server logs and goes on).
                logger.error("cannot schedule flow %s: %s", flow_id, error)
                continue
            scheduled += len(run_ids)
    if scheduled:
        logger.info("Scheduled %d flow runs.", scheduled)
    return scheduled

"""Synthetic data at scale, for benchmarks: N flow runs x T task runs x L log lines.

Everything is generated from ``random.Random(seed)``, so the same arguments give the same ids and
rows. Shape of what is generated:

* one project, flow group and flow (``synthetic-<seed>``) with ``task_runs`` tasks; every fourth
  task (``task_3-1``, ``task_7-1``, ...) is mapped over :data:`MAP_WIDTH` children;
* per flow run: states Scheduled, Running, Success (the run row synced as the server would);
* per task: a task run with map_index -1 (Mapped for mapped tasks, else Success) and, for mapped
  tasks, MAP_WIDTH children with map_index 0.. (Success); each with Running and final state rows;
* ``logs`` log lines per top-level task run, attached to the flow run and the task run, one
  millisecond apart, so a flow run has ``task_runs * logs`` log lines and the whole set
  ``flow_runs * task_runs * logs``.

The rows are written straight into SQLite with ``executemany`` in one transaction, skipping fixture
validation (they are valid by construction): a million log lines take a few seconds. Runs are
written one at a time and log lines in batches of :data:`LOG_BATCH`, so memory on the Python side
stays bounded, progress can be reported, and a cancelled generation stops within a batch and rolls
back. (An in-memory database still holds every row: roughly 150 bytes a log line.)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import random
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from flowview_async.errors import InvalidArgumentError
from flowview_async.server.database import Database, create_indexes, drop_indexes, quote
from flowview_async.server.states import PREFECT_VERSION
from flowview_async.server.tables import all_tables
from flowview_async.server.values import canonical_json, format_timestamp

MAP_WIDTH = 3
# Log rows per executemany: bounds memory and how long a stop request waits.
LOG_BATCH = 20_000
_STOP_CHECK_STEPS = 100_000

# progress(log lines written, total log lines)
Progress = Callable[[int, int], None]
_EPOCH = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)
_LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "INFO", "WARNING", "INFO", "ERROR")
_NO_RESULT = {"__version__": PREFECT_VERSION, "type": "NoResultType"}


def _state(kind: str, message: str, **extra: Any) -> str:
    document: dict[str, Any] = {
        "context": {},
        "message": message,
        "cached_inputs": {},
        "__version__": PREFECT_VERSION,
        "type": kind,
        **extra,
    }
    if kind != "Mapped":
        document["_result"] = _NO_RESULT
    return canonical_json(document)


class _Clock:
    """ISO timestamps of milliseconds since 2022-01-01, built by arithmetic (1M rows: ~1 s)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def at(self, milliseconds: int) -> str:
        days, rest = divmod(milliseconds, 86_400_000)
        date = self._days.get(days)
        if date is None:
            date = (_EPOCH + dt.timedelta(days=days)).date().isoformat()
            self._days[days] = date
        seconds, millis = divmod(rest, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        fraction = f".{millis:03d}".rstrip("0") if millis else ""
        return f"{date}T{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}+00:00"


def _sequential_ids(rng: random.Random) -> Iterator[str]:
    """uuid4-shaped ids that increase: appending to the primary-key B-tree is what keeps a
    million inserts fast, and a random per-seed prefix keeps seeds apart."""
    prefix = _uuid(rng)[:24]
    counter = 0
    while True:
        yield f"{prefix}{counter:012x}"
        counter += 1


def _uuid(rng: random.Random) -> str:
    value = rng.getrandbits(128)
    # Set the version (4) and variant bits so the ids look like the server's gen_random_uuid().
    value = (value & ~(0xF000 << 64)) | (0x4000 << 64)
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class _Tables:
    """Rows per table, as tuples in the table's column order, ready for executemany."""

    def __init__(self) -> None:
        self.columns = {name: list(table.columns) for name, table in all_tables().items()}

    def row(self, table: str, values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(values.get(column) for column in self.columns[table])

    def insert(self, connection: sqlite3.Connection, table: str, rows: Any) -> None:
        columns = self.columns[table]
        connection.executemany(
            f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            rows,
        )


def _generate(
    connection: sqlite3.Connection,
    flow_runs: int,
    task_runs: int,
    logs: int,
    seed: int,
    control: _Control,
) -> list[str]:
    rng = random.Random(seed)
    tables = _Tables()
    created = format_timestamp(_EPOCH)
    common = {"created": created, "updated": created}
    project_id, group_id, flow_id = _uuid(rng), _uuid(rng), _uuid(rng)
    name = f"synthetic-{seed}"
    tables.insert(connection, "project", [tables.row("project", {"id": project_id, "name": name, **common})])
    tables.insert(
        connection,
        "flow_group",
        [
            tables.row(
                "flow_group",
                {
                    "id": group_id,
                    "name": name,
                    "labels": '["synthetic"]',
                    "settings": "{}",
                    "default_parameters": "{}",
                    **common,
                },
            )
        ],
    )
    tables.insert(
        connection,
        "flow",
        [
            tables.row(
                "flow",
                {
                    "id": flow_id,
                    "name": name,
                    "version": 1,
                    "project_id": project_id,
                    "flow_group_id": group_id,
                    "archived": 0,
                    "settings": "{}",
                    "parameters": "{}",
                    "is_schedule_active": 0,
                    "core_version": PREFECT_VERSION,
                    "storage": canonical_json(
                        {
                            "type": "Module",
                            "module": "flows.synthetic",
                            "flows": {},
                            "secrets": [],
                            "__version__": PREFECT_VERSION,
                        }
                    ),
                    **common,
                },
            )
        ],
    )
    task_ids = [_uuid(rng) for _ in range(task_runs)]
    mapped = [index % 4 == 3 for index in range(task_runs)]
    tables.insert(
        connection,
        "task",
        [
            tables.row(
                "task",
                {
                    "id": task_id,
                    "flow_id": flow_id,
                    "name": f"task_{index}",
                    "slug": f"task_{index}-1",
                    "mapped": int(mapped[index]),
                    "auto_generated": 0,
                    "is_root_task": int(index == 0),
                    "is_terminal_task": int(index == task_runs - 1),
                    "is_reference_task": int(index == task_runs - 1),
                    "tags": "[]",
                    **common,
                },
            )
            for index, task_id in enumerate(task_ids)
        ],
    )
    run_ids = [_uuid(rng) for _ in range(flow_runs)]
    # Task run ids are drawn up front so the log generator below can reuse them lazily.
    plan: list[list[tuple[str, int, int]]] = []  # per run: (task run id, task index, map_index)
    for _ in run_ids:
        entries = []
        for index in range(task_runs):
            entries.append((_uuid(rng), index, -1))
            if mapped[index]:
                entries.extend((_uuid(rng), index, child) for child in range(MAP_WIDTH))
        plan.append(entries)

    scheduled_state, running_state = (
        _state("Scheduled", "Flow run scheduled."),
        _state("Running", "Running flow."),
    )
    success_flow = _state("Success", "All reference tasks succeeded.")
    running_task = _state("Running", "Starting task run.")
    success_task = _state("Success", "Task run succeeded.")
    mapped_task = _state("Mapped", "Ready to proceed with mapping.", n_map_states=MAP_WIDTH)
    log_span_ms = max(1, task_runs * logs) + 10_000
    clock = _Clock()

    def moment(run: int, offset_ms: int) -> str:
        return clock.at(run * log_span_ms + offset_ms)

    for run, run_id in enumerate(run_ids):
        control.check()
        # Rows of one run at a time: memory stays bounded however many runs are asked for.
        flow_run_rows: list[tuple[Any, ...]] = []
        flow_state_rows: list[tuple[Any, ...]] = []
        task_run_rows: list[tuple[Any, ...]] = []
        task_state_rows: list[tuple[Any, ...]] = []
        start, end = moment(run, 0), moment(run, task_runs * logs + 5_000)
        flow_run_rows.append(
            tables.row(
                "flow_run",
                {
                    "id": run_id,
                    "flow_id": flow_id,
                    "name": f"synthetic-run-{run:06d}",
                    "parameters": "{}",
                    "context": "{}",
                    "labels": '["synthetic"]',
                    "scheduled_start_time": start,
                    "auto_scheduled": 0,
                    "version": 3,
                    "state": "Success",
                    "serialized_state": success_flow,
                    "state_message": "All reference tasks succeeded.",
                    "state_timestamp": end,
                    "start_time": start,
                    "end_time": end,
                    "times_resurrected": 0,
                    "created": start,
                    "updated": end,
                },
            )
        )
        for version, (kind, document, at) in enumerate(
            (
                ("Scheduled", scheduled_state, start),
                ("Running", running_state, start),
                ("Success", success_flow, end),
            ),
            start=1,
        ):
            flow_state_rows.append(
                tables.row(
                    "flow_run_state",
                    {
                        "id": _uuid(rng),
                        "flow_run_id": run_id,
                        "timestamp": at,
                        "state": kind,
                        "message": None,
                        "serialized_state": document,
                        "version": version,
                        "created": at,
                        "updated": at,
                    },
                )
            )
        for task_run_id, index, map_index in plan[run]:
            final_kind = "Mapped" if mapped[index] and map_index == -1 else "Success"
            final = mapped_task if final_kind == "Mapped" else success_task
            begin, finish = moment(run, index * logs), moment(run, (index + 1) * logs)
            task_run_rows.append(
                tables.row(
                    "task_run",
                    {
                        "id": task_run_id,
                        "flow_run_id": run_id,
                        "task_id": task_ids[index],
                        "map_index": map_index,
                        "version": 2,
                        "state": final_kind,
                        "serialized_state": final,
                        "state_timestamp": finish,
                        "start_time": begin,
                        "end_time": None if final_kind == "Mapped" else finish,
                        "name": f"task_{index}[{map_index}]" if map_index >= 0 else None,
                        "created": start,
                        "updated": finish,
                    },
                )
            )
            for version, (kind, document, at) in enumerate(
                (("Running", running_task, begin), (final_kind, final, finish)), start=1
            ):
                task_state_rows.append(
                    tables.row(
                        "task_run_state",
                        {
                            "id": _uuid(rng),
                            "task_run_id": task_run_id,
                            "timestamp": at,
                            "state": kind,
                            "serialized_state": document,
                            "version": version,
                            "created": at,
                            "updated": at,
                        },
                    )
                )
        tables.insert(connection, "flow_run", flow_run_rows)
        tables.insert(connection, "flow_run_state", flow_state_rows)
        tables.insert(connection, "task_run", task_run_rows)
        tables.insert(connection, "task_run_state", task_state_rows)
    # Rebuilding the log indexes once after the load is faster than updating them per row.
    drop_indexes(connection, "log")
    rows = _log_rows(tables, rng, run_ids, plan, logs, moment)
    total = len(run_ids) * task_runs * logs
    written = 0
    control.report(written, total)
    while batch := list(itertools.islice(rows, LOG_BATCH)):
        control.check()
        tables.insert(connection, "log", batch)
        written += len(batch)
        control.report(written, total)
    create_indexes(connection, "log")
    return run_ids


def _log_rows(
    tables: _Tables,
    rng: random.Random,
    run_ids: Sequence[str],
    plan: Sequence[Sequence[tuple[str, int, int]]],
    logs: int,
    moment: Any,
) -> Iterator[tuple[Any, ...]]:
    # A generator, consumed by executemany: a million rows never sit in memory at once.
    ids = _sequential_ids(rng)
    columns = tables.columns["log"]
    positions = {name: columns.index(name) for name in columns}
    template: list[Any] = [None] * len(columns)
    template[positions["name"]] = "prefect.CloudTaskRunner"
    template[positions["is_loaded_from_archive"]] = 0
    for run, run_id in enumerate(run_ids):
        for task_run_id, index, map_index in plan[run]:
            if map_index != -1:
                continue
            row = list(template)
            row[positions["flow_run_id"]] = run_id
            row[positions["task_run_id"]] = task_run_id
            for line in range(logs):
                at = moment(run, index * logs + line)
                row[positions["id"]] = next(ids)
                row[positions["timestamp"]] = row[positions["created"]] = at
                row[positions["updated"]] = at
                row[positions["level"]] = _LEVELS[line % len(_LEVELS)]
                row[positions["message"]] = f"Task 'task_{index}': synthetic log line {line}"
                yield tuple(row)


class _Stopped(Exception):
    """Raised inside the database thread to roll the generation back once it was cancelled."""


class _Control:
    """Between the event loop and the database thread: progress out, a stop request in."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> None:
        if self._stop.is_set():
            raise _Stopped

    def report(self, written: int, total: int) -> None:
        if self._progress is not None:
            self._progress(written, total)

    def run(self, connection: sqlite3.Connection, job: Callable[[], list[str]]) -> list[str]:
        # SQLite calls the handler every N virtual-machine steps; a non-zero answer aborts the
        # statement in progress, so even one long statement (an index build over millions of
        # rows) ends soon after a stop request.
        connection.set_progress_handler(lambda: int(self._stop.is_set()), _STOP_CHECK_STEPS)
        try:
            return job()
        except sqlite3.OperationalError:
            if self._stop.is_set():
                raise _Stopped from None
            raise
        finally:
            connection.set_progress_handler(None, 0)


async def seed_synthetic(
    database: Database,
    *,
    flow_runs: int,
    task_runs: int,
    logs: int,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[str]:
    """Insert the synthetic data set into ``database``; returns the flow run ids in order.

    ``progress(written, total)`` is called with the log lines written so far, from the database
    thread (hand it over with ``loop.call_soon_threadsafe`` to touch the event loop). Cancelling
    the call stops the generation within one batch and rolls everything back before the
    cancellation goes on.
    """
    for label, value in (("flow_runs", flow_runs), ("task_runs", task_runs), ("logs", logs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidArgumentError(f"seed_synthetic: {label} must be a whole number >= 0")
    control = _Control(progress)
    job = asyncio.ensure_future(database.transaction(
        lambda connection: control.run(
            connection, lambda: _generate(connection, flow_runs, task_runs, logs, seed, control))
    ))
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        control.stop()
        # Wait for the rollback: the database is consistent (nothing generated) once we return.
        with contextlib.suppress(_Stopped):
            await job
        raise


def parse_synthetic_spec(spec: str) -> tuple[int, int, int]:
    """``"100x10x1000"`` -> (flow runs, task runs, log lines), for the CLI's ``--synthetic``."""
    parts = spec.lower().split("x")
    if len(parts) != 3 or not all(part.strip().isdigit() for part in parts):
        raise InvalidArgumentError(f"--synthetic {spec!r}: write RUNSxTASKSxLOGS, e.g. 100x10x1000")
    runs, tasks, lines = (int(part) for part in parts)
    return runs, tasks, lines

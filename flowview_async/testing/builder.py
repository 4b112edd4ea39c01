"""Build a test backend's data in Python: projects, flows, flow runs, task runs, states, logs.

::

    data = BackendData()
    flow = data.flow("etl", tasks=["extract", "load"])
    run = data.flow_run(flow, name="nightly", states=["Scheduled", "Running", "Failed"])
    data.task_run(run, "extract", states=["Running", "Success"])
    data.task_run(run, "load", states=["Running", "Failed"], message="disk full")
    data.log(run, "load failed", level="ERROR")

    async with LocalBackend(data.to_fixture()) as backend: ...
    # or, in a test: @pytest.mark.flowview_backend(data=data)

Everything left out gets what Prefect Server would give it (ids, the ``default`` project and
tenant, one task per flow). Times come from a clock that starts at ``start`` and ticks one second
per state or log line, so runs read the same on every machine; pass ``at=`` to place one yourself.
The result is an ordinary fixture document (table name -> rows), checked like any fixture when
the backend loads it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from flowview_async.errors import InvalidArgumentError

__all__ = ["BackendData", "FlowHandle", "FlowRunHandle", "ProjectHandle", "TaskRunHandle"]

_FINISHED = frozenset({"Success", "Failed", "Cancelled", "TimedOut", "TriggerFailed", "Skipped"})


@attrs.frozen
class ProjectHandle:
    id: str
    name: str


@attrs.frozen
class FlowHandle:
    id: str
    name: str
    tasks: Mapping[str, str]  # task name -> task id


@attrs.frozen
class FlowRunHandle:
    id: str
    name: str
    flow: FlowHandle


@attrs.frozen
class TaskRunHandle:
    id: str
    task: str
    flow_run: FlowRunHandle


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _moment(value: dt.datetime | str) -> dt.datetime:
    """An aware UTC datetime: stored timestamps then compare correctly as text too."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgumentError(f"{value!r} is not an ISO 8601 time.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


class BackendData:
    """A fixture document built by calls; :meth:`to_fixture` hands it to the backend."""

    def __init__(self, *, start: dt.datetime | str = "2024-01-01T00:00:00+00:00",
                 tenant: str = "default") -> None:
        self._clock = _moment(start)
        self._rows: dict[str, list[dict[str, Any]]] = {}
        self._tenant_id = str(uuid.uuid4())
        self._add("tenant", {"id": self._tenant_id, "name": tenant, "slug": tenant})
        self._default_project: ProjectHandle | None = None

    def __repr__(self) -> str:
        counts = ", ".join(f"{table}={len(rows)}" for table, rows in self._rows.items())
        return f"BackendData({counts})"

    # --- time -------------------------------------------------------------------------------------

    def _tick(self, at: dt.datetime | str | None) -> str:
        if at is not None:
            return _iso(_moment(at))
        self._clock += dt.timedelta(seconds=1)
        return _iso(self._clock)

    def _add(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        self._rows.setdefault(table, []).append(row)
        return row

    # --- objects ----------------------------------------------------------------------------------

    def project(self, name: str = "default", *, description: str | None = None) -> ProjectHandle:
        project = ProjectHandle(str(uuid.uuid4()), name)
        self._add("project", {"id": project.id, "tenant_id": self._tenant_id, "name": name,
                              "description": description})
        return project

    def flow(
        self,
        name: str,
        *,
        project: ProjectHandle | None = None,
        tasks: Iterable[str] = ("task",),
        version: int = 1,
        labels: Sequence[str] = (),
        id: str | None = None,
    ) -> FlowHandle:
        """A registered flow (its flow group too) with one task per name in ``tasks``."""
        if project is None:
            if self._default_project is None:
                self._default_project = self.project()
            project = self._default_project
        group_id = str(uuid.uuid4())
        self._add("flow_group", {"id": group_id, "tenant_id": self._tenant_id, "name": name,
                                 "labels": list(labels)})
        flow_id = id or str(uuid.uuid4())
        task_ids = {}
        for task in tasks:
            if task in task_ids:
                raise InvalidArgumentError(f"flow {name!r} names task {task!r} twice.")
            task_ids[task] = str(uuid.uuid4())
        self._add("flow", {"id": flow_id, "tenant_id": self._tenant_id, "name": name,
                           "version": version, "project_id": project.id, "flow_group_id": group_id,
                           "version_group_id": group_id, "core_version": "1.4.1"})
        for task, task_id in task_ids.items():
            self._add("task", {"id": task_id, "tenant_id": self._tenant_id, "flow_id": flow_id,
                               "name": task, "slug": f"{task}-1"})
        return FlowHandle(flow_id, name, task_ids)

    def flow_run(
        self,
        flow: FlowHandle,
        *,
        name: str | None = None,
        state: str | None = None,
        states: Sequence[str] | None = None,
        message: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        labels: Sequence[str] = (),
        at: dt.datetime | str | None = None,
        id: str | None = None,
    ) -> FlowRunHandle:
        """A flow run going through ``states`` (or just ``state``), oldest first.

        ``message`` is the last state's message. Default: Scheduled, Running, Success. Give
        ``id`` to know the run's id in advance (tests that look it up by id).
        """
        history = self._history(state, states)
        run_id = id or str(uuid.uuid4())
        name = name or f"run-{run_id[:8]}"
        created = self._tick(at)
        self._add("flow_run", {"id": run_id, "tenant_id": self._tenant_id, "flow_id": flow.id,
                               "name": name, "labels": list(labels),
                               "parameters": dict(parameters or {}), "context": {},
                               "scheduled_start_time": created, "created": created,
                               "updated": created})
        self._states("flow_run_state", "flow_run_id", run_id, history, message)
        return FlowRunHandle(run_id, name, flow)

    def task_run(
        self,
        flow_run: FlowRunHandle,
        task: str,
        *,
        state: str | None = None,
        states: Sequence[str] | None = None,
        message: str | None = None,
        map_index: int = -1,
        at: dt.datetime | str | None = None,
        id: str | None = None,
    ) -> TaskRunHandle:
        """A run of ``task`` (a task name of the run's flow) within ``flow_run``."""
        task_id = flow_run.flow.tasks.get(task)
        if task_id is None:
            known = ", ".join(repr(name) for name in flow_run.flow.tasks)
            msg = f"flow {flow_run.flow.name!r} has no task {task!r}; its tasks: {known}."
            raise InvalidArgumentError(msg)
        history = self._history(state, states)
        run_id = id or str(uuid.uuid4())
        created = self._tick(at)
        self._add("task_run", {"id": run_id, "tenant_id": self._tenant_id,
                               "flow_run_id": flow_run.id, "task_id": task_id,
                               "map_index": map_index, "created": created, "updated": created})
        self._states("task_run_state", "task_run_id", run_id, history, message)
        return TaskRunHandle(run_id, task, flow_run)

    def log(
        self,
        run: FlowRunHandle | TaskRunHandle,
        message: str,
        *,
        level: str = "INFO",
        name: str = "prefect.FlowRunner",
        at: dt.datetime | str | None = None,
    ) -> None:
        """A log line of a flow run, or of a task run (then also of its flow run)."""
        flow_run_id = run.flow_run.id if isinstance(run, TaskRunHandle) else run.id
        task_run_id = run.id if isinstance(run, TaskRunHandle) else None
        stamp = self._tick(at)
        self._add("log", {"tenant_id": self._tenant_id, "flow_run_id": flow_run_id,
                          "task_run_id": task_run_id, "timestamp": stamp,
                          "level": level.upper(), "name": name, "message": message,
                          "created": stamp, "updated": stamp})

    def to_fixture(self) -> dict[str, list[dict[str, Any]]]:
        """The fixture document (a copy): table name -> rows.

        Each run's ``updated`` is its last event (state, task run, log line), as on a server
        where every one of them touches the run: views read logs up to that time.
        """
        document = {table: [dict(row) for row in rows] for table, rows in self._rows.items()}
        last: dict[str, str] = {}

        def touch(run_id: Any, stamp: Any) -> None:
            if run_id is not None and stamp is not None:
                last[run_id] = max(last.get(run_id, stamp), stamp)

        for state in document.get("flow_run_state", []):
            touch(state["flow_run_id"], state["timestamp"])
        for state in document.get("task_run_state", []):
            touch(state["task_run_id"], state["timestamp"])
        for task_run in document.get("task_run", []):
            touch(task_run["flow_run_id"], last.get(task_run["id"], task_run["created"]))
        for line in document.get("log", []):
            touch(line["flow_run_id"], line["timestamp"])
            touch(line["task_run_id"], line["timestamp"])
        for table in ("flow_run", "task_run"):
            for row in document.get(table, []):
                row["updated"] = last.get(row["id"], row["updated"])
        return document

    # --- states -----------------------------------------------------------------------------------

    @staticmethod
    def _history(state: str | None, states: Sequence[str] | None) -> list[str]:
        if state is not None and states is not None:
            raise InvalidArgumentError("Pass state= (the final state) or states= (the history), not both.")
        if states is not None:
            if isinstance(states, str) or not states:
                raise InvalidArgumentError(f"states= is a non-empty list of state names, got {states!r}.")
            return list(states)
        if state is None or state == "Success":
            return ["Scheduled", "Running", "Success"]
        if state in _FINISHED:
            return ["Scheduled", "Running", state]
        return ["Scheduled", state] if state != "Scheduled" else ["Scheduled"]

    def _states(self, table: str, key: str, run_id: str, history: list[str],
                message: str | None) -> None:
        started: str | None = None
        for position, kind in enumerate(history):
            stamp = self._tick(None)
            if kind == "Running" and started is None:
                started = stamp
            last = position == len(history) - 1
            self._add(table, {key: run_id, "tenant_id": self._tenant_id, "state": kind,
                              "message": message if last and message is not None else f"{kind}.",
                              "timestamp": stamp, "start_time": stamp, "created": stamp,
                              "updated": stamp})

"""Flow runs: the view at the heart of the SDK, and the concurrent full inspection.

::

    flow_run = await FlowRunView.from_flow_run_id("4c0101af-c6bb-4b96-8661-63a5bbfb5596")
    flow_run.state                      # <Success: "All reference tasks succeeded.">
    await flow_run.get_logs()           # [FlowRunLog(...), ...]
    await flow_run.get_flow_metadata()  # FlowView(...), loaded once then cached
    await flow_run.get_task_run(task_slug="say_hello-1")
    await flow_run.task_run_ids         # awaited, like Prefect's property
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from flowview_async import _queries
from flowview_async._concurrency import gather
from flowview_async._ids import check_id, check_name
from flowview_async._paging import DEFAULT_PAGE_SIZE, check_page_size, keyset_pages
from flowview_async._rows import FrozenDict, FrozenList, Row, format_timestamp, freeze, root_rows, thaw
from flowview_async.client import open_client
from flowview_async.errors import (
    AmbiguousMatchError,
    FlowNotFoundError,
    FlowRunNotFoundError,
    InvalidArgumentError,
    TaskRunNotFoundError,
)
from flowview_async.flow import FlowView
from flowview_async.logs import FlowRunLog, log_pages
from flowview_async.states import (
    NULL_FLOW_RUN_STATE,
    State,
    parse_state,
    parse_state_history,
)
from flowview_async.task_run import TaskRunView

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = ["FlowRunInspection", "FlowRunView", "inspect_flow_run"]

# Ids per bulk query: keeps each request body and SQL `IN` list a sensible size.
BULK_CHUNK = 500


class _Caches:
    """What a view remembers between calls. The view's fields never change; these only save
    requests, and only hold what cannot change any more (finished task runs) or was asked for."""

    __slots__ = ("by_slug", "flow", "task_run_ids", "task_runs")

    def __init__(self, task_runs: Iterable[TaskRunView] = ()) -> None:
        self.task_runs: dict[str, TaskRunView] = {}
        self.by_slug: dict[tuple[str, int], str] = {}
        self.task_run_ids: list[str] | None = None
        self.flow: FlowView | None = None
        for task_run in task_runs:
            self.keep_if_finished(task_run)

    def keep_if_finished(self, task_run: TaskRunView) -> None:
        if task_run.state.is_finished():
            self.task_runs[task_run.task_run_id] = task_run
            self.by_slug[(task_run.task_slug, task_run.map_index)] = task_run.task_run_id


def flow_run_state(data: Any) -> State:
    """A flow run's state; a run with no state yet is ``Pending`` (Prefect 1's placeholder)."""
    return parse_state(None if data in ("", {}) else data, if_null=NULL_FLOW_RUN_STATE)


@attrs.frozen(kw_only=True, repr=False)
class FlowRunView:
    """An immutable snapshot of a flow run, as the backend had it when the view was made.

    ``await view.get_latest()`` returns a new snapshot (and keeps the finished task runs already
    loaded). The methods that load more (logs, task runs, flow metadata) use the client the view
    was made with, or a temporary client built from the Prefect settings.

    Attributes:
        flow_run_id: the flow run's id.
        name: its name (``woodoo-leopard``).
        flow_id: the flow it runs.
        state: the current state, a :class:`~flowview_async.states.State`.
        states: the state history, oldest first, each with its ``timestamp``.
        labels: the run's labels.
        parameters: the parameters it was given.
        context: the context it was given.
        run_config: the serialized run config, or None.
        updated_at: when the backend last changed the run; ``get_logs()`` stops there.
    """

    flow_run_id: str
    name: str | None
    flow_id: str
    state: State
    states: tuple[State, ...] = ()
    labels: FrozenList = attrs.field(factory=FrozenList)
    parameters: FrozenDict = attrs.field(factory=FrozenDict)
    context: FrozenDict = attrs.field(factory=FrozenDict)
    run_config: FrozenDict | None = None
    updated_at: datetime | None = None
    _client: Client | None = attrs.field(default=None, eq=False, alias="client")
    _caches: _Caches = attrs.field(factory=_Caches, eq=False, alias="caches")

    @classmethod
    def from_row(cls, row: Row, *, client: Client | None = None,
                 task_runs: Iterable[TaskRunView] = ()) -> FlowRunView:
        history = [
            {"timestamp": r.raw.get("timestamp"), "serialized_state": r.raw.get("serialized_state")}
            for r in row.rows("states", "flow run state")
        ]
        run_config = row.json("run_config")
        return cls(
            flow_run_id=row.string("id"),
            name=row.opt_string("name"),
            flow_id=row.string("flow_id"),
            state=flow_run_state(row.json("serialized_state")),
            states=tuple(parse_state_history(history)),
            labels=row.string_list("labels"),
            parameters=freeze(row.mapping("parameters")),
            context=freeze(row.mapping("context")),
            run_config=freeze(run_config) if isinstance(run_config, Mapping) else None,
            updated_at=row.opt_timestamp("updated"),
            client=client,
            caches=_Caches(task_runs),
        )

    def __repr__(self) -> str:
        return (
            f"FlowRunView(flow_run_id={self.flow_run_id!r}, name={self.name!r}, "
            f"state={self.state!r}, labels={list(self.labels)!r}, "
            f"cached_task_runs={len(self._caches.task_runs)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields (states in their serialized form)."""
        return {
            "flow_run_id": self.flow_run_id,
            "name": self.name,
            "flow_id": self.flow_id,
            "state": self.state.serialize(),
            "state_type": type(self.state).__name__,
            "state_message": self.state.message,
            "states": [
                {
                    "type": type(s).__name__,
                    "message": s.message,
                    "timestamp": s.timestamp.isoformat() if s.timestamp else None,
                }
                for s in self.states
            ],
            "labels": list(self.labels),
            "parameters": thaw(self.parameters),
            "context": thaw(self.context),
            "run_config": thaw(self.run_config),
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }

    # --- constructors ----------------------------------------------------------------------------

    @classmethod
    async def _query(cls, client: Client | None, where: Mapping[str, Any],
                     limit: int | None) -> list[FlowRunView]:
        async with open_client(client) as active:
            data = await active.execute(_queries.FLOW_RUNS_WHERE,
                                        {"where": dict(where), "limit": limit})
        return [cls.from_row(row, client=client)
                for row in root_rows(data, "flow_run", "flow run")]

    @classmethod
    async def from_flow_run_id(
        cls,
        flow_run_id: str,
        *,
        load_static_tasks: bool = False,
        client: Client | None = None,
    ) -> FlowRunView:
        """The flow run with this id.

        Args:
            load_static_tasks: also load the unmapped task runs (concurrently) and keep the
                finished ones, so that later ``get_task_run`` calls need no request.

        Raises:
            InvalidArgumentError: ``flow_run_id`` is not a UUID string.
            FlowRunNotFoundError: no flow run has this id.
        """
        flow_run_id = check_id(flow_run_id, "flow_run_id")
        async with open_client(client) as active:
            if not load_static_tasks:
                runs = await cls._query(active, {"id": {"_eq": flow_run_id}}, 1)
                view = _exactly_one(runs, f"with id {flow_run_id!r}")
            else:
                where = {"flow_run_id": {"_eq": flow_run_id}, "map_index": {"_eq": -1}}
                runs, static = await gather(
                    cls._query(active, {"id": {"_eq": flow_run_id}}, 1),
                    _all_task_runs(active, where, DEFAULT_PAGE_SIZE, client),
                )
                view = _exactly_one(runs, f"with id {flow_run_id!r}")
                for task_run in static:
                    view._caches.keep_if_finished(task_run)
        return attrs.evolve(view, client=client)

    @classmethod
    async def from_flow_run_name(cls, name: str, *, client: Client | None = None) -> FlowRunView:
        """The flow run with this name (names are not unique: several matches raise).

        Raises:
            FlowRunNotFoundError: no flow run has this name.
            AmbiguousMatchError: several do; use the id instead.
        """
        check_name(name, "name")
        runs = await cls._query(client, {"name": {"_eq": name}}, 2)
        if len(runs) > 1:
            msg = f"Several flow runs are named {name!r}; look the run up by its id instead."
            raise AmbiguousMatchError(msg)
        return _exactly_one(runs, f"named {name!r}")

    @classmethod
    async def from_flow_run_ids(
        cls, flow_run_ids: Sequence[str], *, client: Client | None = None
    ) -> list[FlowRunView]:
        """Many flow runs in bulk: one query per 500 ids (sent concurrently), not one per run.

        Returns the views in the order of ``flow_run_ids`` (duplicates answered once each).

        Raises:
            FlowRunNotFoundError: some ids match no flow run (the message lists them).
        """
        if isinstance(flow_run_ids, str):
            msg = "flow_run_ids must be a list of ids, not one string; use from_flow_run_id()."
            raise InvalidArgumentError(msg)
        ids = [check_id(i, "flow_run_id") for i in flow_run_ids]
        unique = list(dict.fromkeys(ids))
        chunks = [unique[i:i + BULK_CHUNK] for i in range(0, len(unique), BULK_CHUNK)]
        async with open_client(client) as active:
            results = await gather(
                *(cls._query(active, {"id": {"_in": chunk}}, None) for chunk in chunks)
            )
        found = {view.flow_run_id: attrs.evolve(view, client=client)
                 for views in results for view in views}
        missing = [i for i in unique if i not in found]
        if missing:
            shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            msg = f"{len(missing)} of the flow run ids match no flow run: {shown}."
            raise FlowRunNotFoundError(msg)
        return [found[i] for i in ids]

    async def get_latest(self, *, load_static_tasks: bool = False) -> FlowRunView:
        """A new view of this flow run as it is now. The finished task runs this view already
        loaded are kept (they cannot change); flow metadata and the task run id list are not."""
        latest = await FlowRunView.from_flow_run_id(
            self.flow_run_id, load_static_tasks=load_static_tasks, client=self._client
        )
        for task_run in self._caches.task_runs.values():
            latest._caches.keep_if_finished(task_run)
        return latest

    # --- logs ------------------------------------------------------------------------------------

    def _log_filter(self, start_time: datetime | None, end_time: datetime | None) -> dict[str, Any]:
        for name, value in (("start_time", start_time), ("end_time", end_time)):
            if value is not None and not isinstance(value, datetime):
                msg = f"{name} must be a datetime, got {type(value).__name__}: {value!r}."
                raise InvalidArgumentError(msg)
        end = end_time or self.updated_at
        timestamp: dict[str, str] = {}
        if end is not None:
            timestamp["_lte"] = format_timestamp(end)
        if start_time is not None:
            timestamp["_gt"] = format_timestamp(start_time)
        where: dict[str, Any] = {"flow_run_id": {"_eq": self.flow_run_id}}
        if timestamp:
            where["timestamp"] = timestamp
        return where

    async def iter_logs(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[FlowRunLog]:
        """Stream the log lines page by page, in constant memory, oldest first.

        Same window as :meth:`get_logs`: after ``start_time`` (exclusive), up to ``end_time``
        (inclusive), which defaults to this snapshot's ``updated_at``.
        """
        where = self._log_filter(start_time, end_time)
        check_page_size(page_size)
        async with open_client(self._client) as active:
            async for page in log_pages(active, where, page_size=page_size):
                for log in page:
                    yield log

    async def get_logs(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> list[FlowRunLog]:
        """The log lines of the flow run and its task runs, oldest first.

        Args:
            start_time: only lines strictly after this time.
            end_time: only lines up to this time (inclusive); defaults to ``updated_at``, so a
                snapshot's logs do not grow under it. A window that ends before it starts is
                empty (``[]``), not an error, so "the last 10 minutes" of an old run is simply empty.
            page_size: lines per request; every line is fetched, however many there are.
        """
        return [log async for log in self.iter_logs(start_time, end_time, page_size=page_size)]

    # --- flow metadata ---------------------------------------------------------------------------

    async def get_flow_metadata(self, no_cache: bool = False) -> FlowView:
        """The flow this run belongs to: loaded on first use, then cached in this view.

        Args:
            no_cache: load it again (and cache the new one).
        """
        if self._caches.flow is None or no_cache:
            self._caches.flow = await FlowView.from_flow_id(self.flow_id, client=self._client)
        return self._caches.flow

    # --- task runs -------------------------------------------------------------------------------

    async def get_task_run(
        self,
        task_slug: str | None = None,
        task_run_id: str | None = None,
        map_index: int | None = None,
    ) -> TaskRunView:
        """One task run of this flow run, by slug (and map index) or by id.

        Finished task runs are cached: asking again costs no request. Unlike Prefect 1, a task run
        id from another flow run is refused rather than silently returned.

        Raises:
            InvalidArgumentError: neither slug nor id given, or the two disagree.
            TaskRunNotFoundError: no such task run in this flow run.
        """
        if task_run_id is not None:
            task_run_id = check_id(task_run_id, "task_run_id")
            cached = self._caches.task_runs.get(task_run_id)
            result = cached or await TaskRunView.from_task_run_id(task_run_id, client=self._client)
            if result.flow_run_id != self.flow_run_id:
                msg = (f"Task run {task_run_id!r} belongs to flow run {result.flow_run_id!r}, "
                       f"not to {self.flow_run_id!r}.")
                raise TaskRunNotFoundError(msg)
            if task_slug is not None and result.task_slug != task_slug:
                msg = (f"task_slug={task_slug!r} and task_run_id={task_run_id!r} disagree: that "
                       f"task run's slug is {result.task_slug!r}. Pass only one of them.")
                raise InvalidArgumentError(msg)
            if map_index is not None and result.map_index != map_index:
                msg = (f"map_index={map_index!r} and task_run_id={task_run_id!r} disagree: that "
                       f"task run's map_index is {result.map_index!r}. Pass only one of them.")
                raise InvalidArgumentError(msg)
        elif task_slug is not None:
            index = -1 if map_index is None else map_index
            cached_id = self._caches.by_slug.get((task_slug, index))
            if cached_id is not None:
                return self._caches.task_runs[cached_id]
            result = await TaskRunView.from_task_slug(task_slug, self.flow_run_id, index,
                                                      client=self._client)
        else:
            msg = "Pass task_slug=… (with map_index=… for a mapped child) or task_run_id=…."
            raise InvalidArgumentError(msg)
        self._caches.keep_if_finished(result)
        return result

    @property
    def task_run_ids(self) -> Awaitable[list[str]]:
        """``await flow_run.task_run_ids``: the ids of every task run (see :meth:`get_task_run_ids`)."""
        return self.get_task_run_ids()

    async def get_task_run_ids(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> list[str]:
        """The ids of every task run of this flow run (mapped children included), oldest first.

        Cached once the flow run is finished (an empty list too: Prefect 1 re-queried it).
        """
        if self._caches.task_run_ids is not None:
            return list(self._caches.task_run_ids)
        where = {"flow_run_id": {"_eq": self.flow_run_id}}
        ids: list[str] = []
        async with open_client(self._client) as active:
            async for rows in keyset_pages(active, _queries.TASK_RUN_IDS_PAGE, root="task_run",
                                           where=where, keys=("created", "id"),
                                           page_size=page_size, what="task run"):
                ids.extend(row.string("id") for row in rows)
        if self.state.is_finished():
            self._caches.task_run_ids = list(ids)
        return ids

    async def get_all_task_runs(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> list[TaskRunView]:
        """Every task run of this flow run, mapped children included, oldest first.

        No cap (Prefect 1 refused more than 1,000): they are fetched in pages. Finished ones are
        cached; when every task run is already cached, no request is made at all.
        """
        cached_ids = self._caches.task_run_ids
        if cached_ids is not None and all(i in self._caches.task_runs for i in cached_ids):
            return [self._caches.task_runs[i] for i in cached_ids]
        where = {"flow_run_id": {"_eq": self.flow_run_id}}
        async with open_client(self._client) as active:
            task_runs = await _all_task_runs(active, where, page_size, self._client)
        result = []
        for task_run in task_runs:
            # Prefer an already-cached finished view: it may carry a loaded result.
            kept = self._caches.task_runs.get(task_run.task_run_id, task_run)
            self._caches.keep_if_finished(kept)
            result.append(kept)
        if self.state.is_finished():
            self._caches.task_run_ids = [t.task_run_id for t in result]
        return result

    # --- everything at once ----------------------------------------------------------------------

    async def inspect(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> FlowRunInspection:
        """Flow metadata, every task run and every log line of this snapshot, fetched
        concurrently."""
        flow, task_runs, logs = await gather(
            self.get_flow_metadata(),
            self.get_all_task_runs(page_size=page_size),
            self.get_logs(page_size=page_size),
        )
        return FlowRunInspection(flow_run=self, flow=flow, task_runs=tuple(task_runs),
                                 logs=tuple(logs))


async def _all_task_runs(active: Client, where: Mapping[str, Any], page_size: int,
                         view_client: Client | None) -> list[TaskRunView]:
    task_runs: list[TaskRunView] = []
    async for rows in keyset_pages(active, _queries.TASK_RUNS_PAGE, root="task_run", where=where,
                                   keys=("created", "id"), page_size=page_size, what="task run"):
        task_runs.extend(TaskRunView.from_row(row, client=view_client) for row in rows)
    return task_runs


def _exactly_one(runs: list[FlowRunView], describe: str) -> FlowRunView:
    if not runs:
        msg = f"No flow run {describe}. Check the id (or name) and the backend you point at."
        raise FlowRunNotFoundError(msg)
    return runs[0]


@attrs.frozen(kw_only=True)
class FlowRunInspection:
    """Everything about one flow run, loaded together: see :func:`inspect_flow_run`."""

    flow_run: FlowRunView
    flow: FlowView
    task_runs: tuple[TaskRunView, ...]
    logs: tuple[FlowRunLog, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with keys ``flow_run``, ``flow``, ``task_runs``, ``logs``."""
        return {
            "flow_run": self.flow_run.to_dict(),
            "flow": self.flow.to_dict(),
            "task_runs": [t.to_dict() for t in self.task_runs],
            "logs": [log.to_dict() for log in self.logs],
        }


async def inspect_flow_run(
    flow_run_id: str,
    *,
    client: Client | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> FlowRunInspection:
    """Load a flow run, its flow, every task run and every log line, all at once.

    Each needs only the flow run id, so the four requests go out together: with fewer than
    ``page_size`` task runs and log lines, the whole inspection costs one round trip of wall time.
    Logs are not cut at the run's ``updated`` time here (it is not known until the answers are
    in); use ``FlowRunView.get_logs()`` for snapshot-bounded logs.

    Raises:
        FlowRunNotFoundError: no flow run has this id.
    """
    flow_run_id = check_id(flow_run_id, "flow_run_id")
    check_page_size(page_size)
    async with open_client(client) as active:
        runs, flow, task_runs, logs = await gather(
            FlowRunView._query(active, {"id": {"_eq": flow_run_id}}, 1),
            _flow_of_flow_run(active, flow_run_id),
            _all_task_runs(active, {"flow_run_id": {"_eq": flow_run_id}}, page_size, client),
            _all_logs(active, flow_run_id, page_size),
        )
    view = attrs.evolve(_exactly_one(runs, f"with id {flow_run_id!r}"), client=client)
    if flow is None:
        msg = f"The flow of flow run {flow_run_id!r} is missing from the backend."
        raise FlowNotFoundError(msg)
    view._caches.flow = flow
    for task_run in task_runs:
        view._caches.keep_if_finished(task_run)
    if view.state.is_finished():
        view._caches.task_run_ids = [t.task_run_id for t in task_runs]
    return FlowRunInspection(flow_run=view, flow=flow, task_runs=tuple(task_runs),
                             logs=tuple(logs))


async def _flow_of_flow_run(active: Client, flow_run_id: str) -> FlowView | None:
    data = await active.execute(_queries.FLOW_OF_FLOW_RUN, {"flow_run_id": flow_run_id})
    rows = root_rows(data, "flow_run", "flow run")
    if not rows:
        return None  # the flow run query, sent alongside, reports the missing run
    flow = rows[0].opt_row("flow", "flow")
    return FlowView.from_row(flow) if flow is not None else None


async def _all_logs(active: Client, flow_run_id: str, page_size: int) -> list[FlowRunLog]:
    where = {"flow_run_id": {"_eq": flow_run_id}}
    return [log async for page in log_pages(active, where, page_size=page_size) for log in page]

"""Task runs: one run of one task (or of one mapped child) inside a flow run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from flowview_async import _queries
from flowview_async._ids import check_id, check_map_index, check_name
from flowview_async._paging import DEFAULT_PAGE_SIZE, keyset_pages
from flowview_async._rows import Row, root_rows
from flowview_async.client import open_client
from flowview_async.errors import (
    AmbiguousMatchError,
    InvalidArgumentError,
    ResultError,
    TaskRunNotFoundError,
)
from flowview_async.results import load_result
from flowview_async.states import NULL_TASK_RUN_STATE, State, parse_state

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = ["NOT_LOADED", "TaskRunView", "task_run_state"]


class _NotLoaded:
    """Marks a result that was not loaded yet (``None`` is a valid task result)."""

    def __repr__(self) -> str:
        return "<not loaded>"


NOT_LOADED: Any = _NotLoaded()


class _ResultSlot:
    """The one mutable corner of a task run view: its result, loaded on demand then kept."""

    __slots__ = ("value",)

    def __init__(self, value: Any = NOT_LOADED) -> None:
        self.value = value


def task_run_state(data: Any) -> State:
    """A task run's state; a task run with no state yet is ``Scheduled``, as in Prefect 1."""
    return parse_state(None if data in ("", {}) else data, if_null=NULL_TASK_RUN_STATE)


@attrs.frozen(kw_only=True, repr=False)
class TaskRunView:
    """An immutable snapshot of a task run.

    Attributes:
        task_run_id: the task run's id.
        task_id: the task it runs.
        task_slug: the task's slug, unique within the flow (``say_hello-1``).
        name: the task run's name, if it has one.
        state: its state when the view was made.
        map_index: ``-1`` for an unmapped run or a mapped parent, else the child's index.
        flow_run_id: the flow run it belongs to.
        created: when the backend created it.
    """

    task_run_id: str
    task_id: str
    task_slug: str
    name: str | None
    state: State
    map_index: int
    flow_run_id: str
    created: datetime | None = attrs.field(default=None, eq=False)
    _client: Client | None = attrs.field(default=None, eq=False, alias="client")
    _result: _ResultSlot = attrs.field(factory=_ResultSlot, eq=False, alias="result_slot")

    @classmethod
    def from_row(cls, row: Row, *, client: Client | None = None) -> TaskRunView:
        task = row.row("task", "task")
        return cls(
            task_run_id=row.string("id"),
            task_id=task.string("id"),
            task_slug=task.opt_string("slug") or "",
            name=row.opt_string("name"),
            state=task_run_state(row.json("serialized_state")),
            map_index=row.integer("map_index"),
            flow_run_id=row.string("flow_run_id"),
            created=row.opt_timestamp("created"),
            client=client,
        )

    def __repr__(self) -> str:
        return (
            f"TaskRunView(task_run_id={self.task_run_id!r}, task_id={self.task_id!r}, "
            f"task_slug={self.task_slug!r}, state={self.state!r}, result={self._result.value!r})"
        )

    @property
    def is_mapped_child(self) -> bool:
        return self.map_index != -1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields (the state as its serialized form)."""
        return {
            "task_run_id": self.task_run_id,
            "task_id": self.task_id,
            "task_slug": self.task_slug,
            "name": self.name,
            "map_index": self.map_index,
            "flow_run_id": self.flow_run_id,
            "state": self.state.serialize(),
            "state_type": type(self.state).__name__,
            "state_message": self.state.message,
            "created": self.created.isoformat() if self.created else None,
        }

    # --- constructors ----------------------------------------------------------------------------

    @classmethod
    async def _query_one(cls, client: Client | None, where: Mapping[str, Any],
                         describe: str) -> TaskRunView:
        async with open_client(client) as active:
            data = await active.execute(_queries.TASK_RUNS_PAGE, {"where": dict(where), "limit": 2})
        rows = root_rows(data, "task_run", "task run")
        if not rows:
            msg = f"No task run {describe}. Check the id or slug (and map_index for mapped runs)."
            raise TaskRunNotFoundError(msg)
        if len(rows) > 1:
            msg = f"Several task runs match {describe}; pass a map_index or a task_run_id."
            raise AmbiguousMatchError(msg)
        return cls.from_row(rows[0], client=client)

    @classmethod
    async def from_task_run_id(cls, task_run_id: str, *,
                               client: Client | None = None) -> TaskRunView:
        """The task run with this id.

        Raises:
            InvalidArgumentError: ``task_run_id`` is not a UUID string.
            TaskRunNotFoundError: no task run has this id.
        """
        task_run_id = check_id(task_run_id, "task_run_id")
        return await cls._query_one(client, {"id": {"_eq": task_run_id}},
                                    f"has id {task_run_id!r}")

    @classmethod
    async def from_task_slug(
        cls,
        task_slug: str,
        flow_run_id: str,
        map_index: int = -1,
        *,
        client: Client | None = None,
    ) -> TaskRunView:
        """The run of the task ``task_slug`` in flow run ``flow_run_id``.

        Args:
            map_index: ``-1`` (default) for an unmapped task or a mapped parent, else the index
                of the mapped child.

        Raises:
            TaskRunNotFoundError: no such task run.
        """
        check_name(task_slug, "task_slug")
        flow_run_id = check_id(flow_run_id, "flow_run_id")
        map_index = _check_map_index(map_index)
        where = {
            "flow_run_id": {"_eq": flow_run_id},
            "task": {"slug": {"_eq": task_slug}},
            "map_index": {"_eq": map_index},
        }
        describe = (f"with slug {task_slug!r} and map_index {map_index} in flow run "
                    f"{flow_run_id!r}")
        return await cls._query_one(client, where, describe)

    # --- methods ---------------------------------------------------------------------------------

    async def get_latest(self, *, client: Client | None = None) -> TaskRunView:
        """A new view of this task run as it is now; a loaded result is carried over."""
        latest = await TaskRunView.from_task_run_id(self.task_run_id,
                                                    client=client or self._client)
        return attrs.evolve(latest, result_slot=_ResultSlot(self._result.value))

    async def iter_mapped(self, *, page_size: int = DEFAULT_PAGE_SIZE,
                          client: Client | None = None) -> AsyncIterator[TaskRunView]:
        """Yield the mapped children of this (mapped parent) run, by map index, page by page.

        Prefect 1 sent one query per child; this sends one per ``page_size`` children.

        Raises:
            InvalidArgumentError: this run is not a mapped parent.
        """
        if not self.state.is_mapped():
            msg = (f"Task run {self.task_run_id!r} ({self.task_slug}) is not a mapped parent "
                   f"(its state is {type(self.state).__name__}); it has no mapped children.")
            raise InvalidArgumentError(msg)
        where = {
            "flow_run_id": {"_eq": self.flow_run_id},
            "task_id": {"_eq": self.task_id},
            "map_index": {"_neq": -1},
        }
        active_client = client or self._client
        async with open_client(active_client) as active:
            pages = keyset_pages(active, _queries.MAPPED_CHILDREN_PAGE, root="task_run",
                                 where=where, keys=("map_index", "id"), page_size=page_size,
                                 what="task run")
            async for rows in pages:
                for row in rows:
                    yield TaskRunView.from_row(row, client=active_client)

    async def get_mapped_children(self, *, client: Client | None = None) -> list[TaskRunView]:
        """All mapped children, in map index order (one query per 1,000 children)."""
        return [child async for child in self.iter_mapped(client=client)]

    async def get_result(self, *, allow_pickle: bool = False) -> Any:
        """The task's return value, for results stored in the state (``PrefectResult``) or in
        local files (``LocalResult``, JSON; pickle only with ``allow_pickle=True``: unpickling runs
        code, so only do it for files you trust). Loaded once, then kept.

        Raises:
            ResultError: the run is not finished, or its result cannot be read here.
        """
        if self._result.value is not NOT_LOADED:
            return self._result.value
        if not self.state.is_finished():
            msg = (f"Task run {self.task_run_id!r} is {type(self.state).__name__}, not finished: "
                   "its result cannot be loaded yet. Call get_latest() when it has finished.")
            raise ResultError(msg)
        if self.state.is_mapped():
            # Prefect does not store a mapped parent's result: it is the list of its children's.
            children = await self.get_mapped_children()
            unfinished = [c for c in children if not c.state.is_finished()]
            if unfinished:
                first = unfinished[0]
                msg = (f"Mapped child {self.task_slug}[{first.map_index}] is "
                       f"{type(first.state).__name__}: the mapped result is not complete yet.")
                raise ResultError(msg)
            value: Any = [await c.get_result(allow_pickle=allow_pickle) for c in children]
        else:
            value = await load_result(self.state.result_info, allow_pickle=allow_pickle)
        self._result.value = value
        return value


def _check_map_index(map_index: Any) -> int:
    return check_map_index(map_index)


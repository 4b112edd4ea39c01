"""What a watch yields: one event class per kind of news, each carrying its run and its cursor."""

from __future__ import annotations

from datetime import datetime

import attrs

from flowview_async.errors import FlowViewError
from flowview_async.flow_run import FlowRunView
from flowview_async.logs import FlowRunLog
from flowview_async.states import State
from flowview_async.watch.cursor import Mark

__all__ = ["LogLine", "RunError", "RunFinished", "StateChange", "TaskRunStateChange", "WatchEvent"]


@attrs.frozen(kw_only=True)
class _Event:
    flow_run_id: str
    _mark: Mark | None = attrs.field(default=None, eq=False, repr=False, alias="mark")

    @property
    def cursor(self) -> str:
        """An opaque string: pass it as ``start=`` to a new watch to resume right after this event.

        Built when first read (it holds the whole watch's position), so reading it for every
        event costs more than saving the one of the last event handled.
        """
        if self._mark is None:
            msg = "This event was not produced by a watch, so it has no cursor."
            raise AttributeError(msg)
        return self._mark.cursor()


@attrs.frozen(kw_only=True)
class StateChange(_Event):
    """The flow run entered ``state`` at ``timestamp``: one event per row of its state history.

    Attributes:
        state_id: the id of the history row (states are told apart by it, never by position).
        version: the run version that row carries.
    """

    timestamp: datetime
    state: State
    state_id: str | None = None
    version: int | None = None


@attrs.frozen(kw_only=True)
class TaskRunStateChange(_Event):
    """A task run of the flow run (a mapped child too) entered ``state`` at ``timestamp``.

    Only delivered with ``stream_task_runs=True``.
    """

    task_run_id: str
    task_slug: str | None
    map_index: int
    timestamp: datetime
    state: State
    state_id: str


@attrs.frozen(kw_only=True)
class LogLine(_Event):
    """A log line of the run or of one of its task runs."""

    log: FlowRunLog

    @property
    def timestamp(self) -> datetime:
        return self.log.timestamp


@attrs.frozen(kw_only=True)
class RunFinished(_Event):
    """The run is finished and its log lines are drained: the last event of that run.

    Attributes:
        flow_run: the final snapshot of the run (``flow_run.state`` is its final state).
    """

    timestamp: datetime
    state: State
    flow_run: FlowRunView = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class RunError(_Event):
    """The run left the watch because of ``error``; the other runs go on. Its last event.

    ``error`` is a :class:`~flowview_async.errors.FlowRunNotFoundError` for a run that never
    existed or was deleted while watched, or the error that kept failing that run's rows.
    """

    timestamp: datetime
    error: FlowViewError = attrs.field(eq=False)

    @property
    def message(self) -> str:
        return str(self.error)


WatchEvent = StateChange | TaskRunStateChange | LogLine | RunFinished | RunError

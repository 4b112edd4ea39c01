"""flowview_async: inspect Prefect 1 flow runs from asyncio, with offline record and replay.

::

    from flowview_async import Client, FlowRunView

    async with Client("http://localhost:4200") as client:
        flow_run = await FlowRunView.from_flow_run_id("4c0101af-…", client=client)
        print(flow_run.state, await flow_run.get_logs())
"""

from __future__ import annotations

__version__ = "0.1.0"

from flowview_async import errors, states
from flowview_async._retry import RetryPolicy
from flowview_async.client import Client
from flowview_async.flow import FlowView
from flowview_async.flow_run import FlowRunInspection, FlowRunView, inspect_flow_run
from flowview_async.logs import FlowRunLog
from flowview_async.recording import Recorder, RecordMode, replay
from flowview_async.states import State
from flowview_async.task_run import TaskRunView
from flowview_async.watch import watch_flow_run, watch_flow_runs

__all__ = [
    "Client",
    "FlowRunInspection",
    "FlowRunLog",
    "FlowRunView",
    "FlowView",
    "RecordMode",
    "Recorder",
    "RetryPolicy",
    "State",
    "TaskRunView",
    "__version__",
    "errors",
    "inspect_flow_run",
    "replay",
    "states",
    "watch_flow_run",
    "watch_flow_runs",
]

"""flowview_async: inspect Prefect 1 flow runs from asyncio, with offline record and replay.

::

    from flowview_async import Client, FlowRunView

    async with Client("http://localhost:4200") as client:
        flow_run = await FlowRunView.from_flow_run_id("4c0101af-…", client=client)
        print(flow_run.state, await flow_run.get_logs())
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowview_async import errors, states
    from flowview_async._retry import RetryPolicy
    from flowview_async.client import Client
    from flowview_async.flow import FlowView
    from flowview_async.flow_run import FlowRunInspection, FlowRunView, inspect_flow_run
    from flowview_async.logs import FlowRunLog
    from flowview_async.recording.modes import RecordMode
    from flowview_async.recording.recorder import Recorder
    from flowview_async.recording.replay import replay
    from flowview_async.states import State
    from flowview_async.task_run import TaskRunView
    from flowview_async.watch import watch_flow_run, watch_flow_runs

# Where each public name lives. They are imported on first use (PEP 562), not here: importing
# the package must stay cheap, because pytest imports it for the plugin in every project where it
# is installed, and `flowview --version` needs nothing but __version__.
_LAZY = {
    "Client": "flowview_async.client",
    "FlowRunInspection": "flowview_async.flow_run",
    "FlowRunLog": "flowview_async.logs",
    "FlowRunView": "flowview_async.flow_run",
    "FlowView": "flowview_async.flow",
    "RecordMode": "flowview_async.recording",
    "Recorder": "flowview_async.recording",
    "RetryPolicy": "flowview_async._retry",
    "State": "flowview_async.states",
    "TaskRunView": "flowview_async.task_run",
    "inspect_flow_run": "flowview_async.flow_run",
    "replay": "flowview_async.recording",
    "watch_flow_run": "flowview_async.watch",
    "watch_flow_runs": "flowview_async.watch",
}
_SUBMODULES = ("errors", "states")


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"flowview_async.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowview_async' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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

"""A test harness for Prefect 1 users: a real (local) Prefect Server-compatible backend per test,
module or session, with data from a fixture file or built in Python, that ``Client()`` and every
view without ``client=`` talk to inside the test. The pytest side is in
:mod:`flowview_async.pytest_plugin` (``flowview_backend`` marker and fixture)::

    from flowview_async.testing import BackendData

    def failed_nightly(data: BackendData) -> None:
        flow = data.flow("etl", tasks=["extract", "load"])
        run = data.flow_run(flow, name="nightly", state="Failed")
        data.task_run(run, "load", state="Failed", message="disk full")

    @pytest.mark.flowview_backend(data=failed_nightly, scope="module")
    async def test_alerts(flowview_backend):
        assert await my_alerting_service.failed_runs() == ["nightly"]   # uses Client() inside

Outside pytest, ``LocalBackend(data.to_fixture())`` serves the same data, and
:func:`~flowview_async._test_defaults.using_test_defaults` points ``Client()`` at it.
"""

from __future__ import annotations

from flowview_async._test_defaults import ClientDefaults, using_test_defaults
from flowview_async.testing.builder import (
    BackendData,
    FlowHandle,
    FlowRunHandle,
    ProjectHandle,
    TaskRunHandle,
)

__all__ = [
    "BackendData",
    "ClientDefaults",
    "FlowHandle",
    "FlowRunHandle",
    "ProjectHandle",
    "TaskRunHandle",
    "using_test_defaults",
]

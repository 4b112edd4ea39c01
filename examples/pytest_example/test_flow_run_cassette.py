"""Testing your own code against recorded Prefect backend answers, with flowview's pytest plugin.

The plugin comes with flowview_async (no conftest needed). Mark a test with
``@pytest.mark.flowview_cassette`` and take the ``flowview_client`` fixture: a ``Client`` that
replays ``cassettes/<module>/<test>.json`` next to this file, with no backend and no network.

Record (or re-record) the cassettes, here from the local backend the plugin starts::

    pytest examples/pytest_example --flowview-record-mode=once   # only missing cassettes
    pytest examples/pytest_example --flowview-record-mode=all    # everything again

Without the option (or $FLOWVIEW_RECORD_MODE) the mode is ``none``: CI only replays.
"""

from __future__ import annotations

import pytest

from flowview_async import Client, FlowRunView
from flowview_async.recording import Recorder

FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"


async def failed_task_slugs(flow_run_id: str, client: Client) -> list[str]:
    """The code under test: which tasks of a run did not succeed."""
    flow_run = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    return [t.task_slug for t in await flow_run.get_all_task_runs() if t.state.is_failed()]


@pytest.mark.flowview_cassette
async def test_the_documentation_run_has_no_failed_task(flowview_client: Client) -> None:
    assert await failed_task_slugs(FLOW_RUN_ID, flowview_client) == []


@pytest.mark.flowview_cassette
async def test_logs_cost_one_request(flowview_client: Client, flowview_recorder: Recorder) -> None:
    flow_run = await FlowRunView.from_flow_run_id(FLOW_RUN_ID, client=flowview_client)
    logs = await flow_run.get_logs()
    assert logs[0].message == "Submitted for execution: Task XXXXXXX"
    # The recorder counts requests by GraphQL operation, in replay as when recording.
    assert flowview_recorder.calls("FlowRunLogs") == 1
    assert flowview_recorder.calls() == 2

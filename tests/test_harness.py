"""The Prefect 1 test harness: the backend's data from the marker (built in Python, a file, empty),
its scope (function, module, session), and Client()/views without arguments going to it."""

from __future__ import annotations

import json

import pytest

from flowview_async import Client, FlowRunView
from flowview_async.errors import InvalidArgumentError
from flowview_async.server import LocalBackend
from flowview_async.testing import BackendData, ClientDefaults, using_test_defaults

pytest_plugins = ["pytester"]

NIGHTLY_ID = "0b3cfd5e-4bd3-4f4f-9d6a-6f0d0a1c2b3d"


def nightly(data: BackendData) -> None:
    flow = data.flow("etl", tasks=["extract", "load"])
    run = data.flow_run(flow, name="nightly", states=["Scheduled", "Running", "Failed"],
                        message="load failed", id=NIGHTLY_ID, parameters={"day": "mon"})
    data.task_run(run, "extract", states=["Running", "Success"])
    load = data.task_run(run, "load", state="Failed", message="disk full")
    data.log(run, "starting")
    data.log(load, "disk full", level="error")


async def test_runs_built_in_python_are_what_the_views_read() -> None:
    data = BackendData()
    nightly(data)
    async with LocalBackend(data.to_fixture()) as backend:
        with using_test_defaults(ClientDefaults(api_url=backend.url)):
            view = await FlowRunView.from_flow_run_id(NIGHTLY_ID)   # no client: the test backend
            logs = await view.get_logs()
            task_runs = await view.get_all_task_runs()
        history = await _history(backend.url, NIGHTLY_ID)
    assert view.name == "nightly"
    assert view.parameters == {"day": "mon"}
    assert view.state.is_failed()
    assert view.state.message == "load failed"
    assert history == ["Scheduled", "Running", "Failed"]
    assert sorted((run.task_slug, type(run.state).__name__) for run in task_runs) == [
        ("extract-1", "Success"), ("load-1", "Failed")]
    assert [(line.level_name, line.message) for line in logs] == [
        ("INFO", "starting"), ("ERROR", "disk full")]


async def _history(url: str, run_id: str) -> list[str]:
    query = ("query States($id: uuid!) { flow_run_state(where: {flow_run_id: {_eq: $id}}, "
             "order_by: {timestamp: asc}) { state } }")
    async with Client(url) as client:
        rows = (await client.execute(query, {"id": run_id}))["flow_run_state"]
    return [row["state"] for row in rows]


def test_builder_refuses_what_cannot_be() -> None:
    data = BackendData()
    flow = data.flow("etl", tasks=["a"])
    run = data.flow_run(flow)
    with pytest.raises(InvalidArgumentError, match="has no task 'b'"):
        data.task_run(run, "b")
    with pytest.raises(InvalidArgumentError, match="not both"):
        data.flow_run(flow, state="Failed", states=["Failed"])
    with pytest.raises(InvalidArgumentError, match="twice"):
        data.flow(("x"), tasks=["a", "a"])


HARNESS_TESTS = '''
import json
import pytest
from flowview_async import Client, FlowRunView, inspect_flow_run
from flowview_async.testing import BackendData

RUN_ID = "0b3cfd5e-4bd3-4f4f-9d6a-6f0d0a1c2b3d"
DOC_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
NAMES = "query Names { flow_run(order_by: {name: asc}) { name } }"


def failed_nightly(data):
    flow = data.flow("etl", tasks=["load"])
    run = data.flow_run(flow, name="nightly", state="Failed", id=RUN_ID)
    data.task_run(run, "load", state="Failed", message="disk full")


async def names():
    async with Client() as client:          # no URL: the test backend
        return [row["name"] for row in (await client.execute(NAMES))["flow_run"]]


@pytest.mark.flowview_backend(data=failed_nightly)
async def test_built_in_python(flowview_backend):
    view = await FlowRunView.from_flow_run_id(RUN_ID)      # no client=
    assert view.state.is_failed()
    assert await names() == ["nightly"]


@pytest.mark.flowview_backend(data=None)
async def test_empty(flowview_backend):
    assert await names() == []


@pytest.mark.flowview_backend(data="runs.json")
async def test_fixture_file_next_to_the_test(flowview_backend):
    assert await names() == ["from-a-file"]


async def test_default_is_the_documentation_data(flowview_backend):
    assert "tranquil-dolphin" in await names()


class TestModuleScope:
    @pytest.mark.flowview_backend(data=failed_nightly, scope="module")
    async def test_one(self, flowview_backend):
        await flowview_backend.insert("flow_run", [{"flow_id": (await self.flow_id()),
                                                    "name": "added-by-one"}])

    @pytest.mark.flowview_backend(data=failed_nightly, scope="module")
    async def test_two_sees_it(self, flowview_backend):
        assert await names() == ["added-by-one", "nightly"]   # the same backend as test_one

    @staticmethod
    async def flow_id():
        async with Client() as client:
            return (await client.execute("query { flow { id } }"))["flow"][0]["id"]


@pytest.mark.flowview_backend(data=None, scope="session")
async def test_session_scope_writes(flowview_backend):
    await flowview_backend.load("runs.json")


@pytest.mark.flowview_cassette
async def test_views_without_client_use_the_cassette(flowview_client, flowview_recorder,
                                                     flowview_record_mode):
    inspection = await inspect_flow_run(DOC_ID)             # no client=: through the recorder
    assert inspection.flow_run.name == "tranquil-dolphin"
    assert flowview_recorder.calls() > 0
    if flowview_record_mode == "none":
        assert flowview_recorder.play_count == flowview_recorder.calls()
'''

SESSION_PEER = '''
import pytest
from flowview_async import Client


@pytest.mark.flowview_backend(data=None, scope="session")
async def test_session_backend_is_shared_across_modules(flowview_backend):
    async with Client() as client:
        rows = (await client.execute("query { flow_run { name } }"))["flow_run"]
    assert [row["name"] for row in rows] == ["from-a-file"]   # loaded by the other module
'''

RUNS_FILE = {
    "flow": [{"id": "1d9c7a52-5d50-4a4b-9b8e-0c2f4e6a8b10", "name": "file-flow",
              "project_id": "2e8b6a41-4c3f-4e2a-8d7c-1b3a5c7e9f20",
              "flow_group_id": "3f7a5b30-3b2e-4d19-9c6b-2a4b6d8f0a30"}],
    "project": [{"id": "2e8b6a41-4c3f-4e2a-8d7c-1b3a5c7e9f20", "name": "p"}],
    "flow_group": [{"id": "3f7a5b30-3b2e-4d19-9c6b-2a4b6d8f0a30", "name": "file-flow"}],
    "flow_run": [{"flow_id": "1d9c7a52-5d50-4a4b-9b8e-0c2f4e6a8b10", "name": "from-a-file"}],
}


def test_the_backend_marker_data_scopes_and_default_client(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("FLOWVIEW_API", "PREFECT__SERVER__ENDPOINT", "PREFECT__CLOUD__API",
                 "PREFECT__BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT__HOME_DIR", str(pytester.path / "prefect-home"))
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
                     "addopts = --strict-markers -p no:randomly\n")
    pytester.makepyfile(test_harness_a=HARNESS_TESTS, test_harness_b=SESSION_PEER)
    (pytester.path / "runs.json").write_text(json.dumps(RUNS_FILE))
    recorded = pytester.runpytest_subprocess("--flowview-record-mode=once")
    recorded.assert_outcomes(passed=9)
    cassette = pytester.path / "cassettes" / "test_harness_a" / \
        "test_views_without_client_use_the_cassette.json"
    assert cassette.is_file()
    # Replayed with no backend at all: views without client= read the cassette.
    pytester.runpytest_subprocess("-k", "views_without_client").assert_outcomes(passed=1)

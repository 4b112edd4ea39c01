"""The Python and GraphQL examples of the documentation page, run as written, with `await`.

No client is passed: as on the page, the views build one from the Prefect settings, here
PREFECT__SERVER__ENDPOINT pointing at the local backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowview_async import Client, FlowRunView
from flowview_async.server import LocalBackend
from tests.conftest import DOC_TASK_RUN_IDS


@pytest.fixture
def prefect_env(backend: LocalBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("PREFECT__BACKEND", "PREFECT__CLOUD__API_KEY", "PREFECT__CLOUD__TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT__HOME_DIR", str(tmp_path))  # never the developer's ~/.prefect
    monkeypatch.setenv("PREFECT__BACKEND", "server")  # Prefect 1's default backend is cloud
    monkeypatch.setenv("PREFECT__SERVER__ENDPOINT", backend.url)


@pytest.mark.usefixtures("prefect_env")
async def test_python_examples_of_the_page() -> None:
    flow_run = await FlowRunView.from_flow_run_id("4c0101af-c6bb-4b96-8661-63a5bbfb5596")
    flow_run = await flow_run.get_latest()

    assert repr(flow_run.state) == '<Success: "All reference tasks succeeded.">'
    assert flow_run.state.is_finished() is True
    assert flow_run.state.is_running() is False
    assert flow_run.state.message == "All reference tasks succeeded."

    logs = await flow_run.get_logs()
    assert len(logs) == 6
    assert logs[1].message == "Beginning Flow run for 'radio_show'"
    assert logs[1].level == 20

    flow = await flow_run.get_flow_metadata()
    assert (flow.flow_id, flow.name, flow.project_name, flow.storage_type) == (
        "8bdcf5b5-7598-49d1-a885-61612ca550de", "hello-world", "default", "Module")

    task_run = await flow_run.get_task_run(task_slug="say_hello-1")
    assert task_run.task_run_id == "c8751f34-9d5e-4ea7-aead-8b50978dabb7"
    assert task_run.task_id == "34b0dd2d-582e-4f0a-923d-63daf1e38fe5"
    assert repr(task_run.state) == '<Success: "Task run succeeded.">'
    assert "result=<not loaded>" in repr(task_run)

    assert await flow_run.task_run_ids == DOC_TASK_RUN_IDS


@pytest.mark.usefixtures("prefect_env")
async def test_graphql_example_of_the_page() -> None:
    query = """
    query {
      flow_run(where: {name: {_eq: "woodoo-leopard"}}) {
        id
        state
        start_time
      }
    }
    """
    async with Client() as client:
        data = await client.execute(query)
    assert data == {
        "flow_run": [
            {
                "id": "8e445d74-9ca6-425b-98e5-72754b7ea174",
                "state": "Success",
                "start_time": "2021-05-12T17:59:56.383629+00:00",
            }
        ]
    }

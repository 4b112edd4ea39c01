"""The aiohttp service answered from a cassette: real HTTP to the service on 127.0.0.1, the
service's client replaying ``cassettes/test_aiohttp_service/<test name>.json``.

Replays by default (no backend). To record the cassette again from the local backend::

    pytest examples/tests --flowview-record-mode=all
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp_service import CLIENT, create_app

from flowview_async import Client

DOC_FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
MAPPED_FLOW_RUN_ID = "e1d2c3b4-a5f6-4789-9abc-def012345678"



@pytest.fixture
async def http(flowview_client: Client) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(client=flowview_client))) as client:
        yield client


@pytest.mark.flowview_cassette
async def test_answers_state_task_runs_and_latest_logs(http: TestClient) -> None:
    response = await http.get(f"/flow-runs/{DOC_FLOW_RUN_ID}")
    assert response.status == 200
    body = await response.json()
    assert body["name"] == "tranquil-dolphin"
    assert body["state"] == "Success"
    assert body["message"] == "All reference tasks succeeded."
    assert body["flow"] == "hello-world"
    assert [t["slug"] for t in body["task_runs"]] == ["say_hello-1", "series_one-1", "say_goodbye-1"]
    assert body["latest_logs"][-1]["message"] == "Flow run SUCCESS: all reference tasks succeeded"


@pytest.mark.flowview_cassette
async def test_concurrent_requests_share_one_client(http: TestClient) -> None:
    responses = await asyncio.gather(
        http.get(f"/flow-runs/{MAPPED_FLOW_RUN_ID}"),
        http.get("/flow-runs/00000000-0000-4000-8000-000000000000"),
    )
    found, missing = responses
    assert found.status == 200
    assert len((await found.json())["task_runs"]) == 5
    assert missing.status == 404
    assert (await missing.json())["error"] == "FlowRunNotFoundError"


async def test_own_client_opened_on_startup_closed_on_cleanup() -> None:
    # No cassette here: a malformed id is refused before any request, so nothing is sent to
    # this address that never resolves.
    app = create_app(api_url="http://flowview-replay.invalid")
    async with TestClient(TestServer(app)) as http:
        client = app[CLIENT]
        assert not client.is_closed
        response = await http.get("/flow-runs/not-a-uuid")
        assert response.status == 400
        assert "is not a UUID" in (await response.json())["message"]
    assert client.is_closed

"""The statement time limit and cancellation on disconnect: SQLite stops, the server goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from flowview_async.server.limits import Limits
from flowview_async.server.runner import LocalBackend
from tests.server.hardening.conftest import HELLO, QUADRATIC, post_json

SIMPLE = "{ flow_run(limit: 1) { id } }"


@pytest_asyncio.fixture
async def slow_backend() -> AsyncIterator[LocalBackend]:
    """2,000 task runs of one flow run: QUADRATIC keeps SQLite busy for minutes."""
    async with LocalBackend(None, limits=Limits(statement_time_s=600)) as backend:
        await backend.seed_synthetic(flow_runs=1, task_runs=2000, logs=5)
        yield backend


async def test_a_query_over_the_time_limit_is_stopped_with_a_clear_error(
    session: aiohttp.ClientSession,
) -> None:
    async with LocalBackend(None, limits=Limits(statement_time_s=0.3)) as backend:
        await backend.seed_synthetic(flow_runs=1, task_runs=1000, logs=5)
        slow = asyncio.ensure_future(post_json(session, backend.graphql_url, {"query": QUADRATIC}))
        status, body, _ = await post_json(session, backend.graphql_url, {"query": HELLO})
        assert (status, body) == (200, {"data": {"hello": "👋"}})
        status, body, _ = await slow
        assert status == 200
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "STATEMENT_TIMEOUT"
        assert "statement time limit of 0.3 s" in error["message"]
        assert "--statement-timeout" in error["message"]
        assert body["data"] is None
        # The database is free again at once.
        status, body, _ = await post_json(session, backend.graphql_url, {"query": SIMPLE})
        assert status == 200
        assert len(body["data"]["flow_run"]) == 1


async def test_a_client_going_away_stops_its_statement(slow_backend: LocalBackend) -> None:
    async with aiohttp.ClientSession() as leaving:
        request = asyncio.ensure_future(post_json(leaving, slow_backend.graphql_url, {"query": QUADRATIC}))
        while not slow_backend.max_in_flight:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # let the statement start in the database thread
        request.cancel()
    # Unless the statement was interrupted, this would wait for the whole quadratic scan.
    async with aiohttp.ClientSession() as session:
        status, body, _ = await asyncio.wait_for(
            post_json(session, slow_backend.graphql_url, {"query": SIMPLE}), timeout=30
        )
    assert status == 200
    assert len(body["data"]["flow_run"]) == 1
    assert slow_backend.requests[0].status == 0  # never answered: the client left

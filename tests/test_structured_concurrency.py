"""Calls that end cleanly: the first error of a fan-out cancels and awaits its siblings, no request
outlives the call that made it, and every ``task.cancel()`` is honoured."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from flowview_async import Client, inspect_flow_run
from flowview_async._concurrency import gather
from flowview_async.client import RetryPolicy
from flowview_async.errors import GraphQLQueryError
from flowview_async.server import LocalBackend
from tests.conftest import DOC_FLOW_RUN_ID
from tests.scale import scaled


def _server_side(task: asyncio.Task[Any]) -> bool:
    """A task of the loopback servers (aiohttp's handlers, the local backend's body readers)."""
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None)
    filename = code.co_filename if code is not None else ""
    qualname = getattr(coro, "__qualname__", "")
    return ("aiohttp/web" in filename or "/flowview_async/server/" in filename
            or qualname.startswith(("RequestHandler", "BaseRequest"))
            # The loop accepting a server connection that a cancelled request had just opened.
            or qualname.endswith("_accept_connection2"))


def tasks_of_ours() -> list[asyncio.Task[Any]]:
    """Tasks still alive apart from the test itself and the servers' own."""
    return [t for t in asyncio.all_tasks()
            if t is not asyncio.current_task() and not _server_side(t)]


class HoldingServer:
    """Holds every request open until ``hold`` of them are in; then answers the last one with a
    GraphQL error (HTTP 400, never retried). The held ones are released only at teardown."""

    def __init__(self, hold: int) -> None:
        self.hold = hold
        self.arrived: list[str] = []
        self.release = asyncio.Event()
        self.all_in = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        payload = json.loads(await request.text())
        if "__schema" in payload.get("query", ""):
            return web.json_response({"errors": [{"message": "introspection is disabled"}]})
        self.arrived.append(payload.get("operationName") or "?")
        if len(self.arrived) == self.hold:
            self.all_in.set()
            return web.json_response({"errors": [{"message": "boom"}]}, status=400)
        await self.release.wait()
        return web.json_response({"errors": [{"message": "too late"}]}, status=400)


@pytest.fixture
async def holding() -> AsyncIterator[tuple[HoldingServer, str]]:
    server = HoldingServer(hold=4)  # an inspection sends four requests at once
    app = web.Application()
    app.router.add_post("/", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.release.set()
        await runner.cleanup()


async def _settle() -> None:
    # Give any orphan a chance to run and send: several loop turns, not a timing assertion.
    for _ in range(20):
        await asyncio.sleep(0.01)


async def test_first_error_cancels_and_awaits_the_other_requests(
        holding: tuple[HoldingServer, str]) -> None:
    server, url = holding
    async with Client(url, retry=RetryPolicy.none()) as client:
        with pytest.raises(GraphQLQueryError, match="boom"):
            await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
        assert tasks_of_ours() == []  # once raised, no task of the call is left
        sent = len(server.arrived)
        await _settle()
        assert len(server.arrived) == sent == 4  # and nothing more reaches the server
        assert not client.is_closed


async def test_a_temporary_client_outlives_its_requests(
        holding: tuple[HoldingServer, str], monkeypatch: pytest.MonkeyPatch,
        recwarn: pytest.WarningsRecorder) -> None:
    server, url = holding
    monkeypatch.setenv("PREFECT__BACKEND", "server")
    monkeypatch.setenv("PREFECT__CLOUD__API", url)  # the agent's environment
    with pytest.raises(GraphQLQueryError, match="boom"):
        await inspect_flow_run(DOC_FLOW_RUN_ID)
    assert tasks_of_ours() == []
    await _settle()
    assert len(server.arrived) == 4
    assert not [w for w in recwarn if "Unclosed" in str(w.message)]


async def test_gather_raises_the_first_error_itself_after_the_siblings_end() -> None:
    ended: list[str] = []

    async def sibling() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("sibling")

    async def failing() -> None:
        await asyncio.sleep(0)
        raise GraphQLQueryError("first")

    with pytest.raises(GraphQLQueryError, match="first"):
        await gather(sibling(), failing(), sibling())
    assert ended == ["sibling", "sibling"]
    assert await gather(asyncio.sleep(0, "a"), asyncio.sleep(0, "b")) == ["a", "b"]


@pytest.mark.slow
async def test_every_cancel_is_honoured() -> None:
    """Cancel inspections at random moments (before, during and as the answers arrive): a
    ``cancel()`` that was accepted always ends the task cancelled, and nothing is left running."""
    tries = scaled(500, 100)
    rng = random.Random(8)
    async with LocalBackend(latency_ms=2, jitter_ms=6) as backend, \
            Client(backend.url, retry=RetryPolicy.none()) as client:
        await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)  # warm: schema, pool
        honoured = finished = 0
        for _ in range(tries):
            task = asyncio.create_task(inspect_flow_run(DOC_FLOW_RUN_ID, client=client))
            await asyncio.sleep(rng.uniform(0, 0.02))
            accepted = task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                honoured += 1
            else:
                assert not accepted, "a cancel() was accepted, then swallowed"
                finished += 1
            assert tasks_of_ours() == []
        assert honoured + finished == tries
        assert honoured > tries // 2  # most cancels land mid-call
        assert (await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)).flow_run.flow_run_id


@pytest.mark.parametrize("helper", ["gather", "_gather_310"])
async def test_both_implementations_keep_the_same_contract(helper: str) -> None:
    """The 3.10 equivalent is plain asyncio, so it is checked here on any Python."""
    from flowview_async import _concurrency

    run: Any = (_concurrency.gather if helper == "gather"
                else lambda *aws: _concurrency._gather_310(aws))
    ended: list[str] = []
    started = asyncio.Event()

    async def sibling() -> None:
        try:
            started.set()
            await asyncio.sleep(3600)
        finally:
            ended.append("sibling")

    async def failing() -> None:
        await started.wait()
        raise GraphQLQueryError("first")

    with pytest.raises(GraphQLQueryError, match="first"):
        await run(sibling(), failing())
    assert ended == ["sibling"]
    assert tasks_of_ours() == []
    # Cancelling the caller cancels and awaits the children too.
    ended.clear()
    started.clear()
    outer = asyncio.create_task(run(sibling(), sibling()))
    await started.wait()
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert ended == ["sibling", "sibling"]
    assert tasks_of_ours() == []
    assert await run(asyncio.sleep(0, 1), asyncio.sleep(0, 2)) == [1, 2]

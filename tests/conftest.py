"""Shared fixtures: the project's own local backend on a loopback port, and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, settings

from flowview_async import Client
from flowview_async.server import LocalBackend
from tests.scale import FULL_SIZE

# Property tests: 100 examples a test in CI, 1,000 at full size; no deadline, since a loaded CI
# machine must not turn a slow example into a failure (timings are bench/'s job).
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "full", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("full" if FULL_SIZE else "ci")

DOC_FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
DOC_FLOW_ID = "8bdcf5b5-7598-49d1-a885-61612ca550de"
DOC_TASK_RUN_IDS = [
    "c8751f34-9d5e-4ea7-aead-8b50978dabb7",
    "f5f422f6-4f56-45d2-bd55-5ea048070d84",
    "7cc167d3-737d-4187-85d8-d5e5a75fbd93",
]
WOODOO_LEOPARD_ID = "8e445d74-9ca6-425b-98e5-72754b7ea174"


@pytest.fixture
def backend(flowview_backend: LocalBackend) -> LocalBackend:
    """The documentation page's fixture served over HTTP on 127.0.0.1 (the plugin's fixture)."""
    return flowview_backend


@pytest.fixture
async def client(backend: LocalBackend) -> AsyncIterator[Client]:
    """A client for :func:`backend`; requests counted from here on."""
    async with Client(backend.url) as opened:
        backend.clear_requests()
        yield opened


@pytest.fixture
async def odd_backend() -> AsyncIterator[tuple[str, list[Any]]]:
    """A loopback HTTP server answering each request with the next canned body."""
    answers: list[Any] = []

    async def handler(request: web.Request) -> web.Response:
        if "__schema" in await request.text():
            # Like many production gateways: no introspection. The client falls back to the
            # bundled schema, and the canned answers are kept for the queries under test.
            return web.json_response({"errors": [{"message": "introspection is disabled"}]})
        return web.json_response(answers.pop(0))

    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", answers
    finally:
        await runner.cleanup()

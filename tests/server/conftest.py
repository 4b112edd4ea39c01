from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from flowview_async.server.runner import LocalBackend
from tests.server.datasets import OPERATORS_FIXTURE


class GraphQL:
    """Posts GraphQL to a backend over real HTTP and returns (status, decoded body)."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def post(self, query: str, variables: Any = None, **extra: Any) -> tuple[int, Any]:
        body = {"query": query, "variables": variables, **extra}
        async with self.session.post(self.url, json=body) as response:
            return response.status, await response.json(content_type=None)

    async def data(self, query: str, variables: Any = None) -> Any:
        status, body = await self.post(query, variables)
        assert status == 200, body
        assert "errors" not in body, body
        return body["data"]


@pytest_asyncio.fixture
async def ops_backend() -> AsyncIterator[LocalBackend]:
    async with LocalBackend(OPERATORS_FIXTURE) as backend:
        yield backend


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest_asyncio.fixture
async def ops(ops_backend: LocalBackend, session: aiohttp.ClientSession) -> GraphQL:
    return GraphQL(session, ops_backend.graphql_url)


@pytest_asyncio.fixture
async def docs(flowview_backend: LocalBackend, session: aiohttp.ClientSession) -> GraphQL:
    return GraphQL(session, flowview_backend.graphql_url)

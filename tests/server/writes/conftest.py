"""Fixtures of the write-side tests: an empty backend with one tenant, and a GraphQL poster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from flowview_async.server.runner import LocalBackend
from tests.server.conftest import GraphQL
from tests.server.writes.helpers import Writer


@pytest_asyncio.fixture
async def backend() -> AsyncIterator[LocalBackend]:
    async with LocalBackend(None) as running:
        yield running


@pytest_asyncio.fixture
async def gql(backend: LocalBackend, session: aiohttp.ClientSession) -> GraphQL:
    return GraphQL(session, backend.graphql_url)


@pytest_asyncio.fixture
async def writer(gql: GraphQL, backend: LocalBackend) -> Writer:
    writer = Writer(gql, backend)
    await writer.setup()
    return writer

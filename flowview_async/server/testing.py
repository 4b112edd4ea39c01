"""pytest support: a function-scoped async fixture serving the documentation's example data.

Use it directly (``from flowview_async.server.testing import flowview_backend`` in a conftest) or
through the flowview pytest plugin, which re-exports it::

    async def test_state(flowview_backend):
        ...  # point a client at flowview_backend.url
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from flowview_async.server.runner import LocalBackend


@pytest_asyncio.fixture
async def flowview_backend() -> AsyncIterator[LocalBackend]:
    """A fresh :class:`LocalBackend` on a free loopback port, loaded with "inspecting-flow-runs"."""
    async with LocalBackend("inspecting-flow-runs") as backend:
        yield backend

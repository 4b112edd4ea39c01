"""A tiny Prefect Server world for the services: one tenant, project, flow group, flow and two tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from flowview_async.server.runner import LocalBackend

TENANT = "aaaaaaaa-0000-4000-8000-000000000001"
PROJECT = "aaaaaaaa-0000-4000-8000-000000000002"
GROUP = "aaaaaaaa-0000-4000-8000-000000000003"
FLOW = "aaaaaaaa-0000-4000-8000-000000000004"
TASKS = ["aaaaaaaa-0000-4000-8000-000000000005", "aaaaaaaa-0000-4000-8000-000000000006"]
HOUR_US = 3_600_000_000


def hourly(**clock: Any) -> dict[str, Any]:
    return {"type": "Schedule", "__version__": "1.4.1", "filters": [], "not_filters": [], "or_filters": [],
            "adjustments": [],
            "clocks": [{"type": "IntervalClock", "interval": HOUR_US,
                        "start_date": {"dt": "2026-01-01T00:00:00", "tz": "UTC"}, **clock}]}


def world(*, schedule: Any = None, active: bool = True, archived: bool = False,
          group_settings: Any = None) -> dict[str, Any]:
    return {
        "tenant": [{"id": TENANT, "name": "t", "slug": "t"}],
        "project": [{"id": PROJECT, "tenant_id": TENANT, "name": "demo"}],
        "flow_group": [{"id": GROUP, "tenant_id": TENANT, "name": "f", "labels": ["dev"],
                        "settings": group_settings or {}}],
        "flow": [{"id": FLOW, "tenant_id": TENANT, "project_id": PROJECT, "flow_group_id": GROUP,
                  "name": "f", "version": 1, "schedule": schedule, "is_schedule_active": active,
                  "archived": archived,
                  "parameters": [{"name": "who", "default": "world", "required": False}]}],
        "task": [{"id": task, "tenant_id": TENANT, "flow_id": FLOW, "name": f"t{i}", "slug": f"t{i}-1",
                  "max_retries": 0} for i, task in enumerate(TASKS)],
    }


class Reader:
    """Reads the backend over HTTP, the way any client would."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session = session
        self._url = url

    async def data(self, query: str) -> Any:
        async with self._session.post(self._url, json={"query": query}) as response:
            body = await response.json()
        assert "errors" not in body, body
        return body["data"]


@pytest_asyncio.fixture
async def reader_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def reader(session: aiohttp.ClientSession, backend: LocalBackend) -> Reader:
    return Reader(session, backend.graphql_url)

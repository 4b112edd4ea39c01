"""CLI tests run click's CliRunner synchronously (each command calls asyncio.run itself), so the
local backend runs in a background thread with its own event loop, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from flowview_async.cli import cli
from flowview_async.server import LocalBackend

T = TypeVar("T")

DOC_FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
DOC_FLOW_ID = "8bdcf5b5-7598-49d1-a885-61612ca550de"
TENANT_ID = "5e0a5f3c-2d1b-4c7e-9a8f-6b4d2c0e8a11"


class ThreadedBackend:
    """A LocalBackend served from its own thread; :meth:`call` runs a coroutine on its loop."""

    def __init__(self, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.backend = LocalBackend(**options)

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=30)

    def __enter__(self) -> ThreadedBackend:
        self._thread.start()
        self.call(self.backend.start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.call(self.backend.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()

    @property
    def url(self) -> str:
        return self.backend.url

    def new_flow_run(self, *states: tuple[str, str], name: str | None = None) -> str:
        """A new run of the documentation's flow, through ``states`` ((type, message) pairs)."""
        flow_run_id = str(uuid.uuid4())

        async def create() -> None:
            await self.backend.insert("flow_run", [{
                "id": flow_run_id, "tenant_id": TENANT_ID, "flow_id": DOC_FLOW_ID,
                "name": name or f"run-{flow_run_id[:8]}", "labels": [], "parameters": {}, "context": {},
                "created": "2024-05-01T12:00:00+00:00", "updated": "2024-05-01T12:00:00+00:00",
            }])
            for second, (kind, message) in enumerate(states):
                await self.backend.set_state(
                    "flow_run", flow_run_id, {"type": kind, "message": message},
                    timestamp=f"2024-05-01T12:00:{second:02d}+00:00")

        self.call(create())
        return flow_run_id


@pytest.fixture
def served() -> Iterator[ThreadedBackend]:
    with ThreadedBackend() as backend:
        yield backend


@pytest.fixture
def flowview(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    """Run ``flowview ARGS...``; returns click's Result (stdout and stderr kept apart)."""
    # No Prefect settings from the machine running the tests.
    for name in ("PREFECT__SERVER__ENDPOINT", "PREFECT__CLOUD__API", "PREFECT__CLOUD__API_KEY",
                 "PREFECT__BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT__HOME_DIR", str(tmp_path / "prefect-home"))
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke

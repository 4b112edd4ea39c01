"""The test backends of the harness: where their data comes from, and shared backends.

A function-scoped backend runs on the test's own event loop. A module- or session-scoped one must
outlive every test's loop (pytest-asyncio gives each test a new one by default), so it runs on an
event loop of its own, in a thread: :class:`ThreadedBackend`. Tests talk to it over HTTP on
127.0.0.1 like to any backend, and its data methods are awaitable from any loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Literal, TypeVar

from flowview_async.errors import InvalidArgumentError
from flowview_async.server import LocalBackend
from flowview_async.server.app import ServedRequest
from flowview_async.server.fixtures import FixtureSource
from flowview_async.testing.builder import BackendData

__all__ = ["DEFAULT_DATA", "BackendDataSpec", "ThreadedBackend", "fixture_source"]

T = TypeVar("T")

DEFAULT_DATA = "inspecting-flow-runs"  # the documentation's flow runs
_START_TIMEOUT_S = 60.0

# What the flowview_backend marker's data= takes.
BackendDataSpec = str | Path | Mapping[str, Any] | BackendData | Callable[[BackendData], Any] | None


def fixture_source(data: Any, base_dir: Path) -> FixtureSource | None:
    """The fixture a test asked for: ``None`` is an empty backend; a relative file path is
    looked up next to the test file first; a function gets a :class:`BackendData` to fill (it
    may also return one, or a fixture mapping)."""
    if data is None:
        return None
    if isinstance(data, BackendData):
        return data.to_fixture()
    if isinstance(data, Mapping):
        return data
    if isinstance(data, (str, Path)):
        candidate = base_dir / data
        return candidate if candidate.is_file() else data
    if callable(data):
        builder = BackendData()
        returned = data(builder)
        if returned is None or returned is builder:
            return builder.to_fixture()
        return fixture_source(returned, base_dir)
    msg = (f"flowview_backend(data=...) takes a fixture name or file, None (empty), a BackendData, "
           f"a function filling one, or a fixture mapping; got {type(data).__name__}.")
    raise InvalidArgumentError(msg)


class ThreadedBackend:
    """A :class:`LocalBackend` on an event loop in its own thread (module/session-scoped tests)."""

    def __init__(self, fixture: FixtureSource | None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="flowview-backend",
                                        daemon=True)
        self.backend = LocalBackend(fixture)

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def start(self) -> None:
        self._thread.start()
        try:
            self._submit(self.backend.start()).result(timeout=_START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        try:
            if self._thread.is_alive():
                self._submit(self.backend.stop()).result(timeout=_START_TIMEOUT_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=_START_TIMEOUT_S)
            self._loop.close()

    # What tests read, as on LocalBackend.
    @property
    def url(self) -> str:
        return self.backend.url

    @property
    def graphql_url(self) -> str:
        return self.backend.graphql_url

    @property
    def requests(self) -> list[ServedRequest]:
        return self.backend.requests

    def clear_requests(self) -> None:
        self.backend.clear_requests()

    # Data changes run on the backend's own loop; awaited from the test's.
    async def insert(self, table: str, rows: list[Mapping[str, Any]]) -> None:
        await asyncio.wrap_future(self._submit(self.backend.insert(table, rows)))

    async def load(self, fixture: FixtureSource) -> dict[str, int]:
        return await asyncio.wrap_future(self._submit(self.backend.load(fixture)))

    async def set_state(self, table: Literal["flow_run", "task_run"], run_id: str,
                        serialized_state: Mapping[str, Any], *, timestamp: str | None = None) -> int:
        return await asyncio.wrap_future(self._submit(
            self.backend.set_state(table, run_id, serialized_state, timestamp=timestamp)))

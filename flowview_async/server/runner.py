"""``LocalBackend``: start the local backend on a loopback port for the length of an ``async with``.

Example::

    async with LocalBackend("inspecting-flow-runs") as backend:
        async with aiohttp.ClientSession() as session:
            await session.post(backend.graphql_url, json={"query": "{ hello }"})
        assert backend.requests[0].status == 200
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from flowview_async.errors import (
    FlowRunNotFoundError,
    InvalidArgumentError,
    TaskRunNotFoundError,
    UsageError,
)
from flowview_async.server.app import ServedRequest, Traffic, create_app
from flowview_async.server.database import Database
from flowview_async.server.faults import FaultInjector, FaultPlan
from flowview_async.server.fixtures import FixtureSource, load_fixture
from flowview_async.server.services import BackgroundServices, ServiceSettings
from flowview_async.server.states import RUN_TABLES
from flowview_async.server.values import normalize_timestamp, utc_now
from flowview_async.server.writes.states import append_state

__all__ = ["LocalBackend", "ServedRequest"]

INTROSPECTION_OPERATION = "IntrospectionQuery"

# Handlers still running at shutdown (a "slow" fault, say) get this long before being cancelled.
_SHUTDOWN_TIMEOUT_S = 0.5


class LocalBackend:
    """The local Prefect Server-compatible backend, served on ``host:port`` while entered.

    Args:
        fixture: what to load first: a shipped fixture name, a JSON file path, a mapping, or
            None for empty tables.
        db_path: an SQLite file to use instead of memory (created if missing).
        host, port: where to listen; port 0 picks a free one (see :attr:`url`).
        latency_ms, jitter_ms: added to every GraphQL request (see :mod:`.faults`).
        faults: a :class:`FaultPlan` or its spec string, e.g. ``"500:0.1,429*2"``.
        seed: seeds the fault and latency draws.
        services: the background services to run (scheduler, zombie killer), or None for none:
            tests opt in, ``flowview serve`` runs them by default (see :mod:`.services`).
    """

    def __init__(
        self,
        fixture: FixtureSource | None = "inspecting-flow-runs",
        *,
        db_path: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        faults: str | FaultPlan | None = None,
        seed: int = 0,
        services: ServiceSettings | None = None,
    ) -> None:
        plan = FaultPlan.parse(faults) if isinstance(faults, str) else faults
        self._injector = FaultInjector(plan, latency_ms=latency_ms, jitter_ms=jitter_ms, seed=seed)
        self._fixture = fixture
        self._database = Database(db_path)
        self._host = host
        self._port = port
        self._traffic = Traffic()
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._service_settings = services
        self._services: BackgroundServices | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> LocalBackend:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open the database, load the fixture and start listening."""
        if self._runner is not None:
            raise UsageError("this LocalBackend is already running; use one per `async with`")
        await self._database.open()
        try:
            if self._fixture is not None:
                await load_fixture(self._database, self._fixture)
            app = create_app(self._database, injector=self._injector, traffic=self._traffic)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
            await runner.setup()
            self._runner = runner
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await self.stop()
            raise
        self._bound_port = int(runner.addresses[0][1])
        if self._service_settings is not None:
            self.start_services(self._service_settings)

    async def stop(self) -> None:
        """Stop listening, cancel what is still running and close the database; idempotent."""
        runner, self._runner = self._runner, None
        self._bound_port = None
        try:
            services, self._services = self._services, None
            if services is not None:
                await services.stop()
            if runner is not None:
                await runner.cleanup()
        finally:
            await self._database.close()

    def start_services(self, settings: ServiceSettings) -> None:
        """Start the background services now (once the data they work on is loaded).

        ``services=`` in the constructor does this at :meth:`start`, after the fixture; ``flowview
        serve`` loads its data after starting and calls this afterwards. They stop with the backend.
        """
        if self._runner is None:
            raise UsageError("start the LocalBackend before its services")
        if self._services is not None:
            raise UsageError("this LocalBackend's services are already running")
        self._services = BackgroundServices(self._database, settings)
        self._services.start()

    # --- where and what -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port``, the root Prefect's own client posts to."""
        if self._bound_port is None:
            raise UsageError("the LocalBackend is not started; use it inside `async with`")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._bound_port}"

    @property
    def graphql_url(self) -> str:
        return self.url + "/graphql"

    @property
    def database(self) -> Database:
        return self._database

    @property
    def requests(self) -> list[ServedRequest]:
        """GraphQL requests served so far, in arrival order (a copy), without the schema
        introspection each SDK client sends once (see :attr:`introspections`)."""
        return [r for r in self._traffic.requests if r.operation_name != INTROSPECTION_OPERATION]

    @property
    def introspections(self) -> int:
        """How many schema introspection requests were served (one per online SDK client)."""
        return sum(r.operation_name == INTROSPECTION_OPERATION for r in self._traffic.requests)

    def clear_requests(self) -> None:
        """Forget the served requests and restart the in-flight high-water mark."""
        self._traffic.clear()

    @property
    def max_in_flight(self) -> int:
        """The most GraphQL requests handled at the same time since start or the last clear."""
        return self._traffic.max_in_flight

    # --- data -----------------------------------------------------------------------------------

    async def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows into ``table``, validated exactly like a fixture (all or nothing)."""
        await self.load({table: [dict(row) for row in rows]})

    async def load(self, fixture: FixtureSource) -> dict[str, int]:
        """Load another fixture on top of what is there; returns rows inserted per table."""
        return await load_fixture(self._database, fixture)

    async def set_state(
        self,
        table: Literal["flow_run", "task_run"],
        run_id: str,
        serialized_state: Mapping[str, Any],
        *,
        timestamp: str | None = None,
    ) -> int:
        """Record a state change like the server: a new state row, the run row updated.

        Returns the run's new version.
        """
        if table not in RUN_TABLES:
            raise InvalidArgumentError(f"set_state works on 'flow_run' or 'task_run', not {table!r}")
        try:
            moment = normalize_timestamp(timestamp) if timestamp is not None else utc_now()
            key = str(uuid.UUID(str(run_id)))
        except ValueError as error:
            raise InvalidArgumentError(f"set_state: {error}") from None
        state = dict(serialized_state)
        try:
            version = await self._database.transaction(
                lambda connection: append_state(connection, table, key, state, moment)
            )
        except ValueError as error:
            raise InvalidArgumentError(f"set_state: {error}") from None
        if version is None:
            missing = FlowRunNotFoundError if table == "flow_run" else TaskRunNotFoundError
            raise missing(f"set_state: no {table} with id {key} is loaded in the local backend")
        return version

    async def seed_synthetic(
        self,
        *,
        flow_runs: int,
        task_runs: int,
        logs: int,
        seed: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[str]:
        """Generate ``flow_runs`` runs x ``task_runs`` task runs x ``logs`` log lines per task run.

        See :mod:`flowview_async.server.synthetic` (``progress`` and cancellation included);
        returns the flow run ids in creation order.
        """
        from flowview_async.server.synthetic import seed_synthetic

        return await seed_synthetic(
            self._database, flow_runs=flow_runs, task_runs=task_runs, logs=logs, seed=seed,
            progress=progress,
        )

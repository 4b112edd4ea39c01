"""Background services of the local backend: Prefect Server's scheduler and zombie killer.

Each is an asyncio task started with the backend and cancelled when it stops. Like Prefect Server's
loop services, a service runs once at start and then every ``interval`` seconds counted from the
start of the previous visit; an error in one visit is logged and the loop goes on. Defaults are
Prefect Server's: the scheduler every 150 s creating the next 10 runs per flow, the zombie killer
every 120 s with a 10-minute heartbeat cutoff.

``flowview serve`` runs both (``--no-scheduler`` / ``--no-zombie-killer`` turn them off);
:class:`~flowview_async.server.LocalBackend` runs them only when asked (``services=ServiceSettings()``),
so a test's data does not change under it unless the test wants that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from flowview_async.errors import InvalidArgumentError
from flowview_async.server.database import Database
from flowview_async.server.services.scheduler import DEFAULT_MAX_RUNS, run_scheduler_once
from flowview_async.server.services.zombie_killer import DEFAULT_HEARTBEAT_TIMEOUT_S, run_zombie_killer_once

__all__ = ["BackgroundServices", "ServiceSettings", "run_scheduler_once", "run_zombie_killer_once"]

logger = logging.getLogger("flowview_async.server.services")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise InvalidArgumentError(f"ServiceSettings.{attribute.name} must be > 0, not {value!r}")


@attrs.frozen
class ServiceSettings:
    """Which services run, and how often (Prefect Server's defaults)."""

    scheduler: bool = True
    zombie_killer: bool = True
    scheduler_interval_s: float = attrs.field(default=150.0, validator=_positive)
    zombie_killer_interval_s: float = attrs.field(default=120.0, validator=_positive)
    max_scheduled_runs_per_flow: int = attrs.field(default=DEFAULT_MAX_RUNS, validator=_positive)
    heartbeat_timeout_s: float = attrs.field(default=DEFAULT_HEARTBEAT_TIMEOUT_S, validator=_positive)


async def _loop(name: str, interval_s: float, visit: Callable[[], Awaitable[int]]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await visit()
        except Exception:  # one bad visit must not end the service; cancellation still goes through
            logger.exception("%s: visit failed", name)
        # Next visit `interval` after this one started; never a tight loop when a visit ran long.
        await asyncio.sleep(max(0.0, started + interval_s - loop.time()))


class BackgroundServices:
    """The services of one backend, as tasks; :meth:`start` and :meth:`stop` bracket the serving."""

    def __init__(self, database: Database, settings: ServiceSettings) -> None:
        self._database = database
        self._settings = settings
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        settings, database = self._settings, self._database
        if self._tasks:
            return
        if settings.scheduler:
            self._tasks.append(asyncio.create_task(_loop(
                "scheduler", settings.scheduler_interval_s,
                lambda: run_scheduler_once(database, max_runs=settings.max_scheduled_runs_per_flow),
            ), name="flowview-scheduler"))
        if settings.zombie_killer:
            self._tasks.append(asyncio.create_task(_loop(
                "zombie killer", settings.zombie_killer_interval_s,
                lambda: run_zombie_killer_once(database, heartbeat_timeout_s=settings.heartbeat_timeout_s),
            ), name="flowview-zombie-killer"))

    async def stop(self) -> None:
        """Cancel the services and wait for them to end (before the database closes)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        # return_exceptions: the services' own CancelledError is expected; if stop() itself is
        # cancelled, gather still raises it here.
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def running(self) -> list[str]:
        return [task.get_name() for task in self._tasks if not task.done()]

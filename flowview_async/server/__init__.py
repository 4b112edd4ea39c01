"""The local backend: a Prefect Server 1.x-compatible GraphQL API on SQLite, for tests and demos.

It stands apart from the SDK: it imports nothing from it except :mod:`flowview_async.errors`, and the
SDK imports nothing from here. Start it with :class:`LocalBackend` (Python), the
``flowview_backend`` pytest fixture (:mod:`.testing`) or ``flowview serve`` (CLI).
"""

from __future__ import annotations

from flowview_async.server.app import ServedRequest, create_app
from flowview_async.server.database import Database
from flowview_async.server.faults import FaultPlan
from flowview_async.server.fixtures import load_fixture, shipped_fixture_names, shipped_fixture_path
from flowview_async.server.runner import LocalBackend

__all__ = [
    "Database",
    "FaultPlan",
    "LocalBackend",
    "ServedRequest",
    "create_app",
    "load_fixture",
    "shipped_fixture_names",
    "shipped_fixture_path",
]

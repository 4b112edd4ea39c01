"""SQLite storage of the local backend, driven from asyncio without blocking the event loop.

One worker thread owns the connection and runs every call, one after another. That gives three
things at once: the loop never waits on SQLite, an in-memory database (which lives in exactly one
connection) can be shared by all requests, and a write transaction passed in as one function can
never interleave with a read, so readers never see a half-loaded fixture.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from flowview_async.server import sqlfunctions
from flowview_async.server.tables import Table, all_tables, insertion_order

T = TypeVar("T")

# Indexes on the columns the Prefect clients filter and sort by; one per access path.
_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("flow", ("project_id",)),
    ("flow", ("flow_group_id",)),
    ("flow", ("name",)),
    ("task", ("flow_id", "slug")),
    ("edge", ("flow_id",)),
    ("flow_run", ("flow_id",)),
    ("flow_run", ("name",)),
    ("flow_run", ("scheduled_start_time",)),
    # The agents' queue: runs in a waiting state whose start time has come.
    ("flow_run", ("state", "state_start_time")),
    ("task_run", ("flow_run_id", "map_index")),
    ("task_run", ("task_id", "map_index")),
    ("flow_run_state", ("flow_run_id", "timestamp")),
    ("task_run_state", ("task_run_id", "timestamp")),
    ("log", ("flow_run_id", "timestamp")),
    ("log", ("task_run_id", "timestamp")),
    ("task_run_artifact", ("task_run_id",)),
)


def _consume_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def quote(identifier: str) -> str:
    """A SQL identifier; every name comes from the SDL, quoting guards words like "timestamp"."""
    return '"' + identifier.replace('"', '""') + '"'


def create_indexes(connection: sqlite3.Connection, table: str | None = None) -> None:
    """Create the indexes (of one table, or all) if missing."""
    for table_name, columns in _INDEXES:
        if table is None or table_name == table:
            cols = ", ".join(quote(column) for column in columns)
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(index_name(table_name, columns))} "
                f"ON {quote(table_name)} ({cols})"
            )


def drop_indexes(connection: sqlite3.Connection, table: str) -> None:
    """Drop the secondary indexes of ``table`` (bulk loads rebuild them afterwards, faster)."""
    for table_name, columns in _INDEXES:
        if table_name == table:
            connection.execute(f"DROP INDEX IF EXISTS {quote(index_name(table_name, columns))}")


def index_name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def _create_table_sql(table: Table) -> str:
    columns = []
    for column in table.columns.values():
        definition = f"{quote(column.name)} {column.sql_type}"
        if column.name == "id":
            definition += " PRIMARY KEY NOT NULL"
        elif not column.nullable:
            definition += " NOT NULL"
        columns.append(definition)
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} ({', '.join(columns)})"


class Database:
    """The Prefect Server tables in SQLite: in memory by default, or in the file ``path``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = os.fspath(path) if path is not None else ":memory:"
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    @property
    def path(self) -> str:
        return self._path

    async def open(self) -> None:
        """Connect, create the tables and indexes if missing, and register the SQL functions."""
        if self._executor is not None:
            return
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="flowview-sqlite"
        )
        await self._submit(self._connect)

    def _connect(self) -> None:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a fixture load is one
        # transaction and reads outside it autocommit.
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        if self._path != ":memory:":
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        sqlfunctions.register(connection)
        tables = all_tables()
        for name in insertion_order():
            connection.execute(_create_table_sql(tables[name]))
        create_indexes(connection)
        self._connection = connection

    async def close(self) -> None:
        """Close the connection (in its own thread) and stop the worker; idempotent."""
        executor = self._executor
        if executor is None:
            return
        try:
            await self._submit(self._disconnect)
        finally:
            self._executor = None
            # The queue is empty now; shutting down only joins an idle thread.
            await asyncio.to_thread(executor.shutdown, wait=True)

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def _submit(self, function: Callable[[], T]) -> T:
        if self._executor is None:
            raise RuntimeError("the local backend database is not open")
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, function)
        # If the awaiting request is cancelled, the call still finishes in the worker (it cannot
        # be interrupted anyway); retrieving its outcome here keeps asyncio from reporting an
        # exception "never retrieved".
        future.add_done_callback(_consume_outcome)
        return await asyncio.shield(future)

    async def run(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``function(connection)`` in the database thread, alone."""

        def call() -> T:
            if self._connection is None:
                raise RuntimeError("the local backend database is not open")
            return function(self._connection)

        return await self._submit(call)

    async def transaction(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``function(connection)`` inside BEGIN/COMMIT; any exception rolls everything back."""

        def call(connection: sqlite3.Connection) -> T:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = function(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return result

        return await self.run(call)

    async def fetch_json(self, sql: str, params: dict[str, Any]) -> Any:
        """Run a statement whose single row and column is JSON text; return it decoded."""

        def call(connection: sqlite3.Connection) -> Any:
            row = connection.execute(sql, params).fetchone()
            return None if row is None or row[0] is None else json.loads(row[0])

        return await self.run(call)

    async def row_count(self) -> int:
        """How many rows all tables hold together (a reopened ``--db`` file is not empty)."""

        def call(connection: sqlite3.Connection) -> int:
            return sum(
                int(connection.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0])
                for name in insertion_order()
            )

        return await self.run(call)

    async def fetch_all(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        def call(connection: sqlite3.Connection) -> list[Any]:
            return connection.execute(sql, params or {}).fetchall()

        return await self.run(call)

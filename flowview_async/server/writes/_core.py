"""What every write shares: the error type, the transaction handle and the resolver wrapper.

Each mutation is a plain function ``write(tx, input) -> payload`` run by :func:`mutation_resolver`
as ONE transaction on the database thread (:meth:`Database.transaction`). That thread owns SQLite
and runs one call at a time, so a write never interleaves with another write or a read: a
get-or-create is atomic without locks, and an exception anywhere rolls the whole mutation back.
"""

from __future__ import annotations

import contextvars
import json
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
from graphql import GraphQLError, GraphQLResolveInfo

from flowview_async.server.database import quote
from flowview_async.server.tables import Generated, Table, all_tables
from flowview_async.server.values import canonical_json, normalize_uuid, to_storage, utc_now

if TYPE_CHECKING:
    Info: TypeAlias = GraphQLResolveInfo[Any]

# Apollo labels every error of Prefect's Python service so; clients match on the message.
INTERNAL_ERROR = "INTERNAL_SERVER_ERROR"
# The code Prefect 1.4.1's Client turns into VersionLockMismatchSignal.
VERSION_LOCKING_ERROR = "VERSION_LOCKING_ERROR"


class WriteError(Exception):
    """A refused write: ``message`` is Prefect Server's own wording, ``code`` its extension code."""

    def __init__(self, message: str, code: str = INTERNAL_ERROR) -> None:
        super().__init__(message)
        self.code = code


@attrs.define
class Tx:
    """One write transaction: the connection, one clock reading and the request's Prefect headers.

    ``now`` is read once per mutation, so every row a mutation writes carries the same time.
    ``headers`` holds the request's ``x-prefect-*`` headers, names in lower case.
    """

    connection: sqlite3.Connection
    now: str
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def agent_id(self) -> str | None:
        """The registered agent sending this request (``X-Prefect-Agent-Id``), if any."""
        value = self.headers.get("x-prefect-agent-id")
        try:
            return normalize_uuid(value) if value else None
        except ValueError:
            return None

    def one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Row | None:
        cursor = self.connection.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        row: sqlite3.Row | None = cursor.fetchone()
        return row

    def all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        cursor = self.connection.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return list(cursor.fetchall())

    def run(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Execute one statement; the number of rows it changed."""
        return self.connection.execute(sql, params).rowcount

    def insert(self, table_name: str, values: Mapping[str, Any]) -> str:
        """Insert one row with the table's defaults for what is left out; returns its id.

        Values are Python values (dicts/lists for jsonb), converted like fixture values.
        """
        table = all_tables()[table_name]
        row = _with_defaults(table, values, self.now)
        columns = list(row)
        placeholders = ", ".join("?" for _ in columns)
        self.connection.execute(
            f"INSERT INTO {quote(table_name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({placeholders})",
            [row[c] for c in columns],
        )
        return str(row.get("id", ""))

    def insert_many(self, table_name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows that all give the same columns, in one ``executemany``.

        For rows the backend builds itself: ids and timestamps must already be in their stored
        form (they are not parsed again, which is most of the cost of :meth:`insert`); jsonb
        values are encoded, each distinct object once.
        """
        if not rows:
            return
        table = all_tables()[table_name]
        template = _with_defaults(table, {}, self.now)
        columns = list(dict.fromkeys([*template, *rows[0]]))
        unknown = set(columns) - set(table.columns)
        if unknown:
            raise RuntimeError(f"{table.name} has no column(s) {sorted(unknown)}")
        encoded: dict[int, str] = {}

        def value(name: str, given: Mapping[str, Any]) -> Any:
            if name not in given:
                return str(uuid.uuid4()) if name == "id" else template[name]
            item = given[name]
            scalar = table.columns[name].scalar
            if scalar == "jsonb" and item is not None:
                if id(item) not in encoded:
                    encoded[id(item)] = canonical_json(item)
                return encoded[id(item)]
            return int(item) if scalar == "Boolean" and item is not None else item

        self.connection.executemany(
            f"INSERT INTO {quote(table_name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            [[value(name, row) for name in columns] for row in rows],
        )

    def update(self, table_name: str, row_id: str, values: Mapping[str, Any]) -> bool:
        """Update columns of one row by id (``updated`` too); whether the row exists."""
        table = all_tables()[table_name]
        stored = {name: _stored(table, name, value) for name, value in values.items()}
        if "updated" in table.columns:
            stored.setdefault("updated", self.now)
        assignments = ", ".join(f"{quote(name)} = ?" for name in stored)
        changed = self.run(
            f"UPDATE {quote(table_name)} SET {assignments} WHERE id = ?", [*stored.values(), row_id]
        )
        return changed > 0


def _stored(table: Table, name: str, value: Any) -> Any:
    if value is None:
        return None
    return to_storage(table.columns[name].scalar, value)


def _with_defaults(table: Table, values: Mapping[str, Any], now: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, column in table.columns.items():
        if name in values:
            row[name] = _stored(table, name, values[name])
        elif column.has_default:
            default = column.default
            if default is Generated.UUID4:
                row[name] = str(uuid.uuid4())
            elif default is Generated.NOW:
                row[name] = now
            else:
                row[name] = _stored(table, name, default)
    unknown = set(values) - set(table.columns)
    if unknown:
        raise RuntimeError(f"{table.name} has no column(s) {sorted(unknown)}")
    return row


def load_json(text: str | None) -> Any:
    """A stored jsonb value (text) as Python, None for NULL."""
    return None if text is None else json.loads(text)


def dump_json(value: Any) -> str:
    return canonical_json(value)


def as_uuid(value: Any, message: str) -> str:
    """An id from the input; a malformed one is refused with ``message`` (Server's wording)."""
    if value is None:
        raise WriteError(message)
    try:
        return normalize_uuid(value)
    except ValueError:
        raise WriteError(message) from None


# The x-prefect-* headers of the request being served (set by the HTTP handler; the resolvers run
# in the handler's task, so they see it). Apollo forwards only these to Prefect's Python service.
PREFECT_HEADERS: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "flowview_prefect_headers", default=None
)


def prefect_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``x-prefect-*`` headers among ``headers``, names in lower case."""
    return {key.lower(): value for key, value in headers.items() if key.lower().startswith("x-prefect")}


Write: TypeAlias = Callable[[Tx, dict[str, Any]], Any]


def _graphql_error(error: WriteError, info: Info) -> GraphQLError:
    return GraphQLError(
        str(error), info.field_nodes, path=info.path.as_list(), extensions={"code": error.code}
    )


def mutation_resolver(write: Write) -> Callable[..., Any]:
    """The graphql-core resolver running ``write`` as one transaction with the request's input."""

    async def resolve(_root: Any, info: Info, input: dict[str, Any] | None = None) -> Any:
        context = info.context
        headers = PREFECT_HEADERS.get() or {}
        arguments = dict(input or {})

        def transaction(connection: sqlite3.Connection) -> Any:
            return write(Tx(connection, utc_now(), headers), arguments)

        try:
            return await context.database.transaction(transaction)
        except WriteError as error:
            raise _graphql_error(error, info) from None

    return resolve

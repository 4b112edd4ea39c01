"""Seeding the local backend from JSON fixtures.

A fixture is a JSON object: keys are Prefect Server table names, values are lists of rows keyed by
column names, for example::

    {"project": [{"id": "...", "name": "default"}],
     "flow_run": [{"id": "...", "flow_id": "...", "name": "woodoo-leopard", "state": "Success"}]}

Columns left out take the server's defaults (ids are random uuids, ``created``/``updated`` the load
time...). Run rows and state rows are kept consistent as the server's triggers would
(:mod:`flowview_async.server.states`). Every row is checked before anything is written: an unknown
table or column, a value of the wrong type, a missing required column or a dangling foreign key
raises :class:`~flowview_async.errors.FixtureError` naming the table, the row index and the column,
and the whole fixture is loaded in one transaction, so a refused fixture leaves nothing behind.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from flowview_async.errors import FixtureError
from flowview_async.server.database import Database, quote
from flowview_async.server.payloads import json_depth
from flowview_async.server.states import (
    RUN_TABLES,
    StateError,
    apply_latest_state,
    complete_state_columns,
    state_row_from_run,
)
from flowview_async.server.tables import Generated, Table, all_tables, insertion_order
from flowview_async.server.values import to_storage, utc_now

FixtureSource = str | Path | Mapping[str, Any]
MAX_FIXTURE_DEPTH = 200
_SQLITE_MAX_INT = 2**63 - 1
_SQLITE_MIN_INT = -(2**63)
_SCALAR_DESCRIPTIONS = {
    "uuid": "a uuid string",
    "timestamptz": "an ISO 8601 timestamp string",
    "jsonb": "any JSON value",
    "Boolean": "true or false",
    "Int": "an integer",
    "Float": "a number",
    "String": "a string",
    "interval": "an interval string such as '00:00:10'",
}


def shipped_fixture_names() -> list[str]:
    """Names of the fixtures shipped with the package (``inspecting-flow-runs``, ...)."""
    folder = resources.files("flowview_async") / "server" / "fixtures"
    return sorted(
        entry.name.removesuffix(".json").replace("_", "-")
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    )


def shipped_fixture_path(name: str) -> Path:
    """The file of a shipped fixture, e.g. ``shipped_fixture_path("inspecting-flow-runs")``."""
    file_name = name.replace("-", "_") + ".json"
    path = Path(str(resources.files("flowview_async") / "server" / "fixtures" / file_name))
    if not path.is_file():
        raise FixtureError(
            f"there is no shipped fixture named {name!r}; shipped fixtures: "
            f"{', '.join(shipped_fixture_names())} (or pass the path of a JSON file)"
        )
    return path


def read_fixture(source: FixtureSource) -> dict[str, Any]:
    """The fixture document of ``source``: a shipped name, a JSON file path, or a mapping."""
    if isinstance(source, Mapping):
        _check_depth(source, "the fixture")
        return copy.deepcopy(dict(source))
    path = Path(source)
    if isinstance(source, str) and not path.suffix and not path.exists():
        path = shipped_fixture_path(source)
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        raise FixtureError(f"cannot read fixture file {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise FixtureError(
            f"fixture file {str(path)!r} is not UTF-8 text (byte {error.start}): save it as UTF-8 JSON"
        ) from None
    try:
        document = json.loads(text)
    except RecursionError:
        raise FixtureError(
            f"fixture file {str(path)!r} nests JSON too deeply to be read; flatten its values"
        ) from None
    except ValueError as error:
        raise FixtureError(f"fixture file {str(path)!r} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise FixtureError(
            f"fixture file {str(path)!r} must hold a JSON object of table name -> list of rows"
        )
    _check_depth(document, f"fixture file {str(path)!r}")
    return document


def _check_depth(document: Mapping[str, Any], what: str) -> None:
    # Deeper values would overflow the recursion of copying, storing or serving them.
    if json_depth(document) > MAX_FIXTURE_DEPTH:
        raise FixtureError(
            f"{what} nests values deeper than {MAX_FIXTURE_DEPTH} levels; flatten its values"
        )


class _Rows:
    """The fixture's rows per table, with the location of each row for error messages."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        tables = all_tables()
        self.rows: dict[str, list[dict[str, Any]]] = {}
        for name, rows in document.items():
            if name not in tables:
                raise FixtureError(
                    f"fixture table {name!r} is not a Prefect Server table; known tables: "
                    f"{', '.join(sorted(tables))}"
                )
            if not isinstance(rows, list):
                raise FixtureError(f"fixture table {name!r} must be a list of rows (JSON objects)")
            for index, row in enumerate(rows):
                if not isinstance(row, dict):
                    raise FixtureError(f"{name}[{index}]: a row must be a JSON object")
                for column in row:
                    if column not in tables[name].columns:
                        raise FixtureError(
                            f"{name}[{index}].{column}: {name} has no column {column!r}; its "
                            f"columns are {', '.join(tables[name].columns)}"
                        )
            self.rows[name] = [dict(row) for row in rows]

    def of(self, table: str) -> list[dict[str, Any]]:
        return self.rows.setdefault(table, [])


def _sync_states(rows: _Rows, now: str) -> None:
    for run_table, (state_table, foreign_key) in RUN_TABLES.items():
        states_by_run: dict[Any, list[dict[str, Any]]] = {}
        for index, state in enumerate(rows.of(state_table)):
            try:
                complete_state_columns(
                    state, state_key="state", message_key="message", start_key="start_time"
                )
            except StateError as error:
                raise FixtureError(f"{state_table}[{index}].{error.column}: {error}") from None
            if state.get("state") is None:
                raise FixtureError(
                    f"{state_table}[{index}].serialized_state: a state row needs "
                    "serialized_state (or at least state)"
                )
            states_by_run.setdefault(str(state.get(foreign_key)).lower(), []).append(state)
        for group in states_by_run.values():
            for position, state in enumerate(group, start=1):
                state.setdefault("version", position)
        for index, run in enumerate(rows.of(run_table)):
            run.setdefault("id", str(uuid.uuid4()))
            try:
                complete_state_columns(
                    run,
                    state_key="state",
                    message_key="state_message",
                    start_key="state_start_time",
                )
                history = states_by_run.get(str(run["id"]).lower())
                if history and run.get("serialized_state") is None:
                    apply_latest_state(run, history, now)
                elif run.get("serialized_state") is not None and not history:
                    run.setdefault("version", 1)
                    rows.of(state_table).append(state_row_from_run(run, foreign_key, now))
            except StateError as error:
                raise FixtureError(f"{run_table}[{index}].{error.column}: {error}") from None


def _storage_row(table: Table, index: int, row: Mapping[str, Any], now: str) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    for column in table.columns.values():
        where = f"{table.name}[{index}].{column.name}"
        value = row.get(column.name)
        if value is None and column.name not in row and column.has_default:
            value = column.default
            if value is Generated.UUID4:
                value = str(uuid.uuid4())
            elif value is Generated.NOW:
                value = now
        if value is None:
            if not column.nullable:
                raise FixtureError(f"{where}: this column is required (NOT NULL, no default)")
            stored[column.name] = None
            continue
        try:
            stored[column.name] = to_storage(column.scalar, value)
        except OverflowError:
            raise FixtureError(
                f"{where}: {value!r} is out of range (a timestamp must stay within years "
                "1..9999 once converted to UTC)"
            ) from None
        except ValueError as error:
            expected = _SCALAR_DESCRIPTIONS[column.scalar]
            raise FixtureError(f"{where}: {error}; expected {expected}") from None
        except RecursionError:
            raise FixtureError(f"{where}: the value nests too deeply to be stored; flatten it") from None
        if column.scalar == "Int" and not _SQLITE_MIN_INT <= stored[column.name] <= _SQLITE_MAX_INT:
            raise FixtureError(f"{where}: {value} does not fit a 64-bit integer column")
    return stored


def prepare_fixture(document: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Validate ``document`` and return its rows in stored form, defaults and states filled in.

    Checks everything that does not need the database; foreign keys are checked at insert time.
    """
    now = utc_now()
    rows = _Rows(document)
    _sync_states(rows, now)
    tables = all_tables()
    prepared: dict[str, list[dict[str, Any]]] = {}
    for name in insertion_order():
        if rows.of(name):
            prepared[name] = [
                _storage_row(tables[name], index, row, now) for index, row in enumerate(rows.of(name))
            ]
    for name, table_rows in prepared.items():
        if "id" in tables[name].columns:
            seen: dict[str, int] = {}
            for index, row in enumerate(table_rows):
                if row["id"] in seen:
                    raise FixtureError(
                        f"{name}[{index}].id: id {row['id']} is already used by {name}[{seen[row['id']]}]"
                    )
                seen[row["id"]] = index
    return prepared


def _existing_ids(connection: sqlite3.Connection, table: str, ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(
            row[0]
            for row in connection.execute(f"SELECT id FROM {quote(table)} WHERE id IN ({marks})", chunk)
        )
    return found


def insert_prepared(
    connection: sqlite3.Connection, prepared: Mapping[str, list[dict[str, Any]]]
) -> dict[str, int]:
    """Check keys against the database and insert; call inside a transaction."""
    tables = all_tables()
    for name, rows in prepared.items():
        table = tables[name]
        if "id" in table.columns:
            clashes = _existing_ids(connection, name, (row["id"] for row in rows))
            for index, row in enumerate(rows):
                if row["id"] in clashes:
                    raise FixtureError(f"{name}[{index}].id: a {name} with id {row['id']} is already loaded")
        for column, target in table.foreign_keys().items():
            in_fixture = {row["id"] for row in prepared.get(target, [])}
            referenced = {row[column] for row in rows if row[column] is not None}
            known = in_fixture | _existing_ids(connection, target, referenced - in_fixture)
            for index, row in enumerate(rows):
                if row[column] is not None and row[column] not in known:
                    raise FixtureError(
                        f"{name}[{index}].{column}: no {target} has id {row[column]} "
                        "(neither in this fixture nor already loaded)"
                    )
    counts: dict[str, int] = {}
    for name, rows in prepared.items():
        columns = list(tables[name].columns)
        statement = (
            f"INSERT INTO {quote(name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        try:
            connection.executemany(statement, ([row[c] for c in columns] for row in rows))
        except sqlite3.IntegrityError as error:
            raise FixtureError(f"{name}: the database refused the rows: {error}") from None
        counts[name] = len(rows)
    return counts


async def load_fixture(database: Database, source: FixtureSource) -> dict[str, int]:
    """Validate and load a fixture into ``database``, all or nothing; returns rows per table."""
    prepared = prepare_fixture(read_fixture(source))
    return await database.transaction(lambda connection: insert_prepared(connection, prepared))

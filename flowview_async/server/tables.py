"""Table and column metadata of the Prefect Server database, derived from the bundled SDL.

Hasura generates one GraphQL object type per tracked table, so the SDL already says which tables
exist, their columns (scalar fields), their nullability (``!``) and their relationships (object and
list fields pointing at other table types). What the SDL cannot say is the column defaults and the
foreign-key column behind each relationship; those come from the migrations summarised in
prefect_server_schema.md §4 and are written down here.
"""

from __future__ import annotations

import enum
import functools
from typing import Any, Literal

import attrs
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)

from flowview_async.server.schema import build_server_schema


class Generated(enum.Enum):
    """Defaults computed at insert time rather than literal values."""

    UUID4 = "uuid4"
    NOW = "now"


# Literal defaults (Python values, jsonb as JSON values) per table; "*" applies to every table
# that has the column. Taken from the DDL in prefect_server_schema.md §4.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "*": {"id": Generated.UUID4, "created": Generated.NOW, "updated": Generated.NOW},
    "flow_run": {
        "parameters": {},
        "scheduled_start_time": Generated.NOW,
        "auto_scheduled": False,
        "version": 0,
        "times_resurrected": 0,
        "labels": [],
    },
    "task_run": {"map_index": -1, "version": 0},
    "flow_run_state": {"timestamp": Generated.NOW, "version": 1},
    "task_run_state": {"timestamp": Generated.NOW, "version": 1},
    "log": {"timestamp": Generated.NOW, "level": "INFO", "is_loaded_from_archive": False},
    "flow": {"parameters": {}, "archived": False, "settings": {}, "is_schedule_active": False},
    "flow_group": {"settings": {}, "default_parameters": {}},
    "task": {
        "mapped": False,
        "auto_generated": False,
        "is_root_task": False,
        "is_terminal_task": False,
        "is_reference_task": False,
        "tags": [],
    },
    "agent": {"labels": [], "last_queried": Generated.NOW},
    "tenant": {"settings": {}},
    "edge": {"mapped": False},
    "cloud_hook": {"active": True},
    "message": {"read": False},
}

# Foreign keys Hasura exposes no relationship for (``log.flow_run`` does not exist in the API), but
# the database still enforces them, so fixtures must not dangle there either.
_FOREIGN_KEYS_WITHOUT_RELATIONSHIP: dict[str, dict[str, str]] = {
    "log": {"flow_run_id": "flow_run", "task_run_id": "task_run"},
}

# Array relationships whose foreign key is not named after the parent table.
_ARRAY_FK_OVERRIDES: dict[tuple[str, str], str] = {
    ("task", "downstream_edges"): "upstream_task_id",
    ("task", "upstream_edges"): "downstream_task_id",
}

ScalarName = Literal["uuid", "String", "Int", "Float", "Boolean", "timestamptz", "jsonb", "interval"]
_KNOWN_SCALARS = frozenset({"uuid", "String", "Int", "Float", "Boolean", "timestamptz", "jsonb", "interval"})


@attrs.frozen
class Column:
    """One column: its GraphQL scalar type, whether it may be NULL, and its default."""

    name: str
    scalar: str
    nullable: bool
    default: Any = None
    has_default: bool = False

    @property
    def sql_type(self) -> str:
        return {"Int": "INTEGER", "Boolean": "INTEGER", "Float": "REAL"}.get(self.scalar, "TEXT")


@attrs.frozen
class Relationship:
    """A Hasura relationship: ``object`` (many-to-one) or ``array`` (one-to-many)."""

    name: str
    kind: Literal["object", "array"]
    target: str
    local_column: str
    remote_column: str


@attrs.frozen
class Table:
    """A tracked table: its columns (in SDL order) and relationships by field name."""

    name: str
    columns: dict[str, Column]
    relationships: dict[str, Relationship]

    @property
    def has_primary_key(self) -> bool:
        return "id" in self.columns

    def foreign_keys(self) -> dict[str, str]:
        """Columns of this table that point at another table's ``id``: column -> target table."""
        keys = {rel.local_column: rel.target for rel in self.relationships.values() if rel.kind == "object"}
        keys.update(_FOREIGN_KEYS_WITHOUT_RELATIONSHIP.get(self.name, {}))
        return keys


def _is_table_type(schema: GraphQLSchema, name: str) -> bool:
    query = schema.query_type
    return (
        query is not None
        and name in query.fields
        and f"{name}_bool_exp" in schema.type_map
        and isinstance(schema.type_map.get(name), GraphQLObjectType)
    )


def _build_table(schema: GraphQLSchema, name: str, table_names: set[str]) -> Table:
    object_type = schema.type_map[name]
    assert isinstance(object_type, GraphQLObjectType)
    defaults = {**_DEFAULTS["*"], **_DEFAULTS.get(name, {})}
    columns: dict[str, Column] = {}
    relationships: dict[str, Relationship] = {}
    for field_name, field in object_type.fields.items():
        named = get_named_type(field.type)
        if isinstance(named, GraphQLScalarType):
            if named.name not in _KNOWN_SCALARS:
                raise RuntimeError(f"{name}.{field_name}: unexpected scalar {named.name}")
            columns[field_name] = Column(
                name=field_name,
                scalar=named.name,
                nullable=not isinstance(field.type, GraphQLNonNull),
                default=defaults.get(field_name),
                has_default=field_name in defaults,
            )
        elif named.name in table_names:
            inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if isinstance(inner, GraphQLList):
                remote = _ARRAY_FK_OVERRIDES.get((name, field_name), f"{name}_id")
                relationships[field_name] = Relationship(field_name, "array", named.name, "id", remote)
            else:
                relationships[field_name] = Relationship(
                    field_name, "object", named.name, f"{field_name}_id", "id"
                )
    return Table(name=name, columns=columns, relationships=relationships)


@functools.cache
def all_tables() -> dict[str, Table]:
    """Every tracked table, by name, with relationships checked against the column lists."""
    schema = build_server_schema()
    names = {name for name in schema.type_map if _is_table_type(schema, name)}
    tables = {name: _build_table(schema, name, names) for name in sorted(names)}
    for table in tables.values():
        for rel in table.relationships.values():
            target = tables[rel.target]
            if rel.local_column not in table.columns or rel.remote_column not in target.columns:
                raise RuntimeError(f"relationship {table.name}.{rel.name} has no usable key")
    return tables


def insertion_order() -> list[str]:
    """Table names ordered so that every table comes after the tables its foreign keys point at."""
    tables = all_tables()
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:
            return
        visiting.add(name)
        for target in tables[name].foreign_keys().values():
            if target != name:
                visit(target)
        visiting.discard(name)
        ordered.append(name)

    for name in tables:
        visit(name)
    return ordered

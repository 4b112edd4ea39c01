"""Resolvers of the Query root: generic table fields plus the Prefect Python-layer fields.

Table fields (``<t>``, ``<t>_aggregate``, ``<t>_by_pk``) compile their whole subtree into one SQL
statement (:mod:`flowview_async.server.hasura`) and return the decoded JSON; nested fields then only
pick values by response key (:func:`field_resolver`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema

from flowview_async.server.database import Database
from flowview_async.server.hasura import Compiler, QueryError
from flowview_async.server.selection import QueryContext, SelectedField
from flowview_async.server.states import STATE_PARENTS
from flowview_async.server.tables import Table, all_tables
from flowview_async.server.values import normalize_uuid
from flowview_async.server.writes import attach_mutations

if TYPE_CHECKING:
    # Generic in graphql-core 3.3, a plain NamedTuple in 3.2: only subscript it for the checker.
    Info: TypeAlias = GraphQLResolveInfo[Any]

SERVER_VERSION = "2022.09.23"
PREFECT_CORE_VERSION = "1.4.1"

STATE_COLORS = {
    "Failed": "#eb0000",
    "Pending": "#d3d3d3",
    "Scheduled": "#ffd700",
    "Retrying": "#FFFF00",
    "Resume": "#ffd700",
    "Queued": "#ffd700",
    "Submitted": "#ffd700",
    "Paused": "#99CCFF",
    "Running": "#00ffff",
    "Finished": "#003ccb",
    "Success": "#008000",
    "Cancelled": "#bdbdbd",
    "Cached": "#ffa500",
    "TriggerFailed": "#c42800",
    "Skipped": "#f0fff0",
    "TimedOut": "#cdff00",
    "Mapped": "#97f9fe",
    "Looped": "#bdbdbd",
    "Cancelling": "#bdbdbd",
    "ClientFailed": "#eb0000",
    "ValidationFailed": "#eb0000",
}


@attrs.frozen
class RequestContext:
    """Per-request values graphql-core hands to every resolver as ``info.context``."""

    database: Database
    raw_variables: Mapping[str, Any]


def field_resolver(source: Any, info: Info, **_: Any) -> Any:
    """Nested values were built by SQL under their response keys (aliases included)."""
    if isinstance(source, Mapping):
        return source.get(info.path.key)
    return getattr(source, info.field_name, None)


def _query_context(info: Info) -> QueryContext:
    context: RequestContext = info.context
    return QueryContext(
        schema=info.schema,
        fragments=info.fragments,
        variable_values=info.variable_values,
        raw_variables=context.raw_variables,
    )


def _root_field(info: Info) -> SelectedField:
    definition = info.parent_type.fields[info.field_name]
    # Re-read the arguments through QueryContext so order_by keeps its written key order.
    arguments = _query_context(info).arguments(definition, info.field_nodes[0])
    nodes = tuple(info.field_nodes)
    return SelectedField(str(info.path.key), info.field_name, definition, arguments, nodes)


def _as_graphql_error(error: QueryError, info: Info) -> GraphQLError:
    # Hasura reports execution errors with a JSON path and a code; Apollo passes them through.
    return GraphQLError(
        error.message,
        info.field_nodes,
        path=info.path.as_list(),
        extensions={
            "path": f"$.selectionSet.{info.field_name}",
            "code": error.code,
            "exception": {"message": error.message},
        },
    )


def _table_resolver(
    table: Table, build: Callable[[Compiler, Table, SelectedField], str]
) -> Callable[..., Awaitable[Any]]:
    async def resolve(_root: Any, info: Info, **_: Any) -> Any:
        context: RequestContext = info.context
        compiler = Compiler(_query_context(info), all_tables())
        try:
            sql = build(compiler, table, _root_field(info))
        except QueryError as error:
            raise _as_graphql_error(error, info) from None
        try:
            return await context.database.fetch_json(sql, compiler.params)
        except sqlite3.OperationalError as error:
            if "parser stack overflow" not in str(error):
                raise
            # One statement per root field: SQLite's parser caps how deeply array relationships
            # can nest in it (five levels below the root field).
            raise _as_graphql_error(
                QueryError(
                    "this query nests array relationships too deeply for the local backend "
                    "(at most 5 levels below a root field); split it into several queries",
                    "not-supported",
                ),
                info,
            ) from None

    return resolve


# utility.downstream_tasks / upstream_tasks: every task reachable from the start tasks along edges,
# with its depth (longest path found within depth_limit), as rows of utility_traversal.
_TRAVERSAL_SQL = """
WITH RECURSIVE walk(task_id, depth) AS (
  SELECT id, 0 FROM task WHERE id IN (SELECT value FROM json_each(:fn_start_task_ids))
  UNION
  SELECT edge.{step_to}, walk.depth + 1 FROM walk JOIN edge ON edge.{step_from} = walk.task_id
  WHERE walk.depth < :fn_depth_limit
)
SELECT task.tenant_id AS tenant_id, walk.task_id AS task_id, max(walk.depth) AS depth,
       row_number() OVER (ORDER BY max(walk.depth), walk.task_id) AS rowid
FROM walk JOIN task ON task.id = walk.task_id GROUP BY walk.task_id
"""


def _uuid_array(value: Any) -> list[str]:
    """A Postgres ``uuid[]`` input: the literal ``{id1,id2}`` or a JSON list of ids."""
    items = value
    if isinstance(value, str):
        text = value.strip()
        if not (text.startswith("{") and text.endswith("}")):
            raise QueryError(f'malformed array literal: "{value}"')
        items = [item.strip().strip('"') for item in text[1:-1].split(",") if item.strip()]
    if not isinstance(items, list):
        raise QueryError(f'malformed array literal: "{value}"')
    try:
        return [normalize_uuid(item) for item in items]
    except ValueError as error:
        raise QueryError(str(error)) from None


def _traversal_resolver(direction: str) -> Callable[..., Awaitable[Any]]:
    step_from, step_to = (
        ("upstream_task_id", "downstream_task_id")
        if direction == "downstream"
        else ("downstream_task_id", "upstream_task_id")
    )
    source = _TRAVERSAL_SQL.format(step_from=step_from, step_to=step_to)

    async def resolve(_root: Any, info: Info, **_: Any) -> Any:
        context: RequestContext = info.context
        compiler = Compiler(_query_context(info), all_tables())
        try:
            field = _root_field(info)
            args = field.arguments.get("args") or {}
            params = {
                "fn_start_task_ids": json.dumps(_uuid_array(args.get("start_task_ids") or "{}")),
                "fn_depth_limit": args.get("depth_limit") if args.get("depth_limit") is not None else 50,
            }
            table = all_tables()["utility_traversal"]
            sql = compiler.select_function_rows(table, field, source, params)
        except QueryError as error:
            raise _as_graphql_error(error, info) from None
        return await context.database.fetch_json(sql, compiler.params)

    return resolve


def _task_run_uuid(task_run_id: str) -> str:
    """The Python-layer fields refuse a malformed id with Prefect Server's own message."""
    try:
        return normalize_uuid(task_run_id)
    except ValueError:
        raise GraphQLError("Invalid task run ID") from None


async def _mapped_children(_root: Any, info: Info, task_run_id: str) -> Any:
    context: RequestContext = info.context
    run_id = _task_run_uuid(task_run_id)
    rows = await context.database.fetch_all(
        """
        SELECT min(c.start_time), max(c.end_time), c.state, count(*)
        FROM task_run AS p JOIN task_run AS c
          ON c.flow_run_id = p.flow_run_id AND c.task_id = p.task_id AND c.map_index != -1
        WHERE p.id = :id AND p.map_index < 0 GROUP BY c.state
        """,
        {"id": run_id},
    )
    starts = [row[0] for row in rows if row[0] is not None]
    ends = [row[1] for row in rows if row[1] is not None]
    return {
        "min_start_time": min(starts) if starts else None,
        "max_end_time": max(ends) if ends else None,
        "state_counts": {row[2]: row[3] for row in rows if row[2] is not None},
    }


async def _get_task_run_info(_root: Any, info: Info, task_run_id: str) -> Any:
    context: RequestContext = info.context
    run_id = _task_run_uuid(task_run_id)
    found = await context.database.fetch_json(
        "SELECT json_object('id', id, 'version', version, 'state', state, "
        "'serialized_state', json(serialized_state)) FROM task_run WHERE id = :id",
        {"id": run_id},
    )
    if found is None:
        raise GraphQLError("Invalid task run ID")
    return found


def attach_resolvers(schema: GraphQLSchema) -> None:
    """Set ``resolve`` on every Query field the local backend answers, and on every Mutation."""
    query = schema.query_type
    assert query is not None
    builders: dict[str, Callable[[Compiler, Table, SelectedField], str]] = {
        "": Compiler.select_rows,
        "_aggregate": Compiler.select_aggregate,
        "_by_pk": Compiler.select_by_pk,
    }
    for table in all_tables().values():
        for suffix, build in builders.items():
            field = query.fields.get(table.name + suffix)
            if field is not None:
                field.resolve = _table_resolver(table, build)
    for direction in ("downstream", "upstream"):
        for suffix in ("", "_aggregate"):
            query.fields[f"utility_{direction}_tasks{suffix}"].resolve = _traversal_resolver(direction)
    query.fields["hello"].resolve = lambda *_args, **_kw: "👋"
    query.fields["api"].resolve = lambda *_args, **_kw: {
        "backend": "SERVER",
        "mode": "normal",
        "version": SERVER_VERSION,
        "core_version": PREFECT_CORE_VERSION,
        "release_timestamp": None,
    }
    query.fields["reference_data"].resolve = lambda *_args, **_kw: {
        "state_hierarchy": STATE_PARENTS,
        "state_info": {name: {"color": color} for name, color in STATE_COLORS.items()},
    }
    query.fields["mapped_children"].resolve = _mapped_children
    query.fields["get_task_run_info"].resolve = _get_task_run_info
    attach_mutations(schema)

"""Hasura's query semantics, compiled generically into one SQLite statement per root field.

Every table field takes the same arguments (``where``, ``order_by``, ``limit``, ``offset``,
``distinct_on``), and every relationship and aggregate nests the same way, so nothing here is
written per table: the :class:`~flowview_async.server.tables.Table` metadata drives it. The statement
builds the JSON answer itself (``json_object``/``json_group_array``, relationships as correlated
subqueries), the way Hasura does on Postgres, so filtering, ordering and paging all run in SQLite.

Semantics kept from Hasura v2 as Prefect deploys it:

* ``{_op: null}`` and ``where: null`` are ignored (``HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE``);
  ``_and: []`` is true, ``_or: []`` is false; ``_in: []`` matches nothing, ``_nin: []`` everything.
* a relationship inside ``where`` means "a related row exists that matches".
* ``asc`` sorts nulls last, ``desc`` nulls first, as in Postgres.
* rows come back in insertion order when no ``order_by`` is given (what Postgres returns for a
  freshly loaded table), and that order also breaks ties after the requested keys.
* ``distinct_on`` keeps the first row of each group in ``order_by`` order, whose leading keys must
  be the ``distinct_on`` columns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from graphql import GraphQLObjectType

from flowview_async.server import sqlfunctions
from flowview_async.server.database import quote
from flowview_async.server.selection import QueryContext, SelectedField
from flowview_async.server.tables import Column, Relationship, Table
from flowview_async.server.values import to_storage


class QueryError(Exception):
    """A query that fits the schema but cannot run (bad uuid literal, negative limit...).

    ``code`` follows Hasura's error codes (``data-exception``, ``validation-failed``...).
    """

    def __init__(self, message: str, code: str = "data-exception") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


_DIRECTIONS = {
    "asc": "ASC NULLS LAST",
    "asc_nulls_last": "ASC NULLS LAST",
    "asc_nulls_first": "ASC NULLS FIRST",
    "desc": "DESC NULLS FIRST",
    "desc_nulls_first": "DESC NULLS FIRST",
    "desc_nulls_last": "DESC NULLS LAST",
}

_SIMPLE_OPERATORS = {"_eq": "=", "_neq": "<>", "_gt": ">", "_gte": ">=", "_lt": "<", "_lte": "<="}
# Pattern operators: (kind, case-insensitive, negated). See _pattern for how each kind runs.
_PATTERN_OPERATORS = {
    "_like": ("like", False, False),
    "_nlike": ("like", False, True),
    "_ilike": ("like", True, False),
    "_nilike": ("like", True, True),
    "_similar": ("similar", False, False),
    "_nsimilar": ("similar", False, True),
    "_regex": ("regex", False, False),
    "_nregex": ("regex", False, True),
    "_iregex": ("regex", True, False),
    "_niregex": ("regex", True, True),
}
# Longest pattern accepted: matching is linear in the text, but also proportional to the pattern.
MAX_PATTERN_LENGTH = 2_000
# SQLite joins at most 64 tables in one FROM; object relationships of one row are LEFT JOINs.
_MAX_JOINS = 60
# json_object() takes at most 127 arguments in a default SQLite build: 60 key/value pairs per call.
_PAIRS_PER_CALL = 60


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Compiler:
    """Builds the SQL of one root field; ``params`` holds the bound values afterwards."""

    def __init__(self, context: QueryContext, tables: Mapping[str, Table]) -> None:
        self._context = context
        self._tables = tables
        self._aliases = 0
        self.params: dict[str, Any] = {}
        # Tables read from a derived source instead (the traversal functions' result rows).
        self._sources: dict[str, str] = {}

    # --- entry points -----------------------------------------------------------------------

    def select_rows(self, table: Table, field: SelectedField) -> str:
        return "SELECT " + self._list(table, field, join=None)

    def select_aggregate(self, table: Table, field: SelectedField) -> str:
        return "SELECT " + self._aggregate(table, field, join=None)

    def select_function_rows(
        self, table: Table, field: SelectedField, source: str, params: Mapping[str, Any]
    ) -> str:
        """Like :meth:`select_rows`, over ``source`` (a SELECT that yields ``table``'s columns
        plus a ``rowid`` column giving the natural order) instead of the stored table."""
        self._sources[table.name] = f"({source})"
        self.params.update(params)
        if field.name.endswith("_aggregate"):
            return self.select_aggregate(table, field)
        return self.select_rows(table, field)

    def select_by_pk(self, table: Table, field: SelectedField) -> str:
        alias = self._alias()
        object_type = self._object_type(field)
        joins: list[str] = []
        fields = self._context.fields(object_type, field.nodes)
        row = self._row_json(table, alias, object_type, fields, joins)
        key = self._value(table.columns["id"], field.arguments["id"])
        return (
            f'SELECT {row} FROM {quote(table.name)} AS {alias} {" ".join(joins)} WHERE {alias}."id" = {key}'
        )

    # --- helpers ------------------------------------------------------------------------------

    def _alias(self) -> str:
        self._aliases += 1
        return f"t{self._aliases}"

    def _from(self, table: Table) -> str:
        return self._sources.get(table.name, quote(table.name))

    def _bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return ":" + name

    def _value(self, column: Column, value: Any) -> str:
        try:
            return self._bind(to_storage(column.scalar, value))
        except (OverflowError, RecursionError):
            # A timestamp whose offset pushes it outside years 1..9999, or a jsonb value too deep.
            shown = value if isinstance(value, str) else type(value).__name__
            raise QueryError(
                f"{column.scalar} value out of range: {shown!r}", "BAD_USER_INPUT"
            ) from None
        except ValueError as error:
            raise QueryError(str(error)) from None

    def _object_type(self, field: SelectedField) -> GraphQLObjectType:
        object_type = self._context.field_type(field)
        if object_type is None:
            raise QueryError(f"field {field.name!r} has no selectable type", "validation-failed")
        return object_type

    @staticmethod
    def _join(relationship: Relationship, parent_alias: str, alias: str) -> str:
        return (
            f"{alias}.{quote(relationship.remote_column)} = {parent_alias}.{quote(relationship.local_column)}"
        )

    def _json_object(self, pairs: Sequence[tuple[str, str]]) -> str:
        head, rest = pairs[:_PAIRS_PER_CALL], pairs[_PAIRS_PER_CALL:]
        expression = "json_object(" + ", ".join(f"{_literal(k)}, {v}" for k, v in head) + ")"
        for start in range(0, len(rest), _PAIRS_PER_CALL):
            chunk = rest[start : start + _PAIRS_PER_CALL]
            setters = ", ".join(f"{_literal('$.' + json.dumps(k))}, {v}" for k, v in chunk)
            expression = f"json_set({expression}, {setters})"
        return expression

    # --- selections ---------------------------------------------------------------------------

    def _column_json(self, column: Column, alias: str, arguments: Mapping[str, Any]) -> str:
        expression = f"{alias}.{quote(column.name)}"
        if column.scalar == "Boolean":
            return (
                f"CASE WHEN {expression} IS NULL THEN NULL "
                f"WHEN {expression} THEN json('true') ELSE json('false') END"
            )
        if column.scalar == "jsonb":
            path = arguments.get("path")
            if path is None:
                return f"json({expression})"
            path_text = path if path.startswith("$") else "$." + path
            return f"json({expression} -> {self._bind(path_text)})"
        return expression

    def _row_json(
        self,
        table: Table,
        alias: str,
        object_type: GraphQLObjectType,
        fields: Sequence[SelectedField],
        joins: list[str],
    ) -> str:
        """The JSON object of one row; object relationships add LEFT JOINs to ``joins``.

        Joining (rather than nesting a subquery per object relationship) keeps the statement
        shallow: SQLite's parser stack would overflow on Apollo's maximum depth otherwise.
        """
        pairs: list[tuple[str, str]] = []
        for field in fields:
            pairs.append((field.key, self._field_json(table, alias, object_type, field, joins)))
        return self._json_object(pairs)

    def _field_json(
        self,
        table: Table,
        alias: str,
        object_type: GraphQLObjectType,
        field: SelectedField,
        joins: list[str],
    ) -> str:
        if field.name == "__typename":
            return _literal(object_type.name)
        if field.name in table.columns:
            return self._column_json(table.columns[field.name], alias, field.arguments)
        relationship = table.relationships.get(field.name)
        if relationship is not None:
            target = self._tables[relationship.target]
            if relationship.kind == "array":
                return self._list(target, field, join=(relationship, alias))
            if len(joins) >= _MAX_JOINS:
                raise QueryError(
                    f"this query selects more than {_MAX_JOINS} object relationships in one row "
                    "(SQLite joins at most 64 tables in one statement); split it into several queries",
                    "not-supported",
                )
            child = self._alias()
            child_type = self._object_type(field)
            # Many-to-one: the join never multiplies the parent's rows.
            joins.append(
                f"LEFT JOIN {quote(target.name)} AS {child} ON {self._join(relationship, alias, child)}"
            )
            fields = self._context.fields(child_type, field.nodes)
            row = self._row_json(target, child, child_type, fields, joins)
            return f"CASE WHEN {child}.rowid IS NULL THEN NULL ELSE {row} END"
        if field.name.endswith("_aggregate"):
            relationship = table.relationships.get(field.name[: -len("_aggregate")])
            if relationship is not None and relationship.kind == "array":
                target = self._tables[relationship.target]
                return self._aggregate(target, field, join=(relationship, alias))
        raise QueryError(
            f"field {field.name!r} of {table.name!r} is not supported by the local backend",
            "not-supported",
        )

    def _list(self, table: Table, field: SelectedField, join: tuple[Relationship, str] | None) -> str:
        alias = self._alias()
        object_type = self._object_type(field)
        joins: list[str] = []
        fields = self._context.fields(object_type, field.nodes)
        row = self._row_json(table, alias, object_type, fields, joins)
        rows = self._filtered_rows(table, alias, field.arguments, join, f"{row} AS j", joins)
        # json_group_array over no rows is already '[]'.
        return f"(SELECT json_group_array(json(j)) FROM ({rows}))"

    def _filtered_rows(
        self,
        table: Table,
        alias: str,
        arguments: Mapping[str, Any],
        join: tuple[Relationship, str] | None,
        select: str,
        joins: Sequence[str] = (),
    ) -> str:
        """``SELECT <select> FROM table`` with where/order_by/distinct_on/limit/offset applied."""
        order_by = arguments.get("order_by") or []
        distinct_on = arguments.get("distinct_on") or []
        conditions = self._conditions(table, alias, arguments, join)
        order_terms = self._order_terms(table, alias, order_by)
        if distinct_on:
            self._check_distinct(distinct_on, order_by)
            conditions = [f"{alias}.rowid IN ({self._distinct_rowids(table, arguments, join)})"]
            if not order_terms:
                order_terms = [f"{alias}.{quote(c)} ASC NULLS LAST" for c in distinct_on]
        order_terms.append(f"{alias}.rowid")
        sql = (
            f"SELECT {select} FROM {self._from(table)} AS {alias} {' '.join(joins)} "
            f"WHERE {' AND '.join(conditions)} ORDER BY {', '.join(order_terms)}"
        )
        return sql + self._paging(arguments)

    def _conditions(
        self,
        table: Table,
        alias: str,
        arguments: Mapping[str, Any],
        join: tuple[Relationship, str] | None,
    ) -> list[str]:
        conditions = []
        if join is not None:
            conditions.append(self._join(join[0], join[1], alias))
        conditions.append(self._where(table, alias, arguments.get("where")))
        return conditions

    def _distinct_rowids(
        self, table: Table, arguments: Mapping[str, Any], join: tuple[Relationship, str] | None
    ) -> str:
        alias = self._alias()
        partition = ", ".join(f"{alias}.{quote(c)}" for c in arguments["distinct_on"])
        window_order = self._order_terms(table, alias, arguments.get("order_by") or [])
        window_order.append(f"{alias}.rowid")
        conditions = self._conditions(table, alias, arguments, join)
        return (
            f"SELECT rid FROM (SELECT {alias}.rowid AS rid, row_number() OVER "
            f"(PARTITION BY {partition} ORDER BY {', '.join(window_order)}) AS rn "
            f"FROM {self._from(table)} AS {alias} WHERE {' AND '.join(conditions)}) WHERE rn = 1"
        )

    @staticmethod
    def _check_distinct(distinct_on: Sequence[str], order_by: Sequence[Mapping[str, Any]]) -> None:
        if not order_by:
            return
        leading = [key for item in order_by for key, value in item.items() if value is not None]
        if set(leading[: len(distinct_on)]) != set(distinct_on):
            raise QueryError(
                '"distinct_on" columns must match initial "order_by" columns', "validation-failed"
            )

    def _paging(self, arguments: Mapping[str, Any]) -> str:
        limit, offset = arguments.get("limit"), arguments.get("offset")
        for name, value in (("limit", limit), ("offset", offset)):
            if value is not None and value < 0:
                raise QueryError(f'unexpected negative value for "{name}"', "validation-failed")
        if limit is None and offset is None:
            return ""
        sql = f" LIMIT {int(limit) if limit is not None else -1}"
        return sql + (f" OFFSET {int(offset)}" if offset is not None else "")

    # --- aggregates ---------------------------------------------------------------------------

    def _aggregate(self, table: Table, field: SelectedField, join: tuple[Relationship, str] | None) -> str:
        alias, outer = self._alias(), self._alias()
        aggregate_type = self._object_type(field)
        extra_columns: list[str] = []
        joins: list[str] = []
        pairs: list[tuple[str, str]] = []
        for sub in self._context.fields(aggregate_type, field.nodes):
            if sub.name == "__typename":
                pairs.append((sub.key, _literal(aggregate_type.name)))
            elif sub.name == "nodes":
                node_type = self._object_type(sub)
                fields = self._context.fields(node_type, sub.nodes)
                row = self._row_json(table, alias, node_type, fields, joins)
                column = f"j{len(extra_columns)}"
                extra_columns.append(f"{row} AS {column}")
                pairs.append((sub.key, f"json_group_array(json({outer}.{column}))"))
            elif sub.name == "aggregate":
                pairs.append((sub.key, self._aggregate_fields(table, outer, sub)))
        select = ", ".join([f"{alias}.*", *extra_columns])
        rows = self._filtered_rows(table, alias, field.arguments, join, select, joins)
        return f"(SELECT {self._json_object(pairs)} FROM ({rows}) AS {outer})"

    def _aggregate_fields(self, table: Table, rows: str, field: SelectedField) -> str:
        fields_type = self._object_type(field)
        pairs: list[tuple[str, str]] = []
        for sub in self._context.fields(fields_type, field.nodes):
            if sub.name == "__typename":
                pairs.append((sub.key, _literal(fields_type.name)))
            elif sub.name == "count":
                pairs.append((sub.key, self._count(rows, sub.arguments)))
            else:
                per_column_type = self._object_type(sub)
                columns = self._context.fields(per_column_type, sub.nodes)
                column_pairs = [
                    (
                        column.key,
                        _literal(per_column_type.name)
                        if column.name == "__typename"
                        else _aggregate_sql(sub.name, f"{rows}.{quote(column.name)}"),
                    )
                    for column in columns
                ]
                pairs.append((sub.key, self._json_object(column_pairs)))
        return self._json_object(pairs)

    @staticmethod
    def _count(rows: str, arguments: Mapping[str, Any]) -> str:
        columns = arguments.get("columns") or []
        distinct = "DISTINCT " if arguments.get("distinct") else ""
        if not columns:
            return f"count({distinct}*)" if not distinct else f"count(DISTINCT {rows}.rowid)"
        if len(columns) == 1:
            return f"count({distinct}{rows}.{quote(columns[0])})"
        values = ", ".join(f"{rows}.{quote(c)}" for c in columns)
        non_null = " OR ".join(f"{rows}.{quote(c)} IS NOT NULL" for c in columns)
        return f"count({distinct}CASE WHEN {non_null} THEN json_array({values}) END)"

    # --- where ----------------------------------------------------------------------------------

    def _where(self, table: Table, alias: str, expression: Mapping[str, Any] | None) -> str:
        if not expression:
            return "1"
        parts: list[str] = []
        for key, value in expression.items():
            if value is None:
                continue
            if key == "_and":
                parts.append(
                    "(" + " AND ".join(self._where(table, alias, v) for v in value) + ")" if value else "1"
                )
            elif key == "_or":
                parts.append(
                    "(" + " OR ".join(self._where(table, alias, v) for v in value) + ")" if value else "0"
                )
            elif key == "_not":
                parts.append(f"NOT ({self._where(table, alias, value)})")
            elif key in table.columns:
                column = table.columns[key]
                parts.extend(self._comparisons(column, f"{alias}.{quote(key)}", value))
            elif key in table.relationships:
                relationship = table.relationships[key]
                target = self._tables[relationship.target]
                child = self._alias()
                parts.append(
                    f"EXISTS (SELECT 1 FROM {quote(target.name)} AS {child} "
                    f"WHERE {self._join(relationship, alias, child)} "
                    f"AND {self._where(target, child, value)})"
                )
            else:
                raise QueryError(
                    f'field "{key}" not found in type: "{table.name}_bool_exp"', "validation-failed"
                )
        return "(" + " AND ".join(parts) + ")" if parts else "1"

    def _comparisons(self, column: Column, expression: str, operators: Mapping[str, Any]) -> list[str]:
        parts = []
        for operator, value in operators.items():
            if value is None:
                continue
            if operator == "_is_null":
                parts.append(f"{expression} IS {'' if value else 'NOT '}NULL")
            elif operator in _SIMPLE_OPERATORS:
                parts.append(f"{expression} {_SIMPLE_OPERATORS[operator]} {self._value(column, value)}")
            elif operator in ("_in", "_nin"):
                if not value:
                    parts.append("0" if operator == "_in" else "1")
                    continue
                values = ", ".join(self._value(column, item) for item in value)
                negation = "NOT " if operator == "_nin" else ""
                parts.append(f"{expression} {negation}IN ({values})")
            elif operator in _PATTERN_OPERATORS:
                parts.append(self._pattern(operator, expression, value))
            elif operator == "_contains":
                parts.append(f"jsonb_contains({expression}, {self._value(column, value)})")
            elif operator == "_contained_in":
                parts.append(f"jsonb_contains({self._value(column, value)}, {expression})")
            elif operator == "_has_key":
                parts.append(f"jsonb_has_key({expression}, {self._bind(value)})")
            elif operator in ("_has_keys_any", "_has_keys_all"):
                keys = self._bind(json.dumps(list(value)))
                parts.append(f"jsonb_has_keys({expression}, {keys}, {int(operator == '_has_keys_all')})")
            else:
                raise QueryError(f"operator {operator} is not supported", "not-supported")
        return parts

    def _pattern(self, operator: str, expression: str, pattern: Any) -> str:
        """A pattern test that runs in time linear in the text, whatever the pattern.

        LIKE/ILIKE become SQLite's own GLOB; SIMILAR TO and regular expressions run on RE2,
        compiled here first so a bad pattern is the client's error, not an internal one.
        """
        kind, case_insensitive, negated = _PATTERN_OPERATORS[operator]
        if not isinstance(pattern, str):
            raise QueryError(f"{operator} expects a string pattern", "BAD_USER_INPUT")
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise QueryError(
                f"the {operator} pattern is {len(pattern):,} characters long; the limit is "
                f"{MAX_PATTERN_LENGTH:,}",
                "BAD_USER_INPUT",
            )
        try:
            if kind == "like":
                glob = self._bind(sqlfunctions.like_to_glob(pattern, case_insensitive))
                subject = f"pg_lower({expression})" if case_insensitive else expression
                test = f"{subject} GLOB {glob}"
            elif kind == "similar":
                regex = sqlfunctions.similar_to_regex(pattern)
                sqlfunctions.compiled_regex(regex, False)
                test = f"pg_similar({expression}, {self._bind(regex)})"
            else:
                sqlfunctions.compiled_regex(pattern, case_insensitive)
                test = f"pg_regex({expression}, {self._bind(pattern)}, {int(case_insensitive)})"
        except ValueError as error:
            raise QueryError(f"{operator}: {error}", "BAD_USER_INPUT") from None
        return f"NOT ({test})" if negated else test

    # --- order_by -------------------------------------------------------------------------------

    def _order_terms(self, table: Table, alias: str, order_by: Sequence[Mapping[str, Any]]) -> list[str]:
        terms = []
        for item in order_by:
            for expression, direction in self._order_expressions(table, alias, item):
                terms.append(f"{expression} {_DIRECTIONS[direction]}")
        return terms

    def _order_expressions(self, table: Table, alias: str, item: Mapping[str, Any]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for key, value in item.items():
            if value is None:
                continue
            if key in table.columns:
                found.append((f"{alias}.{quote(key)}", value))
                continue
            relationship = table.relationships.get(key)
            if relationship is not None and relationship.kind == "object":
                target = self._tables[relationship.target]
                child = self._alias()
                for expression, direction in self._order_expressions(target, child, value):
                    found.append(
                        (
                            f"(SELECT {expression} FROM {quote(target.name)} AS {child} "
                            f"WHERE {self._join(relationship, alias, child)})",
                            direction,
                        )
                    )
                continue
            relationship = table.relationships.get(key.removesuffix("_aggregate"))
            if key.endswith("_aggregate") and relationship is not None:
                target = self._tables[relationship.target]
                for function, spec in value.items():
                    if spec is None:
                        continue
                    child = self._alias()
                    source = (
                        f"FROM {quote(target.name)} AS {child} WHERE {self._join(relationship, alias, child)}"
                    )
                    if function == "count":
                        found.append((f"(SELECT count(*) {source})", spec))
                        continue
                    for column, direction in spec.items():
                        if direction is None:
                            continue
                        aggregate = _aggregate_sql(function, f"{child}.{quote(column)}")
                        found.append((f"(SELECT {aggregate} {source})", direction))
                continue
            raise QueryError(f'field "{key}" not found in type: "{table.name}_order_by"', "validation-failed")
        return found


def _aggregate_sql(function: str, expression: str) -> str:
    """SQL for Hasura's numeric aggregate ``function`` of ``expression`` over the current group."""
    if function in ("max", "min", "sum", "avg"):
        return f"{function}({expression})"
    x = expression
    spread = f"(sum({x} * {x}) - sum({x}) * sum({x}) * 1.0 / count({x}))"
    sample = f"(CASE WHEN count({x}) > 1 THEN {spread} / (count({x}) - 1) END)"
    population = f"(CASE WHEN count({x}) > 0 THEN {spread} / count({x}) END)"
    formulas = {
        "variance": sample,
        "var_samp": sample,
        "var_pop": population,
        "stddev": f"pg_sqrt({sample})",
        "stddev_samp": f"pg_sqrt({sample})",
        "stddev_pop": f"pg_sqrt({population})",
    }
    if function not in formulas:
        raise QueryError(f"aggregate {function} is not supported", "not-supported")
    return formulas[function]

"""``flowview query``: run a GraphQL query (validated against the Prefect Server schema first)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    ListTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    TypeNode,
    parse,
    print_ast,
)
from rich.json import JSON

from flowview_async._schema import schema
from flowview_async.cli._common import CommonOptions, common_options, run_command, stdout_console
from flowview_async.client import Client
from flowview_async.errors import InvalidArgumentError

__all__ = ["parse_variables", "query"]

# Scalars whose values are text on the wire: a --var value for them is taken as typed, never as
# JSON (so `--var name=123` stays the string "123").
_TEXT_SCALARS = frozenset({"String", "ID", "uuid", "UUID", "_uuid", "timestamptz", "DateTime",
                           "interval"})
_EXAMPLES = {"Int": "10", "Float": "1.5", "Boolean": "true"}


def _declared_variables(document: str | None) -> dict[str, TypeNode] | None:
    """``$name`` -> declared type over every operation of ``document``; None when there is no
    document or it does not parse (the client then reports what is wrong with it)."""
    if document is None:
        return None
    try:
        ast = parse(document)
    except GraphQLError:
        return None
    declared: dict[str, TypeNode] = {}
    for definition in ast.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                declared[variable.variable.name.value] = variable.type
    return declared


def _json_value(name: str, raw: str, declared: str, expected: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        msg = (f"--var {name}={raw}: ${name} is declared {declared}, so the value must be "
               f"{expected} written as JSON.")
        raise InvalidArgumentError(msg) from None


def _fits(type_name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return type_name == "Boolean"
    if type_name == "Int":
        return isinstance(value, int)
    return type_name == "Float" and isinstance(value, (int, float))


def _coerce(name: str, raw: str, type_node: TypeNode) -> Any:
    """The value of ``--var name=raw`` for a variable declared ``type_node``."""
    declared = print_ast(type_node)
    inner = type_node.type if isinstance(type_node, NonNullTypeNode) else type_node
    if isinstance(inner, ListTypeNode):
        value = _json_value(name, raw, declared, 'a list (e.g. ["a","b"])')
        if not isinstance(value, list):
            msg = f'--var {name}={raw}: ${name} is declared {declared}: give a JSON list, e.g. ["a","b"].'
            raise InvalidArgumentError(msg)
        return value
    type_name = inner.name.value  # type: ignore[attr-defined]
    named = schema().get_type(type_name)
    if type_name in _TEXT_SCALARS or isinstance(named, GraphQLEnumType):
        return raw
    if type_name in _EXAMPLES:
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if not _fits(type_name, value):
            article = "an" if type_name == "Int" else "a"
            msg = (f"--var {name}={raw}: ${name} is declared {declared}; give {article} "
                   f"{type_name} value, e.g. --var {name}={_EXAMPLES[type_name]}.")
            raise InvalidArgumentError(msg)
        return value
    if isinstance(named, GraphQLInputObjectType):
        value = _json_value(name, raw, declared, "an object")
        if not isinstance(value, Mapping):
            msg = (f"--var {name}={raw}: ${name} is declared {declared}: give a JSON object, "
                   f'e.g. --var {name}=\'{{"name": {{"_eq": "x"}}}}\'.')
            raise InvalidArgumentError(msg)
        return value
    if named is None:
        # A type the schema lacks: validation will name it; pass the value as best understood.
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return _json_value(name, raw, declared, "a value")  # JSON, jsonb and other JSON scalars


def parse_variables(pairs: tuple[str, ...], document: str | None = None) -> dict[str, Any]:
    """``name=value`` pairs, each taken by its variable's declared type in ``document``: text for
    String, ID, uuid, timestamptz and enums; JSON for Int, Float, Boolean, JSON, jsonb, lists and
    input objects. Without a (parsable) document, a value that parses as JSON is taken as JSON."""
    declared = _declared_variables(document)
    variables: dict[str, Any] = {}
    for pair in pairs:
        name, separator, raw = pair.partition("=")
        name = name.strip().lstrip("$")
        if not separator or not name:
            msg = f"--var {pair!r} should be name=value (e.g. --var name=woodoo-leopard)."
            raise InvalidArgumentError(msg)
        if declared is None:
            try:
                variables[name] = json.loads(raw)
            except ValueError:
                variables[name] = raw
        elif name not in declared:
            known = ", ".join(f"${known}" for known in declared) or "no variables"
            msg = f"--var {name}: the query declares no ${name} (it declares {known})."
            raise InvalidArgumentError(msg)
        else:
            variables[name] = _coerce(name, raw, declared[name])
    return variables


async def _document(source: str) -> str:
    if not source.startswith("@"):
        return source
    path = Path(source[1:])
    try:
        # File I/O off the event loop.
        return await asyncio.to_thread(path.read_text, "utf-8")
    except OSError as error:
        msg = f"Cannot read the query file {str(path)!r}: {error.strerror or error}."
        raise InvalidArgumentError(msg) from None


@click.command("query", short_help="Run a GraphQL query and print the JSON result.")
@click.argument("graphql")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="A query variable (repeatable), read by its declared type: text for String, "
                   "ID, uuid, timestamptz and enums; JSON for Int, Float, Boolean, JSON, jsonb, "
                   "lists and input objects (limit=3, ids='[\"a\"]').")
@common_options
def query(graphql: str, variables: tuple[str, ...], options: CommonOptions) -> None:
    """Run a GraphQL query against the backend and print the JSON of its data.

    GRAPHQL is the query text, or @FILE to read it from a file. It is checked against the
    Prefect Server schema before anything is sent.

    \b
    flowview query '{ flow_run(limit: 3) { id name state } }'
    flowview query 'query ($name: String!) { flow_run(where: {name: {_eq: $name}}) { id } }' \\
        --var name=woodoo-leopard
    flowview query @runs.graphql --var limit=10
    """

    async def body(client: Client) -> int:
        document = await _document(graphql)
        values = parse_variables(variables, document)
        data = await client.execute(document, values or None)
        if options.json:
            click.echo(json.dumps(data))
        else:
            stdout_console().print(JSON.from_data(data))
        return 0

    run_command(options, body)

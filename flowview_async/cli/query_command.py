"""``flowview query``: run a GraphQL query (validated against the Prefect Server schema first)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from rich.json import JSON

from flowview_async.cli._common import CommonOptions, common_options, run_command, stdout_console
from flowview_async.client import Client
from flowview_async.errors import InvalidArgumentError

__all__ = ["parse_variables", "query"]


def parse_variables(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``name=value`` pairs; a value that parses as JSON is taken as JSON (``limit=3``,
    ``ids=["a","b"]``, ``flag=true``), anything else as a string."""
    variables: dict[str, Any] = {}
    for pair in pairs:
        name, separator, raw = pair.partition("=")
        name = name.strip()
        if not separator or not name:
            msg = f"--var {pair!r} should be name=value (e.g. --var name=woodoo-leopard)."
            raise InvalidArgumentError(msg)
        try:
            variables[name] = json.loads(raw)
        except ValueError:
            variables[name] = raw
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
              help="A query variable (repeatable); JSON values are parsed (limit=3, ids=[...]).")
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
        values = parse_variables(variables)
        data = await client.execute(await _document(graphql), values or None)
        if options.json:
            click.echo(json.dumps(data))
        else:
            stdout_console().print(JSON.from_data(data))
        return 0

    run_command(options, body)

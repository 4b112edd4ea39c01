"""Validation against the schema of the server the client talks to (read once by introspection),
the bundled schema as the fallback, and ``validate=False`` to send anything."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from graphql import build_ast_schema, graphql, parse

from flowview_async import Client
from flowview_async._schema import schema_sdl
from flowview_async.client import RetryPolicy
from flowview_async.errors import GraphQLQueryError, QueryValidationError

# What this server has and the bundled reconstruction lacks.
EXTRA_SDL = """
extend type Query { server_only_field(greeting: String): String }
extend type Mutation { server_only_mutation(id: String!): String }
"""


class NewerServer:
    """A GraphQL server on the bundled schema plus fields of its own; it executes whatever it is
    sent (validation included) with graphql-core, and counts introspections."""

    def __init__(self, *, introspection: bool = True) -> None:
        self.schema = build_ast_schema(parse(schema_sdl() + EXTRA_SDL))
        self.introspection = introspection
        self.introspections = 0
        self.queries: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        payload = json.loads(await request.text())
        query = payload.get("query", "")
        if "__schema" in query:
            self.introspections += 1
            if not self.introspection:
                return web.json_response({"errors": [{"message": "introspection is disabled"}]},
                                         status=400)
        else:
            self.queries.append(query)
        root: dict[str, Any] = {
            "server_only_field": lambda info, greeting="hello": f"{greeting} from the server",
            "server_only_mutation": lambda info, id: f"touched {id}",
            "flow_run": lambda info, **arguments: [],
        }
        result = await graphql(self.schema, query, root_value=root,
                               variable_values=payload.get("variables"),
                               operation_name=payload.get("operationName"))
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        return web.json_response(body)


async def serve(server: NewerServer) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def newer() -> AsyncIterator[tuple[NewerServer, str]]:
    server = NewerServer()
    runner, url = await serve(server)
    try:
        yield server, url
    finally:
        await runner.cleanup()


async def test_a_field_only_the_server_has_works_online(newer: tuple[NewerServer, str]) -> None:
    server, url = newer
    async with Client(url) as client:
        for _ in range(3):
            data = await client.execute('query { server_only_field(greeting: "hi") }')
            assert data == {"server_only_field": "hi from the server"}
        # Still validated locally, against the server's schema: no request for a wrong field.
        with pytest.raises(QueryValidationError, match="server's schema"):
            await client.execute("query { server_only_field(nope: 1) }")
        # The bundled fields keep working (the server's schema contains them too).
        assert (await client.execute("query { flow_run(limit: 1) { id } }")) == {"flow_run": []}
    assert server.introspections == 1  # once per client, cached
    assert len(server.queries) == 4


async def test_mutations_validate_against_the_servers_schema(
        newer: tuple[NewerServer, str]) -> None:
    server, url = newer
    async with Client(url) as client:
        data = await client.execute("mutation Touch($id: String!) { server_only_mutation(id: $id) }",
                                    {"id": "x"})
        assert data == {"server_only_mutation": "touched x"}
        with pytest.raises(QueryValidationError):
            await client.execute("mutation { server_only_mutation }")  # missing argument
    assert len(server.queries) == 1


async def test_bundled_schema_without_introspection(newer: tuple[NewerServer, str]) -> None:
    server, url = newer
    async with Client(url, introspect=False) as client:
        with pytest.raises(QueryValidationError, match="bundled Prefect Server schema"):
            await client.execute("query { server_only_field }")
        # validate=False for one call: sent as it is, and the server answers it.
        data = await client.execute("query { server_only_field }", validate=False)
        assert data == {"server_only_field": "hello from the server"}
    assert server.introspections == 0
    assert server.queries == ["{\n  server_only_field\n}"]


async def test_validate_false_sends_anything(newer: tuple[NewerServer, str]) -> None:
    server, url = newer
    async with Client(url, validate=False) as client:
        assert (await client.execute("query { server_only_field }")) == {
            "server_only_field": "hello from the server"}
        with pytest.raises(GraphQLQueryError, match="Cannot query field 'nowhere'"):
            await client.execute("query { nowhere }")  # the server's validation answers
        with pytest.raises(GraphQLQueryError, match="Syntax Error"):
            await client.execute("query { unclosed ")  # not even GraphQL: still sent, as written
        # validate=True for one call overrides the client's choice.
        with pytest.raises(QueryValidationError):
            await client.execute("query { nowhere }", validate=True)
    assert server.queries[-1] == "query { unclosed "
    assert len(server.queries) == 3


async def test_a_server_refusing_introspection_leaves_the_bundled_schema() -> None:
    server = NewerServer(introspection=False)
    runner, url = await serve(server)
    try:
        async with Client(url, retry=RetryPolicy.none()) as client:
            with pytest.raises(QueryValidationError, match="bundled"):
                await client.execute("query { server_only_field }")
            assert (await client.execute("query { flow_run(limit: 1) { id } }")) == {"flow_run": []}
        assert server.introspections == 1  # refused once, not asked again
    finally:
        await runner.cleanup()


async def test_replay_validates_against_the_bundled_schema(tmp_path: Any,
                                                           newer: tuple[NewerServer, str]) -> None:
    server, url = newer
    cassette = tmp_path / "c.json"
    async with Client(url, cassette=cassette, record_mode="all") as client:
        with pytest.raises(QueryValidationError, match="bundled"):
            await client.execute("query { server_only_field }")
        await client.execute("query { flow_run(limit: 1) { id } }")
    assert server.introspections == 0

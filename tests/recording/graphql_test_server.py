"""A small GraphQL server on 127.0.0.1 for the recorder's low-level tests.

The project's LocalBackend answers Prefect queries deterministically, so identical queries get
identical answers there; proving that replay hands identical concurrent requests the answers they
got *live* needs a server whose answers differ per request, and whose first request finishes last.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from graphql import build_schema, graphql

SDL = """
type Query {
  hello(name: String!): String!
  ticket: Int!
  echo(input: EchoInput): String!
}
input EchoInput { name: String, nested: Nested }
input Nested { password: String, apiKey: String, note: String }
"""


class TicketServer:
    """Counts requests; odd tickets answer slowly, so completion order differs from issue order."""

    def __init__(self) -> None:
        self.schema = build_schema(SDL)
        self.counter = 0
        self.seen_headers: list[dict[str, str]] = []
        self.requests = 0
        self._server: TestServer | None = None

    async def _ticket(self) -> int:
        self.counter += 1
        ticket = self.counter
        await asyncio.sleep(0.15 if ticket % 2 else 0.0)
        return ticket

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.seen_headers.append(dict(request.headers))
        payload = await request.json()
        if "ticket" in payload["query"]:
            ticket = await self._ticket()
            return web.json_response({"data": {"ticket": ticket}},
                                     headers={"Set-Cookie": "session=abc123secretcookie"})
        root: dict[str, Any] = {
            "hello": lambda _info, name: f"Hello {name}",
            "echo": lambda _info, input=None: json.dumps(input, sort_keys=True),
        }
        result = await graphql(
            self.schema, payload["query"], root_value={k: v for k, v in root.items()},
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        return web.json_response(body, headers={"Date": "Tue, 24 Nov 2026 08:00:00 GMT"})

    async def __aenter__(self) -> TicketServer:
        app = web.Application()
        app.router.add_post("/graphql", self.handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        await self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/graphql"))

"""Shared helpers for the recorder tests: a gql session whose aiohttp session carries a recorder."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from gql import Client as GqlClient
from gql import GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport

from flowview_async.recording import Recorder

HELLO = "query Hello($name: String!) { hello(name: $name) }"
TICKET = "query Ticket { ticket }"
ECHO = "query Echo($input: EchoInput) { echo(input: $input) }"


@contextlib.asynccontextmanager
async def recorded_session(
    url: str, recorder: Recorder, headers: dict[str, str] | None = None
) -> AsyncIterator[Any]:
    """A gql session through ``recorder``; the recorder is opened first and saved last."""
    async with recorder:
        transport = AIOHTTPTransport(
            url=url, headers=headers,
            client_session_args={"middlewares": (recorder.middleware,)},
        )
        async with GqlClient(transport=transport) as session:
            yield session


def request(document: str, **variables: Any) -> GraphQLRequest:
    return GraphQLRequest(document, variable_values=variables or None)


# A URL nothing listens on: replays must never touch the network.
DEAD_URL = "http://127.0.0.1:9/graphql"


def local_backend(*args: Any, **kwargs: Any) -> Any:
    """The project's LocalBackend (imported where it lives today: package, else its module)."""
    import flowview_async.server as server

    backend_class = getattr(server, "LocalBackend", None)
    if backend_class is None:
        from flowview_async.server.runner import LocalBackend as backend_class
    return backend_class(*args, **kwargs)

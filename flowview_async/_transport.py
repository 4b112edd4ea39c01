"""The HTTP side of the client: gql's AIOHTTPTransport sends, and the raw answer comes back.

gql owns the connection (one aiohttp session, its pool, the GraphQL-over-HTTP payload) and
parses every answer as GraphQL. It does not keep what the classification needs, though: it folds
a 503 carrying a JSON ``errors`` body into an ordinary query error and drops the status. So an
aiohttp client middleware, placed outermost on gql's session, keeps each attempt's status, headers
and body (aiohttp caches the body, so gql reads the very same bytes), and whatever gql concluded,
:mod:`flowview_async._errors_mapping` classifies that raw answer: status first, body second.

The session honours ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` (``trust_env=True``), as Prefect 1's
``requests`` session does.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import attrs
from gql import Client as GqlClient
from gql import GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportQueryError,
    TransportServerError,
)
from graphql import GraphQLError

from flowview_async.errors import FlowViewError

__all__ = ["Answer", "HttpTransport"]


@attrs.frozen
class Answer:
    """What came back for one POST."""

    status: int
    headers: Mapping[str, str]
    body: bytes


# The answers of the attempt running in this task (one, unless aiohttp follows a redirect).
_ANSWERS: contextvars.ContextVar[list[Answer] | None] = contextvars.ContextVar(
    "flowview_async_answers", default=None
)


async def _keep_answer(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    response = await handler(request)
    answers = _ANSWERS.get()
    if answers is not None:
        answers.append(Answer(response.status, response.headers, await response.read()))
    return response


def _answer_from_verdict(error: Exception) -> Answer:
    """What gql's exception says the answer was, for when no raw answer was seen."""
    if isinstance(error, TransportQueryError):
        body = {"errors": error.errors, "data": error.data}
        return Answer(200, {}, json.dumps(body, default=str).encode())
    if isinstance(error, TransportServerError):
        return Answer(error.code or 500, {}, b"")
    return Answer(200, {}, b"")  # not a GraphQL answer: classified as malformed


class HttpTransport:
    """POSTs GraphQL payloads to one URL with fixed headers over a bounded connection pool."""

    def __init__(self, url: str, *, headers: Mapping[str, str], max_connections: int,
                 middlewares: Sequence[Any] = ()) -> None:
        self.url = url
        self._headers = dict(headers)
        self._max_connections = max_connections
        self._middlewares = tuple(middlewares)
        self._gql: GqlClient | None = None
        self._session: AsyncClientSession | None = None
        self._transport: AIOHTTPTransport | None = None

    async def open(self) -> None:
        self._transport = AIOHTTPTransport(
            url=self.url,
            headers=self._headers,
            # Timeouts are applied per attempt by the client, within the retry deadline.
            timeout=None,
            client_session_args={
                "connector": aiohttp.TCPConnector(limit=self._max_connections),
                # Outermost, so it also sees the answers a replaying recorder makes up.
                "middlewares": (_keep_answer, *self._middlewares),
                "trust_env": True,
            },
        )
        self._gql = GqlClient(transport=self._transport, fetch_schema_from_transport=False,
                              execute_timeout=None)
        self._session = await self._gql.connect_async(reconnecting=False)  # type: ignore[no-untyped-call]

    async def post(self, payload: Mapping[str, Any]) -> Answer:
        """Send one request and return the whole answer, whatever gql made of it.

        Raises:
            aiohttp.ClientError, OSError: the exchange failed (refused, reset, truncated body…).
        """
        assert self._session is not None, "HttpTransport.post before open()"
        answers: list[Answer] = []
        token = _ANSWERS.set(answers)
        try:
            verdict = await self._send(payload)
        except FlowViewError:
            raise  # the recorder's own errors (a cassette miss) pass through gql unchanged
        except TransportConnectionFailed as exc:
            cause = exc.__cause__
            if isinstance(cause, (FlowViewError, aiohttp.ClientError, OSError)):
                raise cause from None  # a recorder error, or what the connection said
            raise aiohttp.ClientConnectionError(str(exc)) from None
        except (TransportError, GraphQLError, ValueError, AssertionError) as exc:
            # gql's verdict on the answer (errors, not JSON, no data: gql asserts there is some):
            # the raw answer decides.
            verdict = _answer_from_verdict(exc)
        finally:
            _ANSWERS.reset(token)
        # No raw answer means something above aiohttp's middlewares answered (vcrpy's and
        # pytest-recording's patch of aiohttp does): gql's reading of it is all there is.
        return answers[-1] if answers else verdict

    async def _send(self, payload: Mapping[str, Any]) -> Answer:
        assert self._session is not None
        assert self._transport is not None
        try:
            request = GraphQLRequest(str(payload["query"]),
                                     variable_values=payload.get("variables"),
                                     operation_name=payload.get("operationName"))
        except GraphQLError:
            # Text that does not parse, sent on purpose with validate=False: gql only sends
            # documents it can parse, so it goes as written on gql's own session.
            session = self._transport.session
            assert session is not None
            async with session.post(self.url, data=json.dumps(dict(payload)),
                                    headers={"Content-Type": "application/json"}) as response:
                return Answer(response.status, response.headers, await response.read())
        result = await self._session.execute(request, get_execution_result=True)
        body = {"data": result.data}
        if result.extensions:
            body["extensions"] = result.extensions
        return Answer(200, {}, json.dumps(body).encode())

    async def close(self) -> None:
        client, self._gql, self._session = self._gql, None, None
        if client is not None:
            await client.close_async()  # type: ignore[no-untyped-call]

"""The HTTP side of the client: one aiohttp session, one POST per attempt, the raw answer back.

Deliberately dumb: it neither reads the body as GraphQL nor decides anything. The status, headers
and bytes go to :mod:`flowview_async._errors_mapping`, which classifies by status first and body
second. (gql's transport folds a 5xx carrying GraphQL ``errors`` into an ordinary query error, and
drops the status; that is why the client no longer goes through it.)

The session honours ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` (``trust_env=True``), as Prefect 1's
``requests`` session does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import attrs

__all__ = ["Answer", "HttpTransport"]


@attrs.frozen
class Answer:
    """What came back for one POST."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class HttpTransport:
    """POSTs GraphQL payloads to one URL with fixed headers over a bounded connection pool."""

    def __init__(self, url: str, *, headers: Mapping[str, str], max_connections: int,
                 middlewares: Sequence[Any] = ()) -> None:
        self.url = url
        self._headers = dict(headers)
        self._max_connections = max_connections
        self._middlewares = tuple(middlewares)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(
            headers=self._headers,
            connector=aiohttp.TCPConnector(limit=self._max_connections),
            middlewares=self._middlewares,
            # Timeouts are applied per attempt by the client, within the retry deadline.
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=True,
        )

    async def post(self, payload: Mapping[str, Any]) -> Answer:
        """Send one request and read the whole answer.

        Raises:
            aiohttp.ClientError, OSError: the exchange failed (refused, reset, truncated body…).
        """
        assert self._session is not None, "HttpTransport.post before open()"
        async with self._session.post(self.url, json=dict(payload)) as response:
            body = await response.read()
            return Answer(response.status, response.headers, body)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

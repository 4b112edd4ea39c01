"""Building an ``aiohttp.ClientResponse`` from a recorded answer, without any connection.

This is the one place that touches aiohttp internals (``ClientResponse``'s constructor arguments
and its ``_headers``/``_raw_headers`` slots, which ``start()`` fills on a live response). The
contract test ``tests/recording/test_replayed_response_contract.py`` compares a replayed response
with a live one for the same bytes; run it on every aiohttp upgrade.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from aiohttp import ClientResponse, StreamReader
from aiohttp.helpers import TimerNoop
from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from aiohttp import ClientRequest

__all__ = ["body_stream", "build_replayed_response"]


class _AlreadySent:
    """Stands in for the stream writer of a request that was "sent" when it was recorded."""

    output_size = 0


class _NoConnection:
    """Stands in for the protocol a ``StreamReader`` pauses and resumes: there is no socket."""

    _reading_paused = False
    connected = False

    def pause_reading(self) -> None:
        """Nothing to pause: the whole body is already in memory."""

    def resume_reading(self, resume_parser: bool = True) -> None:
        """Nothing to resume."""


def body_stream(body: bytes, loop: asyncio.AbstractEventLoop) -> StreamReader:
    # aiohttp's own StreamReader, so iter_chunked/readline/at_eof behave exactly as on a live
    # response. The limit is sized from the body so that feeding it never asks to pause reading.
    limit = max(len(body), 2**16)
    stream = StreamReader(cast(Any, _NoConnection()), limit, loop=loop)
    if body:
        stream.feed_data(body)
    stream.feed_eof()
    return stream


def build_replayed_response(
    request: ClientRequest,
    *,
    status: int,
    reason: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> ClientResponse:
    """A response to ``request`` with the recorded status, headers and body, ready to be read."""
    loop = asyncio.get_running_loop()
    response = ClientResponse(
        request.method,
        request.url,
        writer=None,
        continue100=None,
        timer=TimerNoop(),
        request_info=request.request_info,
        traces=[],
        loop=loop,
        # No session: the response must not keep the (possibly closing) session alive.
        session=cast(Any, None),
        stream_writer=cast(Any, _AlreadySent()),
    )
    response.status = status
    response.reason = reason
    response._headers = CIMultiDictProxy(CIMultiDict(headers))
    response._raw_headers = tuple(
        (name.encode("utf-8", "surrogateescape"), value.encode("utf-8", "surrogateescape"))
        for name, value in headers
    )
    response.content = body_stream(body, loop)
    return response

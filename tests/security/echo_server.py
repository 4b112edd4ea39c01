"""A loopback GraphQL endpoint that echoes every request back in the worst place it can.

Each path answers in one way a real (or hostile) server might: ``/api-error`` with an
``API_ERROR`` (retried by the client), ``/text-500`` with a plain-text 500, ``/text-200`` with a
plain-text 200, ``/auth`` with a 401, ``/graphql-error`` with a GraphQL error and partial data,
``/data`` with data. Every answer quotes the request's headers (raw and as JSON), URL and body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

__all__ = ["EchoServer", "echo_server"]


def _echo(request: web.Request, body: str) -> str:
    headers = {name: value for name, value in request.headers.items()}
    return (f"you sent headers {json.dumps(headers)} raw {request.raw_headers!r} "
            f"to {request.url} with body {body}")


class EchoServer:
    def __init__(self) -> None:
        self.url = ""
        self.requests = 0
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        body = await request.text()
        echo = _echo(request, body)
        kind = request.match_info["kind"]
        answers: dict[str, Callable[[], web.StreamResponse]] = {
            "api-error": lambda: web.json_response(
                {"errors": [{"message": echo, "extensions": {"code": "API_ERROR"}}]}),
            "text-500": lambda: web.Response(status=500, text=echo),
            "text-200": lambda: web.Response(status=200, text=echo),
            "auth": lambda: web.Response(status=401, text=echo),
            "json-401": lambda: web.json_response(
                {"errors": [{"message": echo, "extensions": {"code": "UNAUTHENTICATED"}}]}),
            "graphql-error": lambda: web.json_response(
                {"errors": [{"message": echo, "extensions": {"echo": echo}}],
                 "data": {"hello": echo}}),
            "data": lambda: web.json_response({"data": {"hello": echo}}),
        }
        return answers[kind]()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{kind}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@asynccontextmanager
async def echo_server() -> AsyncIterator[EchoServer]:
    server = EchoServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def everything_reachable(error: BaseException) -> list[Any]:
    """The exception, every exception chained to it, and their args and attributes."""
    found: list[Any] = []
    todo: list[BaseException] = [error]
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        found.extend(current.args)
        found.extend(vars(current).values())
        for chained in (current.__cause__, current.__context__):
            if chained is not None:
                todo.append(chained)
        for value in vars(current).values():
            if isinstance(value, BaseException):
                todo.append(value)
    return found


def texts_of(error: BaseException) -> list[str]:
    """str and repr of everything :func:`everything_reachable` finds."""
    texts = []
    for item in everything_reachable(error):
        texts.append(str(item))
        texts.append(repr(item))
    return texts

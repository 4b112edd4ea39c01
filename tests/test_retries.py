"""Retries by HTTP status first, body second, with the waits asserted through an injected sleep,
clock and jitter (no wall-clock time passes)."""

from __future__ import annotations

import email.utils
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web

from flowview_async import Client
from flowview_async._retry import RetryPolicy, parse_retry_after
from flowview_async.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ConfigurationError,
    GraphQLQueryError,
    MalformedResponseError,
)

QUERY = "query Runs { flow_run(limit: 1) { id } }"
GOOD = {"data": {"flow_run": [{"id": "r-1"}]}}
NOW = 1_800_000_000.0  # the injected wall clock, for HTTP-date Retry-After values


@attrs.frozen
class Canned:
    status: int = 200
    body: bytes = json.dumps(GOOD).encode()
    headers: dict[str, str] = attrs.field(factory=dict)
    content_type: str = "application/json"
    cut: bool = False  # announce more bytes than sent, then drop the connection


BODIES: dict[str, tuple[bytes, str]] = {
    "text": (b"Service Unavailable", "text/plain"),
    "html": (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
    "json errors": (json.dumps({"errors": [{"message": "upstream overloaded"}]}).encode(),
                    "application/json"),
    "json errors with data": (json.dumps({"data": None, "errors": [
        {"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]}).encode(),
        "application/json"),
    "api_error": (json.dumps({"errors": [{"message": "internal",
                                          "extensions": {"code": "API_ERROR"}}]}).encode(),
                  "application/json"),
    "empty": (b"", "text/plain"),
}


class Script:
    def __init__(self) -> None:
        self.answers: list[Canned] = []
        self.requests = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.requests += 1
        canned = self.answers.pop(0) if self.answers else Canned()
        if canned.cut:
            response = web.StreamResponse(status=200, headers={"Content-Length": "500"})
            response.content_type = "application/json"
            await response.prepare(request)
            await response.write(canned.body)
            assert request.transport is not None
            request.transport.close()
            return response
        return web.Response(status=canned.status, body=canned.body, headers=canned.headers,
                            content_type=canned.content_type)


@pytest.fixture
async def script() -> AsyncIterator[tuple[Script, str]]:
    scripted = Script()
    app = web.Application()
    app.router.add_post("/", scripted.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield scripted, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class TopOfRange(random.Random):
    """Jitter pinned to its ceiling, so each backoff wait is known exactly."""

    def uniform(self, a: float, b: float) -> float:
        return b


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def policy(self, **kwargs: Any) -> RetryPolicy:
        settings = {"attempts": 5, "backoff": 0.25, "max_backoff": 8.0, "deadline": 60.0, **kwargs}
        return RetryPolicy(sleep=self.sleep, clock=lambda: self.now, wall_clock=lambda: NOW,
                           rng=TopOfRange(), **settings)


async def run(url: str, time: FakeTime, *, query: str = QUERY, validate: bool = True,
              **policy: Any) -> dict[str, Any]:
    async with Client(url, retry=time.policy(**policy), introspect=False) as client:
        return await client.execute(query, validate=validate)


RETRY_AFTER = {
    None: 0.25,  # no header: the first backoff step (jitter pinned to its ceiling)
    "1.5": 1.5,  # fractional seconds
    "3": 3.0,
    email.utils.formatdate(NOW + 7, usegmt=True): 7.0,  # an HTTP date, 7 s after "now"
    "soon": 0.25,  # unreadable: ignored
}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@pytest.mark.parametrize("shape", list(BODIES))
@pytest.mark.parametrize("retry_after", list(RETRY_AFTER), ids=lambda v: f"retry-after={v}")
async def test_429_and_5xx_are_retried_whatever_the_body(
        script: tuple[Script, str], status: int, shape: str, retry_after: str | None) -> None:
    scripted, url = script
    body, content_type = BODIES[shape]
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    scripted.answers += [Canned(status, body, headers, content_type)] * 2
    time = FakeTime()
    assert await run(url, time) == GOOD["data"]
    first = RETRY_AFTER[retry_after]
    # The second wait doubles the backoff (0.5) unless Retry-After asks for longer.
    assert time.waits == [first, max(first, 0.5)]
    assert scripted.requests == 3


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("shape", list(BODIES))
async def test_401_and_403_are_authentication_errors_at_once(
        script: tuple[Script, str], status: int, shape: str) -> None:
    scripted, url = script
    body, content_type = BODIES[shape]
    scripted.answers.append(Canned(status, body, {"Retry-After": "1"}, content_type))
    time = FakeTime()
    with pytest.raises(AuthenticationError) as refused:
        await run(url, time)
    assert refused.value.status == status
    assert time.waits == []
    assert scripted.requests == 1


NOT_GRAPHQL = {
    "html": Canned(body=b"<html>hiccup</html>", content_type="text/html"),
    "truncated json": Canned(body=b'{"data": {"flow_run": [{"id": "r-'),
    "cut connection": Canned(body=b'{"data": {"flow_run": [', cut=True),
    "data null": Canned(body=b'{"data": null}'),
    "no data": Canned(body=b"{}"),
    "a list": Canned(body=b"[1, 2]"),
}


@pytest.mark.parametrize("shape", list(NOT_GRAPHQL))
async def test_a_200_that_is_not_a_graphql_answer_is_retried_for_queries(
        script: tuple[Script, str], shape: str) -> None:
    scripted, url = script
    scripted.answers += [NOT_GRAPHQL[shape]] * 2
    time = FakeTime()
    assert await run(url, time) == GOOD["data"]
    assert time.waits == [0.25, 0.5]
    scripted.answers += [NOT_GRAPHQL[shape]] * 5
    time = FakeTime()
    with pytest.raises((MalformedResponseError, BackendUnavailableError)) as failed:
        await run(url, time)
    # A cut connection is a transport failure; the others are answers that are not GraphQL.
    assert isinstance(failed.value, BackendUnavailableError) == (shape == "cut connection")
    assert time.waits == [0.25, 0.5, 1.0, 2.0]


@pytest.mark.parametrize("shape", ["html", "truncated json", "data null", "no data"])
async def test_a_mutation_is_never_resent_after_an_unreadable_answer(
        script: tuple[Script, str], shape: str) -> None:
    scripted, url = script
    scripted.answers.append(NOT_GRAPHQL[shape])
    time = FakeTime()
    with pytest.raises(MalformedResponseError):
        await run(url, time, query='mutation { set_flow_run_state(input: {}) { id } }',
                  validate=False)
    assert time.waits == []
    assert scripted.requests == 1


async def test_retry_after_beyond_the_deadline_fails_at_once(script: tuple[Script, str]) -> None:
    scripted, url = script
    scripted.answers.append(Canned(503, b"busy", {"Retry-After": "120"}, "text/plain"))
    time = FakeTime()
    with pytest.raises(BackendUnavailableError) as failed:
        await run(url, time, deadline=30.0)
    assert failed.value.status == 503
    assert failed.value.attempts == 1
    assert time.waits == []


async def test_waits_stop_at_the_deadline(script: tuple[Script, str]) -> None:
    scripted, url = script
    scripted.answers += [Canned(429, b"slow down", {"Retry-After": "2"}, "text/plain")] * 10
    time = FakeTime()
    with pytest.raises(BackendUnavailableError) as failed:
        await run(url, time, deadline=5.0, attempts=10)
    assert time.waits == [2.0, 2.0]  # a third wait would end at 6 s, past the 5 s deadline
    assert failed.value.attempts == 3
    assert failed.value.status == 429


@pytest.mark.parametrize(("canned", "error"), [
    (Canned(400, json.dumps({"errors": [{"message": "bad"}]}).encode()), GraphQLQueryError),
    (Canned(200, json.dumps({"errors": [{"message": "bad"}], "data": None}).encode()),
     GraphQLQueryError),
    (Canned(404, b"not found", content_type="text/plain"), ConfigurationError),
    (Canned(400, b"bad request", content_type="text/plain"), GraphQLQueryError),
])
async def test_other_answers_are_not_retried(script: tuple[Script, str], canned: Canned,
                                             error: type[Exception]) -> None:
    scripted, url = script
    scripted.answers.append(canned)
    time = FakeTime()
    with pytest.raises(error):
        await run(url, time)
    assert time.waits == []
    assert scripted.requests == 1


@pytest.mark.parametrize(("header", "expected"), [
    ("1.5", 1.5), (" 2 ", 2.0), ("0", 0.0), ("-3", 0.0), ("nan", None), ("inf", None),
    ("", None), ("later", None),
    (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
    (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
])
def test_retry_after_values(header: str, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected

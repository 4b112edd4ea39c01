"""What reaches the backend at all: Host names, content types, methods, slow or idle connections,
and the bounded request history."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from flowview_async.server.http_guard import HttpPolicy
from flowview_async.server.limits import Limits
from flowview_async.server.runner import LocalBackend
from tests.scale import scaled
from tests.server.hardening.conftest import HELLO, post_json

HELLO_ANSWER = {"data": {"hello": "👋"}}


@pytest.mark.parametrize("host", ["localhost:4200", "127.0.0.1", "[::1]:80", "LOCALHOST."])
async def test_loopback_host_names_are_served(session: aiohttp.ClientSession, host: str) -> None:
    async with LocalBackend(None) as backend:
        status, body, _ = await post_json(
            session, backend.graphql_url, {"query": HELLO}, {"Host": host}
        )
        assert (status, body) == (200, HELLO_ANSWER)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:4200", "127.0.0.1.evil.example", "[::2]"])
async def test_other_host_names_are_refused(session: aiohttp.ClientSession, host: str) -> None:
    async with LocalBackend(None) as backend:
        status, body, headers = await post_json(
            session, backend.graphql_url, {"query": HELLO}, {"Host": host}
        )
        assert status == 403
        error = body["errors"][0]
        assert error["extensions"]["code"] == "FORBIDDEN_HOST"
        assert "--allow-host" in error["message"]
        assert "Access-Control-Allow-Origin" not in headers
        # Health checks and anything else are refused the same way.
        health = backend.url + "/.well-known/apollo/server-health"
        async with session.get(health, headers={"Host": host}) as response:
            assert response.status == 403
        assert backend.requests == []  # never reached the GraphQL layer


async def test_allowed_host_names_are_served(session: aiohttp.ClientSession) -> None:
    async with LocalBackend(None, policy=HttpPolicy(allowed_hosts=("flowview.internal",))) as backend:
        status, _, _ = await post_json(
            session, backend.graphql_url, {"query": HELLO}, {"Host": "flowview.internal:4200"}
        )
        assert status == 200
    async with LocalBackend(None, policy=HttpPolicy(allowed_hosts=("*",))) as backend:
        status, _, _ = await post_json(session, backend.graphql_url, {"query": HELLO}, {"Host": "anything"})
        assert status == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_non_json_posts_are_refused(session: aiohttp.ClientSession, content_type: str) -> None:
    async with LocalBackend(None) as backend:
        status, body, _ = await post_json(
            session, backend.graphql_url, {"query": HELLO}, {"Content-Type": content_type}
        )
        assert status == 415
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "application/json" in body["errors"][0]["message"]


async def test_json_with_a_charset_is_accepted(session: aiohttp.ClientSession) -> None:
    async with LocalBackend(None) as backend:
        status, body, _ = await post_json(
            session,
            backend.graphql_url,
            {"query": HELLO},
            {"Content-Type": "application/json; charset=utf-8"},
        )
        assert (status, body) == (200, HELLO_ANSWER)


async def test_history_keeps_the_latest_requests_only(session: aiohttp.ClientSession) -> None:
    async with LocalBackend(None, limits=Limits(history=5)) as backend:
        for number in range(8):
            await post_json(session, backend.graphql_url, {"query": f"query Q{number} {{ hello }}"})
        assert [r.operation_name for r in backend.requests] == ["Q3", "Q4", "Q5", "Q6", "Q7"]
    big = "x" * 100_000
    async with LocalBackend(None, limits=Limits(history_bytes=350_000)) as backend:
        for _ in range(10):
            await post_json(session, backend.graphql_url, {"query": HELLO, "variables": {"big": big}})
        assert 1 <= len(backend.requests) <= 3


async def test_idle_and_slow_header_connections_are_closed(session: aiohttp.ClientSession) -> None:
    """Connections that never finish their headers (slowloris) are closed by the header timeout,
    while requests keep being served."""
    count = scaled(3000, 100)
    async with LocalBackend(None, limits=Limits(header_time_s=1.0)) as backend:
        host, port = "127.0.0.1", int(backend.url.rsplit(":", 1)[1])
        connections = []
        for number in range(count):
            reader, writer = await asyncio.open_connection(host, port)
            if number % 2:
                writer.write(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            connections.append((reader, writer))
        status, body, _ = await post_json(session, backend.graphql_url, {"query": HELLO})
        assert (status, body) == (200, HELLO_ANSWER)
        try:
            for reader, _writer in connections:
                # The server closes each one: the read ends (EOF) instead of waiting forever.
                assert await asyncio.wait_for(reader.read(), timeout=60) == b""
        finally:
            for _reader, writer in connections:
                writer.close()


async def test_a_body_that_does_not_arrive_in_time_is_a_json_408() -> None:
    async with LocalBackend(None, limits=Limits(body_time_s=0.5)) as backend:
        port = int(backend.url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(
                b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{\"query\""
            )
            answer = await asyncio.wait_for(reader.read(), timeout=60)
        finally:
            writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408")
        assert b'"BAD_REQUEST"' in body
        assert b"did not arrive within 0.5 s" in body


async def test_many_concurrent_requests_are_all_served(session: aiohttp.ClientSession) -> None:
    count = scaled(2000, 200)
    connector = aiohttp.TCPConnector(limit=0)
    async with LocalBackend() as backend, aiohttp.ClientSession(connector=connector) as many:
        query = {"query": "{ flow_run(limit: 5) { id name state } hello }"}
        answers = await asyncio.gather(*(post_json(many, backend.graphql_url, query) for _ in range(count)))
    assert {status for status, _, _ in answers} == {200}
    assert all(body["data"]["hello"] == "👋" for _, body, _ in answers)

"""``flowview serve`` facing hostile requests: time to refuse each, ``{ hello }`` meanwhile, memory.

Run it from the repository root (a script, not a test)::

    .venv/bin/python bench/bench_server_hardening.py [--quick]

The server is a real ``flowview serve`` child process (so this script's load does not share its
event loop) with synthetic data. For each stalling request of issue 9 the script sends it and, at
the same time, polls ``{ hello }`` every 20 ms; it prints how long the hostile request took to be
answered, its status and code, and the slowest ``{ hello }`` meanwhile — against the slowest
``{ hello }`` of an idle server measured in the same run (the ratio). Then: concurrent requests all
served, half-open connections closed by the header timeout, and the server's resident memory
over many requests (including large variables and distinct large documents), first to last.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import attrs
from _harness import REPO_ROOT, parse_args, print_ratio, print_table

FLOWVIEW = os.path.join(os.path.dirname(sys.executable), "flowview")
HELLO = {"query": "{ hello }"}
sys.path.insert(0, str(REPO_ROOT))

from tests.server.hardening.conftest import (  # noqa: E402
    QUADRATIC,
    alias_query,
    fan_out_query,
    nested_selection,
)


@attrs.frozen
class Sizes:
    synthetic: str
    half_open: int
    concurrent: int
    memory_requests: int
    large_variables: int
    distinct_documents: int


FULL = Sizes("2x1000x5", 3000, 2000, 30_000, 300, 2000)
QUICK = Sizes("1x300x5", 300, 300, 3000, 30, 200)


@contextlib.asynccontextmanager
async def serving(*arguments: str) -> AsyncIterator[tuple[str, int]]:
    """A ``flowview serve`` child; yields its URL and pid."""
    process = await asyncio.create_subprocess_exec(
        FLOWVIEW, "serve", "--port", "0", *arguments,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 600)).decode().strip()
        yield url, process.pid
    finally:
        process.terminate()
        await process.wait()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with session.post(url, data=data, headers={"Content-Type": "application/json"}) as response:
        return response.status, await response.json(content_type=None)


async def slowest_hello_during(
    session: aiohttp.ClientSession, url: str, work: Awaitable[Any]
) -> tuple[Any, float, float]:
    """Run ``work`` while polling ``{ hello }``; its result, its seconds, the slowest hello (s)."""
    task = asyncio.ensure_future(work)
    started = time.perf_counter()
    slowest = 0.0
    while True:
        before = time.perf_counter()
        status, _ = await post(session, url, HELLO)
        assert status == 200
        slowest = max(slowest, time.perf_counter() - before)
        if task.done():
            break
        await asyncio.sleep(0.02)
    return task.result(), time.perf_counter() - started, slowest


def code_of(answer: Any) -> str:
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return str(errors[0]["extensions"]["code"]) if errors else "-"


async def stalling_requests(url: str, sizes: Sizes) -> None:
    graphql = url + "/graphql"
    deep_body = b'{"query": "{ hello }", "variables": {"v": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    like = "query ($p: String) { log(where: {message: {_like: $p}}) { id } }"
    # Just under the field limit: the largest document that reaches validation.
    big_document = "{ flow_run(limit: 1) { " + " ".join(f"a{i}: flow {{ id }}" for i in range(240)) + " } }"
    cases: dict[str, Callable[[aiohttp.ClientSession], Awaitable[tuple[int, Any]]]] = {
        "_like '%_%_%_%_%_%_%Q' over every log line": lambda s: post(
            s, graphql, {"query": like, "variables": {"p": "%_%_%_%_%_%_%Q"}}),
        "_regex '(a|aa)*c' over every log line": lambda s: post(
            s, graphql, {"query": like.replace("_like", "_regex"), "variables": {"p": "(a|aa)*c"}}),
        f"fragment fan-out ({len(fan_out_query(3, 10))} bytes)": lambda s: post(
            s, graphql, {"query": fan_out_query(3, 10)}),
        "10,000 root aliases": lambda s: post(s, graphql, {"query": alias_query(10_000)}),
        "5,000 root aliases": lambda s: post(s, graphql, {"query": alias_query(5_000)}),
        "3,000 root aliases": lambda s: post(s, graphql, {"query": alias_query(3_000)}),
        "selection nested 3,000 deep": lambda s: post(s, graphql, {"query": nested_selection(3000)}),
        "body nested 5,000 deep": lambda s: post(s, graphql, deep_body),
        f"document validated off the loop ({len(big_document) // 1024} KB)": lambda s: post(
            s, graphql, {"query": big_document}),
        "quadratic filter (statement time limit)": lambda s: post(s, graphql, {"query": QUADRATIC}),
    }
    async with aiohttp.ClientSession() as session:
        idle = 0.0
        for _ in range(50):
            before = time.perf_counter()
            await post(session, graphql, HELLO)
            idle = max(idle, time.perf_counter() - before)
        rows = []
        worst_answer = worst_hello = 0.0
        for label, send in cases.items():
            (status, answer), seconds, slowest = await slowest_hello_during(session, graphql, send(session))
            worst_answer = max(worst_answer, seconds)
            worst_hello = max(worst_hello, slowest)
            rows.append((label, status, code_of(answer), f"{seconds:.2f}", f"{slowest * 1000:.0f}"))
    print_table("Stalling requests of issue 9, { hello } polled meanwhile",
                ("request", "status", "code", "answered in s", "slowest hello ms"), rows)
    print(f"slowest {{ hello }} on the idle server: {idle * 1000:.1f} ms")
    print_ratio("slowest hello under attack / idle", worst_hello / idle,
                "how much slower { hello } answers while the stalling requests run")
    print(f"slowest hostile request answered in {worst_answer:.2f} s")


async def half_open_connections(url: str, count: int) -> None:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connections = []
    for number in range(count):
        reader, writer = await asyncio.open_connection(host, int(port))
        if number % 2:
            writer.write(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        connections.append((reader, writer))
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        before = time.perf_counter()
        status, _ = await post(session, url + "/graphql", HELLO)
        hello_ms = (time.perf_counter() - before) * 1000
    closed = await asyncio.gather(*(asyncio.wait_for(r.read(), 120) for r, _ in connections))
    all_closed_s = time.perf_counter() - started
    for _, writer in connections:
        writer.close()
    print(f"\n{count} half-open connections: {{ hello }} answered {status} in {hello_ms:.0f} ms; "
          f"{sum(1 for c in closed if c == b'')} closed by the server after {all_closed_s:.1f} s "
          "(header timeout 10 s)")


async def concurrent_requests(url: str, count: int) -> None:
    query = {"query": "{ flow_run(limit: 5) { id name state } hello }"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        started = time.perf_counter()
        answers = await asyncio.gather(*(post(session, url + "/graphql", query) for _ in range(count)))
        seconds = time.perf_counter() - started
    served = sum(1 for status, _ in answers if status == 200)
    print(f"\n{count} concurrent requests: {served} answered 200 in {seconds:.2f} s")


async def memory_over_requests(url: str, pid: int, sizes: Sizes) -> None:
    graphql = url + "/graphql"
    big_variables = {"blob": "x" * 900_000}
    rows = []
    async with aiohttp.ClientSession() as session:
        await post(session, graphql, HELLO)
        first = rss_mb(pid)
        checkpoints = {sizes.memory_requests * k // 4 for k in range(1, 5)}
        for number in range(1, sizes.memory_requests + 1):
            if number <= sizes.large_variables:
                body: Any = {"query": "{ hello }", "variables": big_variables}
            elif number <= sizes.large_variables + sizes.distinct_documents:
                # Distinct large documents: each one parsed and validated, the cache stays bounded.
                body = {"query": "{ flow_run(limit: 1) { " + f"n{number}: id " * 2000 + "} }"}
            else:
                body = {"query": "query Poll($n: String) { flow_run(where: {name: {_eq: $n}}) "
                                 "{ id state } }", "variables": {"n": f"run-{number % 50}"}}
            await post(session, graphql, body)
            if number in checkpoints:
                rows.append((f"{number:,}", f"{rss_mb(pid):.1f}"))
    print_table("Server resident memory over requests (large variables first, then distinct "
                "large documents, then polls)", ("requests", "RSS MB"), [("1", f"{first:.1f}"), *rows])
    last, quarter = float(rows[-1][1]), float(rows[0][1])
    print_ratio("RSS after all requests / after the first quarter", last / quarter,
                "growth once the bounded history and caches are full: flat is 1.00x")
    print(f"RSS after the first request {first:.1f} MB, after the first quarter {quarter:.1f} MB, "
          f"at the end {last:.1f} MB")


async def main() -> None:
    sizes = QUICK if parse_args(__doc__ or "").quick else FULL
    async with serving("--synthetic", sizes.synthetic, "--fixture", "inspecting-flow-runs") as (url, pid):
        await stalling_requests(url, sizes)
        await half_open_connections(url, sizes.half_open)
        await concurrent_requests(url, sizes.concurrent)
    async with serving() as (url, pid):
        await memory_over_requests(url, pid, sizes)


if __name__ == "__main__":
    asyncio.run(main())

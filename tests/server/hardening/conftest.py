"""Helpers for the hostile-request tests: raw posts, and the stalling requests of issue 9."""

from __future__ import annotations

import io
import json
from typing import Any

import aiohttp

HELLO = "{ hello }"
# Each task run checks every task run of its flow run for a log line: quadratic work in SQLite
# (30-40 s for 1,000 task runs x 5 log lines, four times that for 2,000), whatever the row limits.
QUADRATIC = (
    '{ task_run(where: {flow_run: {task_runs: {logs: {message: {_like: "%nomatch%"}}}}}) { id } }'
)


async def post_json(
    session: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any, aiohttp.typedefs.CIMultiDictProxy[str]]:
    """POST ``body`` (JSON-encoded unless bytes) and return status, decoded JSON and headers."""
    data = io.BytesIO(body if isinstance(body, bytes) else json.dumps(body).encode())
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    async with session.post(url, data=data, headers=all_headers) as response:
        return response.status, await response.json(content_type=None), response.headers


def alias_query(count: int) -> str:
    return "{ " + " ".join(f"a{i}: hello" for i in range(count)) + " }"


def fan_out_query(levels: int, width: int, limit: int | None = None) -> str:
    """Each fragment spreads the previous one under ``width`` aliases: width**levels fields from
    a few hundred bytes, within Apollo's depth limit (two levels per fragment)."""
    paging = f"(limit: {limit})" if limit is not None else ""
    fragments = ["fragment F0 on flow { id name }"]
    for level in range(1, levels + 1):
        aliases = " ".join(
            f"x{i}: flow_runs{paging} {{ flow {{ ...F{level - 1} }} }}" for i in range(width)
        )
        fragments.append(f"fragment F{level} on flow {{ {aliases} }}")
    return f"{{ flow {{ ...F{levels} }} }} " + " ".join(fragments)


def nested_selection(depth: int) -> str:
    return "{ " + "flow_run { " * depth + "id" + " }" * depth + " }"

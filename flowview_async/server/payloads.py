"""Decoding a GraphQL HTTP request body into operations, within the request limits.

A body is one operation (``{"query": ..., "variables": ..., "operationName": ...}``) or, as Apollo
clients batch them, a JSON array of such objects. ``variables`` may be an object, null, or a JSON
string of either (Prefect 1.4.1 sends the string ``"null"``). Whatever is wrong with a body (too
big, too slow to arrive, nested too deeply, not JSON) becomes an :class:`HttpRefusal` carrying an
Apollo-shaped JSON error, never an exception escaping to aiohttp's plain-text 500.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import attrs
from aiohttp import web

from flowview_async.server.limits import Limits

_OFFLOAD_BODY_BYTES = 256 * 1024
BAD_BODY = (
    "POST body missing, invalid Content-Type, or JSON object has no query: send "
    '{"query": "...", "variables": {...}} as application/json'
)


@attrs.frozen
class Payload:
    """One decoded GraphQL operation, or the error it deserves (HTTP status and JSON body)."""

    query: str = ""
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    error: tuple[int, dict[str, Any]] | None = None


@attrs.frozen
class Body:
    """A decoded request body: one operation, or a batch of them (``batch`` is not None)."""

    single: Payload
    batch: tuple[Payload, ...] | None = None

    @property
    def operations(self) -> tuple[Payload, ...]:
        return self.batch if self.batch is not None else (self.single,)


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def refused(message: str, code: str, status: int = 400) -> Body:
    return Body(Payload(error=(status, error_body(message, code))))


def json_depth(value: Any) -> int:
    """Nesting depth of a decoded JSON value, without recursion (so any depth is measurable)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def decode_json(data: bytes | str, limits: Limits, what: str) -> Any:
    """JSON text decoded, or ``ValueError`` with a message fit for the client."""
    try:
        value = json.loads(data)
    except RecursionError:
        limit = limits.max_json_depth
        raise ValueError(f"{what} is nested too deeply; the limit is {limit} levels") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{what} is not valid JSON: {error}") from None
    if json_depth(value) > limits.max_json_depth:
        raise ValueError(f"{what} is nested deeper than {limits.max_json_depth} levels")
    return value


def operation_from(raw: Any, limits: Limits) -> Payload:
    """One operation object of a body (or of a GET query string) checked and decoded."""
    if not isinstance(raw, dict) or not isinstance(raw.get("query"), str) or not raw["query"]:
        return Payload(error=(400, error_body(BAD_BODY, "BAD_REQUEST")))
    query: str = raw["query"]
    variables = raw.get("variables")
    if isinstance(variables, str):
        try:
            variables = decode_json(variables, limits, "variables")
        except ValueError as error:
            return Payload(query, error=(400, error_body(f"Variables are invalid: {error}.", "BAD_REQUEST")))
    if variables is not None and not isinstance(variables, dict):
        return Payload(query, error=(400, error_body("Variables must be a JSON object.", "BAD_REQUEST")))
    operation_name = raw.get("operationName")
    return Payload(query, variables, operation_name if isinstance(operation_name, str) else None)


async def read_body(request: web.Request, limits: Limits) -> Body:
    """The request's operations, read within the body size and time limits."""
    if request.method == "GET":
        return Body(operation_from(dict(request.query), limits))
    try:
        data = await asyncio.wait_for(request.read(), limits.body_time_s)
    except asyncio.TimeoutError:
        return refused(
            f"the request body did not arrive within {limits.body_time_s:g} s", "BAD_REQUEST", 408
        )
    except web.HTTPRequestEntityTooLarge:
        return refused(
            f"the request body is larger than the limit of {limits.max_body_bytes:,} bytes; "
            "send smaller requests",
            "PAYLOAD_TOO_LARGE",
            413,
        )
    try:
        if len(data) >= _OFFLOAD_BODY_BYTES:
            # A multi-megabyte body (a log batch, a flow registration) decodes in a worker thread.
            raw = await asyncio.to_thread(decode_json, data, limits, "the request body")
        else:
            raw = decode_json(data or b"null", limits, "the request body")
    except ValueError as error:
        return refused(f"{error}. {BAD_BODY}", "BAD_REQUEST")
    if not isinstance(raw, list):
        return Body(operation_from(raw, limits))
    if not raw:
        return refused("the batch is empty: send at least one operation", "BAD_REQUEST")
    if len(raw) > limits.max_batch:
        return refused(
            f"the batch holds {len(raw)} operations; the limit is {limits.max_batch}: send "
            "smaller batches",
            "BATCH_TOO_LARGE",
        )
    return Body(Payload(), tuple(operation_from(item, limits) for item in raw))

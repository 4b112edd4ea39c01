"""Latency and fault injection in front of the GraphQL endpoint, for tests and benchmarks.

A :class:`FaultPlan` says what goes wrong; it is written as a compact spec string (the CLI's
``--faults``) of comma-separated items:

``KIND:P``
    random: each GraphQL request fails with KIND with probability P (0..1). Draws come from a
    ``random.Random(seed)``, so the same seed and the same request order give the same faults.
``KIND*N``
    scripted: the next N requests fail with KIND. Scripted items run in the order written, before
    any random item applies; ``ok*N`` lets N requests through. ``KIND`` alone means ``KIND*1``.

``KIND`` is one of:

* ``500``, ``502``, ``503``: that HTTP status with a plain-text body;
* ``500_html``: HTTP 500 with an HTML error page (what a proxy in front of the API sends);
* ``429``: HTTP 429 with a ``Retry-After`` header, ``429@S`` for S seconds (default 1, fractions
  allowed);
* ``503_errors``, ``429_errors``: that status with a JSON GraphQL ``errors`` body and a
  ``Retry-After`` header (``@S`` as for ``429``), as API gateways answer;
* ``reset``: the TCP connection is reset (RST) without any answer;
* ``slow``: the answer comes after a delay, ``slow@S`` for S seconds (default 30), to trip a client
  timeout;
* ``nonjson``: HTTP 200 with an HTML body;
* ``truncated``: HTTP 200 with the real answer cut in the middle (valid length, broken JSON);
* ``data_null``: HTTP 200 with ``{"data": null}`` and no errors;
* ``api_error``: HTTP 200 with GraphQL ``errors`` carrying ``extensions.code == "API_ERROR"`` (what
  Prefect Server answers when Hasura or Postgres is unreachable; Prefect's client retries it);
* ``ok`` (scripted items only): no fault.

Examples: ``"500:0.1,429:0.05,reset:0.02"``; ``"503*2"`` (the first two requests get 503, then all
succeed); ``"ok*1,reset*1,slow@5*1"``.

Latency (``latency_ms`` plus a uniform ``0..jitter_ms``, drawn from its own seeded generator) is
added before every GraphQL request, faulty or not. Only GraphQL requests are affected; the health
check never is.
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
import struct
from collections.abc import Awaitable, Callable

import attrs
from aiohttp import web

from flowview_async.errors import InvalidArgumentError

FAULT_KINDS = ("500", "502", "503", "500_html", "429", "503_errors", "429_errors", "reset", "slow",
               "nonjson", "truncated", "data_null", "api_error")
_DEFAULT_ARGUMENT = {"429": 1.0, "503_errors": 1.0, "429_errors": 1.0, "slow": 30.0}
_ITEM = re.compile(
    r"^(?P<kind>[a-z_0-9]+)(?:@(?P<argument>\d+(?:\.\d+)?))?"
    r"(?:(?::(?P<probability>\d*\.?\d+))|(?:\*(?P<count>\d+)))?$"
)
API_ERROR_MESSAGE = "Unable to complete operation. An internal API error occurred."


@attrs.frozen
class Fault:
    """One kind of failure; ``argument`` is the Retry-After or delay in seconds, if any."""

    kind: str
    argument: float | None = None

    def spec(self) -> str:
        return self.kind if self.argument is None else f"{self.kind}@{self.argument:g}"


@attrs.frozen
class RandomFault:
    fault: Fault
    probability: float


@attrs.frozen
class ScriptedFault:
    fault: Fault | None  # None: let the request through ("ok")
    count: int


@attrs.frozen
class FaultPlan:
    """What the backend does wrong, and when. Build one with :meth:`parse` or directly."""

    random_faults: tuple[RandomFault, ...] = ()
    script: tuple[ScriptedFault, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """Read a spec string (see the module docstring); raises InvalidArgumentError."""
        random_faults: list[RandomFault] = []
        script: list[ScriptedFault] = []
        for raw_item in spec.split(","):
            item = raw_item.strip().lower()
            if not item:
                continue
            match = _ITEM.match(item)
            kind = match["kind"] if match else ""
            if match is None or (kind not in FAULT_KINDS and kind != "ok"):
                raise InvalidArgumentError(
                    f"fault spec item {raw_item.strip()!r} is not understood: write KIND:PROBABILITY "
                    f"or KIND*COUNT with KIND one of {', '.join(FAULT_KINDS)} (or ok*COUNT)"
                )
            argument = match["argument"]
            fault = Fault(kind, float(argument) if argument else _DEFAULT_ARGUMENT.get(kind))
            if match["probability"] is not None:
                probability = float(match["probability"])
                if kind == "ok" or not 0.0 <= probability <= 1.0:
                    raise InvalidArgumentError(
                        f"fault spec item {raw_item.strip()!r}: the probability must be between "
                        "0 and 1, and 'ok' can only be scripted (ok*COUNT)"
                    )
                random_faults.append(RandomFault(fault, probability))
            else:
                count = int(match["count"]) if match["count"] is not None else 1
                script.append(ScriptedFault(None if kind == "ok" else fault, count))
        total = sum(rule.probability for rule in random_faults)
        if total > 1.0 + 1e-9:
            raise InvalidArgumentError(f"fault probabilities add up to {total:g}; keep their sum at most 1")
        return cls(tuple(random_faults), tuple(script))

    def spec(self) -> str:
        items = [f"{'ok' if step.fault is None else step.fault.spec()}*{step.count}" for step in self.script]
        items += [f"{rule.fault.spec()}:{rule.probability:g}" for rule in self.random_faults]
        return ",".join(items)


class FaultInjector:
    """The running state of a plan: which scripted step is next, and the seeded generators."""

    def __init__(
        self,
        plan: FaultPlan | None = None,
        *,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        seed: int = 0,
    ) -> None:
        if latency_ms < 0 or jitter_ms < 0:
            raise InvalidArgumentError("latency_ms and jitter_ms must not be negative")
        self.plan = plan or FaultPlan()
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        # Two generators: turning latency on must not change which requests fail.
        self._fault_random = random.Random(seed)
        self._latency_random = random.Random(seed + 1)
        self._scripted = [step.fault for step in self.plan.script for _ in range(step.count)]
        self._scripted.reverse()

    def next_delay(self) -> float:
        jitter = self._latency_random.uniform(0, self.jitter_ms) if self.jitter_ms else 0.0
        return (self.latency_ms + jitter) / 1000.0

    def next_fault(self) -> Fault | None:
        if self._scripted:
            return self._scripted.pop()
        if not self.plan.random_faults:
            return None
        draw = self._fault_random.random()
        for rule in self.plan.random_faults:
            if draw < rule.probability:
                return rule.fault
            draw -= rule.probability
        return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reset_connection(request: web.Request) -> None:
    """Drop the client's connection with a TCP RST (SO_LINGER 0), the way a crashed proxy does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def apply_fault(fault: Fault, request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer ``request`` the way ``fault`` says."""
    if fault.kind in ("500", "502", "503"):
        status = int(fault.kind)
        return web.Response(status=status, text=f"{status} injected by the flowview fault plan")
    if fault.kind == "429":
        retry_after = fault.argument if fault.argument is not None else 1.0
        return web.Response(
            status=429,
            text="429 Too Many Requests (injected)",
            headers={"Retry-After": f"{retry_after:g}"},
        )
    if fault.kind == "500_html":
        return web.Response(
            status=500,
            text="<html><head><title>500 Internal Server Error</title></head>"
                 "<body><h1>Internal Server Error</h1></body></html>",
            content_type="text/html",
        )
    if fault.kind in ("503_errors", "429_errors"):
        retry_after = fault.argument if fault.argument is not None else 1.0
        return web.json_response(
            {"errors": [{"message": f"{fault.kind[:3]} injected: try again later",
                         "extensions": {"code": "SERVICE_UNAVAILABLE"}}]},
            status=int(fault.kind[:3]),
            headers={"Retry-After": f"{retry_after:g}"},
        )
    if fault.kind == "data_null":
        return web.json_response({"data": None})
    if fault.kind == "truncated":
        answer = await handler(request)
        body = answer.body if isinstance(answer, web.Response) else None
        whole = bytes(body) if isinstance(body, (bytes, bytearray)) else b'{"data": {"x": 1}}'
        return web.Response(status=200, body=whole[: max(1, len(whole) // 2)],
                            content_type="application/json")
    if fault.kind == "nonjson":
        return web.Response(
            status=200,
            text="<html><body>Gateway hiccup (injected)</body></html>",
            content_type="text/html",
        )
    if fault.kind == "api_error":
        return web.json_response(
            {
                "errors": [{"message": API_ERROR_MESSAGE, "extensions": {"code": "API_ERROR"}}],
                "data": None,
            }
        )
    if fault.kind == "slow":
        await asyncio.sleep(fault.argument if fault.argument is not None else 30.0)
        return await handler(request)
    raise AssertionError(f"unhandled fault kind {fault.kind}")  # reset is handled by the caller

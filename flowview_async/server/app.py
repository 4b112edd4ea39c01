"""The aiohttp application: Prefect Server's public GraphQL endpoint, as Apollo serves it.

* ``POST /graphql`` and ``POST /`` (Prefect's client posts to the root), as ``application/json``:
  one operation, or a JSON array of them (Apollo batching: an array of results comes back, in
  order, each with its own errors). ``GET`` with ``?query=`` only with ``HttpPolicy.allow_get``.
  ``GET /.well-known/apollo/server-health`` answers ``{"status": "pass"}``.
* Errors are shaped like Apollo's: parse and validation failures (and queries deeper than 7, or over
  a :class:`~flowview_async.server.limits.Limits` bound) are HTTP 400 with ``extensions.code``;
  execution errors are HTTP 200 with ``errors`` and ``data``.

Middlewares, outermost first: the ``Host`` check (:mod:`.http_guard`), CORS (:mod:`.cors`), the
request-shape check (JSON POSTs only), the traffic recorder (:class:`Traffic`, a bounded history
plus the in-flight count), and injected latency/faults (:mod:`.faults`). Each request's database
work runs under a time budget (:mod:`.deadlines`) and stops when its client goes away.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import threading
from collections import deque
from inspect import isawaitable
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web
from graphql import (
    DocumentNode,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values

from flowview_async.server import batching
from flowview_async.server.cors import cors_middleware
from flowview_async.server.database import Database
from flowview_async.server.deadlines import statement_budget
from flowview_async.server.documents import DocumentChecker, Refused, formatted_error
from flowview_async.server.faults import FaultInjector, Handler, apply_fault, reset_connection
from flowview_async.server.http_guard import HttpPolicy, host_middleware, request_shape_middleware
from flowview_async.server.limits import DEFAULT_HISTORY, DEFAULT_HISTORY_BYTES, Limits
from flowview_async.server.payloads import Body, Payload, error_body, read_body
from flowview_async.server.resolvers import RequestContext, attach_resolvers, field_resolver
from flowview_async.server.schema import build_server_schema
from flowview_async.server.ui import SETTINGS_PATH, UiFiles
from flowview_async.server.writes import PREFECT_HEADERS, prefect_headers

GRAPHQL_PATHS = ("/", "/graphql", "/graphql/")
HEALTH_PATH = "/.well-known/apollo/server-health"
STATUS_CONNECTION_RESET = 0


@attrs.frozen
class ServedRequest:
    """One GraphQL request as the backend received it and the HTTP status it got.

    ``operation_name`` is the ``operationName`` sent, or else the name of the document's only
    operation (``None`` for anonymous ones, such as every query Prefect 1.4.1 sends).

    ``status`` is 0 when no answer was sent: an injected connection reset, or the backend was
    stopped while the request was still being served.
    """

    operation_name: str | None
    query: str
    variables: dict[str, Any] | None
    status: int


class Traffic:
    """What the backend has served since start (or the last :meth:`clear`): the latest
    ``capacity`` requests, fewer if their queries and variables add up to over ``max_bytes``
    (the oldest go first), so a long-running server keeps a bounded history.

    Tests read it from other threads while the server's loop records (a deque cannot be copied
    while it changes), hence the lock.
    """

    def __init__(self, capacity: int = DEFAULT_HISTORY, max_bytes: int = DEFAULT_HISTORY_BYTES) -> None:
        self._lock = threading.Lock()
        self.requests: deque[ServedRequest] = deque()
        self._sizes: deque[int] = deque()
        self._bytes = 0
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.in_flight = 0
        self.max_in_flight = 0

    def record(self, served: ServedRequest, size: int) -> None:
        with self._lock:
            self.requests.append(served)
            self._sizes.append(size)
            self._bytes += size
            while self.requests and (len(self.requests) > self.capacity or self._bytes > self.max_bytes):
                self.requests.popleft()
                self._bytes -= self._sizes.popleft()

    def snapshot(self) -> list[ServedRequest]:
        """The recorded requests, oldest first (a copy, safe from any thread)."""
        with self._lock:
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._sizes.clear()
            self._bytes = 0
        self.max_in_flight = self.in_flight


DATABASE_KEY = web.AppKey("flowview_database", Database)
SCHEMA_KEY = web.AppKey("flowview_schema", GraphQLSchema)
TRAFFIC_KEY = web.AppKey("flowview_traffic", Traffic)
INJECTOR_KEY = web.AppKey("flowview_faults", FaultInjector)
LIMITS_KEY = web.AppKey("flowview_limits", Limits)
CHECKER_KEY = web.AppKey("flowview_checker", DocumentChecker)
# aiohttp >= 3.13 wants typed request keys (and warns about strings); older ones have none.
_PAYLOAD_KEY: Any = (
    web.RequestKey("flowview_payload", Body) if hasattr(web, "RequestKey") else "flowview_payload"
)
_MISSING_VARIABLE = re.compile(
    r"Variable ['\"]\$(?P<name>\w+)['\"] (?:has invalid value: Expected a value of non-null "
    r"type ['\"](?P<type>[^'\"]+)['\"] to be provided|of required type ['\"](?P<type2>[^'\"]+))"
)

def _json(body: Any, status: int = 200) -> web.Response:
    text = json.dumps(body, ensure_ascii=False)
    return web.Response(text=text, status=status, content_type="application/json")


def is_graphql_request(request: web.Request) -> bool:
    if request.path not in GRAPHQL_PATHS:
        return False
    return request.method == "POST" or (request.method == "GET" and "query" in request.query)


async def payload_of(request: web.Request) -> Body:
    """The request's decoded body, read once and cached on the request."""
    if _PAYLOAD_KEY not in request:
        request[_PAYLOAD_KEY] = await read_body(request, request.app[LIMITS_KEY])
    body: Body = request[_PAYLOAD_KEY]
    return body


async def answer_graphql(
    checker: DocumentChecker, database: Database, payload: Payload
) -> tuple[int, dict[str, Any]]:
    """Check and execute one operation: the HTTP status and JSON body Apollo would send."""
    if payload.error is not None:
        return payload.error
    try:
        checked = await checker.check(payload)
    except Refused as refusal:
        return refusal.status, refusal.body
    return await execute_checked(checker, database, payload, checked.document)


async def execute_checked(
    checker: DocumentChecker, database: Database, payload: Payload, document: DocumentNode
) -> tuple[int, dict[str, Any]]:
    """Execute a document that passed :meth:`DocumentChecker.check`."""
    schema = checker.schema
    operation = get_operation_ast(document, payload.operation_name)
    if operation is None:
        return 400, error_body(
            "Must provide a known operation name when the document has several operations.",
            "BAD_USER_INPUT",
        )
    variable_errors = _variable_errors(schema, operation, payload.variables or {})
    if variable_errors is not None:
        return 400, variable_errors
    with statement_budget(checker.limits.statement_time_s):
        result = execute(
            schema,
            document,
            variable_values=payload.variables,
            operation_name=payload.operation_name,
            context_value=RequestContext(database, payload.variables or {}),
            field_resolver=field_resolver,
        )
        if isawaitable(result):
            result = await result
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [formatted_error(e, "INTERNAL_SERVER_ERROR") for e in result.errors]
    body["data"] = result.data
    return 200, body


async def run_graphql(
    schema: GraphQLSchema, database: Database, payload: Payload, checker: DocumentChecker | None = None
) -> web.Response:
    """Parse, validate and execute one payload; HTTP status and body as Apollo would send them."""
    checker = checker if checker is not None else DocumentChecker(schema, Limits())
    status, body = await answer_graphql(checker, database, payload)
    return _json(body, status)


def _variable_errors(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> dict[str, Any] | None:
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    if not isinstance(coerced, list):
        return None
    errors = []
    for error in coerced:
        missing = _MISSING_VARIABLE.match(error.message)
        if missing:
            # Apollo 2 (graphql-js 14) words it so, and labels it an internal error.
            type_name = missing["type"] or missing["type2"]
            error.message = f'Variable "${missing["name"]}" of required type "{type_name}" was not provided.'
            errors.append(formatted_error(error, "INTERNAL_SERVER_ERROR"))
        else:
            errors.append(formatted_error(error, "BAD_USER_INPUT", js_quotes=True))
    return {"errors": errors}


async def graphql_handler(request: web.Request) -> web.StreamResponse:
    body = await payload_of(request)
    checker, database = request.app[CHECKER_KEY], request.app[DATABASE_KEY]
    # Mutations see the x-prefect-* headers (the agent id), as Prefect's Python service does.
    PREFECT_HEADERS.set(prefect_headers(request.headers))
    if body.batch is None:
        status, answer = await answer_graphql(checker, database, body.single)
        return _json(answer, status)
    status, answers = await batching.answer_batch(checker, database, body.batch, execute_checked)
    return _json(answers, status)


async def health_handler(_request: web.Request) -> web.StreamResponse:
    return _json({"status": "pass"})


@web.middleware
async def traffic_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_graphql_request(request):
        return await handler(request)
    traffic = request.app[TRAFFIC_KEY]
    # Read the body first, so even a request answered by an injected fault is recorded in full.
    body = await payload_of(request)
    traffic.in_flight += 1
    traffic.max_in_flight = max(traffic.max_in_flight, traffic.in_flight)
    status = STATUS_CONNECTION_RESET
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        traffic.in_flight -= 1
        operations = body.operations
        # The size of what is kept: the query texts plus the variables' share of the body.
        variables_share = (request.content_length or 0) // len(operations)
        checker = request.app[CHECKER_KEY]
        for payload in operations:
            served = ServedRequest(
                _operation_name(checker, payload), payload.query, payload.variables, status
            )
            traffic.record(served, len(payload.query) + variables_share)


def _operation_name(checker: DocumentChecker, payload: Payload) -> str | None:
    """``operationName`` as sent, else the name of the document's only operation, if any."""
    if payload.operation_name is not None or not payload.query:
        return payload.operation_name
    checked = checker.cached_document(payload.query)
    if checked is None:
        return None
    operations = [
        definition for definition in checked.definitions if isinstance(definition, OperationDefinitionNode)
    ]
    if len(operations) == 1 and operations[0].name is not None:
        return operations[0].name.value
    return None


class _ConnectionReset(web.HTTPException):
    """Raised after the socket was aborted: there is nobody left to answer."""

    status_code = 499


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_graphql_request(request):
        return await handler(request)
    injector = request.app[INJECTOR_KEY]
    delay, fault = injector.next_delay(), injector.next_fault()
    if delay:
        await asyncio.sleep(delay)
    if fault is None:
        return await handler(request)
    if fault.kind == "reset":
        reset_connection(request)
        raise _ConnectionReset()
    return await apply_fault(fault, request, handler)


@functools.cache
def served_schema() -> GraphQLSchema:
    """The SDL schema with the resolvers attached, built once: the resolvers keep no state
    (each request brings its database in the context), so every app can share it."""
    schema = build_server_schema()
    attach_resolvers(schema)
    return schema


def create_app(
    database: Database,
    *,
    injector: FaultInjector | None = None,
    traffic: Traffic | None = None,
    limits: Limits | None = None,
    policy: HttpPolicy | None = None,
    bound_host: str = "127.0.0.1",
    ui_dir: Path | None = None,
) -> web.Application:
    """The backend's aiohttp application over an opened ``database``.

    ``limits`` bound every request (:class:`Limits` defaults otherwise); ``policy`` says which
    origins, host names and methods are accepted (none but loopback and the bound host, JSON POSTs
    only, by default); ``ui_dir`` serves a built Prefect UI from the same port (:mod:`.ui`).
    """
    schema = served_schema()
    limits = limits if limits is not None else Limits()
    policy = policy if policy is not None else HttpPolicy()
    # Limits.max_body_bytes (16 MB) stays above what Prefect 1.4.1 sends: its log handler ships
    # batches of up to ~4 MB (Apollo takes 5 MB), a smaller body limit would lose log batches.
    app = web.Application(
        middlewares=[
            host_middleware(policy, bound_host),
            cors_middleware(policy),
            request_shape_middleware(policy, GRAPHQL_PATHS),
            traffic_middleware,
            fault_middleware,
        ],
        client_max_size=limits.max_body_bytes,
    )
    app[DATABASE_KEY] = database
    app[SCHEMA_KEY] = schema
    app[LIMITS_KEY] = limits
    app[CHECKER_KEY] = DocumentChecker(schema, limits)
    app[TRAFFIC_KEY] = traffic if traffic is not None else Traffic(limits.history, limits.history_bytes)
    app[INJECTOR_KEY] = injector if injector is not None else FaultInjector()
    app.router.add_get(HEALTH_PATH, health_handler)
    for path in GRAPHQL_PATHS:
        app.router.add_post(path, graphql_handler)
    if ui_dir is not None:
        files = UiFiles(ui_dir)
        app.router.add_get(SETTINGS_PATH, files.settings)

        async def ui_or_graphql(request: web.Request) -> web.StreamResponse:
            if policy.allow_get and is_graphql_request(request):
                return await graphql_handler(request)
            return await files.file(request)

        app.router.add_get("/{tail:.*}", ui_or_graphql)
    elif policy.allow_get:
        for path in GRAPHQL_PATHS:
            app.router.add_get(path, graphql_handler)
    return app

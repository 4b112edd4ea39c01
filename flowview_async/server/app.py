"""The aiohttp application: Prefect Server's public GraphQL endpoint, as Apollo serves it.

* ``POST /graphql`` and ``POST /`` (Prefect's client posts to the root), ``GET`` with ``?query=``;
  ``GET /.well-known/apollo/server-health`` answers ``{"status": "pass"}``.
* ``variables`` may be an object, null, or a JSON string of either (Prefect 1.4.1 sends the string
  ``"null"``).
* Errors are shaped like Apollo's: parse and validation failures (and queries deeper than 7) are
  HTTP 400 with ``extensions.code``; execution errors are HTTP 200 with ``errors`` and ``data``.

Two middlewares sit in front: the outer one records every GraphQL request (:class:`Traffic`) and
counts how many are in flight; the inner one adds latency and injected faults
(:mod:`flowview_async.server.faults`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Mapping
from inspect import isawaitable
from typing import Any

import attrs
from aiohttp import web
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.error import GraphQLSyntaxError
from graphql.execution.values import get_variable_values

from flowview_async.server.database import Database
from flowview_async.server.faults import FaultInjector, Handler, apply_fault, reset_connection
from flowview_async.server.resolvers import RequestContext, attach_resolvers, field_resolver
from flowview_async.server.schema import build_server_schema
from flowview_async.server.writes import PREFECT_HEADERS, prefect_headers

GRAPHQL_PATHS = ("/", "/graphql", "/graphql/")
HEALTH_PATH = "/.well-known/apollo/server-health"
MAX_DEPTH = 7
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


@attrs.define
class Traffic:
    """What the backend has served since start (or the last :meth:`clear`)."""

    requests: list[ServedRequest] = attrs.field(factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def clear(self) -> None:
        self.requests.clear()
        self.max_in_flight = self.in_flight


@attrs.frozen
class Payload:
    """A decoded GraphQL request body, or the error response it deserves."""

    query: str = ""
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    error: web.Response | None = None


DATABASE_KEY = web.AppKey("flowview_database", Database)
SCHEMA_KEY = web.AppKey("flowview_schema", GraphQLSchema)
TRAFFIC_KEY = web.AppKey("flowview_traffic", Traffic)
INJECTOR_KEY = web.AppKey("flowview_faults", FaultInjector)
# aiohttp >= 3.13 wants typed request keys (and warns about strings); older ones have none.
_PAYLOAD_KEY: Any = (
    web.RequestKey("flowview_payload", Payload) if hasattr(web, "RequestKey") else "flowview_payload"
)
_MISSING_VARIABLE = re.compile(
    r"Variable ['\"]\$(?P<name>\w+)['\"] (?:has invalid value: Expected a value of non-null "
    r"type ['\"](?P<type>[^'\"]+)['\"] to be provided|of required type ['\"](?P<type2>[^'\"]+))"
)
_SINGLE_QUOTED = re.compile(r"'([^'\s]*)'")
_CORS = {"Access-Control-Allow-Origin": "*"}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
        headers=_CORS,
    )


def _error_response(message: str, code: str, status: int = 400) -> web.Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


def _formatted(error: GraphQLError, default_code: str, *, js_quotes: bool = False) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    if js_quotes:
        # graphql-js (what Apollo runs) quotes names with double quotes; graphql-core 3.3 single.
        formatted["message"] = _SINGLE_QUOTED.sub(r'"\1"', str(formatted["message"]))
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", default_code)
    formatted["extensions"] = extensions
    return formatted


def is_graphql_request(request: web.Request) -> bool:
    return request.path in GRAPHQL_PATHS and request.method in ("POST", "GET")


async def _read_payload(request: web.Request) -> Payload:
    if request.method == "GET":
        raw: Any = dict(request.query)
    else:
        try:
            raw = json.loads(await request.read() or b"null")
        except (ValueError, UnicodeDecodeError):
            raw = None
    if not isinstance(raw, dict) or not isinstance(raw.get("query"), str) or not raw["query"]:
        return Payload(
            error=_error_response(
                "POST body missing, invalid Content-Type, or JSON object has no query: send "
                '{"query": "...", "variables": {...}} as application/json',
                "BAD_REQUEST",
            )
        )
    variables = raw.get("variables")
    if isinstance(variables, str):
        # Prefect 1.4.1 sends json.dumps(None) == "null"; Apollo decodes string variables.
        try:
            variables = json.loads(variables)
        except ValueError:
            return Payload(raw["query"], error=_error_response("Variables are invalid JSON.", "BAD_REQUEST"))
    if variables is not None and not isinstance(variables, dict):
        return Payload(raw["query"], error=_error_response("Variables must be a JSON object.", "BAD_REQUEST"))
    operation_name = raw.get("operationName")
    return Payload(raw["query"], variables, operation_name if isinstance(operation_name, str) else None)


async def payload_of(request: web.Request) -> Payload:
    """The request's decoded payload, read once and cached on the request."""
    if _PAYLOAD_KEY not in request:
        request[_PAYLOAD_KEY] = await _read_payload(request)
    payload: Payload = request[_PAYLOAD_KEY]
    return payload


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    depth: int,
    seen: frozenset[str] = frozenset(),
) -> int:
    # graphql-depth-limit's rule: root fields are depth 0, introspection fields do not count.
    if selection_set is None:
        return depth
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            if selection.selection_set is None:
                deepest = max(deepest, depth)
            else:
                deepest = max(deepest, _depth(selection.selection_set, fragments, depth + 1, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, depth, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                fragment = fragments[name]
                deepest = max(deepest, _depth(fragment.selection_set, fragments, depth, seen | {name}))
    return deepest


@functools.lru_cache(maxsize=1024)
def _checked_document(schema: GraphQLSchema, query: str) -> DocumentNode | tuple[dict[str, Any], ...]:
    """The parsed document, or its parse/validation errors as Apollo formats them.

    Cached by query text: clients send the same few documents over and over, and validating
    against this large schema costs more than running the SQL.
    """
    try:
        document = parse(query)
    except GraphQLSyntaxError as error:
        return (_formatted(error, "GRAPHQL_PARSE_FAILED", js_quotes=True),)
    validation_errors = validate(schema, document)
    if validation_errors:
        return tuple(_formatted(e, "GRAPHQL_VALIDATION_FAILED", js_quotes=True) for e in validation_errors)
    return document


async def run_graphql(schema: GraphQLSchema, database: Database, payload: Payload) -> web.Response:
    """Parse, validate and execute one payload; HTTP status and body as Apollo would send them."""
    checked = _checked_document(schema, payload.query)
    if not isinstance(checked, DocumentNode):
        return _json({"errors": list(checked)}, 400)
    document = checked
    operation = get_operation_ast(document, payload.operation_name)
    if operation is None:
        return _error_response(
            "Must provide a known operation name when the document has several operations.",
            "BAD_USER_INPUT",
        )
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    if _depth(operation.selection_set, fragments, 0) > MAX_DEPTH:
        name = operation.name.value if operation.name else ""
        return _error_response(
            f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}", "GRAPHQL_VALIDATION_FAILED"
        )
    variable_errors = _variable_errors(schema, operation, payload.variables or {})
    if variable_errors is not None:
        return variable_errors
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
        body["errors"] = [_formatted(e, "INTERNAL_SERVER_ERROR") for e in result.errors]
    body["data"] = result.data
    return _json(body)


def _variable_errors(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> web.Response | None:
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
            errors.append(_formatted(error, "INTERNAL_SERVER_ERROR"))
        else:
            errors.append(_formatted(error, "BAD_USER_INPUT", js_quotes=True))
    return _json({"errors": errors}, 400)


async def graphql_handler(request: web.Request) -> web.StreamResponse:
    payload = await payload_of(request)
    if payload.error is not None:
        return payload.error
    # Mutations see the x-prefect-* headers (the agent id), as Prefect's Python service does.
    PREFECT_HEADERS.set(prefect_headers(request.headers))
    return await run_graphql(request.app[SCHEMA_KEY], request.app[DATABASE_KEY], payload)


async def health_handler(_request: web.Request) -> web.StreamResponse:
    return _json({"status": "pass"})


@web.middleware
async def traffic_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_graphql_request(request):
        return await handler(request)
    traffic = request.app[TRAFFIC_KEY]
    # Read the body first, so even a request answered by an injected fault is recorded in full.
    payload = await payload_of(request)
    traffic.in_flight += 1
    traffic.max_in_flight = max(traffic.max_in_flight, traffic.in_flight)
    status = STATUS_CONNECTION_RESET
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        traffic.in_flight -= 1
        traffic.requests.append(
            ServedRequest(_operation_name(payload), payload.query, payload.variables, status)
        )


def _operation_name(payload: Payload) -> str | None:
    """``operationName`` as sent, else the name of the document's only operation, if any."""
    if payload.operation_name is not None or not payload.query:
        return payload.operation_name
    checked = _checked_document(served_schema(), payload.query)
    if not isinstance(checked, DocumentNode):
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
) -> web.Application:
    """The backend's aiohttp application over an opened ``database``."""
    schema = served_schema()
    # Prefect 1.4.1's log handler ships batches of up to ~4 MB (Apollo takes 5 MB): a smaller
    # body limit would lose log batches.
    app = web.Application(
        middlewares=[traffic_middleware, fault_middleware], client_max_size=16 * 1024 * 1024
    )
    app[DATABASE_KEY] = database
    app[SCHEMA_KEY] = schema
    app[TRAFFIC_KEY] = traffic if traffic is not None else Traffic()
    app[INJECTOR_KEY] = injector if injector is not None else FaultInjector()
    app.router.add_get(HEALTH_PATH, health_handler)
    for path in GRAPHQL_PATHS:
        app.router.add_post(path, graphql_handler)
        app.router.add_get(path, graphql_handler)
    return app

"""The GraphQL-aware identity of a request: what replay looks answers up by.

Two requests are "the same" when they have the same method, URL path (never host or port, so a
cassette recorded against a backend on a random local port replays anywhere), the same GraphQL
document up to formatting and comments, the same operation name, and the same variables up to key
order. The key is computed once per request and once per recorded interaction, so a lookup is one
dict access instead of vcrpy's scan with a diff per recorded entry.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import attrs
from graphql import GraphQLError, OperationDefinitionNode, parse, print_ast

__all__ = ["GraphQLPayload", "RequestKey", "canonical_json", "decode_payload", "request_key"]

# gql's and graphql-core's introspection texts change between releases; every introspection query
# therefore matches every other one (the lesson gql's own vcrpy matcher learnt).
_INTROSPECTION_DOCUMENT = "<introspection query>"


# One encoder for all calls: json.dumps with options builds a new encoder every time.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """One spelling per JSON value: sorted keys, no insignificant whitespace."""
    return _CANONICAL.encode(value)


@attrs.frozen
class RequestKey:
    """Everything two requests must share for one's recorded answer to serve the other."""

    method: str
    path: str
    operation: str | None
    document_sha256: str
    variables: str


@attrs.frozen(kw_only=True)
class GraphQLPayload:
    """A request body read as GraphQL, normalised; ``document`` is kept for mismatch diffs."""

    operation: str | None
    document: str
    variables: str
    extensions: str | None = None


@functools.lru_cache(maxsize=1024)
def _normalise_document(query: str) -> tuple[str, str | None]:
    """Return the canonically printed document and the name of its single operation."""
    try:
        ast = parse(query, no_location=True)
    except GraphQLError:
        # Not parseable: still match on the text, insensitive to whitespace.
        return " ".join(query.split()), None
    operations = [
        definition for definition in ast.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    name = None
    if len(operations) == 1 and operations[0].name is not None:
        name = operations[0].name.value
    if name == "IntrospectionQuery" or (
        len(operations) == 1
        and all(
            getattr(selection, "name", None) is not None
            # Only whole-schema queries: two __type(name: ...) lookups are different requests.
            and selection.name.value == "__schema"  # type: ignore[attr-defined]
            for selection in operations[0].selection_set.selections
        )
    ):
        return _INTROSPECTION_DOCUMENT, name
    return print_ast(ast), name


def decode_payload(body: Any) -> Any:
    """Turn a request body as stored by us, by vcrpy, or sent on the wire, into JSON (or text)."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(body).hex()
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def _graphql_payload(payload: Mapping[str, Any]) -> GraphQLPayload:
    query = payload.get("query")
    document, derived_name = _normalise_document(query) if isinstance(query, str) else ("", None)
    operation = payload.get("operationName")
    extensions = payload.get("extensions")
    return GraphQLPayload(
        operation=operation if isinstance(operation, str) and operation else derived_name,
        document=document,
        variables=canonical_json(payload.get("variables") or {}),
        extensions=canonical_json(extensions) if extensions else None,
    )


def graphql_payload(body: Any) -> GraphQLPayload:
    """Read a request body (bytes, text, dict or batch list) as a normalised GraphQL payload."""
    payload = decode_payload(body)
    if isinstance(payload, Mapping) and "query" in payload:
        return _graphql_payload(payload)
    if isinstance(payload, list) and payload and all(
        isinstance(item, Mapping) and "query" in item for item in payload
    ):
        parts = [_graphql_payload(item) for item in payload]
        return GraphQLPayload(
            operation="+".join(part.operation or "?" for part in parts),
            document="\n\n".join(part.document for part in parts),
            variables=canonical_json([json.loads(part.variables) for part in parts]),
        )
    # Not GraphQL at all (a health check, a foreign client): match on the whole body.
    text = payload if isinstance(payload, str) else canonical_json(payload)
    return GraphQLPayload(operation=None, document=text, variables="{}")


@functools.lru_cache(maxsize=1024)
def _digest(document: str) -> str:
    # Cassettes repeat a few documents thousands of times: hash each one once.
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def request_key(method: str, path: str, payload: GraphQLPayload) -> RequestKey:
    """The lookup key of a request whose body was normalised into ``payload``."""
    document = payload.document
    if payload.extensions:
        document = f"{document}\n#extensions {payload.extensions}"
    digest = _digest(document)
    return RequestKey(
        method=method.upper(),
        path=path or "/",
        operation=payload.operation,
        document_sha256=digest,
        variables=payload.variables,
    )

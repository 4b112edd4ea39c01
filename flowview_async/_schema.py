"""The schemas documents are validated against, and the validation itself.

Two sources: the bundled Prefect Server 1.x SDL (parsed once per process; it is ~110 KB), and the
schema of the server a client talks to, read by introspection (see :data:`INTROSPECTION_QUERY` and
:func:`from_introspection`). A :class:`Validator` wraps either and caches its results by document
text, so a query the views send thousands of times is validated once per schema.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    build_ast_schema,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    parse,
    print_type,
    validate,
)
from graphql.execution.values import get_variable_values

from flowview_async.errors import AuthenticationError, FlowViewError, QueryValidationError

SCHEMA_RESOURCE = "prefect_server_schema.graphql"

__all__ = [
    "INTROSPECTION_QUERY",
    "Validator",
    "bundled_validator",
    "check_variables",
    "from_introspection",
    "is_mutation",
    "parse_and_validate",
    "parse_document",
    "read_server_schema",
    "schema",
    "schema_hash",
    "schema_sdl",
]

# Without descriptions: a smaller answer, and all validation needs.
INTROSPECTION_QUERY = get_introspection_query(descriptions=False)
INTROSPECTION_OPERATION = "IntrospectionQuery"
logger = logging.getLogger("flowview_async")


@functools.cache
def schema_sdl() -> str:
    """The text of the bundled Prefect Server schema."""
    return (resources.files("flowview_async") / "resources" / SCHEMA_RESOURCE).read_text("utf-8")


@functools.cache
def schema() -> GraphQLSchema:
    """The bundled schema, built once."""
    return build_ast_schema(parse(schema_sdl()))


@functools.cache
def schema_hash() -> str:
    """A short, stable fingerprint of the bundled schema's read side (cassettes record it to detect drift).

    Only the types a query can reach count: a cassette holds query answers, so a new mutation or
    input type of the write API must not make every recorded cassette look stale.
    """
    built = schema()
    pending: list[GraphQLNamedType] = [built.query_type] if built.query_type else []
    seen: dict[str, GraphQLNamedType] = {}
    while pending:
        named = pending.pop()
        if named.name in seen:
            continue
        seen[named.name] = named
        fields: Mapping[str, Any] = getattr(named, "fields", None) or {}
        for field in fields.values():
            pending.append(get_named_type(field.type))
            pending.extend(get_named_type(arg.type) for arg in getattr(field, "args", {}).values())
    printed = "\n".join(print_type(seen[name]) for name in sorted(seen))
    return hashlib.sha256(printed.encode("utf-8")).hexdigest()[:16]


@functools.lru_cache(maxsize=512)
def parse_document(document: str) -> DocumentNode:
    """Parse ``document`` (no schema involved).

    Raises:
        QueryValidationError: the text is not GraphQL.
    """
    try:
        return parse(document)
    except GraphQLError as exc:
        msg = f"The GraphQL document does not parse: {exc.message.rstrip('.')}. Fix the query text."
        raise QueryValidationError(msg, errors=[exc.formatted]) from exc


def is_mutation(document: DocumentNode, operation_name: str | None) -> bool:
    """Whether the operation that will run is a mutation (never re-sent after an unreadable answer)."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            return definition.operation is OperationType.MUTATION
    return False


class Validator:
    """Validation against one schema, with results cached by document text."""

    def __init__(self, schema: GraphQLSchema, source: str) -> None:
        self.schema = schema
        self.source = source  # said in messages: "the bundled schema" or "the server's schema"
        self.validate = functools.lru_cache(maxsize=512)(self._validate)

    def _validate(self, document: str) -> DocumentNode:
        """Parse ``document`` and validate it against this schema.

        Raises:
            QueryValidationError: the text is not GraphQL, or does not fit the schema.
        """
        ast = parse_document(document)
        errors = validate(self.schema, ast)
        if errors:
            details = "; ".join(error.message.rstrip(".") for error in errors[:5])
            msg = (
                f"The GraphQL document does not fit {self.source}: {details}. Fix the query; see "
                "flowview_async/resources/prefect_server_schema.graphql for the fields, or pass "
                "validate=False to send it as it is."
            )
            raise QueryValidationError(msg, errors=[error.formatted for error in errors])
        return ast


@functools.cache
def bundled_validator() -> Validator:
    """The validator of the bundled Prefect Server schema."""
    return Validator(schema(), "the bundled Prefect Server schema")


def from_introspection(data: Mapping[str, Any]) -> Validator:
    """A validator for the schema a server described in its introspection answer.

    Raises:
        TypeError, ValueError, GraphQLError: the answer does not describe a schema.
    """
    return Validator(build_client_schema(data), "the server's schema (read by introspection)")  # type: ignore[arg-type]


async def read_server_schema(
    send: Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]],
) -> Validator:
    """The validator of the server's own schema, read with one introspection request through
    ``send(payload, operation_name)``; the bundled one if the server refuses introspection,
    cannot answer it within the retries, or answers something that is not a schema. Only refused
    credentials are raised: the caller's own request would be refused the same way."""
    payload = {"query": INTROSPECTION_QUERY, "operationName": INTROSPECTION_OPERATION}
    try:
        data = await send(payload, INTROSPECTION_OPERATION)
    except AuthenticationError:
        raise
    except FlowViewError as failed:
        logger.info("no schema from the server by introspection (%s); validating against the "
                    "bundled schema", failed)
        return bundled_validator()
    try:
        return await asyncio.to_thread(from_introspection, data)
    except Exception as odd:
        logger.info("the server's introspection answer is not a schema (%s); using the bundled "
                    "schema", odd)
        return bundled_validator()


def parse_and_validate(document: str) -> DocumentNode:
    """Parse ``document`` and validate it against the bundled schema.

    Raises:
        QueryValidationError: the text is not GraphQL, or does not fit the Prefect Server schema.
    """
    return bundled_validator().validate(document)


def check_variables(document: DocumentNode, operation_name: str | None,
                    variables: Mapping[str, Any] | None,
                    against: GraphQLSchema | None = None) -> None:
    """Check ``variables`` against the operation's declared variable types, before any I/O.

    Raises:
        QueryValidationError: a required variable is missing, or a value does not fit its type
            (a number for a ``String``, an unknown field in a ``*_bool_exp``…).
    """
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1:
        return  # the server reports an ambiguous or unknown operation name itself
    result = get_variable_values(against or schema(), operations[0].variable_definitions or (),
                                 dict(variables or {}))
    if isinstance(result, list):
        details = "; ".join(error.message.rstrip(".") for error in result[:5])
        msg = f"The variables do not fit the query: {details}. Fix the values (or the declared types)."
        raise QueryValidationError(msg, errors=[error.formatted for error in result])

"""The bundled Prefect Server 1.x schema, and validation of the documents the SDK sends.

The SDL is parsed once per process (it is ~110 KB); validation results are cached by document text,
so a query the views send thousands of times is validated once.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    OperationDefinitionNode,
    build_ast_schema,
    get_named_type,
    parse,
    print_type,
    validate,
)
from graphql.execution.values import get_variable_values

from flowview_async.errors import QueryValidationError

SCHEMA_RESOURCE = "prefect_server_schema.graphql"

__all__ = ["check_variables", "parse_and_validate", "schema", "schema_hash", "schema_sdl"]


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
def parse_and_validate(document: str) -> DocumentNode:
    """Parse ``document`` and validate it against the bundled schema.

    Raises:
        QueryValidationError: the text is not GraphQL, or does not fit the Prefect Server schema.
    """
    try:
        ast = parse(document)
    except GraphQLError as exc:
        msg = f"The GraphQL document does not parse: {exc.message.rstrip('.')}. Fix the query text."
        raise QueryValidationError(msg, errors=[exc.formatted]) from exc
    errors = validate(schema(), ast)
    if errors:
        details = "; ".join(error.message.rstrip(".") for error in errors[:5])
        msg = (
            f"The GraphQL document does not fit the Prefect Server schema: {details}. "
            "Fix the query; see flowview_async/resources/prefect_server_schema.graphql for the fields."
        )
        raise QueryValidationError(msg, errors=[error.formatted for error in errors])
    return ast


def check_variables(document: DocumentNode, operation_name: str | None,
                    variables: Mapping[str, Any] | None) -> None:
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
    result = get_variable_values(schema(), operations[0].variable_definitions or (),
                                 dict(variables or {}))
    if isinstance(result, list):
        details = "; ".join(error.message.rstrip(".") for error in result[:5])
        msg = f"The variables do not fit the query: {details}. Fix the values (or the declared types)."
        raise QueryValidationError(msg, errors=[error.formatted for error in result])

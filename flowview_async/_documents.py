"""From a caller's query text and variables to the JSON payload the client POSTs.

Validated documents are printed from their syntax tree, so that what goes on the wire (and into
cassettes) does not depend on the caller's whitespace; the payload has gql's shape (``query``, then
``operationName`` and ``variables`` when there are any), which recorded cassettes key on.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import attrs
from graphql import DocumentNode, OperationDefinitionNode, print_ast

from flowview_async import _schema
from flowview_async.errors import InvalidArgumentError, QueryValidationError

__all__ = ["Prepared", "check_variables", "prepare"]


@attrs.frozen
class Prepared:
    """A request ready to send."""

    payload: dict[str, Any]
    name: str | None
    mutation: bool  # never re-sent after an unreadable answer: it may have been applied


def _operation_name(document: DocumentNode) -> str | None:
    names = [
        definition.name.value
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None
    ]
    return names[0] if len(names) == 1 else None


@functools.lru_cache(maxsize=512)
def _printed(document: str) -> str:
    return print_ast(_schema.parse_document(document))


def check_variables(variables: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The variables as JSON values (what a cassette stores), or an
    :class:`InvalidArgumentError` saying why they cannot be sent."""
    if variables is None:
        return None
    if not isinstance(variables, Mapping):
        msg = f"variables must be a mapping of names to values, got {type(variables).__name__}."
        raise InvalidArgumentError(msg)
    try:
        return dict(json.loads(json.dumps(dict(variables))))
    except (TypeError, ValueError) as exc:
        msg = f"variables must be JSON values (str, int, float, bool, None, lists, dicts): {exc}"
        raise InvalidArgumentError(msg) from exc


def prepare(query: str, values: dict[str, Any] | None, operation_name: str | None,
            validator: _schema.Validator | None) -> Prepared:
    """The payload for ``query``: checked against ``validator``'s schema (document and variable
    types), or, with no validator, sent as it is (as written if it does not even parse).

    Raises:
        QueryValidationError: with a validator, the document or a variable does not fit.
    """
    document: DocumentNode | None
    if validator is not None:
        document = validator.validate(query)
        name = operation_name or _operation_name(document)
        _schema.check_variables(document, name, values, validator.schema)
        text = _printed(query)
    else:
        try:
            document, text = _schema.parse_document(query), _printed(query)
        except QueryValidationError:
            document, text = None, query  # the server will judge it
        name = operation_name or (_operation_name(document) if document else None)
    payload: dict[str, Any] = {"query": text}
    if name:
        payload["operationName"] = name
    if values:
        payload["variables"] = values
    mutation = document is not None and _schema.is_mutation(document, name)
    return Prepared(payload, name, mutation)

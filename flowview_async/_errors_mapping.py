"""What one HTTP answer means: ``data``, a typed error, or "try again".

Classified by HTTP status first, body second:

1. 401/403: :class:`AuthenticationError`, whatever the body.
2. 429 and 5xx: retried (waiting at least ``Retry-After``), whatever the body: a gateway's JSON
   ``errors`` body on a 503 is still a 503. After the last attempt: :class:`BackendUnavailableError`.
3. 404/405 without a GraphQL body: no endpoint there, a :class:`ConfigurationError`.
4. A GraphQL ``errors`` body: ``API_ERROR`` is retried (Prefect Server's transient failure; Prefect's
   own client re-sends it), authentication codes are :class:`AuthenticationError`, validation codes
   :class:`QueryValidationError`, anything else :class:`GraphQLQueryError` (with the status).
5. Another non-200 status: :class:`GraphQLQueryError` carrying the status.
6. A 200 that is not a GraphQL answer (not JSON, truncated, ``data`` null or missing without
   ``errors``): retried for queries, then :class:`MalformedResponseError`. A mutation is never
   re-sent after such an answer: it may have been applied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flowview_async._retry import Retryable
from flowview_async._transport import Answer
from flowview_async.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ConfigurationError,
    GraphQLQueryError,
    MalformedResponseError,
    QueryValidationError,
    RequestTimeoutError,
)

__all__ = ["interpret", "transport_failure"]

_AUTH_CODES = frozenset({"UNAUTHENTICATED", "UNAUTHORIZED", "FORBIDDEN", "AUTHORIZATION_ERROR"})
_VALIDATION_CODES = frozenset({"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"})
_CREDENTIALS_HINT = "Check PREFECT__CLOUD__API_KEY / api_key= (or `prefect auth login`) and the tenant id."


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _is_error_list(errors: Any) -> bool:
    return isinstance(errors, list) and bool(errors) and all(isinstance(e, Mapping) for e in errors)


def interpret(answer: Answer, *, op: str, where: str, mutation: bool,
              retry_after: float | None) -> dict[str, Any]:
    """The ``data`` of a good answer; otherwise raises a typed error or :class:`Retryable`.

    ``retry_after`` is the wait the answer's ``Retry-After`` asked for, already read.
    """
    status = answer.status
    if status in (401, 403):
        msg = f"{op}: {where} answered HTTP {status}: the credentials were refused. {_CREDENTIALS_HINT}"
        raise AuthenticationError(msg, status=status)
    if status == 429 or status >= 500:
        msg = f"{op}: {where} answered HTTP {status} and kept failing; try again later."
        raise Retryable(BackendUnavailableError(msg, status=status), retry_after)
    body = _json(answer.body)
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if errors is not None:
        raise _graphql_errors(body, errors, op=op, where=where, status=status)
    if status in (404, 405):
        msg = (f"{op}: {where} answered HTTP {status}: no GraphQL endpoint there. Point api_url at "
               "Prefect Server (e.g. http://localhost:4200) or Prefect Cloud.")
        raise ConfigurationError(msg)
    if status != 200:
        msg = f"{op}: {where} answered HTTP {status} without GraphQL errors; check api_url."
        raise GraphQLQueryError(msg, status=status, operation_name=op)
    data = body.get("data") if isinstance(body, Mapping) else None
    if isinstance(data, dict):
        return data
    if not isinstance(body, Mapping):
        what = "something that is not a GraphQL response (not JSON, or cut short)"
    else:
        what = "a GraphQL response without data or errors"
    msg = (f"{op}: {where} answered HTTP 200 with {what}. Is api_url the GraphQL endpoint of "
           "Prefect Server/Cloud?")
    error = MalformedResponseError(msg)
    if mutation:
        raise error
    raise Retryable(error)


def _graphql_errors(body: Mapping[str, Any], errors: Any, *, op: str, where: str,
                    status: int) -> Exception:
    if not _is_error_list(errors):
        msg = (f"{op}: {where} answered with an 'errors' field that is not a list of GraphQL "
               f"errors ({type(errors).__name__}). Is api_url a Prefect backend?")
        return MalformedResponseError(msg)
    codes = {str(e["extensions"].get("code")) for e in errors
             if isinstance(e.get("extensions"), Mapping)}
    messages = [str(e.get("message", "")) for e in errors]
    first = messages[0]
    if "API_ERROR" in codes:
        msg = f"{op}: the backend reported an internal error (API_ERROR): {first}"
        return Retryable(BackendUnavailableError(msg, status=status))
    if codes & _AUTH_CODES or any("UNAUTHENTICATED" in m for m in messages):
        msg = f"{op}: the backend refused the credentials ({first}). {_CREDENTIALS_HINT}"
        return AuthenticationError(msg, status=status)
    error_class = QueryValidationError if codes & _VALIDATION_CODES else GraphQLQueryError
    more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
    msg = f"{op}: the backend answered with GraphQL errors: {first}{more}"
    return error_class(msg, errors=errors, status=status, operation_name=op, data=body.get("data"))


def transport_failure(error: BaseException, *, op: str, where: str, limit: float) -> Retryable:
    """A request that got no answer: timed out, refused, reset, or cut short. Always retried."""
    if isinstance(error, TimeoutError):  # asyncio.TimeoutError is TimeoutError from 3.11
        msg = (f"{op}: {where} did not answer within {limit:.1f}s. Is the backend overloaded? "
               "Raise Client(timeout=...) or retry later.")
        return Retryable(RequestTimeoutError(msg))
    msg = (f"{op}: could not reach {where} ({type(error).__name__}: {error}). Check that the "
           "backend is running and api_url is right.")
    return Retryable(BackendUnavailableError(msg))

"""Every error flowview_async raises on purpose.

The tree, so that ``except`` clauses can be as broad or as narrow as a caller needs::

    FlowViewError
    ├── UsageError (ValueError)              the call itself is wrong: fix the code that made it
    │   ├── InvalidArgumentError            bad or conflicting arguments (both task_slug and task_run_id…)
    │   ├── ConfigurationError              settings that cannot work (bad endpoint, bad config.toml…)
    │   ├── ImmutableViewError (TypeError)  an attempt to modify a view, which is a read-only snapshot
    │   └── ClientClosedError (RuntimeError) a request on a client that was closed
    ├── NotFoundError (LookupError)         the backend has no such object
    │   ├── FlowRunNotFoundError
    │   ├── TaskRunNotFoundError
    │   └── FlowNotFoundError
    ├── AmbiguousMatchError (LookupError)   a lookup that had to match one object matched several
    ├── TransportError                      no usable GraphQL answer came back
    │   ├── BackendUnavailableError         connection refused/reset, 5xx, 429, timeouts: after the retries
    │   │   └── RequestTimeoutError (TimeoutError)
    │   └── MalformedResponseError          the answer was not JSON, or not the shape the query asked for
    ├── AuthenticationError                 401/403 or an auth error from the backend: check the API key
    ├── GraphQLQueryError                   the backend answered with GraphQL ``errors``
    │   └── QueryValidationError            the document does not fit the schema (locally or remotely)
    ├── WatchTimeoutError (TimeoutError)    a watched run did not finish within ``max_duration``
    ├── ResultError                         a task run result that cannot be read here
    ├── FixtureError (ValueError)           the local backend refused a fixture file
    ├── PrefectProcessError (RuntimeError)  a real Prefect 1 process (CLI, agent, harness run) failed
    └── RecordingError                      record/replay: the cassette side
        ├── CassetteFormatError             corrupt, truncated, foreign or unsafe cassette file
        ├── CassetteMismatchError           a replayed request has no recorded answer
        └── SecretLeakError                 a known secret was about to be written to a cassette

``CassetteMismatchError`` also derives from gql's ``TransportError`` so that gql hands it through
unchanged instead of wrapping it into ``TransportConnectionFailed``.

Messages say what went wrong and what to do. They never contain an API key: anything built from
request headers goes through :func:`redact` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gql.transport.exceptions import TransportError as _GqlTransportError

__all__ = [
    "AmbiguousMatchError",
    "AuthenticationError",
    "BackendUnavailableError",
    "CassetteFormatError",
    "CassetteMismatchError",
    "ClientClosedError",
    "ConfigurationError",
    "FixtureError",
    "FlowNotFoundError",
    "FlowRunNotFoundError",
    "FlowViewError",
    "GraphQLQueryError",
    "ImmutableViewError",
    "InvalidArgumentError",
    "MalformedResponseError",
    "NotFoundError",
    "PrefectProcessError",
    "QueryValidationError",
    "RecordingError",
    "RequestTimeoutError",
    "ResultError",
    "SchemaDriftWarning",
    "SecretLeakError",
    "TaskRunNotFoundError",
    "TransportError",
    "UsageError",
    "WatchTimeoutError",
]


class FlowViewError(Exception):
    """Base class of every error raised by flowview_async."""


# --- usage ---------------------------------------------------------------------------------------


class UsageError(FlowViewError, ValueError):
    """The call is wrong; retrying will not help, changing the calling code will."""


class InvalidArgumentError(UsageError):
    """An argument is missing, malformed, or conflicts with another one."""


class ConfigurationError(UsageError):
    """The client settings (arguments, environment, ``~/.prefect/config.toml``) cannot work."""


class ImmutableViewError(UsageError, TypeError):
    """Views are read-only snapshots; their JSON fields refuse modification (copy them first)."""


class ClientClosedError(UsageError, RuntimeError):
    """A request was made on a client that is closed (or was never opened)."""


# --- lookups -------------------------------------------------------------------------------------


class NotFoundError(FlowViewError, LookupError):
    """The backend has no object matching the lookup."""


class FlowRunNotFoundError(NotFoundError):
    """No flow run matches the given id or name."""


class TaskRunNotFoundError(NotFoundError):
    """No task run matches the given id, or slug and map index."""


class FlowNotFoundError(NotFoundError):
    """No flow matches the given id, name or flow group."""


class AmbiguousMatchError(FlowViewError, LookupError):
    """A lookup that must match exactly one object matched several."""


# --- transport and protocol ----------------------------------------------------------------------


class TransportError(FlowViewError):
    """No usable GraphQL response came back from the backend."""


class BackendUnavailableError(TransportError):
    """The backend could not be reached or kept failing, even after retries.

    Attributes:
        status: the last HTTP status seen, if any.
        attempts: how many attempts were made.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class RequestTimeoutError(BackendUnavailableError, TimeoutError):
    """The backend did not answer within the request timeout or the total deadline."""


class MalformedResponseError(TransportError):
    """The backend answered, but not with JSON, or not in the shape the query asked for."""


class AuthenticationError(FlowViewError):
    """The backend refused the credentials (HTTP 401/403 or an authentication error)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GraphQLQueryError(FlowViewError):
    """The backend answered the query with GraphQL ``errors``.

    Attributes:
        errors: the server's error list, as sent.
        status: the HTTP status of the answer (GraphQL errors can come with 200 or 400).
        operation_name: the name of the operation that failed.
        data: partial data, if the server sent any.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        status: int | None = None,
        operation_name: str | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.errors = list(errors)
        self.status = status
        self.operation_name = operation_name
        self.data = data

    @property
    def codes(self) -> list[str]:
        """The ``extensions.code`` of each error, where the server gave one."""
        codes = []
        for error in self.errors:
            extensions = error.get("extensions") if isinstance(error, Mapping) else None
            if isinstance(extensions, Mapping) and isinstance(extensions.get("code"), str):
                codes.append(extensions["code"])
        return codes


class QueryValidationError(GraphQLQueryError):
    """The GraphQL document does not fit the schema; fix the query, retrying will not help."""


# --- watching, results, fixtures -----------------------------------------------------------------


class WatchTimeoutError(FlowViewError, TimeoutError):
    """A watched flow run did not reach a finished state within ``max_duration``."""


class ResultError(FlowViewError):
    """A task run result cannot be loaded here (unsupported result type, missing file, opt-in needed)."""


class FixtureError(FlowViewError, ValueError):
    """The local backend refused a fixture: the message names the table, row and column."""


class PrefectProcessError(FlowViewError, RuntimeError):
    """A real Prefect 1 process (CLI, agent, or a flow run started by the test harness) failed or
    hung; the message names the command and ends with its output."""


# --- record and replay ---------------------------------------------------------------------------


class RecordingError(FlowViewError):
    """Base class of record/replay errors."""


class CassetteFormatError(RecordingError):
    """The cassette file is corrupt, truncated, foreign, or carries something unsafe to load."""


class CassetteMismatchError(RecordingError, _GqlTransportError):
    """A request made during replay has no recorded answer in the cassette.

    It derives from gql's ``TransportError`` so that gql re-raises it unchanged; the client never
    retries it.

    Attributes:
        operation_name: the GraphQL operation that missed, if known.
        variables: its variables as canonical JSON text (secrets redacted), if known.
        cassette_path: the cassette file, if known.
        record_mode: the record mode in force, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        operation_name: str | None = None,
        variables: str | None = None,
        cassette_path: str | None = None,
        record_mode: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation_name = operation_name
        self.variables = variables
        self.cassette_path = cassette_path
        self.record_mode = record_mode


class SecretLeakError(RecordingError):
    """Saving the cassette was refused because it would contain a known secret value."""


class SchemaDriftWarning(UserWarning):
    """A cassette was recorded against a different GraphQL schema than the one bundled now."""


# --- helpers -------------------------------------------------------------------------------------

_SECRET_HEADER_NAMES = frozenset({"authorization", "cookie", "set-cookie", "x-prefect-tenant-id"})


def redact(headers: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``headers`` that is safe to show in a message, a log line or a repr."""
    return {
        name: ("<redacted>" if name.lower() in _SECRET_HEADER_NAMES else value)
        for name, value in headers.items()
    }

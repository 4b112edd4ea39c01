"""The client: one aiohttp session per client, bounded concurrency, retries, typed errors.

::

    async with Client("http://localhost:4200") as client:
        data = await client.execute(
            'query Run($name: String!) { flow_run(where: {name: {_eq: $name}}) { id state } }',
            {"name": "woodoo-leopard"},
        )

The client is a thin layer over gql's ``Client`` with ``AIOHTTPTransport`` (the transport owns the
network settings, this class owns behaviour: validation, retries, error mapping), in the shape of
httpx's ``AsyncClient``: ``async with`` opens it, :meth:`aclose` is idempotent, and a closed client
cannot be reopened.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import enum
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp
from gql import Client as GqlClient
from gql import GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from graphql import OperationDefinitionNode

from flowview_async import _schema
from flowview_async._retry import RetryPolicy
from flowview_async._settings import Settings, resolve_settings
from flowview_async._test_defaults import current_test_defaults
from flowview_async.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ClientClosedError,
    ConfigurationError,
    FlowViewError,
    GraphQLQueryError,
    InvalidArgumentError,
    MalformedResponseError,
    QueryValidationError,
    RequestTimeoutError,
)

if TYPE_CHECKING:
    from gql.client import AsyncClientSession

    from flowview_async.recording import Recorder

__all__ = ["DEFAULT_MAX_CONCURRENCY", "DEFAULT_TIMEOUT", "Client", "RetryPolicy", "open_client"]

logger = logging.getLogger("flowview_async")

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_CONCURRENCY = 8

_AUTH_CODES = frozenset({"UNAUTHENTICATED", "UNAUTHORIZED", "FORBIDDEN", "AUTHORIZATION_ERROR"})


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class _Exchange:
    """What the wire said about one attempt, filled in by :func:`_capture_middleware`.

    gql drops the HTTP status of a 400 answer that carries GraphQL errors, and keeps the headers of
    only the *last* response on the transport (racy under concurrency). A middleware running in the
    caller's context records both per attempt instead.
    """

    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: Mapping[str, str] = {}


_CURRENT_EXCHANGE: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar(
    "flowview_async_exchange", default=None
)


async def _capture_middleware(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    response = await handler(request)
    exchange = _CURRENT_EXCHANGE.get()
    if exchange is not None:
        exchange.status = response.status
        exchange.headers = response.headers
    return response


class _SecretsFilter(logging.Filter):
    """Masks the credentials of open clients in gql's DEBUG log lines (it logs whole bodies, and a
    server may echo a header back in an error message)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[int, tuple[str, ...]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = [secret for values in self.secrets.values() for secret in values]
        if secrets:
            text = record.getMessage()
            masked = _mask(text, secrets)
            if masked != text:
                record.msg, record.args = masked, ()
        return True


def _mask(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<redacted>")
    return text


_GQL_LOG_FILTER = _SecretsFilter()
logging.getLogger("gql.transport.aiohttp").addFilter(_GQL_LOG_FILTER)


class _Retryable(Exception):
    """Internal: an attempt failed in a way worth retrying; carries the error to raise at the end."""

    def __init__(self, final: FlowViewError, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _operation_name(document: Any) -> str | None:
    names = [
        definition.name.value
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None
    ]
    return names[0] if len(names) == 1 else None


class Client:
    """An async client for the Prefect 1 GraphQL API (Prefect Server 1.x or Prefect Cloud 1).

    Args:
        api_url: the GraphQL endpoint, e.g. ``http://localhost:4200``. If omitted, it comes from
            the Prefect 1 settings (``PREFECT__SERVER__ENDPOINT``, ``PREFECT__CLOUD__API``,
            ``~/.prefect/config.toml``), else ``http://localhost:4200``.
        api_key: a Prefect Cloud API key; sent as ``Authorization: Bearer …``. Never logged,
            never shown in a repr or an error, never written to a cassette.
        tenant_id: the Prefect Cloud tenant, sent as ``X-PREFECT-TENANT-ID`` with a key.
        timeout: seconds one attempt may take.
        retry: the retry policy (attempts, backoff, total deadline); ``RetryPolicy.none()`` to
            never retry.
        max_concurrency: the most requests in flight at once from this client; further
            requests wait their turn. Also the size of the connection pool.
        cassette: record and replay the HTTP exchanges in this vcrpy cassette file.
        record_mode: ``none``, ``once`` (default with a cassette), ``new_episodes`` or ``all``.
        recorder: a ready :class:`~flowview_async.recording.Recorder`, instead of ``cassette``.

    Raises:
        InvalidArgumentError: on conflicting arguments (``cassette`` and ``recorder``).
    """

    def __init__(
        self,
        api_url: str | None = None,
        *,
        api_key: str | None = None,
        tenant_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        cassette: str | os.PathLike[str] | None = None,
        record_mode: str | None = None,
        repeat: str | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        if api_url is not None and not isinstance(api_url, str):
            msg = f"api_url must be a URL string such as 'http://localhost:4200', got {api_url!r}."
            raise InvalidArgumentError(msg)
        if cassette is not None and recorder is not None:
            msg = "Pass either cassette= or recorder=, not both."
            raise InvalidArgumentError(msg)
        if (record_mode is not None or repeat is not None) and cassette is None:
            msg = "record_mode= and repeat= go with cassette=PATH (a recorder= carries its own)."
            raise InvalidArgumentError(msg)
        if not isinstance(max_concurrency, int) or isinstance(max_concurrency, bool) or max_concurrency < 1:
            msg = f"max_concurrency must be an integer of at least 1, got {max_concurrency!r}."
            raise InvalidArgumentError(msg)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            msg = f"timeout must be a positive number of seconds, got {timeout!r}."
            raise InvalidArgumentError(msg)
        if retry is not None and not isinstance(retry, RetryPolicy):
            msg = f"retry must be a RetryPolicy, got {type(retry).__name__}."
            raise InvalidArgumentError(msg)
        self._requested_url = api_url
        self._api_key = api_key
        self._tenant_id = tenant_id
        self._timeout = timeout
        self._retry = retry if retry is not None else RetryPolicy()
        self._max_concurrency = max_concurrency
        self._cassette = cassette
        self._record_mode = record_mode
        self._repeat = repeat
        self._recorder: Recorder | None = recorder
        self._shares_recorder = False  # a test's recorder, closed by the test, not by this client
        self._settings: Settings | None = None
        self._state = _State.UNOPENED
        self._gql: GqlClient | None = None
        self._session: AsyncClientSession | None = None
        self._slots = asyncio.Semaphore(max_concurrency)

    # --- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Resolve the settings and open the connection pool (``async with`` does this).

        Raises:
            ClientClosedError: the client was already opened or closed; make a new one.
            ConfigurationError: the settings cannot work.
        """
        if self._state is not _State.UNOPENED:
            msg = f"This client is {self._state.value}; a client can be opened once. Make a new one."
            raise ClientClosedError(msg)
        self._state = _State.OPEN
        try:
            await self._open()
        except BaseException:
            await self.aclose()
            raise

    async def _open(self) -> None:
        # Settings may read ~/.prefect/*.toml: keep that file I/O off the event loop.
        self._settings = await asyncio.to_thread(
            resolve_settings,
            api_url=self._requested_url,
            api_key=self._api_key,
            tenant_id=self._tenant_id,
        )
        # Building the schema from the 110 KB SDL takes a few hundred ms: keep it off the loop.
        await asyncio.to_thread(_schema.schema)
        secrets = tuple(s for s in (self._settings.api_key, self._settings.tenant_id) if s)
        if secrets:
            _GQL_LOG_FILTER.secrets[id(self)] = secrets
        self._adopt_test_recorder()
        if self._cassette is not None:
            from flowview_async.recording import Recorder

            self._recorder = Recorder(self._cassette, record_mode=self._record_mode or "once",
                                      repeat=self._repeat or "error")
        middlewares: list[Any] = [_capture_middleware]
        if self._recorder is not None:
            self._recorder.add_secrets(*secrets)
            await self._recorder.open()
            middlewares.append(self._recorder.middleware)
        transport = AIOHTTPTransport(
            url=self._settings.api_url,
            headers=self._settings.headers(),
            ssl=True,
            client_session_args={
                "connector": aiohttp.TCPConnector(limit=self._max_concurrency),
                "middlewares": tuple(middlewares),
                # Timeouts are applied per attempt by execute(), within the retry deadline.
                "timeout": aiohttp.ClientTimeout(total=None),
            },
        )
        # No schema for gql: execute() validates against the bundled schema itself, so that a
        # bad query becomes a QueryValidationError before any I/O.
        self._gql = GqlClient(transport=transport, execute_timeout=None)
        self._session = await self._gql.connect_async()  # type: ignore[no-untyped-call]

    def _adopt_test_recorder(self) -> None:
        """Inside a test with a cassette, ``Client()`` with no arguments records and replays
        through the test's recorder (see :mod:`flowview_async._test_defaults`)."""
        if self._recorder is not None or self._cassette is not None or self._requested_url:
            return
        defaults = current_test_defaults()
        if defaults is not None and defaults.recorder is not None:
            self._recorder = defaults.recorder
            self._shares_recorder = True

    async def aclose(self) -> None:
        """Close the connection pool and save the cassette, if any. Safe to call twice."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        _GQL_LOG_FILTER.secrets.pop(id(self), None)
        try:
            if self._gql is not None and self._session is not None:
                await self._gql.close_async()  # type: ignore[no-untyped-call]
        finally:
            self._session = None
            if self._recorder is not None and not self._shares_recorder:
                await self._recorder.close()

    # --- properties ------------------------------------------------------------------------------

    @property
    def api_url(self) -> str | None:
        """The endpoint, once the client is open (settings are resolved on open)."""
        return self._settings.api_url if self._settings else self._requested_url

    @property
    def recorder(self) -> Recorder | None:
        """The recorder/replayer attached to this client, if any."""
        return self._recorder

    @property
    def is_closed(self) -> bool:
        """True once :meth:`aclose` ran."""
        return self._state is _State.CLOSED

    @property
    def max_concurrency(self) -> int:
        """The most requests this client keeps in flight at once."""
        return self._max_concurrency

    @property
    def replaying(self) -> bool:
        """True when answers come from a cassette rather than the network."""
        return self._recorder is not None and self._recorder.replaying

    def __repr__(self) -> str:
        return f"Client(api_url={self.api_url!r}, state={self._state.value!r})"

    # --- time ------------------------------------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        """Wait between polls or retries; returns at once when replaying, so replays are fast and
        deterministic (no wall-clock time leaks into them)."""
        await asyncio.sleep(0 if self.replaying else max(0.0, seconds))

    # --- requests --------------------------------------------------------------------------------

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """Run a GraphQL query and return its ``data``.

        The document is validated against the bundled Prefect Server schema first, variables are
        sent as GraphQL variables (never pasted into the text), and transient failures are
        retried within the policy's deadline.

        Raises:
            ClientClosedError: the client is not open.
            QueryValidationError: the document, or a variable's value, does not fit the schema.
            InvalidArgumentError: the variables are not a JSON object.
            GraphQLQueryError: the backend answered with GraphQL errors.
            AuthenticationError: the backend refused the credentials.
            BackendUnavailableError: the backend could not be reached, even after retries.
            MalformedResponseError: the answer is not JSON or has no data.
        """
        if not isinstance(query, str):
            msg = f"query must be a GraphQL document string, got {type(query).__name__}."
            raise InvalidArgumentError(msg)
        session = self._require_session()
        document = _schema.parse_and_validate(query)
        name = operation_name or _operation_name(document)
        values = self._check_variables(variables)
        _schema.check_variables(document, name, values)
        request = GraphQLRequest(document, variable_values=values, operation_name=name)
        try:
            return await self._execute_with_retries(session, request, name)
        except FlowViewError as exc:
            self._scrub(exc)
            raise

    def _scrub(self, error: BaseException) -> None:
        """Mask this client's credentials in an error and its causes: a server may echo the
        Authorization header back in its error message, and messages end up in logs."""
        settings = self._settings
        secrets = [s for s in (settings.api_key, settings.tenant_id) if s] if settings else []
        if not secrets:
            return
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if any(secret in str(current.args) for secret in secrets):
                current.args = tuple(
                    _mask(a, secrets) if isinstance(a, str) else a for a in current.args
                )
            if isinstance(current, GraphQLQueryError):
                current.errors = json.loads(_mask(json.dumps(current.errors, default=str), secrets))
                if current.data is not None:
                    current.data = json.loads(_mask(json.dumps(current.data, default=str), secrets))
            current = current.__cause__ or current.__context__

    def _require_session(self) -> AsyncClientSession:
        if self._state is not _State.OPEN or self._session is None:
            if self._state is _State.UNOPENED:
                msg = "The client is not open yet: use it inside `async with Client(...) as client:`."
            else:
                msg = ("The client is closed, and a closed client cannot be reopened: make a new "
                       "`async with Client(...) as client:`.")
            raise ClientClosedError(msg)
        return self._session

    @staticmethod
    def _check_variables(variables: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if variables is None:
            return None
        if not isinstance(variables, Mapping):
            msg = f"variables must be a mapping of names to values, got {type(variables).__name__}."
            raise InvalidArgumentError(msg)
        try:
            # Round-trip through JSON so that what we send is exactly what a cassette stores.
            return dict(json.loads(json.dumps(dict(variables))))
        except (TypeError, ValueError) as exc:
            msg = f"variables must be JSON values (str, int, float, bool, None, lists, dicts): {exc}"
            raise InvalidArgumentError(msg) from exc

    async def _execute_with_retries(
        self, session: AsyncClientSession, request: GraphQLRequest, name: str | None
    ) -> dict[str, Any]:
        policy = self._retry
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.deadline
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - loop.time()
            try:
                return await self._attempt(session, request, name, min(self._timeout, remaining))
            except _Retryable as failure:
                final = failure.final
                wait = policy.delay(attempt, retry_after=failure.retry_after)
                out_of_time = loop.time() + wait >= deadline
                if attempt >= policy.attempts or out_of_time:
                    if isinstance(final, BackendUnavailableError):
                        final.attempts = attempt
                    raise final from failure.__cause__
                logger.debug("retrying %s after attempt %d failed (%s); waiting %.2fs",
                             name or "<anonymous>", attempt, final, wait)
                await self.sleep(wait)

    async def _attempt(
        self,
        session: AsyncClientSession,
        request: GraphQLRequest,
        name: str | None,
        timeout: float,
    ) -> dict[str, Any]:
        op = name or "<anonymous operation>"
        where = self.api_url
        exchange = _Exchange()
        token = _CURRENT_EXCHANGE.set(exchange)
        started = time.perf_counter()
        outcome = "failed"
        try:
            async with self._slots:
                started = time.perf_counter()  # the time on the wire, not in the queue
                data = await asyncio.wait_for(session.execute(request), timeout)
            outcome = "ok"
        except FlowViewError:
            raise  # cassette misses and our own errors pass through untouched, never retried
        except asyncio.TimeoutError as exc:
            msg = (f"{op}: {where} did not answer within {timeout:.1f}s. Is the backend "
                   "overloaded? Raise Client(timeout=...) or retry later.")
            raise _Retryable(RequestTimeoutError(msg)) from exc
        except TransportQueryError as exc:
            raise self._query_error(op, exc, exchange) from exc
        except AssertionError as exc:
            # gql asserts that an answer without errors has data: {"data": null}, {"errors": []}.
            msg = (f"{op}: {where} answered with neither data nor errors. Is api_url the GraphQL "
                   "endpoint of Prefect Server/Cloud?")
            raise MalformedResponseError(msg) from exc
        except TransportServerError as exc:
            raise self._server_error(op, exc, exchange) from exc
        except TransportProtocolError as exc:
            msg = (f"{op}: {where} answered HTTP {exchange.status} with something that is not a "
                   "GraphQL response. Is api_url the GraphQL endpoint of Prefect Server/Cloud?")
            raise MalformedResponseError(msg) from exc
        except (TransportConnectionFailed, aiohttp.ClientError, OSError) as exc:
            cause = exc.__cause__ if isinstance(exc, TransportConnectionFailed) else exc
            if isinstance(cause, FlowViewError):
                raise cause from None  # a recorder error surfaced through gql's wrapper
            msg = (f"{op}: could not reach {where} ({type(cause).__name__}: {cause}). "
                   "Check that the backend is running and api_url is right.")
            raise _Retryable(BackendUnavailableError(msg)) from exc
        finally:
            _CURRENT_EXCHANGE.reset(token)
            # One line per attempt for `--debug`: the operation, the HTTP status and the time,
            # never the URL, headers, variables or body (where secrets would be).
            logger.debug("request %s: HTTP %s (%s) in %.1f ms", op, exchange.status or "-",
                         outcome, (time.perf_counter() - started) * 1000)
        if not isinstance(data, dict):
            msg = f"{op}: the backend answered without a data object. Report this backend bug."
            raise MalformedResponseError(msg)
        return data

    def _query_error(
        self, op: str, exc: TransportQueryError, exchange: _Exchange
    ) -> Exception:
        if not isinstance(exc.errors, list) or not all(isinstance(e, Mapping) for e in exc.errors):
            msg = (f"{op}: the backend answered with an 'errors' field that is not a list of "
                   f"GraphQL errors ({type(exc.errors).__name__}). Is api_url a Prefect backend?")
            return MalformedResponseError(msg)
        errors: list[Mapping[str, Any]] = list(exc.errors)
        codes = {
            str(e["extensions"].get("code"))
            for e in errors
            if isinstance(e.get("extensions"), Mapping)
        }
        messages = [str(e.get("message", "")) for e in errors] or [str(exc)]
        first = messages[0]
        status = exchange.status
        if "API_ERROR" in codes:
            # Prefect Server's catch-all for transient failures; its own client re-sends these.
            msg = f"{op}: the backend reported an internal error (API_ERROR): {first}"
            error = BackendUnavailableError(msg, status=status)
            return _Retryable(error)
        if codes & _AUTH_CODES or any("UNAUTHENTICATED" in m for m in messages):
            msg = (f"{op}: the backend refused the credentials ({first}). Check "
                   "PREFECT__CLOUD__API_KEY / api_key= and the tenant id.")
            return AuthenticationError(msg, status=status)
        error_class = (
            QueryValidationError if "GRAPHQL_VALIDATION_FAILED" in codes else GraphQLQueryError
        )
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        msg = f"{op}: the backend answered with GraphQL errors: {first}{more}"
        return error_class(msg, errors=errors, status=status, operation_name=op, data=exc.data)

    def _server_error(
        self, op: str, exc: TransportServerError, exchange: _Exchange
    ) -> Exception:
        status = exc.code if exc.code is not None else exchange.status
        where = self.api_url
        if status in (401, 403):
            msg = (f"{op}: {where} answered HTTP {status}: the credentials were refused. Check "
                   "PREFECT__CLOUD__API_KEY / api_key= and the tenant id.")
            return AuthenticationError(msg, status=status)
        if status is not None and (status == 429 or status >= 500):
            retry_after = _parse_retry_after(exchange.headers.get("Retry-After"))
            msg = f"{op}: {where} answered HTTP {status} and kept failing; try again later."
            return _Retryable(BackendUnavailableError(msg, status=status), retry_after)
        if status in (404, 405):
            msg = (f"{op}: {where} answered HTTP {status}: no GraphQL endpoint there. Point "
                   "api_url at Prefect Server (e.g. http://localhost:4200) or Prefect Cloud.")
            return ConfigurationError(msg)
        msg = f"{op}: {where} answered HTTP {status}: {exc}"
        return GraphQLQueryError(msg, status=status, operation_name=op)


@contextlib.asynccontextmanager
async def open_client(client: Client | None) -> AsyncIterator[Client]:
    """Use ``client`` if given, else a temporary client built from the Prefect settings.

    The views call this so that ``await FlowRunView.from_flow_run_id(id)`` works without a client
    (as in Prefect's documentation), while services pass their own long-lived one. A temporary
    client is closed when the call ends, so nothing leaks.
    """
    if client is not None:
        yield client
        return
    async with Client() as temporary:
        yield temporary

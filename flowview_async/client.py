"""The client: one aiohttp session per client, bounded concurrency, retries, typed errors.

::

    async with Client("http://localhost:4200") as client:
        data = await client.execute(
            'query Run($name: String!) { flow_run(where: {name: {_eq: $name}}) { id state } }',
            {"name": "woodoo-leopard"},
        )

The pieces: settings as Prefect 1.4.1 resolves them (:mod:`._settings`), one aiohttp session
(:mod:`._transport`), answers classified by status then body (:mod:`._errors_mapping`), retries
(:mod:`._retry`) and validation against the server's own schema (:mod:`._schema`). This class owns
the behaviour, in the shape of httpx's ``AsyncClient``: ``async with`` opens it, :meth:`aclose` is
idempotent, and a closed client cannot be reopened.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp

from flowview_async import _documents, _schema
from flowview_async._concurrency import timeout as time_limit
from flowview_async._errors_mapping import interpret, transport_failure
from flowview_async._retry import RetryPolicy, with_retries
from flowview_async._settings import Settings, check_url, resolve_settings
from flowview_async._test_defaults import current_test_defaults
from flowview_async._transport import HttpTransport
from flowview_async.errors import (
    ClientClosedError,
    FlowViewError,
    GraphQLQueryError,
    InvalidArgumentError,
)

if TYPE_CHECKING:
    from flowview_async.recording import Recorder

__all__ = ["DEFAULT_MAX_CONCURRENCY", "DEFAULT_TIMEOUT", "Client", "RetryPolicy", "open_client"]

logger = logging.getLogger("flowview_async")

DEFAULT_TIMEOUT = 15.0  # Prefect 1's cloud.request_timeout, when the settings do not say otherwise
DEFAULT_MAX_CONCURRENCY = 8
_INTROSPECTION_TIMEOUT = 30.0


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


def _mask(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<redacted>")
    return text


def _positive_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


class Client:
    """An async client for the Prefect 1 GraphQL API (Prefect Server 1.x or Prefect Cloud 1).

    Args:
        api_url: the GraphQL endpoint, e.g. ``http://localhost:4200``. If omitted, the one
            Prefect 1.4.1 would use, from the same settings (``PREFECT__*`` variables,
            ``~/.prefect/config.toml``, ``backend.toml``; see the README's "Settings").
        api_key: a Prefect Cloud API key; sent as ``Authorization: Bearer …``. If omitted, from
            the settings or the login ``prefect auth login`` saved for the API host. Never
            logged, never shown in a repr or an error, never written to a cassette.
        tenant_id: the tenant, sent as ``X-PREFECT-TENANT-ID`` with a key.
        timeout: seconds one attempt may take (default: Prefect's ``cloud.request_timeout``, 15).
        retry: the retry policy (attempts, backoff, total deadline); ``RetryPolicy.none()`` to
            never retry.
        max_concurrency: the most requests in flight at once from this client; further
            requests wait their turn. Also the size of the connection pool.
        validate: check documents against the schema before sending them (default); ``False``
            sends them as they are. ``execute(validate=...)`` decides per call.
        introspect: validate against the schema of the server itself, read once by
            introspection on first use (default); ``False`` keeps to the bundled schema. With a
            cassette the bundled schema is always used, so replays need no extra request.
        cassette: record and replay the HTTP exchanges in this vcrpy cassette file.
        record_mode: ``none``, ``once`` (default with a cassette), ``new_episodes`` or ``all``.
        recorder: a ready :class:`~flowview_async.recording.Recorder`, instead of ``cassette``.

    Raises:
        InvalidArgumentError: on conflicting arguments (``cassette`` and ``recorder``).
        ConfigurationError: ``api_url`` is not a usable http(s) URL.
    """

    def __init__(
        self,
        api_url: str | None = None,
        *,
        api_key: str | None = None,
        tenant_id: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        validate: bool = True,
        introspect: bool = True,
        cassette: str | os.PathLike[str] | None = None,
        record_mode: str | None = None,
        repeat: str | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        if api_url is not None and not isinstance(api_url, str):
            msg = f"api_url must be a URL string such as 'http://localhost:4200', got {api_url!r}."
            raise InvalidArgumentError(msg)
        if api_url is not None:
            check_url(api_url, "api_url")
        if cassette is not None and recorder is not None:
            msg = "Pass either cassette= or recorder=, not both."
            raise InvalidArgumentError(msg)
        if (record_mode is not None or repeat is not None) and cassette is None:
            msg = "record_mode= and repeat= go with cassette=PATH (a recorder= carries its own)."
            raise InvalidArgumentError(msg)
        if not isinstance(max_concurrency, int) or isinstance(max_concurrency, bool) or max_concurrency < 1:
            msg = f"max_concurrency must be an integer of at least 1, got {max_concurrency!r}."
            raise InvalidArgumentError(msg)
        if timeout is not None and not _positive_number(timeout):
            msg = f"timeout must be a positive number of seconds, got {timeout!r}."
            raise InvalidArgumentError(msg)
        if retry is not None and not isinstance(retry, RetryPolicy):
            msg = f"retry must be a RetryPolicy, got {type(retry).__name__}."
            raise InvalidArgumentError(msg)
        for name, flag in (("validate", validate), ("introspect", introspect)):
            if not isinstance(flag, bool):
                msg = f"{name} must be True or False, got {flag!r}."
                raise InvalidArgumentError(msg)
        self._requested_url = api_url
        self._api_key = api_key
        self._tenant_id = tenant_id
        self._timeout = timeout
        self._retry = retry if retry is not None else RetryPolicy()
        self._max_concurrency = max_concurrency
        self._validate = validate
        self._introspect = introspect
        self._cassette = cassette
        self._record_mode = record_mode
        self._repeat = repeat
        self._recorder: Recorder | None = recorder
        self._shares_recorder = False  # a test's recorder, closed by the test, not by this client
        self._settings: Settings | None = None
        self._state = _State.UNOPENED
        self._transport: HttpTransport | None = None
        self._slots = asyncio.Semaphore(max_concurrency)
        self._server_schema: _schema.Validator | None = None
        self._schema_lock = asyncio.Lock()

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
        await asyncio.to_thread(_schema.bundled_validator)
        secrets = tuple(s for s in (self._settings.api_key, self._settings.tenant_id) if s)
        self._adopt_test_recorder()
        if self._cassette is not None:
            from flowview_async.recording import Recorder

            self._recorder = Recorder(self._cassette, record_mode=self._record_mode or "once",
                                      repeat=self._repeat or "error")
        middlewares: list[Any] = []
        if self._recorder is not None:
            self._recorder.add_secrets(*secrets)
            await self._recorder.open()
            middlewares.append(self._recorder.middleware)
        self._transport = HttpTransport(self._settings.api_url, headers=self._settings.headers(),
                                        max_connections=self._max_concurrency,
                                        middlewares=middlewares)
        await self._transport.open()

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
        transport, self._transport = self._transport, None
        try:
            if transport is not None:
                await transport.close()
        finally:
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
        validate: bool | None = None,
    ) -> dict[str, Any]:
        """Run a GraphQL query (or mutation) and return its ``data``.

        The document is validated first (against the server's own schema when online, see
        ``introspect``; ``validate=False`` skips this for one call), variables are sent as GraphQL
        variables (never pasted into the text), and transient failures are retried within the
        policy's deadline.

        Raises:
            ClientClosedError: the client is not open.
            QueryValidationError: the document, or a variable's value, does not fit the schema.
            InvalidArgumentError: the variables are not a JSON object.
            GraphQLQueryError: the backend answered with GraphQL errors.
            AuthenticationError: the backend refused the credentials (HTTP 401/403 included).
            BackendUnavailableError: the backend could not be reached, even after retries.
            MalformedResponseError: the answer is not a GraphQL response, even after retries.
        """
        if not isinstance(query, str):
            msg = f"query must be a GraphQL document string, got {type(query).__name__}."
            raise InvalidArgumentError(msg)
        if validate is not None and not isinstance(validate, bool):
            msg = f"validate must be True, False or None, got {validate!r}."
            raise InvalidArgumentError(msg)
        self._require_open()
        values = _documents.check_variables(variables)
        try:
            checking = self._validate if validate is None else validate
            validator = await self._validator() if checking else None
            prepared = _documents.prepare(query, values, operation_name, validator)
            return await self._send(prepared.payload, prepared.name, mutation=prepared.mutation)
        except FlowViewError as exc:
            self._scrub(exc)
            raise

    async def _validator(self) -> _schema.Validator:
        """The schema to validate against: the server's, read once by introspection, when the
        client is online and allowed to; else (or if the server refuses introspection) the
        bundled one."""
        if self._server_schema is not None:
            return self._server_schema
        if not self._introspect or self._recorder is not None:
            return _schema.bundled_validator()
        async with self._schema_lock:
            if self._server_schema is None:
                self._server_schema = await self._read_server_schema()
        return self._server_schema

    async def _read_server_schema(self) -> _schema.Validator:
        async def send(payload: dict[str, Any], name: str) -> dict[str, Any]:
            # The answer is large (~100 KB) and asked once: not held to the per-request timeout.
            return await self._send(payload, name, mutation=False,
                                    timeout=max(self._request_timeout(), _INTROSPECTION_TIMEOUT))

        return await _schema.read_server_schema(send)

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

    def _require_open(self) -> HttpTransport:
        if self._state is not _State.OPEN or self._transport is None:
            if self._state is _State.UNOPENED:
                msg = "The client is not open yet: use it inside `async with Client(...) as client:`."
            else:
                msg = ("The client is closed, and a closed client cannot be reopened: make a new "
                       "`async with Client(...) as client:`.")
            raise ClientClosedError(msg)
        return self._transport

    async def _send(self, payload: Mapping[str, Any], name: str | None, *, mutation: bool,
                    timeout: float | None = None) -> dict[str, Any]:
        """Send with retries within the policy's deadline; the ``data`` of the answer."""

        async def attempt(limit: float) -> dict[str, Any]:
            return await self._attempt(payload, name, mutation, limit)

        return await with_retries(self._retry, attempt, timeout=timeout or self._request_timeout(),
                                  sleep=self.sleep, name=name)

    async def _attempt(self, payload: Mapping[str, Any], name: str | None, mutation: bool,
                       limit: float) -> dict[str, Any]:
        transport = self._require_open()
        op = name or "<anonymous operation>"
        where = self.api_url or "the backend"
        started = time.perf_counter()
        status: int | str = "-"
        outcome = "failed"
        try:
            async with self._slots:
                started = time.perf_counter()  # the time on the wire, not in the queue
                async with time_limit(limit):
                    answer = await transport.post(payload)
                status = answer.status
            retry_after = self._retry.retry_after(answer.headers.get("Retry-After"))
            data = interpret(answer, op=op, where=where, mutation=mutation, retry_after=retry_after)
            outcome = "ok"
            return data
        except FlowViewError:
            raise  # cassette misses and our own errors pass through untouched, never retried
        except (TimeoutError, asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise transport_failure(exc, op=op, where=where, limit=limit) from exc
        finally:
            # One line per attempt for `--debug`: the operation, the HTTP status, the outcome and
            # the time, never the URL, headers, variables or body (where secrets would be).
            logger.debug("request %s: HTTP %s (%s) in %.1f ms", op, status, outcome,
                         (time.perf_counter() - started) * 1000)

    def _request_timeout(self) -> float:
        """Seconds one attempt may take: ``timeout=``, else Prefect's ``cloud.request_timeout``."""
        configured = self._settings.request_timeout if self._settings else None
        return self._timeout or configured or DEFAULT_TIMEOUT


@contextlib.asynccontextmanager
async def open_client(client: Client | None) -> AsyncIterator[Client]:
    """Use ``client`` if given, else a temporary client built from the Prefect settings.

    The views call this so that ``await FlowRunView.from_flow_run_id(id)`` works without a client
    (as in Prefect's documentation), while services pass their own long-lived one. A temporary
    client is closed when the call ends, after every request of the call has finished (the views'
    fan-outs are structured, see :mod:`flowview_async._concurrency`), so nothing leaks.
    """
    if client is not None:
        yield client
        return
    async with Client() as temporary:
        yield temporary

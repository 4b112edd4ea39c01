"""Each way an API key leaked (issue 9), with a canary key and a server that echoes everything.

Logging is at DEBUG for every logger (gql logs whole requests and answers there), and each test
looks at the raised error, every error chained to it, their args, attributes, str and repr.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import aiohttp
import pytest

from flowview_async import Client, RetryPolicy
from flowview_async.errors import (
    AuthenticationError,
    BackendUnavailableError,
    FlowViewError,
    GraphQLQueryError,
    MalformedResponseError,
    QueryValidationError,
)
from flowview_async.recording import replay
from tests.security.echo_server import echo_server, everything_reachable, texts_of

HELLO = "query Hello { hello }"
QUICK = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01, deadline=10)


def canary(label: str = "") -> str:
    """A fresh key per test: one test's masking can never make another one pass."""
    return f"pnu_CANARY{label}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as a handler would write it, tracebacks included."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def assert_nowhere(secret: str, error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    for text in texts_of(error):
        assert secret not in text
    assert secret not in logged_text(caplog)


def assert_no_request_objects(error: BaseException) -> None:
    """No aiohttp object (which carries the request headers) is reachable from the error."""
    for item in everything_reachable(error):
        assert not isinstance(item, (aiohttp.ClientError, aiohttp.RequestInfo,
                                     aiohttp.ClientResponse)), item
        if isinstance(item, BaseException):
            assert isinstance(item, FlowViewError), type(item)


async def test_retry_log_of_an_echoed_api_error_is_masked(debug_logs: Any) -> None:
    key = canary()
    async with echo_server() as server:
        async with Client(f"{server.url}/api-error", api_key=key, retry=QUICK, introspect=False) as client:
            with pytest.raises(BackendUnavailableError) as caught:
                await client.execute(HELLO)
        assert server.requests == 2
    assert any("retrying" in record.getMessage() for record in debug_logs.records)
    assert "<redacted>" in logged_text(debug_logs)
    assert_nowhere(key, caught.value, debug_logs)
    assert_no_request_objects(caught.value)


@pytest.mark.parametrize(("path", "error_type"), [
    ("text-500", BackendUnavailableError),
    ("text-200", MalformedResponseError),
    ("auth", AuthenticationError),
    ("json-401", AuthenticationError),
    ("graphql-error", GraphQLQueryError),
])
async def test_http_errors_carry_no_request_and_no_key(debug_logs: Any, path: str,
                                                       error_type: type[Exception]) -> None:
    key, tenant = canary("key"), str(uuid.uuid4())  # tenant ids are UUIDs
    async with echo_server() as server, Client(f"{server.url}/{path}", api_key=key, tenant_id=tenant,
                      retry=RetryPolicy.none(), introspect=False) as client:
        with pytest.raises(error_type) as caught:
            await client.execute(HELLO)
    for secret in (key, tenant):
        assert_nowhere(secret, caught.value, debug_logs)
    assert_no_request_objects(caught.value)


async def test_graphql_error_data_and_errors_are_masked(debug_logs: Any) -> None:
    key = canary()
    async with echo_server() as server, Client(f"{server.url}/graphql-error", api_key=key,
                      retry=RetryPolicy.none(), introspect=False) as client:
        with pytest.raises(GraphQLQueryError) as caught:
            await client.execute(HELLO)
    assert key not in json.dumps(caught.value.errors)
    assert key not in json.dumps(caught.value.data)
    assert_nowhere(key, caught.value, debug_logs)


async def test_query_validation_error_masks_secret_variable_values(debug_logs: Any) -> None:
    key = canary()
    named = canary("named")
    document = ("query Runs($name: String!, $limit: Int) "
                "{ flow_run(where: {name: {_eq: $name}}, limit: $limit) { id } }")
    async with echo_server() as server, Client(f"{server.url}/data", api_key=key, introspect=False) as client:
        # The registered key as a value of the wrong type elsewhere in the same request.
        with pytest.raises(QueryValidationError) as registered:
            await client.execute(document, {"name": [key], "limit": 1})
        # A value under a secret-looking name, never registered anywhere.
        with pytest.raises(QueryValidationError) as by_name:
            await client.execute(
                "query W($w: flow_run_bool_exp!) { flow_run(where: $w) { id } }",
                {"w": {"name": {"_eq": 5}, "password": named}},
            )
        assert server.requests == 0
    assert "String cannot represent" in str(registered.value)
    assert_nowhere(key, registered.value, debug_logs)
    assert "unknown field 'password'" in str(by_name.value) or "password" in str(by_name.value)
    assert_nowhere(named, by_name.value, debug_logs)


async def test_a_password_in_the_url_is_masked(debug_logs: Any) -> None:
    password = canary("pw")
    async with echo_server() as server:
        url = server.url.replace("http://", f"http://someone:{password}@") + "/text-500"
        client = Client(url, retry=RetryPolicy.none())
        assert password not in repr(client)
        async with client:
            assert password not in repr(client)
            with pytest.raises(BackendUnavailableError) as caught:
                await client.execute(HELLO)
        # aiohttp turns the URL's user info into "Authorization: Basic ...", echoed back too.
    assert_nowhere(password, caught.value, debug_logs)
    assert "someone:<redacted>@" in str(caught.value)
    assert_no_request_objects(caught.value)


async def test_a_password_in_an_unreachable_url_is_masked(debug_logs: Any) -> None:
    password = canary("pw")
    with socket_bound() as port:
        url = f"http://someone:{password}@127.0.0.1:{port}/graphql"
        async with Client(url, retry=RetryPolicy.none()) as client:
            with pytest.raises(BackendUnavailableError) as caught:
                await client.execute(HELLO)
    assert_nowhere(password, caught.value, debug_logs)


@pytest.mark.parametrize("variant", ["trailing", "non_ascii", "both"])
async def test_key_variants_are_masked(debug_logs: Any, variant: str) -> None:
    base = canary()
    key = {"trailing": f"{base}  ", "non_ascii": f"{base}cläve€", "both": f"{base}ç€ \t"}[variant]
    async with echo_server() as server:
        for path, error_type in (("graphql-error", GraphQLQueryError),
                                 ("text-500", BackendUnavailableError)):
            async with Client(f"{server.url}/{path}", api_key=key,
                              retry=RetryPolicy.none()) as client:
                with pytest.raises(error_type) as caught:
                    await client.execute(HELLO)
            for form in {key, key.strip(), json.dumps(key.strip())[1:-1]}:
                assert_nowhere(form, caught.value, debug_logs)


async def test_replay_secrets_are_registered_with_the_log_filter(tmp_path: Any,
                                                                 debug_logs: Any) -> None:
    secret = canary("replay")
    cassette = tmp_path / "empty.json"
    cassette.write_text('{"version": 1, "interactions": []}')
    async with replay(cassette, secrets=[secret]):
        pass
    # Any logger of the SDK's tree or gql's, even one created after the registration.
    for name in ("flowview_async", "flowview_async.watch", "gql.transport.aiohttp",
                 f"flowview_async.brand_new_{uuid.uuid4().hex[:6]}"):
        logging.getLogger(name).warning("the secret is %s, see %r", secret, {"k": secret})
    text = logged_text(debug_logs)
    assert secret not in text
    assert text.count("<redacted>") >= 4 * 2


def test_logged_exceptions_and_tracebacks_are_masked(debug_logs: Any) -> None:
    secret = canary("tb")
    from flowview_async import _redaction

    _redaction.register(secret)
    logger = logging.getLogger("flowview_async")
    try:
        try:
            raise ValueError(f"inner {secret}")
        except ValueError as inner:
            raise RuntimeError(f"outer {secret}") from inner
    except RuntimeError:
        logger.exception("failed with %s", secret)
    text = logged_text(debug_logs)
    assert "outer <redacted>" in text
    assert secret not in text


def test_authorization_and_tenant_headers_are_masked_in_any_text() -> None:
    from flowview_async import _redaction
    from flowview_async.errors import redact

    texts = [
        "Authorization: Bearer unregistered-token-123",
        "{'Authorization': 'Bearer unregistered-token-123', 'X-PREFECT-TENANT-ID': 'tenant-xyz-987'}",
        '{"authorization": "unregistered-token-123"}',
        "x-prefect-tenant-id=tenant-xyz-987",
        '{"apiKey": "unregistered-token-123", "password": "tenant-xyz-987"}',
    ]
    for text in texts:
        masked = _redaction.redact_text(text)
        assert "unregistered-token-123" not in masked
        assert "tenant-xyz-987" not in masked
    headers = redact({"Authorization": "Bearer x", "X-PREFECT-TENANT-ID": "t", "Accept": "*/*"})
    assert headers == {"Authorization": "<redacted>", "X-PREFECT-TENANT-ID": "<redacted>",
                       "Accept": "*/*"}


def test_errors_mask_secrets_registered_after_they_were_made() -> None:
    from flowview_async import _redaction

    secret = canary("late")
    error = GraphQLQueryError(f"echoed {secret}", errors=[{"message": secret}])
    _redaction.register(secret)
    assert secret not in str(error)
    assert secret not in repr(error)


@pytest.mark.parametrize("bad", [123, b"bytes-key", ["k"]])
def test_a_non_string_key_is_a_typed_error_without_the_value(bad: Any) -> None:
    from flowview_async.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="api_key must be a string") as caught:
        Client("http://127.0.0.1:9", api_key=bad)
    assert repr(bad) not in str(caught.value)


def test_a_key_with_a_line_break_is_refused_before_any_request() -> None:
    from flowview_async.errors import InvalidArgumentError

    key = canary() + "\n"
    with pytest.raises(InvalidArgumentError, match="control character") as caught:
        Client("http://127.0.0.1:9", api_key=key)
    assert key.strip() not in str(caught.value)


class socket_bound:
    """A loopback port that is bound but never accepts (connecting is refused or hangs up)."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        port: int = self._sock.getsockname()[1]
        self._sock.close()  # closed: connecting is refused
        return port

    def __exit__(self, *exc: object) -> None:
        pass

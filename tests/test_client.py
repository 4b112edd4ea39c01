"""The client over real HTTP: lifecycle, retries against injected faults, and typed errors."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

import pytest

from flowview_async import Client, RetryPolicy
from flowview_async.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ClientClosedError,
    ConfigurationError,
    GraphQLQueryError,
    InvalidArgumentError,
    MalformedResponseError,
    QueryValidationError,
    RequestTimeoutError,
)
from flowview_async.server import LocalBackend

QUICK_RETRIES = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, deadline=10)
WOODOO = """
query Woodoo($name: String!) {
  flow_run(where: {name: {_eq: $name}}) { id state start_time }
}
"""
WOODOO_DATA = {
    "flow_run": [
        {
            "id": "8e445d74-9ca6-425b-98e5-72754b7ea174",
            "state": "Success",
            "start_time": "2021-05-12T17:59:56.383629+00:00",
        }
    ]
}


async def run_woodoo(client: Client) -> dict[str, object]:
    return await client.execute(WOODOO, {"name": "woodoo-leopard"})


async def test_raw_query_with_variables_is_named(client: Client, backend: LocalBackend) -> None:
    assert await run_woodoo(client) == WOODOO_DATA
    (served,) = backend.requests
    assert served.operation_name == "Woodoo"
    assert served.variables == {"name": "woodoo-leopard"}
    assert "woodoo-leopard" not in served.query  # a variable, never pasted into the text


@pytest.mark.parametrize("spec", ["503*2", "502*1,500*1", "429@0.05*2", "api_error*2", "reset*2"])
async def test_transient_failures_are_retried(spec: str) -> None:
    async with LocalBackend(faults=spec) as backend, Client(backend.url, retry=QUICK_RETRIES) as client:
        assert await run_woodoo(client) == WOODOO_DATA


async def test_persistent_5xx_becomes_backend_unavailable_after_the_attempts() -> None:
    async with LocalBackend(faults="500*10") as backend, Client(backend.url, retry=QUICK_RETRIES) as client:
        with pytest.raises(BackendUnavailableError) as caught:
            await run_woodoo(client)
    assert caught.value.status == 500
    assert caught.value.attempts == 4
    assert "HTTP 500" in str(caught.value)


async def test_slow_answer_is_a_timeout() -> None:
    async with (
        LocalBackend(faults="slow@5*3") as backend,
        Client(backend.url, timeout=0.2, retry=RetryPolicy(attempts=2, backoff=0.01)) as client,
    ):
        with pytest.raises(RequestTimeoutError, match="did not answer within"):
            await run_woodoo(client)


async def test_non_json_answer_is_retried_for_queries_then_malformed() -> None:
    async with (
        LocalBackend(faults="nonjson*2") as backend,
        Client(backend.url, retry=QUICK_RETRIES, introspect=False) as client,
    ):
        assert await run_woodoo(client) == WOODOO_DATA  # two HTML answers, then the real one
    async with (
        LocalBackend(faults="nonjson*4") as backend,
        Client(backend.url, retry=QUICK_RETRIES, introspect=False) as client,
    ):
        with pytest.raises(MalformedResponseError, match="not a GraphQL response"):
            await run_woodoo(client)
        assert len(backend.requests) == 4
        # the next request is fine: the faults were consumed by exactly the four attempts
        assert await run_woodoo(client) == WOODOO_DATA


async def test_invalid_query_fails_locally_without_a_request(client: Client, backend: LocalBackend) -> None:
    with pytest.raises(QueryValidationError, match="Cannot query field 'nope'"):
        await client.execute("query { flow_run { nope } }")
    with pytest.raises(QueryValidationError, match="does not parse"):
        await client.execute("query {")
    assert backend.requests == []


async def test_server_side_graphql_errors_keep_status_and_errors(client: Client) -> None:
    # Valid against the schema, refused by the backend at execution (not a UUID).
    with pytest.raises(GraphQLQueryError) as caught:
        await client.execute('query Bad { flow_run(where: {id: {_eq: "not-a-uuid"}}) { id } }')
    assert caught.value.errors
    assert caught.value.operation_name == "Bad"


async def test_variables_must_be_json(client: Client) -> None:
    with pytest.raises(InvalidArgumentError, match="JSON values"):
        await client.execute(WOODOO, {"name": object()})
    with pytest.raises(InvalidArgumentError, match="mapping"):
        await client.execute(WOODOO, ["woodoo-leopard"])  # type: ignore[arg-type]


async def test_wrong_path_is_a_configuration_error(backend: LocalBackend) -> None:
    async with Client(backend.url + "/not-graphql", retry=QUICK_RETRIES) as client:
        with pytest.raises(ConfigurationError, match="no GraphQL endpoint"):
            await run_woodoo(client)


async def test_nothing_listening_is_backend_unavailable_without_secrets() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}", api_key="pnu_TOPSECRET", retry=QUICK_RETRIES)
    assert "pnu_TOPSECRET" not in repr(client)
    async with client:
        with pytest.raises(BackendUnavailableError) as caught:
            await run_woodoo(client)
    assert "could not reach" in str(caught.value)
    assert "pnu_TOPSECRET" not in str(caught.value)
    assert "pnu_TOPSECRET" not in repr(caught.value)


async def test_lifecycle_is_open_once_close_idempotent(backend: LocalBackend) -> None:
    client = Client(backend.url)
    with pytest.raises(ClientClosedError, match="async with"):
        await run_woodoo(client)
    async with client:
        assert await run_woodoo(client) == WOODOO_DATA
    assert client.is_closed
    await client.aclose()  # twice is fine
    with pytest.raises(ClientClosedError):
        await run_woodoo(client)
    with pytest.raises(ClientClosedError, match="opened once"):
        await client.open()


@pytest.mark.parametrize(
    "kwargs",
    [{"max_concurrency": 0}, {"timeout": 0}, {"record_mode": "once"}],
)
def test_bad_client_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        Client("http://127.0.0.1:1", **kwargs)  # type: ignore[arg-type]


async def test_cancelling_a_request_leaves_the_client_usable() -> None:
    async with LocalBackend(faults="slow@5*1") as backend, Client(backend.url) as client:
        pending = asyncio.create_task(run_woodoo(client))
        while backend.max_in_flight == 0:
            await asyncio.sleep(0.01)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        assert await run_woodoo(client) == WOODOO_DATA
    # The backend runs in this loop too; only the client's own tasks must be gone.
    leftovers = [
        t for t in asyncio.all_tasks()
        if t is not asyncio.current_task()
        and not getattr(t.get_coro(), "__qualname__", "").startswith("RequestHandler")
    ]
    assert leftovers == []


# --- answers that are not what a Prefect backend sends --------------------------------------------


@pytest.mark.parametrize("answer", [{"data": None}, {"errors": []}, {"errors": "nope"},
                                    {"errors": ["not an object"]}])
async def test_odd_answers_are_malformed_responses(odd_backend: tuple[str, list[Any]],
                                                   answer: Any) -> None:
    url, answers = odd_backend
    answers.append(answer)
    async with Client(url, retry=RetryPolicy.none(), introspect=False) as client:
        with pytest.raises(MalformedResponseError):
            await run_woodoo(client)


async def test_a_key_echoed_by_the_server_is_masked_everywhere(
    odd_backend: tuple[str, list[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    url, answers = odd_backend
    secret = "pnu_ECHOEDSECRET42"
    answers.append({"errors": [{"message": f"denied for Bearer {secret}",
                                "extensions": {"code": "UNAUTHENTICATED"}}]})
    answers.append({"errors": [{"message": f"no such tenant; key {secret}"}],
                    "data": {"echo": secret}})
    caplog.set_level(logging.DEBUG)
    async with Client(url, api_key=secret, retry=RetryPolicy.none(), introspect=False) as client:
        with pytest.raises(AuthenticationError) as refused:
            await run_woodoo(client)
        with pytest.raises(GraphQLQueryError) as failed:
            await run_woodoo(client)
    for error in (refused.value, failed.value):
        assert secret not in str(error)
        assert secret not in repr(error)
        assert secret not in repr(error.__cause__)
    assert secret not in json.dumps(failed.value.errors)
    assert secret not in json.dumps(failed.value.data)
    assert "<redacted>" in str(refused.value)
    assert all(secret not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Client(4200), "api_url"),  # type: ignore[arg-type]
        (lambda: Client("http://127.0.0.1:1", max_concurrency="a"), "max_concurrency"),  # type: ignore[arg-type]
        (lambda: Client("http://127.0.0.1:1", timeout="slow"), "timeout"),  # type: ignore[arg-type]
        (lambda: Client("http://127.0.0.1:1", retry=3), "RetryPolicy"),  # type: ignore[arg-type]
        (lambda: Client("http://127.0.0.1:1", repeat="cycle"), "cassette"),
        (lambda: RetryPolicy(attempts=0), "attempts"),
        (lambda: RetryPolicy(deadline=-1), "deadline"),
    ],
)
def test_wrong_argument_types_are_invalid_argument_errors(make: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        make()


async def test_query_must_be_a_string(client: Client) -> None:
    for bad in (b"query { flow_run { id } }", None, 123):
        with pytest.raises(InvalidArgumentError, match="GraphQL document string"):
            await client.execute(bad)  # type: ignore[arg-type]


async def test_cassette_repeat_policy_is_a_client_option(backend: LocalBackend, tmp_path: Any) -> None:
    cassette = tmp_path / "poll.json"
    async with Client(backend.url, cassette=cassette, record_mode="once") as client:
        assert await run_woodoo(client) == WOODOO_DATA
    async with Client(backend.url, cassette=cassette, record_mode="none", repeat="cycle") as client:
        # One answer recorded, three asked for: "cycle" serves it again instead of missing.
        for _ in range(3):
            assert await run_woodoo(client) == WOODOO_DATA


async def test_variables_are_checked_against_their_declared_types(client: Client,
                                                                  backend: LocalBackend) -> None:
    with pytest.raises(QueryValidationError, match="String cannot represent a non string value"):
        await client.execute(WOODOO, {"name": 123})
    with pytest.raises(QueryValidationError, match=r"\$name"):
        await client.execute(WOODOO, {})
    with pytest.raises(QueryValidationError, match="unknown field 'nme'"):
        await client.execute("query W($w: flow_run_bool_exp!) { flow_run(where: $w) { id } }",
                             {"w": {"nme": {"_eq": "x"}}})
    assert backend.requests == []

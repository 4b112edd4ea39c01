"""Every request limit of ``flowview serve``, over HTTP: refused with a clear, coded JSON error
while ``{ hello }`` keeps being answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from flowview_async.server.limits import Limits
from flowview_async.server.runner import LocalBackend
from tests.server.datasets import F_ETL, OPERATORS_FIXTURE
from tests.server.hardening.conftest import (
    HELLO,
    alias_query,
    fan_out_query,
    nested_selection,
    post_json,
)


@pytest_asyncio.fixture
async def backend() -> AsyncIterator[LocalBackend]:
    async with LocalBackend(OPERATORS_FIXTURE) as served:
        yield served


async def refused_while_hello_answers(
    session: aiohttp.ClientSession, url: str, body: Any
) -> tuple[int, dict[str, Any]]:
    """Send the hostile request and `{ hello }` together; both must be answered."""
    hostile = asyncio.ensure_future(post_json(session, url, body))
    status, answer, _ = await post_json(session, url, {"query": HELLO})
    assert (status, answer) == (200, {"data": {"hello": "👋"}})
    hostile_status, hostile_answer, _ = await hostile
    return hostile_status, hostile_answer


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"errors"}, body
    (error,) = body["errors"]
    return dict(error)


async def test_ten_thousand_root_aliases_are_refused(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    status, body = await refused_while_hello_answers(
        session, backend.graphql_url, {"query": alias_query(10_000)}
    )
    assert status == 400
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert "the limit is 65,536" in error["message"]
    status, body = await refused_while_hello_answers(
        session, backend.graphql_url, {"query": alias_query(5_000)}
    )
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "more than 10,000 tokens" in error["message"]
    status, body = await refused_while_hello_answers(
        session, backend.graphql_url, {"query": alias_query(3_000)}
    )
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "3000 root fields" in error["message"]
    assert "the limit is 100" in error["message"]


async def test_a_hundred_root_aliases_are_served(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    status, body, _ = await post_json(session, backend.graphql_url, {"query": alias_query(100)})
    assert status == 200
    assert len(body["data"]) == 100


async def test_fragment_fan_out_is_refused_by_its_cost(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    query = fan_out_query(levels=3, width=10)
    assert len(query) < 1200  # an 801-byte-class request
    status, body = await refused_while_hello_answers(session, backend.graphql_url, {"query": query})
    assert status == 400
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "exceeds the limit of 2,000,000" in error["message"]
    assert "limit:" in error["message"]


async def test_fragment_fan_out_with_limits_is_refused_by_its_field_count(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    status, body = await refused_while_hello_answers(
        session, backend.graphql_url, {"query": fan_out_query(levels=3, width=20, limit=1)}
    )
    assert status == 400
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "more than 500 fields" in error["message"]


async def test_the_cost_counts_rows_and_limit_brings_it_down(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    unbounded = "{ flow { flow_runs { task_runs { logs { id message } } } } }"
    status, body, _ = await post_json(session, backend.graphql_url, {"query": unbounded})
    assert status == 400
    assert only_error(body)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    bounded = (
        "query ($n: Int) { flow { flow_runs(limit: $n) { task_runs(limit: 10) "
        "{ logs(limit: 10) { id message } } } } }"
    )
    status, body, _ = await post_json(
        session, backend.graphql_url, {"query": bounded, "variables": {"n": 10}}
    )
    assert status == 200, body
    assert len(body["data"]["flow"]) == 3


async def test_deep_selection_nesting_is_refused(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    for depth in (40, 3000):
        status, body = await refused_while_hello_answers(
            session, backend.graphql_url, {"query": nested_selection(depth)}
        )
        assert status == 400
        assert only_error(body)["extensions"]["code"] in ("QUERY_TOO_COMPLEX", "GRAPHQL_PARSE_FAILED")


async def test_a_huge_document_is_refused_before_parsing(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    query = "{ hello " + "# padding\n" * 8_000 + "}"
    status, body = await refused_while_hello_answers(session, backend.graphql_url, {"query": query})
    assert status == 400
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert "the limit is 65,536" in error["message"]


async def test_too_many_tokens_is_refused(backend: LocalBackend, session: aiohttp.ClientSession) -> None:
    query = "{ hello " + "a " * 12_000 + "}"
    status, body, _ = await post_json(session, backend.graphql_url, {"query": query})
    assert status == 400
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "split it" in error["message"]


async def test_a_body_nested_5000_deep_gets_a_json_400(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    for raw in (b"[" * 5000 + b"]" * 5000, b'{"query": "{ hello }", "variables": {"v": ' + b"[" * 5000
                + b"]" * 5000 + b"}}"):
        status, body = await refused_while_hello_answers(session, backend.graphql_url, raw)
        assert status == 400
        error = only_error(body)
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert "nested" in error["message"]


async def test_variables_nested_deeper_than_the_limit_are_refused(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    deep: Any = 1
    for _ in range(100):
        deep = [deep]
    status, body, _ = await post_json(
        session, backend.graphql_url, {"query": HELLO, "variables": {"v": deep}}
    )
    assert status == 400
    assert "nested deeper than 64 levels" in only_error(body)["message"]


async def test_body_size_limit_is_a_json_413_and_allows_prefect_sized_bodies(
    session: aiohttp.ClientSession,
) -> None:
    five_mb = "x" * (5 * 1024 * 1024 + 10)
    async with LocalBackend(None) as backend:
        # What Prefect 1.4.1 may send (a log batch or a flow registration): accepted.
        status, body, _ = await post_json(
            session, backend.graphql_url, {"query": HELLO, "variables": {"blob": five_mb}}
        )
        assert (status, body) == (200, {"data": {"hello": "👋"}})
    async with LocalBackend(None, limits=Limits(max_body_bytes=1024)) as backend:
        status, body, _ = await post_json(
            session, backend.graphql_url, {"query": HELLO, "variables": {"blob": "x" * 2000}}
        )
        assert status == 413
        error = only_error(body)
        assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        assert "1,024 bytes" in error["message"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"name": {"_regex": "(unclosed"}}, "_regex: invalid regular expression '(unclosed'"),
        ({"name": {"_iregex": "(a)\\1"}}, "_iregex: invalid regular expression"),
        ({"name": {"_similar": "abc\\"}}, "must not end with escape character"),
        ({"name": {"_like": "abc\\"}}, "LIKE pattern must not end with escape character"),
        ({"name": {"_like": "%" * 3000}}, "the _like pattern is 3,000 characters long; the limit is 2,000"),
        (
            {"scheduled_start_time": {"_gt": "0001-01-01T00:00:00+01:00"}},
            "timestamptz value out of range: '0001-01-01T00:00:00+01:00'",
        ),
        (
            {"scheduled_start_time": {"_lt": "9999-12-31T23:59:59-23:59"}},
            "timestamptz value out of range",
        ),
    ],
)
async def test_bad_filter_values_are_bad_user_input(
    backend: LocalBackend, session: aiohttp.ClientSession, where: dict[str, Any], message: str
) -> None:
    status, body, _ = await post_json(
        session,
        backend.graphql_url,
        {"query": "query ($w: flow_run_bool_exp) { flow_run(where: $w) { id } }", "variables": {"w": where}},
    )
    assert status == 200
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]
    assert body["data"] is None


async def test_like_patterns_run_as_glob_with_the_same_semantics(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    names = ["a*b", "a?b", "a[b]", "axb", "ÉCOLE-run", "x" * 89]
    await backend.insert("flow_run", [{"flow_id": F_ETL, "name": name} for name in names])
    cases = {
        "a*b": ["a*b"],
        "a?b": ["a?b"],
        "a_b": ["a*b", "a?b", "axb"],
        "a[b]": ["a[b]"],
        "a\\_b": [],
        "%_%_%_%_%_%_%Q": [],
        "%_%_%_%_%_%_%x": ["x" * 89],
    }
    for pattern, expected in cases.items():
        query = "query ($p: String) { flow_run(where: {name: {_like: $p}}, order_by: {name: asc}) { name } }"
        body_sent = {"query": query, "variables": {"p": pattern}}
        status, body, _ = await post_json(session, backend.graphql_url, body_sent)
        assert status == 200, body
        assert sorted(row["name"] for row in body["data"]["flow_run"]) == sorted(expected), pattern
    query = '{ flow_run(where: {name: {_ilike: "école%"}}) { name } }'
    status, body, _ = await post_json(session, backend.graphql_url, {"query": query})
    assert [row["name"] for row in body["data"]["flow_run"]] == ["ÉCOLE-run"]


async def test_pathological_patterns_on_long_text_still_answer(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    long_name = "a" * 100_000
    await backend.insert("flow_run", [{"flow_id": F_ETL, "name": long_name}])
    for operator, pattern in (
        ("_like", "%_%_%_%_%_%_%Q"),
        ("_ilike", "%a%a%a%a%a%a%a%a%a%a%Q"),
        ("_regex", "(a+)+$Q"),
        ("_iregex", "(a|aa)*c"),
        ("_similar", "(a|aa)*c"),
    ):
        query = f"query ($p: String) {{ flow_run(where: {{name: {{{operator}: $p}}}}) {{ id }} }}"
        status, body = await refused_while_hello_answers(
            session, backend.graphql_url, {"query": query, "variables": {"p": pattern}}
        )
        assert (status, body) == (200, {"data": {"flow_run": []}}), operator


async def test_too_many_object_relationships_in_one_row_is_not_supported(
    backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    query = "{ flow_run(limit: 1) { " + " ".join(f"f{i}: flow {{ id }}" for i in range(70)) + " } }"
    status, body, _ = await post_json(session, backend.graphql_url, {"query": query})
    assert status == 200
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "not-supported"
    assert "more than 60 object relationships" in error["message"]


async def test_mutations_pass_the_same_limits(backend: LocalBackend, session: aiohttp.ClientSession) -> None:
    project = "00000000-0000-4000-8000-00000000a002"
    mutation = "mutation { " + " ".join(
        f'd{i}: delete_project(input: {{project_id: "{project}"}}) {{ success }}' for i in range(101)
    ) + " }"
    status, body, _ = await post_json(session, backend.graphql_url, {"query": mutation})
    assert status == 400
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "101 root fields" in error["message"]
    # Nothing ran: the project is still there.
    status, body, _ = await post_json(
        session, backend.graphql_url, {"query": f'{{ project_by_pk(id: "{project}") {{ name }} }}'}
    )
    assert body == {"data": {"project_by_pk": {"name": "beta"}}}

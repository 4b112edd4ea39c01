"""What Prefect's legacy UI needs from ``flowview serve``: Apollo batches, CORS for an allowed
origin, and the built UI served from the same port with its settings.json."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from flowview_async.errors import InvalidArgumentError
from flowview_async.server.cors import UI_REQUEST_HEADERS
from flowview_async.server.http_guard import HttpPolicy
from flowview_async.server.limits import Limits
from flowview_async.server.runner import LocalBackend
from tests.server.hardening.conftest import HELLO, post_json

UI_ORIGIN = "http://localhost:8080"
WOODOO = '{ flow_run(where: {name: {_eq: "woodoo-leopard"}}) { state } }'


async def test_a_batch_is_answered_in_order_each_with_its_own_errors(
    flowview_backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    batch = [
        {"query": HELLO},
        {"query": "{ flow_run { nope } }"},
        {"query": "query Run($id: uuid!) { flow_run_by_pk(id: $id) { name } }", "operationName": "Run",
         "variables": {"id": "8e445d74-9ca6-425b-98e5-72754b7ea174"}},
        {"query": '{ flow_run(where: {id: {_eq: "abc"}}) { id } }'},
        {"variables": {}},
        {"query": WOODOO},
    ]
    status, body, _ = await post_json(session, flowview_backend.graphql_url, batch)
    assert status == 200
    assert len(body) == len(batch)
    assert body[0] == {"data": {"hello": "👋"}}
    assert body[1]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert body[2] == {"data": {"flow_run_by_pk": {"name": "woodoo-leopard"}}}
    assert body[3]["errors"][0]["extensions"]["code"] == "data-exception"
    assert body[3]["data"] is None
    assert body[4]["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert body[5] == {"data": {"flow_run": [{"state": "Success"}]}}
    # Each operation is recorded as a request of its own.
    assert [r.operation_name for r in flowview_backend.requests] == [None, None, "Run", None, None, None]


async def test_a_batch_of_one_is_an_array_of_one(
    flowview_backend: LocalBackend, session: aiohttp.ClientSession
) -> None:
    status, body, _ = await post_json(session, flowview_backend.graphql_url, [{"query": HELLO}])
    assert (status, body) == (200, [{"data": {"hello": "👋"}}])


async def test_batch_limits_size_and_total_cost(session: aiohttp.ClientSession) -> None:
    async with LocalBackend(None, limits=Limits(max_batch=3, max_cost=1_000)) as backend:
        status, body, _ = await post_json(session, backend.graphql_url, [{"query": HELLO}] * 4)
        assert status == 400
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BATCH_TOO_LARGE"
        assert "4 operations; the limit is 3" in error["message"]
        status, body, _ = await post_json(session, backend.graphql_url, [{"query": HELLO}] * 3)
        assert status == 200
        assert len(body) == 3
        # Each of these costs 601 (one list of 100 rows x 6 fields): alone each passes...
        each = {"query": "{ flow_run { id name state labels version updated } }"}
        status, body, _ = await post_json(session, backend.graphql_url, [each])
        assert (status, body) == (200, [{"data": {"flow_run": []}}])
        # ...together they exceed the limit, and nothing of the batch runs.
        status, body, _ = await post_json(session, backend.graphql_url, [each, each])
        assert status == 400
        error = body["errors"][0]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert "the batch's operations together" in error["message"]
        # An operation over the limit on its own fails alone, the others are answered.
        big = {"query": "{ flow_run { id task_runs { id } } }"}
        status, body, _ = await post_json(session, backend.graphql_url, [{"query": HELLO}, big])
        assert status == 200
        assert body[0] == {"data": {"hello": "👋"}}
        assert body[1]["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_no_cors_headers_by_default(session: aiohttp.ClientSession) -> None:
    async with LocalBackend(None) as backend:
        status, _, headers = await post_json(
            session, backend.graphql_url, {"query": HELLO}, {"Origin": UI_ORIGIN}
        )
        assert status == 200
        assert "Access-Control-Allow-Origin" not in headers
        async with session.options(backend.graphql_url, headers={
            "Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST",
        }) as preflight:
            assert preflight.status == 403
            assert "Access-Control-Allow-Origin" not in preflight.headers


async def test_preflight_from_an_allowed_origin_lists_the_ui_headers(
    session: aiohttp.ClientSession,
) -> None:
    policy = HttpPolicy(cors_origins=(UI_ORIGIN, "http://127.0.0.1:3000/"))
    async with LocalBackend(None, policy=policy) as backend:
        requested = "content-type,x-backend,x-prefect-tenant-id,x-prefect-ui,x-prefect-user-id,x-custom"
        async with session.options(backend.graphql_url, headers={
            "Origin": UI_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": requested,
        }) as preflight:
            assert 200 <= preflight.status < 300
            assert preflight.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
            assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
            allowed = {h.strip() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
            assert set(UI_REQUEST_HEADERS) <= allowed
            assert {"x-prefect-tenant-id", "apollographql-client-name", "x-custom"} <= allowed
            assert preflight.headers["Vary"] == "Origin"
        # The actual request then carries the origin back, errors included.
        for body, expected in (({"query": HELLO}, 200), ({"query": "{ nope }"}, 400)):
            status, _, headers = await post_json(session, backend.graphql_url, body, {"Origin": UI_ORIGIN})
            assert status == expected
            assert headers["Access-Control-Allow-Origin"] == UI_ORIGIN
        # The second origin was given with a trailing slash; browsers send none.
        _, _, headers = await post_json(
            session, backend.url + "/", {"query": HELLO}, {"Origin": "http://127.0.0.1:3000"}
        )
        assert headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:3000"


async def test_preflight_from_another_origin_is_refused(session: aiohttp.ClientSession) -> None:
    async with LocalBackend(None, policy=HttpPolicy(cors_origins=(UI_ORIGIN,))) as backend:
        for origin in ("http://evil.example", "http://localhost:8081", "null"):
            async with session.options(backend.graphql_url, headers={
                "Origin": origin, "Access-Control-Request-Method": "POST",
            }) as preflight:
                assert preflight.status == 403
                assert "Access-Control-Allow-Origin" not in preflight.headers
                body = await preflight.json()
                assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN_ORIGIN"
            _, _, headers = await post_json(
                session, backend.graphql_url, {"query": HELLO}, {"Origin": origin}
            )
            assert "Access-Control-Allow-Origin" not in headers


@pytest.fixture
def built_ui(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<html><body>prefect ui</body></html>")
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "app.js").write_text("console.log('ui')")
    (tmp_path.parent / "secret.txt").write_text("not for the browser")
    return tmp_path


async def test_ui_is_served_with_settings_pointing_here(
    built_ui: Path, session: aiohttp.ClientSession
) -> None:
    async with LocalBackend(ui_dir=built_ui) as backend:
        async with session.get(backend.url + "/settings.json") as response:
            assert await response.json() == {"server_url": backend.url + "/graphql", "base_url": "/"}
        async with session.get(backend.url + "/js/app.js") as response:
            assert await response.text() == "console.log('ui')"
        run_page = "/flow-run/8e445d74-9ca6-425b-98e5-72754b7ea174"
        for path in ("/", run_page, "/../secret.txt", "/%2e%2e/secret.txt"):
            async with session.get(backend.url + path) as response:
                assert response.status == 200
                assert "prefect ui" in await response.text(), path
        # GraphQL on the same port, at the root and at /graphql.
        for path in ("/", "/graphql"):
            status, body, _ = await post_json(session, backend.url + path, {"query": WOODOO})
            assert (status, body) == (200, {"data": {"flow_run": [{"state": "Success"}]}})


def test_ui_dir_without_index_is_an_invalid_argument(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match=r"no index\.html there"):
        LocalBackend(ui_dir=tmp_path)

"""The HTTP surface: endpoints, request shapes and Apollo-shaped errors, plus the docs fixture."""

from __future__ import annotations

import json

import aiohttp
import pytest

from flowview_async.server.http_guard import HttpPolicy
from flowview_async.server.runner import LocalBackend
from tests.server.conftest import GraphQL

DOC_RUN = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
WOODOO_QUERY = """query {
flow_run(where: {name: {_eq: "woodoo-leopard"}}) {
id
state
start_time
}
}"""
WOODOO_RESPONSE = {
    "data": {
        "flow_run": [
            {
                "id": "8e445d74-9ca6-425b-98e5-72754b7ea174",
                "state": "Success",
                "start_time": "2021-05-12T17:59:56.383629+00:00",
            }
        ]
    }
}


async def test_documentation_graphql_example(docs: GraphQL) -> None:
    status, body = await docs.post(WOODOO_QUERY)
    assert status == 200
    assert body == WOODOO_RESPONSE


@pytest.mark.parametrize("path", ["/", "/graphql"])
async def test_root_and_graphql_paths_answer_the_same(
    flowview_backend: LocalBackend, session: aiohttp.ClientSession, path: str
) -> None:
    body = {"query": WOODOO_QUERY, "variables": "null"}
    async with session.post(flowview_backend.url + path, json=body) as response:
        assert response.status == 200
        assert "Access-Control-Allow-Origin" not in response.headers  # no CORS unless asked for
        assert await response.json() == WOODOO_RESPONSE


async def test_get_with_query_string_when_allowed_and_health(session: aiohttp.ClientSession) -> None:
    params = {
        "query": "query ($n: String) { flow_run(where: {name: {_eq: $n}}) { id } }",
        "variables": json.dumps({"n": "woodoo-leopard"}),
    }
    async with LocalBackend(policy=HttpPolicy(allow_get=True)) as backend, session.get(
        backend.graphql_url, params=params
    ) as response:
        assert await response.json() == {
            "data": {"flow_run": [{"id": "8e445d74-9ca6-425b-98e5-72754b7ea174"}]}
        }
    async with LocalBackend() as backend, session.get(backend.graphql_url, params=params) as refused:
        assert refused.status == 405
        body = await refused.json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "--allow-get" in body["errors"][0]["message"]
    async with LocalBackend(None) as backend, session.get(
        backend.url + "/.well-known/apollo/server-health"
    ) as health:
        assert health.status == 200
        assert await health.json() == {"status": "pass"}


async def test_requests_are_recorded_with_operation_name_and_status(
    flowview_backend: LocalBackend, docs: GraphQL
) -> None:
    await docs.post("query One { hello }")
    await docs.post(
        "query Two($id: uuid!) { flow_run_by_pk(id: $id) { id } }", {"id": DOC_RUN}, operationName="Two"
    )
    await docs.post("{ nope }")
    served = flowview_backend.requests
    assert [(r.operation_name, r.status) for r in served] == [("One", 200), ("Two", 200), (None, 400)]
    assert served[1].variables == {"id": DOC_RUN}
    assert served[0].query == "query One { hello }"
    assert flowview_backend.max_in_flight == 1
    flowview_backend.clear_requests()
    assert flowview_backend.requests == []


@pytest.mark.parametrize(
    ("query", "variables", "code", "message"),
    [
        (
            "{ flow_run { nonexistent_field } }",
            None,
            "GRAPHQL_VALIDATION_FAILED",
            'Cannot query field "nonexistent_field" on type "flow_run".',
        ),
        ('{ flow_run(where: {status: {_eq: "x"}}) { id } }', None, "GRAPHQL_VALIDATION_FAILED", "status"),
        ('{ flow_run(limit: "ten") { id } }', None, "GRAPHQL_VALIDATION_FAILED", "Int"),
        ("{ flow_run(order_by: {name: descending}) { id } }", None, "GRAPHQL_VALIDATION_FAILED", "order_by"),
        (
            "query ($limit: Int) { flow_run(limit: $limit) { id } }",
            {"limit": "abc"},
            "BAD_USER_INPUT",
            "$limit",
        ),
        (
            "query ($id: uuid!) { flow_run_by_pk(id: $id) { id } }",
            {},
            "INTERNAL_SERVER_ERROR",
            "was not provided",
        ),
        ("{ flow_run { id ", None, "GRAPHQL_PARSE_FAILED", "Syntax Error"),
        (
            "query Deep { flow_run { task_runs { task { flow { project { flows { flow_group "
            "{ flows { id } } } } } } } } }",
            None,
            "GRAPHQL_VALIDATION_FAILED",
            "'Deep' exceeds maximum operation depth of 7",
        ),
    ],
)
async def test_request_errors_are_http_400_with_a_code(
    docs: GraphQL, query: str, variables: object, code: str, message: str
) -> None:
    status, body = await docs.post(query, variables)
    assert status == 400
    assert set(body) == {"errors"}
    error = body["errors"][0]
    assert error["extensions"]["code"] == code
    assert message in error["message"]


async def test_depth_seven_is_allowed(docs: GraphQL) -> None:
    data = await docs.data(
        "{ flow_run(limit: 1) { task_runs(limit: 1) { task { flow { project { flows(limit: 1) "
        "{ flow_group { id } } } } } } } }"
    )
    assert data["flow_run"][0]["task_runs"][0]["task"]["flow"]["project"]["flows"]


async def test_validation_error_carries_locations(docs: GraphQL) -> None:
    _, body = await docs.post("{\n  flow_run {\n    nope\n  }\n}")
    assert body["errors"][0]["locations"] == [{"line": 3, "column": 5}]


@pytest.mark.parametrize(
    "raw_body",
    [b"not json", b"[]", b'{"variables": {}}', b'{"query": "{ hello }", "variables": "{oops"}'],
)
async def test_malformed_bodies_are_rejected(
    flowview_backend: LocalBackend, session: aiohttp.ClientSession, raw_body: bytes
) -> None:
    async with session.post(
        flowview_backend.graphql_url, data=raw_body, headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        body = await response.json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_bad_uuid_literal_is_a_data_exception_with_null_data(docs: GraphQL) -> None:
    status, body = await docs.post('{ flow_run(where: {id: {_eq: "abc"}}) { id } hello }')
    assert status == 200
    assert body["data"] is None
    error = body["errors"][0]
    assert error["message"] == 'invalid input syntax for type uuid: "abc"'
    assert error["path"] == ["flow_run"]
    assert error["extensions"]["code"] == "data-exception"


async def test_bad_timestamp_literal_is_a_data_exception(docs: GraphQL) -> None:
    _, body = await docs.post('{ log(where: {timestamp: {_gt: "yesterday"}}) { id } }')
    assert "timestamp with time zone" in body["errors"][0]["message"]


async def test_introspection_shows_the_real_type_names(docs: GraphQL) -> None:
    data = await docs.data(
        '{ __schema { queryType { name } } t: __type(name: "flow_run_bool_exp") { name '
        "inputFields { name } } }"
    )
    assert data["__schema"]["queryType"]["name"] == "Query"
    fields = {field["name"] for field in data["t"]["inputFields"]}
    assert {"_and", "_or", "_not", "task_runs", "flow", "labels"} <= fields


async def test_documentation_flow_run_as_prefect_queries_it(docs: GraphQL) -> None:
    query = (
        'query {\n    flow_run(where: { id: { _eq: "' + DOC_RUN + '" } }) {\n        id\n'
        "        name\n        flow_id\n        serialized_state\n        states {\n"
        "            timestamp\n            serialized_state\n        }\n        labels\n"
        "        parameters\n        context\n        updated\n        run_config\n    }\n}"
    )
    status, body = await docs.post(query, "null")
    assert status == 200
    (run,) = body["data"]["flow_run"]
    assert run["serialized_state"]["type"] == "Success"
    assert run["serialized_state"]["message"] == "All reference tasks succeeded."
    assert [s["serialized_state"]["type"] for s in run["states"]] == [
        "Scheduled",
        "Submitted",
        "Running",
        "Success",
    ]
    assert run["flow_id"] == "8bdcf5b5-7598-49d1-a885-61612ca550de"
    assert run["run_config"]["type"] == "UniversalRun"


async def test_documentation_logs_and_task_run_ids(docs: GraphQL) -> None:
    data = await docs.data(
        'query { flow_run(where: { id: { _eq: "' + DOC_RUN + '" } }) { logs(order_by: '
        '{ timestamp: asc }, where: { _and: [{ timestamp: { _lte: "1978-04-12T23:00:00.5+00:00" '
        "} }, {}] }) { timestamp message level } } "
        'task_run(where: { flow_run_id: { _eq: "' + DOC_RUN + '" } }) { id } }'
    )
    logs = data["flow_run"][0]["logs"]
    assert [log["timestamp"] for log in logs] == [
        "1978-03-08T22:30:00+00:00",
        "1978-03-08T22:30:01.123456+00:00",
        "1978-03-08T22:30:02.234567+00:00",
        "1978-03-08T22:42:42.424242+00:00",
        "1978-04-12T22:59:59.987654+00:00",
        "1978-04-12T23:00:00+00:00",
    ]
    assert logs[1]["message"] == "Beginning Flow run for 'radio_show'"
    assert {log["level"] for log in logs} == {"INFO"}
    assert [row["id"] for row in data["task_run"]] == [
        "c8751f34-9d5e-4ea7-aead-8b50978dabb7",
        "f5f422f6-4f56-45d2-bd55-5ea048070d84",
        "7cc167d3-737d-4187-85d8-d5e5a75fbd93",
    ]


async def test_object_relationships_nest_to_the_depth_limit(docs: GraphQL) -> None:
    data = await docs.data(
        '{ task_run(where: {id: {_eq: "c8751f34-9d5e-4ea7-aead-8b50978dabb7"}}) { task { flow '
        "{ project { flows(order_by: {name: asc}) { flow_group { flows { name } } } } } } } }"
    )
    flows = data["task_run"][0]["task"]["flow"]["project"]["flows"]
    assert [f["flow_group"]["flows"][0]["name"] for f in flows] == ["greet-many", "hello-world"]


async def test_too_many_nested_arrays_is_a_clear_error(docs: GraphQL) -> None:
    status, body = await docs.post(
        "{ project(limit: 1) { flows(limit: 1) { flow_runs(limit: 1) { task_runs(limit: 1) { task "
        "{ task_runs(limit: 1) { states { id } } } } } } } }"
    )
    assert status == 200
    assert body["errors"][0]["extensions"]["code"] == "not-supported"
    assert "split it" in body["errors"][0]["message"]

"""Hasura semantics of the local backend, checked row by row over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import GraphQL
from tests.server.datasets import R1, R3, T_A

ALL = ["alpha-run", "Beta_run", "gamma%run", None]


async def run_names(ops: GraphQL, where: Any, **arguments: Any) -> list[str | None]:
    query = """
        query Runs($where: flow_run_bool_exp, $order_by: [flow_run_order_by!],
                   $limit: Int, $offset: Int) {
          flow_run(where: $where, order_by: $order_by, limit: $limit, offset: $offset) { name }
        }"""
    data = await ops.data(query, {"where": where, **arguments})
    return [row["name"] for row in data["flow_run"]]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({}, ALL),
        ({"name": {"_eq": "Beta_run"}}, ["Beta_run"]),
        ({"name": {"_neq": "Beta_run"}}, ["alpha-run", "gamma%run"]),  # NULL never matches
        ({"version": {"_gt": 2}}, ["alpha-run", "Beta_run"]),
        ({"version": {"_gte": 2}}, ["alpha-run", "Beta_run", "gamma%run"]),
        ({"version": {"_lt": 2}}, [None]),
        ({"version": {"_lte": 2}}, ["gamma%run", None]),
        ({"state": {"_in": ["Failed", "Running"]}}, ["Beta_run", "gamma%run"]),
        ({"state": {"_nin": ["Failed", "Running"]}}, ["alpha-run", None]),
        ({"state": {"_in": []}}, []),
        ({"state": {"_nin": []}}, ALL),
        ({"name": {"_is_null": True}}, [None]),
        ({"name": {"_is_null": False}}, ["alpha-run", "Beta_run", "gamma%run"]),
        ({"start_time": {"_is_null": True}}, ["Beta_run"]),
        ({"name": {"_like": "%run"}}, ["alpha-run", "Beta_run", "gamma%run"]),
        ({"name": {"_like": "beta%"}}, []),  # LIKE is case sensitive
        ({"name": {"_ilike": "beta%"}}, ["Beta_run"]),
        ({"name": {"_like": "%\\%%"}}, ["gamma%run"]),  # backslash escapes the wildcard
        ({"name": {"_like": "B_ta\\_run"}}, ["Beta_run"]),
        ({"name": {"_nlike": "%a-%"}}, ["Beta_run", "gamma%run"]),
        ({"name": {"_nilike": "%RUN"}}, []),
        ({"name": {"_similar": "(alpha|gamma)%"}}, ["alpha-run", "gamma%run"]),
        ({"name": {"_nsimilar": "(alpha|gamma)%"}}, ["Beta_run"]),
        ({"name": {"_regex": "^[a-z]+-run$"}}, ["alpha-run"]),
        ({"name": {"_iregex": "^beta"}}, ["Beta_run"]),
        ({"name": {"_nregex": "run$"}}, []),
        ({"name": {"_niregex": "^B"}}, ["alpha-run", "gamma%run"]),
        ({"labels": {"_contains": ["dev"]}}, ["alpha-run", None]),
        ({"labels": {"_contains": "dev"}}, ["alpha-run", None]),  # a bare element, as Postgres
        ({"labels": {"_eq": []}}, ["gamma%run"]),
        ({"labels": {"_contained_in": ["dev", "x", "y"]}}, ["alpha-run", "gamma%run", None]),
        ({"parameters": {"_contains": {"n": 1}}}, ["alpha-run"]),
        ({"parameters": {"_has_key": "tags"}}, ["alpha-run"]),
        ({"parameters": {"_has_keys_any": ["tags", "n"]}}, ["alpha-run", "Beta_run"]),
        ({"parameters": {"_has_keys_all": ["tags", "n"]}}, ["alpha-run"]),
        ({"parameters": {"_is_null": True}}, ["gamma%run"]),
        # timestamps compare as instants, whatever offset they were written with
        ({"scheduled_start_time": {"_eq": "2021-01-03T00:00:00Z"}}, ["gamma%run"]),
        ({"scheduled_start_time": {"_gte": "2021-01-02T01:00:00+01:00"}}, ["Beta_run", "gamma%run", None]),
        ({"start_time": {"_lt": "2021-01-03T00:00:05.500001+00:00"}}, ["alpha-run", "gamma%run"]),
        ({"start_time": {"_lte": "2021-01-03T00:00:05.5+00:00"}}, ["alpha-run", "gamma%run"]),
        ({"id": {"_eq": R3.upper()}}, ["gamma%run"]),
        ({"id": {"_in": [R1, R3]}}, ["alpha-run", "gamma%run"]),
        ({"auto_scheduled": {"_eq": False}}, ALL),
        ({"_and": [{"state": {"_eq": "Success"}}, {"labels": {"_contains": ["x"]}}]}, ["alpha-run"]),
        ({"_or": [{"state": {"_eq": "Failed"}}, {"name": {"_is_null": True}}]}, ["Beta_run", None]),
        ({"_not": {"state": {"_eq": "Success"}}}, ["Beta_run", "gamma%run"]),
        ({"_and": []}, ALL),
        ({"_or": []}, []),
        ({"_and": [{"version": {"_gt": 1}}, {}]}, ["alpha-run", "Beta_run", "gamma%run"]),
        # null comparisons are dropped (HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE)
        ({"name": {"_eq": None}}, ALL),
        # relationships: object, nested object, array ("exists")
        ({"flow": {"name": {"_eq": "report"}}}, ["Beta_run"]),
        ({"flow": {"project": {"name": {"_eq": "alpha"}}}}, ["alpha-run", "gamma%run", None]),
        ({"flow": {"archived": {"_eq": True}}}, [None]),
        ({"task_runs": {"map_index": {"_eq": 1}}}, ["gamma%run"]),
        ({"task_runs": {"task": {"slug": {"_eq": "b-1"}}}}, ["alpha-run"]),
        ({"logs": {"level": {"_eq": "ERROR"}}}, ["alpha-run"]),
        ({"_not": {"task_runs": {}}}, [None]),
    ],
)
async def test_where_operators(ops: GraphQL, where: Any, expected: list[str | None]) -> None:
    assert await run_names(ops, where) == expected


async def test_prefect_style_inline_arguments_and_string_variables(ops: GraphQL) -> None:
    # Exactly how Prefect 1.4.1 sends it: arguments inlined, "variables" the string "null".
    query = (
        'query {\n    task_run(where: { task: { slug: { _eq: "a-1" } }, flow_run_id: { _eq: "'
        + R3
        + '" }, map_index: { _neq: -1 } }, order_by: { map_index: asc }) {\n        id\n'
        "        map_index\n        task {\n            id\n            slug\n        }\n    }\n}"
    )
    status, body = await ops.post(query, "null")
    assert status == 200
    assert body == {
        "data": {
            "task_run": [
                {
                    "id": "00000000-0000-4000-8000-00000000f005",
                    "map_index": 0,
                    "task": {"id": T_A, "slug": "a-1"},
                },
                {
                    "id": "00000000-0000-4000-8000-00000000f006",
                    "map_index": 1,
                    "task": {"id": T_A, "slug": "a-1"},
                },
            ]
        }
    }


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ({"name": "asc"}, ["Beta_run", "alpha-run", "gamma%run", None]),  # nulls last
        ({"name": "desc"}, [None, "gamma%run", "alpha-run", "Beta_run"]),  # nulls first
        ({"name": "asc_nulls_first"}, [None, "Beta_run", "alpha-run", "gamma%run"]),
        ({"name": "desc_nulls_last"}, ["gamma%run", "alpha-run", "Beta_run", None]),
        ({"start_time": "desc"}, ["Beta_run", None, "gamma%run", "alpha-run"]),
        ([{"state": "desc"}, {"version": "asc"}], [None, "alpha-run", "gamma%run", "Beta_run"]),
        # several keys in one object sort in the order written
        ({"state": "desc", "version": "asc"}, [None, "alpha-run", "gamma%run", "Beta_run"]),
        ({"version": "asc", "state": "desc"}, [None, "gamma%run", "alpha-run", "Beta_run"]),
        # through object relationships, nested
        ([{"flow": {"name": "asc"}}, {"version": "desc"}], [None, "alpha-run", "gamma%run", "Beta_run"]),
        (
            [{"flow": {"project": {"name": "desc"}}}, {"name": "asc"}],
            ["Beta_run", "alpha-run", "gamma%run", None],
        ),
        # by an aggregate of an array relationship
        (
            [{"task_runs_aggregate": {"count": "desc"}}, {"name": "asc"}],
            ["gamma%run", "alpha-run", "Beta_run", None],
        ),
        (
            [{"logs_aggregate": {"max": {"timestamp": "asc_nulls_last"}}}, {"name": "desc"}],
            ["alpha-run", "Beta_run", None, "gamma%run"],
        ),
    ],
)
async def test_order_by(ops: GraphQL, order_by: Any, expected: list[str | None]) -> None:
    assert await run_names(ops, None, order_by=order_by) == expected


async def test_inline_order_by_object_keeps_written_key_order(ops: GraphQL) -> None:
    first = await ops.data("{ flow_run(order_by: {version: asc, state: desc}) { name } }")
    second = await ops.data("{ flow_run(order_by: {state: desc, version: asc}) { name } }")
    assert [r["name"] for r in first["flow_run"]] == [None, "gamma%run", "alpha-run", "Beta_run"]
    assert [r["name"] for r in second["flow_run"]] == [None, "alpha-run", "gamma%run", "Beta_run"]


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (2, None, ["Beta_run", "alpha-run"]),
        (2, 2, ["gamma%run", None]),
        (None, 3, [None]),
        (10, 4, []),
        (0, None, []),
    ],
)
async def test_limit_and_offset(
    ops: GraphQL, limit: int | None, offset: int | None, expected: list[str | None]
) -> None:
    names = await run_names(ops, None, order_by={"name": "asc"}, limit=limit, offset=offset)
    assert names == expected


async def test_without_order_by_rows_come_in_insertion_order(ops: GraphQL) -> None:
    assert await run_names(ops, None) == ALL


async def test_negative_limit_is_an_execution_error(ops: GraphQL) -> None:
    status, body = await ops.post("{ flow_run(limit: -1) { name } }")
    assert status == 200
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "validation-failed"
    assert "negative" in body["errors"][0]["message"]


async def test_distinct_on_keeps_the_first_row_of_each_group(ops: GraphQL) -> None:
    data = await ops.data(
        "{ task_run(distinct_on: [flow_run_id], order_by: [{flow_run_id: asc}, "
        "{map_index: desc}]) { id map_index } }"
    )
    assert [(r["id"][-3:], r["map_index"]) for r in data["task_run"]] == [
        ("001", -1),
        ("003", -1),
        ("006", 1),
    ]
    plain = await ops.data("{ task_run(distinct_on: task_id) { task { slug } } }")
    assert [r["task"]["slug"] for r in plain["task_run"]] == ["a-1", "b-1", "c-1"]


async def test_distinct_on_must_lead_order_by(ops: GraphQL) -> None:
    status, body = await ops.post(
        "{ task_run(distinct_on: [flow_run_id], order_by: [{map_index: asc}]) { id } }"
    )
    assert status == 200
    assert body["data"] is None
    assert "distinct_on" in body["errors"][0]["message"]


async def test_by_pk_found_and_missing(ops: GraphQL) -> None:
    data = await ops.data(
        'query { hit: flow_run_by_pk(id: "' + R1 + '") { name flow { name } } '
        'miss: flow_run_by_pk(id: "00000000-0000-4000-8000-000000000000") { name } }'
    )
    assert data == {"hit": {"name": "alpha-run", "flow": {"name": "etl"}}, "miss": None}


async def test_array_relationships_take_their_own_arguments(ops: GraphQL) -> None:
    data = await ops.data(
        """query ($id: uuid!) {
          flow_run_by_pk(id: $id) {
            logs(order_by: {timestamp: asc}, limit: 2, offset: 1) { message }
            errors: logs(where: {level: {_eq: "ERROR"}}) { message level }
            task_runs(order_by: {task: {slug: desc}}) { task { slug } }
            newest: logs(order_by: {timestamp: desc}, limit: 1) { timestamp }
          }
        }""",
        {"id": R1},
    )
    run = data["flow_run_by_pk"]
    assert [log["message"] for log in run["logs"]] == ["second", "third"]
    assert run["errors"] == [{"message": "second", "level": "ERROR"}]
    assert [t["task"]["slug"] for t in run["task_runs"]] == ["b-1", "a-1"]
    assert run["newest"] == [{"timestamp": "2021-01-01T00:00:04+00:00"}]


async def test_aggregates(ops: GraphQL) -> None:
    data = await ops.data(
        """{
          flow_run_aggregate(where: {state: {_neq: "Failed"}}) {
            aggregate {
              count
              distinct_states: count(columns: [state], distinct: true)
              names: count(columns: [name])
              sum { version } avg { version } max { version start_time name } min { version }
              stddev { version } var_pop { version }
            }
            nodes { name }
          }
          task_run_aggregate(where: {map_index: {_neq: -1}}) { aggregate { count } }
          flow_by_pk(id: "00000000-0000-4000-8000-00000000c001") {
            flow_runs_aggregate(where: {state: {_eq: "Running"}}) {
              aggregate { count max { start_time } }
            }
          }
        }"""
    )
    aggregate = data["flow_run_aggregate"]["aggregate"]
    assert aggregate["count"] == 3
    assert aggregate["distinct_states"] == 2
    assert aggregate["names"] == 2
    assert aggregate["sum"] == {"version": 6}
    assert aggregate["avg"] == {"version": 2.0}
    assert aggregate["max"] == {
        "version": 3,
        "start_time": "2021-01-04T00:00:02+00:00",
        "name": "gamma%run",
    }
    assert aggregate["min"] == {"version": 1}
    assert aggregate["stddev"]["version"] == pytest.approx(1.0)
    assert aggregate["var_pop"]["version"] == pytest.approx(2 / 3)
    assert [n["name"] for n in data["flow_run_aggregate"]["nodes"]] == [
        "alpha-run",
        "gamma%run",
        None,
    ]
    assert data["task_run_aggregate"] == {"aggregate": {"count": 2}}
    assert data["flow_by_pk"]["flow_runs_aggregate"]["aggregate"] == {
        "count": 1,
        "max": {"start_time": "2021-01-03T00:00:05.5+00:00"},
    }


async def test_aggregate_respects_limit(ops: GraphQL) -> None:
    data = await ops.data(
        "{ log_aggregate(order_by: {timestamp: asc}, limit: 2) { aggregate { count } nodes { message } } }"
    )
    assert data["log_aggregate"] == {
        "aggregate": {"count": 2},
        "nodes": [{"message": "first"}, {"message": "second"}],
    }


async def test_aliases_fragments_typename_directives_and_json_paths(ops: GraphQL) -> None:
    data = await ops.data(
        """
        query Q($skip: Boolean!) {
          first: flow_run(where: {name: {_eq: "alpha-run"}}) {
            ...RunFields
            __typename
            n: parameters(path: "n")
            tags: parameters(path: "$.tags[0]")
            state @skip(if: $skip)
            ... on flow_run { flow { __typename name } }
          }
        }
        fragment RunFields on flow_run { id labels }
        """,
        {"skip": True},
    )
    assert data == {
        "first": [
            {
                "id": R1,
                "labels": ["dev", "x"],
                "__typename": "flow_run",
                "n": 1,
                "tags": "a",
                "flow": {"__typename": "flow", "name": "etl"},
            }
        ]
    }


async def test_python_layer_fields(ops: GraphQL) -> None:
    parent = "00000000-0000-4000-8000-00000000f004"
    data = await ops.data(
        "query ($id: UUID!) { hello api { backend core_version } "
        "reference_data { state_hierarchy } mapped_children(task_run_id: $id) { state_counts } "
        "get_task_run_info(task_run_id: $id) { id state version } }",
        {"id": parent},
    )
    assert data["hello"] == "👋"
    assert data["api"] == {"backend": "SERVER", "core_version": "1.4.1"}
    assert data["reference_data"]["state_hierarchy"]["Mapped"][0] == "Success"
    assert data["mapped_children"] == {"state_counts": {"Success": 1, "Running": 1}}
    assert data["get_task_run_info"] == {"id": parent, "state": "Mapped", "version": 1}


async def test_get_task_run_info_of_unknown_run_is_an_error(ops: GraphQL) -> None:
    status, body = await ops.post(
        '{ get_task_run_info(task_run_id: "00000000-0000-4000-8000-000000000000") { id } }'
    )
    assert status == 200
    assert body["data"] == {"get_task_run_info": None}
    assert body["errors"][0]["message"] == "Invalid task run ID"


async def test_task_graph_traversal_functions(docs: GraphQL) -> None:
    say_hello, say_goodbye = (
        "34b0dd2d-582e-4f0a-923d-63daf1e38fe5",
        "b5e7f901-2c4d-4e6f-9a8b-0c1d2e3f4a51",
    )
    data = await docs.data(
        "query ($down: _uuid, $up: _uuid) {"
        " down: utility_downstream_tasks(args: {start_task_ids: $down},"
        "  order_by: {depth: asc}) { depth task { slug } }"
        " up: utility_upstream_tasks(args: {start_task_ids: $up, depth_limit: 1}) { depth }"
        " count: utility_downstream_tasks_aggregate(args: {start_task_ids: $down},"
        "  where: {depth: {_gt: 0}}) { aggregate { count } } }",
        {"down": "{" + say_hello + "}", "up": "{" + say_goodbye + "}"},
    )
    assert data["down"] == [
        {"depth": 0, "task": {"slug": "say_hello-1"}},
        {"depth": 1, "task": {"slug": "series_one-1"}},
        {"depth": 2, "task": {"slug": "say_goodbye-1"}},
    ]
    assert data["up"] == [{"depth": 0}, {"depth": 1}]
    assert data["count"] == {"aggregate": {"count": 2}}
    status, body = await docs.post(
        '{ utility_downstream_tasks(args: {start_task_ids: "not-an-array"}) { depth } }'
    )
    assert status == 200
    assert body["errors"][0]["message"] == 'malformed array literal: "not-an-array"'

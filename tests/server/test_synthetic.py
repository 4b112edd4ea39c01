"""Synthetic data sets for benchmarks: shape, determinism, and that they are queryable."""

from __future__ import annotations

import aiohttp
import pytest

from flowview_async.errors import InvalidArgumentError
from flowview_async.server.runner import LocalBackend
from flowview_async.server.synthetic import MAP_WIDTH, parse_synthetic_spec
from tests.server.conftest import GraphQL


async def test_shape_and_queries(session: aiohttp.ClientSession) -> None:
    async with LocalBackend(None) as backend:
        run_ids = await backend.seed_synthetic(flow_runs=3, task_runs=5, logs=4, seed=11)
        graphql = GraphQL(session, backend.graphql_url)
        data = await graphql.data(
            """query ($id: uuid!) {
              flow_run_aggregate { aggregate { count } }
              task_run_aggregate { aggregate { count } }
              log_aggregate { aggregate { count } }
              run: flow_run_by_pk(id: $id) {
                name state start_time end_time
                states(order_by: {version: asc}) { state }
                parents: task_runs_aggregate(where: {map_index: {_eq: -1}}) {
                  aggregate { count }
                }
                mapped: task_runs(where: {task: {mapped: {_eq: true}}},
                                  order_by: {map_index: asc}) { map_index state }
                logs(order_by: {timestamp: asc}, limit: 2) { timestamp level message }
              }
            }""",
            {"id": run_ids[1]},
        )
    per_run = 5 + MAP_WIDTH  # task_3-1 is mapped
    assert data["flow_run_aggregate"]["aggregate"]["count"] == 3
    assert data["task_run_aggregate"]["aggregate"]["count"] == 3 * per_run
    assert data["log_aggregate"]["aggregate"]["count"] == 3 * 5 * 4
    run = data["run"]
    assert run["name"] == "synthetic-run-000001"
    assert run["state"] == "Success"
    assert run["start_time"] < run["end_time"]
    assert [s["state"] for s in run["states"]] == ["Scheduled", "Running", "Success"]
    assert run["parents"]["aggregate"]["count"] == 5
    assert run["mapped"] == [
        {"map_index": -1, "state": "Mapped"},
        *({"map_index": index, "state": "Success"} for index in range(MAP_WIDTH)),
    ]
    assert [log["message"] for log in run["logs"]] == [
        "Task 'task_0': synthetic log line 0",
        "Task 'task_0': synthetic log line 1",
    ]
    assert run["logs"][0]["timestamp"] < run["logs"][1]["timestamp"]


async def test_same_seed_same_ids_and_seeds_coexist() -> None:
    async with LocalBackend(None) as first, LocalBackend(None) as second:
        ids = await first.seed_synthetic(flow_runs=2, task_runs=2, logs=1, seed=3)
        assert await second.seed_synthetic(flow_runs=2, task_runs=2, logs=1, seed=3) == ids
        other = await first.seed_synthetic(flow_runs=2, task_runs=2, logs=1, seed=4)
        assert set(other).isdisjoint(ids)


async def test_bad_arguments() -> None:
    async with LocalBackend(None) as backend:
        with pytest.raises(InvalidArgumentError, match="flow_runs must be a whole number"):
            await backend.seed_synthetic(flow_runs=-1, task_runs=1, logs=1)
    assert parse_synthetic_spec("100x10x1000") == (100, 10, 1000)
    with pytest.raises(InvalidArgumentError, match="RUNSxTASKSxLOGS"):
        parse_synthetic_spec("100x10")

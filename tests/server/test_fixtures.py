"""Fixture loading: validation with clear errors, all-or-nothing, defaults, state sync."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from flowview_async.errors import (
    FixtureError,
    FlowRunNotFoundError,
    InvalidArgumentError,
    UsageError,
)
from flowview_async.server import shipped_fixture_names, shipped_fixture_path
from flowview_async.server.runner import LocalBackend
from tests.server.conftest import GraphQL
from tests.server.datasets import F_ETL, OPERATORS_FIXTURE, R1, T_A

PROJECT = "00000000-0000-4000-8000-000000000001"
GROUP = "00000000-0000-4000-8000-000000000002"
FLOW = "00000000-0000-4000-8000-000000000003"
RUN = "00000000-0000-4000-8000-000000000004"
TASK = "00000000-0000-4000-8000-000000000005"
TASK_RUN = "00000000-0000-4000-8000-000000000006"


def minimal(**extra_tables: list[dict[str, Any]]) -> dict[str, Any]:
    fixture: dict[str, Any] = {
        "project": [{"id": PROJECT, "name": "p"}],
        "flow_group": [{"id": GROUP}],
        "flow": [{"id": FLOW, "name": "f", "project_id": PROJECT, "flow_group_id": GROUP}],
    }
    fixture.update(extra_tables)
    return fixture


async def count_rows(backend: LocalBackend) -> dict[str, int]:
    counts = {}
    for table in ("project", "flow_group", "flow", "flow_run", "task_run", "log"):
        rows = await backend.database.fetch_all(f'SELECT count(*) FROM "{table}"')
        counts[table] = rows[0][0]
    return counts


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.update({"flows": []}), "fixture table 'flows' is not a Prefect Server table"),
        (lambda f: f.update({"flow": {"id": FLOW}}), "fixture table 'flow' must be a list"),
        (lambda f: f["flow"].append("nope"), "flow[1]: a row must be a JSON object"),
        (lambda f: f["flow"][0].update({"colour": "red"}), "flow[0].colour: flow has no column"),
        (
            lambda f: f["flow"][0].update({"version": "one"}),
            "flow[0].version: invalid input syntax for type integer",
        ),
        (
            lambda f: f["flow"][0].update({"archived": "yes"}),
            "flow[0].archived: invalid input syntax for type boolean",
        ),
        (
            lambda f: f["flow"][0].update({"id": "not-a-uuid"}),
            "flow[0].id: invalid input syntax for type uuid",
        ),
        (
            lambda f: f["flow"][0].update({"created": "yesterday"}),
            "flow[0].created: invalid input syntax for type timestamp with time zone",
        ),
        (lambda f: f["flow"][0].pop("name"), "flow[0].name: this column is required"),
        (
            lambda f: f["flow"][0].update({"project_id": "00000000-0000-4000-8000-0000000000ff"}),
            "flow[0].project_id: no project has id 00000000-0000-4000-8000-0000000000ff",
        ),
        (
            lambda f: f["flow"].append(dict(f["flow"][0])),
            "flow[1].id: id " + FLOW + " is already used by flow[0]",
        ),
        (
            lambda f: f.update({"log": [{"flow_run_id": RUN}]}),
            "log[0].flow_run_id: no flow_run has id " + RUN,
        ),
        (
            lambda f: f.update({"flow_run_state": [{"flow_run_id": RUN}]}),
            "flow_run_state[0].serialized_state: a state row needs serialized_state",
        ),
        (
            lambda f: f.update({"flow_run": [{"flow_id": FLOW, "state": "Crashed"}]}),
            "flow_run[0].state: 'Crashed' is not a Prefect 1 state class name",
        ),
        (
            lambda f: f.update(
                {"flow_run": [{"flow_id": FLOW, "state": "Failed", "serialized_state": {"type": "Success"}}]}
            ),
            "flow_run[0].state: state 'Failed' disagrees with serialized_state type 'Success'",
        ),
    ],
)
async def test_bad_fixtures_are_refused_and_nothing_is_loaded(mutate: Any, message: str) -> None:
    fixture = minimal()
    mutate(fixture)
    async with LocalBackend(None) as backend:
        with pytest.raises(FixtureError) as caught:
            await backend.load(fixture)
        assert message in str(caught.value)
        assert await count_rows(backend) == dict.fromkeys(
            ("project", "flow_group", "flow", "flow_run", "task_run", "log"), 0
        )


async def test_a_late_error_rolls_back_earlier_tables(tmp_path: Path) -> None:
    # The dangling key is in the last table inserted; the earlier tables must not stay behind.
    fixture = copy.deepcopy(OPERATORS_FIXTURE)
    fixture["log"].append({"task_run_id": "00000000-0000-4000-8000-0000000000aa"})
    async with LocalBackend(None, db_path=tmp_path / "db.sqlite") as backend:
        with pytest.raises(FixtureError, match=r"log\[5\]\.task_run_id"):
            await backend.load(fixture)
        assert set((await count_rows(backend)).values()) == {0}


async def test_starting_with_a_bad_fixture_raises_and_frees_the_port() -> None:
    with pytest.raises(FixtureError, match="no shipped fixture named 'no-such-fixture'"):
        async with LocalBackend("no-such-fixture"):
            pass


async def test_fixture_files_and_shipped_names(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(minimal()))
    async with LocalBackend(path) as backend:
        assert (await count_rows(backend))["flow"] == 1
    assert "inspecting-flow-runs" in shipped_fixture_names()
    assert shipped_fixture_path("inspecting-flow-runs").is_file()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(FixtureError, match="is not valid JSON"):
        async with LocalBackend(broken):
            pass
    with pytest.raises(FixtureError, match="cannot read fixture file"):
        async with LocalBackend(tmp_path / "missing.json"):
            pass


async def test_defaults_fill_omitted_columns(ops_backend: LocalBackend, ops: GraphQL) -> None:
    data = await ops.data(
        "query ($id: uuid!) { flow_by_pk(id: $id) { archived settings parameters "
        "is_schedule_active created updated } task_run(limit: 1) { map_index version } }",
        {"id": F_ETL},
    )
    flow = data["flow_by_pk"]
    assert flow["archived"] is False
    assert flow["settings"] == {}
    assert flow["parameters"] == {}
    assert flow["is_schedule_active"] is False
    assert flow["created"].endswith("+00:00")
    assert flow["created"] == flow["updated"]


async def test_run_columns_alone_create_a_consistent_state_row(ops: GraphQL) -> None:
    data = await ops.data(
        "query ($id: uuid!) { flow_run_by_pk(id: $id) { state version serialized_state "
        "states { state version serialized_state } } }",
        {"id": R1},
    )
    run = data["flow_run_by_pk"]
    assert run["serialized_state"]["type"] == "Success"
    assert run["serialized_state"]["__version__"] == "1.4.1"
    assert run["states"] == [{"state": "Success", "version": 3, "serialized_state": run["serialized_state"]}]


async def test_state_rows_alone_fill_the_run(session: Any) -> None:
    fixture = minimal(
        flow_run=[{"id": RUN, "flow_id": FLOW}],
        flow_run_state=[
            {
                "flow_run_id": RUN,
                "timestamp": "2021-01-01T00:00:00Z",
                "serialized_state": {
                    "type": "Scheduled",
                    "message": "Flow run scheduled.",
                    "start_time": "2021-01-01T00:00:00+00:00",
                },
            },
            {
                "flow_run_id": RUN,
                "timestamp": "2021-01-01T00:00:05Z",
                "serialized_state": {"type": "Running", "message": "Running flow."},
            },
            {
                "flow_run_id": RUN,
                "timestamp": "2021-01-01T00:01:00Z",
                "serialized_state": {"type": "Failed", "message": "Some reference tasks failed."},
            },
        ],
    )
    async with LocalBackend(fixture) as backend:
        graphql = GraphQL(session, backend.graphql_url)
        data = await graphql.data(
            "query ($id: uuid!) { flow_run_by_pk(id: $id) { state state_message version "
            "start_time end_time state_timestamp states(order_by: {version: asc}) "
            "{ state version start_time } } }",
            {"id": RUN},
        )
    run = data["flow_run_by_pk"]
    assert run == {
        "state": "Failed",
        "state_message": "Some reference tasks failed.",
        "version": 3,
        "start_time": "2021-01-01T00:00:05+00:00",
        "end_time": "2021-01-01T00:01:00+00:00",
        "state_timestamp": "2021-01-01T00:01:00+00:00",
        "states": [
            {"state": "Scheduled", "version": 1, "start_time": "2021-01-01T00:00:00+00:00"},
            {"state": "Running", "version": 2, "start_time": None},
            {"state": "Failed", "version": 3, "start_time": None},
        ],
    }


async def test_set_state_appends_history_and_updates_the_run(ops_backend: LocalBackend, ops: GraphQL) -> None:
    task_run = "00000000-0000-4000-8000-00000000f002"
    version = await ops_backend.set_state(
        "task_run",
        task_run,
        {"type": "Running", "message": "Starting task run."},
        timestamp="2021-02-01T00:00:00Z",
    )
    assert version == 2  # the fixture's Success row was version 1
    version = await ops_backend.set_state(
        "task_run",
        task_run,
        {"type": "Success", "message": "Task run succeeded."},
        timestamp="2021-02-01T00:00:03+00:00",
    )
    assert version == 3
    data = await ops.data(
        "query ($id: uuid!) { task_run_by_pk(id: $id) { state state_message version start_time "
        "end_time serialized_state states(order_by: {version: asc}) { state version } } }",
        {"id": task_run},
    )
    run = data["task_run_by_pk"]
    assert (run["state"], run["state_message"], run["version"]) == (
        "Success",
        "Task run succeeded.",
        3,
    )
    assert run["start_time"] == "2021-02-01T00:00:00+00:00"
    assert run["end_time"] == "2021-02-01T00:00:03+00:00"
    assert run["serialized_state"] == {"type": "Success", "message": "Task run succeeded."}
    assert [(s["state"], s["version"]) for s in run["states"]] == [
        ("Success", 1),
        ("Running", 2),
        ("Success", 3),
    ]


async def test_set_state_errors(ops_backend: LocalBackend) -> None:
    with pytest.raises(FlowRunNotFoundError, match="no flow_run with id"):
        await ops_backend.set_state("flow_run", "00000000-0000-4000-8000-000000000000", {"type": "Running"})
    with pytest.raises(InvalidArgumentError, match="'flow_run' or 'task_run'"):
        await ops_backend.set_state("flow", F_ETL, {"type": "Running"})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="not a Prefect 1 state"):
        await ops_backend.set_state("flow_run", R1, {"type": "Crashed"})


async def test_insert_validates_like_a_fixture(ops_backend: LocalBackend, ops: GraphQL) -> None:
    await ops_backend.insert(
        "log", [{"flow_run_id": R1, "message": "late", "timestamp": "2021-01-01T00:00:09Z"}]
    )
    data = await ops.data('{ log(where: {message: {_eq: "late"}}) { level flow_run_id } }')
    assert data["log"] == [{"level": "INFO", "flow_run_id": R1}]
    with pytest.raises(FixtureError, match=r"task_run\[0\]\.flow_run_id: this column is required"):
        await ops_backend.insert("task_run", [{"task_id": T_A}])


async def test_backend_cannot_be_entered_twice() -> None:
    backend = LocalBackend(None)
    async with backend:
        with pytest.raises(UsageError, match="already running"):
            await backend.start()
    with pytest.raises(UsageError, match="not started"):
        _ = backend.url


async def test_file_database_persists_between_backends(tmp_path: Path) -> None:
    database = tmp_path / "persist.sqlite"
    async with LocalBackend(minimal(), db_path=database):
        pass
    async with LocalBackend(None, db_path=database) as backend:
        assert (await count_rows(backend))["flow"] == 1
        with pytest.raises(FixtureError, match=r"\[0\]\.id: a \w+ with id .* is already loaded"):
            await backend.load(minimal())

"""Flow run creation and run mutations over HTTP, with Prefect Server's rules."""

from __future__ import annotations

import re

from tests.server.writes.helpers import Writer, serialized_flow

RUN_FIELDS = "name state version labels parameters run_config context scheduled_start_time idempotency_key"


async def test_create_flow_run_schedules_it_and_creates_one_pending_task_run_per_task(writer: Writer) -> None:
    flow_id = await writer.register()
    run_id = await writer.create_run(flow_id, parameters={"extra": 1}, context={"k": "v"})
    run = await writer.flow_run(run_id, RUN_FIELDS + " serialized_state state_start_time")
    assert re.fullmatch(r"[a-z]+-[a-z]+", run["name"])
    assert (run["state"], run["version"]) == ("Scheduled", 1)
    assert run["serialized_state"]["message"] == "Flow run scheduled."
    assert run["serialized_state"]["start_time"] is not None
    assert run["state_start_time"] == run["scheduled_start_time"]
    assert run["parameters"] == {"n": 3, "extra": 1}  # the declared default, then what was given
    assert run["labels"] == ["dev"]  # from the flow's run config
    assert run["run_config"]["type"] == "UniversalRun"
    assert run["context"] == {"k": "v"}
    task_runs = await writer.task_runs(run_id, "map_index state version serialized_state task { slug }")
    assert sorted(t["task"]["slug"] for t in task_runs) == ["double-1", "n", "numbers-1", "total-1"]
    assert {(t["map_index"], t["state"], t["version"]) for t in task_runs} == {(-1, "Pending", 1)}
    assert task_runs[0]["serialized_state"] == {"type": "Pending", "message": "Task run created"}
    history = await writer.query(
        f'{{ flow_run_state(where: {{flow_run_id: {{_eq: "{run_id}"}}}}) {{ state version message }} }}'
    )
    assert history["flow_run_state"] == [
        {"state": "Scheduled", "version": 1, "message": "Flow run scheduled."}
    ]


async def test_parameters_merge_group_defaults_and_required_ones_must_be_given(writer: Writer) -> None:
    flow = serialized_flow(
        parameters=[
            {"name": "x", "slug": "x", "required": True, "default": None},
            {"name": "y", "slug": "y", "required": False, "default": 0},
        ]
    )
    flow_id = await writer.register(flow)
    error = await writer.error("create_flow_run", {"flow_id": flow_id})
    assert error["message"] == "Required parameters were not supplied: {'x'}"
    group_id = (await writer.query(f'{{ flow_by_pk(id: "{flow_id}") {{ flow_group_id }} }}'))["flow_by_pk"][
        "flow_group_id"
    ]
    await writer.mutate(
        "set_flow_group_default_parameters", {"flow_group_id": group_id, "parameters": {"x": 1}}
    )
    run_id = await writer.create_run(flow_id, parameters={"z": 2})
    # A falsy declared default (0) is not copied in, as on Prefect Server.
    assert (await writer.flow_run(run_id, "parameters"))["parameters"] == {"x": 1, "z": 2}


async def test_labels_follow_servers_order_of_precedence(writer: Writer) -> None:
    flow_id = await writer.register()
    given = await writer.create_run(flow_id, labels=["b", "a"])
    assert (await writer.flow_run(given, "labels"))["labels"] == ["a", "b"]
    from_config = await writer.create_run(flow_id, run_config={"type": "LocalRun", "labels": ["cfg"]})
    assert (await writer.flow_run(from_config, "labels run_config")) == {
        "labels": ["cfg"],
        "run_config": {"type": "LocalRun", "labels": ["cfg"]},
    }
    group_id = (await writer.query(f'{{ flow_by_pk(id: "{flow_id}") {{ flow_group_id }} }}'))["flow_by_pk"][
        "flow_group_id"
    ]
    await writer.mutate("set_flow_group_labels", {"flow_group_id": group_id, "labels": ["group"]})
    assert (await writer.flow_run(await writer.create_run(flow_id), "labels"))["labels"] == ["group"]


async def test_idempotency_key_and_name_and_version_group(writer: Writer) -> None:
    flow_id = await writer.register()
    first = await writer.create_run(flow_id, idempotency_key="k1", flow_run_name="mine")
    assert await writer.create_run(flow_id, idempotency_key="k1") == first
    assert (await writer.flow_run(first, "name"))["name"] == "mine"
    count = await writer.query("{ flow_run_aggregate { aggregate { count } } }")
    assert count["flow_run_aggregate"]["aggregate"]["count"] == 1
    group = (await writer.query(f'{{ flow_by_pk(id: "{flow_id}") {{ version_group_id }} }}'))["flow_by_pk"]
    by_group = (await writer.mutate("create_flow_run", {"version_group_id": group["version_group_id"]}))["id"]
    assert (await writer.query(f'{{ flow_run_by_pk(id: "{by_group}") {{ flow_id }} }}'))[
        "flow_run_by_pk"
    ] == {"flow_id": flow_id}


async def test_missing_flow_and_missing_input_are_refused(writer: Writer) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await writer.error("create_flow_run", {"flow_id": missing}))[
        "message"
    ] == f"Flow {missing} not found"
    assert (await writer.error("create_flow_run", {}))["message"] == (
        "A flow id or version group ID must be provided."
    )
    assert (await writer.error("create_flow_run", {"version_group_id": "nope"}))["message"] == (
        "Version group nope has no unarchived flows."
    )


async def test_rename_relabel_heartbeat_and_delete(writer: Writer) -> None:
    flow_id = await writer.register()
    run_id = await writer.create_run(flow_id)
    task_run = await writer.task_run_of(run_id, "numbers-1")
    assert await writer.mutate("set_flow_run_name", {"flow_run_id": run_id, "name": "renamed"}) == {
        "success": True
    }
    assert await writer.mutate("set_task_run_name", {"task_run_id": task_run["id"], "name": "tr"}) == {
        "success": True
    }
    assert await writer.mutate("set_flow_run_labels", {"flow_run_id": run_id, "labels": ["z", "a"]}) == {
        "success": True
    }
    assert (await writer.error("set_flow_run_name", {"flow_run_id": run_id, "name": ""}))[
        "message"
    ] == "Invalid name"
    await writer.mutate("update_flow_run_heartbeat", {"flow_run_id": run_id})
    await writer.mutate("update_task_run_heartbeat", {"task_run_id": task_run["id"]})
    run = await writer.flow_run(
        run_id, 'name labels heartbeat task_runs(where: {name: {_eq: "tr"}}) { heartbeat }'
    )
    assert run["name"] == "renamed"
    assert run["labels"] == ["a", "z"]
    assert run["heartbeat"] is not None
    assert run["task_runs"][0]["heartbeat"] is not None
    assert await writer.mutate("delete_flow_run", {"flow_run_id": run_id}) == {"success": True}
    counts = await writer.query(
        "{ flow_run_aggregate { aggregate { count } } task_run_aggregate { aggregate { count } } "
        "task_run_state_aggregate { aggregate { count } } flow_run_state_aggregate { aggregate { count } } }"
    )
    assert [value["aggregate"]["count"] for value in counts.values()] == [0, 0, 0, 0]
    assert await writer.mutate("delete_flow_run", {"flow_run_id": run_id}) == {"success": False}

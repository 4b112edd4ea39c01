"""State changes over HTTP: history rows, run columns, version locking, cancellation, atomicity."""

from __future__ import annotations

import sqlite3

from flowview_async.server.runner import LocalBackend
from tests.server.writes.helpers import Writer, state

COLUMNS = "state version state_message start_time end_time heartbeat serialized_state state_timestamp"


async def _running_run(writer: Writer) -> tuple[str, str]:
    run_id = await writer.create_run(await writer.register())
    await writer.set_flow_run_state(run_id, "Running", version=1, message="Running flow.")
    return run_id, (await writer.task_run_of(run_id, "numbers-1"))["id"]


async def test_a_flow_run_through_its_states_keeps_servers_columns(writer: Writer) -> None:
    run_id = await writer.create_run(await writer.register())
    answer = await writer.set_flow_run_state(run_id, "Running", version=1, message="Running flow.")
    assert answer == {"states": [{"id": run_id, "status": "SUCCESS", "message": None}]}
    running = await writer.flow_run(run_id, COLUMNS)
    assert (running["state"], running["version"], running["state_message"]) == ("Running", 2, "Running flow.")
    assert running["start_time"] == running["state_timestamp"]
    assert running["heartbeat"] == running["state_timestamp"]  # Running refreshes the heartbeat
    assert running["end_time"] is None
    assert running["serialized_state"]["type"] == "Running"
    await writer.set_flow_run_state(run_id, "Success", version=2, message="All reference tasks succeeded.")
    done = await writer.flow_run(run_id, COLUMNS)
    assert (done["state"], done["version"]) == ("Success", 3)
    assert done["start_time"] == running["start_time"]
    assert done["end_time"] == done["state_timestamp"]
    history = await writer.query(
        f'{{ flow_run_state(where: {{flow_run_id: {{_eq: "{run_id}"}}}}, order_by: [{{version: asc}}]) '
        "{ state version message tenant_id serialized_state } }"
    )
    rows = history["flow_run_state"]
    assert [(r["state"], r["version"]) for r in rows] == [("Scheduled", 1), ("Running", 2), ("Success", 3)]
    assert {r["tenant_id"] for r in rows} == {writer.tenant_id}
    assert rows[2]["serialized_state"] == state("Success", "All reference tasks succeeded.")


async def test_task_run_states_need_a_running_flow_run(writer: Writer) -> None:
    run_id = await writer.create_run(await writer.register())
    task_run = await writer.task_run_of(run_id, "numbers-1")
    error = await writer.error(
        "set_task_run_states", {"states": [{"task_run_id": task_run["id"], "state": state("Running")}]}
    )
    assert error["message"] == (
        f"State update failed for task run ID {task_run['id']}: provided a running state but "
        f"associated flow run {run_id} is not in a running state."
    )
    await writer.set_flow_run_state(run_id, "Running")
    await writer.set_task_run_state(task_run["id"], "Running", version=1)
    await writer.set_task_run_state(task_run["id"], "Success", version=2)
    row = (await writer.query(f'{{ task_run_by_pk(id: "{task_run["id"]}") {{ {COLUMNS} }} }}'))[
        "task_run_by_pk"
    ]
    assert (row["state"], row["version"]) == ("Success", 3)
    assert row["start_time"] is not None
    assert row["end_time"] is not None
    assert row["heartbeat"] is not None


async def test_versions_are_not_locked_by_default(writer: Writer) -> None:
    run_id, task_run_id = await _running_run(writer)
    # A stale version is accepted: Prefect Server keeps versions only for Cloud compatibility.
    await writer.set_flow_run_state(run_id, "Running", version=0)
    await writer.set_task_run_state(task_run_id, "Running", version=0)
    assert (await writer.flow_run(run_id, "version"))["version"] == 3


async def test_version_locking_when_the_flow_group_turns_it_on(writer: Writer, backend: LocalBackend) -> None:
    run_id, task_run_id = await _running_run(writer)

    def lock(connection: sqlite3.Connection) -> None:
        connection.execute(
            "UPDATE flow_group SET settings = json_set(settings, '$.version_locking_enabled', json('true'))"
        )

    await backend.database.run(lock)
    error = await writer.error(
        "set_flow_run_states", {"states": [{"flow_run_id": run_id, "version": 1, "state": state("Success")}]}
    )
    assert error["extensions"]["code"] == "VERSION_LOCKING_ERROR"
    assert "version is 2, not 1" in error["message"]
    await writer.set_task_run_state(task_run_id, "Running", version=1)
    await writer.set_flow_run_state(run_id, "Success", version=2)
    error = await writer.error(
        "set_task_run_states",
        {"states": [{"task_run_id": task_run_id, "version": 1, "state": state("Success")}]},
    )
    assert error["extensions"]["code"] == "VERSION_LOCKING_ERROR"


async def test_a_second_submission_is_refused(writer: Writer) -> None:
    run_id = await writer.create_run(await writer.register())
    await writer.set_flow_run_state(run_id, "Submitted", message="Submitted for execution")
    error = await writer.error(
        "set_flow_run_states", {"states": [{"flow_run_id": run_id, "state": state("Submitted")}]}
    )
    assert error["message"] == "State update failed: this run has already been submitted."


async def test_submitted_by_a_registered_agent_records_the_agent(writer: Writer) -> None:
    agent_id = (await writer.mutate("register_agent", {"type": "LocalAgent", "name": "a", "labels": []}))[
        "id"
    ]
    run_id = await writer.create_run(await writer.register())
    query = (
        "mutation($input: set_flow_run_states_input!) "
        "{ set_flow_run_states(input: $input) { states { id } } }"
    )
    body = {
        "query": query,
        "variables": {"input": {"states": [{"flow_run_id": run_id, "state": state("Submitted")}]}},
    }
    async with writer.gql.session.post(
        writer.gql.url, json=body, headers={"X-PREFECT-AGENT-ID": agent_id}
    ) as r:
        assert r.status == 200
        assert "errors" not in await r.json()
    run = await writer.flow_run(run_id, "state agent_id heartbeat")
    assert run["state"] == "Submitted"
    assert run["agent_id"] == agent_id
    assert run["heartbeat"] is not None


async def test_cancelled_cancels_every_unfinished_task_run(writer: Writer) -> None:
    run_id, task_run_id = await _running_run(writer)
    await writer.set_task_run_state(task_run_id, "Running")
    await writer.set_task_run_state(task_run_id, "Success")
    await writer.set_flow_run_state(run_id, "Cancelled", message="stop")
    task_runs = await writer.task_runs(run_id, "state state_message task { slug }")
    assert {t["task"]["slug"]: t["state"] for t in task_runs} == {
        "n": "Cancelled",
        "numbers-1": "Success",
        "double-1": "Cancelled",
        "total-1": "Cancelled",
    }


async def test_cancel_flow_run_by_state(writer: Writer) -> None:
    flow_id = await writer.register()
    scheduled = await writer.create_run(flow_id)
    assert await writer.mutate("cancel_flow_run", {"flow_run_id": scheduled}) == {"state": "Cancelled"}
    assert (await writer.flow_run(scheduled, "state_message"))["state_message"] == "Flow run is cancelled"
    running, _ = await _running_run(writer)
    assert await writer.mutate("cancel_flow_run", {"flow_run_id": running}) == {"state": "Cancelling"}
    await writer.set_flow_run_state(running, "Cancelled")
    assert await writer.mutate("cancel_flow_run", {"flow_run_id": running}) == {"state": "Cancelled"}
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await writer.error("cancel_flow_run", {"flow_run_id": missing}))["message"] == (
        f"Invalid flow run ID: {missing}."
    )


async def test_a_batch_with_one_bad_state_changes_nothing(writer: Writer) -> None:
    run_id = await writer.create_run(await writer.register())
    missing = "00000000-0000-0000-0000-000000000000"
    error = await writer.error(
        "set_flow_run_states",
        {
            "states": [
                {"flow_run_id": run_id, "state": state("Running")},
                {"flow_run_id": missing, "state": state("Running")},
            ]
        },
    )
    assert error["message"] == f"State update failed for flow run ID {missing}"
    assert (await writer.flow_run(run_id, "state version"))["state"] == "Scheduled"
    count = await writer.query("{ flow_run_state_aggregate { aggregate { count } } }")
    assert count["flow_run_state_aggregate"]["aggregate"]["count"] == 1


async def test_invalid_states_are_refused(writer: Writer) -> None:
    run_id = await writer.create_run(await writer.register())
    error = await writer.error(
        "set_flow_run_states", {"states": [{"flow_run_id": run_id, "state": {"type": "Exploded"}}]}
    )
    assert error["message"].startswith("Invalid state:")
    big = state("Running", "x" * 1_000_001)
    error = await writer.error("set_flow_run_states", {"states": [{"flow_run_id": run_id, "state": big}]})
    assert error["message"] == "State payload is too large."


async def test_cached_inputs_carry_over_to_the_next_state(writer: Writer) -> None:
    _, task_run_id = await _running_run(writer)
    inputs = {"x": {"type": "Result", "location": None, "__version__": "1.4.1"}}
    await writer.set_task_run_state(task_run_id, "Retrying", cached_inputs=inputs)
    await writer.set_task_run_state(task_run_id, "Running")
    row = (await writer.query(f'{{ task_run_by_pk(id: "{task_run_id}") {{ serialized_state }} }}'))[
        "task_run_by_pk"
    ]
    assert row["serialized_state"]["cached_inputs"] == inputs

"""Agents and their queue, artifacts and messages over HTTP."""

from __future__ import annotations

from tests.server.writes.helpers import Writer

FUTURE = "2999-01-01T00:00:00+00:00"


async def test_register_agent_is_idempotent_per_identity(writer: Writer) -> None:
    data = {"type": "LocalAgent", "name": "agent", "labels": ["vm", "dev"], "tenant_id": writer.tenant_id}
    first = (await writer.mutate("register_agent", data))["id"]
    assert (await writer.mutate("register_agent", data))["id"] == first
    other = (await writer.mutate("register_agent", {**data, "labels": ["dev"]}))["id"]
    assert other != first
    rows = await writer.query(
        f'{{ agent_by_pk(id: "{first}") {{ labels type name tenant_id last_queried }} }}'
    )
    assert rows["agent_by_pk"]["labels"] == ["dev", "vm"]
    assert rows["agent_by_pk"]["tenant_id"] == writer.tenant_id
    assert await writer.mutate("delete_agent", {"agent_id": first}) == {"success": True}
    assert await writer.mutate("delete_agent", {"agent_id": first}) == {"success": False}


async def test_queue_matches_labels_and_due_time(writer: Writer) -> None:
    flow_id = await writer.register()  # its run config has labels ["dev"]
    labeled = await writer.create_run(flow_id)
    unlabeled = await writer.create_run(flow_id, labels=[])
    later = await writer.create_run(flow_id, scheduled_start_time=FUTURE)
    running = await writer.create_run(flow_id)
    await writer.set_flow_run_state(running, "Running")

    async def queue(labels: list[str], before: str | None = None) -> list[str]:
        data = {"tenant_id": writer.tenant_id, "labels": labels, **({"before": before} if before else {})}
        return list((await writer.mutate("get_runs_in_queue", data))["flow_run_ids"])

    assert await queue(["dev"]) == [labeled]
    assert await queue(["dev", "gpu"]) == [labeled]  # the agent may hold more labels than the run
    assert await queue([]) == [unlabeled]  # an unlabeled agent takes only unlabeled runs
    assert await queue(["gpu"]) == []
    assert set(await queue(["dev"], "2999-01-02T00:00:00+00:00")) == {labeled, later}
    # Reading the queue does not take runs out of it.
    assert await queue(["dev"]) == [labeled]


async def test_queue_answers_at_most_25_earliest_first(writer: Writer) -> None:
    flow_id = await writer.register()
    ids = [
        await writer.create_run(flow_id, scheduled_start_time=f"2020-01-01T00:{minute:02d}:00+00:00")
        for minute in range(30)
    ]
    answer = (await writer.mutate("get_runs_in_queue", {"tenant_id": writer.tenant_id, "labels": ["dev"]}))[
        "flow_run_ids"
    ]
    assert answer == ids[:25]


async def test_querying_the_queue_stamps_the_agent(writer: Writer) -> None:
    agent_id = (await writer.mutate("register_agent", {"type": "LocalAgent", "labels": []}))["id"]
    before = (await writer.query(f'{{ agent_by_pk(id: "{agent_id}") {{ last_queried }} }}'))["agent_by_pk"]
    query = "mutation($input: get_runs_in_queue_input!) { get_runs_in_queue(input: $input) { flow_run_ids } }"
    body = {"query": query, "variables": {"input": {"tenant_id": writer.tenant_id}}}
    async with writer.gql.session.post(
        writer.gql.url, json=body, headers={"X-Prefect-Agent-Id": agent_id}
    ) as r:
        assert r.status == 200
    after = (await writer.query(f'{{ agent_by_pk(id: "{agent_id}") {{ last_queried }} }}'))["agent_by_pk"]
    assert after["last_queried"] > before["last_queried"]


async def test_agent_configs(writer: Writer) -> None:
    config_id = (
        await writer.mutate(
            "create_agent_config", {"tenant_id": writer.tenant_id, "name": "c", "settings": {"a": 1}}
        )
    )["id"]
    assert await writer.mutate(
        "update_agent_config", {"agent_config_id": config_id, "settings": {"b": 2}}
    ) == {"success": True}
    row = (await writer.query(f'{{ agent_config_by_pk(id: "{config_id}") {{ name settings }} }}'))[
        "agent_config_by_pk"
    ]
    assert row == {"name": "c", "settings": {"b": 2}}
    assert await writer.mutate("delete_agent_config", {"agent_config_id": config_id}) == {"success": True}


async def test_task_run_artifacts(writer: Writer) -> None:
    run_id = await writer.create_run(await writer.register())
    task_run_id = (await writer.task_run_of(run_id, "numbers-1"))["id"]
    artifact_id = (
        await writer.mutate(
            "create_task_run_artifact",
            {"task_run_id": task_run_id, "kind": "markdown", "data": {"markdown": "# hi"}, "tenant_id": None},
        )
    )["id"]
    await writer.mutate(
        "update_task_run_artifact", {"task_run_artifact_id": artifact_id, "data": {"markdown": "x"}}
    )
    rows = await writer.query("{ task_run_artifact { id kind data task_run_id tenant_id } }")
    assert rows["task_run_artifact"] == [
        {
            "id": artifact_id,
            "kind": "markdown",
            "data": {"markdown": "x"},
            "task_run_id": task_run_id,
            "tenant_id": writer.tenant_id,
        }
    ]
    assert await writer.mutate("delete_task_run_artifact", {"task_run_artifact_id": artifact_id}) == {
        "success": True
    }
    missing = "00000000-0000-0000-0000-000000000000"
    error = await writer.error(
        "create_task_run_artifact", {"task_run_id": missing, "kind": "markdown", "data": {}}
    )
    assert error["message"] == f"Task run {missing} not found"

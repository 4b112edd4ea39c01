"""Projects and tenants over HTTP: Prefect Server's answers and rows."""

from __future__ import annotations

import pytest

from flowview_async import Client
from flowview_async.errors import GraphQLQueryError
from flowview_async.server.runner import LocalBackend
from tests.server.writes.helpers import Writer


async def test_create_project_stores_it_and_a_second_one_of_that_name_is_a_uniqueness_violation(
    writer: Writer,
) -> None:
    rows = await writer.query('{ project(where: {name: {_eq: "demo"}}) { id name tenant_id description } }')
    assert rows["project"] == [
        {"id": writer.project_id, "name": "demo", "tenant_id": writer.tenant_id, "description": None}
    ]
    # Prefect 1.4.1's Client.create_project matches this exact message to fall back to a lookup.
    error = await writer.error("create_project", {"name": "demo", "tenant_id": writer.tenant_id})
    assert error["message"] == "Uniqueness violation."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["path"] == ["create_project"]


async def test_set_project_name_and_description(writer: Writer) -> None:
    renamed = await writer.mutate("set_project_name", {"project_id": writer.project_id, "name": "prod"})
    assert renamed == {"id": writer.project_id}
    await writer.mutate("set_project_description", {"project_id": writer.project_id, "description": "# docs"})
    rows = await writer.query("{ project { name description } }")
    assert rows["project"] == [{"name": "prod", "description": "# docs"}]


async def test_delete_project_removes_its_flows_runs_and_their_history(writer: Writer) -> None:
    flow_id = await writer.register()
    run_id = await writer.create_run(flow_id)
    await writer.mutate(
        "write_run_logs", {"logs": [{"flow_run_id": run_id, "message": "hi", "level": "INFO"}]}
    )
    assert await writer.mutate("delete_project", {"project_id": writer.project_id}) == {"success": True}
    counts = await writer.query(
        "{ project_aggregate { aggregate { count } } flow_aggregate { aggregate { count } } "
        "task_aggregate { aggregate { count } } edge_aggregate { aggregate { count } } "
        "flow_run_aggregate { aggregate { count } } task_run_aggregate { aggregate { count } } "
        "flow_run_state_aggregate { aggregate { count } } task_run_state_aggregate { aggregate { count } } "
        "log_aggregate { aggregate { count } } }"
    )
    assert {name: value["aggregate"]["count"] for name, value in counts.items()} == dict.fromkeys(counts, 0)
    # Deleting what is gone answers success false, as Server does.
    assert await writer.mutate("delete_project", {"project_id": writer.project_id}) == {"success": False}


async def test_create_project_for_an_unknown_tenant_is_refused(writer: Writer) -> None:
    error = await writer.error(
        "create_project", {"name": "x", "tenant_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert error["message"] == "Invalid tenant ID."


async def test_tenant_slug_is_unique(writer: Writer) -> None:
    error = await writer.error("create_tenant", {"name": "again", "slug": "default"})
    assert error["message"] == "Uniqueness violation."


async def test_the_sdk_client_validates_and_sends_mutations(backend: LocalBackend) -> None:
    async with Client(backend.url) as client:
        created = await client.execute(
            "mutation($input: create_tenant_input!) { create_tenant(input: $input) { id } }",
            {"input": {"name": "t", "slug": "t"}},
        )
        tenant_id = created["create_tenant"]["id"]
        project = await client.execute(
            "mutation($input: create_project_input!) { create_project(input: $input) { id } }",
            {"input": {"name": "sdk", "tenant_id": tenant_id}},
        )
        listed = await client.execute("{ project { id name } }")
        assert listed["project"] == [{"id": project["create_project"]["id"], "name": "sdk"}]
        with pytest.raises(GraphQLQueryError, match="Uniqueness violation"):
            await client.execute(
                "mutation($input: create_project_input!) { create_project(input: $input) { id } }",
                {"input": {"name": "sdk", "tenant_id": tenant_id}},
            )

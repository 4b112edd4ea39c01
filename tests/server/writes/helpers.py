"""Building blocks of the write-side tests: Prefect-shaped serialized flows and states, and a
``Writer`` that sends the mutations Prefect 1.4.1 sends, as it sends them (input as variables)."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from flowview_async.server.runner import LocalBackend
from tests.server.conftest import GraphQL

VERSION = "1.4.1"


def task(slug: str, *, trigger: str = "prefect.triggers.all_successful", **extra: Any) -> dict[str, Any]:
    return {
        "type": "prefect.tasks.core.function.FunctionTask",
        "name": slug.rsplit("-", 1)[0],
        "slug": slug,
        "tags": [],
        "max_retries": 0,
        "retry_delay": None,
        "inputs": {},
        "outputs": "typing.Any",
        "timeout": None,
        "trigger": {"fn": trigger, "kwargs": {}},
        "skip_on_upstream_skip": True,
        "cache_for": None,
        "cache_key": None,
        "auto_generated": False,
        "__version__": VERSION,
        **extra,
    }


def edge(upstream: str, downstream: str, key: str | None = None, mapped: bool = False) -> dict[str, Any]:
    return {
        "upstream_task": {"slug": upstream, "__version__": VERSION},
        "downstream_task": {"slug": downstream, "__version__": VERSION},
        "key": key,
        "mapped": mapped,
        "flattened": False,
        "__version__": VERSION,
    }


def serialized_flow(name: str = "demo-flow", **extra: Any) -> dict[str, Any]:
    """numbers -> double (mapped) -> total, plus a parameter ``n`` (default 3)."""
    flow: dict[str, Any] = {
        "name": name,
        "type": "prefect.core.flow.Flow",
        "tasks": [
            task("n", type="prefect.core.parameter.Parameter"),
            task("numbers-1"),
            task("double-1", retry_delay=90, max_retries=2),
            task("total-1", trigger="prefect.triggers.all_finished"),
        ],
        "edges": [
            edge("n", "numbers-1", "n"),
            edge("numbers-1", "double-1", "x", mapped=True),
            edge("double-1", "total-1", "xs"),
        ],
        "parameters": [{"name": "n", "slug": "n", "required": False, "default": 3, "__version__": VERSION}],
        "reference_tasks": [],
        "run_config": {"type": "UniversalRun", "labels": ["dev"], "env": None, "__version__": VERSION},
        "storage": {"type": "Local", "directory": "/tmp/flows", "flows": {}, "__version__": VERSION},
        "schedule": None,
        "environment": None,
        "__version__": VERSION,
    }
    flow.update(extra)
    return flow


def compress(value: Any) -> str:
    """Prefect 1.4.1's ``prefect.utilities.graphql.compress``."""
    return base64.b64encode(gzip.compress(json.dumps(value).encode())).decode()


def state(kind: str, message: str | None = None, **extra: Any) -> dict[str, Any]:
    """A state as Prefect 1.4.1's ``State.serialize()`` writes it."""
    return {
        "context": {},
        "message": message,
        "_result": {"__version__": VERSION, "type": "NoResultType"},
        "cached_inputs": {},
        "__version__": VERSION,
        "type": kind,
        **extra,
    }


class Writer:
    """Sends mutations the way Prefect 1.4.1's Client does and reads rows back through queries."""

    def __init__(self, gql: GraphQL, backend: LocalBackend | None = None) -> None:
        self.gql = gql
        self.backend = backend
        self.tenant_id = ""
        self.project_id = ""

    async def setup(self) -> None:
        self.tenant_id = (await self.mutate("create_tenant", {"name": "default", "slug": "default"}))["id"]
        self.project_id = (
            await self.mutate("create_project", {"name": "demo", "tenant_id": self.tenant_id})
        )["id"]

    async def call(self, name: str, data: dict[str, Any], selection: str = "") -> tuple[int, Any]:
        fields = selection or _SELECTIONS.get(name, "success")
        query = f"mutation($input: {name}_input!) {{ {name}(input: $input) {{ {fields} }} }}"
        return await self.gql.post(query, {"input": data})

    async def mutate(self, name: str, data: dict[str, Any], selection: str = "") -> Any:
        status, body = await self.call(name, data, selection)
        assert status == 200, body
        assert "errors" not in body, body
        return body["data"][name]

    async def error(self, name: str, data: dict[str, Any], selection: str = "") -> dict[str, Any]:
        """The one GraphQL error a refused mutation answers (HTTP 200, data null)."""
        status, body = await self.call(name, data, selection)
        assert status == 200, body
        assert body["data"] == {name: None}, body
        (error,) = body["errors"]
        return dict(error)

    async def query(self, text: str) -> Any:
        return await self.gql.data(text)

    async def register(self, flow: dict[str, Any] | None = None, **extra: Any) -> str:
        data = {
            "project_id": self.project_id,
            "serialized_flow": compress(flow or serialized_flow()),
            **extra,
        }
        return str((await self.mutate("create_flow_from_compressed_string", data))["id"])

    async def create_run(self, flow_id: str, **extra: Any) -> str:
        return str((await self.mutate("create_flow_run", {"flow_id": flow_id, **extra}))["id"])

    async def set_flow_run_state(
        self, run_id: str, kind: str, version: int | None = None, **extra: Any
    ) -> Any:
        item: dict[str, Any] = {"flow_run_id": run_id, "state": state(kind, **extra)}
        if version is not None:
            item["version"] = version
        return await self.mutate("set_flow_run_states", {"states": [item]})

    async def set_task_run_state(
        self, run_id: str, kind: str, version: int | None = None, **extra: Any
    ) -> Any:
        item: dict[str, Any] = {"task_run_id": run_id, "state": state(kind, **extra)}
        if version is not None:
            item["version"] = version
        return await self.mutate("set_task_run_states", {"states": [item]})

    async def flow_run(self, run_id: str, fields: str) -> Any:
        return (await self.query(f'{{ flow_run_by_pk(id: "{run_id}") {{ {fields} }} }}'))["flow_run_by_pk"]

    async def task_runs(self, run_id: str, fields: str = "id map_index state version task { slug }") -> Any:
        answer = await self.query(
            f'{{ task_run(where: {{flow_run_id: {{_eq: "{run_id}"}}}}, order_by: [{{map_index: asc}}]) '
            f"{{ {fields} }} }}"
        )
        return answer["task_run"]

    async def task_run_of(self, run_id: str, slug: str, map_index: int = -1) -> Any:
        runs = await self.task_runs(run_id)
        return next(r for r in runs if r["task"]["slug"] == slug and r["map_index"] == map_index)


_SELECTIONS = {
    "create_tenant": "id",
    "create_project": "id",
    "set_project_name": "id",
    "set_project_description": "id",
    "create_flow": "id",
    "create_flow_from_compressed_string": "id",
    "update_flow_project": "id",
    "create_flow_run": "id",
    "get_or_create_task_run": "id",
    "get_or_create_task_run_info": "id version state serialized_state",
    "set_flow_run_states": "states { id status message }",
    "set_task_run_states": "states { id status message }",
    "cancel_flow_run": "state",
    "register_agent": "id",
    "create_agent_config": "id",
    "get_runs_in_queue": "flow_run_ids",
    "create_task_run_artifact": "id",
}

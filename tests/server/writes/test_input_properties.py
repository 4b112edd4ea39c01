"""Property: whatever JSON a client puts in a mutation's input, the answer is data or a refusal
in words, never a Python internals message, and a refusal leaves the database as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.conftest import ThreadedBackend
from tests.server.writes.helpers import compress, serialized_flow, state
from tests.server.writes.test_state_properties import Poster

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
INTERNALS = (
    "object has no attribute",
    "unhashable",
    "NoneType",
    "KeyError",
    "TypeError",
    "not subscriptable",
    "object is not iterable",
    "Traceback",
    "sqlite3",
    "unsupported operand",
)
COUNTS = (
    "{ flow_aggregate { aggregate { count } } task_aggregate { aggregate { count } } "
    "flow_run_aggregate { aggregate { count } } task_run_aggregate { aggregate { count } } "
    "flow_run_state_aggregate { aggregate { count } } log_aggregate { aggregate { count } } }"
)


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with ThreadedBackend(fixture=None) as threaded:
        poster = Poster(threaded.url)
        tenant = poster.mutate("create_tenant", {"name": "t", "slug": "t"})["id"]
        project = poster.mutate("create_project", {"name": "p", "tenant_id": tenant})["id"]
        flow = poster.mutate(
            "create_flow_from_compressed_string",
            {"project_id": project, "serialized_flow": compress(serialized_flow())},
        )["id"]
        run = poster.mutate("create_flow_run", {"flow_id": flow})["id"]
        yield {"poster": poster, "project": project, "flow": flow, "run": run}


def _check(poster: Poster, name: str, data: dict[str, Any]) -> None:
    before = poster.post(COUNTS)["data"]
    answer = poster.post(
        f"mutation($input: {name}_input!) {{ {name}(input: $input) {{ __typename }} }}", {"input": data}
    )
    for error in answer.get("errors") or []:
        assert not any(word in error["message"] for word in INTERNALS), (name, data, error)
    if answer.get("errors"):
        assert poster.post(COUNTS)["data"] == before, (name, data, answer)


@pytest.mark.slow
@given(
    field=st.sampled_from(
        [
            "parameters",
            "context",
            "run_config",
            "labels",
            "scheduled_start_time",
            "flow_run_name",
            "idempotency_key",
        ]
    ),
    value=JSON,
)
def test_create_flow_run_with_any_input(world: dict[str, Any], field: str, value: Any) -> None:
    _check(world["poster"], "create_flow_run", {"flow_id": world["flow"], field: value})


@pytest.mark.slow
@given(
    field=st.sampled_from(
        [
            "tasks",
            "edges",
            "parameters",
            "schedule",
            "run_config",
            "storage",
            "environment",
            "reference_tasks",
            "name",
        ]
    ),
    value=JSON,
)
def test_create_flow_with_any_serialized_flow_field(world: dict[str, Any], field: str, value: Any) -> None:
    flow = {**serialized_flow(f"fuzz-{json.dumps(value)[:20]}"), field: value}
    _check(world["poster"], "create_flow", {"project_id": world["project"], "serialized_flow": flow})


@pytest.mark.slow
@given(kind=st.sampled_from(["set_flow_run_states", "set_task_run_states", "write_run_logs"]), value=JSON)
def test_states_and_logs_with_any_payload(world: dict[str, Any], kind: str, value: Any) -> None:
    run = world["run"]
    if kind == "set_flow_run_states":
        data: dict[str, Any] = {"states": [{"flow_run_id": run, "state": value}]}
    elif kind == "set_task_run_states":
        data = {
            "states": [{"task_run_id": run, "state": value if isinstance(value, dict) else state("Pending")}]
        }
    else:
        data = {"logs": [{"flow_run_id": run, "message": "m", "info": value, "timestamp": None}]}
    _check(world["poster"], kind, data)

"""Property: whatever sequence of states a run goes through, its row says what its history says.

Prefect Server's trigger keeps the run's columns in step with its state rows; here any sequence of
Prefect 1 states (a Submitted twice included, which must be refused and change nothing) is sent
over HTTP, then the run row is checked against the history rows alone.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.conftest import ThreadedBackend
from tests.server.writes.helpers import compress, serialized_flow, state

STATES = [
    "Running",
    "Success",
    "Failed",
    "Retrying",
    "Pending",
    "Scheduled",
    "Cancelling",
    "Cancelled",
    "TimedOut",
    "Cached",
    "Submitted",
    "Looped",
    "Skipped",
    "TriggerFailed",
    "Paused",
]
END_STATES = {"Success", "Failed", "Cached", "TimedOut", "Looped", "Cancelled"}
FINISHED = END_STATES | {"Skipped", "TriggerFailed", "Mapped", "Finished", "ValidationFailed"}
HEARTBEAT_STATES = {"Running", "Cancelling", "Submitted"}


class Poster:
    def __init__(self, url: str) -> None:
        self.url = url + "/graphql"

    def post(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            # A 400 (variables that do not fit their GraphQL types) still carries Apollo's body.
            with error:
                return json.loads(error.read())

    def mutate(self, name: str, data: dict[str, Any], fields: str = "id") -> Any:
        answer = self.post(
            f"mutation($input: {name}_input!) {{ {name}(input: $input) {{ {fields} }} }}", {"input": data}
        )
        assert "errors" not in answer, answer
        return answer["data"][name]


@pytest.fixture(scope="module")
def poster() -> Iterator[tuple[Poster, str]]:
    with ThreadedBackend(fixture=None) as threaded:
        poster = Poster(threaded.url)
        tenant = poster.mutate("create_tenant", {"name": "t", "slug": "t"})["id"]
        project = poster.mutate("create_project", {"name": "p", "tenant_id": tenant})["id"]
        flow = poster.mutate(
            "create_flow_from_compressed_string",
            {"project_id": project, "serialized_flow": compress(serialized_flow())},
        )["id"]
        yield poster, flow


@pytest.mark.slow
@given(kinds=st.lists(st.sampled_from(STATES), max_size=8))
def test_run_columns_follow_the_state_history(poster: tuple[Poster, str], kinds: list[str]) -> None:
    client, flow_id = poster
    run_id = client.mutate("create_flow_run", {"flow_id": flow_id})["id"]
    submitted = False
    for kind in kinds:
        item = {"flow_run_id": run_id, "state": state(kind, f"to {kind}")}
        answer = client.post(
            "mutation($input: set_flow_run_states_input!) "
            "{ set_flow_run_states(input: $input) { states { status } } }",
            {"input": {"states": [item]}},
        )
        if kind == "Submitted" and submitted:
            assert (
                answer["errors"][0]["message"] == "State update failed: this run has already been submitted."
            )
            continue
        assert answer["data"]["set_flow_run_states"]["states"] == [{"status": "SUCCESS"}], answer
        submitted = submitted or kind == "Submitted"
    data = client.post(
        "query($id: uuid!) { flow_run_by_pk(id: $id) { version state state_message serialized_state "
        "start_time end_time heartbeat state_timestamp task_runs { state } "
        "states(order_by: [{version: asc}]) { version state message timestamp serialized_state } } }",
        {"id": run_id},
    )["data"]["flow_run_by_pk"]
    history = data["states"]
    assert [row["version"] for row in history] == list(range(1, len(history) + 1))
    assert data["version"] == len(history)
    last = history[-1]
    assert (data["state"], data["state_message"], data["state_timestamp"]) == (
        last["state"],
        last["message"],
        last["timestamp"],
    )
    assert data["serialized_state"] == last["serialized_state"]
    running = [row["timestamp"] for row in history if row["state"] == "Running"]
    assert data["start_time"] == (min(running) if running else None)
    ended = [row["timestamp"] for row in history if row["state"] in END_STATES]
    assert data["end_time"] == (max(ended) if ended else None)
    beats = [row["timestamp"] for row in history if row["state"] in HEARTBEAT_STATES]
    assert data["heartbeat"] == (max(beats) if beats else None)
    if "Cancelled" in kinds:
        assert all(task_run["state"] in FINISHED for task_run in data["task_runs"])

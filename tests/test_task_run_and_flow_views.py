"""TaskRunView and FlowView over HTTP: constructors, results, refreshes, lookups and their errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from flowview_async import Client, FlowView, TaskRunView
from flowview_async.errors import (
    AmbiguousMatchError,
    FlowNotFoundError,
    InvalidArgumentError,
    ResultError,
    TaskRunNotFoundError,
)
from flowview_async.server import LocalBackend
from tests.conftest import DOC_FLOW_ID, DOC_FLOW_RUN_ID, DOC_TASK_RUN_IDS

RESULT_RUN_ID = "abcdef01-2345-4678-89ab-cdef01234567"
SAY_HELLO_TASK = "34b0dd2d-582e-4f0a-923d-63daf1e38fe5"
SERIES_ONE_TASK = "a4d6e8f0-1b3c-4d5e-8f7a-9b0c1d2e3f40"
SAY_GOODBYE_TASK = "b5e7f901-2c4d-4e6f-9a8b-0c1d2e3f4a51"


def success_with(result: dict[str, Any] | None) -> dict[str, Any]:
    state: dict[str, Any] = {"type": "Success", "message": "Task run succeeded.",
                             "context": {}, "cached_inputs": {}, "__version__": "1.4.1"}
    if result is not None:
        state["_result"] = {**result, "__version__": "1.4.1"}
    return state


@pytest.fixture
async def results_backend(backend: LocalBackend) -> LocalBackend:
    """The documentation fixture plus an empty flow run of hello-world to hang task runs on."""
    await backend.insert("flow_run", [{"id": RESULT_RUN_ID, "flow_id": DOC_FLOW_ID,
                                       "name": "results-run"}])
    return backend


async def add_task_run(backend: LocalBackend, task_id: str, state: dict[str, Any]) -> str:
    """A task run of ``task_id`` in the results flow run, in ``state``; returns its id."""
    task_run_id = f"abcdef01-2345-4678-89ab-{task_id[-12:]}"
    await backend.insert("task_run", [{"id": task_run_id, "flow_run_id": RESULT_RUN_ID,
                                       "task_id": task_id, "map_index": -1}])
    await backend.set_state("task_run", task_run_id, state)
    return task_run_id


# --- TaskRunView --------------------------------------------------------------------------------


async def test_from_task_run_id_and_from_task_slug_agree(client: Client) -> None:
    by_id = await TaskRunView.from_task_run_id(DOC_TASK_RUN_IDS[0], client=client)
    by_slug = await TaskRunView.from_task_slug("say_hello-1", DOC_FLOW_RUN_ID, client=client)
    assert by_id == by_slug
    assert (by_id.task_slug, by_id.map_index, by_id.flow_run_id) == ("say_hello-1", -1, DOC_FLOW_RUN_ID)
    assert by_id.state.is_successful()


async def test_task_run_lookup_errors(client: Client, backend: LocalBackend) -> None:
    with pytest.raises(TaskRunNotFoundError):
        await TaskRunView.from_task_run_id("00000000-0000-0000-0000-000000000000", client=client)
    with pytest.raises(TaskRunNotFoundError, match="map_index 4"):
        await TaskRunView.from_task_slug("say_hello-1", DOC_FLOW_RUN_ID, 4, client=client)
    with pytest.raises(InvalidArgumentError, match="map_index"):
        await TaskRunView.from_task_slug("say_hello-1", DOC_FLOW_RUN_ID, -5, client=client)
    with pytest.raises(InvalidArgumentError, match="task_run_id"):
        await TaskRunView.from_task_run_id(12, client=client)  # type: ignore[arg-type]


async def test_prefect_result_is_read_from_the_state_and_kept(client: Client,
                                                              results_backend: LocalBackend) -> None:
    backend = results_backend
    task_run_id = await add_task_run(
        backend, SAY_HELLO_TASK, success_with({"type": "PrefectResult", "location": '{"answer": 42}'}))
    task_run = await TaskRunView.from_task_run_id(task_run_id, client=client)
    assert "result=<not loaded>" in repr(task_run)
    assert await task_run.get_result() == {"answer": 42}
    assert "result={'answer': 42}" in repr(task_run)
    latest = await task_run.get_latest()
    assert latest is not task_run
    assert "result={'answer': 42}" in repr(latest)  # a loaded result carries over, as in Prefect


async def test_local_result_json_and_pickle_opt_in(client: Client, results_backend: LocalBackend,
                                                   tmp_path: Path) -> None:
    backend = results_backend
    (tmp_path / "out.json").write_text(json.dumps([1, 2, 3]))
    (tmp_path / "out.pickle").write_bytes(pickle.dumps({"x": 1}))
    json_run = await add_task_run(backend, SAY_HELLO_TASK, success_with(
        {"type": "LocalResult", "location": "out.json", "dir": str(tmp_path)}))
    pickle_run = await add_task_run(backend, SERIES_ONE_TASK, success_with(
        {"type": "LocalResult", "location": "out.pickle", "dir": str(tmp_path)}))
    assert await (await TaskRunView.from_task_run_id(json_run, client=client)).get_result() == [1, 2, 3]
    pickled = await TaskRunView.from_task_run_id(pickle_run, client=client)
    with pytest.raises(ResultError, match="allow_pickle=True"):
        await pickled.get_result()
    assert await pickled.get_result(allow_pickle=True) == {"x": 1}


async def test_unsupported_or_unfinished_results_are_result_errors(
    client: Client, results_backend: LocalBackend
) -> None:
    backend = results_backend
    s3_run = await add_task_run(backend, SAY_GOODBYE_TASK, success_with(
        {"type": "S3Result", "location": "key", "bucket": "b"}))
    with pytest.raises(ResultError, match="S3Result"):
        await (await TaskRunView.from_task_run_id(s3_run, client=client)).get_result()
    running = await TaskRunView.from_task_run_id(DOC_TASK_RUN_IDS[0], client=client)
    await backend.set_state("task_run", DOC_TASK_RUN_IDS[0],
                            {"type": "Running", "message": "again", "__version__": "1.4.1"})
    now_running = await running.get_latest()
    with pytest.raises(ResultError, match="not finished"):
        await now_running.get_result()


async def test_iter_mapped_refuses_an_unmapped_run(client: Client) -> None:
    task_run = await TaskRunView.from_task_run_id(DOC_TASK_RUN_IDS[0], client=client)
    with pytest.raises(InvalidArgumentError, match="not a mapped parent"):
        await task_run.get_mapped_children()


# --- FlowView -----------------------------------------------------------------------------------


async def test_flow_lookups(client: Client) -> None:
    by_id = await FlowView.from_flow_id(DOC_FLOW_ID, client=client)
    by_name = await FlowView.from_flow_name("hello-world", client=client)
    in_project = await FlowView.from_flow_name("hello-world", project_name="default", client=client)
    assert by_id == by_name == in_project
    assert by_id.flow_group_id is not None
    by_group = await FlowView.from_flow_group_id(by_id.flow_group_id, client=client)
    assert by_group == by_id
    assert await FlowView.from_id(by_id.flow_group_id, client=client) == by_id
    assert by_id.core_version
    assert by_id.storage_type == "Module"
    assert by_id.to_dict()["name"] == "hello-world"


async def test_flow_lookup_errors(client: Client, backend: LocalBackend) -> None:
    with pytest.raises(FlowNotFoundError):
        await FlowView.from_flow_id("00000000-0000-0000-0000-000000000000", client=client)
    with pytest.raises(FlowNotFoundError, match="in project 'elsewhere'"):
        await FlowView.from_flow_name("hello-world", project_name="elsewhere", client=client)
    with pytest.raises(FlowNotFoundError, match="neither a flow id nor a flow group id"):
        await FlowView.from_id("00000000-0000-0000-0000-000000000000", client=client)
    existing = await FlowView.from_flow_id(DOC_FLOW_ID, client=client)
    await backend.insert("flow", [{
        "name": "hello-world", "flow_group_id": existing.flow_group_id, "version": 2,
        "project_id": (await client.execute("query P { project { id } }"))["project"][0]["id"],
        "storage": {"type": "Local"}, "core_version": "1.4.1",
    }])
    with pytest.raises(AmbiguousMatchError, match="last_updated=True"):
        await FlowView.from_flow_name("hello-world", client=client)
    newest = await FlowView.from_flow_name("hello-world", last_updated=True, client=client)
    assert newest.version == 2
    assert newest.storage_type == "Local"

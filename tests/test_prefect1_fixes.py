"""Each Prefect 1.4.1 bug or limit we fix on purpose (prefect1_backend.md §13), shown over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from flowview_async import Client, FlowRunView, RetryPolicy
from flowview_async.errors import MalformedResponseError
from flowview_async.server import LocalBackend
from tests.conftest import DOC_FLOW_RUN_ID

MAPPED_RUN_ID = "e1d2c3b4-a5f6-4789-9abc-def012345678"


async def test_more_than_1000_task_runs_are_all_returned_in_pages() -> None:
    # Prefect 1 refused get_all_task_runs above 1,000 task runs.
    async with LocalBackend(fixture=None) as backend, Client(backend.url) as client:
        (flow_run_id,) = await backend.seed_synthetic(flow_runs=1, task_runs=1200, logs=0)
        view = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
        backend.clear_requests()
        task_runs = await view.get_all_task_runs(page_size=500)
        assert len(task_runs) == len({t.task_run_id for t in task_runs})
        assert len(task_runs) >= 1200
        assert len(backend.requests) == -(-len(task_runs) // 500)  # one request per page, no empty one
        ids = await view.get_task_run_ids(page_size=1000)
        assert ids == [t.task_run_id for t in task_runs]


async def test_unknown_log_level_is_an_int_and_keeps_its_name(client: Client,
                                                              backend: LocalBackend) -> None:
    # Prefect 1 turned an unknown level name into the string "Level FOO", which broke sorting.
    await backend.insert("log", [{
        "flow_run_id": DOC_FLOW_RUN_ID, "level": "FOO", "message": "odd level",
        "timestamp": "1978-03-08T22:30:00.5+00:00",
    }])
    view = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    (odd,) = [log for log in await view.get_logs() if log.message == "odd level"]
    assert odd.level == 0
    assert odd.level_name == "FOO"
    assert sorted(await view.get_logs(), key=lambda log: (log.timestamp, log.level))


async def test_mapped_children_come_in_one_query_not_one_each(client: Client,
                                                              backend: LocalBackend) -> None:
    # Prefect 1's iter_mapped sent one query per child, plus one to find the end.
    view = await FlowRunView.from_flow_run_id(MAPPED_RUN_ID, client=client)
    parents = [t for t in await view.get_all_task_runs() if t.state.is_mapped()]
    assert parents, "the fixture has a mapped parent"
    backend.clear_requests()
    children = await parents[0].get_mapped_children()
    assert [c.map_index for c in children] == list(range(len(children)))
    assert len(children) >= 2
    assert len(backend.requests) == 1


async def test_task_run_views_are_hashable(client: Client) -> None:
    # Prefect 1 defined __eq__ without __hash__, so task run views could not go in a set.
    view = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    task_runs = await view.get_all_task_runs()
    assert len(set(task_runs)) == 3


async def test_empty_task_run_id_list_is_cached_for_a_finished_run(client: Client,
                                                                   backend: LocalBackend) -> None:
    # Prefect 1 tested the cached list for truthiness, so an empty one was fetched every time.
    run_id = "11111111-2222-4333-8444-555555555555"
    await backend.insert("flow_run", [{
        "id": run_id, "flow_id": "8bdcf5b5-7598-49d1-a885-61612ca550de", "name": "empty-run",
    }])
    await backend.set_state("flow_run", run_id, {"type": "Success", "message": "nothing to do",
                                                 "__version__": "1.4.1"})
    view = await FlowRunView.from_flow_run_id(run_id, client=client)
    backend.clear_requests()
    assert await view.get_task_run_ids() == []
    assert await view.get_task_run_ids() == []
    assert len(backend.requests) == 1


# --- malformed answers: a real HTTP server that answers wrongly -----------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"data": {"flow_run": None}},
        {"data": {"flow_run": [{"id": 3}]}},
        {"data": {"flow_run": [{"id": DOC_FLOW_RUN_ID, "flow_id": "f", "states": "x"}]}},
        {"data": {}},
        {"data": {"flow_run": [{"id": DOC_FLOW_RUN_ID, "flow_id": "f", "states": [],
                                "serialized_state": {"type": 7}}]}},
        {"data": {"flow_run": [{"id": DOC_FLOW_RUN_ID, "flow_id": "f", "states": [],
                                "serialized_state": None, "updated": "yesterday"}]}},
    ],
)
async def test_malformed_answers_are_typed_errors_never_key_or_type_errors(
    odd_backend: tuple[str, list[Any]], answer: Any
) -> None:
    # Prefect 1 crashed with TypeError/IndexError/BoxKeyError on such answers.
    url, answers = odd_backend
    answers.append(answer)
    async with Client(url, retry=RetryPolicy.none()) as client:
        with pytest.raises(MalformedResponseError, match=r"unexpected data|serialized_state"):
            await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)

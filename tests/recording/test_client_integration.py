"""Record real inspections from the local backend through the SDK client, stop it, replay."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from flowview_async import Client, FlowRunView, RetryPolicy, inspect_flow_run
from flowview_async.errors import CassetteMismatchError
from flowview_async.recording import Recorder, replay
from flowview_async.watch import watch_flow_run
from tests.recording.helpers import local_backend

DOC_FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
UNKNOWN_RUN_ID = "00000000-0000-4000-8000-000000000000"
TASK_RUNS_QUERY = """
query TaskRunsOf($id: uuid!) {
  task_run(where: {flow_run_id: {_eq: $id}}, order_by: {id: asc}) { id name state }
}
"""
FLOW_RUN_NAME_QUERY = "query FlowRunName($id: uuid!) { flow_run_by_pk(id: $id) { id name } }"
API_KEY = "pk_live_0123456789abcdefABCDEF"
TENANT_ID = "5a4f5b6c-0000-4000-8000-7e4a47000001"  # a UUID, as Prefect requires


async def test_full_concurrent_inspection_replays_equal_views(tmp_path):
    cassette = tmp_path / "inspection.json"
    async with local_backend() as backend:
        async with Client(backend.url, cassette=cassette, record_mode="once") as client:
            live = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
            live_view = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
            live_logs = await live_view.get_logs()
        url = backend.url
        assert backend.requests  # it really was asked
    # The backend is gone: everything below comes from the file.
    for _ in range(2):
        async with Client(url, cassette=cassette, record_mode="none") as client:
            assert client.replaying
            replayed = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
            view = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
            logs = await view.get_logs()
        assert replayed.to_dict() == live.to_dict()
        assert view.to_dict() == live_view.to_dict()
        assert [log.to_dict() for log in logs] == [log.to_dict() for log in live_logs]
    async with replay(cassette) as client:  # no URL at all
        assert (await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)).to_dict() == live.to_dict()


async def test_gather_of_identical_and_distinct_queries_in_shuffled_order(tmp_path):
    cassette = tmp_path / "gather.json"
    async with local_backend() as backend:
        ids = await backend.seed_synthetic(flow_runs=6, task_runs=3, logs=2, seed=1)
        calls = [(TASK_RUNS_QUERY, run) for run in ids] + [(FLOW_RUN_NAME_QUERY, ids[0])] * 4
        async with Client(backend.url, cassette=cassette) as client:
            live = await asyncio.gather(*(client.execute(q, {"id": i}) for q, i in calls))
    order = list(range(len(calls)))
    random.Random(3).shuffle(order)
    async with replay(cassette) as client:
        replayed = await asyncio.gather(
            *(client.execute(calls[n][0], {"id": calls[n][1]}) for n in order)
        )
        assert client.recorder is not None
        assert client.recorder.all_played
    assert {n: answer for n, answer in zip(order, replayed, strict=True)} == dict(enumerate(live))


async def test_two_clients_with_two_cassettes_at_once(tmp_path):
    doc, synthetic = tmp_path / "doc.json", tmp_path / "synthetic.json"
    async with local_backend() as backend:
        (run_id,) = await backend.seed_synthetic(flow_runs=1, task_runs=4, logs=3, seed=2)

        async def inspect(cassette, flow_run_id, url, mode):
            async with Client(url, cassette=cassette, record_mode=mode) as client:
                return (await inspect_flow_run(flow_run_id, client=client)).to_dict()

        live = await asyncio.gather(
            inspect(doc, DOC_FLOW_RUN_ID, backend.url, "once"),
            inspect(synthetic, run_id, backend.url, "once"),
        )
        url = backend.url
    replayed = await asyncio.gather(
        inspect(doc, DOC_FLOW_RUN_ID, url, "none"), inspect(synthetic, run_id, url, "none")
    )
    assert replayed == live
    for cassette, other_id in ((doc, run_id), (synthetic, DOC_FLOW_RUN_ID)):
        assert other_id not in cassette.read_text()


async def test_a_miss_is_never_retried(tmp_path):
    cassette = tmp_path / "miss.json"
    async with local_backend() as backend, Client(backend.url, cassette=cassette) as client:
        await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
    recorder = Recorder(cassette, record_mode="none")
    async with Client("http://127.0.0.1:9", recorder=recorder, retry=RetryPolicy()) as client:
        with pytest.raises(CassetteMismatchError, match="FlowRun"):
            await FlowRunView.from_flow_run_id(UNKNOWN_RUN_ID, client=client)
    assert recorder.calls() == 1


async def test_api_key_and_tenant_never_reach_the_cassette(tmp_path):
    cassette = tmp_path / "keyed.json"
    async with local_backend() as backend, Client(backend.url, api_key=API_KEY, tenant_id=TENANT_ID,
                      cassette=cassette) as client:
        live = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
    text = cassette.read_text()
    assert API_KEY not in text
    assert TENANT_ID not in text
    assert "authorization" not in text.lower()
    async with Client("http://127.0.0.1:9", api_key=API_KEY, tenant_id=TENANT_ID,
                      cassette=cassette, record_mode="none") as client:
        assert (await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)).to_dict() == live.to_dict()
    assert json.loads(text)["flowview"]["sdk_version"]


HEARTY_MARMOT_ID = "e1d2c3b4-a5f6-4789-9abc-def012345678"


def _state(kind: str, message: str) -> dict[str, object]:
    return {"type": kind, "message": message, "context": {}, "cached_inputs": {},
            "__version__": "1.4.1",
            "_result": {"type": "Result", "location": None, "__version__": "1.4.1"}}


async def test_a_replayed_watch_loop_does_not_really_sleep(tmp_path):
    cassette = tmp_path / "watch.json"
    async with local_backend() as backend:
        await backend.set_state("flow_run", HEARTY_MARMOT_ID, _state("Running", "Started"))

        async def finish_soon() -> None:
            await asyncio.sleep(0.3)
            await backend.set_state("flow_run", HEARTY_MARMOT_ID, _state("Success", "All done"))

        async with Client(backend.url, cassette=cassette) as client:
            finisher = asyncio.create_task(finish_soon())
            live = [event async for event in watch_flow_run(
                HEARTY_MARMOT_ID, client=client, poll_interval=0.05, max_poll_interval=0.05)]
            await finisher
    assert type(live[-1]).__name__ == "RunFinished"
    # An hour between polls: this only ends because replay skips the waits.
    async with replay(cassette) as client:
        replayed = await asyncio.wait_for(_collect_watch(client, poll_interval=3600), 60)
    assert replayed == live


async def _collect_watch(client: Client, *, poll_interval: float) -> list[object]:
    return [event async for event in watch_flow_run(
        HEARTY_MARMOT_ID, client=client, poll_interval=poll_interval,
        max_poll_interval=poll_interval, max_duration=None)]

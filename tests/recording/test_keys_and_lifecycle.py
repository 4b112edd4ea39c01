"""Request keys, record-mode parsing, off-loop file I/O and cancellation."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from flowview_async.errors import InvalidArgumentError
from flowview_async.recording import Recorder, RecordMode, RepeatPolicy
from flowview_async.recording import recorder as recorder_module
from flowview_async.recording.keys import graphql_payload, request_key
from tests.recording.graphql_test_server import TicketServer
from tests.recording.helpers import HELLO, TICKET, recorded_session, request


def _key(body: object, method: str = "POST", path: str = "/graphql"):
    return request_key(method, path, graphql_payload(body))


def test_keys_ignore_formatting_comments_and_variable_order():
    a = {"query": "query A($x: Int, $y: Int) { f(x: $x, y: $y) }", "variables": {"x": 1, "y": 2}}
    b = json.dumps({"variables": {"y": 2, "x": 1},
                    "query": "# note\nquery A($x: Int,\n $y: Int) {\n  f(x: $x, y: $y)\n}"})
    assert _key(a) == _key(b.encode())
    assert _key(a).operation == "A"  # derived from the document when operationName is absent


def test_keys_tell_apart_what_matters():
    base = {"query": "query A($x: Int) { f(x: $x) }", "variables": {"x": 1}}
    assert _key(base) != _key({**base, "variables": {"x": 2}})
    assert _key(base) != _key({**base, "query": "query A($x: Int) { g(x: $x) }"})
    assert _key(base) != _key(base, path="/other")
    assert _key(base) != _key(base, method="GET")
    assert _key(base) != _key({**base, "extensions": {"persisted": 1}})


def test_introspection_queries_match_each_other():
    old = {"query": "query IntrospectionQuery { __schema { types { name } } }"}
    new = {"query": "query IntrospectionQuery { __schema { queryType { name } types { name } } }"}
    assert _key(old) == _key(new)
    one_type = {"query": '{ __type(name: "flow_run") { name } }'}
    other_type = {"query": '{ __type(name: "task_run") { name } }'}
    assert _key(one_type) != _key(other_type)


def test_batches_and_non_graphql_bodies_get_keys():
    batch = [{"query": "query A { a }"}, {"query": "query B { b }", "variables": {"v": 1}}]
    assert _key(batch).operation == "A+B"
    assert _key(b"plain text").operation is None
    assert _key(b"plain text") != _key(b"other text")


def test_modes_and_policies_are_validated():
    assert RecordMode.coerce("New_Episodes") is RecordMode.NEW_EPISODES
    assert RepeatPolicy.coerce("cycle") is RepeatPolicy.CYCLE
    assert RecordMode.coerce("rewrite") is RecordMode.REWRITE  # pytest-recording's mode
    with pytest.raises(InvalidArgumentError, match="'rewrite'"):
        Recorder("x.json", record_mode="sometimes")  # the message lists every mode
    with pytest.raises(InvalidArgumentError, match="repeat policy"):
        Recorder("x.json", repeat="forever")


async def test_loading_and_saving_happen_off_the_event_loop(tmp_path, monkeypatch):
    threads: list[str] = []
    real_load, real_save = recorder_module.load_cassette_file, recorder_module.save_cassette_file

    def spy_load(*args, **kwargs):
        threads.append("load:" + threading.current_thread().name)
        return real_load(*args, **kwargs)

    def spy_save(*args, **kwargs):
        threads.append("save:" + threading.current_thread().name)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(recorder_module, "load_cassette_file", spy_load)
    monkeypatch.setattr(recorder_module, "save_cassette_file", spy_save)
    loop_thread = threading.current_thread().name
    async with TicketServer() as server, recorded_session(
        server.url, Recorder(tmp_path / "io.json")
    ) as session:
        await session.execute(request(HELLO, name="ann"))
    assert [entry.split(":")[0] for entry in threads] == ["load", "save"]
    assert all(entry.split(":")[1] != loop_thread for entry in threads)


async def test_a_cancelled_request_is_not_recorded_and_the_rest_is_saved(tmp_path):
    cassette = tmp_path / "cancel.json"
    async with TicketServer() as server:
        recorder = Recorder(cassette)
        async with recorded_session(server.url, recorder) as session:
            slow = asyncio.create_task(session.execute(request(TICKET)))  # ticket 1 is slow
            await asyncio.sleep(0.05)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            await session.execute(request(HELLO, name="after"))
    stored = json.loads(cassette.read_text())["interactions"]
    assert [i["request"]["body"].get("variables") for i in stored] == [{"name": "after"}]
    assert recorder.record_count == 1


async def test_cancelling_close_still_saves_and_a_second_close_waits(tmp_path):
    cassette = tmp_path / "close.json"
    recorder = Recorder(cassette)
    async with TicketServer() as server, recorded_session(server.url, recorder) as session:
        await session.execute(request(HELLO, name="kept"))
        closing = asyncio.create_task(recorder.close())
        await asyncio.sleep(0)  # the save has started
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        await recorder.close()  # waits for the save the cancelled close started
        assert json.loads(cassette.read_text())["interactions"][0]["request"]["body"][
            "variables"] == {"name": "kept"}

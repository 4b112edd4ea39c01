"""Record against a live server, stop it, replay: same answers, whatever the scheduling."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from flowview_async.errors import CassetteMismatchError
from flowview_async.recording import Recorder
from tests.recording.graphql_test_server import TicketServer
from tests.recording.helpers import DEAD_URL, HELLO, TICKET, recorded_session, request

NAMES = [f"user{i}" for i in range(12)]


async def test_distinct_queries_replay_in_any_order(tmp_path):
    cassette = tmp_path / "distinct.json"
    async with TicketServer() as server, recorded_session(server.url, Recorder(cassette)) as session:
        live = await asyncio.gather(*(session.execute(request(HELLO, name=n)) for n in NAMES))
    shuffled = NAMES[:]
    random.Random(7).shuffle(shuffled)
    recorder = Recorder(cassette, record_mode="none")
    async with recorded_session(DEAD_URL, recorder) as session:
        replayed = await asyncio.gather(
            *(session.execute(request(HELLO, name=n)) for n in shuffled)
        )
    assert dict(zip(shuffled, replayed, strict=True)) == dict(zip(NAMES, live, strict=True))
    assert recorder.play_count == len(NAMES)
    assert recorder.all_played


async def test_identical_concurrent_requests_replay_what_they_got_live(tmp_path):
    cassette = tmp_path / "tickets.json"
    async with TicketServer() as server, recorded_session(server.url, Recorder(cassette)) as session:
        live = await asyncio.gather(*(session.execute(request(TICKET)) for _ in range(4)))
    # Odd tickets answered slowly: completion order was 2, 4, 1, 3, issue order 1, 2, 3, 4.
    assert [result["ticket"] for result in live] == [1, 2, 3, 4]
    stored = json.loads(cassette.read_text())["interactions"]
    assert [json.loads(i["response"]["body"]["string"])["data"]["ticket"] for i in stored] == [
        1, 2, 3, 4,
    ]
    for _ in range(2):  # replaying twice gives the same answers again
        async with recorded_session(DEAD_URL, Recorder(cassette, record_mode="none")) as session:
            replayed = await asyncio.gather(
                *(session.execute(request(TICKET)) for _ in range(4))
            )
        assert replayed == live


async def test_two_clients_with_two_cassettes_at_once_never_mix(tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"

    async def talk(url: str, cassette, names, record_mode="once"):
        async with recorded_session(url, Recorder(cassette, record_mode=record_mode)) as session:
            results = []
            for name in names:
                results.append(await session.execute(request(HELLO, name=name)))
                await asyncio.sleep(0)  # interleave the two clients
            return results

    async with TicketServer() as server:
        live = await asyncio.gather(
            talk(server.url, first, ["x1", "x2", "x3"]), talk(server.url, second, ["y1", "y2"])
        )
    ops = [
        [i["request"]["body"]["variables"]["name"] for i in json.loads(p.read_text())["interactions"]]
        for p in (first, second)
    ]
    assert ops == [["x1", "x2", "x3"], ["y1", "y2"]]
    replayed = await asyncio.gather(
        talk(DEAD_URL, first, ["x1", "x2", "x3"], "none"),
        talk(DEAD_URL, second, ["y1", "y2"], "none"),
    )
    assert replayed == live


async def test_formatting_variable_order_and_host_do_not_matter(tmp_path):
    cassette = tmp_path / "format.json"
    document = "query Two($a: String!, $b: String!) { x: hello(name: $a) y: hello(name: $b) }"
    async with TicketServer() as server, recorded_session(server.url, Recorder(cassette)) as session:
        live = await session.execute(request(document, a="1", b="2"))
    reformatted = """
        # a comment
        query Two($a: String!,    $b: String!) {
          x: hello(name: $a)
          y: hello(name: $b)
        }"""
    async with recorded_session(
        "http://elsewhere.invalid:4200/graphql", Recorder(cassette, record_mode="none")
    ) as session:
        replayed = await session.execute(request(reformatted, b="2", a="1"))
    assert replayed == live


async def test_cassette_is_readable_json_with_metadata(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    cassette = tmp_path / "readable.json"
    async with TicketServer() as server, recorded_session(server.url, Recorder(cassette)) as session:
        await session.execute(request(HELLO, name="ann"))
    text = cassette.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # Not vcrpy's "metadata": pytest-recording 0.14 cannot load a cassette that has one.
    assert "metadata" not in data
    meta = data["flowview"]
    assert meta["recorded_at"] == "2023-11-14T22:13:20Z"
    assert len(meta["schema_sha256"]) == 16
    assert meta["sdk_version"]
    interaction = data["interactions"][0]
    assert interaction["request"]["body"]["variables"] == {"name": "ann"}
    assert interaction["response"]["body"]["string"] == json.dumps(
        {"data": {"hello": "Hello ann"}}, indent=2, sort_keys=True
    )
    assert "date" not in {name.lower() for name in interaction["response"]["headers"]}


async def test_miss_is_a_clear_error_that_gql_passes_through(tmp_path):
    cassette = tmp_path / "miss.json"
    async with TicketServer() as server, recorded_session(server.url, Recorder(cassette)) as session:
        await session.execute(request(HELLO, name="ann"))
        await session.execute(request(HELLO, name="bob"))
    recorder = Recorder(cassette, record_mode="once")
    async with recorded_session(DEAD_URL, recorder) as session:
        with pytest.raises(CassetteMismatchError) as caught:
            await session.execute(request(HELLO, name="anne"))
    message = str(caught.value)
    assert "'Hello'" in message
    assert '{"name":"anne"}' in message
    assert str(cassette) in message
    assert "record mode 'once'" in message
    assert '-  "name": "ann"' in message
    assert '+  "name": "anne"' in message
    assert "record_mode='new_episodes'" in message
    # Prose is never wrapped in backticks: without a command to paste, there are none at all.
    assert "`" not in message
    assert "How to fix: open the client with record_mode='new_episodes'" in message


async def test_a_rerecord_command_is_the_only_text_in_backticks(tmp_path):
    cassette = tmp_path / "command.json"
    async with TicketServer() as server, recorded_session(server.url, Recorder(cassette)) as session:
        await session.execute(request(HELLO, name="ann"))
    command = "pytest tests/test_x.py::test_y --flowview-record-mode=new_episodes"
    recorder = Recorder(cassette, record_mode="none", rerecord_command=command)
    async with recorded_session(DEAD_URL, recorder) as session:
        with pytest.raises(CassetteMismatchError) as caught:
            await session.execute(request(HELLO, name="bob"))
    message = str(caught.value)
    assert message.count("`") == 2
    assert f"How to fix: run `{command}` to record the missing answers; or fix the request." in message


async def test_exhausted_answers_follow_the_repeat_policy(tmp_path):
    cassette = tmp_path / "poll.json"
    async with TicketServer() as server, recorded_session(server.url, Recorder(cassette)) as session:
        live = [(await session.execute(request(TICKET)))["ticket"] for _ in range(2)]
    assert live == [1, 2]

    async def play(repeat: str, times: int) -> list[int]:
        recorder = Recorder(cassette, record_mode="none", repeat=repeat)
        async with recorded_session(DEAD_URL, recorder) as session:
            return [(await session.execute(request(TICKET)))["ticket"] for _ in range(times)]

    assert await play("repeat_last", 4) == [1, 2, 2, 2]
    assert await play("cycle", 5) == [1, 2, 1, 2, 1]
    with pytest.raises(CassetteMismatchError, match="already played"):
        await play("error", 3)


async def test_record_modes(tmp_path):
    cassette = tmp_path / "modes.json"
    with pytest.raises(CassetteMismatchError, match="does not exist"):
        await Recorder(cassette, record_mode="none").open()
    async with TicketServer() as server:
        async with recorded_session(server.url, Recorder(cassette)) as session:
            assert (await session.execute(request(TICKET)))["ticket"] == 1
        # once, with a file: replays, and the server is not asked
        recorder = Recorder(cassette, record_mode="once")
        async with recorded_session(server.url, recorder) as session:
            assert recorder.replaying
            assert (await session.execute(request(TICKET)))["ticket"] == 1
        assert server.counter == 1
        # new_episodes: replays what it has, records the rest, appends
        recorder = Recorder(cassette, record_mode="new_episodes")
        async with recorded_session(server.url, recorder) as session:
            assert not recorder.replaying
            first = await session.execute(request(TICKET))
            second = await session.execute(request(TICKET))
            hello = await session.execute(request(HELLO, name="new"))
        assert (first["ticket"], second["ticket"], hello["hello"]) == (1, 2, "Hello new")
        assert len(json.loads(cassette.read_text())["interactions"]) == 3
        # all: always live; re-recorded requests replace their old answers, others are kept
        async with recorded_session(server.url, Recorder(cassette, record_mode="all")) as session:
            assert (await session.execute(request(TICKET)))["ticket"] == 3
    stored = json.loads(cassette.read_text())["interactions"]
    bodies = [json.loads(i["response"]["body"]["string"])["data"] for i in stored]
    assert bodies == [{"hello": "Hello new"}, {"ticket": 3}]


async def test_recorder_is_idempotent_to_close_and_refuses_reuse(tmp_path):
    recorder = Recorder(tmp_path / "x.json")
    await recorder.open()
    await recorder.open()
    await recorder.close()
    await recorder.close()
    assert not (tmp_path / "x.json").exists()  # nothing recorded, nothing written
    with pytest.raises(Exception, match="was closed"):
        await recorder.open()

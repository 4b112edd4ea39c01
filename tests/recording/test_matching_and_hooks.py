"""match_on, custom matchers, variable rules, vcrpy's hooks, allow_playback_repeats and rewrite."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from flowview_async.errors import CassetteMismatchError, InvalidArgumentError
from flowview_async.recording import (
    MatchRequest,
    Recorder,
    ignore_variable,
    normalise_variable,
    register_matcher,
    relative_time,
    unregister_matcher,
)
from tests.recording.graphql_test_server import TicketServer
from tests.recording.helpers import DEAD_URL, ECHO, HELLO, recorded_session, request


async def _record(path: Path, calls: list[tuple[str, dict[str, Any]]], **options: Any) -> list[Any]:
    async with TicketServer() as server, recorded_session(
        server.url, Recorder(path, record_mode="once", **options)
    ) as session:
        return [await session.execute(request(document, **variables))
                for document, variables in calls]


async def _replay(path: Path, calls: list[tuple[str, dict[str, Any]]], **options: Any) -> list[Any]:
    async with recorded_session(DEAD_URL, Recorder(path, record_mode="none", **options)) as session:
        return [await session.execute(request(document, **variables))
                for document, variables in calls]


async def test_match_on_without_variables_serves_other_variables(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    await _record(cassette, [(HELLO, {"name": "a"})])
    with pytest.raises(CassetteMismatchError):
        await _replay(cassette, [(HELLO, {"name": "b"})])
    answers = await _replay(cassette, [(HELLO, {"name": "b"})],
                            match_on=["method", "path", "operation"])
    assert answers == [{"hello": "Hello a"}]


async def test_a_registered_custom_matcher_is_a_key_function(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    await _record(cassette, [(HELLO, {"name": "Ann"})])

    def name_initial(req: MatchRequest) -> str:
        return str(req.variables.get("name", ""))[:1].lower()

    register_matcher("initial", name_initial)
    try:
        answers = await _replay(cassette, [(HELLO, {"name": "anna"})],
                                match_on=["operation", "initial"])
        assert answers == [{"hello": "Hello Ann"}]
        with pytest.raises(CassetteMismatchError):
            await _replay(cassette, [(HELLO, {"name": "Bob"})], match_on=["operation", "initial"])
        # A function can go into match_on directly, without a name.
        assert await _replay(cassette, [(HELLO, {"name": "Al"})],
                             match_on=["operation", name_initial]) == [{"hello": "Hello Ann"}]
    finally:
        unregister_matcher("initial")
    with pytest.raises(InvalidArgumentError, match="Unknown matcher 'initial'"):
        Recorder(cassette, match_on=["initial"])
    with pytest.raises(InvalidArgumentError, match="built-in"):
        register_matcher("method", name_initial)


async def test_ignored_and_normalised_variables(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    rules = [ignore_variable("input.nested.note"), normalise_variable("input.name", str.lower)]
    await _record(cassette, [(ECHO, {"input": {"name": "Ann", "nested": {"note": "id-1"}}})],
                  variable_rules=rules)
    stored = json.loads(cassette.read_text())["interactions"][0]["request"]["body"]["variables"]
    assert stored == {"input": {"name": "Ann", "nested": {"note": "id-1"}}}  # stored as sent
    answers = await _replay(cassette, [(ECHO, {"input": {"name": "ANN", "nested": {"note": "id-2"}}})],
                            variable_rules=rules)
    assert json.loads(answers[0]["echo"]) == {"name": "Ann", "nested": {"note": "id-1"}}
    with pytest.raises(CassetteMismatchError):
        await _replay(cassette, [(ECHO, {"input": {"name": "Bo", "nested": {"note": "id-1"}}})],
                      variable_rules=rules)


async def test_wildcards_and_operation_scoped_rules(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    await _record(cassette, [(ECHO, {"input": {"name": "x", "nested": {"note": "n1"}}})])
    everywhere = [ignore_variable("**.note")]
    other_operation = [ignore_variable("**.note", operation="Hello")]
    call = [(ECHO, {"input": {"name": "x", "nested": {"note": "n2"}}})]
    assert len(await _replay(cassette, call, variable_rules=everywhere)) == 1
    with pytest.raises(CassetteMismatchError):
        await _replay(cassette, call, variable_rules=other_operation)
    with pytest.raises(InvalidArgumentError, match="dotted names"):
        ignore_variable("a..b")


async def test_relative_time_is_stored_symbolically_and_replays_later(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    recorded_now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    since = (recorded_now - dt.timedelta(minutes=10)).isoformat()
    await _record(cassette, [(HELLO, {"name": since})],
                  variable_rules=[relative_time("name", now=recorded_now)])
    stored = json.loads(cassette.read_text())["interactions"][0]["request"]["body"]["variables"]
    assert stored == {"name": "<now - 600s>"}
    later = recorded_now + dt.timedelta(minutes=1)
    later_since = (later - dt.timedelta(minutes=10)).isoformat()
    answers = await _replay(cassette, [(HELLO, {"name": later_since})],
                            variable_rules=[relative_time("name", now=later)])
    assert answers == [{"hello": f"Hello {since}"}]
    # A clock instead of an instant: the offset is rounded to the granularity.
    answers = await _replay(
        cassette, [(HELLO, {"name": (later - dt.timedelta(minutes=10, seconds=0.2)).isoformat()})],
        variable_rules=[relative_time("name", now=lambda: later, granularity=1)])
    assert len(answers) == 1


async def test_variable_rules_added_after_opening_rekey_the_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    await _record(cassette, [(HELLO, {"name": "a"})])
    recorder = Recorder(cassette, record_mode="none")
    async with recorded_session(DEAD_URL, recorder) as session:
        recorder.add_variable_rules(ignore_variable("name"))
        assert await session.execute(request(HELLO, name="zzz")) == {"hello": "Hello a"}
        with pytest.raises(InvalidArgumentError, match="before the first request"):
            recorder.add_variable_rules(ignore_variable("other"))


async def test_before_record_request_hook_scrubs_and_skips(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    seen: list[dict[str, Any]] = []

    def scrub(req: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(req)
        if req["body"]["variables"]["name"] == "skip-me":
            return None
        req["body"]["variables"]["name"] = "someone"
        return req

    await _record(cassette, [(HELLO, {"name": "Ann"}), (HELLO, {"name": "skip-me"})],
                  before_record_request=scrub)
    interactions = json.loads(cassette.read_text())["interactions"]
    assert [entry["request"]["body"]["variables"] for entry in interactions] == [{"name": "someone"}]
    assert interactions[0]["response"]["body"]["string"].count("Hello Ann") == 1
    assert set(seen[0]) == {"method", "uri", "body", "headers"}
    # The hook runs on new requests too: any name replays the scrubbed recording.
    answers = await _replay(cassette, [(HELLO, {"name": "Bob"})], before_record_request=scrub)
    assert answers == [{"hello": "Hello Ann"}]


async def test_before_record_response_hook_rewrites_and_drops(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"

    def response_hook(resp: dict[str, Any]) -> dict[str, Any] | None:
        if "Hello drop" in resp["body"]["string"]:
            return None
        resp["body"]["string"] = resp["body"]["string"].replace("Ann", "[name]")
        return resp

    live = await _record(cassette, [(HELLO, {"name": "Ann"}), (HELLO, {"name": "drop"})],
                         before_record_response=[response_hook])
    assert live == [{"hello": "Hello Ann"}, {"hello": "Hello drop"}]  # the caller saw it live
    interactions = json.loads(cassette.read_text())["interactions"]
    assert len(interactions) == 1
    assert "[name]" in interactions[0]["response"]["body"]["string"]
    assert await _replay(cassette, [(HELLO, {"name": "Ann"})]) == [{"hello": "Hello [name]"}]


async def test_a_hook_returning_something_else_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="return the dict, or None") as raised:
        await _record(tmp_path / "c.json", [(HELLO, {"name": "a"})],
                      before_record_request=lambda req: "oops")
    # Raw gql wraps it; flowview's Client hands our own errors through unwrapped.
    assert isinstance(raised.value.__cause__, InvalidArgumentError)


async def test_allow_playback_repeats(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    await _record(cassette, [(HELLO, {"name": "a"})])
    with pytest.raises(CassetteMismatchError, match="already played"):
        await _replay(cassette, [(HELLO, {"name": "a"})] * 2)
    answers = await _replay(cassette, [(HELLO, {"name": "a"})] * 3, allow_playback_repeats=True)
    assert answers == [{"hello": "Hello a"}] * 3


async def test_rewrite_replaces_the_file_only_when_it_closes(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    await _record(cassette, [(HELLO, {"name": "old"}), (HELLO, {"name": "kept?"})])
    async with TicketServer() as server:
        recorder = Recorder(cassette, record_mode="rewrite")
        async with recorded_session(server.url, recorder) as session:
            assert await session.execute(request(HELLO, name="old")) == {"hello": "Hello old"}
            assert len(json.loads(cassette.read_text())["interactions"]) == 2  # untouched so far
        assert server.requests == 1  # nothing was replayed
    stored = json.loads(cassette.read_text())["interactions"]
    assert [entry["request"]["body"]["variables"] for entry in stored] == [{"name": "old"}]
    # Rewritten with no request at all: no cassette is left.
    async with Recorder(cassette, record_mode="rewrite"):
        pass
    assert not cassette.exists()

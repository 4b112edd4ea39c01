"""A variable that held a secret when recorded replays, and its value is never printed."""

from __future__ import annotations

import json

import pytest

from flowview_async import Client
from flowview_async.errors import CassetteMismatchError
from flowview_async.recording import replay
from flowview_async.recording.redacted_slots import fill_redacted_slots, redacted_slots
from tests.recording.helpers import local_backend

API_KEY = "pnu_SECRETKEY123"
BY_NAME = "query ByName($n: String!, $limit: Int) { flow(where: {name: {_eq: $n}}, limit: $limit) { id } }"


async def _record(cassette, variables) -> None:
    async with local_backend() as backend, Client(
        backend.url, api_key=API_KEY, cassette=cassette
    ) as client:
        await client.execute(BY_NAME, variables)


async def test_a_secret_variable_replays_with_and_without_the_key_registered(tmp_path):
    cassette = tmp_path / "secret.json"
    await _record(cassette, {"n": API_KEY, "limit": 5})
    assert API_KEY not in cassette.read_text()
    stored = json.loads(cassette.read_text())["interactions"][0]["request"]["body"]["variables"]
    assert stored == {"n": "<REDACTED>", "limit": 5}
    # With the key registered (the recording client's own settings) and without it (CI has no key).
    for client in (replay(cassette, api_key=API_KEY), replay(cassette)):
        async with client:
            assert await client.execute(BY_NAME, {"n": API_KEY, "limit": 5}) == {"flow": []}


@pytest.mark.parametrize("register", [True, False])
async def test_a_miss_report_never_prints_the_secret(tmp_path, register):
    cassette = tmp_path / "secret.json"
    await _record(cassette, {"n": API_KEY, "limit": 5})
    client = replay(cassette, api_key=API_KEY) if register else replay(cassette)
    async with client:
        with pytest.raises(CassetteMismatchError) as caught:
            await client.execute(BY_NAME, {"n": API_KEY, "limit": 6})  # limit differs: a miss
    error = caught.value
    assert API_KEY not in str(error)
    assert error.variables is not None
    assert API_KEY not in error.variables
    assert '"n": "<REDACTED>"' in str(error)  # the diff shows the placeholder on both sides
    assert '+  "limit": 6' in str(error)


async def test_a_registered_secret_in_a_document_with_no_recording_is_not_printed(tmp_path):
    cassette = tmp_path / "secret.json"
    await _record(cassette, {"n": "plain", "limit": 5})
    other = "query Other($n: String!) { flow(where: {name: {_eq: $n}}) { id } }"
    async with replay(cassette, api_key=API_KEY) as client:
        with pytest.raises(CassetteMismatchError) as caught:
            await client.execute(other, {"n": f"x{API_KEY}y"})
    assert API_KEY not in str(caught.value)


def test_slots_are_the_paths_of_the_placeholder():
    slots = redacted_slots('{"a":{"b":["<REDACTED>","x"]},"c":"<REDACTED>","d":"no <REDACTED>"}')
    assert slots == {("a", "b", 0), ("c",)}
    variables = {"a": {"b": ["k3y-value", "x"]}, "c": 1234, "d": "keep"}
    filled, found = fill_redacted_slots(variables, slots)
    assert filled == {"a": {"b": ["<REDACTED>", "x"]}, "c": "<REDACTED>", "d": "keep"}
    assert sorted(found) == ["1234", "k3y-value"]
    assert variables["a"] == {"b": ["k3y-value", "x"]}  # the input is left alone
    assert fill_redacted_slots({"c": {"nested": 1}}, slots) == ({"c": {"nested": 1}}, [])

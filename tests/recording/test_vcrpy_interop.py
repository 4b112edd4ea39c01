"""Plain vcrpy replays our cassettes, and we replay cassettes vcrpy recorded from this traffic."""

from __future__ import annotations

import asyncio

import pytest
import vcr
from gql import Client as GqlClient
from gql.transport.aiohttp import AIOHTTPTransport

from flowview_async.recording import Recorder
from flowview_async.recording.vcr_compat import register_graphql_matcher
from tests.recording.graphql_test_server import TicketServer
from tests.recording.helpers import DEAD_URL, HELLO, TICKET, recorded_session, request

NAMES = ["ann", "bob", "cy"]


async def _plain_gql(url: str) -> list[object]:
    """The same traffic through a plain gql client: no middleware, nothing of ours."""
    async with GqlClient(transport=AIOHTTPTransport(url=url)) as session:
        results = [await session.execute(request(HELLO, name=name)) for name in reversed(NAMES)]
        results.append(await session.execute(request(TICKET)))
        return results


def _plain_vcr(serializer: str, record_mode: str) -> vcr.VCR:
    return register_graphql_matcher(
        vcr.VCR(serializer=serializer, record_mode=record_mode,
                match_on=["method", "path", "graphql"], decode_compressed_response=True)
    )


@pytest.mark.parametrize("suffix", ["json", "yaml"])
async def test_plain_vcrpy_replays_our_cassette(tmp_path, suffix):
    cassette = tmp_path / f"ours.{suffix}"
    async with TicketServer() as server:
        async with recorded_session(server.url, Recorder(cassette)) as session:
            for name in NAMES:
                await session.execute(request(HELLO, name=name))
            await session.execute(request(TICKET))
        live = await _plain_gql(server.url)  # ticket 2 here, but reversed names: same answers
    with _plain_vcr(suffix, "none").use_cassette(str(cassette)) as played:
        replayed = await _plain_gql(DEAD_URL)
        assert played.play_count == 4
    assert replayed[:3] == live[:3]
    assert replayed[3] == {"ticket": 1}


@pytest.mark.parametrize("suffix", ["json", "yaml"])
async def test_we_replay_a_cassette_plain_vcrpy_recorded(tmp_path, suffix):
    cassette = tmp_path / f"theirs.{suffix}"
    async with TicketServer() as server:
        with _plain_vcr(suffix, "once").use_cassette(str(cassette)):
            live = await _plain_gql(server.url)
    recorder = Recorder(cassette, record_mode="none")
    async with recorded_session(DEAD_URL, recorder) as session:
        replayed = await asyncio.gather(
            *(session.execute(request(HELLO, name=name)) for name in NAMES),
            session.execute(request(TICKET)),
        )
    assert list(replayed[:3]) == list(reversed(live[:3]))
    assert replayed[3] == live[3]
    assert recorder.all_played

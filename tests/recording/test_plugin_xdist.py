"""pytest-xdist: two workers record different cassettes at the same time; two workers that would
write one cassette are stopped before either can overwrite the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SERVER_SOURCE = (Path(__file__).parent / "graphql_test_server.py").read_text()

# Each test announces itself, then waits for the other: both are recording at once, or the run
# times out (so they cannot have run one after the other on a single worker).
WORKER_TEST = '''
import asyncio, os, time
from pathlib import Path
import pytest
from gql import Client as GqlClient, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from ticket_server import TicketServer

HELLO = "query Hello($n: String!) { hello(name: $n) }"
MEETING = Path(os.environ["MEETING_DIR"])


async def _record(recorder, me, other, worker_id):
    async with TicketServer() as server:
        await recorder.open()
        (MEETING / me).write_text(worker_id)
        deadline = time.monotonic() + 120
        while not (MEETING / other).exists():
            assert time.monotonic() < deadline, "the other worker never started"
            await asyncio.sleep(0.05)
        transport = AIOHTTPTransport(url=server.url,
                                     client_session_args={"middlewares": (recorder.middleware,)})
        async with GqlClient(transport=transport) as session:
            return await session.execute(GraphQLRequest(HELLO, variable_values={"n": me}))
'''

DISTINCT = WORKER_TEST + '''

async def test_one(flowview_recorder, worker_id):
    assert await _record(flowview_recorder, "one", "two", worker_id) == {"hello": "Hello one"}


async def test_two(flowview_recorder, worker_id):
    assert await _record(flowview_recorder, "two", "one", worker_id) == {"hello": "Hello two"}
'''

SHARED = WORKER_TEST + '''

@pytest.fixture
def both_started(worker_id):
    # Sync, and requested before flowview_recorder: each test holds a worker until both started.
    (MEETING / ("setup-" + worker_id)).write_text("")
    deadline = time.monotonic() + 120
    while len(list(MEETING.glob("setup-*"))) < 2:
        assert time.monotonic() < deadline, "the other worker never started"
        time.sleep(0.05)


async def _record_alone(recorder, name):
    async with TicketServer() as server:
        await recorder.open()
        transport = AIOHTTPTransport(url=server.url,
                                     client_session_args={"middlewares": (recorder.middleware,)})
        async with GqlClient(transport=transport) as session:
            return await session.execute(GraphQLRequest(HELLO, variable_values={"n": name}))


@pytest.mark.flowview_cassette("shared.json")
async def test_first(both_started, flowview_recorder):
    await _record_alone(flowview_recorder, "first")


@pytest.mark.flowview_cassette("shared.json")
async def test_second(both_started, flowview_recorder):
    await _record_alone(flowview_recorder, "second")
'''


@pytest.fixture
def xdist_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    meeting = pytester.path / "meeting"
    meeting.mkdir()
    monkeypatch.setenv("MEETING_DIR", str(meeting))
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
                     "addopts = -p no:randomly\n")
    pytester.makepyfile(ticket_server=SERVER_SOURCE)
    return pytester


def test_two_workers_record_different_cassettes_at_once(xdist_project: pytest.Pytester) -> None:
    xdist_project.makepyfile(test_workers=DISTINCT)
    result = xdist_project.runpytest_subprocess("-n", "2", "--flowview-record-mode=once")
    result.assert_outcomes(passed=2)
    meeting = xdist_project.path / "meeting"
    assert {(meeting / "one").read_text(), (meeting / "two").read_text()} == {"gw0", "gw1"}
    for name in ("one", "two"):
        cassette = xdist_project.path / "cassettes" / "test_workers" / f"test_{name}.json"
        interactions = json.loads(cassette.read_text())["interactions"]
        assert [entry["request"]["body"]["variables"] for entry in interactions] == [{"n": name}]
    # Both replay, on two workers again, with nothing listening.
    for stale in meeting.iterdir():
        stale.unlink()
    xdist_project.runpytest_subprocess("-n", "2").assert_outcomes(passed=2)


def test_two_workers_cannot_write_one_cassette(xdist_project: pytest.Pytester) -> None:
    xdist_project.makepyfile(test_shared=SHARED)
    result = xdist_project.runpytest_subprocess("-n", "2", "--flowview-record-mode=new_episodes")
    # One worker claimed shared.json; the other is told at once, before touching the file.
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*is being recorded by xdist worker gw*cannot record into it too*"])

"""The plugin's options in fresh pytest processes: flowview_config and its overrides (session
conftest, module, class, marker), each recorder option and hook, rewrite, and --flowview-live."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SERVER_SOURCE = (Path(__file__).parent / "graphql_test_server.py").read_text()

CONFTEST = '''
import pytest
from flowview_async.recording import ignore_variable, register_matcher

register_matcher("name_length", lambda request: len(request.variables.get("name", "")))


def soften(response):                      # before_record_response: rewrite what is stored
    response["body"]["string"] = response["body"]["string"].replace("Hello", "Hi")
    return response


def skip_private(request):                 # before_record_request: None keeps it out
    return None if request["body"]["variables"].get("name") == "private" else request


@pytest.fixture(scope="session")
def flowview_config():
    return {
        "before_record_response": [soften],
        "before_record_request": skip_private,
        "variable_rules": [ignore_variable("stamp")],
        "secrets": ["s3cr3t-token"],
        "response_headers": ["x-extra"],
        "uri_origin": "http://recorded.invalid:4200",
        "canonical_order": True,
    }
'''

HELPERS = '''
from gql import Client as GqlClient, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from ticket_server import TicketServer

HELLO = "query Hello($name: String!, $stamp: String) { hello(name: $name) echo(input: {name: $stamp}) }"
DEAD = "http://127.0.0.1:9/graphql"


async def hello(recorder, live, *calls):
    async with TicketServer() as server:
        await recorder.open()
        transport = AIOHTTPTransport(url=server.url if live else DEAD,
                                     client_session_args={"middlewares": (recorder.middleware,)})
        async with GqlClient(transport=transport) as session:
            answers = [await session.execute(GraphQLRequest(HELLO, variable_values=variables))
                       for variables in calls]
        return answers, server.requests
'''

TEST_CONFIG = '''
import os
from pathlib import Path
import pytest
from flowview_helpers import hello


async def test_session_config_hooks_and_rules(flowview_recorder, flowview_record_mode):
    live = flowview_record_mode != "none"
    stamp = "s3cr3t-token" if live else "replayed"  # ignored by the rule; a secret when recorded
    calls = [{"name": "ann", "stamp": stamp}]
    if live:
        calls.append({"name": "private"})      # skipped by the request hook: never recorded
    answers, _ = await hello(flowview_recorder, live, *calls)
    # Live, the caller sees the real answer; replayed, what the response hook stored.
    assert answers[0]["hello"] == ("Hello ann" if live else "Hi ann")
    assert flowview_recorder.match_on == ("method", "path", "operation", "document", "variables")


@pytest.mark.flowview_cassette(match_on=["operation", "name_length"], repeat="cycle")
async def test_marker_overrides_config(flowview_recorder, flowview_record_mode):
    live = flowview_record_mode != "none"
    name = "bob" if live else "cat"             # same length: the registered matcher matches
    answers, _ = await hello(flowview_recorder, live, *[{"name": name}] * (1 if live else 3))
    assert {answer["hello"] for answer in answers} == {"Hello bob" if live else "Hi bob"}
    assert flowview_recorder.repeat.value == "cycle"


@pytest.mark.flowview_cassette(record_mode="all")
async def test_marker_record_mode(flowview_record_mode):
    assert flowview_record_mode == (os.environ.get("EXPECTED_MODE") or "all")


class TestClassOverride:
    @pytest.fixture
    def flowview_config(self):
        return {"allow_playback_repeats": True, "match_path": False, "cassette_dir": "elsewhere"}

    async def test_class_config_replaces_session_config(self, flowview_recorder,
                                                        flowview_cassette_path):
        assert flowview_recorder.repeat.value == "repeat_last"   # allow_playback_repeats
        assert "path" not in flowview_recorder.match_on
        assert flowview_cassette_path.parent == Path(__file__).parent / "elsewhere"


@pytest.mark.flowview_cassette(stamp_everything=True)
async def test_unknown_option(flowview_recorder):
    pass
'''

TEST_MODULE_OVERRIDE = '''
import pytest


@pytest.fixture(scope="module")
def flowview_config():
    return {"repeat": "repeat_last", "record_mode": "new_episodes"}


async def test_module_config(flowview_recorder, flowview_record_mode):
    assert flowview_recorder.repeat.value == "repeat_last"
    assert flowview_record_mode == "new_episodes"
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "addopts = --strict-markers -p no:randomly\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(ticket_server=SERVER_SOURCE, flowview_helpers=HELPERS,
                        test_config=TEST_CONFIG, test_module_override=TEST_MODULE_OVERRIDE)
    return pytester


def test_config_fixture_overrides_options_and_hooks(project: pytest.Pytester) -> None:
    # (The option beats any marker or config mode: the mode tests run in the next test.)
    recorded = project.runpytest_subprocess(
        "--flowview-record-mode=once", "-k", "not marker_record_mode and not module_config")
    recorded.assert_outcomes(passed=3, errors=1)
    recorded.stdout.fnmatch_lines(["*Unknown flowview option(s) stamp_everything*known: *"])
    cassettes = project.path / "cassettes" / "test_config"
    stored = json.loads((cassettes / "test_session_config_hooks_and_rules.json").read_text())
    interactions = stored["interactions"]
    assert [entry["request"]["body"]["variables"]["name"] for entry in interactions] == ["ann"]
    assert "Hi ann" in interactions[0]["response"]["body"]["string"]
    assert interactions[0]["request"]["uri"] == "http://recorded.invalid:4200/graphql"  # uri_origin
    assert "s3cr3t-token" not in json.dumps(stored)  # secrets: redacted before it reached the file

    # Replay (mode none): the ignored variable differs, the marker's matcher and repeat policy
    # serve three requests from one recording.
    replayed = project.runpytest_subprocess(
        "-k", "not unknown and not marker_record_mode and not module_config")
    replayed.assert_outcomes(passed=3)


def test_the_option_beats_the_marker_and_config(project: pytest.Pytester,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPECTED_MODE", "none")
    result = project.runpytest_subprocess("--flowview-record-mode=none", "-k", "marker_record_mode")
    result.assert_outcomes(passed=1)
    monkeypatch.setenv("EXPECTED_MODE", "")
    project.runpytest_subprocess("-k", "marker_record_mode or module_config").assert_outcomes(passed=2)


TEST_REWRITE_LIVE = '''
import os
from flowview_helpers import hello


async def test_names(flowview_recorder, flowview_record_mode):
    names = os.environ["NAMES"].split(",")
    live = flowview_record_mode != "none"
    answers, served = await hello(flowview_recorder, live, *[{"name": n} for n in names])
    assert [a["hello"] for a in answers] == [f"Hello {n}" for n in names]
    with open("served.txt", "w") as out:
        out.write(str(served))
'''


def test_rewrite_and_live(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(ticket_server=SERVER_SOURCE, flowview_helpers=HELPERS,
                        test_rw=TEST_REWRITE_LIVE)
    cassette = pytester.path / "cassettes" / "test_rw" / "test_names.json"

    def recorded_names() -> list[str]:
        return [entry["request"]["body"]["variables"]["name"]
                for entry in json.loads(cassette.read_text())["interactions"]]

    monkeypatch.setenv("NAMES", "a,b")
    pytester.runpytest_subprocess("--flowview-record-mode=once").assert_outcomes(passed=1)
    assert recorded_names() == ["a", "b"]
    # rewrite: recorded from scratch; what this run did not ask for is gone.
    monkeypatch.setenv("NAMES", "c")
    pytester.runpytest_subprocess("--flowview-record-mode=rewrite").assert_outcomes(passed=1)
    assert recorded_names() == ["c"]
    # live: every request reaches the server, the cassette is neither used nor changed.
    before = cassette.read_bytes()
    monkeypatch.setenv("NAMES", "d,e")
    pytester.runpytest_subprocess("--flowview-live").assert_outcomes(passed=1)
    assert (pytester.path / "served.txt").read_text() == "2"
    assert cassette.read_bytes() == before
    monkeypatch.setenv("FLOWVIEW_LIVE", "1")
    result = pytester.runpytest_subprocess("--flowview-record-mode=all")
    assert "cannot go with a record mode" in result.stdout.str() + result.stderr.str()

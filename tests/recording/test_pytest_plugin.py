"""The pytest plugin, exercised in fresh pytest processes with ``pytester``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# Variables that choose where the plugin records from: cleared so the machine's own don't.
_API_VARIABLES = ("FLOWVIEW_API", "PREFECT__SERVER__ENDPOINT", "PREFECT__CLOUD__API",
                  "PREFECT__BACKEND", "PREFECT__CLOUD__API_KEY")

SERVER_SOURCE = (Path(__file__).parent / "graphql_test_server.py").read_text()

TEST_MODULE = '''
import pytest
from gql import Client as GqlClient, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from ticket_server import TicketServer

HELLO = "query Hello($n: String!) { hello(name: $n) }"


async def _hello(recorder, live: bool, name: str):
    async with TicketServer() as server:
        url = server.url if live else "http://127.0.0.1:9/graphql"
        await recorder.open()
        transport = AIOHTTPTransport(
            url=url, client_session_args={"middlewares": (recorder.middleware,)})
        async with GqlClient(transport=transport) as session:
            result = await session.execute(GraphQLRequest(HELLO, variable_values={"n": name}))
        return result, server.requests


async def test_hello(flowview_recorder, flowview_record_mode):
    result, live_requests = await _hello(flowview_recorder, flowview_record_mode != "none", "x")
    assert result == {"hello": "Hello x"}
    if flowview_record_mode == "none":
        assert live_requests == 0
        assert flowview_recorder.play_count == 1
        assert flowview_recorder.all_played


class TestGroup:
    @pytest.mark.flowview_cassette("shared/named.json", repeat="repeat_last")
    async def test_named(self, flowview_recorder, flowview_record_mode):
        live = flowview_record_mode != "none"
        for _ in range(1 if live else 3):  # repeat_last serves the one answer three times
            result, _ = await _hello(flowview_recorder, live, "y")
        assert result == {"hello": "Hello y"}


@pytest.mark.flowview_cassette("test_hello.json")
async def test_unrecorded_request(flowview_recorder, flowview_record_mode):
    await _hello(flowview_recorder, flowview_record_mode != "none", "never-recorded")
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "addopts = --strict-markers\n"
    )
    pytester.makepyfile(ticket_server=SERVER_SOURCE, test_plug=TEST_MODULE)
    return pytester


def test_record_then_replay_with_the_path_convention(project: pytest.Pytester) -> None:
    recorded = project.runpytest_subprocess(
        "--flowview-record-mode=once", "-k", "test_hello or test_named"
    )
    recorded.assert_outcomes(passed=2)
    cassettes = project.path / "cassettes" / "test_plug"
    assert (cassettes / "test_hello.json").is_file()
    assert (cassettes / "shared" / "named.json").is_file()
    stored = json.loads((cassettes / "test_hello.json").read_text())
    assert stored["interactions"][0]["request"]["body"]["variables"] == {"n": "x"}
    # Default mode is none: replayed, no server needed (the tests assert it saw no request).
    replayed = project.runpytest_subprocess("-k", "test_hello or test_named")
    replayed.assert_outcomes(passed=2)


def test_a_miss_fails_with_the_rerecord_command(project: pytest.Pytester) -> None:
    project.runpytest_subprocess("--flowview-record-mode=once", "-k", "test_hello").assert_outcomes(
        passed=1
    )
    result = project.runpytest_subprocess("-k", "test_unrecorded_request")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*CassetteMismatchError*",
        "*pytest --flowview-record-mode=new_episodes 'test_plug.py::test_unrecorded_request'*",
    ])


def test_environment_variable_sets_the_mode(project: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("FLOWVIEW_RECORD_MODE", "all")
    project.runpytest_subprocess("-k", "test_hello").assert_outcomes(passed=1)
    assert (project.path / "cassettes" / "test_plug" / "test_hello.json").is_file()
    monkeypatch.setenv("FLOWVIEW_RECORD_MODE", "sometimes")
    result = project.runpytest_subprocess("-k", "test_hello")
    assert "is not a record mode" in result.stderr.str() + result.stdout.str()


def test_coexists_with_pytest_recording(project: pytest.Pytester) -> None:
    project.runpytest_subprocess("--flowview-record-mode=once", "-k", "test_hello").assert_outcomes(
        passed=1
    )
    # pytest-recording (autoloaded here) with its network block on: our replay opens no socket, so it passes.
    result = project.runpytest_subprocess(
        "--block-network", "--record-mode=none", "-k", "test_hello"
    )
    result.assert_outcomes(passed=1)
    fixtures = project.runpytest_subprocess("--fixtures")
    fixtures.stdout.fnmatch_lines(["*flowview_recorder*", "*flowview_client*", "*vcr_config*"])


CLIENT_TEST_MODULE = '''
import pytest
from flowview_async import FlowRunView, inspect_flow_run

DOC_FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"


@pytest.mark.flowview_cassette(repeat="error")
async def test_inspect(flowview_client, flowview_recorder, flowview_record_mode, request):
    inspection = await inspect_flow_run(DOC_FLOW_RUN_ID, client=flowview_client)
    view = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=flowview_client)
    assert view.name == inspection.flow_run.name
    if flowview_record_mode == "none":
        assert flowview_client.replaying
        assert "flowview_backend" not in request.fixturenames  # no backend was started
        assert flowview_recorder.calls("FlowRuns") == 2
        assert flowview_recorder.all_played
    else:
        assert flowview_recorder.record_count == flowview_recorder.calls()
'''


def test_flowview_client_records_from_the_backend_and_replays_without_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in _API_VARIABLES:  # a developer's own Prefect settings would be recorded from
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_client_plug=CLIENT_TEST_MODULE)
    pytester.runpytest_subprocess("--flowview-record-mode=once").assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "test_client_plug" / "test_inspect.json"
    assert cassette.is_file()
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


PYTEST_RECORDING_MODULE = '''
import pytest
from flowview_async import Client, inspect_flow_run, replay
from flowview_async.server.runner import LocalBackend

DOC_FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"


@pytest.fixture
def vcr_config():
    return {"serializer": "json", "match_on": ["method", "path", "graphql"],
            "filter_headers": ["authorization"]}


@pytest.mark.vcr
async def test_pytest_recording_records_sdk_traffic(record_mode):
    if record_mode == "none":
        # Replayed by pytest-recording: this address is never contacted.
        async with Client("http://localhost:4200") as client:
            inspection = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
    else:
        async with LocalBackend() as backend, Client(backend.url) as client:
            inspection = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
    assert inspection.flow_run.name == "tranquil-dolphin"


async def test_flowview_replays_what_pytest_recording_recorded():
    path = "cassettes/test_interop/test_pytest_recording_records_sdk_traffic.json"
    async with replay(path) as client:
        inspection = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
    assert inspection.flow_run.name == "tranquil-dolphin"


@pytest.mark.vcr
async def test_pytest_recording_replays_a_flowview_cassette():
    # The shipped cassette was recorded by flowview with http://localhost:4200 as its origin, and
    # (like every flowview cassette) without the schema introspection: vcrpy replays only what
    # it holds, so this client keeps to the bundled schema.
    async with Client("http://localhost:4200", introspect=False) as client:
        inspection = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
    assert len(inspection.task_runs) == 3
'''

CONFTEST = '''
from flowview_async.recording import register_graphql_matcher


def pytest_recording_configure(config, vcr):
    register_graphql_matcher(vcr)
'''

SHIPPED_DOC_CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json"


def test_pytest_recording_interop_both_ways(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_interop=PYTEST_RECORDING_MODULE)
    vcr_dir = pytester.path / "cassettes" / "test_interop"
    vcr_dir.mkdir(parents=True)
    (vcr_dir / "test_pytest_recording_replays_a_flowview_cassette.json").write_bytes(
        SHIPPED_DOC_CASSETTE.read_bytes()
    )
    pytester.runpytest_subprocess(
        "--record-mode=once", "-k", "test_pytest_recording_records_sdk_traffic"
    ).assert_outcomes(passed=1)
    assert (vcr_dir / "test_pytest_recording_records_sdk_traffic.json").is_file()
    # Everything replayed, pytest-recording's default mode none, network blocked.
    pytester.runpytest_subprocess("--block-network").assert_outcomes(passed=3)


API_SOURCE_MODULE = '''
import os


async def test_where_it_records_from(flowview_api_url, request):
    expected = os.environ["EXPECTED_API"]
    if expected == "local":
        assert "flowview_backend" in request.fixturenames
        assert flowview_api_url == request.getfixturevalue("flowview_backend").url
    else:
        assert "flowview_backend" not in request.fixturenames  # no bundled backend started
        assert flowview_api_url == expected
'''


@pytest.fixture
def api_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in _API_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # No ~/.prefect of the machine running the tests may decide anything here.
    monkeypatch.setenv("PREFECT__HOME_DIR", str(pytester.path / "prefect-home"))
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_api_source=API_SOURCE_MODULE)
    return pytester


@pytest.mark.parametrize(
    ("environment", "option", "expected"),
    [
        ({}, None, "local"),
        # As in Prefect 1.4.1, server.endpoint counts with backend "server" (the default is cloud).
        ({"PREFECT__BACKEND": "server", "PREFECT__SERVER__ENDPOINT": "http://prefect.test:4200/graphql"},
         None, "http://prefect.test:4200/graphql"),
        ({"PREFECT__BACKEND": "cloud", "PREFECT__CLOUD__API": "https://cloud.test/graphql"}, None,
         "https://cloud.test/graphql"),
        ({"FLOWVIEW_API": "http://env.test/graphql",
          "PREFECT__SERVER__ENDPOINT": "http://prefect.test:4200/graphql"}, None,
         "http://env.test/graphql"),
        ({"FLOWVIEW_API": "http://env.test/graphql",
          "PREFECT__SERVER__ENDPOINT": "http://prefect.test:4200/graphql"},
         "http://option.test/graphql", "http://option.test/graphql"),
    ],
)
def test_where_a_test_records_from_follows_the_documented_precedence(
    api_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str], option: str | None, expected: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EXPECTED_API", expected)
    arguments = ["--flowview-record-mode=all", *([f"--flowview-api={option}"] if option else [])]
    api_project.runpytest_subprocess(*arguments).assert_outcomes(passed=1)


async def test_records_from_the_prefect_server_endpoint_not_the_bundled_backend(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.recording.helpers import local_backend

    for name in _API_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT__HOME_DIR", str(pytester.path / "prefect-home"))
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_client_plug=CLIENT_TEST_MODULE)
    async with local_backend() as users_server:
        monkeypatch.setenv("PREFECT__BACKEND", "server")
        monkeypatch.setenv("PREFECT__SERVER__ENDPOINT", users_server.url)
        # The subprocess talks to this loop's server: run it off the loop.
        result = await asyncio.to_thread(
            pytester.runpytest_subprocess, "--flowview-record-mode=once"
        )
        result.assert_outcomes(passed=1)
        assert users_server.requests  # the user's endpoint answered the recording
        users_url = users_server.url
    cassette = pytester.path / "cassettes" / "test_client_plug" / "test_inspect.json"
    uris = {entry["request"]["uri"] for entry in json.loads(cassette.read_text())["interactions"]}
    assert uris == {users_url}

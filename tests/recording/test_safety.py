"""Credentials never reach a cassette; loading a cassette never runs code; bad files are clear."""

from __future__ import annotations

import json

import pytest
from gql.transport.exceptions import TransportConnectionFailed

from flowview_async.errors import (
    CassetteFormatError,
    CassetteMismatchError,
    SchemaDriftWarning,
    SecretLeakError,
)
from flowview_async.recording import Recorder
from tests.recording.graphql_test_server import TicketServer
from tests.recording.helpers import DEAD_URL, ECHO, HELLO, TICKET, recorded_session, request

API_KEY = "sk-live-AAAA1111BBBB"
TENANT = "6f1c0d53-tenant-0000-1111"
COOKIE = "sid=cookievalue99"


async def _record_hello(cassette, **recorder_args) -> None:
    async with TicketServer() as server, recorded_session(
        server.url, Recorder(cassette, **recorder_args)
    ) as session:
        await session.execute(request(HELLO, name="ann"))


async def test_credential_headers_and_cookies_never_reach_the_file(tmp_path):
    cassette = tmp_path / "headers.json"
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Prefect-Tenant-Id": TENANT, "Cookie": COOKIE}
    # Even explicitly allow-listed, credential headers are dropped.
    recorder = Recorder(cassette, request_headers=("authorization", "cookie", "x-prefect-tenant-id"),
                        response_headers=("set-cookie",))
    async with TicketServer() as server:
        async with recorded_session(server.url, recorder, headers=headers) as session:
            await session.execute(request(TICKET))
        assert server.seen_headers[0]["Authorization"] == f"Bearer {API_KEY}"  # it was sent live
    text = cassette.read_text()
    for secret in (API_KEY, TENANT, "cookievalue99", "abc123secretcookie"):
        assert secret not in text
    assert "set-cookie" not in text.lower()
    assert "authorization" not in text.lower()


async def test_secrets_in_variables_and_bodies_are_redacted_at_any_depth(tmp_path):
    cassette = tmp_path / "variables.json"
    variables = {"input": {"name": f"key={API_KEY}", "nested": {
        "password": "hunter2hunter2", "apiKey": "plain-named-key", "note": f"x {API_KEY} y"}}}
    async with TicketServer() as server:
        recorder = Recorder(cassette, secrets=(API_KEY,))
        async with recorded_session(server.url, recorder) as session:
            live = await session.execute(request(ECHO, **variables))
    assert API_KEY in live["echo"]  # the server echoed it back live
    text = cassette.read_text()
    for secret in (API_KEY, "hunter2hunter2", "plain-named-key"):
        assert secret not in text
    stored = json.loads(text)["interactions"][0]
    assert stored["request"]["body"]["variables"]["input"]["nested"]["password"] == "<REDACTED>"
    assert stored["request"]["body"]["variables"]["input"]["name"] == "key=<REDACTED>"
    # The client registers the same key on replay, so the redacted recording still matches.
    recorder = Recorder(cassette, record_mode="none", secrets=(API_KEY,))
    async with recorded_session(DEAD_URL, recorder) as session:
        replayed = await session.execute(request(ECHO, **variables))
    assert API_KEY not in replayed["echo"]
    assert "<REDACTED>" in replayed["echo"]


async def test_save_guard_refuses_a_secret_registered_too_late(tmp_path):
    cassette = tmp_path / "late.json"
    recorder = Recorder(cassette)

    async def record_then_register(url: str) -> None:
        async with recorded_session(url, recorder) as session:
            await session.execute(request(HELLO, name=API_KEY))
            recorder.add_secrets(API_KEY)

    async with TicketServer() as server:
        with pytest.raises(SecretLeakError) as caught:
            await record_then_register(server.url)
    assert not cassette.exists()
    assert API_KEY not in str(caught.value)
    assert str(cassette) in str(caught.value)


async def test_save_guard_refuses_a_secret_in_a_loaded_foreign_cassette(tmp_path):
    cassette = tmp_path / "foreign.json"
    await _record_hello(cassette)
    data = json.loads(cassette.read_text())
    data["interactions"][0]["response"]["body"]["string"] = json.dumps({"data": {"hello": API_KEY}})
    cassette.write_text(json.dumps(data))
    before = cassette.read_text()
    recorder = Recorder(cassette, record_mode="new_episodes", secrets=(API_KEY,))

    async def add_an_episode(url: str) -> None:
        async with recorded_session(url, recorder) as session:
            await session.execute(request(HELLO, name="bob"))

    async with TicketServer() as server:
        with pytest.raises(SecretLeakError):
            await add_an_episode(server.url)
    assert cassette.read_text() == before


def test_repr_and_errors_never_show_secrets(tmp_path):
    recorder = Recorder(tmp_path / "r.json", secrets=(API_KEY, TENANT))
    assert API_KEY not in repr(recorder)
    assert TENANT not in repr(recorder)


async def test_a_miss_report_shows_redacted_variables_only(tmp_path):
    cassette = tmp_path / "miss.json"
    await _record_hello(cassette)
    recorder = Recorder(cassette, record_mode="none", secrets=(API_KEY,))
    async with recorded_session(DEAD_URL, recorder) as session:
        with pytest.raises(CassetteMismatchError) as caught:
            await session.execute(request(HELLO, name=API_KEY))
    assert API_KEY not in str(caught.value)
    assert "<REDACTED>" in str(caught.value)


async def test_yaml_python_tags_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    cassette = tmp_path / "evil.yaml"
    cassette.write_text(
        "interactions:\n"
        f"- request: !!python/object/apply:os.system ['touch {marker}']\n"
        "  response: {}\nversion: 1\n"
    )
    with pytest.raises(CassetteFormatError) as caught:
        await Recorder(cassette, record_mode="none").open()
    assert str(cassette) in str(caught.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "truncated"),  # the first half of a real cassette
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"hello": "world"}', "not a vcrpy/flowview cassette"),
        (b"[1, 2, 3]", "not a vcrpy/flowview cassette"),
        (b'{"version": 1, "interactions": [{"request": {}}]}', "interaction #0"),
        (b'{"version": 7, "interactions": []}', "format version 7"),
    ],
)
async def test_corrupt_truncated_and_foreign_files_are_clear_errors(tmp_path, content, expected):
    cassette = tmp_path / "bad.json"
    if content is None:
        await _record_hello(cassette)
        whole = cassette.read_bytes()
        content = whole[: len(whole) // 2]
    cassette.write_bytes(content)
    for mode in ("none", "once", "new_episodes", "all"):
        with pytest.raises(CassetteFormatError) as caught:
            await Recorder(cassette, record_mode=mode).open()
        assert str(cassette) in str(caught.value)
        assert expected in str(caught.value)


async def test_schema_drift_is_reported(tmp_path):
    cassette = tmp_path / "drift.json"
    await _record_hello(cassette)
    data = json.loads(cassette.read_text())
    data["flowview"]["schema_sha256"] = "0123456789abcdef"
    cassette.write_text(json.dumps(data))
    with pytest.warns(SchemaDriftWarning, match="0123456789abcdef"):
        await Recorder(cassette, record_mode="none").open()


async def test_a_redacted_cassette_can_be_extended(tmp_path):
    cassette = tmp_path / "extend.json"
    variables = {"input": {"nested": {"password": "hunter2hunter2"}}}
    async with TicketServer() as server:
        async with recorded_session(server.url, Recorder(cassette)) as session:
            await session.execute(request(ECHO, **variables))
        recorder = Recorder(cassette, record_mode="new_episodes")
        async with recorded_session(server.url, recorder) as session:
            await session.execute(request(ECHO, **variables))  # replayed: same redacted key
            await session.execute(request(HELLO, name="new"))  # recorded
    stored = json.loads(cassette.read_text())["interactions"]
    assert len(stored) == 2
    assert "hunter2hunter2" not in cassette.read_text()


@pytest.mark.parametrize("content", [b"", b"  \n"])
async def test_an_empty_cassette_is_reported_as_empty_when_replayed(tmp_path, content):
    cassette = tmp_path / "empty.json"
    cassette.write_bytes(content)
    with pytest.raises(CassetteFormatError) as caught:
        await Recorder(cassette, record_mode="none").open()
    message = str(caught.value)
    assert f"Cassette {cassette} is empty" in message
    assert "does not exist" not in message
    assert "record_mode='new_episodes'" in message  # says how to record it


@pytest.mark.parametrize("mode", ["once", "new_episodes", "all"])
async def test_recording_modes_record_into_an_empty_cassette(tmp_path, mode):
    # Nothing recorded can be lost by writing over an empty file, so 'once' records too.
    cassette = tmp_path / "empty.json"
    cassette.write_bytes(b"")
    recorder = Recorder(cassette, record_mode=mode)
    async with TicketServer() as server:
        async with recorded_session(server.url, recorder) as session:
            assert not recorder.replaying
            await session.execute(request(HELLO, name="ann"))
        assert server.requests == 1
    assert len(json.loads(cassette.read_text())["interactions"]) == 1
    replayer = Recorder(cassette, record_mode="once")
    async with recorded_session(DEAD_URL, replayer) as session:
        assert replayer.replaying
        assert await session.execute(request(HELLO, name="ann")) == {"hello": "Hello ann"}


async def test_a_damaged_recorded_body_names_the_file_and_the_interaction(tmp_path):
    cassette = tmp_path / "damaged.json"
    async with TicketServer() as server, recorded_session(server.url, Recorder(cassette)) as session:
        await session.execute(request(HELLO, name="ann"))
        await session.execute(request(HELLO, name="bob"))
    data = json.loads(cassette.read_text())
    assert data["interactions"][1]["response"]["headers"]["content-type"][0].startswith(
        "application/json"
    )
    data["interactions"][1]["response"]["body"]["string"] = "{not json"
    cassette.write_text(json.dumps(data))
    # The file still loads, and the intact entry still replays.
    recorder = Recorder(cassette, record_mode="none")
    async with recorded_session(DEAD_URL, recorder) as session:
        assert await session.execute(request(HELLO, name="ann")) == {"hello": "Hello ann"}
        # Raw gql wraps what a middleware raises; flowview's Client unwraps it (next test).
        with pytest.raises(TransportConnectionFailed) as caught:
            await session.execute(request(HELLO, name="bob"))
    assert isinstance(caught.value.__cause__, CassetteFormatError)
    message = str(caught.value.__cause__)
    assert str(cassette) in message
    assert "interaction #1" in message
    assert "'Hello'" in message
    assert "not a GraphQL response" not in message


async def test_a_damaged_recorded_body_through_the_client_is_a_cassette_error(tmp_path):
    from flowview_async import Client
    from flowview_async.recording import replay
    from tests.recording.helpers import local_backend

    query = "query FlowRunName($id: uuid!) { flow_run_by_pk(id: $id) { id name } }"
    variables = {"id": "4c0101af-c6bb-4b96-8661-63a5bbfb5596"}
    cassette = tmp_path / "damaged.json"
    async with local_backend() as backend, Client(backend.url, cassette=cassette) as client:
        await client.execute(query, variables)
    data = json.loads(cassette.read_text())
    data["interactions"][0]["response"]["body"]["string"] = "{not json"
    cassette.write_text(json.dumps(data))
    async with replay(cassette) as client:
        with pytest.raises(CassetteFormatError) as caught:
            await client.execute(query, variables)
    message = str(caught.value)
    assert str(cassette) in message
    assert "interaction #0 (operation 'FlowRunName')" in message
    assert "flowview-replay.invalid" not in message


# --- safe loading whatever the installed PyYAML and vcrpy (issue 9) ------------------------------

import os  # noqa: E402
import stat  # noqa: E402
import sys  # noqa: E402

from flowview_async.errors import InvalidArgumentError  # noqa: E402
from flowview_async.recording import replay  # noqa: E402

YAML_ENTRY = """\
interactions:
- request:
    body: {body}
    headers: {{}}
    method: POST
    uri: http://localhost:4200/graphql
  response:
    body: {{string: '{{"data": {{"hello": "Hello ann"}}}}'}}
    headers: {{content-type: [application/json]}}
    status: {{code: 200, message: OK}}
version: 1
"""


def _yaml_cassette(tmp_path, body: str, name: str = "c.yaml"):
    cassette = tmp_path / name
    cassette.write_text(YAML_ENTRY.format(body=body))
    return cassette


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/object/apply:subprocess.check_call [['touch', '{marker}']]",
    "!!python/name:os.system",
    "!!python/module:os",
])
async def test_python_tags_never_run_even_with_an_unsafe_vcrpy(tmp_path, monkeypatch, tag):
    """The loader is ours: vcrpy's (full-loader on vcrpy < 9.3) and PyYAML's unsafe entry points
    are poisoned here, and loading still refuses the tag without running it."""
    import vcr.serializers.yamlserializer as vcr_yaml
    import yaml

    def poisoned(*args, **kwargs):
        raise AssertionError("an unsafe or foreign YAML loader was called")

    for name in ("unsafe_load", "full_load", "full_load_all", "unsafe_load_all"):
        monkeypatch.setattr(yaml, name, poisoned)
    monkeypatch.setattr(vcr_yaml, "deserialize", poisoned)
    marker = tmp_path / "pwned"
    cassette = _yaml_cassette(tmp_path, tag.format(marker=marker))
    with pytest.raises(CassetteFormatError) as caught:
        await Recorder(cassette, record_mode="none").open()
    assert "load safely" in str(caught.value)
    assert not marker.exists()


def _alias_bomb(levels: int = 9, width: int = 10) -> str:
    """The billion laughs: each level lists ``width`` aliases of the previous one."""
    lines = ['a0: &a0 ["' + "lol" * 8 + '"]']
    for level in range(1, levels + 1):
        items = ", ".join(f"*a{level - 1}" for _ in range(width))
        lines.append(f"a{level}: &a{level} [{items}]")
    return "\n".join(lines) + "\n"


async def test_a_336_kb_alias_bomb_is_refused_before_it_is_built(tmp_path):
    bomb = _alias_bomb()
    # Padded to the size of the file from the issue (336 KB): comments cost nothing to build.
    padding = "# " + "x" * 78 + "\n"
    text = bomb + padding * ((336 * 1024 - len(bomb)) // len(padding))
    cassette = tmp_path / "bomb.yaml"
    cassette.write_text(YAML_ENTRY.format(body="'{}'").replace("version: 1\n", "") + text
                        + "version: 1\n")
    assert cassette.stat().st_size >= 330 * 1024
    with pytest.raises(CassetteFormatError, match="alias") as caught:
        await Recorder(cassette, record_mode="none").open()
    assert str(cassette) in str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("interactions: [" + ", ".join(["*x"] * 10_001) + "]\nx: &x 1\n", "undefined alias|aliases"),
    ("a: &x 1\nlist: [" + ", ".join(["*x"] * 10_001) + "]\n", "aliases"),
    ("a: &x [1, *x]\n", "alias inside the node"),
    ("a: " + "[" * 500 + "]" * 500 + "\n", "nesting deeper"),
])
async def test_yaml_bounds_are_typed_errors(tmp_path, text, expected):
    cassette = tmp_path / "bounded.yaml"
    cassette.write_text(text)
    with pytest.raises(CassetteFormatError, match=expected):
        await Recorder(cassette, record_mode="none").open()


async def test_a_json_cassette_nested_5000_deep_is_a_typed_error(tmp_path):
    cassette = tmp_path / "deep.json"
    cassette.write_text('{"version": 1, "interactions": [' + "[" * 5000 + "]" * 5000 + "]}")
    with pytest.raises(CassetteFormatError, match="nests deeper"):
        await Recorder(cassette, record_mode="none").open()
    # A request body string holding deep JSON (vcrpy's spelling) is refused the same way.
    data = {"version": 1, "interactions": [{
        "request": {"method": "POST", "uri": "http://h/graphql", "body": "[" * 5000 + "]" * 5000},
        "response": {"status": {"code": 200}, "body": {"string": "{}"}}}]}
    cassette.write_text(json.dumps(data))
    with pytest.raises(CassetteFormatError, match="nests deeper"):
        await Recorder(cassette, record_mode="none").open()


async def test_yaml_dates_in_a_request_body_stay_text(tmp_path):
    body = "{query: 'query Hello($name: String!) { hello(name: $name) }', variables: {name: 2024-01-02}}"
    cassette = _yaml_cassette(tmp_path, body)
    recorder = Recorder(cassette, record_mode="none")
    await recorder.open()
    (interaction,) = recorder.interactions
    assert json.loads(interaction.key.variables) == {"name": "2024-01-02"}
    await recorder.close()


@pytest.mark.parametrize(("body", "expected"), [
    ("{query: 'query { ticket }', variables: {ids: !!set {a: null, b: null}}}", "!!set"),
    ("{query: 'query { ticket }', variables: {blob: !!binary aGVsbG8=}}", "bytes value"),
    ("{query: 'query { ticket }', variables: {? [1, 2] : x}}", "not a string|unhashable"),
])
async def test_yaml_types_json_cannot_hold_are_typed_errors(tmp_path, body, expected):
    cassette = _yaml_cassette(tmp_path, body)
    with pytest.raises(CassetteFormatError, match=expected):
        await Recorder(cassette, record_mode="none").open()


async def test_a_binary_response_body_as_vcrpy_writes_it_still_replays(tmp_path):
    import base64

    body = repr(json.dumps({"query": HELLO, "variables": {"name": "ann"}}))
    encoded = base64.b64encode(b'{"data": {"hello": "Hello ann"}}').decode()
    text = YAML_ENTRY.format(body=body).replace(
        "body: {string: '{\"data\": {\"hello\": \"Hello ann\"}}'}", f"body: {{string: !!binary {encoded}}}")
    cassette = tmp_path / "binary.yaml"
    cassette.write_text(text)
    recorder = Recorder(cassette, record_mode="none")
    async with recorded_session(DEAD_URL, recorder) as session:
        assert await session.execute(request(HELLO, name="ann")) == {"hello": "Hello ann"}


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
async def test_dev_zero_is_refused_without_reading(tmp_path):
    with pytest.raises(CassetteFormatError, match="not a regular file"):
        async with replay("/dev/zero"):
            pass


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
async def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "cassette.json"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(CassetteFormatError, match="not a regular file"):
        async with replay(fifo):
            pass


async def test_a_directory_is_refused(tmp_path):
    with pytest.raises(CassetteFormatError, match="directory"):
        async with replay(tmp_path):
            pass


async def test_a_cassette_over_the_size_bound_is_refused(tmp_path, monkeypatch):
    cassette = tmp_path / "big.json"
    await _record_hello(cassette)
    monkeypatch.setenv("FLOWVIEW_MAX_CASSETTE_BYTES", str(cassette.stat().st_size - 1))
    with pytest.raises(CassetteFormatError, match="larger than"):
        await Recorder(cassette, record_mode="none").open()
    monkeypatch.setenv("FLOWVIEW_MAX_CASSETTE_BYTES", str(cassette.stat().st_size))
    await Recorder(cassette, record_mode="none").open()


@pytest.mark.parametrize("bad", [None, 123, b"bytes.json", ["a.json"], ""])
def test_replay_and_recorder_refuse_what_is_not_a_path(bad):
    with pytest.raises(InvalidArgumentError, match="cassette path"):
        replay(bad)
    with pytest.raises(InvalidArgumentError, match="cassette path"):
        Recorder(bad)


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"secrets": "one-string-secret"}, "secrets must be a list"),
    ({"secrets": [123456]}, "secrets must be strings"),
    ({"secrets": 5}, "secrets must be a list"),
    ({"request_headers": [1]}, "header names"),
    ({"uri_origin": 5}, "uri_origin"),
])
def test_recorder_argument_types_are_typed_errors(tmp_path, kwargs, expected):
    with pytest.raises(InvalidArgumentError, match=expected):
        Recorder(tmp_path / "x.json", **kwargs)


def test_the_loader_module_never_imports_vcrpy():
    """Importing and using the cassette reader does not import vcrpy at all."""
    import subprocess

    code = (
        "import sys, pathlib, tempfile\n"
        "from flowview_async.recording.cassette_file import load_cassette_file\n"
        "p = pathlib.Path(tempfile.mkdtemp()) / 'c.yaml'\n"
        "p.write_text('interactions: []\\nversion: 1\\n')\n"
        "load_cassette_file(p)\n"
        "print('vcr' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("scalar", ["1" * 5000, "!!binary '!!!notbase64'", "!!float 'abc'"])
async def test_yaml_scalars_the_loader_cannot_build_are_typed_errors(tmp_path, scalar):
    cassette = tmp_path / "scalar.yaml"
    cassette.write_text(f"interactions: []\nversion: 1\nextra: {scalar}\n")
    with pytest.raises(CassetteFormatError, match="load safely"):
        await Recorder(cassette, record_mode="none").open()

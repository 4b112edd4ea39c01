"""``flowview serve`` started the way a user starts it: the console script, in a subprocess."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from flowview_async.server import LocalBackend

FLOWVIEW = str(Path(sys.executable).with_name("flowview"))
DOC_QUERY = """query {
flow_run(where: {name: {_eq: "woodoo-leopard"}}) {
id
state
start_time
}
}"""
DOC_RESPONSE = {
    "data": {
        "flow_run": [
            {
                "id": "8e445d74-9ca6-425b-98e5-72754b7ea174",
                "state": "Success",
                "start_time": "2021-05-12T17:59:56.383629+00:00",
            }
        ]
    }
}


@contextmanager
def serving(*arguments: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [FLOWVIEW, "serve", "--port", "0", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def post(url: str, query: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        error.close()
        return error.code, body


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_the_documentation_example(stop_signal: signal.Signals) -> None:
    with serving("--fixture", "inspecting-flow-runs") as (process, url):
        assert url.startswith("http://127.0.0.1:")
        assert post(url + "/graphql", DOC_QUERY) == (200, DOC_RESPONSE)
        assert post(url, DOC_QUERY) == (200, DOC_RESPONSE)
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0


def test_serve_with_a_fixture_file_faults_and_synthetic_data(tmp_path: Path) -> None:
    fixture = tmp_path / "tiny.json"
    fixture.write_text(json.dumps({"project": [{"name": "from-file"}]}))
    database = tmp_path / "serve.sqlite"
    arguments = (
        "--fixture",
        str(fixture),
        "--faults",
        "503*1",
        "--synthetic",
        "2x3x4",
        "--db",
        str(database),
        "--seed",
        "5",
    )
    with serving(*arguments) as (process, url):
        query = "{ project(order_by: {name: asc}) { name } log_aggregate { aggregate { count } } }"
        assert post(url, query)[0] == 503
        status, body = post(url, query)
        assert status == 200
        assert body["data"]["project"] == [{"name": "from-file"}, {"name": "synthetic-5"}]
        assert body["data"]["log_aggregate"]["aggregate"]["count"] == 2 * 3 * 4
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    assert database.is_file()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--fixture", "/no/such/fixture.json"), "cannot read fixture file"),
        (("--fixture", "no-such-name"), "no shipped fixture named 'no-such-name'"),
        (("--faults", "teapot:0.5"), "fault spec item 'teapot:0.5' is not understood"),
        (("--synthetic", "lots"), "write RUNSxTASKSxLOGS"),
        (("--port", "99999"), "--port 99999 is not a TCP port"),
        (("--port", "-1"), "--port -1 is not a TCP port"),
        (("--db", "/nonexistent/dir/x.db"), "the folder '/nonexistent/dir' does not exist"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_3(arguments: tuple[str, ...], message: str) -> None:
    completed = subprocess.run(
        [FLOWVIEW, "serve", "--port", "0", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 3
    assert completed.stdout == ""
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert message in lines[0]


def test_a_file_that_is_not_a_database_is_one_clear_line(tmp_path: Path) -> None:
    database = tmp_path / "not-sqlite.db"
    database.write_text("this is not an SQLite file\n" * 100)
    completed = subprocess.run(
        [FLOWVIEW, "serve", "--port", "0", "--db", str(database)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert completed.returncode == 3
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: --db {str(database)!r}: SQLite cannot use it")


def test_an_empty_fixture_serves_an_empty_backend_and_says_so(tmp_path: Path) -> None:
    fixture = tmp_path / "empty.json"
    fixture.write_text("{}")
    with serving("--fixture", str(fixture)) as (process, url):
        assert post(url, "{ flow_run { id } }") == (200, {"data": {"flow_run": []}})
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        assert "Loaded 0 rows from fixture" in process.stderr.read()


def test_invalid_fixture_content_names_table_row_and_column(tmp_path: Path) -> None:
    fixture = tmp_path / "bad.json"
    fixture.write_text(json.dumps({"project": [{"name": "ok"}, {"name": 7}]}))
    completed = subprocess.run(
        [FLOWVIEW, "serve", "--port", "0", "--fixture", str(fixture)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 3
    assert completed.stderr.startswith("Error: ")
    assert "project[1].name" in completed.stderr


def test_a_busy_port_is_one_clear_line_and_exit_7() -> None:
    with serving() as (process, url):
        port = url.rsplit(":", 1)[1]
        completed = subprocess.run(
            [FLOWVIEW, "serve", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 7
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
        assert "address already in use" in lines[0].lower()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


@pytest.mark.parametrize(("stop_signal", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_a_signal_stops_a_long_generation_cleanly(stop_signal: signal.Signals, code: int) -> None:
    process = subprocess.Popen(
        [FLOWVIEW, "serve", "--port", "0", "--synthetic", "2x600x50000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stderr is not None
        seen = []
        # The progress line shows generation has started (signal handlers are in before it).
        while not (seen and seen[-1].startswith("Generating synthetic data: ")):
            line = process.stderr.readline()
            assert line, seen
            seen.append(line)
        process.send_signal(stop_signal)
        assert process.wait(timeout=60) == code
        rest = process.stderr.read()
        assert rest.strip().splitlines()[-1] == (
            "Stopped while generating synthetic data; nothing was served.")
        assert "Traceback" not in rest
        assert process.stdout is not None
        assert process.stdout.read() == ""  # no URL: nothing was served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_generation_reports_progress_and_help_says_logs_are_per_task_run() -> None:
    with serving("--fixture", "inspecting-flow-runs", "--synthetic", "2x3x4") as (process, url):
        assert url.startswith("http://127.0.0.1:")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        stderr = process.stderr.read()
    assert "Generating 2 flow runs x 3 task runs x 4 log lines per task run = 24 log lines" in stderr
    assert "Generating synthetic data: 100% (24 of 24 log lines)" in stderr
    help_text = subprocess.run([FLOWVIEW, "serve", "--help"], capture_output=True, text=True,
                               timeout=60, check=True).stdout
    assert "LOGS log lines per task run" in " ".join(help_text.split())


async def test_cancelling_a_generation_rolls_it_back() -> None:
    async with LocalBackend(None) as backend:
        started = asyncio.Event()
        seeding = asyncio.ensure_future(backend.seed_synthetic(
            flow_runs=2, task_runs=600, logs=50000,
            progress=lambda written, total: loop.call_soon_threadsafe(started.set)))
        loop = asyncio.get_running_loop()
        await started.wait()
        seeding.cancel()
        with pytest.raises(asyncio.CancelledError):
            await seeding
        # All or nothing: the backend is as before, and still answers.
        counts = await backend.database.fetch_all(
            "SELECT (SELECT count(*) FROM flow_run), (SELECT count(*) FROM log)")
        assert [tuple(row) for row in counts] == [(0, 0)]
        assert await backend.seed_synthetic(flow_runs=1, task_runs=1, logs=1) != []

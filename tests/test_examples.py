"""Every example, run as is in a subprocess against ``flowview serve --port 0`` (a separate
process serving the documentation's data plus one failed run), or replaying its cassettes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowview_async.server import shipped_fixture_path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
FAILED_RUN_ID = "f0f0f0f0-0000-4000-8000-00000000fa11"
DOC_FLOW_ID = "8bdcf5b5-7598-49d1-a885-61612ca550de"
TENANT_ID = "5e0a5f3c-2d1b-4c7e-9a8f-6b4d2c0e8a11"
TIMEOUT = 120


def _fixture_with_a_failed_run(path: Path) -> Path:
    document = json.loads(shipped_fixture_path("inspecting-flow-runs").read_text())
    stamp = "2022-01-01T00:00:0{}+00:00".format
    document["flow_run"].append({
        "id": FAILED_RUN_ID, "tenant_id": TENANT_ID, "flow_id": DOC_FLOW_ID, "name": "sad-walrus",
        "labels": [], "parameters": {}, "context": {}, "created": stamp(0), "updated": stamp(3)})
    document["flow_run_state"] += [
        {"flow_run_id": FAILED_RUN_ID, "timestamp": stamp(1),
         "serialized_state": {"type": "Running", "message": "Running flow."}},
        {"flow_run_id": FAILED_RUN_ID, "timestamp": stamp(3),
         "serialized_state": {"type": "Failed", "message": "Some reference tasks failed."}},
    ]
    document["log"].append({
        "flow_run_id": FAILED_RUN_ID, "task_run_id": None, "timestamp": stamp(2), "level": "ERROR",
        "name": "prefect.TaskRunner", "message": "ZeroDivisionError: division by zero",
        "created": stamp(2), "updated": stamp(2)})
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment an example runs in: backend "server" (Prefect 1's default is cloud) and
    PREFECT__SERVER__ENDPOINT pointing at `flowview serve`."""
    scratch = tmp_path_factory.mktemp("examples")
    fixture = _fixture_with_a_failed_run(scratch / "fixture.json")
    command = [sys.executable, "-m", "flowview_async.cli", "serve", "--port", "0", "--fixture",
               str(fixture)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=REPO) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), server.stderr.read() if server.stderr else ""
            env = {**os.environ, "PREFECT__BACKEND": "server", "PREFECT__SERVER__ENDPOINT": url,
                   "PREFECT__HOME_DIR": str(scratch / "prefect-home")}
            env.pop("PREFECT__CLOUD__API_KEY", None)
            yield env
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=TIMEOUT)
    assert server.returncode == 0


def run_example(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


def test_documentation_page_example(environment: dict[str, str]) -> None:
    done = run_example(environment, str(EXAMPLES / "inspecting_flow_runs.py"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == ['<Success: "All reference tasks succeeded.">', "True", "False",
                         "'All reference tasks succeeded.'"]
    logs = [line for line in lines if line.startswith("FlowRunLog(")]
    assert len(logs) == 6
    assert "level=20, message='Submitted for execution: Task XXXXXXX')" in logs[0]
    assert ("FlowView(flow_id='8bdcf5b5-7598-49d1-a885-61612ca550de', name='hello-world', "
            "project_name='default', storage_type=Module)") in lines
    assert any(line.startswith("TaskRunView(task_run_id='c8751f34-9d5e-4ea7-aead-8b50978dabb7'")
               and "task_slug='say_hello-1'" in line for line in lines)
    assert ("['c8751f34-9d5e-4ea7-aead-8b50978dabb7', 'f5f422f6-4f56-45d2-bd55-5ea048070d84', "
            "'7cc167d3-737d-4187-85d8-d5e5a75fbd93']") in lines
    response = json.loads(done.stdout[done.stdout.index('{\n  "data"'):])
    assert response == {"data": {"flow_run": [{
        "id": "8e445d74-9ca6-425b-98e5-72754b7ea174", "state": "Success",
        "start_time": "2021-05-12T17:59:56.383629+00:00"}]}}


def test_monitor_reports_the_failed_run(environment: dict[str, str]) -> None:
    done = run_example(environment, str(EXAMPLES / "monitor.py"), "--poll-interval", "0.05")
    assert done.returncode == 1, done.stderr  # one failed run
    assert done.stdout.startswith("Watching ")
    assert (f"FAILED: sad-walrus ({FAILED_RUN_ID}): Some reference tasks failed."
            in done.stdout)
    assert "ERROR ZeroDivisionError: division by zero" in done.stdout
    assert done.stdout.splitlines()[-1].endswith(" finished well, 1 failed or missing")


def test_monitor_of_chosen_runs(environment: dict[str, str]) -> None:
    done = run_example(environment, str(EXAMPLES / "monitor.py"), "--poll-interval", "0.05",
                       "4c0101af-c6bb-4b96-8661-63a5bbfb5596")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "1 finished well, 0 failed or missing"
    # An unknown run leaves the watch on its own; the known one is still watched to its end.
    unknown = run_example(environment, str(EXAMPLES / "monitor.py"), "--poll-interval", "0.05",
                          "00000000-0000-4000-8000-000000000000",
                          "4c0101af-c6bb-4b96-8661-63a5bbfb5596")
    assert unknown.returncode == 1, unknown.stderr
    assert "GONE: No flow run has the id 00000000-0000-4000-8000-000000000000" in unknown.stdout
    assert unknown.stdout.splitlines()[-1] == "1 finished well, 1 failed or missing"


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_aiohttp_service(environment: dict[str, str]) -> None:
    command = [sys.executable, str(EXAMPLES / "aiohttp_service.py"), "--port", "0"]
    with subprocess.Popen(command, env=environment, cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as service:
        try:
            assert service.stdout is not None
            base = service.stdout.readline().strip()
            assert base.startswith("http://127.0.0.1:")
            status, body = _get(f"{base}/flow-runs/4c0101af-c6bb-4b96-8661-63a5bbfb5596")
            assert status == 200
            assert body["state"] == "Success"
            assert len(body["task_runs"]) == 3  # type: ignore[arg-type]
            status, body = _get(f"{base}/flow-runs/{FAILED_RUN_ID}")
            assert (status, body["state"], body["message"]) == (200, "Failed",
                                                                "Some reference tasks failed.")
            status, body = _get(f"{base}/flow-runs/00000000-0000-4000-8000-000000000000")
            assert (status, body["error"]) == (404, "FlowRunNotFoundError")
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=TIMEOUT)
    assert service.returncode == 0


def test_example_test_suites_replay_their_cassettes(tmp_path: Path) -> None:
    # The example tests replay only (record mode none): no backend, no network.
    env = {k: v for k, v in os.environ.items() if k != "FLOWVIEW_RECORD_MODE"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(EXAMPLES / "tests"), str(EXAMPLES / "pytest_example")],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout

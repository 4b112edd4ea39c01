"""flowview runs: newest first, each filter, one query, --json parsed back, --debug's request log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend

WOODOO = "8e445d74-9ca6-425b-98e5-72754b7ea174"
MARMOT = "e1d2c3b4-a5f6-4789-9abc-def012345678"


def run_ids(result: Any) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [run["flow_run_id"] for run in json.loads(result.stdout)]


def test_lists_newest_first_in_one_query(served: ThreadedBackend, flowview: Any) -> None:
    served.backend.clear_requests()
    result = flowview("runs", "--api", served.url, "--json")
    assert run_ids(result) == [MARMOT, WOODOO, DOC_FLOW_RUN_ID]
    assert [r.operation_name for r in served.backend.requests] == ["FlowviewRuns"]
    first = json.loads(result.stdout)[0]
    assert first["name"] == "hearty-marmot"
    assert first["flow_name"] == "greet-many"
    assert first["project_name"] == "default"
    assert first["state"] == "Success"
    assert first["labels"] == ["dev"]
    assert first["start_time"] == "2021-05-13T08:00:04.500000+00:00"
    assert first["duration_seconds"] == pytest.approx(5.25)


def test_each_filter(served: ThreadedBackend, flowview: Any) -> None:
    failed = served.new_flow_run(("Running", "go"), ("Failed", "boom"), name="broken")
    api = ("--api", served.url, "--json")
    assert run_ids(flowview("runs", *api, "--state", "failed")) == [failed]
    assert set(run_ids(flowview("runs", *api, "--state", "Failed", "--state", "success"))) == {
        failed, MARMOT, WOODOO, DOC_FLOW_RUN_ID}
    assert run_ids(flowview("runs", *api, "--flow", "greet-many")) == [MARMOT]
    assert run_ids(flowview("runs", *api, "--project", "default", "--flow", "hello-world",
                            "--state", "success")) == [WOODOO, DOC_FLOW_RUN_ID]
    assert run_ids(flowview("runs", *api, "--project", "elsewhere")) == []
    assert run_ids(flowview("runs", *api, "--label", "dev")) == [MARMOT, WOODOO, DOC_FLOW_RUN_ID]
    assert run_ids(flowview("runs", *api, "--label", "dev", "--label", "prod")) == []
    # The new run was created 2024-05-01; the fixture's runs long before.
    assert run_ids(flowview("runs", *api, "--since", "2024-01-01T00:00:00Z")) == [failed]
    assert run_ids(flowview("runs", *api, "--since", "1d")) == []
    assert run_ids(flowview("runs", *api, "--limit", "2")) == [failed, MARMOT]


def test_text_table(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("runs", "--api", served.url)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Flow runs (3, newest first)")
    rows = [line for line in lines if "hello-world" in line or "greet-many" in line]
    assert [row.split()[1] for row in rows] == ["hearty-marmot", "woodoo-leopard", "tranquil-dolphin"]
    # Times to the millisecond; each run on one line whatever the width (piped: no wrapping).
    assert "2021-05-12 17:59:56.383+00:00" in rows[1]
    assert WOODOO in rows[1]


def test_bad_arguments_exit_3(served: ThreadedBackend, flowview: Any) -> None:
    state = flowview("runs", "--api", served.url, "--state", "exploded")
    assert state.exit_code == 3
    assert state.stderr.startswith("Error: --state 'exploded' is not a Prefect 1 state")
    since = flowview("runs", "--api", served.url, "--since", "last tuesday")
    assert since.exit_code == 3
    assert flowview("runs", "--api", served.url, "--limit", "0").exit_code == 2  # click's own


def test_debug_logs_each_request_without_secrets(served: ThreadedBackend, flowview: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "pcu_DebugSecret0123456789abcdef"
    monkeypatch.setenv("PREFECT__CLOUD__API_KEY", secret)
    monkeypatch.setenv("PREFECT__CLOUD__TENANT_ID", "7f3e0b1c-9a2d-4e5f-8b6c-1d2e3f4a5b6c")
    result = flowview("runs", "--api", served.url, "--debug", "--label", "dev")
    assert result.exit_code == 0, result.stderr
    request_lines = [line for line in result.stderr.splitlines() if " request " in line]
    assert len(request_lines) == 1
    assert "request FlowviewRuns: HTTP 200 (ok) in " in request_lines[0]
    assert request_lines[0].endswith(" ms")
    for hidden in (secret, "7f3e0b1c-9a2d-4e5f-8b6c-1d2e3f4a5b6c", "Bearer", '"dev"'):
        assert hidden not in result.stderr


def test_replays_from_the_shipped_cassette(flowview: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT__SERVER__ENDPOINT", "http://127.0.0.1:9")  # no backend anywhere
    cassette = str(Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json")
    assert run_ids(flowview("runs", "--cassette", cassette, "--json")) == [
        MARMOT, WOODOO, DOC_FLOW_RUN_ID]
    text = flowview("runs", "--cassette", cassette)
    assert text.exit_code == 0, text.stderr
    assert "tranquil-dolphin" in text.stdout

"""flowview inspect: rich output, --json, --name, replay from the shipped cassette, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend

SHIPPED_CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json"


def test_shows_state_history_flow_task_runs_and_logs(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("inspect", DOC_FLOW_RUN_ID, "--api", served.url)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "tranquil-dolphin" in out
    assert "Success: All reference tasks succeeded." in out
    assert "State history" in out
    for state in ("Scheduled", "Submitted", "Running"):
        assert state in out
    assert "hello-world" in out
    assert "Module" in out
    for slug in ("say_hello-1", "series_one-1", "say_goodbye-1"):
        assert slug in out
    assert "Flow run SUCCESS: all reference tasks succeeded" in out
    assert result.stderr == ""


def test_last_logs_limits_the_log_lines(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("inspect", DOC_FLOW_RUN_ID, "--api", served.url, "--last-logs", "2")
    assert result.exit_code == 0
    assert "Last 2 of 6 log lines" in result.stdout
    assert "Flow run SUCCESS" in result.stdout
    assert "Beginning Flow run" not in result.stdout


def test_json_is_one_document_of_the_views_fields(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("inspect", DOC_FLOW_RUN_ID, "--api", served.url, "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert set(document) == {"flow_run", "flow", "task_runs", "logs"}
    assert document["flow_run"]["flow_run_id"] == DOC_FLOW_RUN_ID
    assert document["flow"]["name"] == "hello-world"
    assert len(document["task_runs"]) == 3
    assert [log["message"] for log in document["logs"]][-1] == (
        "Flow run SUCCESS: all reference tasks succeeded")


def test_by_name(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("inspect", "--name", "tranquil-dolphin", "--api", served.url, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["flow_run"]["flow_run_id"] == DOC_FLOW_RUN_ID


@pytest.mark.parametrize("args", [(), (DOC_FLOW_RUN_ID, "--name", "tranquil-dolphin")])
def test_needs_exactly_one_of_id_and_name(served: ThreadedBackend, flowview: Any,
                                          args: tuple[str, ...]) -> None:
    result = flowview("inspect", *args, "--api", served.url)
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: Give either a FLOW_RUN_ID or --name")


def test_replays_the_shipped_cassette_with_no_backend(flowview: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The README's first command: no backend anywhere, whatever the endpoint settings say.
    monkeypatch.setenv("PREFECT__SERVER__ENDPOINT", "http://127.0.0.1:9")
    result = flowview("inspect", DOC_FLOW_RUN_ID, "--cassette", str(SHIPPED_CASSETTE))
    assert result.exit_code == 0, result.stderr
    assert "Success: All reference tasks succeeded." in result.stdout
    assert "say_goodbye-1" in result.stdout
    assert "Flow run SUCCESS: all reference tasks succeeded" in result.stdout


def test_records_then_replays_without_leaking_the_api_key(served: ThreadedBackend, flowview: Any,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cassette = tmp_path / "run.json"
    secret = "pcu_SuperSecretKey0123456789"
    monkeypatch.setenv("PREFECT__CLOUD__API_KEY", secret)
    recorded = flowview("inspect", DOC_FLOW_RUN_ID, "--api", served.url, "--cassette",
                        str(cassette), "--record-mode", "all", "--json")
    assert recorded.exit_code == 0, recorded.stderr
    assert secret not in cassette.read_text()
    monkeypatch.delenv("PREFECT__CLOUD__API_KEY")
    replayed = flowview("inspect", DOC_FLOW_RUN_ID, "--cassette", str(cassette), "--json")
    assert replayed.exit_code == 0, replayed.stderr
    assert json.loads(replayed.stdout) == json.loads(recorded.stdout)


def test_replaying_a_request_the_cassette_lacks(flowview: Any) -> None:
    result = flowview("inspect", "8e445d74-9ca6-425b-98e5-72754b7ea174", "--cassette",
                      str(SHIPPED_CASSETTE))
    assert result.exit_code == 10
    # The message and its diff, each on its own line (see test_errors.py).
    assert result.stderr.startswith("Error: No recorded answer")
    assert "Traceback" not in result.stderr


def test_unknown_run_is_one_line_and_exit_4(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("inspect", "00000000-0000-4000-8000-000000000000", "--api", served.url)
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: No flow run with id")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("inspect", "00000000-0000-4000-8000-000000000000", "--api", served.url,
                      "--debug")
    assert result.exit_code == 4
    assert "Traceback" in result.stderr
    assert "FlowRunNotFoundError" in result.stderr


def test_malformed_id_is_a_usage_error(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("inspect", "not-a-uuid", "--api", served.url)
    assert result.exit_code == 3
    assert "is not a UUID" in result.stderr


def test_unexpected_errors_say_they_are_bugs(served: ThreadedBackend, flowview: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr("flowview_async.cli.inspect_command._inspect_with_last_logs", broken)
    result = flowview("inspect", DOC_FLOW_RUN_ID, "--api", served.url)
    assert result.exit_code == 70
    assert "RuntimeError: something nobody expected" in result.stderr
    assert "--debug" in result.stderr
    assert "Traceback" not in result.stderr


def test_mapped_children_are_folded_into_their_task(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("inspect", "e1d2c3b4-a5f6-4789-9abc-def012345678", "--api", served.url)
    assert result.exit_code == 0
    assert "Task runs (5)" in result.stdout
    greet_rows = [line for line in result.stdout.splitlines() if "greet-1" in line]
    assert len(greet_rows) == 1
    assert "Mapped" in greet_rows[0]
    assert "3 mapped: 3 Success" in greet_rows[0]
    # --json keeps every task run, children included.
    document = json.loads(flowview("inspect", "e1d2c3b4-a5f6-4789-9abc-def012345678", "--api",
                                   served.url, "--json").stdout)
    assert sorted(t["map_index"] for t in document["task_runs"]) == [-1, -1, 0, 1, 2]


def test_an_ambiguous_name_lists_the_runs_that_share_it(served: ThreadedBackend,
                                                        flowview: Any) -> None:
    first = served.new_flow_run(("Success", "done"), name="twin")
    second = served.new_flow_run(("Failed", "boom"), name="twin")
    result = flowview("inspect", "--name", "twin", "--api", served.url)
    assert result.exit_code == 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: Several flow runs are named 'twin': ")
    assert first in lines[0]
    assert second in lines[0]
    assert "(Failed, started " in lines[0]
    assert "flowview inspect FLOW_RUN_ID" in lines[0]


def test_text_fetches_only_the_last_log_lines_and_json_fetches_all(served: ThreadedBackend,
                                                                   flowview: Any) -> None:
    served.backend.clear_requests()
    shown = flowview("inspect", DOC_FLOW_RUN_ID, "--api", served.url, "--last-logs", "2")
    assert shown.exit_code == 0, shown.stderr
    log_requests = [r for r in served.backend.requests if r.query.lstrip().startswith(
        ("query FlowRunLogs", "query FlowviewCliLastLogs"))]
    assert [(r.operation_name, (r.variables or {}).get("limit")) for r in log_requests] == [
        ("FlowviewCliLastLogs", 2)]
    # Newest first from the backend, shown oldest first.
    assert shown.stdout.index("Flow run SUCCESS") > shown.stdout.index("Last 2 of 6 log lines")
    last_two = [line for line in shown.stdout.splitlines() if " INFO " in line][-2:]
    assert last_two[-1].endswith("Flow run SUCCESS: all reference tasks succeeded")
    assert last_two[0] < last_two[1]

    served.backend.clear_requests()
    everything = flowview("inspect", DOC_FLOW_RUN_ID, "--api", served.url, "--json")
    assert len(json.loads(everything.stdout)["logs"]) == 6
    assert "FlowviewCliLastLogs" not in {r.operation_name for r in served.backend.requests}


def test_piped_output_never_wraps(served: ThreadedBackend, flowview: Any) -> None:
    message = "a long state message " * 20  # 420 characters, wider than any terminal
    flow_run_id = served.new_flow_run(("Running", "go"), ("Failed", message.strip()))
    result = flowview("inspect", flow_run_id, "--api", served.url)
    assert result.exit_code == 0, result.stderr
    assert any(message.strip() in line for line in result.stdout.splitlines())
    # Times to the millisecond.
    assert "2024-05-01 12:00:01.000+00:00" in result.stdout

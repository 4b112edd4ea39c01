"""flowview watch: the live view, JSON lines, and the exit code telling the final state."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from flowview_async import Client
from flowview_async._retry import RetryPolicy
from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend

FAST = ("--poll-interval", "0.01", "--max-poll-interval", "0.05")


def test_successful_run_exits_0_with_states_logs_and_task_runs(served: ThreadedBackend,
                                                               flowview: Any) -> None:
    result = flowview("watch", DOC_FLOW_RUN_ID, "--api", served.url, *FAST)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in ("Scheduled: Flow run scheduled.", "Running: Running flow.",
                 "Beginning Flow run for 'radio_show'", "Success: All reference tasks succeeded.",
                 "3/3"):
        assert text in out


@pytest.mark.parametrize(("final", "code"), [("Failed", 1), ("TriggerFailed", 1), ("Success", 0),
                                             ("Cancelled", 2), ("Skipped", 0)])
def test_exit_code_tells_the_final_state(served: ThreadedBackend, flowview: Any, final: str,
                                         code: int) -> None:
    flow_run_id = served.new_flow_run(("Running", "running"), (final, "the end"))
    result = flowview("watch", flow_run_id, "--api", served.url, *FAST)
    assert result.exit_code == code, result.stderr


def test_json_lines_end_with_the_finished_event(served: ThreadedBackend, flowview: Any) -> None:
    flow_run_id = served.new_flow_run(("Running", "running"), ("Failed", "boom"))
    result = flowview("watch", flow_run_id, "--api", served.url, "--json", *FAST)
    assert result.exit_code == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events] == ["state", "state", "finished"]
    assert events[-1] == {"event": "finished", "flow_run_id": flow_run_id,
                          "timestamp": events[-1]["timestamp"], "state": "Failed",
                          "message": "boom", "exit_code": 1, "cursor": events[-1]["cursor"]}


def test_from_cursor_resumes_right_after_a_json_line(served: ThreadedBackend,
                                                     flowview: Any) -> None:
    whole = flowview("watch", DOC_FLOW_RUN_ID, "--api", served.url, "--json", *FAST)
    lines = [json.loads(line) for line in whole.stdout.splitlines()]
    assert {e["event"] for e in lines} == {"state", "task_run_state", "log", "finished"}
    resumed = flowview("watch", DOC_FLOW_RUN_ID, "--api", served.url, "--json", *FAST,
                       "--from-cursor", lines[4]["cursor"])
    assert resumed.exit_code == 0, resumed.stderr
    assert [json.loads(line) for line in resumed.stdout.splitlines()] == lines[5:]


def test_logs_follow_from_a_cursor_prints_only_the_lines_after_it(served: ThreadedBackend,
                                                                  flowview: Any) -> None:
    whole = flowview("watch", DOC_FLOW_RUN_ID, "--api", served.url, "--json", *FAST)
    logs = [json.loads(line) for line in whole.stdout.splitlines()]
    logs = [e for e in logs if e["event"] == "log"]
    result = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--json", "--follow",
                      "--from-cursor", logs[1]["cursor"])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        e["id"] for e in logs[2:]]
    refused = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url,
                       "--from-cursor", logs[1]["cursor"])
    assert refused.exit_code == 3
    bad = flowview("watch", DOC_FLOW_RUN_ID, "--api", served.url, "--from-cursor", "nonsense")
    assert bad.exit_code == 3


def test_no_logs(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("watch", DOC_FLOW_RUN_ID, "--api", served.url, "--json", "--no-logs", *FAST)
    assert result.exit_code == 0
    assert {json.loads(line)["event"] for line in result.stdout.splitlines()} == {
        "state", "task_run_state", "finished"}


def test_max_duration_exits_9(served: ThreadedBackend, flowview: Any) -> None:
    flow_run_id = served.new_flow_run(("Running", "still going"))
    result = flowview("watch", flow_run_id, "--api", served.url, "--max-duration", "0.2", *FAST)
    assert result.exit_code == 9
    assert result.stderr.startswith("Error: Watching timed out after 0.2s")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_run_exits_4(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("watch", "00000000-0000-4000-8000-000000000000", "--api", served.url, *FAST)
    assert result.exit_code == 4


def test_an_error_after_the_live_view_starts_on_a_line_of_its_own(served: ThreadedBackend,
                                                                 flowview: Any) -> None:
    flow_run_id = served.new_flow_run(("Running", "still going"))
    result = flowview("watch", flow_run_id, "--api", served.url, "--max-duration", "0.2", *FAST)
    assert result.exit_code == 9
    # stdout and stderr interleaved as on a terminal: the bar's line ends before the error.
    error_lines = [line for line in result.output.splitlines() if "Error:" in line]
    assert error_lines
    assert all(line.startswith("Error: ") for line in error_lines)
    assert result.stdout.endswith("\n")


def test_a_backend_outage_is_one_warning_line_and_the_watch_goes_on(
        flowview: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # No client retries, so that every 503 reaches the watch (and the test stays quick).
    monkeypatch.setattr("flowview_async.cli._common.Client",
                        functools.partial(Client, retry=RetryPolicy(attempts=1)))
    with ThreadedBackend(faults="ok*2,503*20") as served:
        flow_run_id = served.new_flow_run(("Running", "running"), ("Success", "done"))
        # The first poll sees the run finished; the outage hits the poll that drains its logs.
        result = flowview("watch", flow_run_id, "--api", served.url, "--json", *FAST)
    assert result.exit_code == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("Warning: Backend unavailable while watching (")
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()] == [
        "state", "state", "finished"]

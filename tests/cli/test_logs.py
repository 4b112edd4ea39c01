"""flowview logs: all lines, --level, --since, --json lines, --follow until the run finishes."""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend


def add_log(served: ThreadedBackend, flow_run_id: str, timestamp: str, level: str,
            message: str) -> None:
    served.call(served.backend.insert("log", [{
        "flow_run_id": flow_run_id, "timestamp": timestamp, "level": level, "name": "prefect.test",
        "message": message, "created": timestamp, "updated": timestamp,
    }]))


def test_prints_every_line_oldest_first(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Submitted for execution: Task XXXXXXX" in lines[0]
    assert "Flow run SUCCESS: all reference tasks succeeded" in lines[-1]
    assert "INFO" in lines[0]


def test_json_lines_and_filters(served: ThreadedBackend, flowview: Any) -> None:
    add_log(served, DOC_FLOW_RUN_ID, "1978-04-12T23:00:00+00:00", "ERROR", "late trouble")
    add_log(served, DOC_FLOW_RUN_ID, "1978-03-08T22:30:05+00:00", "WARNING", "early warning")
    everything = [json.loads(line) for line in
                  flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--json").stdout.splitlines()]
    assert len(everything) == 8
    timestamps = [line["timestamp"] for line in everything]
    assert timestamps == sorted(timestamps)

    warnings = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--json", "--level", "warning")
    assert [json.loads(line)["message"] for line in warnings.stdout.splitlines()] == [
        "early warning", "late trouble"]

    since = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--json", "--since",
                     "1978-04-12T22:59:59.99Z")
    # Both share 23:00:00; lines with equal timestamps come in id order.
    assert sorted(json.loads(line)["message"] for line in since.stdout.splitlines()) == [
        "Flow run SUCCESS: all reference tasks succeeded", "late trouble"]


def test_follow_prints_until_the_run_finishes(served: ThreadedBackend, flowview: Any) -> None:
    flow_run_id = served.new_flow_run(("Scheduled", "scheduled"), ("Running", "running"))
    add_log(served, flow_run_id, "2024-05-01T12:00:02+00:00", "INFO", "working")

    def finish_once_watched() -> None:
        # Once the follower has polled a few times, finish the run with a last line.
        while sum(r.operation_name == "FlowRunLogs" for r in served.backend.requests) < 3:
            threading.Event().wait(0.01)
        add_log(served, flow_run_id, "2024-05-01T12:00:03+00:00", "INFO", "done working")
        served.call(served.backend.set_state("flow_run", flow_run_id, {"type": "Success"},
                                             timestamp="2024-05-01T12:00:04+00:00"))

    finisher = threading.Thread(target=finish_once_watched)
    finisher.start()
    result = flowview("logs", flow_run_id, "--api", served.url, "--follow", "--json")
    finisher.join()
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["message"] for line in result.stdout.splitlines()] == [
        "working", "done working"]


def test_follow_on_a_finished_run_prints_everything_and_ends(served: ThreadedBackend,
                                                             flowview: Any) -> None:
    result = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--follow")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) >= 6
    assert "Flow run SUCCESS" in result.stdout.splitlines()[-1]


def test_errors(served: ThreadedBackend, flowview: Any) -> None:
    bad_since = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--since", "yesterday-ish")
    assert bad_since.exit_code == 3
    assert "--since 'yesterday-ish'" in bad_since.stderr
    unknown = flowview("logs", "00000000-0000-4000-8000-000000000000", "--api", served.url)
    assert unknown.exit_code == 4
    bad_level = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--level", "LOUD")
    assert bad_level.exit_code == 2  # click's own usage error


def test_piped_text_is_plain_lines_in_bulk_matching_the_terminal_rendering(
        served: ThreadedBackend, flowview: Any) -> None:
    flow_run_id = served.new_flow_run(("Running", "running"))
    long_message = "x" * 300  # wider than any console: one line all the same, off a terminal
    served.call(served.backend.insert("log", [{
        "flow_run_id": flow_run_id, "timestamp": f"2024-05-01T12:00:{i // 100:02d}.{i % 100:02d}+00:00",
        "level": "WARNING" if i % 7 == 0 else "INFO", "name": "prefect.test",
        "message": long_message if i == 3 else f"line {i}",
        "created": "2024-05-01T12:00:00+00:00", "updated": "2024-05-01T12:00:00+00:00",
    } for i in range(1200)]))  # more than one page
    result = flowview("logs", flow_run_id, "--api", served.url)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1200
    assert "\x1b[" not in result.stdout
    assert lines[3].endswith(long_message)
    assert lines[1] == "2024-05-01 12:00:00.010+00:00 INFO    line 1"
    assert lines[0] == "2024-05-01 12:00:00.000+00:00 WARNING line 0"

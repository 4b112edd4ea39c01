"""flowview logs: all lines, --level, --since, --json lines, --follow until the run finishes."""

from __future__ import annotations

import json
import threading
from pathlib import Path
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
        while sum(r.operation_name == "WatchPoll" for r in served.backend.requests) < 3:
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


def log_requests(served: ThreadedBackend) -> list[Any]:
    return [r for r in served.backend.requests
            if r.operation_name in ("FlowRunLogs", "FlowviewCliLastLogs")]


def test_tail_and_head_fetch_only_those_lines(served: ThreadedBackend, flowview: Any) -> None:
    served.backend.clear_requests()
    tail = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "-n", "2", "--json")
    assert tail.exit_code == 0, tail.stderr
    assert [json.loads(line)["message"] for line in tail.stdout.splitlines()] == [
        "Task 'series_one': Finished task run for task with final state: 'Success'",
        "Flow run SUCCESS: all reference tasks succeeded"]
    assert [(r.operation_name, r.variables["limit"]) for r in log_requests(served)] == [
        ("FlowviewCliLastLogs", 2)]
    assert flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--tail", "2").stdout == \
        flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "-n", "2").stdout

    served.backend.clear_requests()
    head = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--head", "2")
    assert head.exit_code == 0, head.stderr
    lines = head.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0] == "1978-03-08 22:30:00.000+00:00 INFO    Submitted for execution: Task XXXXXXX"
    assert [r.variables["limit"] for r in log_requests(served)] == [3]  # a page of 2, +1 to see more
    assert flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--head", "0").stdout == ""


def test_level_and_since_are_filtered_by_the_backend(served: ThreadedBackend, flowview: Any) -> None:
    add_log(served, DOC_FLOW_RUN_ID, "1978-04-12T23:00:01+00:00", "ERROR", "late trouble")
    add_log(served, DOC_FLOW_RUN_ID, "1978-03-08T22:30:05+00:00", "WARNING", "early warning")
    add_log(served, DOC_FLOW_RUN_ID, "1978-03-08T22:30:06+00:00", "DEBUG", "chatter")
    served.backend.clear_requests()
    result = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--level", "warning", "--json",
                      "--since", "1978-03-08T22:30:05.5Z")
    assert [json.loads(line)["message"] for line in result.stdout.splitlines()] == ["late trouble"]
    (request,) = log_requests(served)
    where = request.variables["where"]
    assert set(where["level"]["_in"]) == {"WARN", "WARNING", "ERROR", "FATAL", "CRITICAL"}
    assert where["timestamp"] == {"_gt": "1978-03-08T22:30:05.500000+00:00"}
    # --tail applies to what the filters keep.
    last_warning = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--level", "warning",
                            "-n", "1", "--json")
    assert [json.loads(line)["message"] for line in last_warning.stdout.splitlines()] == [
        "late trouble"]


def test_task_filter(served: ThreadedBackend, flowview: Any) -> None:
    marmot = "e1d2c3b4-a5f6-4789-9abc-def012345678"
    children = {0: "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", 2: "4d5e6f7a-8b9c-4d0e-9f1a-3b4c5d6e7f80"}
    for index, task_run_id in children.items():
        served.call(served.backend.insert("log", [{
            "flow_run_id": marmot, "task_run_id": task_run_id, "level": "INFO",
            "timestamp": f"2021-05-13T08:00:0{6 + index}+00:00", "name": "prefect.test",
            "message": f"hello from child {index}", "created": "2021-05-13T08:00:06+00:00",
            "updated": "2021-05-13T08:00:06+00:00"}]))
    every_child = flowview("logs", marmot, "--api", served.url, "--task", "greet-1", "--json")
    assert [json.loads(line)["message"] for line in every_child.stdout.splitlines()] == [
        "hello from child 0", "hello from child 2"]
    one = flowview("logs", marmot, "--api", served.url, "--task", "greet-1/2", "--json")
    assert [json.loads(line)["task_run_id"] for line in one.stdout.splitlines()] == [children[2]]
    assert flowview("logs", marmot, "--api", served.url, "--task", "greet-1/-1").stdout == ""
    doc = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "--task", "series_one-1", "--json")
    assert [json.loads(line)["task_run_id"] for line in doc.stdout.splitlines()] == [
        "f5f422f6-4f56-45d2-bd55-5ea048070d84"] * 3
    missing = flowview("logs", marmot, "--api", served.url, "--task", "greet-1/7")
    assert missing.exit_code == 4
    assert "No task run with slug 'greet-1' and map index 7" in missing.stderr


def test_tail_and_head_together_are_refused(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("logs", DOC_FLOW_RUN_ID, "--api", served.url, "-n", "1", "--head", "1")
    assert result.exit_code == 3
    assert "--tail/-n or --head, not both" in result.stderr


def test_replays_from_the_shipped_cassette(flowview: Any) -> None:
    cassette = str(Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json")
    tail = flowview("logs", DOC_FLOW_RUN_ID, "--cassette", cassette, "-n", "10", "--json")
    assert tail.exit_code == 0, tail.stderr
    messages = [json.loads(line)["message"] for line in tail.stdout.splitlines()]
    assert len(messages) == 6
    assert messages[-1] == "Flow run SUCCESS: all reference tasks succeeded"
    head = flowview("logs", DOC_FLOW_RUN_ID, "--cassette", cassette, "--head", "10")
    assert head.exit_code == 0, head.stderr
    assert head.stdout.splitlines()[0].endswith("Submitted for execution: Task XXXXXXX")
    task = flowview("logs", DOC_FLOW_RUN_ID, "--cassette", cassette, "--task", "say_hello-1")
    assert task.exit_code == 0, task.stderr
    assert task.stdout == ""  # say_hello-1 logged nothing in the documentation's run


def test_tail_since_recorded_relative_replays_later(served: ThreadedBackend, flowview: Any,
                                                    tmp_path: Path, monkeypatch: Any) -> None:
    from datetime import timedelta

    from flowview_async.cli import logs_command

    cassette = str(tmp_path / "tail.json")
    recorded = flowview("logs", DOC_FLOW_RUN_ID, "--since", "20000d", "-n", "2", "--json",
                        "--api", served.url, "--cassette", cassette, "--record-mode", "all")
    assert recorded.exit_code == 0, recorded.stderr
    assert "<now - 1728000000s>" in Path(cassette).read_text()
    real_clock = logs_command.clock
    monkeypatch.setattr(logs_command, "clock", lambda: real_clock() + timedelta(hours=3))
    replayed = flowview("logs", DOC_FLOW_RUN_ID, "--since", "20000d", "-n", "2", "--json",
                        "--cassette", cassette)
    assert replayed.exit_code == 0, replayed.stderr
    assert replayed.stdout == recorded.stdout

"""flowview task-run ID and inspect RUN --task SLUG[/MAP_INDEX]: state history, mapped children
summarised by state, logs; --json parsed back; replayed from the shipped cassette."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend

SHIPPED_CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json"
SAY_HELLO = "c8751f34-9d5e-4ea7-aead-8b50978dabb7"
SERIES_ONE = "f5f422f6-4f56-45d2-bd55-5ea048070d84"
MARMOT = "e1d2c3b4-a5f6-4789-9abc-def012345678"
GREET_PARENT = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
GREET_CHILD_1 = "3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f"


def fail_child(served: ThreadedBackend) -> None:
    served.call(served.backend.set_state("task_run", GREET_CHILD_1,
                                         {"type": "Failed", "message": "could not greet"},
                                         timestamp="2021-05-13T08:00:07.500+00:00"))


def test_shows_state_history_times_and_logs(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("task-run", SERIES_ONE, "--api", served.url, "--last-logs", "2")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"Task run series_one-1  {SERIES_ONE}")
    assert f"Flow run: {DOC_FLOW_RUN_ID}" in out
    assert "State: Success: Task run succeeded." in out
    assert "Started: 1978-03-08 22:30:02.234+00:00" in out
    assert "Duration: 35d 00h" in out
    history = [line for line in out.splitlines() if "1978-0" in line and "│" in line]
    assert [line.split("│")[2].strip() for line in history] == ["Pending", "Running", "Success"]
    assert "Last 2 of 3 log lines" in out
    assert "Finished task run for task with final state: 'Success'" in out


def test_mapped_parent_summarises_its_children_by_state(served: ThreadedBackend,
                                                        flowview: Any) -> None:
    fail_child(served)
    result = flowview("task-run", GREET_PARENT, "--api", served.url)
    assert result.exit_code == 0, result.stderr
    assert "Mapped children (3): 1 Failed, 2 Success" in result.stdout
    assert "Mapped children not successful" in result.stdout
    failed_rows = [line for line in result.stdout.splitlines() if GREET_CHILD_1 in line]
    assert len(failed_rows) == 1
    assert "could not greet" in failed_rows[0]

    document = json.loads(flowview("task-run", GREET_PARENT, "--api", served.url, "--json").stdout)
    assert set(document) == {"task_run", "mapped_children", "mapped_children_by_state", "logs"}
    assert document["task_run"]["task_slug"] == "greet-1"
    assert document["mapped_children_by_state"] == {"Failed": 1, "Success": 2}
    assert [child["map_index"] for child in document["mapped_children"]] == [0, 1, 2]
    assert [s["type"] for s in document["task_run"]["states"]] == ["Pending", "Mapped"]


def test_inspect_task_by_slug_and_map_index(served: ThreadedBackend, flowview: Any) -> None:
    parent = json.loads(flowview("inspect", MARMOT, "--task", "greet-1", "--api", served.url,
                                 "--json").stdout)
    assert parent["task_run"]["task_run_id"] == GREET_PARENT
    child = json.loads(flowview("inspect", MARMOT, "--task", "greet-1/1", "--api", served.url,
                                "--json").stdout)
    assert child["task_run"]["task_run_id"] == GREET_CHILD_1
    assert child["mapped_children"] == []
    by_name = flowview("inspect", "--name", "hearty-marmot", "--task", "greet-1/1", "--api",
                       served.url)
    assert by_name.exit_code == 0, by_name.stderr
    assert by_name.stdout.startswith(f"Task run greet-1[1]  {GREET_CHILD_1}")


def test_errors(served: ThreadedBackend, flowview: Any) -> None:
    unknown = flowview("task-run", "00000000-0000-4000-8000-000000000000", "--api", served.url)
    assert unknown.exit_code == 4
    assert unknown.stderr.startswith("Error: No task run with id")
    assert flowview("task-run", "not-an-id", "--api", served.url).exit_code == 3
    missing = flowview("inspect", MARMOT, "--task", "greet-1/9", "--api", served.url)
    assert missing.exit_code == 4
    assert "slug 'greet-1' and map index 9" in missing.stderr
    both = flowview("inspect", MARMOT, "--task", "greet-1", "--timeline", "--api", served.url)
    assert both.exit_code == 3


def test_replays_from_the_shipped_cassette(flowview: Any) -> None:
    by_id = flowview("task-run", SAY_HELLO, "--cassette", str(SHIPPED_CASSETTE), "--json")
    assert by_id.exit_code == 0, by_id.stderr
    document = json.loads(by_id.stdout)
    assert document["task_run"]["task_slug"] == "say_hello-1"
    assert document["task_run"]["end_time"] == "1978-03-08T22:30:02+00:00"
    text = flowview("inspect", DOC_FLOW_RUN_ID, "--task", "say_hello-1", "--cassette",
                    str(SHIPPED_CASSETTE))
    assert text.exit_code == 0, text.stderr
    assert text.stdout.startswith(f"Task run say_hello-1  {SAY_HELLO}")
    assert "Duration: 0.500s" in text.stdout

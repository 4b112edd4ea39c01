"""inspect --timeline: bars on the run's time axis, mapped children folded with a count per state,
fitting the width, plain when piped; the shared geometry it is drawn from."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from flowview_async.cli.timeline_view import timeline_lines
from flowview_async.flow import FlowView
from flowview_async.flow_run import FlowRunView
from flowview_async.report.gather import RunReport, TaskRunDetail
from flowview_async.report.timeline import build_timeline, format_duration, span_units
from flowview_async.states import Failed, Mapped, Running, Success
from flowview_async.task_run import TaskRunView
from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend

SHIPPED_CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json"
MARMOT = "e1d2c3b4-a5f6-4789-9abc-def012345678"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def timeline_part(stdout: str) -> list[str]:
    """The axis line and the bars, after the run's header."""
    lines = stdout.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("Task ")):]


def bar_rows(stdout: str) -> list[str]:
    return [line for line in timeline_part(stdout)[1:] if line.strip()]


def test_piped_timeline_is_plain_and_fits_columns(served: ThreadedBackend, flowview: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for columns in (60, 100, 180):
        monkeypatch.setenv("COLUMNS", str(columns))
        result = flowview("inspect", DOC_FLOW_RUN_ID, "--timeline", "--api", served.url)
        assert result.exit_code == 0, result.stderr
        assert "\x1b[" not in result.stdout
        rows = bar_rows(result.stdout)
        assert [row.split()[0] for row in rows] == ["say_hello-1", "series_one-1", "say_goodbye-1"]
        assert all(len(line) <= columns for line in timeline_part(result.stdout))
        # The month-long task fills the axis; the 5 ms one is still one visible cell, at the end.
        hello, series, goodbye = rows
        assert series.count("#") > hello.count("#") >= 1
        assert goodbye.count("#") == 1
        assert goodbye.index("#") > series.index("#")
        assert hello.rstrip().endswith("0.500s Success")
        assert "35d 00h" in series
        assert "0.005s" in goodbye


def test_mapped_children_fold_with_a_count_per_state(served: ThreadedBackend, flowview: Any) -> None:
    served.call(served.backend.set_state("task_run", "3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f",
                                         {"type": "Failed", "message": "no"},
                                         timestamp="2021-05-13T08:00:07.500+00:00"))
    result = flowview("inspect", MARMOT, "--timeline", "--api", served.url)
    assert result.exit_code == 0, result.stderr
    rows = bar_rows(result.stdout)
    assert [row.split()[0] for row in rows] == ["names", "greet-1"]
    assert rows[1].endswith("Mapped: 1 Failed, 2 Success")

    document = json.loads(flowview("inspect", MARMOT, "--timeline", "--api", served.url,
                                   "--json").stdout)
    greet = document["timeline"]["rows"][1]
    assert greet["mapped_children"] == {"Failed": 1, "Success": 2}
    segments = greet["segments"]
    assert [s["name"] for s in segments] == ["Failed", "Success"]
    # One third of the bar failed, two thirds succeeded, end to end.
    assert segments[0]["end"] == pytest.approx(segments[1]["start"])
    thirds = (segments[0]["end"] - segments[0]["start"]) / (segments[1]["end"] - segments[0]["start"])
    assert thirds == pytest.approx(1 / 3)
    assert 0 <= segments[0]["start"] < segments[1]["end"] <= 1


def test_replays_from_the_shipped_cassette(flowview: Any) -> None:
    result = flowview("inspect", DOC_FLOW_RUN_ID, "--timeline", "--cassette", str(SHIPPED_CASSETTE),
                      "--json")
    assert result.exit_code == 0, result.stderr
    timeline = json.loads(result.stdout)["timeline"]
    assert timeline["start"] == "1978-03-08T22:30:01.123456+00:00"
    assert timeline["end"] == "1978-04-12T23:00:00+00:00"
    assert [row["label"] for row in timeline["rows"]] == ["say_hello-1", "series_one-1",
                                                          "say_goodbye-1"]


def detail(number: int, task: str, map_index: int, state: Any, start: float | None,
           end: float | None) -> TaskRunDetail:
    view = TaskRunView(task_run_id=f"00000000-0000-4000-8000-{number:012d}", task_id=task,
                       task_slug=f"{task}-1", name=None, state=state, map_index=map_index,
                       flow_run_id=DOC_FLOW_RUN_ID)
    def at(seconds: float | None) -> datetime | None:
        return None if seconds is None else T0 + timedelta(seconds=seconds)

    return TaskRunDetail(task_run=view, start_time=at(start), end_time=at(end), states=())


def report_of(*details: TaskRunDetail, finished: bool = True) -> RunReport:
    states = (Running(timestamp=T0),) + ((Success(timestamp=T0 + timedelta(seconds=100)),)
                                          if finished else ())
    run = FlowRunView(flow_run_id=DOC_FLOW_RUN_ID, name="r", flow_id="f", state=states[-1],
                      states=states)
    flow = FlowView(flow_id="f", name="flow", project_name=None, storage_type=None)
    return RunReport(flow_run=run, flow=flow, task_runs=details)


def test_geometry_axis_order_and_running_tasks() -> None:
    timeline = build_timeline(report_of(
        detail(1, "late", -1, Success(), 50, 100), detail(2, "early", -1, Success(), 0, 25),
        detail(3, "never", -1, Failed(), None, None), detail(4, "busy", -1, Running(), 75, None)))
    assert timeline.span == 100
    assert [row.label for row in timeline.rows] == ["early-1", "late-1", "busy-1", "never-1"]
    early, late, busy, never = timeline.rows
    assert (early.segments[0].start, early.segments[0].end) == (0.0, 0.25)
    assert (late.segments[0].start, late.segments[0].end) == (0.5, 1.0)
    assert (busy.segments[0].end, busy.duration) == (1.0, None)  # still running: to the axis's end
    assert never.segments == ()
    # A running flow run: the axis ends at the latest time any task run reached.
    assert build_timeline(report_of(detail(1, "a", -1, Success(), 0, 40),
                                    finished=False)).span == 40


def test_geometry_folds_children_and_keeps_orphans() -> None:
    timeline = build_timeline(report_of(
        detail(1, "map", -1, Mapped(), None, None), detail(2, "map", 0, Success(), 10, 20),
        detail(3, "map", 1, Failed(), 20, 60), detail(4, "lost", 1, Success(), 5, 6)))
    labels = [row.label for row in timeline.rows]
    assert labels == ["lost-1[1]", "map-1"]
    mapped = timeline.rows[1]
    assert (mapped.start_time, mapped.end_time) == (T0 + timedelta(seconds=10),
                                                    T0 + timedelta(seconds=60))
    assert mapped.summary == "Mapped: 1 Failed, 1 Success"


@pytest.mark.parametrize(("start", "end", "units", "expected"), [
    (0.0, 1.0, 50, (0, 50)), (0.5, 0.5, 50, (25, 1)), (1.0, 1.0, 50, (49, 1)),
    (0.0, 0.0001, 684, (0, 2)), (0.2, 0.4, 10, (2, 2)), (0.0, 1.0, 0, (0, 0)),
])
def test_span_units(start: float, end: float, units: int, expected: tuple[int, int]) -> None:
    minimum = 2 if units == 684 else 1
    assert span_units(start, end, units, minimum=minimum) == expected


def test_durations() -> None:
    assert [format_duration(s) for s in (None, 0.005, 59.9994, 123, 3720, 35 * 86400 + 60)] == [
        "-", "0.005s", "59.999s", "2m 03s", "1h 02m", "35d 00h"]


def test_terminal_lines_are_coloured_by_state_and_fit_any_width() -> None:
    timeline = build_timeline(report_of(
        detail(1, "ok", -1, Success(), 0, 50), detail(2, "map", -1, Mapped(), None, None),
        detail(3, "map", 0, Success(), 50, 70), detail(4, "map", 1, Failed(), 50, 100)))
    for width in (30, 41, 80, 133, 240):
        for line in timeline_lines(timeline, width, colour=True):
            assert line.cell_len <= width
    lines = timeline_lines(timeline, 100, colour=True)
    out = io.StringIO()
    Console(file=out, width=100, color_system="truecolor", force_terminal=True).print(lines[1])
    assert "█" in lines[1].plain
    assert "#" not in lines[1].plain
    styles = {str(span.style) for line in lines for span in line.spans}
    assert {Success.color, Failed.color} <= styles
    assert "\x1b[38;2;40;167;69m" in out.getvalue()  # Success's green, as truecolour

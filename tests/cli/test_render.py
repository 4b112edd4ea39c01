"""The rich renderables: mapped children folded (orphans shown too), coloured states."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from rich.console import Console

from flowview_async.cli import render
from flowview_async.logs import FlowRunLog
from flowview_async.states import Failed, Mapped, Success
from flowview_async.task_run import TaskRunView

FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"


def task_run(number: int, task: str, map_index: int, state: object) -> TaskRunView:
    return TaskRunView(task_run_id=f"00000000-0000-4000-8000-{number:012d}", task_id=task,
                       task_slug=f"{task}-1", name=None, state=state,  # type: ignore[arg-type]
                       map_index=map_index, flow_run_id=FLOW_RUN_ID)


def text_of(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(renderable)
    return out.getvalue()


def test_children_fold_under_their_parent_with_a_count_per_state() -> None:
    runs = [task_run(1, "greet", -1, Mapped(message="Mapped")),
            task_run(2, "greet", 0, Success()), task_run(3, "greet", 1, Failed(message="boom")),
            task_run(4, "greet", 2, Success()), task_run(5, "other", -1, Success(message="ok"))]
    shown = text_of(render.task_runs_table(runs))
    assert "3 mapped: 1 Failed, 2 Success" in shown
    assert shown.count("greet-1") == 1


def test_children_without_their_parent_are_not_hidden() -> None:
    runs = [task_run(2, "greet", 0, Success()), task_run(3, "greet", 1, Failed(message="boom"))]
    shown = text_of(render.task_runs_table(runs))
    assert "greet-1[0]" in shown
    assert "1 mapped: 1 Failed" in shown


def test_state_text_uses_the_state_colour() -> None:
    text = render.state_text(Failed(message="boom"))
    assert text.plain == "Failed: boom"
    assert Failed.color in str(text.spans[0].style)
    assert text.spans[0].end == len("Failed")


@pytest.mark.parametrize("level_name", ["INFO", "WARNING", "CRITICAL", None])
def test_plain_log_line_is_the_rich_line_without_colour(level_name: str | None) -> None:
    log = FlowRunLog(timestamp=datetime(2021, 5, 13, 9, 0, 1, 250000, tzinfo=timezone.utc),
                     level=30, message="a message [with] [bold]markup[/bold]",
                     level_name=level_name)
    assert render.plain_log_line(log) == render.log_line(log).plain

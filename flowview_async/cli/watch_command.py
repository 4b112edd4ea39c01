"""``flowview watch``: follow a flow run live; the exit code tells how it ended."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.text import Text

from flowview_async._ids import check_id
from flowview_async.cli import render
from flowview_async.cli._common import CommonOptions, common_options, run_command, stdout_console
from flowview_async.cli.exit_codes import FAILED, OTHER_STATE, SUCCESS
from flowview_async.client import Client
from flowview_async.flow_run import FlowRunView
from flowview_async.states import State
from flowview_async.watch import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    LogLine,
    RunError,
    RunFinished,
    StateChange,
    TaskRunStateChange,
    WatchEvent,
    watch_flow_run,
)

__all__ = ["exit_code_for_state", "watch"]


def exit_code_for_state(state: State) -> int:
    """0 for a successful run, 1 for a failed one, 2 for any other end."""
    if state.is_successful():
        return SUCCESS
    if state.is_failed():
        return FAILED
    return OTHER_STATE


class _NoticeHandler(logging.Handler):
    """The watch's warnings (a backend outage it rides out) as one ``Warning:`` line on stderr.

    click.echo writes to sys.stderr, which rich's Live redirects above the live region."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"Warning: {' '.join(record.getMessage().split())}", err=True)


@contextmanager
def _watch_notices(*, debug: bool) -> Iterator[None]:
    # --debug already shows every record with its logger and time.
    if debug:
        yield
        return
    watch_logger = logging.getLogger("flowview_async.watch")
    handler = _NoticeHandler(logging.WARNING)
    watch_logger.addHandler(handler)
    try:
        yield
    finally:
        watch_logger.removeHandler(handler)


def _event_json(event: WatchEvent) -> dict[str, Any]:
    """One JSON line per event; each carries the cursor that --from-cursor resumes after."""
    document: dict[str, Any]
    if isinstance(event, LogLine):
        document = {"event": "log", "flow_run_id": event.flow_run_id, **event.log.to_dict()}
    elif isinstance(event, RunError):
        document = {"event": "error", "flow_run_id": event.flow_run_id,
                    "timestamp": event.timestamp.isoformat(),
                    "error": type(event.error).__name__, "message": event.message}
    else:
        kinds = {StateChange: "state", TaskRunStateChange: "task_run_state",
                 RunFinished: "finished"}
        document = {
            "event": kinds[type(event)],
            "flow_run_id": event.flow_run_id,
            "timestamp": event.timestamp.isoformat(),
            "state": event.state.name,
            "message": event.state.message,
        }
        if isinstance(event, TaskRunStateChange):
            document.update(task_run_id=event.task_run_id, task_slug=event.task_slug,
                            map_index=event.map_index)
        if isinstance(event, RunFinished):
            document["exit_code"] = exit_code_for_state(event.state)
    document["cursor"] = event.cursor
    return document


class _LiveView:
    """The live region: the current state and a bar of finished task runs. Log lines and state
    changes are printed above it, so they stay in the terminal's scrollback."""

    def __init__(self, flow_run: FlowRunView) -> None:
        self._view = flow_run
        self._state = flow_run.state
        self._progress = Progress(TextColumn("Task runs"), BarColumn(), MofNCompleteColumn())
        self._bar: TaskID = self._progress.add_task("task runs", total=None)
        # Task run id -> finished?, loaded once, then kept up by the watch's task-run events.
        self._finished: dict[str, bool] = {}

    def renderable(self) -> Group:
        header = Text(f"{self._view.name or ''} {self._view.flow_run_id}  ", style="bold")
        header.append_text(render.state_text(self._state))
        return Group(header, self._progress)

    def set_state(self, state: State) -> None:
        self._state = state

    async def load_task_runs(self) -> None:
        task_runs = await self._view.get_all_task_runs()
        self._finished = {t.task_run_id: t.state.is_finished() for t in task_runs}
        self._update_bar()

    def task_run_state(self, event: TaskRunStateChange) -> None:
        self._finished[event.task_run_id] = event.state.is_finished()
        self._update_bar()

    def _update_bar(self) -> None:
        self._progress.update(self._bar, total=len(self._finished),
                              completed=sum(self._finished.values()))


async def _watch_live(client: Client, flow_run_id: str, events: Any) -> int:
    flow_run = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    view = _LiveView(flow_run)
    console = stdout_console()
    final: State = flow_run.state
    await view.load_task_runs()
    try:
        with Live(view.renderable(), console=console, auto_refresh=False, transient=False) as live:
            async for event in events:
                if isinstance(event, RunError):
                    raise event.error  # deleted while watched: as for an unknown id
                if isinstance(event, LogLine):
                    live.console.print(render.log_line(event.log))
                elif isinstance(event, TaskRunStateChange):
                    view.task_run_state(event)
                elif isinstance(event, StateChange):
                    text = Text(f"{event.timestamp.isoformat(sep=' ', timespec='seconds')} state   ")
                    live.console.print(text.append_text(render.state_text(event.state)))
                    view.set_state(event.state)
                else:
                    final = event.state
                    view.set_state(final)
                live.update(view.renderable(), refresh=True)
    finally:
        # Off a terminal, Live leaves its last frame without a line end. Ending it here, on errors
        # too, keeps an error message (printed by the caller) off the progress bar's line.
        if not console.is_terminal:
            console.line()
    return exit_code_for_state(final)


async def _watch_json(events: Any) -> int:
    code = OTHER_STATE
    async for event in events:
        click.echo(json.dumps(_event_json(event)))
        if isinstance(event, RunError):
            raise event.error
        if isinstance(event, RunFinished):
            code = exit_code_for_state(event.state)
    return code


@click.command("watch", short_help="Follow a run live; the exit code tells how it ended.")
@click.argument("flow_run_id")
@click.option("--no-logs", is_flag=True, help="Show state changes only, not log lines.")
@click.option("--poll-interval", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_POLL_INTERVAL, show_default=True,
              help="Seconds between polls while the run changes.")
@click.option("--max-poll-interval", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_MAX_POLL_INTERVAL, show_default=True,
              help="Longest wait between polls while nothing changes.")
@click.option("--max-duration", type=click.FloatRange(min=0, min_open=True), default=12 * 3600.0,
              show_default=True, help="Give up (exit code 9) after this many seconds.")
@click.option("--from-cursor", "from_cursor", metavar="CURSOR",
              help="Resume right after the event a --json line's cursor belongs to.")
@common_options
def watch(flow_run_id: str, no_logs: bool, poll_interval: float, max_poll_interval: float,
          max_duration: float, from_cursor: str | None, options: CommonOptions) -> None:
    """Follow a flow run live until it finishes: state changes, a bar of finished task runs,
    and its log lines as they arrive.

    The exit code tells the final state, for shell scripts and CI: 0 success, 1 failed,
    2 any other end (cancelled, skipped...); 9 if it did not finish within --max-duration.
    A backend outage is ridden out (one warning line on stderr) until --max-duration.

    \b
    flowview watch 4c0101af-c6bb-4b96-8661-63a5bbfb5596 && echo "it worked"

    --json prints one JSON object per event (JSON Lines): state, task_run_state, log, then
    finished; each with a "cursor" that --from-cursor resumes right after.
    """

    async def body(client: Client) -> int:
        run_id = check_id(flow_run_id, "FLOW_RUN_ID")
        stream = watch_flow_run(run_id, client=client, stream_logs=not no_logs,
                                stream_task_runs=True, start=from_cursor or "beginning",
                                poll_interval=poll_interval,
                                max_poll_interval=max(max_poll_interval, poll_interval),
                                max_duration=max_duration)
        async with stream as events:
            if options.json:
                return await _watch_json(events)
            return await _watch_live(client, run_id, events)

    with _watch_notices(debug=options.debug):
        run_command(options, body)

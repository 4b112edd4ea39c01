"""``flowview logs``: a flow run's log lines, optionally followed until the run finishes."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from datetime import datetime, timedelta, timezone

import click
from rich.console import Console
from rich.text import Text

from flowview_async._ids import check_id
from flowview_async._paging import DEFAULT_PAGE_SIZE
from flowview_async._timestamps import parse_timestamp
from flowview_async.cli import render
from flowview_async.cli._common import CommonOptions, common_options, run_command, stdout_console
from flowview_async.cli.log_queries import first_logs, last_logs, logs_where
from flowview_async.cli.task_run_command import task_run_ids
from flowview_async.client import Client
from flowview_async.errors import InvalidArgumentError, MalformedResponseError
from flowview_async.flow_run import FlowRunView
from flowview_async.logs import FlowRunLog, level_number, log_pages
from flowview_async.recording.variable_rules import VariableRule, relative_time
from flowview_async.watch import LogLine, RunError, watch_flow_run

__all__ = ["clock", "logs", "parse_since", "since_rules"]

_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def clock() -> datetime:
    """What "now" is for relative options such as ``--since 10m`` (replaced in tests to run a
    command "later" than it was recorded, without freezing time)."""
    return datetime.now(timezone.utc)


def since_rules(now: datetime) -> list[VariableRule]:
    """Variable rules marking ``--since``'s timestamp as relative to ``now`` in a cassette.

    Recorded as ``"<now - 600s>"`` rather than a date, so ``flowview logs ID --since 10m
    --cassette c.json`` replays at any later time (and ``--since 20m`` still misses). The first
    log page sends it as ``where.timestamp._gt``; later pages wrap the filter in ``_and``.
    """
    # --tail/-n sends the same filter in one FlowviewCliLastLogs request.
    return [relative_time(path, now=now, operation=operation)
            for operation in ("FlowRunLogs", "FlowviewCliLastLogs")
            for path in ("where.timestamp._gt", "where._and.0.timestamp._gt")]


def parse_since(value: str, *, now: datetime | None = None) -> datetime:
    """``--since``: an ISO 8601 time (UTC if it has no offset) or a duration ago (``90s``,
    ``10m``, ``2h``, ``1d``)."""
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = relative.groups()
        moment = now or datetime.now(timezone.utc)
        return moment - timedelta(seconds=float(amount) * _UNIT_SECONDS[unit])
    try:
        return parse_timestamp(value, field="--since")  # the SDK's one timestamp parser
    except MalformedResponseError:
        msg = (f"--since {value!r} is neither an ISO 8601 time (2021-05-13T09:00:00+00:00) nor a "
               "duration ago (30s, 10m, 2h, 1d).")
        raise InvalidArgumentError(msg) from None


async def _logs_so_far(client: Client,
                       where: dict[str, object]) -> AsyncGenerator[list[FlowRunLog], None]:
    # Every line there is now, with no upper time bound (FlowRunView.get_logs stops at the
    # snapshot's `updated` time), paged by (timestamp, id); one list per page, printed at once.
    async for page in log_pages(client, where, page_size=DEFAULT_PAGE_SIZE):
        yield page


async def _one_batch(lines: Awaitable[list[FlowRunLog]]) -> AsyncGenerator[list[FlowRunLog], None]:
    yield await lines


async def _tail(client: Client, where: dict[str, object], count: int) -> list[FlowRunLog]:
    return (await last_logs(client, where, count))[0] if count else []


async def _followed(client: Client, flow_run_id: str, start: str,
                    last: list[LogLine]) -> AsyncGenerator[list[FlowRunLog], None]:
    """The run's lines from ``start`` (the beginning, or a cursor) until it finishes; the last
    line's event is kept in ``last``, for the resume hint printed if following is interrupted."""
    async with watch_flow_run(flow_run_id, client=client, start=start,
                              stream_states=False) as events:
        async for event in events:
            if isinstance(event, RunError):
                raise event.error  # deleted while followed: the same error as an unknown id
            if isinstance(event, LogLine):
                last[:] = [event]
                yield [event.log]


def _printer(console: Console, *, as_json: bool) -> Callable[[list[FlowRunLog]], None]:
    """How a batch of lines reaches stdout. Rendering line by line through rich cost ~0.2 ms a
    line (49 s for 200,000), so rich is used only on a terminal, for the level's colour, and
    once per batch; JSON and piped text are joined and written in one go."""
    if as_json:
        return lambda batch: click.echo("\n".join(json.dumps(log.to_dict()) for log in batch))
    if not console.is_terminal:
        return lambda batch: click.echo("\n".join(render.plain_log_line(log) for log in batch))
    return lambda batch: console.print(Text("\n").join(render.log_line(log) for log in batch))


@click.command("logs", short_help="Print (or --follow) a flow run's log lines.")
@click.argument("flow_run_id")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing new lines until the run finishes.")
@click.option("--level", type=click.Choice(_LEVELS, case_sensitive=False), default=None,
              help="Only lines at this level or above (filtered by the backend).")
@click.option("--since", metavar="TIME",
              help="Only lines after TIME: ISO 8601 (2021-05-13T09:00:00Z) or ago (10m, 2h, 1d).")
@click.option("--tail", "-n", "tail", type=click.IntRange(min=0), default=None, metavar="N",
              help="Only the last N lines (of those the other filters keep).")
@click.option("--head", type=click.IntRange(min=0), default=None, metavar="N",
              help="Only the first N lines (of those the other filters keep).")
@click.option("--task", "task_spec", metavar="SLUG[/MAP_INDEX]",
              help="Only lines of this task's runs (a mapped task: parent and children), or "
                   "with /MAP_INDEX of that one run (-1: the mapped parent).")
@click.option("--from-cursor", "from_cursor", metavar="CURSOR",
              help="With --follow: resume right after the line a cursor was printed for.")
@common_options
def logs(flow_run_id: str, follow: bool, level: str | None, since: str | None,
         tail: int | None, head: int | None, task_spec: str | None,
         from_cursor: str | None, options: CommonOptions) -> None:
    """Print the log lines of a flow run and of its task runs, oldest first.

    \b
    flowview logs 4c0101af-c6bb-4b96-8661-63a5bbfb5596 --level warning
    flowview logs 4c0101af-c6bb-4b96-8661-63a5bbfb5596 -n 20
    flowview logs e1d2c3b4-a5f6-4789-9abc-def012345678 --task greet-1/2 --head 5
    flowview logs 4c0101af-c6bb-4b96-8661-63a5bbfb5596 --follow --since 10m

    Levels, --since, --task, --head and --tail are applied by the backend: only the lines
    shown are downloaded. --json prints one JSON object per line (JSON Lines), so it streams
    with --follow. An interrupted --follow prints a cursor on stderr; --from-cursor CURSOR
    resumes there, each line printed once across the two.
    """

    async def body(client: Client) -> int:
        if tail is not None and head is not None:
            msg = "Give --tail/-n or --head, not both."
            raise InvalidArgumentError(msg)
        run_id = check_id(flow_run_id, "FLOW_RUN_ID")
        now = clock()
        after = parse_since(since, now=now) if since is not None else None
        if since is not None and _RELATIVE.match(since) and client.recorder is not None:
            client.recorder.add_variable_rules(*since_rules(now))
        minimum = level_number(level) if level is not None else None
        # Fails with FlowRunNotFoundError for an unknown id, rather than printing nothing.
        await FlowRunView.from_flow_run_id(run_id, client=client)
        if from_cursor is not None and not follow:
            raise InvalidArgumentError("--from-cursor resumes a --follow: add --follow.")
        ids = await task_run_ids(client, run_id, task_spec) if task_spec is not None else None
        where = logs_where(run_id, after=after, minimum=minimum, task_run_ids=ids)
        batches: AsyncGenerator[list[FlowRunLog], None]
        last: list[LogLine] = []
        if follow:
            batches = _followed(client, run_id, from_cursor or "beginning", last)
        elif tail is not None:
            batches = _one_batch(_tail(client, where, tail))
        elif head is not None:
            batches = _one_batch(first_logs(client, where, head))
        else:
            batches = _logs_so_far(client, where)
        show = _printer(stdout_console(), as_json=options.json)
        try:
            async with aclosing(batches):
                async for batch in batches:
                    kept = [log for log in batch
                            if (after is None or log.timestamp > after)
                            and (minimum is None or log.level >= minimum)]
                    if kept:
                        show(kept)
        except BaseException:
            if last:
                click.echo(f"To resume: flowview logs {run_id} --follow --from-cursor "
                           f"{last[0].cursor}", err=True)
            raise
        return 0

    run_command(options, body)

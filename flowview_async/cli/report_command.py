"""``flowview report ID -o run.html``: a flow run as one self-contained HTML file to share."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import click

from flowview_async.cli._common import CommonOptions, common_options, run_command
from flowview_async.client import Client
from flowview_async.errors import InvalidArgumentError
from flowview_async.report.gather import gather_report

__all__ = ["report", "write_atomically"]


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it: a reader never sees
    half a report, and a failure leaves no partial file behind."""
    folder = path.resolve().parent
    if not folder.is_dir():
        msg = f"-o {str(path)!r}: the folder {str(folder)!r} does not exist; create it first."
        raise InvalidArgumentError(msg)
    descriptor, temporary = tempfile.mkstemp(prefix=".flowview-report-", suffix=".html", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@click.command("report", short_help="Write a flow run as one self-contained HTML file.")
@click.argument("flow_run_id")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The HTML file to write (default: flowview-report-FLOW_RUN_ID.html).")
@common_options
def report(flow_run_id: str, output: Path | None, options: CommonOptions) -> None:
    """Write a flow run's report: its header and state, the timeline of its task runs, its state
    history, a sortable table of its task runs (mapped children under their task), and its log
    lines with a level filter and a text search.

    The file is self-contained (inline CSS, JavaScript and SVG) and loads nothing when opened, so
    it can be attached to an incident and read offline. It works from a cassette too.

    \b
    flowview report 4c0101af-c6bb-4b96-8661-63a5bbfb5596 -o run.html
    flowview report 4c0101af-c6bb-4b96-8661-63a5bbfb5596 --cassette cassettes/inspecting-flow-runs.json

    Prints the path written; --json prints {"path", "bytes", "task_runs", "log_lines"}.
    """

    async def body(client: Client) -> int:
        # Jinja2 is imported only by the command that renders HTML.
        from flowview_async.report.html import render_html

        found = await gather_report(client, flow_run_id)
        target = output or Path(f"flowview-report-{found.flow_run.flow_run_id}.html")
        # Rendering 10,000 log lines and the file I/O stay off the event loop.
        html = await asyncio.to_thread(render_html, found, generated_at=datetime.now(timezone.utc))
        await asyncio.to_thread(write_atomically, target, html)
        size = len(html.encode("utf-8"))
        if options.json:
            click.echo(json.dumps({"path": str(target), "bytes": size,
                                   "task_runs": len(found.task_runs), "log_lines": len(found.logs)}))
        else:
            click.echo(str(target))
        return 0

    run_command(options, body)

"""The ``flowview`` command line: a thin click layer over the SDK, with rich output.

Each subcommand lives in a module of its own and is registered on :data:`cli` below.
"""

from __future__ import annotations

import click

from flowview_async import __version__

_EPILOG = """\b
Exit codes: 0 ok; watch: 1 run failed, 2 run ended otherwise; 3 bad arguments, settings or
query text;
4 not found; 5 ambiguous name; 6 credentials refused; 7 backend unreachable or broken;
8 GraphQL errors; 9 watch timed out; 10 cassette problem; 11 result unreadable;
12 other flowview error; 70 a bug in flowview; 130 interrupted."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=_EPILOG)
@click.version_option(__version__, prog_name="flowview")
def cli() -> None:
    """Inspect Prefect 1 flow runs, record and replay inspections, serve a local backend."""


def main() -> None:
    """Console-script entry point."""
    cli()


# Subcommands live in modules of their own, registered here (imported last: they need `cli`).
from flowview_async.cli.inspect_command import inspect  # noqa: E402
from flowview_async.cli.logs_command import logs  # noqa: E402
from flowview_async.cli.query_command import query  # noqa: E402
from flowview_async.cli.report_command import report  # noqa: E402
from flowview_async.cli.runs_command import runs  # noqa: E402
from flowview_async.cli.serve import serve  # noqa: E402
from flowview_async.cli.task_run_command import task_run  # noqa: E402
from flowview_async.cli.watch_command import watch  # noqa: E402

for _command in (runs, inspect, task_run, logs, report, watch, query, serve):
    cli.add_command(_command)

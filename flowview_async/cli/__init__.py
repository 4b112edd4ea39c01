"""The ``flowview`` command line: a thin click layer over the SDK, with rich output.

Each subcommand lives in a module of its own and is registered on :data:`cli` below.
"""

from __future__ import annotations

import click

from flowview_async import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flowview")
def cli() -> None:
    """Inspect Prefect 1 flow runs, record and replay inspections, serve a local backend."""


def main() -> None:
    """Console-script entry point."""
    cli()


# Subcommands register themselves here (imported last: they need `cli` defined).
from flowview_async.cli.serve import serve  # noqa: E402

cli.add_command(serve)
from flowview_async.cli.inspect_command import inspect  # noqa: E402

cli.add_command(inspect)
from flowview_async.cli.logs_command import logs  # noqa: E402
from flowview_async.cli.query_command import query  # noqa: E402
from flowview_async.cli.watch_command import watch  # noqa: E402

cli.add_command(logs)
cli.add_command(watch)
cli.add_command(query)

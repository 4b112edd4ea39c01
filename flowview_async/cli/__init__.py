"""The ``flowview`` command line: a thin click layer over the SDK, with rich output.

Each subcommand lives in a module of its own, listed in :data:`COMMANDS` with the one-line help
``flowview --help`` shows. A subcommand's module is imported only when that subcommand runs (or
its own ``--help`` is asked for): ``flowview --version`` and ``flowview --help`` import neither
the SDK's network stack (aiohttp, gql, graphql-core) nor the backend. To add a subcommand, add
one line to :data:`COMMANDS`; ``tests/cli/test_lazy_commands.py`` checks the line against the
command itself.
"""

from __future__ import annotations

import importlib

import click

from flowview_async import __version__

__all__ = ["COMMANDS", "cli", "main"]

_EPILOG = """\b
Exit codes: 0 ok; watch: 1 run failed, 2 run ended otherwise; 3 bad arguments, settings or
query text;
4 not found; 5 ambiguous name; 6 credentials refused; 7 backend unreachable or broken;
8 GraphQL errors; 9 watch timed out; 10 cassette problem; 11 result unreadable;
12 other flowview error; 70 a bug in flowview; 130 interrupted."""

# name -> (module, attribute, the short help `flowview --help` prints for it)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "inspect": ("flowview_async.cli.inspect_command", "inspect",
                "Show a flow run: state, history, flow, task runs, logs."),
    "logs": ("flowview_async.cli.logs_command", "logs",
             "Print (or --follow) a flow run's log lines."),
    "query": ("flowview_async.cli.query_command", "query",
              "Run a GraphQL query and print the JSON result."),
    "report": ("flowview_async.cli.report_command", "report",
               "Write a flow run as one self-contained HTML file."),
    "runs": ("flowview_async.cli.runs_command", "runs",
             "List flow runs, newest first, with filters."),
    "serve": ("flowview_async.cli.serve", "serve",
              "Serve a Prefect Server 1.x-compatible GraphQL API from a fixture."),
    "task-run": ("flowview_async.cli.task_run_command", "task_run",
                 "Show a task run: state history, mapped children, logs."),
    "watch": ("flowview_async.cli.watch_command", "watch",
              "Follow a run live; the exit code tells how it ended."),
}


def load_command(name: str) -> click.Command:
    """Import the module of subcommand ``name`` and return its click command."""
    module, attribute, _ = COMMANDS[name]
    command = getattr(importlib.import_module(module), attribute)
    if not isinstance(command, click.Command):  # pragma: no cover - a wrong COMMANDS line
        raise TypeError(f"{module}.{attribute} is not a click command")
    return command


class _LazyGroup(click.Group):
    """A group whose subcommands are imported when used, listed from :data:`COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = load_command(cmd_name)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own format_commands would import every subcommand to ask for its help line.
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                text = loaded.get_short_help_str(limit)
            else:
                # A stand-in command shortens the line exactly as click would.
                text = click.Command(name, short_help=COMMANDS[name][2]).get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=_EPILOG)
@click.version_option(__version__, prog_name="flowview")
def cli() -> None:
    """Inspect Prefect 1 flow runs, record and replay inspections, serve a local backend."""


def main() -> None:
    """Console-script entry point."""
    cli()

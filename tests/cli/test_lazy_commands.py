"""The lazily loaded subcommands: ``COMMANDS`` says what each command says of itself."""

from __future__ import annotations

from typing import Any

import click
from click.testing import CliRunner

from flowview_async.cli import COMMANDS, cli, load_command


def test_every_listed_command_loads_and_its_help_line_is_its_own() -> None:
    for name, (_, _, short_help) in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert command.get_short_help_str(1000) == short_help


def test_group_help_matches_the_eagerly_built_help(flowview: Any) -> None:
    lazy = flowview("--help").stdout
    eager = click.Group(name="cli", help=cli.help, epilog=cli.epilog,
                        context_settings=cli.context_settings, params=cli.params)
    for name in COMMANDS:
        eager.add_command(load_command(name))
    assert lazy == CliRunner().invoke(eager, ["--help"]).stdout

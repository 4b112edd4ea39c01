"""What every ``flowview`` subcommand shares: connection options, the client, and the one place
where asyncio starts and where errors become one line on stderr and an exit code."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import attrs
import click
from rich.console import Console
from yarl import URL

from flowview_async.cli.exit_codes import UNEXPECTED, exit_code_for
from flowview_async.cli.messages import cli_message, error_lines
from flowview_async.client import Client
from flowview_async.errors import FlowViewError, InvalidArgumentError
from flowview_async.recording import RecordMode, replay

__all__ = ["CommonOptions", "common_options", "fit_width", "print_error", "run_command", "stdout_console"]

_F = TypeVar("_F", bound=Callable[..., Any])

_RECORD_MODES = [mode.value for mode in RecordMode]


@attrs.frozen(kw_only=True)
class CommonOptions:
    """The options every subcommand takes (see :func:`common_options`)."""

    api: str | None = None
    cassette: Path | None = None
    record_mode: str | None = None
    json: bool = False
    debug: bool = False

    def check(self) -> None:
        """Refuse option combinations that cannot work, in the options' own words, before the
        SDK would refuse them in terms of its Python arguments."""
        if self.record_mode is not None and self.cassette is None:
            msg = (f"--record-mode {self.record_mode} needs --cassette FILE (the cassette to record "
                   "to or replay from).")
            raise InvalidArgumentError(msg)
        if self.api is not None:
            try:
                url = URL(self.api)
            except ValueError:
                url = URL()
            if url.scheme not in ("http", "https") or not url.host:
                msg = (f"--api {self.api!r} is not an http(s) URL: pass the GraphQL endpoint, e.g. "
                       "--api http://host:4200.")
                raise InvalidArgumentError(msg)

    def client(self) -> Client:
        """The client these options describe.

        A cassette that exists, with no ``--api`` and a replaying record mode, is replayed with no
        backend and whatever endpoint it was recorded against (so the shipped cassettes work on any
        machine); otherwise requests go to ``--api`` (or the Prefect settings) and are recorded.
        """
        replaying_mode = self.record_mode in (None, RecordMode.ONCE.value, RecordMode.NONE.value)
        if self.cassette is not None and self.api is None and replaying_mode and self.cassette.exists():
            return replay(self.cassette)
        # No introspection: a command is one short process whose documents are fixed and checked
        # against the bundled schema; a ~100 KB schema read per command would cost more than it
        # gives (the SDK's long-lived clients read it once).
        return Client(self.api, cassette=self.cassette, record_mode=self.record_mode,
                      introspect=False)


def common_options(command: _F) -> _F:
    """Add ``--api``, ``--cassette``, ``--record-mode``, ``--json`` and ``--debug`` to a command,
    handed to it as one ``options: CommonOptions`` argument."""

    @functools.wraps(command)
    def wrapper(*args: Any, api: str | None, cassette: Path | None, record_mode: str | None,
                json_output: bool, debug: bool, **kwargs: Any) -> Any:
        options = CommonOptions(api=api, cassette=cassette, record_mode=record_mode,
                                json=json_output, debug=debug)
        return command(*args, options=options, **kwargs)

    decorators = [
        click.option("--api", metavar="URL", default=None,
                     help="GraphQL endpoint of Prefect Server/Cloud 1.x (default: the one Prefect "
                          "1.4.1 uses: PREFECT__CLOUD__API, or with PREFECT__BACKEND=server "
                          "PREFECT__SERVER__ENDPOINT, config.toml, backend.toml)."),
        click.option("--cassette", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Record the exchanges to, or replay them from, this vcrpy cassette. An "
                          "existing cassette without --api is replayed with no backend."),
        click.option("--record-mode", type=click.Choice(_RECORD_MODES), default=None,
                     help="How to use --cassette (vcrpy's modes; default: once)."),
        click.option("--json", "json_output", is_flag=True, help="Print JSON for scripts."),
        click.option("--debug", is_flag=True,
                     help="Show tracebacks and the SDK's debug log (retries, requests)."),
    ]
    decorated: Any = wrapper
    for decorator in reversed(decorators):
        decorated = decorator(decorated)
    return decorated  # type: ignore[no-any-return]


# Off a terminal nothing is wrapped: a piped line stays one line whatever its length (grep, cut and
# log collectors expect that); tables take the width their content needs.
_PIPED_WIDTH = 1_000_000
_PIPED_FIT_WIDTH = 100


def stdout_console() -> Console:
    """The console for a command's output.

    Made per command, inside it, so that it writes to whatever ``sys.stdout`` is then (click's
    test runner swaps it). On a terminal it wraps at the terminal's width; piped, it never wraps.
    """
    width = None if sys.stdout.isatty() else _PIPED_WIDTH
    return Console(highlight=False, width=width, soft_wrap=False)


def fit_width(console: Console) -> int:
    """The width to lay out something that must fit (the timeline): the terminal's, or piped,
    ``$COLUMNS`` (else 100)."""
    if console.is_terminal:
        return console.width
    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return _PIPED_FIT_WIDTH


def _one_line(message: str) -> str:
    return " ".join(message.split())


def print_error(message: str) -> None:
    """``Error: ...`` on stderr; a multi-line message keeps its lines, indented under the first."""
    click.echo(error_lines(message), err=True)


def run_command(options: CommonOptions, body: Callable[[Client], Awaitable[int]]) -> NoReturn:
    """Run ``body`` with an open client in a fresh event loop, then exit with its code.

    Every error the SDK raises becomes a message on stderr (its advice in CLI terms, see
    :mod:`flowview_async.cli.messages`) and the exit code of its class
    (see :mod:`flowview_async.cli.exit_codes`); anything else is a bug and says so. ``--debug``
    adds the traceback.
    """
    with _debug_log(enabled=options.debug):
        _run(options, body)


@contextlib.contextmanager
def _debug_log(*, enabled: bool) -> Iterator[None]:
    """With ``--debug``, the SDK's debug lines (each request: operation, HTTP status, time;
    retries) on stderr, through a handler of our own (whatever logging the host process set up)
    that is removed again afterwards."""
    if not enabled:
        yield
        return
    logger = logging.getLogger("flowview_async")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _run(options: CommonOptions, body: Callable[[Client], Awaitable[int]]) -> NoReturn:

    async def with_client() -> int:
        async with options.client() as client:
            return await body(client)

    try:
        options.check()
        code = asyncio.run(with_client())
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        code = 130
    except BrokenPipeError:
        # The reader went away (`flowview logs ID | head`): not an error worth a message. Point
        # stdout at devnull so that the interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, sys.stdout.fileno())
        code = 141
    except FlowViewError as error:
        if options.debug:
            traceback.print_exc()
        print_error(cli_message(error))
        code = exit_code_for(error)
    except Exception as error:
        if options.debug:
            traceback.print_exc()
        click.echo(f"Error: unexpected {type(error).__name__}: {_one_line(str(error))}. This is a "
                   "bug in flowview: rerun with --debug and report the traceback.", err=True)
        code = UNEXPECTED
    raise SystemExit(code)

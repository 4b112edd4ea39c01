"""``flowview serve``: run the local Prefect Server-compatible backend until interrupted.

The first line on stdout is the URL it listens on (flushed at once, so scripts and tests can read it
and connect); everything else goes to stderr (the loaded row count, synthetic-data progress).
SIGINT and SIGTERM stop it cleanly with exit code 0; while synthetic data is being generated they
stop the generation (rolled back), with exit code 130 for SIGINT and 0 for SIGTERM.
Like the other subcommands, a fixture or option that cannot work is one ``Error:`` line on stderr
with exit code 3; a port that cannot be listened on (busy, not allowed) exits 7.

The server is safe to leave running where a browser can reach it: no CORS unless ``--cors ORIGIN``,
``Host`` checked (``--allow-host NAME`` adds names), JSON POSTs only unless ``--allow-get``, and
every request bounded (cost, size, time: see :mod:`flowview_async.server.limits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from pathlib import Path

import click

from flowview_async.cli._common import print_error
from flowview_async.errors import FixtureError, InvalidArgumentError, UsageError
from flowview_async.server.http_guard import HttpPolicy
from flowview_async.server.limits import DEFAULT_STATEMENT_TIME_S, Limits
from flowview_async.server.runner import LocalBackend
from flowview_async.server.services import ServiceSettings
from flowview_async.server.synthetic import parse_synthetic_spec

_BAD_ARGUMENTS = 3
_CANNOT_LISTEN = 7
_INTERRUPTED = 130
_MAX_PORT = 65535


def _check_arguments(port: int, db_path: str | None, statement_timeout: float) -> None:
    """What would otherwise surface as a traceback from deep inside the socket or SQLite layer."""
    if not 0 < statement_timeout < float("inf"):
        msg = f"--statement-timeout {statement_timeout} must be a positive number of seconds."
        raise InvalidArgumentError(msg)
    if not 0 <= port <= _MAX_PORT:
        msg = f"--port {port} is not a TCP port: use 0..{_MAX_PORT} (0 picks a free one)."
        raise InvalidArgumentError(msg)
    if db_path is not None:
        folder = Path(db_path).expanduser().resolve().parent
        if not folder.is_dir():
            msg = (f"--db {db_path!r}: the folder {str(folder)!r} does not exist; create it or "
                   "choose another file.")
            raise InvalidArgumentError(msg)


class _ProgressLine:
    """``Generating synthetic data: 40% (24,000,000 of 60,000,000 log lines)`` on stderr: redrawn
    in place on a terminal, else one line per 10% (logs and CI stay short)."""

    def __init__(self) -> None:
        self._terminal = sys.stderr.isatty()
        self._shown = -1

    def update(self, written: int, total: int) -> None:
        percent = 100 if total == 0 else written * 100 // total
        step = percent if self._terminal else percent - percent % 10
        if step == self._shown:
            return
        self._shown = step
        text = f"Generating synthetic data: {percent}% ({written:,} of {total:,} log lines)"
        if self._terminal:
            click.echo(f"\r{text}", err=True, nl=percent == 100)
        else:
            click.echo(text, err=True)


async def _generate(backend: LocalBackend, synthetic: tuple[int, int, int], seed: int,
                    stopped: asyncio.Event) -> bool:
    """Generate the synthetic data; False if a signal came first (then nothing was kept)."""
    runs, tasks, logs = synthetic
    loop = asyncio.get_running_loop()
    line = _ProgressLine()
    click.echo(f"Generating {runs} flow runs x {tasks} task runs x {logs} log lines per task run "
               f"= {runs * tasks * logs:,} log lines...", err=True)

    def progress(written: int, total: int) -> None:
        # Called from the database thread: hand the update over to the loop.
        loop.call_soon_threadsafe(line.update, written, total)

    seeding = asyncio.ensure_future(backend.seed_synthetic(
        flow_runs=runs, task_runs=tasks, logs=logs, seed=seed, progress=progress))
    stopping = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({seeding, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not seeding.done():
            seeding.cancel()  # stops within a batch and rolls back (see seed_synthetic)
        await asyncio.gather(seeding, stopping, return_exceptions=True)
    if seeding.cancelled():
        return False
    seeding.result()  # an error in generation goes on up
    return True


async def _serve_until_stopped(
    backend: LocalBackend,
    fixture: str,
    synthetic: tuple[int, int, int] | None,
    seed: int,
    services: ServiceSettings,
) -> int:
    """Serve until SIGINT or SIGTERM; the exit code: 0, or 130 for SIGINT during generation."""
    stopped = asyncio.Event()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        stopped.set()

    loop = asyncio.get_running_loop()
    # Handlers go in before anything slow (and before the URL is printed: whoever reads it may
    # signal us at once).
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
            loop.add_signal_handler(signum, stop, signum)
    try:
        async with backend:
            kept = await backend.database.row_count()
            if kept:
                # A reopened --db file keeps what was written to it; loading the fixture again
                # would clash with its own rows.
                click.echo(f"Kept {kept} rows already in the database; fixture not loaded.", err=True)
            else:
                counts = await backend.load(fixture)
                click.echo(f"Loaded {sum(counts.values())} rows from fixture {fixture!r}.", err=True)
            if synthetic is not None and not await _generate(backend, synthetic, seed, stopped):
                click.echo("Stopped while generating synthetic data; nothing was served.", err=True)
                return _INTERRUPTED if received[0] == signal.SIGINT else 0
            # Services start on the loaded data (a scheduler visiting an empty database would
            # only come back 150 s later).
            backend.start_services(services)
            # The URL comes first and alone on stdout, once the data is ready to be queried.
            click.echo(backend.url)
            sys.stdout.flush()
            click.echo(f"Serving GraphQL at {backend.graphql_url} (Ctrl+C to stop)", err=True)
            if backend.serves_ui:
                click.echo(f"Serving the Prefect UI at {backend.url}/", err=True)
            await stopped.wait()
            return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)


@click.command("serve")
@click.option(
    "--fixture",
    default="inspecting-flow-runs",
    show_default=True,
    metavar="FILE|NAME",
    help="Fixture to load: a JSON file, or the name of a shipped fixture.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=int, default=4200, show_default=True, help="Port to listen on; 0 picks a free one."
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite file to keep the data in (default: in memory).",
)
@click.option(
    "--latency-ms", type=float, default=0.0, show_default=True, help="Latency added to every GraphQL request."
)
@click.option(
    "--jitter-ms",
    type=float,
    default=0.0,
    show_default=True,
    help="Random extra latency, uniform in 0..N ms.",
)
@click.option(
    "--faults",
    default=None,
    metavar="SPEC",
    help='Fault plan, e.g. "500:0.1,429:0.05,reset:0.02" or "503*2".',
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the fault, latency and synthetic-data generators.",
)
@click.option(
    "--synthetic",
    default=None,
    metavar="RUNSxTASKSxLOGS",
    help="Also generate synthetic runs: RUNS flow runs x TASKS task runs each x LOGS log lines "
    "per task run, e.g. 100x10x1000 (1M log lines). Progress goes to stderr; Ctrl+C stops it. In "
    "memory a log line takes ~150 bytes: use --db FILE for tens of millions.",
)
@click.option(
    "--cors",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Let web pages from ORIGIN (e.g. http://localhost:8080) call this server from a browser; "
    "repeatable. No origin is allowed by default.",
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests whose Host header is NAME (besides localhost, 127.0.0.1, [::1] "
    "and --host); repeatable, '*' for any.",
)
@click.option(
    "--allow-get", is_flag=True, default=False, help="Also answer GET /graphql?query=... requests."
)
@click.option(
    "--statement-timeout",
    type=float,
    default=DEFAULT_STATEMENT_TIME_S,
    show_default=True,
    metavar="SECONDS",
    help="How long one request may keep the database busy before it is stopped with an error.",
)
@click.option(
    "--ui",
    "ui_dir",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="Serve an already built Prefect legacy UI from DIR on the same port (see the README).",
)
@click.option(
    "--no-scheduler",
    is_flag=True,
    help="Do not run the scheduler (by default, flows with an active schedule get their next 10 "
    "runs, checked every 150 s, as Prefect Server does).",
)
@click.option(
    "--no-zombie-killer",
    is_flag=True,
    help="Do not run the zombie killer (by default, every 120 s, task runs whose flow run sent no "
    "heartbeat for 10 minutes are retried or failed, as Prefect Server does).",
)
def serve(
    fixture: str,
    host: str,
    port: int,
    db_path: str | None,
    latency_ms: float,
    jitter_ms: float,
    faults: str | None,
    seed: int,
    synthetic: str | None,
    cors_origins: tuple[str, ...],
    allowed_hosts: tuple[str, ...],
    allow_get: bool,
    statement_timeout: float,
    ui_dir: str | None,
    no_scheduler: bool,
    no_zombie_killer: bool,
) -> None:
    """Serve a Prefect Server 1.x-compatible GraphQL API from a fixture."""
    try:
        _check_arguments(port, db_path, statement_timeout)
        shape = parse_synthetic_spec(synthetic) if synthetic else None
        # The fixture is loaded once listening (see _serve_until_stopped), to report its size.
        backend = LocalBackend(
            None,
            db_path=db_path,
            host=host,
            port=port,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            faults=faults,
            seed=seed,
            limits=Limits(statement_time_s=statement_timeout),
            policy=HttpPolicy(cors_origins=cors_origins, allowed_hosts=allowed_hosts, allow_get=allow_get),
            ui_dir=ui_dir,
        )
        services = ServiceSettings(scheduler=not no_scheduler, zombie_killer=not no_zombie_killer)
        code = asyncio.run(_serve_until_stopped(backend, fixture, shape, seed, services))
    except (FixtureError, UsageError) as error:
        print_error(str(error))
        sys.exit(_BAD_ARGUMENTS)
    except sqlite3.Error as error:
        print_error(f"--db {db_path!r}: SQLite cannot use it ({error}); choose a writable file.")
        sys.exit(_BAD_ARGUMENTS)
    except OSError as error:
        reason = error.strerror or str(error)
        print_error(f"cannot listen on {host}:{port}: {reason}. Pick another --port (0 picks a "
                    "free one) or --host.")
        sys.exit(_CANNOT_LISTEN)
    except KeyboardInterrupt:  # a second Ctrl+C while shutting down
        code = _INTERRUPTED
    sys.exit(code)

"""``flowview serve``: run the local Prefect Server-compatible backend until interrupted.

The first line on stdout is the URL it listens on (flushed at once, so scripts and tests can read it
and connect); everything else goes to stderr. SIGINT and SIGTERM stop it cleanly with exit code 0.
Like the other subcommands, a fixture or option that cannot work is one ``Error:`` line on stderr
with exit code 3; a port that cannot be listened on (busy, not allowed) exits 7.
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
from flowview_async.server.runner import LocalBackend
from flowview_async.server.synthetic import parse_synthetic_spec

_BAD_ARGUMENTS = 3
_CANNOT_LISTEN = 7
_MAX_PORT = 65535


def _check_arguments(port: int, db_path: str | None) -> None:
    """What would otherwise surface as a traceback from deep inside the socket or SQLite layer."""
    if not 0 <= port <= _MAX_PORT:
        msg = f"--port {port} is not a TCP port: use 0..{_MAX_PORT} (0 picks a free one)."
        raise InvalidArgumentError(msg)
    if db_path is not None:
        folder = Path(db_path).expanduser().resolve().parent
        if not folder.is_dir():
            msg = (f"--db {db_path!r}: the folder {str(folder)!r} does not exist; create it or "
                   "choose another file.")
            raise InvalidArgumentError(msg)


async def _serve_until_stopped(
    backend: LocalBackend, fixture: str, synthetic: tuple[int, int, int] | None, seed: int
) -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Handlers go in before the URL is printed: whoever reads it may signal us at once.
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
            loop.add_signal_handler(signum, stopped.set)
    try:
        async with backend:
            counts = await backend.load(fixture)
            click.echo(f"Loaded {sum(counts.values())} rows from fixture {fixture!r}.", err=True)
            if synthetic is not None:
                runs, tasks, logs = synthetic
                await backend.seed_synthetic(flow_runs=runs, task_runs=tasks, logs=logs, seed=seed)
            # The URL comes first and alone on stdout, once the data is ready to be queried.
            click.echo(backend.url)
            sys.stdout.flush()
            click.echo(f"Serving GraphQL at {backend.graphql_url} (Ctrl+C to stop)", err=True)
            await stopped.wait()
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
    help="Also generate synthetic runs, e.g. 100x10x1000 (1M log lines).",
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
) -> None:
    """Serve a Prefect Server 1.x-compatible GraphQL API from a fixture."""
    try:
        _check_arguments(port, db_path)
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
        )
        asyncio.run(_serve_until_stopped(backend, fixture, shape, seed))
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
        pass

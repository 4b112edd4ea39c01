"""Re-record the cassettes shipped in ``cassettes/`` from the local backend.

One command, from the repository root::

    python -m flowview_async.recording.ship            # both cassettes, into cassettes/
    python -m flowview_async.recording.ship --only inspecting-flow-runs --out /tmp/check

The output is reproducible: the backend's data is fixed (the documentation fixture, and synthetic
data from a fixed seed), recorded URIs use ``http://localhost:4200`` instead of the backend's
random port, interactions are saved grouped by request, and the recording date is taken from
``SOURCE_DATE_EPOCH`` when it is set. ``tests/recording/test_shipped_cassettes.py`` re-records into
a temporary directory with the shipped files' date and asserts the bytes are identical.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from flowview_async.recording.modes import RecordMode
from flowview_async.recording.recorder import Recorder

__all__ = [
    "DOC_FLOW_RUN_ID", "SHIPPED", "SYNTHETIC_SHAPE", "record_shipped", "reproducible_fixture",
]

DOC_FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
# One flow run with hundreds of task runs and thousands of log lines (runs, task runs, logs per task).
SYNTHETIC_SHAPE = {"flow_runs": 1, "task_runs": 300, "logs": 10, "seed": 4}
# Prefect Server's default address: what a user's own recording would show.
RECORDED_ORIGIN = "http://localhost:4200"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "cassettes"
_FIXTURE_IDS = uuid.UUID("5e1d1b0e-6a40-4c59-9c43-0c6f0d0a7e11")  # namespace of the ids below


def reproducible_fixture() -> dict[str, Any]:
    """The documentation fixture with an id on every row.

    The fixture leaves log and state ids out, and the backend then draws random ones, as Prefect
    Server does; a shipped cassette must come out the same on every recording, so ids are derived
    from each row's table and position instead.
    """
    from flowview_async.server.fixtures import read_fixture

    document = read_fixture("inspecting-flow-runs")
    for table, rows in document.items():
        for index, row in enumerate(rows):
            row.setdefault("id", str(uuid.uuid5(_FIXTURE_IDS, f"{table}/{index}")))
    return document


async def _inspect(client: Any, flow_run_id: str) -> None:
    """What ``flowview inspect ID`` asks: the full concurrent inspection of one run."""
    from flowview_async import inspect_flow_run

    await inspect_flow_run(flow_run_id, client=client)


async def _documentation_example(backend: Any, client_for: Callable[[str], Any]) -> None:
    async with client_for(backend.url) as client:
        await _inspect(client, DOC_FLOW_RUN_ID)


async def _synthetic_large(backend: Any, client_for: Callable[[str], Any]) -> None:
    (flow_run_id,) = await backend.seed_synthetic(**SYNTHETIC_SHAPE)
    async with client_for(backend.url) as client:
        await _inspect(client, flow_run_id)


SHIPPED: dict[str, Callable[[Any, Callable[[str], Any]], Awaitable[None]]] = {
    "inspecting-flow-runs": _documentation_example,
    "synthetic-large": _synthetic_large,
}


async def record_shipped(name: str, out_dir: Path) -> Path:
    """Record cassette ``name`` into ``out_dir`` (replacing the file there); returns its path."""
    from flowview_async.client import Client
    from flowview_async.server.runner import LocalBackend

    target = out_dir / f"{name}.json"
    # Record into a fresh file next to nothing: a re-recording never inherits old entries.
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / target.name

        def client_for(url: str) -> Any:
            recorder = Recorder(fresh, record_mode=RecordMode.ALL, uri_origin=RECORDED_ORIGIN,
                                canonical_order=True)
            return Client(url, recorder=recorder)

        fixture = await asyncio.to_thread(reproducible_fixture)
        async with LocalBackend(fixture) as backend:
            await SHIPPED[name](backend, client_for)
        text = await asyncio.to_thread(fresh.read_text, "utf-8")
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(target.write_text, text, "utf-8")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m flowview_async.recording.ship",
        description="Re-record the shipped cassettes from the local backend.",
    )
    parser.add_argument("--only", choices=sorted(SHIPPED), action="append",
                        help="record only this cassette (repeatable)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)
    for name in args.only or sorted(SHIPPED):
        path = asyncio.run(record_shipped(name, args.out))
        print(f"recorded {path}")


if __name__ == "__main__":
    main()

"""Re-record the cassettes shipped in ``cassettes/`` from the local backend.

One command, from the repository root::

    python -m flowview_async.recording.ship            # both cassettes, into cassettes/
    python -m flowview_async.recording.ship --only inspecting-flow-runs --out /tmp/check

``genuine-prefect1-run`` is different: a genuine run of real Prefect 1.4.1 (the flow of
:mod:`.genuine`, registered with ``prefect register``, run by ``prefect agent local start``)
against the local backend, watched live from before the agent starts, as ``flowview watch`` on a
terminal asks (its ``--json`` form asks a subset). Only the watch is recorded: an inspection asks
some of the same questions (the task runs), and one cassette answers a question with one sequence
of answers. It needs Prefect 1.4.1 in ``$FLOWVIEW_PEER_VENV`` and is only
recorded when asked (``--only genuine-prefect1-run``): its ids and timestamps are real, so each
recording differs, and the tests replay it instead of re-recording it.

The documentation cassette answers ``flowview inspect ID``, ``flowview inspect --name
tranquil-dolphin``, and ``flowview watch ID`` (live and ``--json``) for its finished run; each
command is recorded by a client of its own and the recordings are merged (see
:func:`_merge_recordings`). The output is reproducible: the backend's data is fixed (the
documentation fixture, and synthetic data from a fixed seed), recorded URIs use
``http://localhost:4200`` instead of the backend's random port, interactions are saved grouped
by request, and the recording date is taken from ``SOURCE_DATE_EPOCH`` when it is set.
``tests/recording/test_shipped_cassettes.py`` re-records into a temporary directory with the
shipped files' date and asserts the bytes are identical.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from flowview_async.recording.cassette_file import load_cassette_file, save_cassette_file
from flowview_async.recording.genuine import GenuineRun, PrefectEnvironment, default_peer_venv, run_genuine
from flowview_async.recording.interaction import Interaction
from flowview_async.recording.keys import RequestKey
from flowview_async.recording.modes import RecordMode
from flowview_async.recording.recorder import Recorder

__all__ = [
    "DOC_FLOW_RUN_ID", "DOC_FLOW_RUN_NAME", "GENUINE", "SHIPPED", "SYNTHETIC_SHAPE", "cli_live_watch",
    "record_genuine", "record_shipped", "reproducible_fixture",
]

DOC_FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
DOC_FLOW_RUN_NAME = "tranquil-dolphin"
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


async def _inspect_by_name(client: Any, name: str) -> None:
    """What ``flowview inspect --name NAME`` asks: the run by name, then its inspection."""
    from flowview_async import FlowRunView

    view = await FlowRunView.from_flow_run_name(name, client=client)
    await _inspect(client, view.flow_run_id)


def _cli_watch_events(client: Any, flow_run_id: str) -> Any:
    """The event stream ``flowview watch ID`` opens, with the CLI's default options."""
    from flowview_async.watch import DEFAULT_MAX_POLL_INTERVAL, DEFAULT_POLL_INTERVAL, watch_flow_run

    # Mirrors flowview_async/cli/watch_command.py (its --poll-interval, --max-poll-interval
    # and --max-duration defaults); a change there needs a re-recording here.
    return watch_flow_run(flow_run_id, client=client, stream_logs=True, stream_task_runs=True,
                          start="beginning", poll_interval=DEFAULT_POLL_INTERVAL,
                          max_poll_interval=max(DEFAULT_MAX_POLL_INTERVAL, DEFAULT_POLL_INTERVAL),
                          max_duration=12 * 3600.0)


async def _watch_json(client: Any, flow_run_id: str) -> None:
    """What ``flowview watch ID --json`` asks: the watch, to its end."""
    async with contextlib.aclosing(_cli_watch_events(client, flow_run_id)) as events:
        async for _ in events:
            pass


async def cli_live_watch(client: Any, flow_run_id: str) -> AsyncGenerator[Any, None]:
    """What ``flowview watch ID`` asks on a terminal, yielding the watch's events: the run and its
    task runs once before the watch (the watch's task-run events keep the bar up to date)."""
    from flowview_async import FlowRunView

    view = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    await view.get_all_task_runs()
    async with contextlib.aclosing(_cli_watch_events(client, flow_run_id)) as events:
        async for event in events:
            yield event


async def _watch_live(client: Any, flow_run_id: str) -> None:
    async with contextlib.aclosing(cli_live_watch(client, flow_run_id)) as events:
        async for _ in events:
            pass


# A shipped cassette answers several commands; each is recorded by a client of its own.
Scenario = Callable[[Any], Awaitable[None]]


async def _documentation_example(backend: Any) -> list[Scenario]:
    return [
        lambda client: _inspect(client, DOC_FLOW_RUN_ID),
        lambda client: _inspect_by_name(client, DOC_FLOW_RUN_NAME),
        lambda client: _watch_json(client, DOC_FLOW_RUN_ID),
        lambda client: _watch_live(client, DOC_FLOW_RUN_ID),
        *_cli_scenarios(DOC_FLOW_RUN_ID),
    ]


def _cli_scenarios(flow_run_id: str) -> list[Scenario]:
    """What flowview runs, logs -n/--head/--task, task-run, inspect --task/--timeline and report
    ask (listed by the CLI itself, next to the commands)."""
    from flowview_async.cli.shipped_scenarios import cli_scenarios

    return list(cli_scenarios(flow_run_id))


async def _synthetic_large(backend: Any) -> list[Scenario]:
    (flow_run_id,) = await backend.seed_synthetic(**SYNTHETIC_SHAPE)
    return [lambda client: _inspect(client, flow_run_id)]


SHIPPED: dict[str, Callable[[Any], Awaitable[list[Scenario]]]] = {
    "inspecting-flow-runs": _documentation_example,
    "synthetic-large": _synthetic_large,
}


def _merge_recordings(recordings: list[Path], target: Path) -> None:
    """Write one cassette answering each recording's requests as often as that recording asked.

    Per request key, the answers of the recording that asked it most often are kept (the first
    such recording on a tie), so each command replays with the default repeat policy ``error``:
    ``flowview watch`` asks for a run's task runs more often than ``flowview inspect`` does.
    Interactions are grouped by key in a fixed order, as ``Recorder(canonical_order=True)`` does.
    """
    chosen: dict[RequestKey, list[Interaction]] = {}
    metadata: Mapping[str, Any] = {}
    for recording in recordings:
        data = load_cassette_file(recording)
        if data is None or data.empty:
            continue  # a scenario that made no request writes no file
        metadata = metadata or data.metadata
        by_key: dict[RequestKey, list[Interaction]] = {}
        for request, response in data.interactions:
            interaction = Interaction.build(request, response)
            by_key.setdefault(interaction.key, []).append(interaction)
        for key, answers in by_key.items():
            if len(answers) > len(chosen.get(key, ())):
                chosen[key] = answers
    ordered = sorted(chosen.items(), key=lambda item: (item[0].operation or "", item[0].path,
                                                       item[0].document_sha256, item[0].variables))
    entries = [(answer.request, answer.response) for _, answers in ordered for answer in answers]
    save_cassette_file(target, entries, metadata, secrets=())


async def record_shipped(name: str, out_dir: Path) -> Path:
    """Record cassette ``name`` into ``out_dir`` (replacing the file there); returns its path."""
    from flowview_async.client import Client
    from flowview_async.server.runner import LocalBackend

    target = out_dir / f"{name}.json"
    # Record into fresh files next to nothing: a re-recording never inherits old entries.
    with tempfile.TemporaryDirectory() as scratch:
        recordings: list[Path] = []
        fixture = await asyncio.to_thread(reproducible_fixture)
        async with LocalBackend(fixture) as backend:
            for position, scenario in enumerate(await SHIPPED[name](backend)):
                recordings.append(Path(scratch) / f"{position}.json")
                recorder = Recorder(recordings[-1], record_mode=RecordMode.ALL,
                                    uri_origin=RECORDED_ORIGIN, canonical_order=True)
                async with Client(backend.url, recorder=recorder) as client:
                    await scenario(client)
        merged = Path(scratch) / target.name
        await asyncio.to_thread(_merge_recordings, recordings, merged)
        text = await asyncio.to_thread(merged.read_text, "utf-8")
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(target.write_text, text, "utf-8")
    return target


GENUINE = "genuine-prefect1-run"
# Prefect 1 asks the backend for a tenant before anything else; Prefect Server's docs call it default.
_GENUINE_FIXTURE = {"tenant": [{"name": "default", "slug": "default"}]}


async def record_genuine(out_dir: Path, *, venv: Path | None = None) -> tuple[Path, GenuineRun]:
    """Record :data:`GENUINE` into ``out_dir``: a real Prefect 1.4.1 run, watched live; returns
    the cassette's path and what the watch saw."""
    from flowview_async.client import Client
    from flowview_async.server.runner import LocalBackend

    target = out_dir / f"{GENUINE}.json"
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        async with LocalBackend(_GENUINE_FIXTURE) as backend:
            prefect = PrefectEnvironment(venv or default_peer_venv(), scratch / "prefect-home",
                                         backend.graphql_url)
            live = Recorder(scratch / "live.json", record_mode=RecordMode.ALL,
                            uri_origin=RECORDED_ORIGIN, canonical_order=True)
            async with Client(backend.url, recorder=live) as client:
                run = await run_genuine(prefect, scratch, lambda run_id: cli_live_watch(client, run_id))
        merged = scratch / target.name
        await asyncio.to_thread(_merge_recordings, [live.path], merged)
        text = await asyncio.to_thread(merged.read_text, "utf-8")
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(target.write_text, text, "utf-8")
    return target, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m flowview_async.recording.ship",
        description="Re-record the shipped cassettes from the local backend.",
    )
    parser.add_argument("--only", choices=[*sorted(SHIPPED), GENUINE], action="append",
                        help=f"record only this cassette (repeatable); {GENUINE} is recorded "
                             "only when named, with Prefect 1.4.1 from $FLOWVIEW_PEER_VENV")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)
    for name in args.only or sorted(SHIPPED):
        if name == GENUINE:
            path, run = asyncio.run(record_genuine(args.out))
            print(f"recorded {path} (flow run {run.flow_run_id}, {len(run.events)} watch events)")
        else:
            path = asyncio.run(record_shipped(name, args.out))
            print(f"recorded {path}")


if __name__ == "__main__":
    main()

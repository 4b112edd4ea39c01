"""Replay benchmark: flowview's recorder against plain vcrpy, on one 10,000-entry cassette.

Run it from the repository root (it is a script, not a test)::

    .venv/bin/python bench/bench_replay.py [--entries 10000] [--lookups 2000] [--vcrpy-lookups 5]

It writes one synthetic cassette (FlowRun queries, each with its own variables and a ~1 KB
answer), then measures, for each side:

- load: reading and indexing the file, best of three (flowview: ``Recorder.open``, which also
  checks every entry and keys it; vcrpy: ``Cassette.load``);
- replay: requests answered end to end through an ``aiohttp.ClientSession`` whose URL nothing
  listens on, in reverse recording order (vcrpy's worst case, our usual case).

vcrpy is configured as recording_with_vcrpy.md section 6.1 suggests: JSON serializer,
``match_on=["method", "uri", "graphql"]`` with a parse-based GraphQL body matcher (written here
from that section's description), ``decode_compressed_response=True``. vcrpy scans every entry
per request, so it gets fewer requests; the ratios compare time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import vcr
from graphql import GraphQLError, parse, print_ast
from vcr.cassette import Cassette
from vcr.serializers import jsonserializer

from flowview_async.recording import Recorder

URL = "http://127.0.0.1:9/graphql"  # never listened on: every answer must come from the cassette
QUERY = (
    "query FlowRun($id: uuid!) { flow_run(where: {id: {_eq: $id}}) "
    "{ id name state version serialized_state parameters } }"
)


def _variables(n: int) -> dict[str, Any]:
    return {"id": f"00000000-0000-4000-8000-{n:012d}"}


def write_cassette(path: Path, entries: int) -> None:
    """A cassette in the shared vcrpy format, as the recorder writes it."""
    interactions = []
    for n in range(entries):
        answer = {"data": {"flow_run": [{
            "id": _variables(n)["id"], "name": f"run-{n}", "state": "Success", "version": 3,
            "serialized_state": {"type": "Success", "message": "All reference tasks succeeded." * 8},
            "parameters": {"x": n, "notes": "lorem ipsum " * 40},
        }]}}
        interactions.append({
            "request": {"method": "POST", "uri": URL, "headers": {},
                        "body": {"query": QUERY, "operationName": "FlowRun",
                                 "variables": _variables(n)}},
            "response": {"status": {"code": 200, "message": "OK"},
                         "headers": {"content-type": ["application/json; charset=utf-8"]},
                         "body": {"string": json.dumps(answer, indent=2, sort_keys=True)}},
        })
    document = {"version": 1, "interactions": interactions}
    path.write_text(json.dumps(document, indent=2, sort_keys=True))


# --- plain vcrpy, configured as section 6.1 suggests ---------------------------------------------

def _payload(body: Any) -> Any:
    if isinstance(body, (bytes, bytearray)):
        body = body.decode()
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def _normalised_query(query: str) -> str:
    try:
        return print_ast(parse(query))
    except GraphQLError:
        return " ".join(query.split())


def _normalised(payload: Any) -> Any:
    if isinstance(payload, dict) and "query" in payload:
        return {
            "operationName": payload.get("operationName"),
            "query": _normalised_query(payload["query"]),
            "variables": payload.get("variables") or {},
            "extensions": payload.get("extensions") or {},
        }
    return payload


def graphql_body(live: Any, recorded: Any) -> None:
    if _normalised(_payload(live.body)) != _normalised(_payload(recorded.body)):
        raise AssertionError("GraphQL payload differs")


def plain_vcr() -> vcr.VCR:
    configured = vcr.VCR(
        serializer="json",
        record_mode="none",
        match_on=["method", "uri", "graphql"],
        decode_compressed_response=True,
        filter_headers=[("authorization", "REDACTED"), ("cookie", None)],
    )
    configured.register_matcher("graphql", graphql_body)
    return configured


# --- measurements --------------------------------------------------------------------------------

async def _requests(session: aiohttp.ClientSession, order: list[int]) -> None:
    for n in order:
        payload = {"query": QUERY, "operationName": "FlowRun", "variables": _variables(n)}
        async with session.post(URL, json=payload) as response:
            assert (await response.json())["data"]["flow_run"][0]["name"] == f"run-{n}"


LOAD_REPEATS = 3  # best of three: a loaded machine adds noise, never speed


async def flowview_side(path: Path, lookups: int, entries: int) -> tuple[float, float]:
    load = float("inf")
    for _ in range(LOAD_REPEATS):
        recorder = Recorder(path, record_mode="none")
        started = time.perf_counter()
        await recorder.open()
        load = min(load, time.perf_counter() - started)
    order = list(range(entries - 1, entries - 1 - lookups, -1))
    async with aiohttp.ClientSession(middlewares=(recorder.middleware,)) as session:
        started = time.perf_counter()
        await _requests(session, order)
        replay = time.perf_counter() - started
    await recorder.close()
    return load, replay / lookups


async def vcrpy_side(path: Path, lookups: int, entries: int) -> tuple[float, float]:
    configured = plain_vcr()
    load = float("inf")
    for _ in range(LOAD_REPEATS):
        started = time.perf_counter()
        Cassette.load(path=str(path), serializer=jsonserializer, match_on=[
            configured.matchers[name] for name in ("method", "uri", "graphql")
        ], record_mode="none")
        load = min(load, time.perf_counter() - started)
    order = list(range(entries - 1, entries - 1 - lookups, -1))
    with configured.use_cassette(str(path)):
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            await _requests(session, order)
            replay = time.perf_counter() - started
    return load, replay / lookups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=2_000, help="flowview requests replayed")
    parser.add_argument("--vcrpy-lookups", type=int, default=5, help="vcrpy requests replayed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.json"
        write_cassette(path, args.entries)
        size_mb = path.stat().st_size / 1e6
        ours_load, ours_each = asyncio.run(flowview_side(path, args.lookups, args.entries))
        theirs_load, theirs_each = asyncio.run(vcrpy_side(path, args.vcrpy_lookups, args.entries))
    print(f"cassette: {args.entries} entries, {size_mb:.1f} MB (JSON)")
    print(f"{'':24}{'flowview':>14}{'plain vcrpy':>14}{'vcrpy/flowview':>16}")
    print(f"{'load (s)':24}{ours_load:>14.3f}{theirs_load:>14.3f}{theirs_load / ours_load:>15.1f}x")
    print(f"{'replay, per request (ms)':24}{ours_each * 1e3:>14.3f}{theirs_each * 1e3:>14.3f}"
          f"{theirs_each / ours_each:>15.0f}x")
    print(f"(flowview replayed {args.lookups} requests, vcrpy {args.vcrpy_lookups}; "
          "reverse recording order)")


if __name__ == "__main__":
    main()

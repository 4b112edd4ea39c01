"""``flowview serve`` runs the services by default, on the data it loaded (a real subprocess)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from flowview_async import Client
from tests.server.services.conftest import FLOW, hourly, world

FLOWVIEW = str(Path(sys.executable).with_name("flowview"))
RUNS = 'query { flow_run(where: {flow_id: {_eq: "%s"}}) { id auto_scheduled } }'


async def test_serve_schedules_the_loaded_flows_at_start(tmp_path: Path) -> None:
    fixture = tmp_path / "scheduled.json"
    fixture.write_text(json.dumps(world(schedule=hourly())))
    process = await asyncio.create_subprocess_exec(
        FLOWVIEW, "serve", "--port", "0", "--fixture", str(fixture), "--no-zombie-killer",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
        async with Client(url) as client:
            runs: list[dict[str, object]] = []
            # The first visit happens right after the data is loaded; no assumption on how long.
            while len(runs) < 10:
                runs = (await client.execute(RUNS % FLOW))["flow_run"]
                await asyncio.sleep(0.05)
        assert len(runs) == 10
        assert all(run["auto_scheduled"] for run in runs)
    finally:
        process.terminate()
        await process.wait()

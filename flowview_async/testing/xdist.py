"""Recording with pytest-xdist: one writer per cassette file in a run.

Every test records into a file of its own by default (``<module>/<test>.json``), so workers
never share one. Tests that *name* the same cassette could land on two workers, each loading
the file, then saving its own version over the other's. So a worker about to write a cassette
claims it for the run (an exclusive file in the run's shared temporary directory); a second
worker's claim fails at once, with what to do, instead of silently losing answers later. One
worker may record a cassette from several tests, one after another, as without xdist.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flowview_async.errors import RecordingError

__all__ = ["claim_cassette"]


def claim_cassette(cassette: Path, worker: str, claims_dir: Path) -> None:
    """Claim ``cassette`` for ``worker`` in this run, or raise if another worker holds it."""
    claims_dir.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(str(cassette.resolve()).encode("utf-8")).hexdigest()[:32]
    claim = claims_dir / name
    try:
        handle = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        owner = claim.read_text("utf-8").strip()
        if owner == worker:
            return
        msg = (f"Cassette {cassette} is being recorded by xdist worker {owner or '?'} in this run; "
               f"worker {worker} cannot record into it too (one would overwrite the other). Give "
               "the tests their own cassettes, or keep them on one worker: "
               "@pytest.mark.xdist_group(name=...) with --dist loadgroup, or --dist loadfile.")
        raise RecordingError(msg) from None
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(worker)

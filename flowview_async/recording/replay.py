"""``replay(path)``: a client answering from a cassette, with no backend and no URL at all."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flowview_async.recording.modes import RecordMode, RepeatPolicy
from flowview_async.recording.recorder import Recorder

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = ["REPLAY_ONLY_URL", "replay"]

# The .invalid top-level domain never resolves (RFC 2606): nothing can reach a network from here.
REPLAY_ONLY_URL = "http://flowview-replay.invalid/graphql"


def replay(
    path: str | os.PathLike[str],
    *,
    repeat: str | RepeatPolicy = RepeatPolicy.ERROR,
    secrets: Iterable[str | None] = (),
    **client_options: Any,
) -> Client:
    """A :class:`~flowview_async.Client` that replays ``path`` and never touches a network.

    The URL path is not matched (the cassette may have been recorded against any endpoint); a
    request the cassette has no answer for raises ``CassetteMismatchError``. Use it like any
    client::

        async with replay("cassettes/inspecting-flow-runs.json") as client:
            inspection = await inspect_flow_run(flow_run_id, client=client)
    """
    from flowview_async.client import Client

    recorder = Recorder(
        path, record_mode=RecordMode.NONE, repeat=repeat, secrets=secrets, match_path=False
    )
    return Client(REPLAY_ONLY_URL, recorder=recorder, **client_options)

"""Record and replay: GraphQL-aware vcrpy cassettes, scoped to one client.

- :class:`Recorder`: the per-client recorder/replayer (an aiohttp client middleware).
- :class:`RecordMode`, :class:`RepeatPolicy`: vcrpy's record modes; what replay does when a
  request's answers run out.
- :func:`replay`: a client that replays a cassette with no backend at all.
- :func:`graphql_matcher`: the same matching for plain vcrpy / pytest-recording users.
"""

from __future__ import annotations

from flowview_async.recording.modes import RecordMode, RepeatPolicy
from flowview_async.recording.recorder import Recorder
from flowview_async.recording.replay import replay
from flowview_async.recording.vcr_compat import graphql_matcher, register_graphql_matcher

__all__ = ["RecordMode", "Recorder", "RepeatPolicy", "graphql_matcher", "register_graphql_matcher", "replay"]

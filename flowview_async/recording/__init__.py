"""Record and replay: GraphQL-aware vcrpy cassettes, scoped to one client.

Record an inspection once, replay it offline (no backend, no network, no real sleeps)::

    async with Client(url, cassette="cassettes/x.json", record_mode="once") as client:
        live = await inspect_flow_run(flow_run_id, client=client)          # records
    async with replay("cassettes/x.json") as client:                       # no URL at all
        offline = await inspect_flow_run(flow_run_id, client=client)
    assert offline.to_dict() == live.to_dict()

- :class:`Recorder`: the per-client recorder/replayer, an aiohttp client middleware (never a
  process-wide patch: two clients with two cassettes in one loop never mix).
- :class:`RecordMode`: vcrpy's ``none``/``once``/``new_episodes``/``all``, and ``rewrite``.
- :class:`RepeatPolicy`: when a request's answers run out: ``error``/``repeat_last``/``cycle``.
- ``match_on`` (:func:`register_matcher`, :class:`MatchRequest`), variable rules
  (:func:`ignore_variable`, :func:`normalise_variable`, :func:`relative_time`) and vcrpy's
  ``before_record_request``/``before_record_response`` hooks: see :class:`Recorder`.
- :func:`replay`: a client replaying a cassette with no backend URL.
- :func:`graphql_matcher`/:func:`register_graphql_matcher`: the same matching for plain vcrpy and
  pytest-recording, which read these cassettes (and whose cassettes replay here).

Requests match on method, URL path, normalised document, operation name and canonical variables;
identical requests replay first-in first-out in the order they were issued. ``Authorization``,
cookies, the tenant id and registered secrets never reach the file; a save that would write a
secret raises ``SecretLeakError``. A variable recorded as ``<REDACTED>`` matches any value on
replay, and that value is then treated as a secret (never printed), so a recording made with an
API key replays without it. An empty cassette records in every mode but ``none``, where it is a
``CassetteFormatError`` ("is empty"), as is a recorded JSON body damaged by hand (naming the
interaction). The pytest plugin (``flowview_cassette`` marker,
``flowview_client``/``flowview_recorder`` fixtures, ``--flowview-record-mode``) lives in
:mod:`flowview_async.pytest_plugin`; ``python -m flowview_async.recording.ship`` re-records the
shipped cassettes.
"""

from __future__ import annotations

from flowview_async.recording.matching import (
    MatchRequest,
    register_matcher,
    registered_matchers,
    unregister_matcher,
)
from flowview_async.recording.modes import RecordMode, RepeatPolicy
from flowview_async.recording.recorder import Recorder
from flowview_async.recording.replay import replay
from flowview_async.recording.variable_rules import (
    VariableRule,
    ignore_variable,
    normalise_variable,
    relative_time,
)
from flowview_async.recording.vcr_compat import graphql_matcher, register_graphql_matcher

__all__ = [
    "MatchRequest",
    "RecordMode",
    "Recorder",
    "RepeatPolicy",
    "VariableRule",
    "graphql_matcher",
    "ignore_variable",
    "normalise_variable",
    "register_graphql_matcher",
    "register_matcher",
    "registered_matchers",
    "relative_time",
    "replay",
    "unregister_matcher",
]

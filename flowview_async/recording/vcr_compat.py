"""Using flowview cassettes from plain vcrpy and pytest-recording (and theirs from here).

Register the matcher once, then match on it instead of vcrpy's ``body``::

    import vcr
    from flowview_async.recording.vcr_compat import register_graphql_matcher

    my_vcr = register_graphql_matcher(vcr.VCR(serializer="json"))
    with my_vcr.use_cassette("cassettes/x.json", match_on=["method", "path", "graphql"]):
        ...

In pytest-recording, call ``register_graphql_matcher(vcr)`` in a ``pytest_recording_configure``
hook and set ``match_on`` in ``vcr_config``.
"""

from __future__ import annotations

from typing import Any

from flowview_async.recording.keys import graphql_payload

__all__ = ["graphql_matcher", "register_graphql_matcher"]


def graphql_matcher(live: Any, recorded: Any) -> None:
    """vcrpy matcher: same normalised document, operation name and canonical variables.

    vcrpy's contract: return ``None`` on a match, raise ``AssertionError`` (with the difference)
    otherwise. Bodies may be bytes, text or the dict vcrpy's aiohttp stub records.
    """
    mine, theirs = graphql_payload(live.body), graphql_payload(recorded.body)
    if mine != theirs:
        msg = (
            f"GraphQL request differs: operation {mine.operation!r} vs {theirs.operation!r}, "
            f"variables {mine.variables[:200]} vs {theirs.variables[:200]}"
            + ("" if mine.document == theirs.document else ", and the documents differ")
        )
        raise AssertionError(msg)


def register_graphql_matcher(vcr: Any, name: str = "graphql") -> Any:
    """Register :func:`graphql_matcher` on a ``vcr.VCR`` under ``name``; returns the VCR."""
    vcr.register_matcher(name, graphql_matcher)
    return vcr

"""One recorded request and its answer, in vcrpy's interaction shape, with its lookup key."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import attrs
from yarl import URL

from flowview_async.recording.keys import GraphQLPayload, RequestKey, graphql_payload, request_key

__all__ = ["Interaction", "pretty_body_text"]


@functools.lru_cache(maxsize=256)
def _path_of(uri: str) -> str:
    # A cassette holds thousands of interactions with a handful of distinct URIs.
    return URL(uri).path


def pretty_body_text(body: bytes) -> str:
    """A response body as stored: pretty-printed JSON with sorted keys, or the text as sent.

    Sorted keys and a fixed indent make a re-recording byte-identical and a cassette diff readable;
    JSON semantics (what the client parses) are unchanged.
    """
    text = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON, or nested past what json can re-print
        return text


@attrs.frozen(kw_only=True)
class Interaction:
    """A recorded exchange.

    ``request`` and ``response`` are the dictionaries vcrpy writes (``method``/``uri``/``body``/
    ``headers``; ``status``/``headers``/``body.string``), already redacted; ``key`` is what replay
    looks the exchange up by, ``payload`` the normalised GraphQL kept for mismatch reports.
    """

    key: RequestKey
    payload: GraphQLPayload
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    # The bytes replay serves, encoded once (a 10,000-entry cassette must load fast).
    body: bytes = attrs.field(repr=False)
    # Index in the cassette's "interactions" list (None: recorded in this session), for errors.
    position: int | None = None

    @property
    def claims_json(self) -> bool:
        """Whether the recorded response says (by its content type) that its body is JSON."""
        for name, value in self.header_pairs():
            if name.lower() == "content-type" and "json" in value.lower():
                return True
        return False

    @property
    def status(self) -> int:
        return int(self.response["status"]["code"])

    @property
    def reason(self) -> str:
        message = self.response["status"].get("message")
        return str(message) if message is not None else ""

    def header_pairs(self) -> list[tuple[str, str]]:
        """The recorded response headers as ``(name, value)`` pairs, in file order."""
        pairs = []
        for name, values in self.response.get("headers", {}).items():
            for value in values if isinstance(values, list) else [values]:
                pairs.append((str(name), str(value)))
        return pairs

    @classmethod
    def build(
        cls,
        request: Mapping[str, Any],
        response: Mapping[str, Any],
        *,
        match_path: bool = True,
        request_body: Any = None,
        position: int | None = None,
    ) -> Interaction:
        """Key an interaction; ``request_body`` is the (redacted) body to key on, if not stored."""
        body_for_key = request.get("body") if request_body is None else request_body
        payload = graphql_payload(body_for_key)
        path = _path_of(str(request["uri"])) if match_path else "*"
        key = request_key(str(request["method"]), path, payload)
        raw = response.get("body", {}).get("string")
        if raw is None:
            body = b""
        elif isinstance(raw, bytes):
            body = raw
        else:
            body = str(raw).encode("utf-8")
        return cls(key=key, payload=payload, request=request, response=response, body=body,
                   position=position)

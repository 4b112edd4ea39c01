"""One recorded request and its answer, in vcrpy's interaction shape, with its lookup key."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import attrs
from yarl import URL

from flowview_async.recording.keys import (
    GraphQLPayload,
    RequestKey,
    decode_payload,
    graphql_payload,
    request_key,
)
from flowview_async.recording.matching import Matching, MatchRequest

__all__ = ["DEFAULT_MATCHING", "Interaction", "KeyedRequest", "key_request", "pretty_body_text",
           "stored_body"]

DEFAULT_MATCHING = Matching()


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
    except ValueError:
        return text
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def _with_variables(body: Any, matching: Matching, *, for_storage: bool) -> Any:
    """``body`` (a GraphQL payload or a batch of them) with the variable rules applied."""
    if not matching.rules:
        return body
    if isinstance(body, list):
        return [_with_variables(item, matching, for_storage=for_storage) for item in body]
    if isinstance(body, Mapping) and isinstance(body.get("variables"), Mapping):
        operation = graphql_payload({**body, "variables": {}}).operation
        rewrite = matching.variables_for_storage if for_storage else matching.variables_for_key
        variables = rewrite(operation, body["variables"])
        if variables != body["variables"]:
            return {**body, "variables": variables}
    return body


@attrs.frozen(kw_only=True)
class KeyedRequest:
    """A request read for matching: its normalised payload, identity and lookup key."""

    payload: GraphQLPayload
    key: RequestKey
    match_key: tuple[Any, ...]


def key_request(method: str, uri: str, body: Any, headers: Mapping[str, Any],
                matching: Matching) -> KeyedRequest:
    """Key a request (recorded or new) whose body was redacted and decoded into JSON."""
    payload = graphql_payload(_with_variables(decode_payload(body), matching, for_storage=False))
    path = _path_of(uri) if matching.matches_path else "*"
    key = request_key(method, path, payload)
    if not matching.needs_request_facts:
        return KeyedRequest(payload=payload, key=key, match_key=matching.match_key_of(key))
    facts = MatchRequest(
        method=key.method, uri=uri, path=key.path, operation=key.operation,
        document=payload.document, variables=json.loads(payload.variables),
        headers={str(name).lower(): ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                 for name, value in headers.items()},
        key=key,
    )
    return KeyedRequest(payload=payload, key=key, match_key=matching.match_key(facts))


def stored_body(body: Any, matching: Matching) -> Any:
    """The request body as a cassette keeps it (relative times in their ``<now - …>`` form)."""
    return _with_variables(body, matching, for_storage=True)


@attrs.frozen(kw_only=True)
class Interaction:
    """A recorded exchange.

    ``request`` and ``response`` are the dictionaries vcrpy writes (``method``/``uri``/``body``/
    ``headers``; ``status``/``headers``/``body.string``), already redacted; ``key`` is what replay
    looks the exchange up by, ``payload`` the normalised GraphQL kept for mismatch reports.
    """

    key: RequestKey
    payload: GraphQLPayload
    # What the index looks the exchange up by: one value per matcher of the recorder's match_on.
    match_key: tuple[Any, ...]
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
        matching: Matching = DEFAULT_MATCHING,
        request_body: Any = None,
        position: int | None = None,
    ) -> Interaction:
        """Key an interaction; ``request_body`` is the (redacted) body to key on, if not stored."""
        body_for_key = request.get("body") if request_body is None else request_body
        headers = request.get("headers") or {}
        keyed = key_request(str(request["method"]), str(request["uri"]), body_for_key,
                            headers if isinstance(headers, Mapping) else {}, matching)
        raw = response.get("body", {}).get("string")
        if raw is None:
            body = b""
        elif isinstance(raw, bytes):
            body = raw
        else:
            body = str(raw).encode("utf-8")
        return cls(key=keyed.key, payload=keyed.payload, match_key=keyed.match_key,
                   request=request, response=response, body=body, position=position)

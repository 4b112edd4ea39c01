"""Keeping credentials out of cassettes.

Three layers, each catching what the previous one cannot know about:

1. headers are kept by allow-list (``Authorization``, cookies and the tenant id are dropped even if
   someone allow-lists them);
2. request variables whose *name* looks secret, and any *value* registered as a secret, are
   replaced by a placeholder at any depth, in requests and responses, before the request is keyed,
   so that the live request and its redacted recording still match;
3. at save time the serialized file is searched for every registered secret, and the save is
   refused (``SecretLeakError``) if one is found: a last guard against a path nobody thought of
   (a query string, a secret registered after the request was recorded...).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ALWAYS_DROPPED_HEADERS",
    "DEFAULT_REQUEST_HEADERS",
    "DEFAULT_RESPONSE_HEADERS",
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "find_leaks",
    "keep_headers",
    "scrub_json",
    "scrub_text",
]

REDACTED = "<REDACTED>"

# Shorter values would match innocent text all over a response ("1", "ok"); real keys are long.
MIN_SECRET_LENGTH = 4

ALWAYS_DROPPED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-prefect-tenant-id"}
)
DEFAULT_REQUEST_HEADERS = frozenset({"content-type"})
# No Date, Server or Content-Length: they change on every recording (or with the re-printed
# body), and a re-recording must produce the same file.
DEFAULT_RESPONSE_HEADERS = frozenset({"content-type"})

_SECRET_NAME = re.compile(r"passw(or)?d|token|secret|api[_-]?key|authori[sz]ation|credential", re.I)


def keep_headers(headers: Iterable[tuple[str, str]], allowed: frozenset[str]) -> dict[str, list[str]]:
    """The allow-listed headers, in vcrpy's ``{name: [values]}`` shape, names lower-cased."""
    kept: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in allowed and lowered not in ALWAYS_DROPPED_HEADERS:
            kept.setdefault(lowered, []).append(value)
    return kept


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of a secret replaced by the placeholder."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrub_json(
    value: Any, secrets: frozenset[str], *, by_name: bool, found: list[str] | None = None
) -> Any:
    """A copy of a JSON value with secrets replaced, at any depth.

    ``by_name`` also replaces scalar values held under secret-looking keys (``password``,
    ``apiKey``, ``token``...): right for request variables, wrong for response data, where such
    names are ordinary fields. Values replaced because of their name are appended to ``found``,
    so the caller can keep them out of the response too (a server that echoes its input).
    """
    if isinstance(value, str):
        return scrub_text(value, secrets) if secrets else value
    if isinstance(value, Mapping):
        scrubbed: dict[str, Any] = {}
        for key, item in value.items():
            if by_name and _looks_secret(str(key)) and _is_scalar(item) and item is not None:
                scrubbed[key] = REDACTED
                if found is not None and item != REDACTED:  # already redacted: nothing learnt
                    found.append(str(item))
            else:
                scrubbed[key] = scrub_json(item, secrets, by_name=by_name, found=found)
        return scrubbed
    if isinstance(value, list):
        return [scrub_json(item, secrets, by_name=by_name, found=found) for item in value]
    return value


@functools.lru_cache(maxsize=4096)
def _looks_secret(name: str) -> bool:
    # Variable names repeat across thousands of interactions: match each name once.
    return _SECRET_NAME.search(name) is not None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def find_leaks(text: str, secrets: Iterable[str]) -> list[int]:
    """Positions (in registration order) of the secrets found in ``text``, raw or JSON-escaped.

    Only positions are returned, so that the error built from them cannot quote the secret.
    """
    found = []
    for position, secret in enumerate(secrets):
        escaped = json.dumps(secret)[1:-1]
        if secret in text or escaped in text:
            found.append(position)
    return found

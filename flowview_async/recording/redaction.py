"""Keeping credentials out of cassettes (the recording side of :mod:`flowview_async._redaction`).

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
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flowview_async._redaction import (
    CASSETTE_PLACEHOLDER,
    MIN_SECRET_LENGTH,
    SECRET_HEADER_NAMES,
    looks_secret,
    secret_forms,
)

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

REDACTED = CASSETTE_PLACEHOLDER
ALWAYS_DROPPED_HEADERS = SECRET_HEADER_NAMES
DEFAULT_REQUEST_HEADERS = frozenset({"content-type"})
# No Date, Server or Content-Length: they change on every recording (or with the re-printed
# body), and a re-recording must produce the same file.
DEFAULT_RESPONSE_HEADERS = frozenset({"content-type"})


def keep_headers(headers: Iterable[tuple[str, str]], allowed: frozenset[str]) -> dict[str, list[str]]:
    """The allow-listed headers, in vcrpy's ``{name: [values]}`` shape, names lower-cased."""
    kept: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in allowed and lowered not in ALWAYS_DROPPED_HEADERS:
            kept.setdefault(lowered, []).append(value)
    return kept


@functools.lru_cache(maxsize=64)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    # Every spelling of every secret (escaped, encoded...), longest first: one pass per string.
    forms = sorted({form for secret in secrets for form in secret_forms(secret)}, key=len, reverse=True)
    return re.compile("|".join(re.escape(form) for form in forms)) if forms else None


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every spelling of each secret replaced by the placeholder."""
    pattern = _pattern(secrets if isinstance(secrets, frozenset) else frozenset(secrets))
    return text if pattern is None else pattern.sub(REDACTED, text)


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
            if by_name and looks_secret(str(key)) and _is_scalar(item) and item is not None:
                scrubbed[key] = REDACTED
                if found is not None and item != REDACTED:  # already redacted: nothing learnt
                    found.append(str(item))
            else:
                scrubbed[key] = scrub_json(item, secrets, by_name=by_name, found=found)
        return scrubbed
    if isinstance(value, list):
        return [scrub_json(item, secrets, by_name=by_name, found=found) for item in value]
    return value


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def find_leaks(text: str, secrets: Iterable[str]) -> list[int]:
    """Positions (in registration order) of the secrets found in ``text``, in any spelling.

    Only positions are returned, so that the error built from them cannot quote the secret.
    """
    secrets = list(secrets)
    pattern = _pattern(frozenset(secrets))
    if pattern is None or pattern.search(text) is None:  # the common case: one regex pass
        return []
    found = []
    for position, secret in enumerate(secrets):
        if any(form in text for form in secret_forms(secret)):
            found.append(position)
    return found

"""Postgres operators SQLite lacks, as deterministic SQL functions registered on the connection.

They run inside the single SQL statement of a query (SQLite calls back into Python per row), so
filtering stays in SQL while matching Postgres semantics: ``LIKE`` is case sensitive with ``\\`` as the
default escape, ``ILIKE`` folds Unicode case, ``~`` is a regular-expression search, and ``@>`` is jsonb
containment. Any request may send a pattern, so every match is linear in the text: LIKE runs as
SQLite's own GLOB, regular expressions and SIMILAR TO run on RE2.
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
from typing import Any

import re2


def like_to_glob(pattern: str, case_insensitive: bool) -> str:
    """A Postgres ``LIKE``/``ILIKE`` pattern as an SQLite ``GLOB`` pattern (same match).

    SQLite's GLOB is case sensitive, matches whole strings, and its matcher never backtracks
    more than the pattern's length at each position (``%_%_%_Q`` stays linear), unlike a
    regular expression. ``ILIKE`` compares ``pg_lower(value)`` with the lowered pattern.
    Raises ``ValueError`` (Postgres' wording) for a pattern ending with the escape character.
    """
    if case_insensitive:
        pattern = pattern.lower()
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise ValueError("LIKE pattern must not end with escape character")
            parts.append(_glob_literal(escaped))
        elif char == "%":
            parts.append("*")
        elif char == "_":
            parts.append("?")
        else:
            parts.append(_glob_literal(char))
    return "".join(parts)


def _glob_literal(char: str) -> str:
    # GLOB's own wildcards are matched literally inside brackets; "]" alone is literal already.
    return f"[{char}]" if char in "*?[" else char


def pg_lower(value: str | None) -> str | None:
    """Unicode lower case (SQLite's own lower() folds ASCII only, Postgres' ILIKE all letters)."""
    return None if value is None else value.lower()


def similar_to_regex(pattern: str) -> str:
    """SQL ``SIMILAR TO``: a regular expression where ``%`` and ``_`` are the LIKE wildcards."""
    translated = []
    escaped = False
    for char in pattern:
        if escaped:
            translated.append(re2.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            translated.append(".*")
        elif char == "_":
            translated.append(".")
        elif char == ".":
            translated.append(r"\.")
        else:
            translated.append(char)
    if escaped:
        raise ValueError("SIMILAR TO pattern must not end with escape character")
    return "(?s)" + "".join(translated)


@functools.lru_cache(maxsize=64)
def compiled_regex(pattern: str, case_insensitive: bool) -> Any:
    """The pattern compiled by RE2, whose matching time is linear in the text (no backtracking).

    Raises ``ValueError`` for what RE2 cannot compile (including Postgres-only syntax such as
    back-references), with the reason.
    """
    try:
        return re2.compile(("(?i)" if case_insensitive else "") + pattern)
    except re2.error as error:
        raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None


def pg_regex(value: str | None, pattern: str | None, case_insensitive: int) -> int | None:
    if value is None or pattern is None:
        return None
    return int(compiled_regex(pattern, bool(case_insensitive)).search(value) is not None)


def pg_similar(value: str | None, regex: str | None) -> int | None:
    """``regex`` is already translated by :func:`similar_to_regex`."""
    if value is None or regex is None:
        return None
    return int(compiled_regex(regex, False).fullmatch(value) is not None)


def _contains(container: Any, contained: Any, top_level: bool = True) -> bool:
    if isinstance(container, dict):
        return isinstance(contained, dict) and all(
            key in container and _contains(container[key], value, top_level=False)
            for key, value in contained.items()
        )
    if isinstance(container, list):
        if isinstance(contained, list):
            return all(
                any(_contains(item, wanted, top_level=False) for item in container) for wanted in contained
            )
        # Postgres special case: a top-level array contains a bare primitive it holds.
        return top_level and not isinstance(contained, dict) and contained in container
    return bool(container == contained and type(container) is type(contained))


def jsonb_contains(container: str | None, contained: str | None) -> int | None:
    if container is None or contained is None:
        return None
    return int(_contains(json.loads(container), json.loads(contained)))


def jsonb_has_key(document: str | None, key: str | None) -> int | None:
    if document is None or key is None:
        return None
    value = json.loads(document)
    if isinstance(value, dict):
        return int(key in value)
    if isinstance(value, list):
        return int(key in value)
    return int(value == key)


def jsonb_has_keys(document: str | None, keys: str | None, require_all: int) -> int | None:
    if document is None or keys is None:
        return None
    wanted = json.loads(keys)
    found = [jsonb_has_key(document, key) for key in wanted]
    return int(all(found)) if require_all else int(any(found))


def safe_sqrt(value: float | None) -> float | None:
    if value is None or value < 0:
        return None
    return math.sqrt(value)


def register(connection: sqlite3.Connection) -> None:
    """Make the functions above callable from SQL on ``connection``."""
    connection.create_function("pg_lower", 1, pg_lower, deterministic=True)
    connection.create_function("pg_similar", 2, pg_similar, deterministic=True)
    connection.create_function("pg_regex", 3, pg_regex, deterministic=True)
    connection.create_function("jsonb_contains", 2, jsonb_contains, deterministic=True)
    connection.create_function("jsonb_has_key", 2, jsonb_has_key, deterministic=True)
    connection.create_function("jsonb_has_keys", 3, jsonb_has_keys, deterministic=True)
    connection.create_function("pg_sqrt", 1, safe_sqrt, deterministic=True)

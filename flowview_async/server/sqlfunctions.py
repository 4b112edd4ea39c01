"""Postgres operators SQLite lacks, as deterministic SQL functions registered on the connection.

They run inside the single SQL statement of a query (SQLite calls back into Python per row), so
filtering stays in SQL while matching Postgres semantics: ``LIKE`` is case sensitive with ``\\`` as the
default escape, ``ILIKE`` folds Unicode case, ``~`` is a regular-expression search, and ``@>`` is jsonb
containment.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sqlite3
from typing import Any


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL | (re.IGNORECASE if case_insensitive else 0)
    return re.compile("".join(parts), flags)


def pg_like(value: str | None, pattern: str | None, case_insensitive: int) -> int | None:
    if value is None or pattern is None:
        return None
    return int(_like_regex(pattern, bool(case_insensitive)).fullmatch(value) is not None)


@functools.lru_cache(maxsize=256)
def _similar_regex(pattern: str) -> re.Pattern[str]:
    # SQL SIMILAR TO: a regular expression where % and _ are the LIKE wildcards.
    translated = []
    escaped = False
    for char in pattern:
        if escaped:
            translated.append(re.escape(char))
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
    return re.compile("".join(translated), re.DOTALL)


def pg_similar(value: str | None, pattern: str | None) -> int | None:
    if value is None or pattern is None:
        return None
    return int(_similar_regex(pattern).fullmatch(value) is not None)


@functools.lru_cache(maxsize=256)
def _compiled_regex(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE if case_insensitive else 0)


def pg_regex(value: str | None, pattern: str | None, case_insensitive: int) -> int | None:
    if value is None or pattern is None:
        return None
    return int(_compiled_regex(pattern, bool(case_insensitive)).search(value) is not None)


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
    connection.create_function("pg_like", 3, pg_like, deterministic=True)
    connection.create_function("pg_similar", 2, pg_similar, deterministic=True)
    connection.create_function("pg_regex", 3, pg_regex, deterministic=True)
    connection.create_function("jsonb_contains", 2, jsonb_contains, deterministic=True)
    connection.create_function("jsonb_has_key", 2, jsonb_has_key, deterministic=True)
    connection.create_function("jsonb_has_keys", 3, jsonb_has_keys, deterministic=True)
    connection.create_function("pg_sqrt", 1, safe_sqrt, deterministic=True)

"""Bounds on outside input that Python would otherwise meet with a ``RecursionError``.

JSON from a server, a cassette or a caller may nest arbitrarily deep; the parsers, validators and
our own walkers recurse. Nesting is measured here without recursion, and anything deeper than
:data:`MAX_JSON_DEPTH` is refused with a typed error by the caller, before any recursive code sees it.
Prefect's own documents nest a few dozen levels at most (``where`` filters with ``_and``/``_or``,
jsonb parameters), so the bound is far from real data and far from the interpreter's limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "exceeds_depth"]

MAX_JSON_DEPTH = 100


def exceeds_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (dicts, lists and tuples) nests more than ``limit`` containers deep.

    Iterative, and it stops at the first branch past the limit; a value that contains itself
    counts as too deep.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, Mapping):
            children: Any = current.values()
        elif isinstance(current, (list, tuple)):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (Mapping, list, tuple)))
    return False

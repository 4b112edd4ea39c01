"""Replaying a request whose secret variable was redacted when it was recorded.

A recording keeps ``"<REDACTED>"`` where a request variable held a secret (a registered value such
as the API key, or a value under a secret-looking name). At replay the same request carries the
real value, and the replaying client may not know it is a secret (replayed in CI without the key,
say): keyed as is, it would miss, and the miss report would print it. So the places ("slots")
where a recorded request of the same document has the placeholder are remembered, and an incoming
value in such a slot is redacted, and registered as a secret, before the request is keyed.

A slot therefore matches any value on replay: the recording kept no value to compare against.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from flowview_async.recording.redaction import REDACTED

__all__ = ["Slot", "fill_redacted_slots", "redacted_slots"]

# A path into the variables object: keys of mappings and indexes of lists.
Slot = tuple[str | int, ...]


def redacted_slots(variables_json: str) -> frozenset[Slot]:
    """The paths at which canonical ``variables_json`` holds exactly the placeholder."""
    if REDACTED not in variables_json:  # the common case, decided without parsing
        return frozenset()
    try:
        variables = json.loads(variables_json)
    except ValueError:
        return frozenset()
    return frozenset(_walk(variables, ()))


def _walk(value: Any, path: Slot) -> Iterable[Slot]:
    if value == REDACTED:
        yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def fill_redacted_slots(variables: Any, slots: Iterable[Slot]) -> tuple[Any, list[str]]:
    """``variables`` with each scalar found at a slot replaced by the placeholder.

    Returns the new variables (the input is not modified) and the values replaced, which the
    caller registers as secrets so that they never reach a message or a file either.
    """
    found: list[str] = []
    for slot in slots:
        variables = _replace(variables, slot, found)
    return variables, found


def _replace(value: Any, slot: Slot, found: list[str]) -> Any:
    if not slot:
        if value is None or value == REDACTED or isinstance(value, (Mapping, list)):
            return value
        if not isinstance(value, bool):  # "True" is no secret worth scrubbing from answers
            found.append(str(value))
        return REDACTED
    head, rest = slot[0], slot[1:]
    if isinstance(value, Mapping) and isinstance(head, str) and head in value:
        return {**value, head: _replace(value[head], rest, found)}
    if isinstance(value, list) and isinstance(head, int) and 0 <= head < len(value):
        copy = list(value)
        copy[head] = _replace(value[head], rest, found)
        return copy
    return value

"""Constant-time lookup of recorded answers, first-in first-out per match key.

The match key is one value per matcher of the recorder's ``match_on`` (see :mod:`.matching`), so
whatever the user chose to match on, a lookup is one dict access.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable

from flowview_async.recording.interaction import Interaction
from flowview_async.recording.keys import RequestKey
from flowview_async.recording.modes import RepeatPolicy

__all__ = ["MatchKey", "ReplayIndex"]

MatchKey = tuple[Hashable, ...]


class ReplayIndex:
    """Recorded interactions grouped by key, in file order (which is the order they were issued).

    ``take`` is synchronous on purpose: the recorder calls it before its first ``await`` for a
    request, so requests that were issued in some order claim answers in that same order.
    """

    def __init__(self, interactions: Iterable[Interaction], repeat: RepeatPolicy) -> None:
        self._repeat = repeat
        self._by_key: dict[MatchKey, list[Interaction]] = {}
        self._by_operation: dict[str | None, list[Interaction]] = {}
        self._cursor: dict[MatchKey, int] = {}
        self._order: list[Interaction] = []
        for interaction in interactions:
            self.add(interaction)

    def add(self, interaction: Interaction) -> None:
        self._order.append(interaction)
        self._by_key.setdefault(interaction.match_key, []).append(interaction)
        self._by_operation.setdefault(interaction.key.operation, []).append(interaction)

    def __len__(self) -> int:
        return len(self._order)

    @property
    def interactions(self) -> tuple[Interaction, ...]:
        return tuple(self._order)

    def recorded(self, key: MatchKey) -> int:
        return len(self._by_key.get(key, ()))

    def played(self, key: MatchKey) -> int:
        return self._cursor.get(key, 0)

    @property
    def played_any(self) -> bool:
        return bool(self._cursor)

    def take(self, key: MatchKey) -> Interaction | None:
        """The next answer for ``key`` under the repeat policy, or ``None`` if there is none."""
        answers = self._by_key.get(key)
        if not answers:
            return None
        cursor = self._cursor.get(key, 0)
        if cursor < len(answers):
            chosen = answers[cursor]
        elif self._repeat is RepeatPolicy.REPEAT_LAST:
            chosen = answers[-1]
        elif self._repeat is RepeatPolicy.CYCLE:
            chosen = answers[cursor % len(answers)]
        else:
            return None
        self._cursor[key] = cursor + 1
        return chosen

    def unplayed(self) -> list[Interaction]:
        """Recorded answers no request has asked for (yet)."""
        left = []
        for key, answers in self._by_key.items():
            left.extend(answers[self._cursor.get(key, 0):])
        return left

    def closest(self, key: RequestKey, limit: int = 3) -> list[Interaction]:
        """Recorded interactions of the same operation, most similar first (for error reports).

        Only called on a miss, so the difflib cost is paid once per failure, never per lookup.
        """
        candidates = self._by_operation.get(key.operation, [])

        def similarity(candidate: Interaction) -> tuple[bool, float]:
            same_document = candidate.key.document_sha256 == key.document_sha256
            ratio = difflib.SequenceMatcher(None, candidate.key.variables, key.variables).ratio()
            return same_document, ratio

        seen: set[RequestKey] = set()
        unique = []
        for candidate in candidates:
            if candidate.key not in seen:
                seen.add(candidate.key)
                unique.append(candidate)
        return sorted(unique, key=similarity, reverse=True)[:limit]

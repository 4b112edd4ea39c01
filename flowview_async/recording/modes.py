"""The two policies a cassette is opened with: how to record, and what to do when answers run out."""

from __future__ import annotations

import enum
from typing import TypeVar

from flowview_async.errors import InvalidArgumentError

__all__ = ["RecordMode", "RepeatPolicy"]


class RecordMode(str, enum.Enum):
    """vcrpy's record modes, with vcrpy's meaning.

    - ``none``: replay only; a request with no recorded answer is a ``CassetteMismatchError``.
    - ``once``: record everything if the cassette file does not exist (or is empty: there is
      nothing in it to lose), else behave like ``none``. Replaying an empty file (``none``) is a
      ``CassetteFormatError`` saying it is empty.
    - ``new_episodes``: replay what is recorded, send the rest to the backend and append it.
    - ``all``: never replay; every request goes to the backend and its answer replaces the
      recorded answers for the same request.
    - ``rewrite`` (pytest-recording's): record from scratch; the file is replaced by this
      session's exchanges alone (removed if there were none). The old file is left untouched
      until then, so an interrupted rewrite loses nothing.
    """

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"
    REWRITE = "rewrite"

    @classmethod
    def coerce(cls, value: str | RecordMode) -> RecordMode:
        """Accept a mode or its name; anything else is an :class:`InvalidArgumentError`."""
        return _coerce(cls, value, "record mode")


class RepeatPolicy(str, enum.Enum):
    """What replay does once every recorded answer for a request has been played.

    - ``error``: a ``CassetteMismatchError`` (the default: a test sees every extra request).
    - ``repeat_last``: play the last recorded answer again (a poll loop that settled).
    - ``cycle``: start again from the first recorded answer (a poll loop that alternates).
    """

    ERROR = "error"
    REPEAT_LAST = "repeat_last"
    CYCLE = "cycle"

    @classmethod
    def coerce(cls, value: str | RepeatPolicy) -> RepeatPolicy:
        """Accept a policy or its name; anything else is an :class:`InvalidArgumentError`."""
        return _coerce(cls, value, "repeat policy")


_Choice = TypeVar("_Choice", RecordMode, RepeatPolicy)


def _coerce(choices: type[_Choice], value: object, what: str) -> _Choice:
    if isinstance(value, choices):
        return value
    try:
        return choices(str(value).strip().lower())
    except ValueError:
        names = ", ".join(repr(choice.value) for choice in choices)
        msg = f"Unknown {what} {value!r}: use one of {names}."
        raise InvalidArgumentError(msg) from None

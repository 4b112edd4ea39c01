"""Error messages as a ``flowview`` user should read them.

The SDK's messages address Python callers ("open the client with record_mode='new_episodes'").
On the command line the same advice has to name options (``--record-mode new_episodes``), so the
CLI rewrites the Python spellings it knows, per exception type, rather than the SDK learning
about click. A message the table does not cover is shown unchanged.
"""

from __future__ import annotations

import re

from flowview_async import errors

__all__ = ["cli_message", "error_lines"]

_Rewrite = tuple[re.Pattern[str], str]


def _rewrites(*pairs: tuple[str, str]) -> tuple[_Rewrite, ...]:
    return tuple((re.compile(pattern), replacement) for pattern, replacement in pairs)


_CASSETTE_ADVICE = _rewrites(
    # The "how to fix" of a replay miss or a missing cassette. --record-mode needs a backend to
    # record from, hence the --api.
    (r"open the client with record_mode='new_episodes'",
     "rerun with --api URL --record-mode new_episodes"),
    (r"record_mode='(\w+)'", r"--record-mode \1"),
    (r"\brecord_mode=", "--record-mode"),
    (r"\bcassette=PATH\b", "--cassette FILE"),
    (r"\bcassette=", "--cassette"),
)
_SETTINGS_ADVICE = _rewrites(
    (r"Pass api_url='([^']*)'", r"Pass --api \1"),
    (r"\bapi_url=", "--api "),
    (r"\(from api_url\)", "(from --api)"),
    *((pattern.pattern, replacement) for pattern, replacement in _CASSETTE_ADVICE),
)
_WATCH_ADVICE = _rewrites(
    (r"Pass a larger max_duration= \(or None to wait as long as it takes\)",
     "Pass a larger --max-duration SECONDS"),
    (r"\bmax_duration=", "--max-duration"),
    (r"\bpoll_interval=", "--poll-interval"),
)

# Most specific first: the first class the error is an instance of decides.
_BY_TYPE: tuple[tuple[type[errors.FlowViewError], tuple[_Rewrite, ...]], ...] = (
    (errors.RecordingError, _CASSETTE_ADVICE),
    (errors.WatchTimeoutError, _WATCH_ADVICE),
    (errors.UsageError, _SETTINGS_ADVICE),
)


def cli_message(error: errors.FlowViewError) -> str:
    """The message of ``error`` with its Python-argument advice turned into CLI options."""
    message = str(error)
    for error_class, rewrites in _BY_TYPE:
        if isinstance(error, error_class):
            for pattern, replacement in rewrites:
                message = pattern.sub(replacement, message)
            break
    return message


def error_lines(message: str) -> str:
    """``Error: first line``, further lines indented under it (a cassette diff keeps its shape)."""
    lines = [line.rstrip() for line in message.strip().splitlines()] or [""]
    head, *rest = lines
    return "\n".join([f"Error: {head}", *(f"  {line}" if line else "" for line in rest)])

"""Where a ``Client()`` with no arguments goes inside a test: the test backend, or its cassette.

Prefect 2/3's ``prefect_test_harness`` points everything at its temporary server; this is the same
for flowview_async. The pytest plugin's backend and client fixtures set :data:`_current` for the
test; :func:`~flowview_async._settings.resolve_settings` takes the URL from it when no URL was
passed, and :class:`~flowview_async.Client` shares its recorder when it was given no cassette.
Outside a test nothing is set and nothing changes. It imports nothing, so it costs nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from flowview_async.recording import Recorder

__all__ = ["ClientDefaults", "current_test_defaults", "set_test_defaults", "using_test_defaults"]


class ClientDefaults(NamedTuple):
    """What an argument-less ``Client()`` uses: an endpoint, and a recorder it shares (not owns)."""

    api_url: str | None = None
    recorder: Recorder | None = None


_current: contextvars.ContextVar[ClientDefaults | None] = contextvars.ContextVar(
    "flowview_test_defaults", default=None
)


def current_test_defaults() -> ClientDefaults | None:
    return _current.get()


def set_test_defaults(defaults: ClientDefaults | None) -> ClientDefaults | None:
    """Set the defaults of the current context; returns the previous ones (to set back)."""
    previous = _current.get()
    _current.set(defaults)
    return previous


@contextlib.contextmanager
def using_test_defaults(defaults: ClientDefaults) -> Iterator[ClientDefaults]:
    """Within the block (and tasks started in it), ``Client()`` uses ``defaults``."""
    token = _current.set(defaults)
    try:
        yield defaults
    finally:
        _current.reset(token)

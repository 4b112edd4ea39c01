"""vcrpy's ``before_record_request`` / ``before_record_response`` hooks, for one recorder.

A hook gets a *copy* of the request or response in the cassette's own shape and returns it
(changed or not) or ``None``:

- request: ``{"method", "uri", "body", "headers"}``; ``body`` is the decoded JSON payload
  (``{"query", "variables", "operationName"}``), ``headers`` ``{name: [values]}``. ``None`` leaves
  the exchange out of the cassette: it goes to the backend, is neither replayed nor recorded.
- response: ``{"status": {"code", "message"}, "headers", "body": {"string"}}``. ``None`` keeps the
  exchange out of the file (the caller still gets the live answer).

Several hooks run in order; the first ``None`` stops the chain. Secrets are redacted before any
hook sees a request, so a hook can never be the way a key reaches a file.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flowview_async.errors import InvalidArgumentError

__all__ = ["Hooks", "RequestHook", "ResponseHook"]

RequestHook = Callable[[dict[str, Any]], "dict[str, Any] | None"]
ResponseHook = Callable[[dict[str, Any]], "dict[str, Any] | None"]


def _chain(hooks: Any, what: str) -> tuple[Callable[[dict[str, Any]], Any], ...]:
    if hooks is None:
        return ()
    chain = (hooks,) if callable(hooks) else tuple(hooks)
    for hook in chain:
        if not callable(hook):
            raise InvalidArgumentError(f"{what} takes a function or a list of functions, got {hook!r}.")
    return chain


def _run(chain: Iterable[Callable[[dict[str, Any]], Any]], value: dict[str, Any],
         what: str) -> dict[str, Any] | None:
    current: Any = copy.deepcopy(value)
    for hook in chain:
        current = hook(current)
        if current is None:
            return None
        if not isinstance(current, dict):
            name = getattr(hook, "__name__", repr(hook))
            msg = f"{what} hook {name} returned {type(current).__name__}: return the dict, or None to skip."
            raise InvalidArgumentError(msg)
    return dict(current)


class Hooks:
    """The hook chains of a recorder; :attr:`active` is false when there are none (no copies)."""

    def __init__(self, before_record_request: Any, before_record_response: Any) -> None:
        self._request = _chain(before_record_request, "before_record_request")
        self._response = _chain(before_record_response, "before_record_response")

    @property
    def active(self) -> bool:
        return bool(self._request or self._response)

    def request(self, stored: dict[str, Any]) -> dict[str, Any] | None:
        return _run(self._request, stored, "before_record_request") if self._request else stored

    def response(self, stored: dict[str, Any]) -> dict[str, Any] | None:
        return _run(self._response, stored, "before_record_response") if self._response else stored

    def loaded(self, request: Mapping[str, Any], body: Any, response: Mapping[str, Any]
               ) -> tuple[dict[str, Any], Any, dict[str, Any]] | None:
        """A loaded entry through both chains: ``(request, body to key on, response)`` or None."""
        hooked_request = self.request({**request, "body": body})
        if hooked_request is None:
            return None
        hooked_response = self.response(dict(response))
        if hooked_response is None:
            return None
        return hooked_request, hooked_request.get("body"), hooked_response

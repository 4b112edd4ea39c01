"""``match_on``: which parts of a request must agree for a recorded answer to serve it.

vcrpy's vocabulary, GraphQL's parts. The named matchers are

- ``method``: the HTTP method; ``path``: the URL path (never host or port);
- ``operation``: the GraphQL operation name (taken from the document when not sent);
- ``document``: the GraphQL document up to formatting and comments (and its extensions);
- ``variables``: the variables up to key order, after the variable rules (see
  :mod:`.variable_rules`).

The default is all five. A custom matcher is registered by name with :func:`register_matcher`, or
put in ``match_on`` directly. Unlike vcrpy's pairwise ``matcher(r1, r2)``, a matcher here is a
*key function* of one request (``MatchRequest -> hashable``): two requests match when every chosen
matcher gives equal values. That keeps a lookup one dict access, however large the cassette,
where vcrpy compares the request with every recorded one.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import attrs

from flowview_async.errors import InvalidArgumentError
from flowview_async.recording.keys import RequestKey
from flowview_async.recording.variable_rules import VariableRule, apply_variable_rules

__all__ = [
    "DEFAULT_MATCH_ON",
    "MatchRequest",
    "Matcher",
    "Matching",
    "register_matcher",
    "registered_matchers",
    "unregister_matcher",
]


@attrs.frozen(kw_only=True)
class MatchRequest:
    """What a matcher sees of a request, recorded or new, in the same form on both sides.

    ``variables`` are parsed JSON after the variable rules; ``headers`` are the ones a cassette
    keeps (lower-cased names, credentials never included), so a recorded request and a new one
    look alike.
    """

    method: str
    uri: str
    path: str
    operation: str | None
    document: str
    variables: Any
    headers: Mapping[str, str]
    key: RequestKey = attrs.field(repr=False)


Matcher = Callable[[MatchRequest], Hashable]
MatcherSpec = str | Matcher

DEFAULT_MATCH_ON: tuple[str, ...] = ("method", "path", "operation", "document", "variables")

# The built-in matchers read a field of the RequestKey every request is keyed into anyway.
_FIELD_OF = {"method": "method", "path": "path", "operation": "operation",
             "document": "document_sha256", "variables": "variables"}
_KEY_FIELDS: dict[str, Callable[[RequestKey], Hashable]] = {
    name: operator.attrgetter(field) for name, field in _FIELD_OF.items()
}
_BUILT_IN: dict[str, Matcher] = {
    name: operator.attrgetter(f"key.{field}") for name, field in _FIELD_OF.items()
}
_registered: dict[str, Matcher] = {}
_lock = threading.Lock()


def register_matcher(name: str, matcher: Matcher) -> None:
    """Make ``matcher`` usable by ``name`` in ``match_on`` (process-wide, like vcrpy's VCR).

    Raises:
        InvalidArgumentError: the name is a built-in one or ``matcher`` is not callable.
    """
    if not isinstance(name, str) or not name or name in _BUILT_IN:
        raise InvalidArgumentError(
            f"Cannot register a matcher named {name!r}: use a new, non-empty name "
            f"(built-in: {', '.join(_BUILT_IN)})."
        )
    if not callable(matcher):
        raise InvalidArgumentError(f"A matcher is a function of a MatchRequest, got {matcher!r}.")
    with _lock:
        _registered[name] = matcher


def unregister_matcher(name: str) -> None:
    """Forget a matcher registered with :func:`register_matcher` (nothing if it is unknown)."""
    with _lock:
        _registered.pop(name, None)


def registered_matchers() -> list[str]:
    """The names usable in ``match_on``: the built-in ones, then the registered ones."""
    with _lock:
        return [*_BUILT_IN, *sorted(_registered)]


def _resolve(spec: MatcherSpec) -> tuple[str, Matcher]:
    if callable(spec):
        return getattr(spec, "__name__", repr(spec)), spec
    if isinstance(spec, str):
        with _lock:
            found = _BUILT_IN.get(spec) or _registered.get(spec)
        if found is not None:
            return spec, found
    msg = (f"Unknown matcher {spec!r} in match_on: use one of {', '.join(registered_matchers())}, "
           "a function of a MatchRequest, or register_matcher(name, function) first.")
    raise InvalidArgumentError(msg)


class Matching:
    """The matchers and variable rules of one recorder: turns a request into its lookup key."""

    def __init__(self, match_on: Iterable[MatcherSpec] = DEFAULT_MATCH_ON,
                 variable_rules: Iterable[VariableRule] = ()) -> None:
        if isinstance(match_on, str):
            match_on = (match_on,)
        resolved = [_resolve(spec) for spec in match_on]
        if not resolved:
            raise InvalidArgumentError("match_on is empty: name at least one matcher (e.g. 'operation').")
        self.names = tuple(name for name, _ in resolved)
        self._matchers = tuple(matcher for _, matcher in resolved)
        self._only_built_in = all(name in _BUILT_IN for name in self.names) and not any(
            callable(spec) for spec in match_on
        )
        self.rules: tuple[VariableRule, ...] = ()
        self.add_rules(variable_rules)

    def __repr__(self) -> str:
        return f"Matching(match_on={self.names!r}, variable_rules={len(self.rules)})"

    def add_rules(self, rules: Iterable[VariableRule]) -> None:
        rules = tuple(rules)
        for rule in rules:
            if not isinstance(rule, VariableRule):
                raise InvalidArgumentError(
                    f"variable_rules take VariableRule objects (ignore_variable(...), "
                    f"relative_time(...)), got {rule!r}."
                )
        self.rules = self.rules + rules

    @property
    def needs_request_facts(self) -> bool:
        """Whether a custom matcher is in use (else the key is read off the RequestKey alone)."""
        return not self._only_built_in

    def match_key_of(self, key: RequestKey) -> tuple[Hashable, ...]:
        """The match key when only built-in matchers are chosen: no MatchRequest is built (a
        10,000-entry cassette is keyed on load, so this path stays lean)."""
        return tuple(_KEY_FIELDS[name](key) for name in self.names)

    @property
    def matches_path(self) -> bool:
        return "path" in self.names

    def variables_for_key(self, operation: str | None, variables: Any) -> Any:
        if not self.rules:
            return variables
        return apply_variable_rules(self.rules, operation, variables, for_storage=False)

    def variables_for_storage(self, operation: str | None, variables: Any) -> Any:
        if not self.rules:
            return variables
        return apply_variable_rules(self.rules, operation, variables, for_storage=True)

    def match_key(self, request: MatchRequest) -> tuple[Hashable, ...]:
        """The value every chosen matcher gives for ``request``: equal keys, matching requests."""
        try:
            key = tuple(matcher(request) for matcher in self._matchers)
            hash(key)  # a matcher returning a dict or list fails here, with its name in the message
            return key
        except Exception as exc:
            if self._only_built_in:
                raise
            msg = f"A custom matcher in match_on {self.names!r} failed on {request.key.operation!r}: {exc!r}"
            raise InvalidArgumentError(msg) from exc

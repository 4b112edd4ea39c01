"""The one place credentials are masked: messages, log records, exception chains, reprs, headers.

Everything that shows text built from outside input goes through :func:`redact_text`:

- every value registered with :func:`register` (API keys, tenant ids, URL passwords, the secrets a
  recorder or ``replay(secrets=...)`` knows), in each spelling a server, a repr or a log could give
  it back in: stripped of surrounding whitespace, JSON-escaped, ``repr``/``ascii`` escaped,
  percent-encoded, Unicode-normalised, and UTF-8 bytes read as Latin-1;
- the password of any ``scheme://user:password@host`` URL;
- the value after a credential header name (``Authorization: Bearer …``, ``'X-PREFECT-TENANT-ID':
  '…'``) and after a secret-looking JSON key (``"password": "…"``), whatever the value.

Where it is applied:

- :class:`~flowview_async.errors.FlowViewError` masks its arguments when built and its ``str``/``repr``
  when shown (a secret registered later is still masked);
- :func:`scrub_exception`, called where errors leave the client, masks our errors' attributes and
  replaces every foreign exception in the ``__cause__``/``__context__`` chain with a
  :class:`~flowview_async.errors.RedactedCause` summary: aiohttp's ``ClientResponseError`` carries the
  request's headers (``Authorization``), so it must not stay reachable from a raised error;
- :class:`RedactingFilter` sits on every logger of the ``flowview_async`` and ``gql`` trees and
  masks each record's message, arguments and formatted traceback.

A registered secret stays registered for the life of the process: an error raised with it may be
printed long after its client closed. Values shorter than :data:`MIN_SECRET_LENGTH` are ignored
(they would mask innocent text everywhere).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import threading
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "CASSETTE_PLACEHOLDER",
    "MASK",
    "MIN_SECRET_LENGTH",
    "SECRET_HEADER_NAMES",
    "RedactingFilter",
    "basic_auth_secret",
    "install_log_filter",
    "looks_secret",
    "mask_data",
    "redact_headers",
    "redact_text",
    "redact_url",
    "register",
    "registered",
    "scrub_exception",
    "secret_forms",
    "variables_for_messages",
]

MASK = "<redacted>"
# What a cassette stores in place of a secret; replay matches any value there (see
# recording/redacted_slots.py), so its spelling is part of the cassette format.
CASSETTE_PLACEHOLDER = "<REDACTED>"
MIN_SECRET_LENGTH = 4

SECRET_HEADER_NAMES = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-prefect-tenant-id"}
)

_SECRET_NAME = re.compile(r"passw(or)?d|token|secret|api[_-]?key|authori[sz]ation|credential", re.I)

# scheme://user:password@ -> keep the scheme and user, mask the password.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/@:'\"<>]*):([^\s/@'\"<>]*)@")
# A credential header's value in HTTP, JSON, dict-repr or key=value form.
_HEADER_VALUE = re.compile(
    r"(?i)(\b(?:proxy-)?authorization|\bx-prefect-tenant-id|\b(?:set-)?cookie)"
    r"(['\"]?\s*[:=]\s*['\"]?)"
    r"((?:bearer|basic|token|digest)\s+)?"
    r"(?!(?:bearer|basic|token|digest)\s)(?!<)[^\s'\",;}\])]+"
)
# A JSON or repr string value under a secret-looking key: "password": "..." / 'apiKey': '...'.
_NAMED_VALUE = re.compile(
    r"""(["'])([^"'\\]{0,64}?(?:passw(?:or)?d|token|secret|api[_-]?key|authori[sz]ation|"""
    r"""credential)[^"'\\]{0,64}?)\1(\s*:\s*)(["'])(?!<redacted>\4|<REDACTED>\4)((?:\\.|(?!\4)[^\\])*)\4""",
    re.I,
)

_HEADER_WORDS = ("authorization", "x-prefect-tenant-id", "cookie")
_NAME_WORDS = ("passw", "token", "secret", "apikey", "api_key", "api-key", "authori", "credential")

# The most errors scrubbed along one __cause__/__context__ chain; a longer chain is cut there.
_MAX_CHAIN = 32


def looks_secret(name: str) -> bool:
    """Whether a variable or field name says its value is a credential (``password``, ``apiKey``…)."""
    return _looks_secret(name)


@functools.lru_cache(maxsize=4096)
def _looks_secret(name: str) -> bool:
    # Variable names repeat across thousands of interactions: match each name once.
    return _SECRET_NAME.search(name) is not None


@functools.lru_cache(maxsize=1024)
def secret_forms(value: str) -> frozenset[str]:
    """The spellings of ``value`` that text may hold it in (see the module docstring)."""
    forms: set[str] = set()
    for base in {value, value.strip()}:
        for variant in {base, *(unicodedata.normalize(form, base)
                                for form in ("NFC", "NFD", "NFKC", "NFKD"))}:
            forms.add(variant)
            forms.add(json.dumps(variant)[1:-1])
            forms.add(json.dumps(variant, ensure_ascii=False)[1:-1])
            forms.add(repr(variant)[1:-1])
            forms.add(ascii(variant)[1:-1])
            forms.add(urllib.parse.quote(variant, safe=""))
            forms.add(urllib.parse.quote_plus(variant, safe=""))
            encoded = variant.encode("utf-8", errors="surrogatepass")
            forms.add(encoded.decode("latin-1"))
            forms.add(repr(encoded)[2:-1])
    return frozenset(form for form in forms if len(form) >= MIN_SECRET_LENGTH)


def basic_auth_secret(user: str, password: str) -> str:
    """The token of ``Authorization: Basic …`` for a URL's user and password (also a secret)."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class _Registry:
    """The process-wide set of secret spellings, and one regex matching any of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._forms: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> bool:
        new = [v for v in values if v not in self._values and len(v.strip()) >= MIN_SECRET_LENGTH]
        if not new:
            return False
        with self._lock:
            for value in new:
                self._values.add(value)
                self._forms |= secret_forms(value)
            # Longest first: a longer spelling is never left half-masked by a shorter one.
            ordered = sorted(self._forms, key=len, reverse=True)
            self.pattern = re.compile("|".join(re.escape(form) for form in ordered))
        return True

    def values(self) -> frozenset[str]:
        return frozenset(self._values)


_REGISTRY = _Registry()


def register(*values: str | None) -> None:
    """Mask these values (and their spellings) everywhere from now on; ``None`` and short values
    are ignored. Also puts the log filter on loggers created since the last call."""
    strings = [value for value in values if isinstance(value, str)]
    if _REGISTRY.add(strings):
        install_log_filter()


def registered() -> frozenset[str]:
    """The values registered so far (for the recorder's save-time leak check)."""
    return _REGISTRY.values()


def _mask_extra(text: str, extra: Iterable[str]) -> str:
    forms = {form for value in extra for form in secret_forms(value)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


def redact_text(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every registered secret (and ``extra`` value), URL password, credential header
    value and secret-named JSON value replaced by ``<redacted>``."""
    pattern = _REGISTRY.pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if extra:
        text = _mask_extra(text, extra)
    if "://" in text and "@" in text:
        text = _URL_PASSWORD.sub(rf"\1:{MASK}@", text)
    # The regexes below are costly on a large text (a DEBUG line holding a whole answer): run
    # each only when a word it needs is there.
    lowered = text.lower()
    if any(word in lowered for word in _HEADER_WORDS):
        text = _HEADER_VALUE.sub(
            lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{MASK}", text)
    if any(word in lowered for word in _NAME_WORDS):
        text = _NAMED_VALUE.sub(
            lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{m.group(4)}{MASK}{m.group(4)}",
            text,
        )
    return text


def redact_url(url: str | None) -> str | None:
    """A URL safe to show: its password (if any) masked."""
    return None if url is None else _URL_PASSWORD.sub(rf"\1:{MASK}@", url)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` safe to show: credential headers masked, the rest scrubbed."""
    return {
        name: MASK if name.lower() in SECRET_HEADER_NAMES else redact_text(str(value))
        for name, value in headers.items()
    }


def mask_data(value: Any, extra: Iterable[str] = ()) -> Any:
    """A copy of a JSON-like value with every string (keys included) passed through
    :func:`redact_text`. Iterative, so no nesting depth can make it fail."""
    extra = tuple(extra)
    root: list[Any] = [None]
    # Each job: (source value, container to write into, key or index in it).
    jobs: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while jobs:
        source, target, slot = jobs.pop()
        if isinstance(source, str):
            target[slot] = redact_text(source, extra)
        elif isinstance(source, Mapping):
            copy: dict[Any, Any] = {}
            target[slot] = copy
            for key, item in source.items():
                masked_key = redact_text(key, extra) if isinstance(key, str) else key
                copy[masked_key] = None
                jobs.append((item, copy, masked_key))
        elif isinstance(source, (list, tuple)):
            items: list[Any] = [None] * len(source)
            target[slot] = items
            jobs.extend((item, items, index) for index, item in enumerate(source))
        else:
            target[slot] = source
    return root[0]


def variables_for_messages(variables: Mapping[str, Any] | None) -> tuple[Any, tuple[str, ...]]:
    """A copy of GraphQL ``variables`` safe to validate and quote in an error, and the values
    hidden from it.

    Strings under a secret-looking name (``password``, ``apiKey``…) become ``<redacted>`` (still a
    string, so validation judges the same types); other values under such names are returned as
    hidden too, for the error text to be masked. Registered secrets are masked everywhere anyway.
    The caller bounds the nesting first (:mod:`flowview_async._limits`).
    """
    hidden: list[str] = []

    def walk(value: Any, secret: bool) -> Any:
        if isinstance(value, Mapping):
            return {key: walk(item, looks_secret(str(key))) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, secret) for item in value]
        if secret and value is not None and not isinstance(value, bool):
            hidden.append(str(value))
            if isinstance(value, str):
                return MASK
        return value

    if variables is None:
        return None, ()
    return walk(variables, False), tuple(hidden)


# --- exceptions ----------------------------------------------------------------------------------


def _summary(error: BaseException, extra: tuple[str, ...]) -> BaseException:
    from flowview_async.errors import RedactedCause

    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    try:
        text = str(error)
    except Exception:  # a broken __str__ must not hide the error being reported
        text = "<unprintable>"
    return RedactedCause(f"{name}: {redact_text(text, extra)}" if text else name, type_name=name)


def _scrub_own(error: BaseException, extra: tuple[str, ...]) -> None:
    error.args = tuple(mask_data(arg, extra) if isinstance(arg, (str, Mapping, list, tuple))
                       else arg for arg in error.args)
    for name, value in list(vars(error).items()):
        if isinstance(value, (str, Mapping, list, tuple)):
            setattr(error, name, mask_data(value, extra))


def scrub_exception(error: BaseException, extra: Iterable[str] = ()) -> BaseException:
    """Make ``error`` and everything chained to it safe to show, in place; returns ``error``.

    Our own errors keep their type and are masked attribute by attribute; any other exception in
    the ``__cause__``/``__context__`` chain (aiohttp's, gql's, the standard library's) is replaced
    by a :class:`~flowview_async.errors.RedactedCause` holding its type name and masked message,
    with no traceback: nothing that carried a request (and its headers) stays reachable. A chain
    longer than :data:`_MAX_CHAIN` links is cut there.
    """
    from flowview_async.errors import FlowViewError, RedactedCause

    values = tuple(extra)
    summaries: dict[int, BaseException] = {}  # a foreign error is often both cause and context
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if not isinstance(current, RedactedCause):
            _scrub_own(current, values)
        for link in ("__cause__", "__context__"):
            chained = getattr(current, link)
            if chained is None:
                continue
            if len(seen) + len(todo) >= _MAX_CHAIN:
                setattr(current, link, None)
                continue
            if not isinstance(chained, (FlowViewError, RedactedCause)):
                summary = summaries.get(id(chained))
                if summary is None:
                    summary = summaries[id(chained)] = _summary(chained, values)
                    # The summary keeps the chain's shape (a cause of a cause…), summarised in turn.
                    summary.__cause__ = chained.__cause__
                    summary.__context__ = chained.__context__
                    summary.__suppress_context__ = chained.__suppress_context__
                setattr(current, link, summary)
                chained = summary
            todo.append(chained)
    return error


# --- logging -------------------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Masks a log record's message, arguments, traceback and stack (it never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_flowview_redacted", False):
            return True
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: mask what is there
            text = f"{record.msg} {record.args}"
        masked = redact_text(text)
        if masked != text:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            scrub_exception(record.exc_info[1])
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        record._flowview_redacted = True
        return True


_FILTER = RedactingFilter()
_LOGGER_TREES = ("flowview_async", "gql")


def _in_trees(name: str) -> bool:
    return any(name == tree or name.startswith(tree + ".") for tree in _LOGGER_TREES)


def install_log_filter() -> None:
    """Put the filter on every logger of the ``flowview_async`` and ``gql`` trees.

    A filter on a logger sees only the records logged on that very logger (not its children's),
    so each existing one gets it (again on each :func:`register`), and a record factory, chained
    to whatever factory was installed before, applies the same filter to records of loggers of
    those trees created later.
    """
    manager = logging.Logger.manager
    names = [name for name in list(manager.loggerDict) if _in_trees(name)]
    for name in {*_LOGGER_TREES, *names}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    _install_record_factory()


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_flowview_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _in_trees(record.name):
            _FILTER.filter(record)
        return record

    factory._flowview_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


install_log_filter()

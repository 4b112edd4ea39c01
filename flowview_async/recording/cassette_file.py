"""Reading and writing cassette files, in vcrpy's format, safely.

Loading promises, whatever PyYAML and vcrpy versions are installed (vcrpy before 9.3 loads YAML
with PyYAML's full, code-running loader; this module never calls vcrpy's loader):

- YAML is parsed here with PyYAML's *safe* loader (the C one when available): no Python tag runs;
  timestamps stay strings, ``!!set`` is refused, ``!!binary`` is allowed only where vcrpy writes
  bytes (a request body or a response body string);
- before anything is built, the YAML event stream is scanned: more than :data:`MAX_YAML_ALIASES`
  aliases, an expansion past :data:`MAX_YAML_NODES` nodes (an alias bomb) or nesting past
  :data:`MAX_NESTING` is refused; JSON nesting is bounded the same way;
- only regular files are read (a FIFO, ``/dev/zero`` or a socket is refused without blocking), and
  at most :data:`MAX_CASSETTE_BYTES` (``FLOWVIEW_MAX_CASSETTE_BYTES`` overrides it) are read.

Every refusal is a :class:`~flowview_async.errors.CassetteFormatError` naming the file.

The layout is vcrpy's (``{"version": 1, "interactions": [{"request", "response"}]}``) so that plain
vcrpy and pytest-recording read our files and we read theirs. Our own metadata (SDK version, schema
hash, recording date) sits in a top-level ``"flowview"`` object, not in vcrpy 9's ``"metadata"``:
vcrpy's ``deserialize`` returns a third value when ``metadata`` is present, and pytest-recording
0.14's persister, which unpacks two, then fails on the file. Unknown top-level keys are ignored by
both. JSON is written
pretty-printed with sorted keys (a re-recording is byte-identical, a diff is readable); YAML is
written with PyYAML's safe dumper, in the layout vcrpy's serializer writes.

These functions block (file I/O, parsing a large file): the recorder calls them in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from yarl import URL

from flowview_async._limits import MAX_JSON_DEPTH, exceeds_depth
from flowview_async.errors import CassetteFormatError, SecretLeakError
from flowview_async.recording import safe_yaml
from flowview_async.recording.cassette_io import (
    MAX_CASSETTE_BYTES,
    final_target,
    locked,
    read_bounded,
    write_atomically,
)
from flowview_async.recording.redaction import find_leaks

__all__ = [
    "CASSETTE_FORMAT_VERSION",
    "MAX_CASSETTE_BYTES",
    "MAX_NESTING",
    "CassetteData",
    "build_metadata",
    "load_cassette_file",
    "recording_date",
    "save_cassette_file",
]

CASSETTE_FORMAT_VERSION = 1  # vcrpy's on-disk format version
_YAML_SUFFIXES = (".yaml", ".yml")
# A request body's variables may nest MAX_JSON_DEPTH deep; the cassette wraps them in ~6 levels.
MAX_NESTING = MAX_JSON_DEPTH + 10
# Scalars a recorded request body (JSON) may hold.
_JSON_SCALARS = (str, int, float, bool, type(None))


@attrs.frozen(kw_only=True)
class CassetteData:
    """What a cassette file holds, checked for shape, not yet keyed."""

    interactions: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...]
    metadata: Mapping[str, Any]  # ours (the "flowview" object), empty for a foreign cassette
    # The file exists but holds nothing (0 bytes or whitespace): the recorder reports it as such
    # when replaying, and records into it like into a missing file otherwise.
    empty: bool = False


def is_yaml(path: Path) -> bool:
    return path.suffix.lower() in _YAML_SUFFIXES


def recording_date() -> str:
    """The recording date to store: ``SOURCE_DATE_EPOCH`` if set (reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip().isdigit():
        moment = dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
    else:
        moment = dt.datetime.now(tz=dt.timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_metadata(*, sdk_version: str, schema_sha256: str) -> dict[str, Any]:
    """The ``"flowview"`` object of a cassette we write."""
    return {
        "format": 1,
        "recorded_at": recording_date(),
        "schema_sha256": schema_sha256,
        "sdk_version": sdk_version,
    }


def _parse(path: Path, text: str) -> Any:
    if is_yaml(path):
        try:
            return safe_yaml.load(text, max_depth=MAX_NESTING)
        except safe_yaml.error_types() as exc:
            # A python/object tag lands here: the safe loader refuses it, nothing runs.
            msg = (
                f"Cassette {path} is not a YAML file this SDK can load safely ({exc}). "
                "Cassettes are data only; re-record it or restore it from version control."
            )
            raise CassetteFormatError(msg) from None
    try:
        data = json.loads(text)
    except RecursionError:
        data = None
    except ValueError as exc:
        msg = (
            f"Cassette {path} is not valid JSON ({exc}); it is probably truncated or corrupted. "
            "Restore it from version control, or delete it and record it again."
        )
        raise CassetteFormatError(msg) from None
    if data is None or exceeds_depth(data, MAX_NESTING):
        msg = (f"Cassette {path} nests deeper than {MAX_NESTING} levels; no recording does. "
               "It is damaged or hostile: restore it from version control or record it again.")
        raise CassetteFormatError(msg)
    return data


def _foreign(path: Path, what: str) -> CassetteFormatError:
    return CassetteFormatError(
        f"Cassette {path} is not a vcrpy/flowview cassette: {what}. "
        "Check the path, or delete the file and record it again."
    )


def _check_interaction(path: Path, position: int, entry: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    where = f"interaction #{position}"
    if not isinstance(entry, Mapping):
        raise _foreign(path, f"{where} is not a mapping")
    request, response = entry.get("request"), entry.get("response")
    if not isinstance(request, Mapping) or not isinstance(response, Mapping):
        raise _foreign(path, f"{where} lacks a 'request' or 'response' mapping")
    if not isinstance(request.get("method"), str) or not isinstance(request.get("uri"), str):
        raise _foreign(path, f"{where} has no request 'method' and 'uri' strings")
    if not isinstance(request.get("headers", {}), Mapping):
        raise _foreign(path, f"{where} has request 'headers' that are not a mapping")
    problem = _json_problem(request.get("body"))
    if problem:
        raise _foreign(path, f"{where} has a request body that is not JSON: {problem}")
    try:
        URL(request["uri"])
    except ValueError as exc:
        raise _foreign(path, f"{where} has a request 'uri' that is not a URL ({exc})") from None
    status = response.get("status")
    if not isinstance(status, Mapping) or not isinstance(status.get("code"), int):
        raise _foreign(path, f"{where} has no response 'status.code' integer")
    if not 100 <= status["code"] <= 999:
        raise _foreign(path, f"{where} has response status {status['code']}, not an HTTP status")
    if not isinstance(response.get("headers", {}), Mapping):
        raise _foreign(path, f"{where} has response 'headers' that are not a mapping")
    body = response.get("body", {})
    if not isinstance(body, Mapping) or not isinstance(body.get("string", ""), (str, bytes, type(None))):
        raise _foreign(path, f"{where} has a response 'body' without a 'string'")
    return request, response


def _json_problem(body: Any) -> str | None:
    """Why a recorded request body is not one vcrpy or we could have written, if it is not.

    Text and bytes are what vcrpy records; a mapping or list is what we record, and must hold
    JSON values only (a YAML date, set or binary inside it would break keying later). Text
    holding JSON is parsed to check its depth (keying parses it again).
    """
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return None  # keyed by its hex digest
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except RecursionError:
            return f"it nests deeper than {MAX_JSON_DEPTH} levels"
        except ValueError:
            return None  # plain text: matched as text
    if exceeds_depth(body, MAX_JSON_DEPTH + 2):
        return f"it nests deeper than {MAX_JSON_DEPTH} levels"
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    return f"a key {key!r} that is not a string"
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
        elif not isinstance(value, _JSON_SCALARS):
            return f"a {type(value).__name__} value"
    return None


def load_cassette_file(path: Path) -> CassetteData | None:
    """Read and check a cassette; ``None`` when the file does not exist.

    An existing file with no content gives an ``empty`` :class:`CassetteData` (not ``None``), so
    that "is empty" and "does not exist" can be told apart in error messages.
    """
    raw = read_bounded(path)
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"Cassette {path} is not UTF-8 text ({exc}); it is not a cassette or it is damaged."
        raise CassetteFormatError(msg) from None
    if not text.strip():
        return CassetteData(interactions=(), metadata={}, empty=True)
    data = _parse(path, text)
    if not isinstance(data, Mapping) or not isinstance(data.get("interactions"), list):
        raise _foreign(path, "no top-level 'interactions' list")
    version = data.get("version", CASSETTE_FORMAT_VERSION)
    if version != CASSETTE_FORMAT_VERSION:
        raise _foreign(path, f"format version {version!r}, expected {CASSETTE_FORMAT_VERSION}")
    if not isinstance(data.get("metadata") or {}, Mapping):
        raise _foreign(path, "'metadata' is not a mapping")
    metadata = data.get("flowview") or {}
    if not isinstance(metadata, Mapping):
        raise _foreign(path, "'flowview' is not a mapping")
    interactions = tuple(
        _check_interaction(path, position, entry)
        for position, entry in enumerate(data["interactions"])
    )
    return CassetteData(interactions=interactions, metadata=metadata)


def _strings(value: Any) -> Iterable[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", errors="replace")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def serialize_cassette(path: Path, document: Mapping[str, Any]) -> str:
    """The file text for ``document``: sorted, indented JSON, or vcrpy's YAML layout for .yaml."""
    if is_yaml(path):
        return safe_yaml.dump(document)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


Entries = Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]


def save_cassette_file(
    path: Path,
    interactions: Entries | Callable[[CassetteData | None], Entries],
    metadata: Mapping[str, Any],
    secrets: Iterable[str],
) -> None:
    """Write the cassette atomically, unless it would contain a registered secret.

    ``interactions`` is either the entries to write or a function that computes them from what
    the file holds *now* (``None``: no file), called while the cassette is locked: a recorder
    passes one so that entries another process saved since it loaded the file are merged, not
    lost. The write goes to the symlink's target if ``path`` is one, keeps the file's permission
    bits, and is flushed to disk (file, then directory) around the atomic rename.
    """
    target = final_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    secret_list = list(secrets)
    with locked(target):
        entries = interactions(load_cassette_file(target)) if callable(interactions) else interactions
        document = {
            "interactions": [{"request": dict(req), "response": dict(resp)} for req, resp in entries],
            "flowview": dict(metadata),
            "version": CASSETTE_FORMAT_VERSION,
        }
        _refuse_leaks(path, document, secret_list)
        write_atomically(target, serialize_cassette(target, document))


def _refuse_leaks(path: Path, document: Mapping[str, Any], secret_list: list[str]) -> None:
    if not secret_list:
        return
    leaked: set[int] = set()
    for text in _strings(document):
        leaked.update(find_leaks(text, secret_list))
    if leaked:
        positions = ", ".join(f"#{position + 1}" for position in sorted(leaked))
        msg = (
            f"Refusing to write cassette {path}: it would contain registered secret(s) "
            f"{positions} (in registration order). Register secrets before the requests are "
            "made, or keep the header/field that carries them out of the recording."
        )
        raise SecretLeakError(msg)

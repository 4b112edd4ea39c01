"""Reading and writing cassette files, in vcrpy's format, safely.

The layout is vcrpy's (``{"version": 1, "interactions": [{"request", "response"}]}``) so that plain
vcrpy and pytest-recording read our files and we read theirs. Our own metadata (SDK version, schema
hash, recording date) sits in a top-level ``"flowview"`` object, not in vcrpy 9's ``"metadata"``:
vcrpy's ``deserialize`` returns a third value when ``metadata`` is present, and pytest-recording
0.14's persister, which unpacks two, then fails on the file. Unknown top-level keys are ignored by
both. JSON is written
pretty-printed with sorted keys (a re-recording is byte-identical, a diff is readable); YAML goes
through vcrpy's own serializer, whose loader is a safe loader: a cassette can never run code.

These functions block (file I/O, parsing a large file): the recorder calls them in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from flowview_async.errors import CassetteFormatError, SecretLeakError
from flowview_async.recording.redaction import find_leaks

__all__ = [
    "CASSETTE_FORMAT_VERSION",
    "CassetteData",
    "build_metadata",
    "load_cassette_file",
    "recording_date",
    "save_cassette_file",
]

CASSETTE_FORMAT_VERSION = 1  # vcrpy's on-disk format version
_YAML_SUFFIXES = (".yaml", ".yml")


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
        from vcr.serializers import yamlserializer

        # Imported by name: PyYAML ships no type stubs, and only its error base class is needed.
        yaml: Any = importlib.import_module("yaml")

        try:
            return yamlserializer.deserialize(text)
        except yaml.YAMLError as exc:
            # ConstructorError lands here: a python/object tag, refused by the safe loader.
            msg = (
                f"Cassette {path} is not a YAML file this SDK can load safely ({exc}). "
                "Cassettes are data only; re-record it or restore it from version control."
            )
            raise CassetteFormatError(msg) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        msg = (
            f"Cassette {path} is not valid JSON ({exc}); it is probably truncated or corrupted. "
            "Restore it from version control, or delete it and record it again."
        )
        raise CassetteFormatError(msg) from exc


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
    status = response.get("status")
    if not isinstance(status, Mapping) or not isinstance(status.get("code"), int):
        raise _foreign(path, f"{where} has no response 'status.code' integer")
    if not isinstance(response.get("headers", {}), Mapping):
        raise _foreign(path, f"{where} has response 'headers' that are not a mapping")
    body = response.get("body", {})
    if not isinstance(body, Mapping) or not isinstance(body.get("string", ""), (str, bytes, type(None))):
        raise _foreign(path, f"{where} has a response 'body' without a 'string'")
    return request, response


def load_cassette_file(path: Path) -> CassetteData | None:
    """Read and check a cassette; ``None`` when the file does not exist.

    An existing file with no content gives an ``empty`` :class:`CassetteData` (not ``None``), so
    that "is empty" and "does not exist" can be told apart in error messages.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CassetteFormatError(f"Cassette {path} is a directory; give a file path.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"Cassette {path} is not UTF-8 text ({exc}); it is not a cassette or it is damaged."
        raise CassetteFormatError(msg) from exc
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
    """The file text for ``document``: sorted, indented JSON, or vcrpy's YAML for a .yaml path."""
    if is_yaml(path):
        from vcr.serializers import yamlserializer

        return str(yamlserializer.serialize(document))
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def save_cassette_file(
    path: Path,
    interactions: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    metadata: Mapping[str, Any],
    secrets: Iterable[str],
) -> None:
    """Write the cassette atomically, unless it would contain a registered secret."""
    document = {
        "interactions": [{"request": dict(req), "response": dict(resp)} for req, resp in interactions],
        "flowview": dict(metadata),
        "version": CASSETTE_FORMAT_VERSION,
    }
    secret_list = list(secrets)
    if secret_list:
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
    text = serialize_cassette(path, document)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target and rename: a crash mid-write never leaves a truncated cassette.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        # mkstemp creates the file owner-only; a cassette is meant to be shared like source.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

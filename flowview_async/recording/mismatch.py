"""The report a replay miss raises: what was asked, what the cassette has, how to fix it."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING

from flowview_async.errors import CassetteMismatchError
from flowview_async.recording.redaction import scrub_text

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from flowview_async.recording.interaction import Interaction
    from flowview_async.recording.keys import GraphQLPayload, RequestKey

__all__ = ["mismatch_error"]

_MAX_SHOWN = 600  # characters of variables or diff per entry: enough to see, short enough to read


def _pretty_variables(variables: str) -> list[str]:
    try:
        return json.dumps(json.loads(variables), indent=2, sort_keys=True).splitlines()
    except ValueError:
        return [variables]


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + " …"


def _diff(recorded: Interaction, key: RequestKey, payload: GraphQLPayload) -> str:
    parts = []
    if recorded.key.document_sha256 != key.document_sha256:
        document_diff = difflib.unified_diff(
            recorded.payload.document.splitlines(), payload.document.splitlines(),
            "recorded document", "requested document", lineterm="", n=1,
        )
        parts.append("\n".join(document_diff))
    if recorded.key.variables != key.variables:
        variables_diff = difflib.unified_diff(
            _pretty_variables(recorded.key.variables), _pretty_variables(key.variables),
            "recorded variables", "requested variables", lineterm="", n=1,
        )
        parts.append("\n".join(variables_diff))
    if recorded.key.path != key.path or recorded.key.method != key.method:
        parts.append(
            f"recorded {recorded.key.method} {recorded.key.path}, requested {key.method} {key.path}"
        )
    text = "\n".join(parts) or "(identical request: every recorded answer was already played)"
    return "\n".join("      " + line for line in _clip(text).splitlines())


def mismatch_error(
    *,
    key: RequestKey,
    payload: GraphQLPayload,
    reason: str,
    cassette_path: Path,
    record_mode: str,
    repeat: str,
    closest: list[Interaction],
    how_to_record: str,
    secrets: Iterable[str] = (),
) -> CassetteMismatchError:
    """Build the error; ``payload`` and everything in it were redacted before keying.

    The text is scrubbed of ``secrets`` once more anyway (raw and JSON-escaped): a message is
    printed, logged and pasted into bug reports, so it is the last place a key may surface.
    """
    operation = key.operation or "<anonymous operation>"
    lines = [
        f"No recorded answer for GraphQL operation {operation!r} ({key.method} {key.path}) "
        f"with variables {_clip(key.variables)}: {reason}.",
        f"Cassette: {cassette_path} (record mode {record_mode!r}, repeat policy {repeat!r}).",
    ]
    if closest:
        lines.append(f"Closest recorded entries for {operation!r}:")
        for rank, candidate in enumerate(closest, start=1):
            lines.append(f"  {rank}. variables {_clip(candidate.key.variables)}")
            lines.append(_diff(candidate, key, payload))
    else:
        lines.append(f"The cassette has no entry at all for operation {operation!r}.")
    # how_to_record is a clause ("run `cmd` to ..." / "open the client with ..."), never quoted.
    lines.append(f"How to fix: {how_to_record}; or fix the request.")
    forms = frozenset(secrets)  # scrub_text masks every spelling of each
    return CassetteMismatchError(
        scrub_text("\n".join(lines), forms),
        operation_name=key.operation,
        variables=scrub_text(key.variables, forms),
        cassette_path=str(cassette_path),
        record_mode=record_mode,
    )

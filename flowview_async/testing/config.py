"""``flowview_config`` and the marker's keywords: the options a test's recorder is built with.

As with pytest-recording's ``vcr_config``: the ``flowview_config`` fixture gives defaults (override
it in a conftest or a test module, at any scope), the ``flowview_cassette`` marker's keywords
override those for one test, and ``--flowview-record-mode`` / ``$FLOWVIEW_RECORD_MODE`` override
the record mode of every test. Unknown keys are refused, with the list of known ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowview_async.errors import InvalidArgumentError

__all__ = ["PLUGIN_OPTIONS", "RECORDER_OPTIONS", "merge_config"]

# Every keyword of Recorder a test may set (path and rerecord_command are the plugin's to choose).
RECORDER_OPTIONS = frozenset({
    "record_mode", "repeat", "allow_playback_repeats", "match_on", "variable_rules",
    "before_record_request", "before_record_response", "secrets", "request_headers",
    "response_headers", "match_path", "uri_origin", "canonical_order",
})
# The plugin's own: where the cassettes of a module live (default <test dir>/cassettes/<module>).
PLUGIN_OPTIONS = frozenset({"cassette_dir"})


def merge_config(config: Mapping[str, Any] | None, marker_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``flowview_config`` overridden by the marker's keywords, checked."""
    if config is not None and not isinstance(config, Mapping):
        raise InvalidArgumentError(
            f"The flowview_config fixture must return a dict of recorder options, got {config!r}.")
    merged = {**(config or {}), **marker_kwargs}
    unknown = sorted(set(merged) - RECORDER_OPTIONS - PLUGIN_OPTIONS)
    if unknown:
        known = ", ".join(sorted(RECORDER_OPTIONS | PLUGIN_OPTIONS))
        raise InvalidArgumentError(
            f"Unknown flowview option(s) {', '.join(unknown)} (in flowview_config or the "
            f"flowview_cassette marker); known: {known}.")
    return merged

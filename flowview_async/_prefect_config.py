"""Prefect 1.4.1's configuration, loaded the way Prefect loads it (our own code, same results).

The steps, in Prefect's order:

1. the defaults (the subset of Prefect's ``config.toml`` that decides where requests go);
2. the user config (``PREFECT__USER_CONFIG_PATH``, default ``~/.prefect/config.toml``), merged key by
   key over the defaults, then ``backend.toml`` (``PREFECT__BACKEND_CONFIG_PATH``, default
   ``~/.prefect/backend.toml``, written by ``prefect backend server|cloud``) over that;
3. every ``PREFECT__SECTION__KEY`` environment variable sets ``section.key`` (any key, new ones too);
4. every string value has ``$VAR``/``~`` expanded and is cast: ``true``/``false`` become booleans,
   anything Python can read as a literal (``4200``, ``[]``, ``1.5``) becomes that value;
5. ``${section.key}`` references are replaced (nested ones too, as in ``${${backend}.endpoint}``),
   at most 10 rounds, a missing key reading as ``""``.

Everything here is pure computation over an explicit environment mapping and home directory, so the
differential tests can feed both Prefect and us the same inputs.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowview_async.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["load_prefect_config", "read_toml"]

FlatConfig = dict[tuple[str, ...], Any]

# The keys of Prefect 1.4.1's default config.toml that decide the URL, the credentials and the
# request timeout, plus the ones a user's ``${...}`` reference is likely to name.
_DEFAULTS: dict[str, Any] = {
    "debug": False,
    "home_dir": "~/.prefect",
    "backend": "cloud",
    "server": {
        "host": "http://localhost",
        "port": "4200",
        "host_port": "4200",
        "host_ip": "127.0.0.1",
        "endpoint": "${server.host}:${server.port}",
        "graphql": {"host": "0.0.0.0", "port": "4201", "host_port": "4201", "path": "/graphql/"},
        "ui": {
            "host": "http://localhost",
            "port": "8080",
            "host_port": "8080",
            "host_ip": "127.0.0.1",
            "endpoint": "${server.ui.host}:${server.ui.port}",
            "apollo_url": "http://localhost:4200/graphql",
        },
    },
    "cloud": {
        "api": "${${backend}.endpoint}",
        "endpoint": "https://api.prefect.io",
        "graphql": "${cloud.api}/graphql",
        "request_timeout": 15,
        "api_key": "",
        "tenant_id": "",
    },
}

_ROUNDS = 10  # Prefect's bound on both env-var expansion and ${...} substitution
# A reference: "${", one character of any kind, then anything without "$", "{" or "}", then "}".
# The innermost reference of a nested one is therefore found first.
_REFERENCE = re.compile(r"\$\{(.[^${}]*)\}")
_ENV_VAR = re.compile(r"\$(\w+|\{[^}]*\})", re.ASCII)
_PREFIX = "PREFECT__"


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML settings file; a broken one is a :class:`ConfigurationError` naming it."""
    try:
        with path.open("rb") as handle:
            loaded: dict[str, Any] = tomllib.load(handle)
            return loaded
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"Could not read Prefect settings from {path}: {exc}. Fix or remove the file."
        raise ConfigurationError(msg) from exc


def cast(text: str) -> Any:
    """A setting's text as a typed value, as Prefect casts environment variables."""
    if text.upper() == "TRUE":
        return True
    if text.upper() == "FALSE":
        return False
    try:
        return ast.literal_eval(text)
    except Exception:
        return text


class _Expander:
    """``$VAR``, ``${VAR}`` and ``~`` expansion against an explicit environment and home."""

    def __init__(self, environ: Mapping[str, str], home: Path) -> None:
        self._environ = environ
        self._home = str(home)

    def once(self, text: str) -> str:
        def variable(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("{") and name.endswith("}"):
                name = name[1:-1]
            return self._environ.get(name, match.group(0))

        text = _ENV_VAR.sub(variable, text) if "$" in text else text
        if text == "~" or text.startswith("~/"):
            text = self._home.rstrip("/") + text[1:] if self._home != "/" else text[1:] or "/"
        elif text.startswith("~"):
            text = os.path.expanduser(text)  # ~user: the password database decides
        return text

    def expand(self, value: Any) -> Any:
        """Expand until stable; a value that needed two or more rounds is cast. ``None`` if it
        never settles (as Prefect)."""
        if not value or not isinstance(value, str):
            return value
        for rounds in range(_ROUNDS):
            expanded = self.once(value)
            if expanded == value:
                return cast(expanded) if rounds > 1 else expanded
            value = expanded
        return None


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _flatten(config: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> FlatConfig:
    flat: FlatConfig = {}
    for key, value in config.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, path))
        else:
            flat[path] = value
    return flat


def _unflatten(flat: FlatConfig) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        level = nested
        for part in key[:-1]:
            child = level.get(part)
            if not isinstance(child, dict):
                child = level[part] = {}
            level = child
        if not isinstance(level.get(key[-1]), dict):
            level[key[-1]] = value
    return nested


def _substitute(flat: FlatConfig) -> None:
    """Replace ``${a.b}`` references, one per key per round; a whole-value reference takes the
    referenced value with its type, a partial one its text."""
    pending = {key for key, value in flat.items() if isinstance(value, str)}
    for _ in range(_ROUNDS):
        for key in sorted(pending):
            value = flat[key]
            match = _REFERENCE.search(value) if isinstance(value, str) else None
            if match is None:
                pending.discard(key)
                continue
            referenced = flat.get(tuple(match.group(1).split(".")), "")
            if value == match.group(0):
                flat[key] = referenced
            else:
                flat[key] = value.replace(match.group(0), str(referenced), 1)


def _optional_toml(path_setting: Any, expander: _Expander) -> dict[str, Any]:
    path = Path(str(expander.expand(path_setting)))
    return read_toml(path) if path.is_file() else {}


def load_prefect_config(environ: Mapping[str, str], home: Path) -> dict[str, Any]:
    """Prefect 1.4.1's resolved configuration for this environment and home directory.

    Raises:
        ConfigurationError: a settings file exists but cannot be read or parsed.
    """
    expander = _Expander(environ, home)
    config = dict(_DEFAULTS)
    for variable, default in (("USER_CONFIG_PATH", "~/.prefect/config.toml"),
                              ("BACKEND_CONFIG_PATH", "~/.prefect/backend.toml")):
        config = _merge(config, _optional_toml(environ.get(_PREFIX + variable, default), expander))
    flat = _flatten(config)
    for variable, text in environ.items():
        if variable.startswith(_PREFIX) and len(variable) > len(_PREFIX):
            option = variable[len(_PREFIX):]
            if option.upper().startswith("CONTEXT__SECRETS"):
                # Prefect keeps the case of secret names; irrelevant to connections, kept for parity.
                key = ("context", "secrets", *option.split("__")[2:])
            else:
                key = tuple(option.lower().split("__"))
            expanded = expander.expand(text)
            flat[key] = cast(expanded) if isinstance(expanded, str) else expanded
    for key, value in list(flat.items()):
        expanded = expander.expand(value)
        flat[key] = cast(expanded) if isinstance(expanded, str) else expanded
    _substitute(flat)
    return _unflatten(flat)

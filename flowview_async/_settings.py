"""Where the backend is and how to authenticate: explicit arguments first, then Prefect 1 settings.

Resolution order, for each value:

1. the argument given to :class:`~flowview_async.Client`;
2. the ``PREFECT__*`` environment variables Prefect 1 users already have
   (``PREFECT__BACKEND``, ``PREFECT__SERVER__ENDPOINT`` or ``PREFECT__SERVER__HOST``/``PORT``,
   ``PREFECT__CLOUD__API``, ``PREFECT__CLOUD__API_KEY``, ``PREFECT__CLOUD__TENANT_ID``);
3. ``~/.prefect/config.toml`` (or ``PREFECT__USER_CONFIG_PATH``) and the backend chosen with
   ``prefect backend …`` (``~/.prefect/backend.toml``);
4. the defaults: backend ``server`` at ``http://localhost:4200``; Cloud at ``https://api.prefect.io``.

Reading the files is blocking I/O, so :func:`resolve_settings` is called in a worker thread.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from yarl import URL

from flowview_async._test_defaults import current_test_defaults
from flowview_async.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_SERVER_ENDPOINT = "http://localhost:4200"
DEFAULT_CLOUD_API = "https://api.prefect.io"

__all__ = ["DEFAULT_CLOUD_API", "DEFAULT_SERVER_ENDPOINT", "Settings", "resolve_settings"]


@attrs.frozen(kw_only=True)
class Settings:
    """The resolved connection settings. The API key never appears in the repr."""

    api_url: str
    api_key: str | None = attrs.field(default=None, repr=False)
    tenant_id: str | None = attrs.field(default=None, repr=False)
    backend: str = "server"

    def headers(self) -> dict[str, str]:
        """The headers Prefect 1's own client sends for these settings."""
        headers: dict[str, str] = {}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
            if self.tenant_id:
                headers["X-PREFECT-TENANT-ID"] = self.tenant_id
        return headers


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            loaded: dict[str, Any] = tomllib.load(handle)
            return loaded
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"Could not read Prefect settings from {path}: {exc}. Fix or remove the file."
        raise ConfigurationError(msg) from exc


def _section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = config.get(name)
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _check_url(url: str, where: str) -> str:
    parsed = URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        msg = (
            f"The backend URL {url!r} (from {where}) is not an http(s) URL. "
            "Pass api_url='http://host:4200' or set PREFECT__SERVER__ENDPOINT."
        )
        raise ConfigurationError(msg)
    return url


def _test_backend_url() -> str | None:
    """Inside a test using the pytest plugin's backend or client: that URL (see _test_defaults)."""
    defaults = current_test_defaults()
    return defaults.api_url if defaults is not None else None


def resolve_settings(
    *,
    api_url: str | None = None,
    api_key: str | None = None,
    tenant_id: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Settings:
    """Resolve the connection settings (see the module docstring for the order).

    Raises:
        ConfigurationError: a setting is malformed or a settings file cannot be read.
    """
    env = os.environ if environ is None else environ
    if api_url is None:
        api_url = _test_backend_url()
    prefect_home = Path(env.get("PREFECT__HOME_DIR") or (home or Path.home()) / ".prefect")
    config_path = Path(env.get("PREFECT__USER_CONFIG_PATH") or prefect_home / "config.toml")
    config = _read_toml(config_path)
    backend_file = _read_toml(prefect_home / "backend.toml")

    server = _section(config, "server")
    cloud = _section(config, "cloud")
    backend = (
        env.get("PREFECT__BACKEND") or _text(config.get("backend"))
        or _text(backend_file.get("backend")) or "server"
    ).lower()
    if backend not in ("server", "cloud"):
        msg = f"PREFECT__BACKEND is {backend!r}; use 'server' or 'cloud'."
        raise ConfigurationError(msg)

    key = api_key or env.get("PREFECT__CLOUD__API_KEY") or _text(cloud.get("api_key"))
    tenant = tenant_id or env.get("PREFECT__CLOUD__TENANT_ID") or _text(cloud.get("tenant_id"))

    if api_url is not None:
        return Settings(api_url=_check_url(api_url, "api_url"), api_key=key, tenant_id=tenant,
                        backend=backend)
    if backend == "cloud":
        url = env.get("PREFECT__CLOUD__API") or _text(cloud.get("api")) or DEFAULT_CLOUD_API
        return Settings(api_url=_check_url(url, "the Cloud settings"), api_key=key,
                        tenant_id=tenant, backend=backend)
    endpoint = env.get("PREFECT__SERVER__ENDPOINT") or _text(server.get("endpoint"))
    if endpoint is None:
        host = env.get("PREFECT__SERVER__HOST") or _text(server.get("host")) or "http://localhost"
        port = env.get("PREFECT__SERVER__PORT") or _text(server.get("port")) or "4200"
        endpoint = f"{host.rstrip('/')}:{port}"
    return Settings(api_url=_check_url(endpoint, "the server settings"), api_key=key,
                    tenant_id=tenant, backend=backend)

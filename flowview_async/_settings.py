"""Where the backend is and how to authenticate, resolved exactly as Prefect 1.4.1's ``Client()``.

- The URL is ``cloud.api`` of Prefect's configuration (:mod:`flowview_async._prefect_config`), which
  is ``${${backend}.endpoint}`` unless set: ``server.endpoint`` (``http://localhost:4200``) with
  backend ``server``, ``cloud.endpoint`` (``https://api.prefect.io``) with backend ``cloud``, the
  default. A Prefect agent starts flow runs with ``PREFECT__BACKEND=server`` and
  ``PREFECT__CLOUD__API=<url>``: that URL wins, as in Prefect. A trailing ``/`` is dropped.
- The API key: the ``api_key`` argument, else ``cloud.api_key``, else the one ``prefect auth login``
  saved in ``<home_dir>/auth.toml`` under the API host's slug; the tenant the same way. The tenant is
  sent (``X-PREFECT-TENANT-ID``) only together with a key, and must be a UUID.
- An explicit ``api_url`` replaces ``cloud.api`` (and picks the ``auth.toml`` entry of its host).

Reading the files is blocking I/O, so :func:`resolve_settings` is called in a worker thread.
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
from yarl import URL

from flowview_async._prefect_config import load_prefect_config, read_toml
from flowview_async._test_defaults import current_test_defaults
from flowview_async.errors import ConfigurationError

DEFAULT_SERVER_ENDPOINT = "http://localhost:4200"
DEFAULT_CLOUD_API = "https://api.prefect.io"

__all__ = ["DEFAULT_CLOUD_API", "DEFAULT_SERVER_ENDPOINT", "Settings", "check_url",
           "resolve_settings"]


@attrs.frozen(kw_only=True)
class Settings:
    """The resolved connection settings. The API key and tenant never appear in the repr."""

    api_url: str
    api_key: str | None = attrs.field(default=None, repr=False)
    tenant_id: str | None = attrs.field(default=None, repr=False)
    backend: str = "cloud"
    request_timeout: float | None = None

    def headers(self) -> dict[str, str]:
        """The authentication headers Prefect 1.4.1's client sends for these settings."""
        headers: dict[str, str] = {}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
            if self.tenant_id:
                headers["X-PREFECT-TENANT-ID"] = self.tenant_id
        return headers


def check_url(url: object, where: str) -> str:
    """``url`` if it is a usable http(s) URL, else a :class:`ConfigurationError` saying why."""
    if not isinstance(url, str):
        msg = (f"The backend URL from {where} must be text such as 'http://host:4200', got "
               f"{type(url).__name__} {url!r}.")
        raise ConfigurationError(msg)
    try:
        parsed = URL(url)
        port = parsed.port
    except (ValueError, TypeError) as exc:
        msg = f"The backend URL {url!r} (from {where}) is not a valid URL: {exc}. Fix it."
        raise ConfigurationError(msg) from None
    if parsed.scheme not in ("http", "https") or not parsed.host or not port:
        msg = (f"The backend URL {url!r} (from {where}) is not an http(s) URL with a host. "
               "Pass api_url='http://host:4200' or set PREFECT__CLOUD__API.")
        raise ConfigurationError(msg)
    return url


def _host_slug(api_url: str) -> str:
    """The ``auth.toml`` section name Prefect derives from an API URL's network location."""
    netloc = urlsplit(api_url).netloc or api_url
    text = unicodedata.normalize("NFKD", netloc).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^-.a-z0-9]+", "-", text.lower().replace("'", ""))
    return re.sub(r"-{2,}", "-", text).strip("-")


def _saved_login(auth_file: Path, api_url: str) -> Mapping[str, Any]:
    if not auth_file.is_file():
        return {}
    entry = read_toml(auth_file).get(_host_slug(api_url))
    return entry if isinstance(entry, Mapping) else {}


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "", False) else None


def _tenant(value: Any, where: str) -> str | None:
    if value in (None, "", False):
        return None
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        msg = (f"The tenant id from {where} must be a UUID such as "
               "'44444444-4444-4444-4444-444444444444'. Fix it or run `prefect auth switch-tenants`.")
        raise ConfigurationError(msg) from None


def _timeout(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


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
    """Resolve the connection settings as Prefect 1.4.1 would (see the module docstring).

    Args:
        environ: the environment to read (default ``os.environ``).
        home: the home directory ``~`` stands for (default ``$HOME`` of ``environ``).

    Raises:
        ConfigurationError: a setting is malformed or a settings file cannot be read.
    """
    env = os.environ if environ is None else environ
    if api_url is None:
        api_url = _test_backend_url()
    home_dir = home if home is not None else Path(env.get("HOME") or Path.home())
    config = load_prefect_config(env, home_dir)
    cloud = config.get("cloud") if isinstance(config.get("cloud"), dict) else {}
    assert isinstance(cloud, dict)
    backend = config.get("backend")
    if backend not in ("server", "cloud"):
        msg = (f"The Prefect backend is {backend!r} (PREFECT__BACKEND, config.toml or "
               "backend.toml); use 'server' or 'cloud'.")
        raise ConfigurationError(msg)
    url = check_url(api_url if api_url is not None else cloud.get("api"),
                    "api_url" if api_url is not None else "the Prefect settings (cloud.api)")
    url = url.rstrip("/")
    auth_file = Path(str(config.get("home_dir") or home_dir / ".prefect")).absolute() / "auth.toml"
    saved = _saved_login(auth_file, url)
    key = api_key or _text(cloud.get("api_key")) or _text(saved.get("api_key"))
    tenant = (_tenant(tenant_id, "tenant_id=") or _tenant(cloud.get("tenant_id"), "cloud.tenant_id")
              or _tenant(saved.get("tenant_id"), str(auth_file)))
    return Settings(api_url=url, api_key=key, tenant_id=tenant, backend=str(backend),
                    request_timeout=_timeout(cloud.get("request_timeout")))

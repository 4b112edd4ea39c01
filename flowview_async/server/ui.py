"""``flowview serve --ui DIR``: an already built Prefect legacy UI served from this same port.

The UI fetches ``/settings.json`` at start-up for ``server_url`` (its GraphQL endpoint) and
``base_url`` (the path its router lives under); that file is generated per request from the host
the browser used, so the UI always talks back to this server. Every other GET is a file of ``DIR``,
or else ``index.html`` (the UI's router uses browser history paths such as ``/flow-run/<id>``).
Nothing of the UI ships with this project; the README says how to build it.
"""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

from flowview_async.errors import InvalidArgumentError

SETTINGS_PATH = "/settings.json"


def check_ui_dir(folder: str | os.PathLike[str]) -> Path:
    """The built UI's folder, resolved; raises :class:`InvalidArgumentError` if it is not one."""
    root = Path(folder).expanduser().resolve()
    if not (root / "index.html").is_file():
        raise InvalidArgumentError(
            f"--ui {os.fspath(folder)!r}: no index.html there; pass the folder of a built legacy UI "
            "(its `dist` folder after `npm run build`, see the README)"
        )
    return root


class UiFiles:
    """Answers the UI's GET requests from ``root``."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def settings(self, request: web.Request) -> web.StreamResponse:
        base = f"{request.scheme}://{request.host}"
        return web.json_response({"server_url": f"{base}/graphql", "base_url": "/"})

    async def file(self, request: web.Request) -> web.StreamResponse:
        relative = request.path.lstrip("/")
        candidate = (self._root / relative).resolve()
        # Only files inside the UI folder: ".." and symlinks leading out of it get index.html.
        if relative and candidate.is_relative_to(self._root) and candidate.is_file():
            return web.FileResponse(candidate)
        return web.FileResponse(self._root / "index.html", headers={"Cache-Control": "no-cache"})

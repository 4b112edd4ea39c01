from __future__ import annotations

from flowview_async.server.testing import flowview_backend

__all__ = ["flowview_backend"]

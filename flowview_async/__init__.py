"""flowview_async: inspect Prefect 1 flow runs from asyncio, with offline record and replay."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

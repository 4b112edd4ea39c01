"""Prefect's legacy UI, built by ``scripts/legacy_ui.py build``, driven in headless chromium
against ``flowview serve --ui``: run whenever that build is in the user's cache directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "legacy_ui.py"


def _built_ui() -> Path | None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from legacy_ui import cache_root
    finally:
        sys.path.remove(str(SCRIPT.parent))
    builds = sorted(cache_root().glob("*/dist/index.html"))
    return builds[-1].parent if builds else None


def test_the_built_legacy_ui_shows_the_documentation_run() -> None:
    dist = _built_ui()
    if dist is None or shutil.which("chromium") is None:
        pytest.skip(
            "no built legacy UI in the cache (or no chromium): run `python scripts/legacy_ui.py "
            "build PATH/TO/legacy-ui` once to have this check run"
        )
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "check", str(dist)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "NOT shown" not in completed.stdout

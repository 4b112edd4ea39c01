"""The reference peer: real Prefect 1.4.1, in a virtual environment of its own.

Differential tests and benchmarks run scripts inside it (``run_in_peer``) and compare what the sync
``prefect.backend`` views say with what flowview_async says. The environment lives in
``.venv-prefect1/`` at the repository root, is created on first use (about 15 s), and is reused
afterwards. It is never the environment flowview_async runs in: Prefect 1 pins old libraries.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = Path(os.environ.get("FLOWVIEW_PEER_VENV", REPO_ROOT / ".venv-prefect1"))
PEER_REQUIREMENTS = ("prefect==1.4.1", "marshmallow<4")


def _peer_python_path() -> Path:
    return PEER_DIR / "bin" / "python"


def ensure_peer() -> Path:
    """Create the Prefect 1.4.1 environment if needed and return its interpreter."""
    PEER_DIR.parent.mkdir(parents=True, exist_ok=True)
    lock_path = PEER_DIR.parent / ".venv-prefect1.lock"
    with open(lock_path, "w") as lock:
        # Two test processes (or a test and a benchmark) may race to build it.
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = _peer_python_path()
        marker = PEER_DIR / ".flowview-peer-ready"
        if not marker.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(PEER_DIR)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 *PEER_REQUIREMENTS],
                check=True,
            )
            marker.write_text("prefect==1.4.1\n")
        return python


def run_in_peer(script: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    """Run ``script`` with Prefect 1.4.1 and return the JSON it printed on its last stdout line."""
    python = ensure_peer()
    full_env = {
        key: value for key, value in os.environ.items()
        if not key.startswith("PREFECT__") and key != "PYTHONPATH"
    }
    # Keep Prefect 1 away from the user's ~/.prefect and from any real backend.
    full_env["PREFECT__HOME_DIR"] = str(PEER_DIR / "prefect-home")
    full_env["PREFECT__USER_CONFIG_PATH"] = str(PEER_DIR / "prefect-home" / "config.toml")
    full_env.update(env or {})
    completed = subprocess.run(
        [str(python), "-c", script],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"the Prefect 1.4.1 peer script failed ({completed.returncode}):\n"
            f"{completed.stderr[-4000:]}"
        )
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1])


if __name__ == "__main__":
    print(ensure_peer())
    sys.exit(0)

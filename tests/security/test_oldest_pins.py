"""CI's second venv (.ci/oldest-constraints.txt) pins exactly the lower bounds of setup.cfg."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lower_bounds() -> dict[str, str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    bounds = {}
    for line in config["options"]["install_requires"].strip().splitlines():
        requirement = line.split(";")[0].strip()
        if "python_version" in line:
            continue  # a backport for old interpreters only
        match = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.]*)", requirement)
        assert match, f"every dependency needs a lower bound: {line!r}"
        bounds[match.group(1).lower()] = match.group(2)
    return bounds


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / ".ci" / "oldest-constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def _same(bound: str, pin: str) -> bool:
    parts = [int(p) for p in re.findall(r"\d+", bound)]
    pinned = [int(p) for p in re.findall(r"\d+", pin)]
    width = max(len(parts), len(pinned))
    return parts + [0] * (width - len(parts)) == pinned + [0] * (width - len(pinned))


def test_the_oldest_constraints_are_the_lower_bounds() -> None:
    bounds, pins = _lower_bounds(), _pins()
    assert set(pins) == set(bounds)
    for name, bound in bounds.items():
        assert _same(bound, pins[name]), (name, bound, pins[name])


def test_ci_runs_the_safety_tests_on_the_oldest_versions() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c .ci/oldest-constraints.txt" in script
    assert "tests/security tests/recording/test_safety.py" in script

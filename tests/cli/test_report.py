"""flowview report: one self-contained file, safe with any text, from a backend or a cassette.
(What a real browser makes of it: test_report_browser.py.)"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend

SHIPPED_CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json"
HOSTILE = "<script>document.documentElement.setAttribute('data-pwned', '1')</script>"


def add_log(served: ThreadedBackend, message: str, level: str = "INFO") -> None:
    served.call(served.backend.insert("log", [{
        "flow_run_id": DOC_FLOW_RUN_ID, "timestamp": "1978-03-08T22:31:00+00:00", "level": level,
        "name": "prefect.test", "message": message, "created": "1978-03-08T22:31:00+00:00",
        "updated": "1978-03-08T22:31:00+00:00"}]))


def sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_writes_one_self_contained_file(served: ThreadedBackend, flowview: Any,
                                        tmp_path: Path) -> None:
    target = tmp_path / "run.html"
    result = flowview("report", DOC_FLOW_RUN_ID, "-o", str(target), "--api", served.url, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary == {"path": str(target), "bytes": target.stat().st_size, "task_runs": 3,
                       "log_lines": 6}
    html = target.read_text()
    # Nothing to fetch: no src/href attributes, no url(), no @import; the one namespace URI is
    # the SVG namespace's name, never requested.
    assert not re.search(r"\s(src|href|srcset|action|formaction)\s*=", html, re.IGNORECASE)
    assert "url(" not in html
    assert "@import" not in html
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    # A strict policy, allowing exactly the inline style and script (by hash).
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None
    csp = policy.group(1).replace("&#39;", "'")
    assert csp.startswith("default-src 'none'; ")
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL)
    script = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    assert style is not None
    assert script is not None
    assert f"style-src 'sha256-{sha256(style.group(1))}'" in csp
    assert f"script-src 'sha256-{sha256(script.group(1))}'" in csp
    for part in ("tranquil-dolphin", "hello-world", "say_goodbye-1", "State history",
                 "Flow run SUCCESS: all reference tasks succeeded", "35d 00h"):
        assert part in html


def test_any_text_is_escaped(served: ThreadedBackend, flowview: Any, tmp_path: Path) -> None:
    add_log(served, HOSTILE + '<img src=x onerror="alert(1)"> & "quotes" \'too\'')
    named = served.new_flow_run(("Running", "</title><script>alert(2)</script>"),
                                name='"><svg onload=alert(3)>')
    for run_id in (DOC_FLOW_RUN_ID, named):
        target = tmp_path / f"{run_id}.html"
        assert flowview("report", run_id, "-o", str(target), "--api", served.url).exit_code == 0
        html = target.read_text()
        assert html.count("<script") == 1
        assert "<img" not in html
        assert "<svg onload" not in html
        assert "onerror=\"" not in html
    html = (tmp_path / f"{DOC_FLOW_RUN_ID}.html").read_text()
    assert "&lt;script&gt;document.documentElement.setAttribute(&#39;data-pwned&#39;" in html
    assert "&amp; &#34;quotes&#34; &#39;too&#39;" in html


def test_replays_from_the_shipped_cassette_offline(flowview: Any, tmp_path: Path,
                                                   monkeypatch: Any) -> None:
    monkeypatch.setenv("PREFECT__SERVER__ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    result = flowview("report", DOC_FLOW_RUN_ID, "--cassette", str(SHIPPED_CASSETTE))
    assert result.exit_code == 0, result.stderr
    written = tmp_path / f"flowview-report-{DOC_FLOW_RUN_ID}.html"
    assert result.stdout.strip() == written.name
    html = written.read_text()
    assert html.count('class="task-run"') == 3
    assert html.count('class="log"') == 6


def test_errors(served: ThreadedBackend, flowview: Any, tmp_path: Path) -> None:
    folder = flowview("report", DOC_FLOW_RUN_ID, "-o", str(tmp_path / "nope" / "r.html"), "--api",
                      served.url)
    assert folder.exit_code == 3
    assert "does not exist" in folder.stderr
    assert list(tmp_path.iterdir()) == []
    unknown = flowview("report", "00000000-0000-4000-8000-000000000000", "-o",
                       str(tmp_path / "r.html"), "--api", served.url)
    assert unknown.exit_code == 4
    assert not (tmp_path / "r.html").exists()

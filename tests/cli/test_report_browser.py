"""The report opened in a real headless browser (chromium): the DOM it builds has the timeline's
bars, the task-run rows and the log rows, for the documentation's run and for a synthetic run of
500 tasks (875 task runs with the mapped children) and 10,000 log lines; a log line holding a
<script> shows as text and runs nothing; the level filter works under the page's strict CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli.browser import DomSummary, dump_dom, screenshot
from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend

SHIPPED_CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json"
HOSTILE = "<script>document.documentElement.setAttribute('data-pwned', '1')</script>"


def report(flowview: Any, run_id: str, target: Path, *source: str) -> Path:
    result = flowview("report", run_id, "-o", str(target), *source)
    assert result.exit_code == 0, result.stderr
    return target


def test_documentation_run_from_the_cassette(flowview: Any, tmp_path: Path) -> None:
    page = report(flowview, DOC_FLOW_RUN_ID, tmp_path / "doc.html", "--cassette",
                  str(SHIPPED_CASSETTE))
    dom = DomSummary(dump_dom(page))
    assert dom.root_attributes.get("data-ready") == "1"  # the script ran (its CSP hash holds)
    assert dom.count("rect", "bar") == 3
    assert dom.count("g", "row") == 3
    assert dom.count("tr", "task-run") == 3
    assert dom.count("tr", "log") == 6
    assert dom.title == "tranquil-dolphin · flow run report"
    assert dom.log_texts[-1].endswith("Flow run SUCCESS: all reference tasks succeeded")
    # The table's sort (its script, under the page's CSP), from the address's #fragment.
    hello, series, goodbye = ("c8751f34-9d5e-4ea7-aead-8b50978dabb7",
                              "f5f422f6-4f56-45d2-bd55-5ea048070d84",
                              "7cc167d3-737d-4187-85d8-d5e5a75fbd93")
    assert dom.task_run_ids == [hello, series, goodbye]
    assert DomSummary(dump_dom(page, "sort=-duration")).task_run_ids == [series, hello, goodbye]
    assert DomSummary(dump_dom(page, "sort=task")).task_run_ids == [goodbye, hello, series]
    png = tmp_path / "doc.png"
    screenshot(page, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


def test_a_script_in_a_log_line_is_text_and_the_level_filter_works(served: ThreadedBackend,
                                                                   flowview: Any,
                                                                   tmp_path: Path) -> None:
    served.call(served.backend.insert("log", [
        {"flow_run_id": DOC_FLOW_RUN_ID, "timestamp": f"1978-03-08T22:31:0{i}+00:00",
         "level": level, "name": "prefect.test", "message": message,
         "created": "1978-03-08T22:31:00+00:00", "updated": "1978-03-08T22:31:00+00:00"}
        for i, (level, message) in enumerate([
            ("INFO", HOSTILE), ("ERROR", "<b>bold?</b> <img src=x onerror=\"document.title='pwned'\">")])
    ]))
    page = report(flowview, DOC_FLOW_RUN_ID, tmp_path / "hostile.html", "--api", served.url)
    dom = DomSummary(dump_dom(page))
    assert "data-pwned" not in dom.root_attributes
    assert dom.title == "tranquil-dolphin · flow run report"
    assert dom.count("script") == 1
    assert dom.count("img") == 0
    assert dom.count("b") == 0
    assert any(text.endswith(HOSTILE) for text in dom.log_texts)
    assert dom.count("tr", "log") == 8
    assert dom.hidden[("tr", "log")] == 0

    errors_only = DomSummary(dump_dom(page, "level=40"))
    assert errors_only.hidden[("tr", "log")] == 7  # all but the ERROR line
    searched = DomSummary(dump_dom(page, "q=brains"))
    assert searched.hidden[("tr", "log")] == 7  # all but the lemon line


def test_synthetic_run_of_500_tasks_and_10000_log_lines(served: ThreadedBackend, flowview: Any,
                                                        tmp_path: Path) -> None:
    (run_id,) = served.call(served.backend.seed_synthetic(flow_runs=1, task_runs=500, logs=20,
                                                          seed=13))
    page = report(flowview, run_id, tmp_path / "big.html", "--api", served.url)
    dom = DomSummary(dump_dom(page))
    assert dom.root_attributes.get("data-ready") == "1"
    assert dom.count("g", "row") == 500  # a row per task; mapped children folded in
    assert dom.count("rect", "bar") == 500  # every child succeeded: one segment per row
    assert dom.count("tr", "task-run") == 500 + 125 * 3
    assert dom.count("tr", "child") == 125 * 3
    assert dom.count("tr", "log") == 10_000
    assert dom.log_texts[0].endswith("Task 'task_0': synthetic log line 0")

"""Open an HTML file in a real headless browser (Debian's chromium, which .ci/run installs) and
read back its DOM after the page's scripts ran, or take a screenshot.

``python -m tests.cli.browser REPORT.html OUT.png`` takes the screenshot the README shows.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["DomSummary", "chromium", "dump_dom", "screenshot"]

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
          "--disable-extensions", "--mute-audio"]
_TIMEOUT = 180


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    msg = ("Chromium is not installed: `apt-get install -y chromium` (.ci/run installs it when it "
           "is missing). The report's browser tests need a real browser.")
    raise AssertionError(msg)


def _run(*arguments: str) -> str:
    with tempfile.TemporaryDirectory(prefix="flowview-chromium-") as profile:
        completed = subprocess.run([chromium(), *_FLAGS, f"--user-data-dir={profile}", *arguments],
                                   capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def dump_dom(page: Path, fragment: str = "") -> str:
    """The serialised DOM of ``page`` once loaded (its scripts have run)."""
    return _run("--dump-dom", page.resolve().as_uri() + (f"#{fragment}" if fragment else ""))


def screenshot(page: Path, png: Path, *, width: int = 1280, height: int = 1400) -> None:
    _run(f"--screenshot={png.resolve()}", f"--window-size={width},{height}", page.resolve().as_uri())


class DomSummary(HTMLParser):
    """Counts of elements by tag and class, and the text of the log rows, from a dumped DOM."""

    def __init__(self, dom: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: Counter[tuple[str, str]] = Counter()
        self.hidden: Counter[tuple[str, str]] = Counter()
        self.root_attributes: dict[str, str | None] = {}
        self.title = ""
        self.log_texts: list[str] = []
        self.task_run_ids: list[str | None] = []  # the task-run table's rows, in DOM order
        self._in_title = False
        self._log_depth = 0
        self.feed(dom)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.root_attributes = attributes
        for name in (attributes.get("class") or "").split() or [""]:
            self.elements[(tag, name)] += 1
            if "hidden" in attributes:
                self.hidden[(tag, name)] += 1
        self._in_title = tag == "title" and not self.title
        if tag == "tr" and "task-run" in (attributes.get("class") or "").split():
            self.task_run_ids.append(attributes.get("data-task-run-id"))
        if tag == "tr" and "log" in (attributes.get("class") or "").split():
            self.log_texts.append("")
            self._log_depth = 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag == "tr":
            self._log_depth = 0

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._log_depth:
            self.log_texts[-1] += data

    def count(self, tag: str, name: str = "") -> int:
        return self.elements[(tag, name)]


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))

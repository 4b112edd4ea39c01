"""A flow run as something to look at: the data a report shows (:mod:`.gather`), the geometry of
its timeline shared by the terminal and the HTML (:mod:`.timeline`), and the self-contained HTML
file itself (:mod:`.html`)."""

from __future__ import annotations

from flowview_async.report.gather import RunReport, TaskRunDetail, gather_report
from flowview_async.report.timeline import Timeline, TimelineRow, build_timeline

__all__ = ["RunReport", "TaskRunDetail", "Timeline", "TimelineRow", "build_timeline",
           "gather_report"]

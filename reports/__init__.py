"""Reports people read: the quarterly provider scorecard and the ministry briefing.

    snapshot (monitor.statistics.snapshots) -> view (formatted in the reader's language)
      -> Jinja2 template -> one self-contained HTML file, or a PDF (WeasyPrint)

Every document is rendered from a stored scorecard snapshot and names its id, so a
figure in a PDF can be traced and re-derived. English and Dutch (`lang="en" | "nl"`).
"""

from reports.briefing_data import briefing_figures
from reports.briefing_report import render_briefing, write_briefing
from reports.language import Language
from reports.period_flags import period_flags
from reports.publish import publish_briefing, publish_scorecard, write_quarterly_reports
from reports.scorecard_report import render_scorecard
from reports.sources import data_sources

__all__ = [
    "Language",
    "briefing_figures",
    "data_sources",
    "period_flags",
    "publish_briefing",
    "publish_scorecard",
    "render_briefing",
    "render_scorecard",
    "write_briefing",
    "write_quarterly_reports",
]

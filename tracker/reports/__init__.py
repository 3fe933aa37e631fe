"""The evaluation report: one self-contained HTML file.

>>> from tracker.reports import write_report
>>> write_report(session, study, "report.html")        # doctest: +SKIP

The steps are separate so that each can be used (and tested) on its own:
:func:`tracker.reports.context.build_context` turns a loaded study into a plain
dict, :func:`tracker.reports.charts.report_charts` draws the charts from that
dict, and :func:`tracker.reports.render.render` fills the Jinja2 templates.
"""

from tracker.reports.build import report_context, write_report

__all__ = ["report_context", "write_report"]

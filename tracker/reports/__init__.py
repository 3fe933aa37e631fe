"""The evaluation report: one self-contained HTML file.

>>> from tracker.reports import write_report
>>> write_report(session, study, "report.html")        # doctest: +SKIP

The steps are separate so that each can be used (and tested) on its own:
:func:`tracker.reports.context.build_context` turns a loaded study into a plain
dict, :func:`tracker.reports.charts.report_charts` draws the charts from that
dict, and :func:`tracker.reports.render.render` fills the Jinja2 templates.

The names below are imported on first use: a chart process imports
:mod:`tracker.reports.charts` and should not pay for SQLAlchemy and the models.
"""

from __future__ import annotations

__all__ = ["report_context", "write_report"]


def __getattr__(name: str):
    if name in __all__:
        from tracker.reports import build

        return getattr(build, name)
    raise AttributeError(f"module 'tracker.reports' has no attribute {name!r}")

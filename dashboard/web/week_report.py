"""The weekly report of one ISO week for the Weekly page's query: what the page shows, and what its
downloads (dashboard/web/downloads.py: each table's CSV and the PDF) are made from, so a file holds the
numbers the report shows.

A report is the ``summary.Summary`` `reach summary` builds, with its self-contained HTML: the one a
rollup refresh stored (dashboard/analysis/week_store.py) when it is of this data, else built from the
rollups. Both the report and its PDF take seconds: each is made once per data version and shared
by every worker (dashboard/web/cache.py). The query is read as the page reads it (its own dates, no
campaign-window default); no week is the page's default week.
"""
from __future__ import annotations

import logging

from collectors.errors import ReachError

from ..analysis import clock, shared, summary, week_store
from . import data
from . import filters as F

log = logging.getLogger(__name__)


def report(week: str | None, search: str | None):
    """(the ``Summary``, its HTML, the weeks there are) for ``week`` and the page's query string
    ``search``; (None, why there is none in words, []) when there is none."""
    eng, campaign = data.engine(), data.campaign()
    today = clock.today(eng, campaign.tz)  # the demo's own day on the demo (clock.clock)
    f = F.parse(search)
    # Seconds of work per report: computed once per data version for every worker (dashboard/web/cache.py).
    # The key holds everything _compute reads from ``f``: the selection and the report's language.
    return shared.memo(eng, campaign, "weekly.report", (week, today, f.selection(), f.lang),
                      lambda: _compute(eng, campaign, week, today, f))


def _compute(eng, campaign, week, today, f):
    # The default reports, stored by the last refresh (dashboard/analysis/week_store.py), before building one.
    try:
        s = week_store.report(eng, campaign, week or None, today, f.selection(), f.lang)
    except Exception as e:  # noqa: BLE001 - an unreadable table only costs the building below
        log.warning("the stored weekly report could not be read (%s): building it", e)
        s = None
    if s is not None:
        return s, summary.render_html(s), list(s.weeks)
    try:
        s = summary.build_summary_db(eng, campaign, week or None, today=today, sel=f.selection(), lang=f.lang)
    except ReachError as e:
        return None, str(e), []
    return s, summary.render_html(s), list(s.weeks)


def week_summary(week: str | None, search: str | None):
    """(the ``Summary`` the page shows for ``week`` and the page's query, None) or (None, why there
    is none, in words); no ``week`` is the page's default week."""
    s, html_or_error, _ = report(week, search)
    return (s, None) if s is not None else (None, html_or_error)


def report_pdf(week: str | None, search: str | None):
    """(the report of ``week`` and the page's query as PDF bytes, its ``Summary``) or (None, why
    there is none, in words). The PDF takes seconds to lay out: made once per data version and
    shared by the workers, like the report (dashboard/web/cache.py)."""
    s, why = week_summary(week, search)
    if s is None:
        return None, why
    eng, campaign = data.engine(), data.campaign()
    f = F.parse(search)
    # The week label, not the week asked for: no week (the default) and its label are one PDF.
    pdf = shared.memo(eng, campaign, "weekly.pdf", (s.week, clock.today(eng, campaign.tz), f.selection(), f.lang),
                     lambda: summary.render_pdf(s, f.lang))
    return pdf, s

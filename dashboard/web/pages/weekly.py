"""Weekly summary: the manager's Monday page, one ISO week at a time.

The page shows the same self-contained report `reach summary --html` writes (so what is printed,
downloaded and seen are one document), with a week picker, a "Download report" button (that HTML)
and a "Download PDF" link (the same document as a PDF, dashboard/web/downloads.py). The report sits in
a sandboxed frame sized to its content, so the page scrolls and the frame never does.
Beside it, a "Download CSV" link for each of the report's tables (KPIs, top influencers, top posts,
platform mix) and the week's tidy daily rows, served by dashboard/web/downloads.py from the same
``Summary`` object, so a file holds the numbers the report shows. The report itself stays one
self-contained file without links back to the dashboard. The report and its PDF are
dashboard/web/week_report.py's, which the downloads call too; the page frames and links them.
"""
from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

from dash import Input, Output, State, dcc, html, no_update

from ...text.i18n import t, week_label
from .. import data, layout as L, week_report
from .. import filters as F
from . import Callbacks

SLUG, PATH, ORDER = "summary", "/weekly", 50
# Registered on each app the factory builds (dashboard/web/pages/__init__.py says why not dash.callback).
callbacks = Callbacks()
register = callbacks.register

# (link id, download kind, label key): one link per table of the report, in the report's order.
TABLES = (("weekly-csv-kpis", "weekly-kpis", "weekly.csv.kpis"),
          ("weekly-csv-influencers", "weekly-influencers", "weekly.csv.influencers"),
          ("weekly-csv-posts", "weekly-posts", "weekly.csv.posts"),
          ("weekly-csv-mix", "weekly-mix", "weekly.csv.mix"))
TIDY_ID = "weekly-download-tidy"
PDF_ID = "weekly-download-pdf"
LINK_IDS = tuple(t_[0] for t_ in TABLES) + (TIDY_ID, PDF_ID)


# The report frame reaches nothing of the page: no allow-same-origin (an opaque origin, so no
# cookies or DOM of the dashboard). Its links (post URLs from export files) open in a new tab
# outside the sandbox, not inside the frame, where the page's CSP (frame-src 'self') would block
# another site anyway. It may run scripts, but the only one that can run is FRAME_SCRIPT: the
# frame inherits the page's CSP, whose script-src allows inline code by hash alone
# (FRAME_SCRIPT_HASHES, added by app.py), so markup that slipped into the report still runs nothing.
REPORT_SANDBOX = "allow-scripts allow-popups allow-popups-to-escape-sandbox"

# The frame tells the page its content's height, and assets/weekly.js sizes the frame to it: the
# page cannot measure a document of an opaque origin itself, and a fixed height either cuts the
# report (a week with many platforms) or leaves a gap. The body's own height, not the document's
# scrollHeight, which never falls below the frame's current height, so a shorter week shrinks it.
FRAME_SCRIPT = ("(function(){function send(){parent.postMessage({reachReportHeight:"
                "Math.ceil(document.body.getBoundingClientRect().height)},'*')}"
                "addEventListener('load',send);new ResizeObserver(send).observe(document.body)})()")
FRAME_SCRIPT_HASHES = ("'sha256-" + base64.b64encode(hashlib.sha256(FRAME_SCRIPT.encode()).digest()).decode() + "'",)


def _framed(doc: str) -> str:
    """The report as the frame shows it: its links target a new tab, and it reports its height.
    The downloads keep the report's own bytes, which run no script."""
    doc = doc.replace("<head>", '<head>\n<base target="_blank">', 1)
    return doc.replace("</body>", f"<script>{FRAME_SCRIPT}</script>\n</body>", 1)



def download_hrefs(f: F.Filters, s) -> dict[str, str]:
    """The page's download links for the summary ``s``, by element id: each table's CSV for its
    week and the page's filters, the tidy daily rows of the days the summary covers (the
    existing daily export, by influencer and platform like the other pages' tidy rows), and the
    report as a PDF."""
    query = F.to_query(f)
    week = (query + "&" if query else "?") + "week=" + s.week
    out = {id_: f"/download/{kind}.csv{week}" for id_, kind, _ in TABLES}
    out[PDF_ID] = f"/download/weekly-report.pdf{week}"
    days = F.to_query(F.with_changes(f, start=s.covered_start, end=s.covered_end))
    out[TIDY_ID] = "/download/daily.csv" + days + "&by=influencer,platform"
    return out


def _download_links(f: F.Filters, s) -> html.Div:
    hrefs = download_hrefs(f, s)
    plain = {"textDecoration": "none", "color": "inherit"}
    links = [html.A(t(key, f.lang), href=hrefs[id_], id=id_, className="btn", download="", style=plain,
                    **{"aria-label": t("weekly.csv.aria", f.lang, table=t(key, f.lang))})
             for id_, _, key in TABLES]
    tidy = html.A(t("button.download_tidy", f.lang), href=hrefs[TIDY_ID], id=TIDY_ID, className="btn",
                  download="", style=plain)
    return html.Div([html.Span(t("button.download_csv", f.lang), className="muted"), *links, tidy],
                    className="toolbar", id="weekly-csv")


@data.reads  # one data version per view: each cached piece asks for it
def layout(**query):
    search = "?" + urlencode(query, doseq=True)
    f = F.parse(search)
    s, html_or_error, weeks = week_report.report(query.get("week") if isinstance(query.get("week"), str) else None, search)
    head = [L.header(f, "/weekly")]
    if s is None:
        # Nothing stored, or only outside the campaign's dates: said as on the other pages, in the
        # page's language; any other refusal (a week the data do not hold) in its own words.
        return html.Div(head + [L.empty_view(data.engine(), data.campaign(), f, "weekly-empty", None,
                                             otherwise=html_or_error)], className="page")
    picker = dcc.Dropdown(id="weekly-week", options=[{"label": week_label(w, None, f.lang), "value": w} for w in weeks],
                          value=s.week,
                          clearable=False, className="dd narrow")
    return html.Div(head + [
        html.Div([html.Label(t("label.iso_week", f.lang), htmlFor="weekly-week"), picker,
                  html.Button(t("button.download_report", f.lang), id="weekly-download-btn", className="btn",
                              style={"font": "inherit"}),  # a button's own font is smaller than the links'
                  html.A(t("weekly.pdf", f.lang), href=download_hrefs(f, s)[PDF_ID], id=PDF_ID, className="btn",
                         download="", style={"textDecoration": "none", "color": "inherit"}),
                  dcc.Download(id="weekly-download")], className="toolbar"),
        _download_links(f, s),
        html.Iframe(id="weekly-report", srcDoc=_framed(html_or_error), className="report",
                    sandbox=REPORT_SANDBOX, referrerPolicy="no-referrer"),
    ], className="page")


@callbacks(Output("weekly-report", "srcDoc"), *[Output(id_, "href") for id_ in LINK_IDS],
           Input("weekly-week", "value"), State("url", "search"), prevent_initial_call=True)
def pick_week(week, search):
    """The report of the picked week, and the download links for that week."""
    s, html_or_error, _ = week_report.report(week, search)
    if s is None:
        return html_or_error, *[no_update] * len(LINK_IDS)
    hrefs = download_hrefs(F.parse(search), s)
    return _framed(html_or_error), *[hrefs[id_] for id_ in LINK_IDS]


@callbacks(Output("weekly-download", "data"), Input("weekly-download-btn", "n_clicks"),
           State("weekly-week", "value"), State("url", "search"), prevent_initial_call=True)
def download(_, week, search):
    s, html_or_error, _ = week_report.report(week, search)
    name = f"campaign-reach-{s.week}.html" if s else "campaign-reach-summary.html"
    return dict(content=html_or_error, filename=name, type="text/html")

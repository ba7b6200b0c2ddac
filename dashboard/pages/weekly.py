"""Weekly summary: the manager's Monday page, one ISO week at a time.

The page shows the same self-contained report `reach summary --html` writes (so what is printed,
downloaded and seen are one document), with a week picker and a "Download report" button.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from dash import Input, Output, State, callback, dcc, html

from collectors.errors import ReachError

from .. import data, layout as L, queries, summary
from .. import filters as F
from ..i18n import t, week_label

SLUG, PATH, ORDER = "summary", "/weekly", 50


def _report(week: str | None, search: str | None):
    eng, campaign = data.engine(), data.campaign()
    frames = queries.load_frames(eng)
    today = datetime.now(campaign.tz).date()
    f = F.parse(search)
    try:
        week = week or summary.latest_complete_week(frames, campaign, today)
        s = summary.build_summary(frames, campaign, week, today=today, sel=f.selection())
    except ReachError as e:
        return None, str(e), []
    return s, summary.render_html(s), list(s.weeks)


def layout(**query):
    search = "?" + urlencode(query, doseq=True)
    f = F.parse(search)
    s, html_or_error, weeks = _report(query.get("week") if isinstance(query.get("week"), str) else None, search)
    head = [L.header(f, "/weekly")]
    if s is None:
        return html.Div(head + [html.Div(html_or_error, className="empty", id="weekly-empty")], className="page")
    picker = dcc.Dropdown(id="weekly-week", options=[{"label": week_label(w, None, f.lang), "value": w} for w in weeks],
                          value=s.week,
                          clearable=False, className="dd narrow")
    return html.Div(head + [
        html.Div([html.Label(t("label.iso_week", f.lang), htmlFor="weekly-week"), picker,
                  html.Button(t("button.download_report", f.lang), id="weekly-download-btn", className="btn"),
                  dcc.Download(id="weekly-download")], className="toolbar"),
        html.Iframe(id="weekly-report", srcDoc=html_or_error, className="report"),
    ], className="page")


@callback(Output("weekly-report", "srcDoc"), Input("weekly-week", "value"), State("url", "search"),
          prevent_initial_call=True)
def pick_week(week, search):
    _, html_or_error, _ = _report(week, search)
    return html_or_error


@callback(Output("weekly-download", "data"), Input("weekly-download-btn", "n_clicks"),
          State("weekly-week", "value"), State("url", "search"), prevent_initial_call=True)
def download(_, week, search):
    s, html_or_error, _ = _report(week, search)
    name = f"campaign-reach-{s.week}.html" if s else "campaign-reach-summary.html"
    return dict(content=html_or_error, filename=name, type="text/html")

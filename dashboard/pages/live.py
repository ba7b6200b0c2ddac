"""Live: the page a communications team keeps on the big screen.

KPIs, the chosen metric over time by platform (daily or cumulative) with the campaign's events,
freshness per platform and anomaly flags. It refreshes itself: an interval asks whether the data
changed (a cheap version check) and redraws only when it did, keeping the filters, which live in
the URL. ``?kiosk=1`` hides the controls, enlarges the type and cycles through the main charts.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import pandas as pd
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from .. import data, figures, layout as L, metrics, queries, rollups
from .. import filters as F
from ..i18n import (add_strings, fmt_number, fmt_range, freshness as fresh_text, metric_help, metric_name,
                    platform_name, t)

SLUG, PATH, ORDER = "live", "/", 10

add_strings({
    "en": {"live.reach_range": "Reach (not deduplicated)",
           "live.reach_range_help": "largest post – sum over posts: the unique reach of these posts lies in between"},
    "zh": {"live.reach_range": "覆盖人数（未去重）",
           "live.reach_range_help": "最大单帖 – 各帖之和：这些帖子的去重覆盖人数介于两者之间"},
})
REFRESH_SECONDS = 30


def content(eng, campaign, f: F.Filters, now: datetime | None = None) -> list:
    """Everything below the filters, as components (a pure function of the database and filters).

    Without dates in the URL the view is the campaign window of campaign.toml."""
    sel = f.selection()
    if sel.start is None and sel.end is None and campaign.start:
        sel = metrics.Selection(start=campaign.start, end=campaign.end, platforms=sel.platforms,
                                influencers=sel.influencers, categories=sel.categories)
    daily = rollups.query(eng, campaign, by=["platform", "day"], sel=sel)
    if daily.empty:
        return [html.Div(t("empty.no_data", f.lang) + " (`reach import`, `reach demo`)", className="empty",
                         id="live-empty")]
    total = rollups.query(eng, campaign, by=[], sel=sel).iloc[0]
    frames = queries.load_frames(eng)
    reach = metrics.reach_table(frames.snapshots, frames.posts, campaign, by=[], sel=sel)
    posts = metrics._days(metrics._filter_posts(frames.posts, sel).assign(
        day=lambda p: metrics._local_day(p["published_at"], campaign.tz)), sel)
    lang = f.lang
    kpis = html.Div([
        _kpi(metric_name("views", lang), fmt_number(total["views"], lang)),
        _kpi(metric_name("engagements", lang), fmt_number(total["engagements"], lang), metric_help("engagements", lang)),
        _kpi(metric_name("er_views", lang), fmt_number(total["er_views"], lang, kind="rate"), metric_help("er_views", lang)),
        _kpi(metric_name("posts", lang), fmt_number(len(posts), lang)),
        _kpi(metric_name("active_influencers", lang), fmt_number(posts["influencer"].nunique(), lang)),
        _kpi(t("live.reach_range", lang),
             fmt_range(reach["reach_max_post"].iloc[0], reach["reach_sum"].iloc[0], lang) if len(reach) else "—",
             t("live.reach_range_help", lang)),
    ], className="kpis", id="live-kpis")
    series = metrics.series_by_platform(daily, f.metric, f.cumulative)
    chart = dcc.Graph(id="live-chart", figure=figures.metric_over_time(series, f.metric, f.cumulative, campaign.events,
                                                                        lang=lang),
                      config={"displaylogo": False, "responsive": True}, className="chart")
    fresh = _freshness(eng, campaign, lang, now)
    flags = _anomalies(frames, campaign, sel, lang)
    return [kpis, chart, html.Div([fresh, flags], className="two-col")]


def _kpi(label, value, hint=None):
    return html.Div([html.Div(label, className="kpi-label"), html.Div(value, className="kpi-value"),
                     html.Div(hint or "", className="kpi-hint")], className="kpi", title=hint or "")


def _freshness(eng, campaign, lang, now):
    df = data.freshness(eng, now)
    rows = []
    for r in df.itertuples():
        rows.append(html.Li([html.Strong(platform_name(r.platform, lang) + " "),
                             fresh_text(r.as_of, lang, campaign.tz, now=now),
                             html.Strong(" (" + t("label.stale", lang) + ")") if r.stale else None],
                            className="stale" if r.stale else ""))
    return html.Div([html.H3(t("label.freshness", lang)), html.Ul(rows, id="live-freshness")], className="panel")


def _anomalies(frames, campaign, sel, lang, limit=8):
    from ..anomalies import anomalies

    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    a = anomalies(frames, inc, campaign)
    a = a[a["detector"] != "hampel"]
    if sel.start is not None:
        a = a[a["day"] >= pd.Timestamp(sel.start)]
    if sel.end is not None:
        a = a[a["day"] <= pd.Timestamp(sel.end)]
    if sel.platforms:
        a = a[a["platform"].isin(sel.platforms)]
    a = a.sort_values(["day", "score"], ascending=[False, False]).head(limit)
    # The reasons are generated sentences in English; the frame around them follows the UI language.
    items = [html.Li([html.Strong(f"{r.day:%Y-%m-%d} · {r.influencer} · {platform_name(r.platform, lang)}: "),
                      r.reason]) for r in a.itertuples()]
    return html.Div([html.H3(t("label.anomalies", lang)),
                     html.Ul(items or [html.Li(t("empty.none", lang))], id="live-anomalies")], className="panel")


def layout(**query):
    f = F.parse("?" + urlencode(query, doseq=True))
    eng, campaign = data.engine(), data.campaign()
    influencers = sorted(queries.load_frames(eng).posts["influencer"].dropna().unique())
    body = html.Div(content(eng, campaign, f), id="live-body")
    refresh = dcc.Interval(id="live-interval", interval=REFRESH_SECONDS * 1000)
    stored = dcc.Store(id="live-version", data=data.version(eng))
    if f.kiosk:
        return html.Div([body, refresh, stored, dcc.Interval(id="kiosk-cycle", interval=15000)], className="kiosk")
    toggle = dcc.RadioItems(id="live-view", options=[{"label": t("view.daily", f.lang), "value": "daily"},
                                                     {"label": t("view.cumulative", f.lang), "value": "cumulative"}],
                            value="cumulative" if f.cumulative else "daily", inline=True, className="toggle")
    return html.Div([L.header(f, "/"), L.filter_bar(f, influencers),
                     html.Div([toggle, *_downloads(f)], className="toolbar"), body, refresh, stored], className="page")


def _downloads(f: F.Filters) -> list:
    """The chart's rows (per platform and day) and the tidy rows beneath them (per influencer,
    platform and day), for the same filters."""
    return L.download_links(f, [
        ("live-download-csv", "button.download_csv", "/download/daily.csv", "by=platform"),
        ("live-download-tidy", "button.download_tidy", "/download/daily.csv", "by=influencer,platform")])


@callback(Output("live-body", "children"), Output("live-version", "data"),
          Input("live-interval", "n_intervals"), State("url", "search"), State("live-version", "data"),
          prevent_initial_call=True)
def refresh(_, search, seen):
    """Redraw only when the data changed: otherwise nothing is sent."""
    eng = data.engine()
    now = data.version(eng)
    if now == seen:
        raise PreventUpdate
    return content(eng, data.campaign(), F.parse(search)), now


@callback(Output("url", "search", allow_duplicate=True), Input("live-view", "value"), State("url", "search"),
          prevent_initial_call=True)
def view_toggle(value, search):
    f = F.parse(search)
    new = F.with_changes(f, cumulative=value == "cumulative")
    if new == f:
        raise PreventUpdate
    return F.to_query(new)


@callback(Output("live-chart", "style"), Input("kiosk-cycle", "n_intervals"), prevent_initial_call=True)
def kiosk_cycle(n):
    """Kiosk mode shows the chart and the panels in turn, one screen at a time."""
    return {"display": "block"} if (n or 0) % 2 == 0 else {"display": "none"}

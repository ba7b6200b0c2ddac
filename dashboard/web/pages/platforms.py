"""Platforms: the platforms of the campaign compared side by side, for the filters in the URL.

A table puts each platform's totals next to the others (rates are ratios of totals, reach a range
that is not deduplicated), a chart shows the platform mix of the chart metric per ISO week (shares
of each week's total) and small multiples compare volume, engagements, ER and EMV. A platform that
reports no views is counted by its impressions wherever views are compared, and labelled so.
The numbers are dashboard/analysis/platform_totals.py's (``totals``, ``weekly_mix``: pure functions of the
database and the filters), the mix chart is ``figures.mix_figure`` (the kiosk shows it too); the
page lays them out.
"""
from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from ...analysis import metrics, platform_totals, queries, shared
from ...analysis.platform_totals import ALL, TABLE_ROWS
from ...text.colours import PLATFORM_COLOURS
from ...text.i18n import fmt_date, fmt_number, fmt_range, metric_help, metric_name, platform_name, t
from .. import data, figures, layout as L
from .. import filters as F

SLUG, PATH, ORDER = "platforms", "/platforms", 30


RATE_ROWS = ("er_views", "er_impressions", "virality_views")  # rows of TABLE_ROWS shown as percentages


def compare_figure(tot: pd.DataFrame, lang: str) -> go.Figure:
    """Small multiples: one panel per measure, a horizontal bar per platform in its fixed colour.

    Volume and ER are on each platform's basis (hatched where impressions stand in for views)."""
    p = tot[tot["platform"] != ALL].iloc[::-1]  # plotly draws the first category at the bottom
    by_imp = p["basis"] == "impressions"
    panels = [
        (metric_name(metrics.BASIS_METRIC, lang), metrics.views_or_impressions(p), "count"),
        (metric_name("engagements", lang), p["engagements"], "count"),
        (t("platforms.er", lang), p["er_views"].where(~by_imp, p["er_impressions"]), "rate"),
        (metric_name("emv_usd", lang), p["emv_usd"], "money"),
        (metric_name("posts", lang), p["posts"], "count"),
    ]
    fig = make_subplots(rows=1, cols=len(panels), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[title for title, _, _ in panels])
    names = [figures.basis_label(pl, b, lang) for pl, b in zip(p["platform"], p["basis"])]
    colours = [PLATFORM_COLOURS.get(pl, "#777") for pl in p["platform"]]
    hatch = ["/" if b else "" for b in by_imp]
    for i, (title, values, kind) in enumerate(panels, start=1):
        v = pd.to_numeric(values, errors="coerce").astype(float)
        shown = v * 100 if kind == "rate" else v
        fig.add_trace(go.Bar(
            x=shown, y=names, orientation="h", marker=dict(color=colours, pattern=figures.hatch(hatch)),
            text=[fmt_number(x, lang, kind=kind, compact=kind != "rate") for x in v], textposition="auto",
            hovertemplate="%{y}: %{text}<extra>" + title + "</extra>", showlegend=False,
        ), row=1, col=i)
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=True, row=1, col=i)
    fig.update_layout(margin=dict(l=150, r=20, t=50, b=20),
                      height=max(260, 60 + 44 * len(p)), bargap=0.25)
    return fig


def _cell(row, key: str, lang: str):
    if key == "reach_range":
        return fmt_range(row["reach_max_post"], row["reach_sum"], lang)
    v = row[key]
    if pd.isna(v) and key in ("views", "er_views", "virality_views") and row["basis"] == "impressions":
        return html.Span(t("platforms.not_reported", lang), className="muted")
    kind = "rate" if key in RATE_ROWS else "money" if key == "emv_usd" else "count"
    return fmt_number(v, lang, kind=kind)


def table(tot: pd.DataFrame, lang: str):
    """Platforms as columns, measures as rows: the same measure reads across, side by side."""
    cols = list(tot.itertuples(index=False))
    head = [html.Th("")]
    for r in cols:
        name = t("platforms.all", lang) if r.platform == ALL else platform_name(r.platform, lang)
        swatch = None if r.platform == ALL else html.Span(className="swatch", style={
            "display": "inline-block", "width": "10px", "height": "10px", "marginRight": "6px",
            "background": PLATFORM_COLOURS.get(r.platform, "#777")})
        head.append(html.Th([swatch, name], scope="col"))
    body = [html.Tr([html.Th(t("col.basis", lang), scope="row")]
                    + [html.Td(metric_name(r.basis, lang) if isinstance(r.basis, str) else "") for r in cols])]
    for key in TABLE_ROWS:
        body.append(html.Tr([html.Th(metric_name(key, lang), scope="row", title=metric_help(key, lang))]
                            + [html.Td(_cell(tot.iloc[i], key, lang)) for i in range(len(cols))]))
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(body)], className="table platforms-table",
                      id="platforms-table")


def content(eng, campaign, f: F.Filters, frames=None) -> list:
    """Everything below the filters, as components."""
    sel = F.view_selection(f, campaign)
    lang = f.lang

    def numbers():
        return platform_totals.totals(eng, campaign, sel, frames), platform_totals.weekly_mix(eng, campaign, sel, f.metric)

    # Per data version, selection and metric, for every worker (dashboard/web/cache.py).
    tot, mix = numbers() if frames is not None else shared.memo(eng, campaign, "platforms.view", (sel, f.metric), numbers)
    if tot.empty:
        return [L.empty_view(eng, campaign, f, "platforms-empty", "/platforms")]
    period = t("platforms.period", lang, start=fmt_date(sel.start, lang) if sel.start else "…",
               end=fmt_date(sel.end, lang) if sel.end else "…", tz=campaign.timezone)
    cfg = figures.graph_config(lang)
    return [
        html.H2(t("platforms.table", lang)),
        html.P(period, className="muted", id="platforms-period"),
        html.Div(table(tot, lang), className="table-wrap"),
        html.P([t("platforms.note", lang), " ", t("platforms.hatched", lang)], className="muted"),
        dcc.Graph(id="platforms-mix", figure=figures.mix_figure(mix, f.metric, lang), config=cfg, className="chart"),
        html.H2(t("platforms.compare", lang)),
        dcc.Graph(id="platforms-compare", figure=compare_figure(tot, lang), config=cfg, className="chart"),
    ]


@data.reads  # one data version per view: each cached piece asks for it
def layout(**query):
    f = F.parse("?" + urlencode(query, doseq=True))
    eng, campaign = data.engine(), data.campaign()
    influencers = queries.names.influencer_names(eng)
    return html.Div([L.header(f, PATH), L.filter_bar(f, influencers, queries.names.category_names(eng)), html.Div(_downloads(f), className="toolbar"),
                     html.Div(content(eng, campaign, f), id="platforms-body")], className="page")


def _downloads(f: F.Filters) -> list:
    """The weekly rows per platform behind the mix chart, and the tidy daily rows per platform."""
    return L.download_links(f, [
        ("platforms-download-csv", "button.download_csv", "/download/weekly.csv", "by=platform"),
        ("platforms-download-tidy", "button.download_tidy", "/download/daily.csv", "by=platform")])

"""Figures: plotly figures from frames (pure functions, no database, no Dash).

Dates on the axes are formatted by plotly.js in the browser: in Chinese by the zh-CN locale served
from dashboard/assets/plotly-locale-zh-cn.js, which a graph uses when its config says so
(``graph_config``, the one place every page gets a graph's config from)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from collectors.model import PLATFORM_LABELS

# Okabe-Ito, a colour-blind-safe palette; one fixed colour per platform everywhere.
PLATFORM_COLOURS = {
    "x": "#000000",
    "facebook": "#0072B2",
    "instagram": "#CC79A7",
    "youtube": "#D55E00",
    "tiktok": "#009E73",
    "linkedin": "#56B4E9",
    "weibo": "#E69F00",
    "douyin": "#F0E442",
    "bilibili": "#999999",
    "wechat": "#117733",
}


# The plotly.js locale of each UI language (dashboard/assets/ registers zh-CN; en-US is built in).
PLOTLY_LOCALES = {"en": "en-US", "zh": "zh-CN"}
# A day in hover labels: plotly formats it in the browser with the locale's month names.
HOVER_DAY = {"en": "%d %b %Y", "zh": "%Y年%-m月%-d日"}


def graph_config(lang: str = "en", **extra) -> dict:
    """A dcc.Graph's config in ``lang``: plotly's own texts (mode bar) and the dates on its axes
    follow the UI language."""
    from .i18n import normalise_lang

    return {"displaylogo": False, "responsive": True, "locale": PLOTLY_LOCALES[normalise_lang(lang)], **extra}


def hover_day(lang: str) -> str:
    from .i18n import normalise_lang

    return HOVER_DAY[normalise_lang(lang)]


def cumulative_views_figure(df: pd.DataFrame, events=()) -> go.Figure:
    """Lines of running totals per platform, with campaign events drawn on the time axis.

    Events are shapes plus annotations: plotly's add_vline(annotation_text=...) is unreliable on
    date axes."""
    fig = go.Figure()
    for platform, g in df.groupby("platform", sort=True):
        label = PLATFORM_LABELS.get(platform, platform)
        if (g["metric"] == "impressions").all():
            label += " (impressions)"
        fig.add_trace(go.Scatter(
            x=g["day"], y=g["value"], mode="lines", name=label,
            line=dict(color=PLATFORM_COLOURS.get(platform), width=2),
            hovertemplate="%{x|%d %b %Y}: %{y:,.0f}<extra>%{fullData.name}</extra>",
        ))
    for e in events:
        fig.add_shape(type="line", xref="x", yref="paper", x0=e.day, x1=e.day, y0=0, y1=1,
                      line=dict(color="#777", width=1, dash="dot"))
        fig.add_annotation(x=e.day, y=1, xref="x", yref="paper", text=e.label, showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(size=11, color="#444"))
    fig.update_layout(
        title="Reach over time: cumulative views by platform (impressions where a platform reports no views)",
        xaxis_title="Day (campaign timezone)", yaxis_title="Cumulative views", hovermode="x unified",
        margin=dict(l=70, r=20, t=80, b=50), legend=dict(orientation="h", y=-0.2), template="plotly_white",
        yaxis=dict(tickformat=",~s"),
    )
    if df.empty:
        fig.add_annotation(text="No data yet: import export files with `reach import` or run `reach demo`",
                           showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def metric_over_time(df: pd.DataFrame, metric: str, cumulative: bool, events=(), lang: str = "en") -> go.Figure:
    """One line per platform of ``metric`` per day (or its running total), events on the time axis."""
    from .i18n import metric_name, platform_name, t

    fig = go.Figure()
    for platform, g in df.groupby("platform", sort=True):
        fig.add_trace(go.Scatter(
            x=g["day"], y=g["value"], mode="lines", name=platform_name(platform, lang),
            line=dict(color=PLATFORM_COLOURS.get(platform), width=2),
            hovertemplate="%{x|" + hover_day(lang) + "}: %{y:,.0f}<extra>%{fullData.name}</extra>",
        ))
    if df.empty:
        # Nothing to draw for this metric (X reports no views): say so, and draw no event lines on
        # an axis without data, where plotly computes NaN paths.
        fig.add_annotation(text=t("empty.no_match", lang), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
        events = ()
    for e in events:
        fig.add_shape(type="line", xref="x", yref="paper", x0=e.day, x1=e.day, y0=0, y1=1,
                      line=dict(color="#777", width=1, dash="dot"))
        fig.add_annotation(x=e.day, y=1, xref="x", yref="paper", text=e.text(lang), showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(size=11, color="#444"))
    name = metric_name(metric, lang)
    fig.update_layout(
        title=t("chart.over_time_cumulative" if cumulative else "chart.over_time", lang, metric=name),
        xaxis_title=t("chart.day_axis", lang), yaxis_title=name, hovermode="x unified",
        margin=dict(l=70, r=20, t=80, b=50), legend=dict(orientation="h", y=-0.2), template="plotly_white",
        yaxis=dict(tickformat=",~s"),
    )
    return fig


def top_influencers_figure(rows: pd.DataFrame, title: str, lang: str = "en") -> go.Figure:
    """Horizontal bars, largest on top: one bar per influencer, split by platform in the platforms'
    colours. ``rows``: influencer, platform, value (one row per influencer and platform), already
    limited to the influencers to show."""
    from .i18n import fmt_number, platform_name, t

    fig = go.Figure()
    totals = rows.groupby("influencer")["value"].sum().sort_values(kind="stable")
    order = list(totals.index)  # plotly draws the first category at the bottom
    for platform, g in rows.groupby("platform", sort=True):
        g = g.set_index("influencer").reindex(order).dropna(subset=["value"])
        fig.add_trace(go.Bar(
            x=g["value"], y=list(g.index), orientation="h", name=platform_name(platform, lang),
            marker=dict(color=PLATFORM_COLOURS.get(platform)),
            customdata=[fmt_number(v, lang) for v in g["value"]],
            hovertemplate="%{y}: %{customdata}<extra>%{fullData.name}</extra>",
        ))
    fig.add_trace(go.Scatter(  # each bar's total at its end
        x=totals.to_numpy(), y=order, mode="text", text=[fmt_number(v, lang, compact=True) for v in totals],
        textposition="middle right", showlegend=False, hoverinfo="skip", cliponaxis=False))
    if rows.empty:
        fig.add_annotation(text=t("empty.no_match", lang), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_layout(
        barmode="stack", title=title, template="plotly_white", legend=dict(orientation="h", y=-0.12),
        margin=dict(l=220, r=60, t=80, b=50), xaxis=dict(tickformat=",~s"),
        # The order of the totals, not of first appearance across the platforms' traces.
        yaxis=dict(automargin=True, categoryorder="array", categoryarray=order),
    )
    return fig

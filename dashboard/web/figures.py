"""Figures: plotly figures from frames (pure functions, no database, no Dash).

Dates on the axes are formatted by plotly.js in the browser: in Chinese by the zh-CN locale served
from dashboard/web/assets/plotly-locale-zh-cn.js, which a graph uses when its config says so
(``graph_config``, the one place every page gets a graph's config from)."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ..text.colours import PLATFORM_COLOURS

# Every chart here is drawn on plotly_white. As plotly's default template it is added when the
# figure is serialised; given to update_layout it is validated and deep-copied into each figure
# first: 17 ms a chart, most of an Influencers panel's chart (issue 15's load test), for the same
# JSON (tests/test_figures.py).
pio.templates.default = "plotly_white"


# The plotly.js locale of each UI language (dashboard/web/assets/ registers zh-CN; en-US is built in).
PLOTLY_LOCALES = {"en": "en-US", "zh": "zh-CN"}
# A day in hover labels: plotly formats it in the browser with the locale's month names.
HOVER_DAY = {"en": "%d %b %Y", "zh": "%Y年%-m月%-d日"}


def graph_config(lang: str = "en", **extra) -> dict:
    """A dcc.Graph's config in ``lang``: plotly's own texts (mode bar) and the dates on its axes
    follow the UI language."""
    from ..text.i18n import normalise_lang

    return {"displaylogo": False, "responsive": True, "locale": PLOTLY_LOCALES[normalise_lang(lang)], **extra}


def hover_day(lang: str) -> str:
    from ..text.i18n import normalise_lang

    return HOVER_DAY[normalise_lang(lang)]


# A trace of this many days or fewer is drawn with markers: a line needs two points, so a one-day
# range would otherwise show nothing, and a few points read better as points.
SHORT_RANGE_DAYS = 14
# Counts below this get a tick on every whole number: plotly's own ticks on a short axis fall on
# halves (0.5 views), and its compact labels then read "500m".
SMALL_COUNT = 10
# A count axis with nothing above zero still reads 0..EMPTY_TOP, not plotly's -1..1.
EMPTY_TOP = 5
MONEY_METRICS = ("emv_usd",)
DAY_MS = 86_400_000
KIOSK_FONT = 20  # px: chart text on the big screen, readable from a few metres


def count_axis(top) -> dict:
    """An axis for counts (views, likes, posts …) whose largest value is ``top``: from zero (a
    count is never negative, and a bar or a line that starts at zero is read as its size), with
    whole-number ticks. Compact labels ("40k") stay, but only on whole numbers: the axis starts at
    zero, so plotly's steps are 1, 2 or 5 × 10ⁿ, and below SMALL_COUNT every whole number is a
    tick."""
    top = 0.0 if top is None or pd.isna(top) else float(top)
    axis = dict(rangemode="tozero", tickformat=",~s", tick0=0)
    if top < SMALL_COUNT:
        axis.update(range=[0, max(EMPTY_TOP, math.ceil(top * 1.05))], dtick=1, tickmode="linear")
    return axis


def money_axis() -> dict:
    """EMV in US dollars: from zero, with cents where the axis is that short."""
    return dict(rangemode="tozero", tickprefix="$", tickformat=",.2~f")


def value_axis(metric: str, top) -> dict:
    return money_axis() if metric in MONEY_METRICS else count_axis(top)


def hover_value(metric: str) -> str:
    """How a point's value reads on hover: whole counts, dollars with cents."""
    return "$%{y:,.2f}" if metric in MONEY_METRICS else "%{y:,.0f}"


def _day_axis(days: pd.Series) -> dict:
    """The time axis: on a short range one tick a day and half a day either side, so a single day
    is a point in the middle of the chart, not an axis of hours around an invisible line."""
    if days.empty:
        return {}
    first, last = pd.Timestamp(days.min()), pd.Timestamp(days.max())
    if (last - first).days + 1 > SHORT_RANGE_DAYS:
        return {}
    half = pd.Timedelta(hours=12)
    return dict(range=[first - half, last + half], dtick=DAY_MS, tick0=first)


def no_chart(fig: go.Figure, text: str) -> go.Figure:
    """``fig`` as a message instead of a chart: no axes, no grid, only ``text`` in the middle. An
    empty frame with a made-up axis (-1..6) says "the data is zero", which is not what it means."""
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font=dict(size=16, color="#444"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def kept(eng, campaign, name: str, args: tuple, build, scope=None) -> dict:
    """``build()``'s figure as the dict Dash sends, computed once per data version (and ``args``:
    everything else it depends on, the language among them) for every worker: building a plotly
    figure validates every property, 20-40 ms a chart, on each view and each refresh of Live
    (issue 15's load test). ``scope``: as ``shared.memo``'s."""
    from ..analysis import shared

    return shared.memo(eng, campaign, "figure." + name, args, lambda: build().to_plotly_json(), scope=scope)


def metric_over_time(df: pd.DataFrame, metric: str, cumulative: bool, events=(), lang: str = "en",
                     empty: str | None = None) -> go.Figure:
    """One line per platform of ``metric`` per day (or its running total), events on the time axis.

    Counts are on an axis from zero with whole-number ticks, EMV in dollars; a platform with few
    days is drawn with markers. With nothing to draw the figure is the message ``empty`` (default
    "nothing matches"), not an empty frame."""
    from ..text.i18n import metric_name, platform_name, t

    fig = go.Figure()
    name = metric_name(metric, lang)
    fig.update_layout(
        title=t("chart.over_time_cumulative" if cumulative else "chart.over_time", lang, metric=name),
        margin=dict(l=70, r=20, t=80, b=50), legend=dict(orientation="h", y=-0.2),
    )
    if df.empty:
        # Nor event lines: on an axis without data plotly computes NaN paths.
        return no_chart(fig, empty or t("empty.no_match", lang))
    for platform, g in df.groupby("platform", sort=True):
        fig.add_trace(go.Scatter(
            x=g["day"], y=g["value"], mode="lines+markers" if len(g) <= SHORT_RANGE_DAYS else "lines",
            name=platform_name(platform, lang),
            line=dict(color=PLATFORM_COLOURS.get(platform), width=2), marker=dict(size=8),
            hovertemplate="%{x|" + hover_day(lang) + "}: " + hover_value(metric) + "<extra>%{fullData.name}</extra>",
        ))
    # Only the events inside the data's days: one outside would stretch the axis past the data
    # (a one-day view drawn as a month with the day lost at one edge).
    first, last = pd.Timestamp(df["day"].min()).date(), pd.Timestamp(df["day"].max()).date()
    for e in events:
        if not first <= e.day <= last:
            continue
        fig.add_shape(type="line", xref="x", yref="paper", x0=e.day, x1=e.day, y0=0, y1=1,
                      line=dict(color="#777", width=1, dash="dot"))
        fig.add_annotation(x=e.day, y=1, xref="x", yref="paper", text=e.text(lang), showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(size=11, color="#444"))
    fig.update_layout(
        xaxis=dict(title=t("chart.day_axis", lang), **_day_axis(df["day"])),
        yaxis=dict(title=name, **value_axis(metric, df["value"].max())), hovermode="x unified",
    )
    return fig


def top_influencers_figure(rows: pd.DataFrame, title: str, lang: str = "en", metric: str = "views") -> go.Figure:
    """Horizontal bars, largest on top: one bar per influencer, split by platform in the platforms'
    colours. ``rows``: influencer, platform, value (one row per influencer and platform), already
    limited to the influencers to show; ``metric`` says whether they are counts or dollars."""
    from ..text.i18n import fmt_number, platform_name, t

    kind = "money" if metric in MONEY_METRICS else "count"

    fig = go.Figure()
    totals = rows.groupby("influencer")["value"].sum().sort_values(kind="stable")
    order = list(totals.index)  # plotly draws the first category at the bottom
    for platform, g in rows.groupby("platform", sort=True):
        g = g.set_index("influencer").reindex(order).dropna(subset=["value"])
        fig.add_trace(go.Bar(
            x=g["value"], y=list(g.index), orientation="h", name=platform_name(platform, lang),
            marker=dict(color=PLATFORM_COLOURS.get(platform)),
            customdata=[fmt_number(v, lang, kind=kind) for v in g["value"]],
            hovertemplate="%{y}: %{customdata}<extra>%{fullData.name}</extra>",
        ))
    fig.add_trace(go.Scatter(  # each bar's total at its end
        x=totals.to_numpy(), y=order, mode="text", text=[fmt_number(v, lang, kind=kind, compact=True) for v in totals],
        textposition="middle right", showlegend=False, hoverinfo="skip", cliponaxis=False))
    fig.update_layout(
        barmode="stack", title=title, legend=dict(orientation="h", y=-0.12),
        margin=dict(l=220, r=60, t=80, b=50), xaxis=value_axis(metric, totals.max() if len(totals) else 0),
        # The order of the totals, not of first appearance across the platforms' traces.
        yaxis=dict(automargin=True, categoryorder="array", categoryarray=order),
    )
    return no_chart(fig, t("empty.no_match", lang)) if rows.empty else fig


def basis_label(platform: str, basis, lang: str) -> str:
    """The platform's name, or "X (impressions)" where impressions stand in for its views."""
    from ..text.i18n import platform_name, t

    name = platform_name(platform, lang)
    return t("label.impressions_basis", lang, platform=name) if basis == "impressions" else name


def hatch(shape):
    # Light lines over the platform's own colour: the colour stays the platform's, and bar labels
    # stay readable on dark colours (X is black).
    return dict(shape=shape, fillmode="overlay", fgcolor="rgba(255,255,255,0.55)", size=8)


def mix_figure(mix: pd.DataFrame, metric: str, lang: str) -> go.Figure:
    """Stacked 100% bars per ISO week, one fixed colour per platform, from ``platform_totals.weekly_mix``
    (the Platforms page and the kiosk's mix chart)."""
    from ..analysis.metrics import BASIS_METRIC
    from ..text.i18n import fmt_number, metric_name, t, week_label

    fig = go.Figure()
    labels = {w: week_label(w, d, lang) for w, d in zip(mix["week"], mix["days"])}
    for platform, g in mix.groupby("platform", sort=True):
        fig.add_trace(go.Bar(
            x=[labels[w] for w in g["week"]], y=g["share"], name=basis_label(platform, g["basis"].iloc[0], lang),
            marker=dict(color=PLATFORM_COLOURS.get(platform),
                        pattern=hatch("/" if g["basis"].iloc[0] == "impressions" else "")),
            customdata=[fmt_number(v, lang, kind="money" if metric == "emv_usd" else "count") for v in g["value"]],
            hovertemplate="%{x}: %{y:.1f}% (%{customdata})<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(
        barmode="stack", title=t("chart.mix", lang, metric=metric_name(
            BASIS_METRIC if metric == "views" else metric, lang)),  # the mix of views counts X's impressions
        xaxis_title=t("label.iso_week", lang), yaxis=dict(title=t("chart.mix_axis", lang), range=[0, 100],
                                                          ticksuffix="%"),
        margin=dict(l=70, r=20, t=60, b=50), legend=dict(orientation="h", y=-0.2),
        hovermode="x unified",
    )
    return no_chart(fig, t("empty.no_match", lang)) if mix.empty else fig


def for_kiosk(fig: go.Figure) -> go.Figure:
    """``fig`` for the big screen: every text at least KIOSK_FONT px (ticks, axis titles, legend,
    hover labels, event labels and notes) and no title of its own: the kiosk's caption above the
    chart names it, and a second copy of the same words only takes room from the chart."""
    big = dict(size=KIOSK_FONT)
    fig.update_layout(title=dict(text=""), font=big, legend=dict(font=big), hoverlabel=dict(font=big),
                      margin=dict(t=40, b=40))
    fig.update_xaxes(tickfont=big, title_font=big)
    fig.update_yaxes(tickfont=big, title_font=big)
    for a in fig.layout.annotations:
        a.font.size = max(a.font.size or 0, KIOSK_FONT)
    fig.update_traces(textfont=big, selector=dict(mode="text"))
    return fig

"""The charts' figure builders (dashboard/web/figures.py) and what a chart says about a platform that lacks
its metric (dashboard/web/coverage.py), as pure functions; the Live page's "Last updated" and missing-metric
note as components. tests/test_browser.py and tests/test_browser_kiosk.py look at them in Chromium."""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pytest
from dash import dcc, html

from collectors import registry
from collectors.model import METRICS
from dashboard.analysis.config import Event
from dashboard.web import coverage, figures
from dashboard.web import filters as F
from dashboard.web.pages import live


def series(values: dict[str, list[float]], start="2025-01-10") -> pd.DataFrame:
    """platform, day, value rows: one list of daily values per platform, from ``start``."""
    rows = [(p, pd.Timestamp(start) + pd.Timedelta(days=i), float(v)) for p, vs in values.items()
            for i, v in enumerate(vs)]
    return pd.DataFrame(rows, columns=["platform", "day", "value"])


def fig_of(values, metric="views", cumulative=False, events=(), lang="en", **kw):
    return figures.metric_over_time(series(values, **kw), metric, cumulative, events, lang=lang)


# --- markers, axes and ticks -------------------------------------------------------------------------

def test_a_one_day_range_is_a_point_in_the_middle_of_a_day_axis_not_an_invisible_line():
    fig = fig_of({"tiktok": [43_753]})
    (trace,) = fig.data
    assert "markers" in trace.mode  # a line of one point draws nothing
    lo, hi = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
    assert (lo, hi) == (pd.Timestamp("2025-01-09 12:00"), pd.Timestamp("2025-01-10 12:00"))
    assert fig.layout.xaxis.dtick == figures.DAY_MS  # a tick a day, not hours around the point
    # from zero: plotly's own range around one value is 43,751.5..43,753 ("43.7515k")
    assert fig.layout.yaxis.rangemode == "tozero"


def test_short_ranges_have_markers_and_long_ones_plain_lines():
    short = fig_of({"tiktok": [5, 8, 3], "youtube": [1, 2, 3]})
    assert all("markers" in tr.mode for tr in short.data)
    long = fig_of({"tiktok": list(range(1, 43))})  # the demo's six weeks
    assert long.data[0].mode == "lines"
    assert long.layout.xaxis.range is None and long.layout.xaxis.dtick is None  # plotly's own date ticks
    # per trace: a platform with three days inside a long view is still drawn as points
    mixed = figures.metric_over_time(pd.concat([series({"tiktok": list(range(1, 43))}),
                                                series({"x": [4, 5, 6]}, start="2025-01-20")]), "views", False)
    assert {tr.name: tr.mode for tr in mixed.data} == {"TikTok": "lines", "X": "lines+markers"}


@pytest.mark.parametrize("metric", ["views", "impressions", "likes", "engagements"])
def test_counts_are_on_an_axis_from_zero_with_whole_number_ticks(metric):
    fig = fig_of({"tiktok": [43_751, 43_753]}, metric=metric)
    axis = fig.layout.yaxis
    assert axis.rangemode == "tozero"
    assert axis.tickformat == ",~s" and axis.tick0 == 0  # steps of 1, 2 or 5 × 10ⁿ from zero
    assert "%{y:,.0f}" in fig.data[0].hovertemplate  # whole counts on hover too


def test_small_counts_tick_every_whole_number_and_never_go_negative():
    fig = fig_of({"x": [0, 3, 1]}, metric="likes")
    axis = fig.layout.yaxis
    assert (axis.dtick, axis.tick0, axis.tickmode) == (1, 0, "linear")  # no 0.5 likes
    assert tuple(axis.range) == (0, figures.EMPTY_TOP)
    seven = fig_of({"x": [7, 2]}, metric="likes").layout.yaxis
    assert seven.range[0] == 0 and seven.range[1] >= 7 and seven.dtick == 1


def test_an_all_zero_series_has_a_sane_axis_from_zero():
    axis = fig_of({"x": [0, 0, 0]}, metric="comments").layout.yaxis
    # plotly's own range for a flat zero line is -1..1: a count axis below zero
    assert tuple(axis.range) == (0, figures.EMPTY_TOP) and axis.dtick == 1


def test_emv_keeps_its_cents_and_its_dollar_sign():
    fig = fig_of({"youtube": [0.25, 1.5]}, metric="emv_usd")
    assert fig.layout.yaxis.tickprefix == "$" and ".2" in fig.layout.yaxis.tickformat
    assert fig.layout.yaxis.dtick is None  # $0.25 steps are fine for money
    assert "$%{y:,.2f}" in fig.data[0].hovertemplate


def test_events_outside_the_datas_days_do_not_stretch_the_axis():
    events = (Event(date(2024, 12, 22), "Launch"), Event(date(2025, 1, 11), "Livestream"))
    fig = fig_of({"tiktok": [5, 8, 3]}, events=events)  # 10-12 January
    assert [a.text for a in fig.layout.annotations] == ["Livestream"]
    assert len(fig.layout.shapes) == 1


def test_nothing_to_draw_is_a_message_without_axes():
    fig = figures.metric_over_time(series({}), "views", False, (Event(date(2025, 1, 11), "Launch"),),
                                   empty="X reports no Views, but reports Impressions.")
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    assert [a.text for a in fig.layout.annotations] == ["X reports no Views, but reports Impressions."]
    assert not fig.data and not fig.layout.shapes


def test_the_top_influencers_bars_start_at_zero_with_whole_number_ticks():
    rows = pd.DataFrame({"influencer": ["Ann", "Bo"], "platform": ["x", "x"], "value": [3.0, 2.0]})
    axis = figures.top_influencers_figure(rows, "Top", "en").layout.xaxis
    assert axis.rangemode == "tozero" and axis.dtick == 1
    money = figures.top_influencers_figure(rows, "Top", "en", metric="emv_usd")
    assert money.layout.xaxis.tickprefix == "$" and list(money.data[-1].text) == ["$2", "$3"]


def test_the_kiosk_figure_has_no_title_of_its_own_and_no_text_under_20_px():
    fig = figures.for_kiosk(fig_of({"tiktok": [5, 8, 3]}, events=(Event(date(2025, 1, 11), "Launch"),)))
    assert not fig.layout.title.text  # the kiosk's caption is the title
    sizes = [fig.layout.font.size, fig.layout.legend.font.size, fig.layout.hoverlabel.font.size,
             fig.layout.xaxis.tickfont.size, fig.layout.yaxis.tickfont.size,
             fig.layout.xaxis.title.font.size, fig.layout.yaxis.title.font.size,
             *(a.font.size for a in fig.layout.annotations)]
    assert min(sizes) >= 20, sizes


# --- which platform reports which metric ----------------------------------------------------------

def test_what_a_platform_reports_comes_from_its_registered_reports():
    known = registry.platform_metrics()
    assert "impressions" in known["x"] and "views" not in known["x"]
    assert "impressions" in known["linkedin"] and "views" not in known["linkedin"]
    assert not {"views", "impressions"} & known["weibo"]
    assert {"views", "impressions"} <= known["youtube"]
    # a metric of any of a platform's reports is the platform's
    for r in registry.reports():
        assert {f for f in r.columns if f in METRICS} <= known[r.platform], r.name


def test_x_and_views_is_a_gap_with_impressions_as_the_counterpart():
    assert coverage.gaps(["x", "tiktok"], "views") == [coverage.Gap(("x",), "views", "impressions", True)]
    assert coverage.gaps(["tiktok", "youtube"], "views") == []
    assert coverage.gaps(["weibo", "linkedin", "x"], "views") == [
        coverage.Gap(("x", "linkedin"), "views", "impressions", True),
        coverage.Gap(("weibo",), "views", "impressions", False)]
    # derived metrics: engagements from the campaign's list, EMV on views or impressions
    assert coverage.gaps(["weibo"], "engagements") == []
    assert coverage.gaps(["weibo", "x"], "emv_usd") == [coverage.Gap(("weibo",), "emv_usd", None, False)]
    assert coverage.gaps(["weibo"], "engagements", engagement=("saves",)) == [
        coverage.Gap(("weibo",), "engagements", None, False)]


@pytest.mark.parametrize("lang, platforms, expected", [
    ("en", ["x"], ["X reports no Views, but reports Impressions."]),
    ("en", ["x", "linkedin", "weibo"], ["X and LinkedIn report no Views, but report Impressions.",
                                        "Weibo reports neither Views nor Impressions."]),
    ("zh", ["x", "linkedin", "weibo"], ["X和LinkedIn不提供浏览量，但提供展示次数。", "微博既不提供浏览量，也不提供展示次数。"]),
])
def test_the_note_names_the_platforms_and_what_they_report_instead(lang, platforms, expected):
    assert [coverage.sentence(g, lang) for g in coverage.gaps(platforms, "views")] == expected


def test_the_note_switches_to_the_counterpart_with_one_click():
    found = coverage.gaps(["x", "weibo"], "views")
    note = coverage.note(found, "en", lambda m: "/" + F.to_query(F.parse(f"?platform=x&lang=zh&metric={m}")),
                         id="n", empty=True)
    links = [c for c in note.children if isinstance(c, dcc.Link)]
    assert [(l.children, l.href) for l in links] == [("Show Impressions", "/?platform=x&metric=impressions&lang=zh")]
    assert "empty" in note.className
    assert coverage.note([], "en", str, id="n") is None


# --- the Live page -------------------------------------------------------------------------------------


def walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children] if children is not None else []:
        yield from walk(child)


def by_id(parts, id_):
    return next((c for c in walk(html.Div(parts)) if getattr(c, "id", None) == id_), None)


def test_live_filtered_to_x_with_views_shows_the_note_and_the_switch_instead_of_an_empty_chart(x_app):
    from dashboard.analysis import config

    parts = live.content(x_app, config.load(), F.parse("?platform=x&lang=zh"))
    assert by_id(parts, "live-chart") is None  # no empty frame
    note = by_id(parts, "live-metric-note")
    assert note.children[0].children == "X不提供浏览量，但提供展示次数。"
    assert by_id(parts, "live-metric-note-switch").href == "/?platform=x&metric=impressions&lang=zh"
    # the switch's view has the chart and no note
    parts = live.content(x_app, config.load(), F.parse("?platform=x&metric=impressions&lang=zh"))
    assert by_id(parts, "live-metric-note") is None
    # The page sends the figure as Dash would serialise it (figures.kept): numbers as typed arrays.
    y = by_id(parts, "live-chart").figure["data"][0]["y"]
    values = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]) if isinstance(y, dict) else y
    assert sum(values) == 2000


def test_live_says_when_it_last_got_data_in_the_campaign_timezone(x_app):
    from dashboard.analysis import config

    now = datetime(2025, 1, 26, 6, 5, tzinfo=timezone.utc)  # 14:05 in Shanghai
    parts = live.content(x_app, config.load(), F.parse("?metric=impressions"), now=now)
    assert by_id(parts, "live-updated").children == "Last updated 14:05"
    parts = live.content(x_app, config.load(), F.parse("?metric=impressions&lang=zh&kiosk=1"), now=now)
    assert by_id(parts, "live-updated").children == "最后更新 14:05"


def test_the_kiosk_chart_of_a_metric_no_platform_has_is_the_note_not_an_empty_frame():
    # Weibo reports neither views nor impressions: the kiosk's views (views or impressions) have
    # nothing to draw.
    daily = pd.DataFrame({"platform": ["weibo", "weibo"], "day": pd.to_datetime(["2024-12-20", "2024-12-21"]),
                          "views": [None, None], "impressions": [None, None], "views_or_impressions": [None, None],
                          "likes": [40.0, 10.0]})
    empty = pd.DataFrame(columns=["week", "platform", "basis", "value", "share", "days"])
    caption, fig = live.kiosk_view(0, daily, empty, pd.DataFrame(), "views")
    assert caption == "Views or impressions by platform, per day · 1/4"
    assert [a.text for a in fig.layout.annotations] == ["Weibo reports no Views or impressions."]
    assert fig.layout.xaxis.visible is False and fig.layout.annotations[0].font.size >= 20
    _, mix = live.kiosk_view(2, daily, empty, pd.DataFrame(), "views")
    assert mix.layout.yaxis.visible is False  # an empty mix is a message too


def test_a_kept_posts_grid_block_is_of_its_own_language(x_app):
    # The Posts grid's blocks are kept per data version (pages/posts.py): a view in 中文 after one
    # in English gets its own block, not the English one.
    from dashboard.web.pages import posts

    request = {"startRow": 0, "endRow": 50, "sortModel": []}
    en = posts.rows(request, "?lang=en")["rowData"]
    zh = posts.rows(request, "?lang=zh")["rowData"]
    assert len(en) == len(zh) == 2
    assert en != zh and any("年" in str(v) for v in zh[0].values()) and not any("年" in str(v) for v in en[0].values())
    assert posts.rows(request, "?lang=en")["rowData"] == en  # and the English one again, kept


def test_every_chart_is_drawn_on_plotly_white_as_sent():
    # plotly_white is the default template (dashboard/web/figures.py), not given to each figure:
    # what Dash sends must still carry it whole, for every kind of chart.
    import plotly.io as pio

    white = pio.templates["plotly_white"].to_plotly_json()
    series = pd.DataFrame({"platform": ["x", "x"], "day": pd.to_datetime(["2025-01-01", "2025-01-02"]),
                           "value": [3, 5]})
    charts = [figures.metric_over_time(series, "views", False, lang="en"),
              figures.metric_over_time(series.iloc[:0], "views", False, lang="en"),
              figures.top_influencers_figure(pd.DataFrame({"influencer": ["A"], "platform": ["x"], "value": [4]}), "Top"),
              figures.mix_figure(pd.DataFrame({"week": ["2025-W01"], "days": [7], "platform": ["x"], "share": [100.0],
                                               "value": [4], "basis": ["impressions"]}), "views", "en")]
    for fig in charts:
        assert fig.to_plotly_json()["layout"]["template"] == white
        assert json.loads(fig.to_json())["layout"]["template"]["layout"]["plot_bgcolor"] == "white"

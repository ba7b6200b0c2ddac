"""The Live page's kiosk mode (``?kiosk=1``) without a browser: the chart of each step of the cycle
is a pure function (``live.kiosk_view``) checked against sums of hand-made rows, and the page
carries every step for the browser to cycle through. tests/test_browser_kiosk.py watches it cycle."""
from __future__ import annotations

import pandas as pd
import pytest
from dash import html

from collectors.pipeline import Importer
from dashboard.analysis import stamps
from dashboard.analysis.config import Event
from dashboard.web.pages import live
from test_store import x_content

DAYS = pd.date_range("2024-12-20", periods=3, freq="D")
# Rollup rows by platform and day: TikTok reports views, X only impressions.
DAILY = pd.DataFrame({
    "platform": ["tiktok"] * 3 + ["x"] * 3,
    "day": list(DAYS) * 2,
    "views": [100.0, 250.0, 50.0, None, None, None],
    "impressions": [None, None, None, 400.0, 100.0, 300.0],
    "views_or_impressions": [100.0, 250.0, 50.0, 400.0, 100.0, 300.0],  # as rollups.query gives it
    "engagements": [10.0, 20.0, 5.0, 8.0, 1.0, 6.0],
})
MIX = pd.DataFrame({"week": ["2024-W51", "2024-W51", "2024-W52", "2024-W52"],
                    "platform": ["tiktok", "x", "tiktok", "x"],
                    "basis": ["views", "impressions", "views", "impressions"],
                    "value": [100.0, 400.0, 300.0, 400.0], "share": [20.0, 80.0, 300 / 7, 400 / 7],
                    "days": [2, 2, 7, 7]})
# Rollup rows by influencer and platform.
BY_INFLUENCER = pd.DataFrame({
    "influencer": ["Ann", "Ann", "Bo", "Cy", "Di"],
    "platform": ["tiktok", "x", "tiktok", "x", "tiktok"],
    "views": [300.0, None, 500.0, None, 0.0],
    "impressions": [None, 350.0, None, 20.0, None],
    "engagements": [30.0, 5.0, 12.0, 40.0, 0.0],
})
EVENTS = (Event(DAYS[1].date(), "Launch ceremony, Yiwu"),)


def view(step, metric="views", lang="en"):
    return live.kiosk_view(step, DAILY, MIX, BY_INFLUENCER, metric, EVENTS, lang)


def ys(fig) -> dict[str, list[float]]:
    return {tr.name: [float(v) for v in tr.y] for tr in fig.data if tr.name}


def test_the_cycle_has_four_charts_each_with_its_caption_and_repeats():
    captions = [view(i)[0] for i in range(8)]
    # Nobody can click the big screen's switch to impressions: views are charted as views or
    # impressions (X by its impressions), and every title says so.
    assert captions[:4] == ["Views or impressions by platform, per day · 1/4",
                            "Views or impressions by platform, cumulative · 2/4",
                            "Platform mix: share of each ISO week's Views or impressions · 3/4",
                            "Top 10 influencers by Views or impressions · 4/4"]
    assert captions[4:] == captions[:4]
    assert view(5)[1] == view(1)[1]
    assert view(2, lang="zh")[0] == "平台构成：各 ISO 周浏览量或展示次数的占比 · 3/4"


def test_the_daily_and_cumulative_charts_are_the_rows_and_their_running_totals():
    daily, cumulative = view(0)[1], view(1)[1]
    assert ys(daily) == {"TikTok": [100, 250, 50], "X": [400, 100, 300]}  # X by its impressions
    assert ys(cumulative) == {"TikTok": [100, 350, 400], "X": [400, 500, 800]}
    impressions = view(0, metric="impressions")[1]
    assert ys(impressions) == {"X": [400, 100, 300]}  # TikTok reports none: not drawn as zero
    engagements = view(1, metric="engagements")[1]
    assert ys(engagements) == {"TikTok": [10, 30, 35], "X": [8, 9, 15]}
    # the campaign's events are on the time axis
    assert [a.text for a in daily.layout.annotations] == ["Launch ceremony, Yiwu"]


def test_the_mix_chart_is_the_platforms_pages_weekly_shares():
    fig = view(2)[1]
    shares = {tr.name: [round(float(v), 6) for v in tr.y] for tr in fig.data}
    assert shares == {"TikTok": [20.0, round(300 / 7, 6)], "X (impressions)": [80.0, round(400 / 7, 6)]}
    assert list(fig.data[0].x) == ["2024-W51, partial (2/7 days)", "2024-W52"]


def test_top_influencers_count_impressions_where_a_platform_reports_no_views():
    rows, stand_in = live.top_influencers(BY_INFLUENCER, "views")
    totals = rows.groupby("influencer")["value"].sum().to_dict()
    assert totals == {"Ann": 650.0, "Bo": 500.0, "Cy": 20.0}  # Di has nothing to show
    assert stand_in
    rows, stand_in = live.top_influencers(BY_INFLUENCER, "engagements", n=2)
    assert set(rows["influencer"]) == {"Cy", "Ann"} and not stand_in  # 40 and 35 beat Bo's 12
    # a tie goes to the name that sorts first, whatever the row order
    tie = pd.DataFrame({"influencer": ["Zoe", "Al"], "platform": ["tiktok", "tiktok"], "views": [5.0, 5.0],
                        "impressions": [None, None]})
    assert live.top_influencers(tie, "views", n=1)[0]["influencer"].tolist() == ["Al"]


def test_the_top_influencers_chart_stacks_platforms_largest_on_top_and_says_impressions_stood_in():
    fig = view(3)[1]
    bars = [tr for tr in fig.data if tr.type == "bar"]
    per_influencer: dict[str, float] = {}
    for tr in bars:
        for name, v in zip(tr.y, tr.x):
            per_influencer[name] = per_influencer.get(name, 0.0) + float(v)
    assert per_influencer == {"Ann": 650.0, "Bo": 500.0, "Cy": 20.0}
    assert {tr.name for tr in bars} == {"TikTok", "X"}
    totals = next(tr for tr in fig.data if tr.type == "scatter")
    assert list(totals.y) == ["Cy", "Bo", "Ann"]  # plotly draws the first category at the bottom
    # the axis keeps that order, whatever order the platforms' traces name the influencers in
    assert list(fig.layout.yaxis.categoryarray) == ["Cy", "Bo", "Ann"]
    assert fig.layout.yaxis.categoryorder == "array"
    # the note is on the chart (the caption above it is the chart's one title)
    assert [a.text for a in fig.layout.annotations] == ["impressions stand in for views where a platform reports none"]
    assert not view(3, metric="engagements")[1].layout.annotations


@pytest.mark.parametrize("given, seconds", [(None, 15), ("20", 20), (["5"], 5), ("1", 2), ("0", 2), ("-4", 2),
                                            ("99999", 3600), ("soon", 15), ("", 15), ("7.9", 7), ("nan", 15)])
def test_the_cycle_length_comes_from_the_url_within_limits(given, seconds):
    assert live.cycle_seconds(given) == seconds


def _find(component, id_):
    if getattr(component, "id", None) == id_:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found = _find(child, id_)
        if found is not None:
            return found
    return None


def test_the_kiosk_page_carries_every_chart_and_cycles_at_the_urls_pace(x_app):
    page = live.layout(kiosk="1", cycle="3", metric="impressions", lang="zh")
    assert _find(page, "kiosk-cycle").interval == 3000
    # the data refresh stays (each view a little off the nominal interval: screens drift apart)
    assert 0.9 * live.REFRESH_SECONDS * 1000 <= _find(page, "live-interval").interval <= 1.1 * live.REFRESH_SECONDS * 1000
    others = {_find(live.layout(kiosk="1"), "live-interval").interval for _ in range(8)}
    assert len(others) > 1  # not all at once
    assert _find(page, "live-view") is None and _find(page, "f-metric") is None  # no controls
    steps = _find(page, "kiosk-views").data
    assert [s["caption"][-3:] for s in steps] == ["1/4", "2/4", "3/4", "4/4"]
    chart = _find(page, "live-chart")
    assert chart.figure == steps[0]["figure"] and chart.config["locale"] == "zh-CN"
    assert _find(page, "kiosk-caption").children == steps[0]["caption"] == "各平台每日展示次数 · 1/4"
    assert _find(page, "live-kpis") is not None  # the KPIs stay on the screen
    # the daily impressions add up to the two posts' lifetime impressions (1,200 + 800)
    assert [sum(tr.y) for tr in steps[0]["figure"].data] == [2000]


def test_a_refresh_in_kiosk_mode_redraws_the_kiosk_charts_and_sends_nothing_when_unchanged(x_app):
    from dash.exceptions import PreventUpdate

    seen = stamps.live_version(x_app)
    with pytest.raises(PreventUpdate):
        live.refresh(1, "?kiosk=1&cycle=3", seen)
    Importer(x_app, None).import_bytes("account_analytics_content_2024-12-16_2024-12-23.csv",
                                         x_content([("1870000000000000001", 1500, 31)]))
    body, version = live.refresh(2, "?kiosk=1&cycle=3&metric=impressions", seen)
    assert version != seen
    steps = _find(html.Div(body), "kiosk-views").data
    assert len(steps) == 4 and [sum(tr.y) for tr in steps[0]["figure"].data] == [2300]

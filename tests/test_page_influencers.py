"""The Influencers page (dashboard/web/pages/influencers.py): its pure functions on the demo campaign,
and the page in a real Chromium (leaderboard grid, a click on a row, that influencer's chart)."""
from __future__ import annotations

import re
import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from dash import html

from browser import chromium, console_errors, reach_server, requested_hosts, require_chromium, screenshot, wait_for
from collectors.store import database
from conftest import ROOT
from dashboard.analysis import config, exports, flag_store, leaderboard, metrics, queries
from dashboard.analysis.anomalies import anomalies
from dashboard.text.i18n import platform_name
from dashboard.text.links import safe_link
from dashboard.web import filters as F
from dashboard.web.pages import influencers as P

CAMPAIGN = config.load(ROOT / "campaign.toml")
WINDOW = metrics.Selection(start=CAMPAIGN.start, end=CAMPAIGN.end)


@pytest.fixture(scope="module")
def demo(demo_stray_db):
    eng = database.connect(f"sqlite:///{demo_stray_db}")
    frames = queries.frames.load_frames(eng)
    yield eng, frames
    eng.dispose()


@pytest.fixture(scope="module")
def board(demo):
    return leaderboard.leaderboard(demo[1], CAMPAIGN, WINDOW)


@pytest.fixture(scope="module")
def flags(demo):
    frames = demo[1]
    return anomalies(frames, metrics.increments(frames.snapshots, frames.post_days, CAMPAIGN), CAMPAIGN)


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for c in children if isinstance(children, (list, tuple)) else [children]:
        if c is not None and not isinstance(c, (str, int, float)):
            yield from _walk(c)


def _texts(component) -> list[str]:
    out = []
    for c in _walk(component):
        kids = getattr(c, "children", None)
        out += [k for k in (kids if isinstance(kids, (list, tuple)) else [kids]) if isinstance(k, str)]
    return out


# --- the leaderboard ----------------------------------------------------------------------------

def test_without_dates_the_view_is_the_campaign_window_and_given_dates_are_kept():
    assert F.view_selection(F.parse("?platform=x"), CAMPAIGN) == metrics.Selection(
        start=date(2024, 12, 16), end=date(2025, 1, 26), platforms=("x",))
    given = F.view_selection(F.parse("?from=2025-01-01&to=2025-01-07"), CAMPAIGN)
    assert (given.start, given.end) == (date(2025, 1, 1), date(2025, 1, 7))


def test_the_leaderboard_totals_equal_the_engines_aggregate_by_influencer(demo, board):
    frames = demo[1]
    inc = metrics.increments(frames.snapshots, frames.post_days, CAMPAIGN)
    agg = metrics.aggregate(inc, frames.posts, CAMPAIGN, by=["influencer"], sel=WINDOW).set_index("influencer")
    b = board.set_index("influencer")
    assert len(b) > 30 and set(b.index) == set(agg.index)
    for col in ("views", "impressions", "engagements", "er_views", "er_impressions", "emv_usd"):
        pd.testing.assert_series_equal(b[col].astype("float64"), agg.loc[b.index, col].astype("float64"),
                                       check_names=False, rtol=1e-9)
    assert b["views"].sum() == pytest.approx(agg["views"].sum())


def test_the_leaderboard_has_the_grid_columns_in_order_most_views_or_impressions_first(demo, board):
    assert list(board.columns) == leaderboard.LEADERBOARD_COLUMNS
    volume = board["views_or_impressions"].astype("float64")
    known = volume.dropna()
    assert list(known) == sorted(known, reverse=True)
    assert volume.isna().sum() == 0 or volume.isna().to_numpy()[len(known):].all()  # unknown last
    # Recomputed from the tidy rows by influencer and platform: views on a platform that reports
    # views, impressions on X and LinkedIn (which report none), nothing on Weibo; per platform,
    # never per row, so an influencer on YouTube and X adds YouTube's views and X's impressions.
    inc = metrics.increments(demo[1].snapshots, demo[1].post_days, CAMPAIGN)
    per = metrics.daily_table(inc, demo[1].posts, CAMPAIGN, by=("influencer", "platform"),
                              sel=metrics.Selection(start=CAMPAIGN.start, end=CAMPAIGN.end))
    by_impressions = {"x", "linkedin"}
    per["v"] = [r.impressions if r.platform in by_impressions else (float("nan") if r.platform == "weibo" else r.views)
                for r in per.itertuples()]
    expected = per.groupby("influencer")["v"].sum(min_count=1)
    got = board.set_index("influencer")["views_or_impressions"].astype("float64")
    both = expected.dropna().index
    assert len(both) > 30 and got[both].to_numpy() == pytest.approx(expected[both].to_numpy(), abs=1e-6)
    mixed = [n for n in both if {"x", "youtube"} <= set(per.loc[per["influencer"] == n, "platform"])]
    assert mixed, "the demo has an influencer on X and YouTube"
    assert (board["reach_max_post"].dropna() <= board.loc[board["reach_max_post"].notna(), "reach_sum"]).all()


def test_posts_published_counts_the_posts_published_in_the_window_in_the_campaign_timezone(demo, board):
    posts = demo[1].posts
    local = posts["published_at"].dt.tz_convert(CAMPAIGN.tz).dt.date
    inside = posts[(local >= CAMPAIGN.start) & (local <= CAMPAIGN.end)]
    expected = inside.groupby("influencer").size()
    got = board.set_index("influencer")["posts_published"]
    assert got.sum() == len(inside)
    assert (got[expected.index] == expected).all()


def test_a_platform_filter_narrows_every_row_to_that_platform(demo):
    x_only = leaderboard.leaderboard(demo[1], CAMPAIGN, metrics.Selection(start=CAMPAIGN.start, end=CAMPAIGN.end,
                                                                platforms=("x",)))
    assert len(x_only) and set(x_only["platforms"]) == {"x"}
    # X reports impressions, not views: an X-only leaderboard has impressions and no views
    assert x_only["views"].isna().all() and x_only["impressions"].notna().all()


def test_grid_rows_carry_sortable_numbers_and_their_text_in_the_ui_language(board):
    en, zh = P.grid_rows(board, "en"), P.grid_rows(board, "zh")
    top = board.iloc[0]
    assert en[0]["influencer"] == zh[0]["influencer"] == top["influencer"]
    assert en[0]["views"] == pytest.approx(float(top["views"]))
    assert en[0]["views_text"] == f"{round(float(top['views'])):,}"
    # rates are filtered in percent, so a filter of 5 means what the cell says
    assert en[0]["er_views"] == pytest.approx(float(top["er_views"]) * 100)
    assert en[0]["er_views_text"] == f"{float(top['er_views']) * 100:.2f}%"
    assert en[0]["emv_usd_text"].startswith("$") and zh[0]["emv_usd_text"].startswith("US$")
    bytes_ = next(r for r in en if r["influencer"] == "Belt & Road Bytes")
    keys = board.set_index("influencer").loc["Belt & Road Bytes", "platforms"].split(", ")
    assert {"tiktok", "x", "youtube"} <= set(keys)
    assert bytes_["platforms"] == ", ".join(platform_name(k, "en") for k in keys)  # display names, not keys
    assert "TikTok" in bytes_["platforms"] and "YouTube" in bytes_["platforms"]
    assert any(r["category"] != e["category"] for r, e in zip(zh, en))  # categories are translated
    unknown = next(r for r in en if r["impressions"] is None)
    assert unknown["impressions_text"] == "—"  # unknown is a dash, never 0


def test_reach_is_shown_as_the_range_from_the_largest_post_to_the_sum_and_sorted_by_the_sum():
    board = pd.DataFrame([{c: np.nan for c in leaderboard.LEADERBOARD_COLUMNS} | dict(
        influencer="A", category="media", platforms="instagram, x", reach_max_post=7484.0, reach_sum=20162.0)])
    row = P.grid_rows(board, "en")[0]
    assert row["reach_range_text"] == "7,484 – 20,162" and row["reach_range"] == 20162.0
    assert row["platforms"] == "Instagram, X"
    board.loc[0, "platforms"] = "bilibili, douyin, x"
    assert P.grid_rows(board, "zh")[0]["platforms"] == "哔哩哔哩、抖音、X"  # a Chinese list, as the weekly report's


def test_the_grid_columns_follow_the_leaderboard_and_never_render_html():
    defs = P.column_defs("en")
    fields = [d["field"] for d in defs]
    assert fields == [c for c in leaderboard.LEADERBOARD_COLUMNS if c not in ("emv_formula", "reach_max_post", "reach_sum")] \
        + ["reach_range"]
    assert [d["headerName"] for d in defs][-1] == "Reach (not deduplicated)"
    text = repr(defs)
    assert "cellRenderer" not in text and "dangerously" not in text.lower() and "innerHTML" not in text
    for d in defs[3:]:
        assert d["filter"] == "agNumberColumnFilter"
        assert d["valueFormatter"]["function"] == f"params.data ? params.data.{d['field']}_text : ''"
    assert P.column_defs("zh")[0]["headerName"] == "达人"


def test_a_selected_row_gives_its_influencer_and_anything_else_gives_none():
    assert P.focus_from_rows([{"influencer": "Kofi Asantewaa-Boadu", "views": 1}]) == "Kofi Asantewaa-Boadu"
    for rows in (None, [], [{}], [{"influencer": ""}], {"ids": ["x"]}, ["x"]):
        assert P.focus_from_rows(rows) is None


def test_the_download_links_carry_the_pages_filters():
    f = F.parse("?from=2025-01-01&to=2025-01-07&platform=x,tiktok&lang=zh")
    links = P.download_hrefs(f)
    assert links["csv"] == "/download/influencers.csv" + F.to_query(f)
    assert links["tidy"].startswith("/download/daily.csv?") and "by=influencer,platform" in links["tidy"]
    assert "platform=x%2Ctiktok" in links["tidy"] and "from=2025-01-01" in links["tidy"]
    assert P.download_hrefs(F.parse(""))["tidy"] == "/download/daily.csv?by=influencer,platform"


# --- one influencer ------------------------------------------------------------------------------

def test_an_influencers_series_adds_up_to_their_leaderboard_row_per_platform(demo, board):
    eng, frames = demo
    name = board.iloc[0]["influencer"]
    s = leaderboard.focus_series(eng, CAMPAIGN, F.parse(""), name)
    per_platform = s.groupby("platform")["value"].sum()
    inc = metrics.increments(frames.snapshots, frames.post_days, CAMPAIGN)
    sel = metrics.Selection(start=CAMPAIGN.start, end=CAMPAIGN.end, influencers=(name,))
    agg = metrics.aggregate(inc, frames.posts, CAMPAIGN, by=["platform"], sel=sel).set_index("platform")["views"]
    pd.testing.assert_series_equal(per_platform.sort_index(), agg.dropna().sort_index().astype("float64"),
                                   check_names=False, rtol=1e-9)
    assert s["day"].min() >= pd.Timestamp(CAMPAIGN.start) and s["day"].max() <= pd.Timestamp(CAMPAIGN.end)
    cum = leaderboard.focus_series(eng, CAMPAIGN, F.parse("?view=cumulative&metric=engagements"), name)
    daily = leaderboard.focus_series(eng, CAMPAIGN, F.parse("?metric=engagements"), name)
    last = cum.groupby("platform")["value"].last()
    assert last.to_dict() == pytest.approx(daily.groupby("platform")["value"].sum().to_dict())


def test_an_influencers_posts_are_theirs_published_in_the_view_most_viewed_first(demo, board):
    eng, _ = demo
    name = board.iloc[0]["influencer"]
    posts = leaderboard.focus_posts(exports.posts_frame(eng), CAMPAIGN, F.parse("?from=2025-01-01&to=2025-01-14"), name)
    assert len(posts) > 0 and set(posts["influencer"]) == {name}
    local = posts["published_at"].dt.tz_convert(CAMPAIGN.tz).dt.date
    assert local.min() >= date(2025, 1, 1) and local.max() <= date(2025, 1, 14)
    views = posts["views"].astype("float64").fillna(posts["impressions"].astype("float64"))
    known = views.dropna()
    assert len(known) and list(known) == sorted(known, reverse=True)
    assert views.isna().to_numpy()[len(known):].all()  # posts with neither count come last
    expect = posts[["likes", "comments", "shares", "saves"]].astype("float64").sum(axis=1, min_count=1)
    assert posts["engagements"].astype("float64").tolist() == pytest.approx(expect.tolist())


def test_an_unassigned_accounts_posts_are_found_under_its_leaderboard_name(demo, board):
    eng, _ = demo
    lone = [n for n in board["influencer"] if n.endswith(" (unassigned)")]
    assert lone  # the stray account of ``demo_stray_db``
    posts = leaderboard.focus_posts(exports.posts_frame(eng), CAMPAIGN, F.parse(""), lone[0])
    assert len(posts) == board.set_index("influencer").loc[lone[0], "posts_published"]


def test_an_influencers_anomalies_are_theirs_in_the_view_without_the_trailing_hampel_flags(board, flags):
    kept = flags[(flags["detector"] != "hampel") & (flags["day"] >= pd.Timestamp("2025-01-01"))]
    kept = kept[kept["influencer"].isin(flags.loc[flags["detector"] == "hampel", "influencer"])]
    name = kept["influencer"].value_counts().index[0]
    assert (flags["influencer"] != name).any() and (flags[flags["influencer"] == name]["detector"] == "hampel").any()
    f = F.parse("?from=2025-01-01&to=2025-01-26")
    mine = leaderboard.focus_anomalies(flags, f, CAMPAIGN, name)
    assert len(mine) and set(mine["influencer"]) == {name}
    assert "hampel" not in set(mine["detector"])
    assert mine["day"].min() >= pd.Timestamp("2025-01-01")
    assert list(mine["day"]) == sorted(mine["day"], reverse=True)
    expected = flags[(flags["influencer"] == name) & (flags["detector"] != "hampel")
                     & (flags["day"] >= pd.Timestamp("2025-01-01")) & (flags["day"] <= pd.Timestamp("2025-01-26"))]
    assert len(mine) == len(expected)


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    # None and NaN both mean "not known": compare what the frames say, not how pandas stores it.
    return df.astype(object).where(df.notna(), None).reset_index(drop=True)


def test_the_accounts_behind_a_name_are_the_influencers_or_the_one_unassigned_account(demo):
    eng, frames = demo
    acc = frames.accounts
    for name in ("Belt & Road Bytes", *[n for n in acc["influencer"] if n.endswith(" (unassigned)")][:1]):
        expected = sorted(acc.loc[acc["influencer"] == name, "account_pk"])
        assert expected and leaderboard.accounts_of(eng, name) == expected, name
    assert len(leaderboard.accounts_of(eng, "Belt & Road Bytes")) >= 3  # one per platform: TikTok, X, YouTube, ...


def test_one_influencers_flags_from_their_accounts_alone_equal_the_whole_campaigns_filtered_to_them(
        demo, board, flags, monkeypatch):
    """The panel's speed rests on this: every detector works within one influencer's series,
    accounts or posts, so scanning their accounts alone flags exactly what the whole scan does;
    and so do the flags the last refresh stored for the whole campaign, read for them alone."""
    eng, frames = demo
    whole_posts = exports.posts_frame(eng)
    lone = whole_posts["influencer"].isna()
    whole_posts.loc[lone, "influencer"] = whole_posts.loc[lone, "account"] + " (unassigned)"
    not_hampel = flags[flags["detector"] != "hampel"]
    names = {not_hampel["influencer"].value_counts().index[0],  # the most flagged
             flags.loc[flags["metric"] == "followers_gained", "influencer"].iloc[0],  # an account-level flag
             next(n for n in board["influencer"] if n.endswith(" (unassigned)")),
             next(n for n in board["influencer"] if n not in set(flags["influencer"]))}  # none at all
    reads = []
    real = queries.anomaly_inputs.series_inputs
    monkeypatch.setattr(queries.anomaly_inputs, "series_inputs", lambda e, c, o, accounts=None: reads.append(accounts) or
                        real(e, c, o, accounts))
    # From the rollup (the engine's rows per account and day), never every observation of the accounts.
    monkeypatch.setattr(queries.frames, "load_frames", lambda *a, **k: pytest.fail("the engine's frames read"))
    for stored in (True, False):
        if not stored:  # none stored for this data (another campaign.toml, a roster since): scanned
            monkeypatch.setattr(flag_store, "influencer_flags", lambda *a, **k: None)
        for name in names:
            posts, mine = leaderboard.focus_data(eng, CAMPAIGN, name)
            expected = flags[flags["influencer"] == name]
            pd.testing.assert_frame_equal(_canonical(mine), _canonical(expected), check_dtype=False, obj=name)
            expected_posts = whole_posts[whole_posts["influencer"] == name]
            assert len(posts) == len(expected_posts) > 0, name
            got = posts.assign(influencer=posts["influencer"].fillna(posts["account"] + " (unassigned)"))
            pd.testing.assert_frame_equal(_canonical(got), _canonical(expected_posts), check_dtype=False, obj=name)
        if stored:
            assert reads == []  # read from the stored flags: no series read, no scan
    assert len(reads) == len(names) and all(r == leaderboard.accounts_of(eng, n) for r, n in zip(reads, names))
    assert any(len(flags[flags["influencer"] == n]) for n in names)  # the comparison compared flags
    assert any((flags.loc[flags["influencer"].isin(names), "detector"] == "hampel"))  # Hampel's too


def test_the_panel_computes_its_own_flags_when_none_are_given_and_they_are_the_influencers(demo, flags):
    eng, _ = demo
    name = flags.loc[flags["detector"] == "robust_z", "influencer"].value_counts().index[0]
    f = F.parse("?from=2024-12-01&to=2025-01-31")
    panel = html.Div(P.focus_panel(eng, CAMPAIGN, f, name))
    shown = next(c for c in _walk(panel) if getattr(c, "id", None) == "inf-anomalies")
    expected = leaderboard.focus_anomalies(flags, f, CAMPAIGN, name)
    assert len(expected) and len(shown.children) == min(len(expected), P.ANOMALIES_SHOWN) + (
        len(expected) > P.ANOMALIES_SHOWN)
    assert shown.children[0].children[1] == expected.iloc[0]["reason"]


def test_only_http_links_are_links():
    assert safe_link("https://www.tiktok.com/@a/video/1") == "https://www.tiktok.com/@a/video/1"
    assert safe_link(" http://x.com/a/status/1 ") == "http://x.com/a/status/1"
    for bad in ("javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>", "/relative", "", None,
                "https://", float("nan")):
        assert safe_link(bad) is None, bad


def test_the_panel_shows_titles_and_names_as_text_and_links_only_to_web_addresses(demo, board, flags):
    eng, _ = demo
    name = board.iloc[0]["influencer"]
    posts = exports.posts_frame(eng)
    # Their most viewed post, so that it is among the rows the panel shows.
    mine = posts[posts["influencer"] == name]["views"].astype("float64").idxmax()
    posts = posts.copy()
    hostile = '<img src=x onerror="alert(1)">=HYPERLINK("evil")'
    posts.loc[mine, ["title", "url"]] = [hostile, "javascript:alert(1)"]
    f = F.parse("?from=2024-12-01&to=2025-01-31")
    panel = html.Div(P.focus_panel(eng, CAMPAIGN, f, name, posts=posts, flags=flags))
    parts = list(_walk(panel))
    assert any(getattr(c, "id", None) == "inf-chart" for c in parts)
    assert name in _texts(panel)
    cells = [c for c in parts if isinstance(c, html.Td) and getattr(c, "title", None) == hostile]
    assert cells and cells[0].children == hostile  # a string child: React renders it as text
    hrefs = [c.href for c in parts if isinstance(c, html.A)]
    assert hrefs and all(h.startswith(("https://", "http://", "/influencers?")) for h in hrefs)
    assert "javascript:alert(1)" not in repr(panel.to_plotly_json())
    chart = next(c for c in parts if getattr(c, "id", None) == "inf-chart")
    assert chart.figure["layout"]["title"]["text"] == f"{name}: Views by platform, per day"
    permalink = next(c for c in parts if getattr(c, "id", None) == "inf-permalink")
    assert F.parse(permalink.href.split("?", 1)[1]).start == date(2024, 12, 1)
    assert re.search(r"[?&]focus=", permalink.href)


def test_no_selection_invites_a_click_and_an_unknown_name_says_so(demo):
    eng, _ = demo
    pick = P.focus_panel(eng, CAMPAIGN, F.parse("?lang=zh"), None)
    assert _texts(html.Div(pick)) == ["点击一行，查看该达人的每日数据、帖子和异常。"]
    unknown = P.focus_panel(eng, CAMPAIGN, F.parse(""), "Nobody At All")
    assert _texts(html.Div(unknown)) == ["Nobody At All has no data for these filters"]
    assert leaderboard.accounts_of(eng, "Nobody At All") == []


# --- in the browser ------------------------------------------------------------------------------

@pytest.mark.browser
def test_the_demo_leaderboard_loads_and_a_click_on_a_row_shows_that_influencers_chart(demo_db, board):
    require_chromium()
    with reach_server(f"sqlite:///{demo_db}") as url, chromium(1400, 1800) as driver:
        driver.get(url + "influencers")
        rows = wait_for(driver, "#inf-grid .ag-center-cols-container .ag-row")
        wait_for(driver, "#inf-pick")
        screenshot(driver, "influencers-demo")
        assert len(rows) >= 10
        first = driver.find_element("css selector", "#inf-grid .ag-pinned-left-cols-container .ag-row[row-index='0']")
        assert first.text == board.iloc[0]["influencer"]  # most views first, as in the download
        grid_text = driver.find_element("css selector", "#inf-grid").text
        assert "Reach (not deduplicated)" in grid_text and f"{round(float(board.iloc[0]['views'])):,}" in grid_text
        second = driver.find_element("css selector", "#inf-grid .ag-pinned-left-cols-container .ag-row[row-index='1']")
        name = second.text
        second.click()
        wait_for(driver, "#inf-focus-name", text=name)
        wait_for(driver, "#inf-chart .main-svg")
        traces = driver.execute_script(
            "return document.querySelector('#inf-chart .js-plotly-plot')._fullData.map(t => t.y.length)")
        assert traces and all(n > 0 for n in traces)
        assert name in driver.find_element("css selector", "#inf-chart").text
        assert driver.find_elements("css selector", "#inf-posts tbody tr")
        driver.execute_script("document.querySelector('#inf-chart').scrollIntoView()")
        time.sleep(0.5)
        screenshot(driver, "influencers-demo-focus")
        href = driver.find_element("css selector", "#inf-download-csv").get_attribute("href")
        assert href.endswith("/download/influencers.csv")
        assert console_errors(driver) == []
        # ?focus= opens the page with that influencer selected, here in Chinese
        driver.get(driver.find_element("css selector", "#inf-permalink").get_attribute("href") + "&lang=zh")
        wait_for(driver, "#inf-chart .main-svg")
        assert driver.find_element("css selector", "#inf-focus-name").text == name
        assert "达人" in driver.find_element("css selector", "#inf-grid").text
        wait_for(driver, "#inf-grid .ag-row-selected", text=name)
        screenshot(driver, "influencers-demo-zh")
        assert console_errors(driver) == []
        assert requested_hosts(driver) <= {"127.0.0.1"}

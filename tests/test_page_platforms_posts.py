"""The Platforms and Posts pages: their numbers against the metrics engine, their URL, their safety.

Pure functions run on a copy of the demo campaign; the browser tests load both pages in a real
headless Chromium from a real `reach serve`."""
from __future__ import annotations

import csv
import io
import sqlite3
import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from collectors.pipeline import Importer
from collectors.store import database
from conftest import ROOT
from dashboard.analysis import exports, listing, metrics, platform_totals, queries
from dashboard.analysis.config import load
from dashboard.web import figures
from dashboard.web import filters as F
from dashboard.web.pages import platforms, posts
from test_store import CONTENT_HEADER

COMPARED = ["views", "impressions", "engagements", "er_views", "er_impressions", "virality_views", "emv_usd"]
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def demo(demo_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("platforms-posts") / "reach.db"
    # Rollup queries may refresh the rollup: the shared demo stays untouched. SQLite's backup, not a
    # file copy: a file copy misses what is still in the demo's write-ahead log.
    with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    engine = database.connect(f"sqlite:///{db}")
    campaign = load(ROOT / "campaign.toml")
    frames = queries.frames.load_frames(engine)
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    yield engine, campaign, frames, inc
    engine.dispose()


def x_titled(rows: list[tuple[str, str, str]]) -> bytes:
    """An X Premium content export: (post id, text, link) per post, 1,000 impressions each."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CONTENT_HEADER)
    for pid, text, link in rows:
        w.writerow([pid, "Sun, Dec 22, 2024", text, link, 1000, 20, 23, 1, 0, 0, 2, 1, 4, 5, 6, 0, 0])
    return buf.getvalue().encode()


@pytest.fixture
def script_db(sqlite_url):
    engine = database.connect(sqlite_url)
    Importer(engine, None).import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv", x_titled([
        ("1870000000000000001", f"Hello {SCRIPT} <b>bold</b>", "https://x.com/jinhub_yiwu/status/1870000000000000001"),
        ("1870000000000000002", "A quiet post about Yiwu", "javascript:alert(2)"),
    ]))
    engine.dispose()
    return sqlite_url


def texts(component) -> str:
    """All text in a Dash component tree, as a person would read it."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(texts(c) for c in component)
    return texts(getattr(component, "children", None))


def by_platform(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index("platform").sort_index()


# --- Platforms ------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["", "?platform=x,instagram,youtube&from=2024-12-20&to=2025-01-05",
                                   "?category=merchant,journalist"])
def test_platform_totals_equal_the_engine_aggregate_by_platform_and_in_all(demo, query):
    engine, campaign, frames, inc = demo
    sel = F.view_selection(F.parse(query), campaign)
    tot = platform_totals.totals(engine, campaign, sel, frames)
    want = metrics.aggregate(inc, frames.posts, campaign, by=["platform"], sel=sel)
    got = by_platform(tot[tot["platform"] != platform_totals.ALL])
    want = by_platform(want)
    assert list(got.index) == list(want.index) and len(got) > 0
    every = tot[tot["platform"] == platform_totals.ALL].iloc[0]
    want_all = metrics.aggregate(inc, frames.posts, campaign, by=[], sel=sel).iloc[0]
    for c in COMPARED:
        x, y = got[c].to_numpy(dtype=float), want[c].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), c
        assert np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-9), c
        assert np.isclose(float(every[c]), float(want_all[c]), rtol=1e-9, equal_nan=True), c


def test_without_dates_the_platforms_page_covers_the_campaign_window(demo):
    _, campaign, _, _ = demo
    sel = F.view_selection(F.parse("?platform=x"), campaign)
    assert (sel.start, sel.end, sel.platforms) == (campaign.start, campaign.end, ("x",))


def test_posts_published_and_active_influencers_agree_with_the_posts_page(demo):
    engine, campaign, frames, _ = demo
    sel = F.view_selection(F.parse("?from=2025-01-01&to=2025-01-12"), campaign)
    tot = by_platform(platform_totals.totals(engine, campaign, sel, frames))
    listed = listing.post_table(exports.posts_frame(engine), campaign, sel, listing._categories(engine))
    assert tot.loc[platform_totals.ALL, "posts"] == len(listed) > 0
    per = listed.groupby("platform").agg(n=("post_id", "size"), people=("influencer", "nunique"))
    for p, r in per.iterrows():
        assert (tot.loc[p, "posts"], tot.loc[p, "active_influencers"]) == (r.n, r.people)
    # active influencers are people, not a sum over platforms (several post on more than one)
    assert tot.loc[platform_totals.ALL, "active_influencers"] == listed["influencer"].nunique()
    assert tot.loc[platform_totals.ALL, "active_influencers"] < per["people"].sum()


def test_reach_runs_from_the_largest_post_to_the_sum_over_posts(demo):
    engine, campaign, frames, _ = demo
    sel = metrics.Selection(start=campaign.start)  # no end: the posts' latest snapshots, as in the posts export
    tot = by_platform(platform_totals.totals(engine, campaign, sel, frames))
    listed = listing.post_table(exports.posts_frame(engine), campaign, sel)
    reach = listed.assign(reach=pd.to_numeric(listed["reach"]).astype(float)).groupby("platform")["reach"]
    assert tot.loc["instagram", "reach_max_post"] == reach.max()["instagram"]
    assert tot.loc["instagram", "reach_sum"] == reach.sum()["instagram"]
    table = texts(platforms.table(platform_totals.totals(engine, campaign, sel, frames), "en"))
    assert "Reach (not deduplicated)" in table
    assert f"{reach.max()['instagram']:,.0f} – {reach.sum()['instagram']:,.0f}" in table


@pytest.mark.parametrize("metric", ["views", "likes", "emv_usd"])
def test_weekly_shares_add_up_to_100_percent_in_every_week(demo, metric):
    engine, campaign, _, _ = demo
    sel = F.view_selection(F.parse("?from=2024-12-18&to=2025-01-26"), campaign)
    mix = platform_totals.weekly_mix(engine, campaign, sel, metric)
    assert mix["week"].nunique() == 6
    assert np.allclose(mix.groupby("week")["share"].sum(), 100.0)
    assert (mix["share"] >= 0).all()
    assert mix.loc[mix["week"] == "2024-W51", "days"].unique().tolist() == [5]  # 18–22 Dec: a partial week


def test_the_views_mix_counts_and_labels_impressions_for_platforms_without_views(demo):
    engine, campaign, _, _ = demo
    sel = F.view_selection(F.parse(""), campaign)
    mix = platform_totals.weekly_mix(engine, campaign, sel, "views")
    basis = mix.groupby("platform")["basis"].first()
    assert basis["x"] == basis["linkedin"] == "impressions" and basis["youtube"] == "views"
    fig = figures.mix_figure(mix, "views", "en")
    names = {tr.name: tr for tr in fig.data}
    assert {"X (impressions)", "LinkedIn (impressions)", "YouTube"} <= set(names)
    assert names["X (impressions)"].marker.pattern.shape == "/" and not names["YouTube"].marker.pattern.shape
    assert fig.layout.barmode == "stack"
    # Weibo reports neither views nor impressions: no share of volume, and not labelled "impressions"
    assert "weibo" not in set(mix["platform"]) and not any("Weibo" in n for n in names)
    table = platform_totals.totals(engine, campaign, sel).set_index("platform")
    assert pd.isna(table.loc["weibo", "basis"]) and table.loc["x", "basis"] == "impressions"


def test_every_chart_draws_each_platform_in_its_fixed_colour(demo):
    engine, campaign, frames, _ = demo
    sel = F.view_selection(F.parse(""), campaign)
    mix = platform_totals.weekly_mix(engine, campaign, sel, "views")
    for tr, (p, _) in zip(figures.mix_figure(mix, "views", "en").data, mix.groupby("platform", sort=True)):
        assert tr.marker.color == figures.PLATFORM_COLOURS[p]
    tot = platform_totals.totals(engine, campaign, sel, frames)
    want = [figures.PLATFORM_COLOURS[p] for p in tot["platform"] if p != platform_totals.ALL][::-1]
    for tr in platforms.compare_figure(tot, "en").data:
        assert list(tr.marker.color) == want


def test_the_table_says_not_reported_rather_than_zero_for_views_of_x(demo):
    engine, campaign, frames, _ = demo
    tot = platform_totals.totals(engine, campaign, F.view_selection(F.parse("?platform=x"), campaign), frames)
    text = texts(platforms.table(tot, "en"))
    assert "not reported" in text and "Counted as" in text and "Impressions" in text
    zh = texts(platforms.table(tot, "zh"))
    assert "未提供" in zh and "展示次数" in zh


def test_a_period_without_data_says_so_instead_of_drawing_empty_charts(demo):
    engine, campaign, _, _ = demo
    out = platforms.content(engine, campaign, F.parse("?from=2030-01-01&to=2030-01-31"))
    assert len(out) == 1 and out[0].id == "platforms-empty"


# --- Posts ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def listed(demo):
    engine, campaign, _, _ = demo
    sel = F.view_selection(F.parse(""), campaign)
    return listing.post_table(exports.posts_frame(engine), campaign, sel, listing._categories(engine))


def test_search_finds_a_post_by_a_word_of_its_title_in_any_case(listed):
    post = listed.iloc[len(listed) // 2]
    word = max(post["title"].split(), key=len).strip("#,.!:“”")
    found = listing.search(listed, word.upper())
    assert post["post_id"] in set(found["post_id"])
    assert 0 < len(found) < len(listed)
    hay = found[list(listing.SEARCHED)].fillna("").astype(str).agg(" ".join, axis=1).str.casefold()
    assert hay.str.contains(word.casefold(), regex=False).all()


def test_every_word_of_a_search_must_match_and_pattern_characters_are_plain_text(listed):
    a, b = listing.search(listed, "yiwu"), listing.search(listed, "yiwu market")
    assert 0 < len(b) < len(a)
    assert len(listing.search(listed, ".*")) == 0 and len(listing.search(listed, "[a-z]+")) == 0


def test_q_round_trips_through_the_url_with_the_other_filters(listed):
    search = posts.with_search("?platform=x&lang=zh&from=2024-12-20", "  义乌   market & <b> ")
    assert posts.search_text(search) == "义乌 market & <b>"
    f = F.parse(search)
    assert (f.platforms, f.lang, f.start) == (("x",), "zh", date(2024, 12, 20))
    assert posts.with_search(search, "") == "?from=2024-12-20&platform=x&lang=zh"
    assert posts.with_search("", "Yiwu") == "?q=Yiwu"
    # what layout(**query) receives from Dash is the same query string again
    from urllib.parse import parse_qs, urlencode

    again = "?" + urlencode(parse_qs(search.lstrip("?")), doseq=True)
    assert posts.search_text(again) == "义乌 market & <b>"


def test_the_search_box_writes_q_to_the_url_and_an_unchanged_search_writes_nothing():
    assert posts.search_to_url("yiwu", "?platform=x") == "?platform=x&q=yiwu"
    with pytest.raises(PreventUpdate):
        posts.search_to_url("yiwu", "?platform=x&q=yiwu")
    assert posts.search_to_url("", "?platform=x&q=yiwu") == "?platform=x"


def test_the_default_order_is_views_with_impressions_standing_in_largest_first(listed):
    basis = listed["views"].where(listed["views"].notna(), listed["impressions"]).to_numpy()
    assert (np.diff(basis[~np.isnan(basis)]) <= 0).all()
    assert {"x", "linkedin"} <= set(listed["platform"].iloc[:len(basis[~np.isnan(basis)])])  # ranked, not left out


def test_a_column_sort_orders_every_matching_post_not_only_the_rows_sent(demo, listed):
    _, campaign, _, _ = demo
    ask = {"startRow": 0, "endRow": 5, "sortModel": [{"colId": "er_views", "sort": "desc"}]}
    page = posts.page_of(listed, ask, "en", campaign.tz)
    assert page["rowCount"] == len(listed) and len(page["rowData"]) == 5
    best = listed["er_views"].max()
    assert page["rowData"][0]["er_views"] == f"{best * 100:.2f}%"
    s = listing.sort_posts(listed, [{"colId": "published_at", "sort": "asc"}])
    assert s["published_at"].is_monotonic_increasing
    s = listing.sort_posts(listed, [{"colId": "impressions", "sort": "asc"}])
    known = s["impressions"].dropna()
    assert known.is_monotonic_increasing and s["impressions"].iloc[-1] != s["impressions"].iloc[-1]  # NaN last
    assert listing.sort_posts(listed, [{"colId": "url", "sort": "asc"}]).equals(listed)  # links do not sort


def test_per_post_er_divides_engagements_by_that_posts_own_views_or_impressions(listed):
    x = listed[listed["platform"] == "x"].iloc[0]
    assert np.isnan(x["er_views"]) and x["er_impressions"] == pytest.approx(x["engagements"] / x["impressions"])
    ig = listed[listed["platform"] == "instagram"].iloc[0]
    assert ig["er_views"] == pytest.approx(ig["engagements"] / ig["views"])


def test_published_times_are_shown_in_the_campaign_timezone(demo, listed):
    _, campaign, _, _ = demo
    row = listed.iloc[0]
    shown = posts.grid_rows(listed.head(1), "en", campaign.tz)[0]["published_at"]
    local = row["published_at"].tz_convert(campaign.tz)
    assert shown.endswith(f"{local:%H:%M}") and str(local.day) in shown
    assert local.utcoffset().total_seconds() == 8 * 3600  # Asia/Shanghai, not UTC


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<b>x</b>",
                                 "/relative/path", "https:///nohost", "http://[::1", "", None, float("nan")])
def test_only_http_urls_become_links(url):
    assert posts.link_markdown(url, "en") == "—"  # what a missing value shows in every other cell


def test_an_http_link_cannot_break_out_of_its_markdown_target():
    md = posts.link_markdown("https://x.com/a/status/1?next=(x) [y]", "en")
    assert md.startswith("[Open ↗](https://x.com/a/status/1?next=") and md.endswith(")")
    assert md.count("(") == 1 and md.count(")") == 1 and " " not in md.split("](")[1]


def test_a_script_in_a_post_title_is_kept_as_text_for_the_grid_which_renders_no_html(script_db):
    engine = database.connect(script_db)
    campaign = load(ROOT / "campaign.toml")
    table = listing.post_table(exports.posts_frame(engine), campaign, metrics.Selection())
    rows = {r["title"]: r for r in posts.grid_rows(table, "en", campaign.tz)}
    title = f"Hello {SCRIPT} <b>bold</b>"
    assert title in rows  # unchanged: neither escaped twice nor stripped
    assert rows[title]["url"].startswith("[Open ↗](https://x.com/")
    assert rows["A quiet post about Yiwu"]["url"] == "—"  # a javascript: URL is not a link
    defs = {d["field"]: d for d in posts.column_defs("en", campaign.tz)}
    assert "cellRenderer" not in defs["title"] and "cellRenderer" not in defs["influencer"]
    assert [f for f, d in defs.items() if "cellRenderer" in d] == ["url"]
    engine.dispose()


def test_unassigned_accounts_are_found_by_the_name_and_category_the_filter_bar_offers(script_db):
    engine = database.connect(script_db)
    campaign = load(ROOT / "campaign.toml")
    one = metrics.Selection(influencers=("jinhub_yiwu (unassigned)",), categories=("unassigned",))
    table = listing.post_table(exports.posts_frame(engine), campaign, one, listing._categories(engine))
    assert table["post_id"].tolist() == ["1870000000000000001"]
    every = metrics.Selection(categories=("unassigned",))
    assert len(listing.post_table(exports.posts_frame(engine), campaign, every, listing._categories(engine))) == 2
    assert len(listing.post_table(exports.posts_frame(engine), campaign, metrics.Selection(categories=("media",)))) == 0
    engine.dispose()


# --- in a browser ---------------------------------------------------------------------------------

def _wait(driver, css, timeout=30, text=None):
    from test_browser import wait_for

    return wait_for(driver, css, timeout, text)


def _loaded_titles(driver, timeout=30) -> list[str]:
    """The titles in the grid once its first block of rows has arrived (rows show empty until then)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        titles = driver.execute_script(
            "return Array.from(document.querySelectorAll(\"#posts-grid .ag-row [col-id='title']\"))"
            ".map(c => c.textContent).filter(t => t)")
        if titles:
            return titles
        time.sleep(0.2)
    return []


@pytest.mark.browser
def test_the_demo_platforms_and_posts_pages_load_with_no_console_errors(demo_db):
    from browser import chromium, console_errors, reach_server, require_chromium, screenshot

    require_chromium()
    with reach_server(f"sqlite:///{demo_db}") as url, chromium(1400, 1800) as driver:
        driver.get(url + "platforms")
        _wait(driver, "#platforms-mix .main-svg")
        _wait(driver, "#platforms-compare .main-svg")
        time.sleep(1)
        screenshot(driver, "platforms-demo")
        table = driver.find_element("css selector", "#platforms-table").text
        assert "All platforms" in table and "not reported" in table and "Reach (not deduplicated)" in table
        assert "X (impressions)" in driver.find_element("css selector", "#platforms-mix").text
        assert driver.find_element("css selector", "#nav-platforms").get_attribute("class").endswith("active")
        assert console_errors(driver) == []

        driver.get(url + "posts")
        assert _loaded_titles(driver)
        screenshot(driver, "posts-demo")
        assert "posts published in this period" in driver.find_element("css selector", "#posts-count").text
        box = driver.find_element("css selector", "#posts-q")
        box.send_keys("TRADE city\n")
        deadline = time.time() + 20
        while "q=TRADE+city" not in driver.current_url and time.time() < deadline:
            time.sleep(0.2)
        assert "q=TRADE+city" in driver.current_url
        _wait(driver, "#posts-count", text="match")
        _wait(driver, "#posts-grid .ag-row .ag-cell")
        link = driver.current_url
        driver.get("about:blank")
        driver.get(link)  # the search from the link alone
        count = _wait(driver, "#posts-count", text="match")[0].text
        assert "“TRADE city”" in count and not count.startswith("0 ")
        assert driver.find_element("css selector", "#posts-q").get_attribute("value") == "TRADE city"
        titles = _loaded_titles(driver)
        assert titles and all("trade city" in c.lower() for c in titles)
        screenshot(driver, "posts-demo-search")
        assert console_errors(driver) == []


@pytest.mark.browser
def test_a_script_in_a_post_title_shows_as_text_and_never_runs(script_db):
    from browser import chromium, console_errors, reach_server, require_chromium, screenshot

    require_chromium()
    with reach_server(script_db) as url, chromium() as driver:
        driver.get(url + "posts")
        cells = _wait(driver, "#posts-grid .ag-row [col-id='title']", text=SCRIPT)
        screenshot(driver, "posts-script-title")
        assert any(f"Hello {SCRIPT} <b>bold</b>" == c.text for c in cells)
        assert driver.execute_script("return document.querySelectorAll('#posts-grid script, #posts-grid b').length") == 0
        links = driver.execute_script(
            "return Array.from(document.querySelectorAll('#posts-grid a')).map(a => a.getAttribute('href'))")
        assert links == ["https://x.com/jinhub_yiwu/status/1870000000000000001"]
        from selenium.common.exceptions import NoAlertPresentException

        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text
        assert console_errors(driver) == []

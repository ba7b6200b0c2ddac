"""The dashboard in a real headless Chromium, served by a real `reach serve` process."""
from __future__ import annotations

import re
import time

import pytest

from browser import chromium, console_errors, reach_server, requested_hosts, require_chromium, screenshot, small_x_campaign, wait_for
from collectors.store import database

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    require_chromium()
    return small_x_campaign(f"sqlite:///{tmp_path_factory.mktemp('small-x') / 'reach.db'}")


@pytest.fixture(scope="module")
def small_url(small_db):
    """One server for the module's tests on the small campaign: they only read, and each starts
    its own browser (a server takes seconds to start; 6 of them were a fifth of this file's time)."""
    with reach_server(small_db) as url:
        yield url


def test_the_live_page_shows_kpis_and_the_chart_with_events_and_no_console_errors(small_url):
    url = small_url
    with chromium() as driver:
        driver.get(url + "?metric=impressions")
        wait_for(driver, "#live-chart .main-svg")
        screenshot(driver, "live-small")
        kpis = driver.find_element("css selector", "#live-kpis").text
        assert "Engagements" in kpis and "Posts published" in kpis
        chart = driver.find_element("css selector", "#live-chart")
        assert "Launch ceremony, Yiwu" in chart.text  # campaign.toml events on the time axis
        ys = driver.execute_script("return Array.from(document.querySelector('#live-chart .js-plotly-plot')._fullData[0].y)")
        assert sum(ys) == 2900  # daily impressions add up to the posts' latest lifetime values
        # when the page last got data, as a clock time in the campaign timezone
        assert re.fullmatch(r"Last updated \d\d:\d\d", driver.find_element("css selector", "#live-updated").text)
        assert console_errors(driver) == []
        assert requested_hosts(driver) <= {"127.0.0.1"}, requested_hosts(driver)


def test_a_control_change_goes_into_the_url_and_a_link_reproduces_the_view(small_url):
    url = small_url
    with chromium() as driver:
        driver.get(url + "?metric=impressions")
        wait_for(driver, "#live-chart .main-svg")
        driver.find_element("css selector", "#live-view input[value='cumulative']").click()
        deadline = time.time() + 20
        while "view=cumulative" not in driver.current_url and time.time() < deadline:
            time.sleep(0.2)
        assert "view=cumulative" in driver.current_url and "metric=impressions" in driver.current_url
        wait_for(driver, "#live-chart", text="by platform, cumulative")
        link = driver.current_url
        driver.get("about:blank")
        driver.get(link)  # the same view from the link alone
        wait_for(driver, "#live-chart", text="by platform, cumulative")
        wait_for(driver, "#live-view input[value='cumulative']")
        assert driver.execute_script("return document.querySelector(\"#live-view input[value='cumulative']\").checked")
        assert console_errors(driver) == []


def test_the_kiosk_url_has_no_controls_and_large_type(small_url):
    url = small_url
    with chromium() as driver:
        driver.get(url + "?kiosk=1")
        wait_for(driver, ".kiosk #live-kpis")
        screenshot(driver, "live-kiosk")
        assert driver.find_elements("css selector", ".filters") == []
        assert driver.find_elements("css selector", ".header") == []
        size = driver.execute_script("return getComputedStyle(document.querySelector('.kpi-value')).fontSize")
        assert float(size.rstrip("px")) >= 40


def test_an_empty_database_says_what_to_do(sqlite_url):
    require_chromium()
    database.connect(sqlite_url).dispose()
    with reach_server(sqlite_url) as url, chromium() as driver:
        driver.get(url)
        text = wait_for(driver, "#live-empty")[0].text
        screenshot(driver, "live-empty")
        assert "reach import" in text and "reach demo" in text
        assert console_errors(driver) == []


def test_the_demo_live_and_weekly_pages_load_small_and_clean(demo_db):
    require_chromium()
    with reach_server(f"sqlite:///{demo_db}") as url, chromium(1400, 1600) as driver:
        driver.get(url)
        wait_for(driver, "#live-chart .main-svg")
        screenshot(driver, "live-demo")
        # What the page's callbacks send: measured from the browser's resource timing.
        sent = driver.execute_script(
            "return performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component'))"
            ".reduce((a, e) => a + e.encodedBodySize, 0)")
        assert 0 < sent < 500_000, sent
        # The demo is measured against its own clock (reach_meta demo_clock): it reads live, not stale.
        fresh = driver.find_element("css selector", "#live-freshness").text
        assert "stale" not in fresh and "ago" in fresh, fresh
        assert console_errors(driver) == []
        driver.get(url + "weekly")
        wait_for(driver, "#weekly-report")
        time.sleep(1)
        screenshot(driver, "weekly-demo")
        driver.switch_to.frame(driver.find_element("css selector", "#weekly-report"))
        assert "Weekly summary 2025-W04" in driver.find_element("css selector", "body").text
        driver.switch_to.default_content()
        assert console_errors(driver) == []
        assert requested_hosts(driver) <= {"127.0.0.1"}


def test_the_chinese_ui_translates_navigation_kpis_and_platform_names(small_url):
    url = small_url
    with chromium() as driver:
        driver.get(url + "?lang=zh&metric=impressions")
        wait_for(driver, "#live-chart .main-svg")
        screenshot(driver, "live-zh")
        assert driver.find_element("css selector", "#nav-live").text == "实时"
        assert "互动量" in driver.find_element("css selector", "#live-kpis").text
        assert "日期（活动时区）" in driver.find_element("css selector", "#live-chart").text
        # the language switch keeps the other filters
        href = driver.find_element("css selector", "#lang-switch").get_attribute("href")
        assert "metric=impressions" in href and "lang=zh" not in href
        assert console_errors(driver) == []


def test_a_metric_the_data_lacks_names_what_the_platform_reports_and_switches_to_it_in_one_click(small_url):
    url = small_url
    with chromium() as driver:
        driver.get(url + "?platform=x")  # views: X reports none, only impressions
        note = wait_for(driver, "#live-metric-note")[0]
        screenshot(driver, "live-x-views-en")
        assert note.text.startswith("X reports no Views, but reports Impressions.")
        assert driver.find_elements("css selector", "#live-chart") == []  # no empty frame
        driver.find_element("css selector", "#live-metric-note-switch").click()
        wait_for(driver, "#live-chart .main-svg")
        assert "metric=impressions" in driver.current_url and "platform=x" in driver.current_url
        assert driver.find_elements("css selector", "#live-metric-note") == []
        assert console_errors(driver) == []
        driver.get(url + "?platform=x&lang=zh")
        note = wait_for(driver, "#live-metric-note")[0]
        screenshot(driver, "live-x-views-zh")
        assert note.text.startswith("X不提供浏览量，但提供展示次数。") and "改看展示次数" in note.text
        assert console_errors(driver) == []


def _si(text: str) -> float:
    """A tick label as plotly writes it with ",~s" ("1.5k", "2M", "500", "−1") as a number."""
    text = text.replace("\u2212", "-").replace(",", "")
    scale = {"k": 1e3, "M": 1e6, "G": 1e9}.get(text[-1:], 1)
    return float(text[:-1] if scale != 1 else text) * scale


def test_a_one_day_range_shows_its_points_on_an_axis_from_zero_with_whole_number_ticks(small_url):
    url = small_url
    with chromium() as driver:
        driver.get(url + "?metric=impressions&from=2024-12-22&to=2024-12-22")
        wait_for(driver, "#live-chart .main-svg")
        time.sleep(0.5)
        screenshot(driver, "live-one-day")
        mode = driver.execute_script("return document.querySelector('#live-chart .js-plotly-plot')._fullData[0].mode")
        assert "markers" in mode  # one day is one point: visible only as a marker
        assert len(driver.find_elements("css selector", "#live-chart .point")) == 1
        ticks = [_si(e.text) for e in driver.find_elements("css selector", "#live-chart .ytick text")]
        assert ticks[0] == 0 and all(t >= 0 and t == int(t) for t in ticks), ticks  # not 43.7515k..43.753k
        days = [e.text for e in driver.find_elements("css selector", "#live-chart .xtick text")]
        assert len(days) == 1 and "Dec 22" in days[0], days  # one day, not hours around it
        assert console_errors(driver) == []

"""Kiosk cycling and Chinese dates in a real headless Chromium, served by a real `reach serve`."""
from __future__ import annotations

import time

import pytest

from browser import chromium, console_errors, reach_server, require_chromium, requested_hosts, screenshot, small_x_campaign, wait_for

pytestmark = pytest.mark.browser

UPDATES = ("return performance.getEntriesByType('resource')"
           ".filter(e => e.name.includes('_dash-update-component')).length")


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    require_chromium()
    return small_x_campaign(f"sqlite:///{tmp_path_factory.mktemp('kiosk') / 'reach.db'}")


@pytest.fixture(scope="module")
def server(small_db):
    with reach_server(small_db) as url:
        yield url


def _caption(driver) -> str:
    return driver.find_element("css selector", "#kiosk-caption").text


def test_the_kiosk_cycles_through_the_charts_in_the_browser_keeping_the_kpis(server):
    with chromium(1600, 1000) as driver:
        driver.get(server + "?kiosk=1&cycle=2&metric=impressions")
        wait_for(driver, "#kiosk-caption", text="/4")
        wait_for(driver, "#live-chart .main-svg")
        sent = driver.execute_script(UPDATES)
        # (caption, chart title) every quarter second: a 2-second cycle shows every chart within 10 s
        seen = []
        deadline = time.time() + 12
        while len({c for c, _ in seen}) < 4 and time.time() < deadline:
            seen.append((_caption(driver), driver.find_element("css selector", "#live-chart .gtitle").text))
            time.sleep(0.25)
        captions = {c for c, _ in seen}
        assert captions == {"Impressions by platform, per day · 1/4", "Impressions by platform, cumulative · 2/4",
                            "Platform mix: share of each ISO week's Impressions · 3/4",
                            "Top 10 influencers by Impressions · 4/4"}, seen
        # the chart on the screen is the one the caption names
        for caption in captions:
            assert any(title.startswith(caption.split(" · ")[0]) for c, title in seen if c == caption), seen
        screenshot(driver, "live-kiosk-cycle")
        # cycling asks the server for nothing: the charts are in the page
        assert driver.execute_script(UPDATES) == sent
        assert driver.find_element("css selector", "#live-kpis").is_displayed()
        assert driver.find_elements("css selector", ".filters") == []
        assert console_errors(driver) == []
        assert requested_hosts(driver) <= {"127.0.0.1"}, requested_hosts(driver)


def test_chinese_dates_on_the_time_axis_come_from_the_locally_served_plotly_locale(server):
    with chromium() as driver:
        driver.get(server + "?lang=zh&metric=impressions")
        wait_for(driver, "#live-chart .xtick text")
        ticks = [e.text for e in driver.find_elements("css selector", "#live-chart .xtick text")]
        screenshot(driver, "live-zh-dates")
        assert any("12月" in t for t in ticks), ticks
        assert not any("Dec" in t for t in ticks), ticks
        # the locale is registered and the graph uses it (the mode bar speaks Chinese too)
        assert driver.execute_script("return document.querySelector('#live-chart .js-plotly-plot')._context.locale") \
            == "zh-CN"
        titles = driver.execute_script("return Array.from(document.querySelectorAll('#live-chart .modebar-btn'))"
                                       ".map(b => b.getAttribute('data-title'))")
        assert "缩放" in titles, titles
        assert console_errors(driver) == []
        assert requested_hosts(driver) <= {"127.0.0.1"}, requested_hosts(driver)
        driver.get(server + "?metric=impressions")  # English stays English
        wait_for(driver, "#live-chart .xtick text")
        ticks = [e.text for e in driver.find_elements("css selector", "#live-chart .xtick text")]
        assert any("Dec" in t for t in ticks) and not any("月" in t for t in ticks), ticks

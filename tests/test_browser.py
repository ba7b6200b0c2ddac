"""The dashboard in a real headless Chromium, served by a real `reach serve` process."""
from __future__ import annotations

import time

import pytest

from browser import chromium, console_errors, reach_server, requested_hosts, require_chromium, screenshot
from collectors import store
from collectors.pipeline import Importer
from test_store import x_content, x_overview

pytestmark = pytest.mark.browser


def wait_for(driver, css, timeout=30):
    from selenium.webdriver.common.by import By

    deadline = time.time() + timeout
    while time.time() < deadline:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{css} did not appear; page text: {driver.find_element(By.TAG_NAME, 'body').text[:500]}")


def test_the_overview_page_lists_platforms_and_influencers_and_draws_the_chart(sqlite_url):
    require_chromium()
    engine = store.connect(sqlite_url)
    imp = Importer(engine, None)
    imp.import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv",
                     x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 800, 10)]))
    imp.import_bytes("account_analytics_content_2024-12-16_2024-12-24.csv",
                     x_content([("1870000000000000001", 2000, 40), ("1870000000000000002", 900, 12)]))
    engine.dispose()
    with reach_server(sqlite_url) as url, chromium() as driver:
        driver.get(url)
        wait_for(driver, "#reach-over-time .main-svg")
        platforms = driver.find_element("css selector", "#platforms").text
        influencers = driver.find_element("css selector", "#influencers").text
        screenshot(driver, "overview")
        assert "X" in platforms and "2" in platforms
        assert "jinhub_yiwu (unassigned)" in influencers
        assert console_errors(driver) == []
        assert requested_hosts(driver) <= {"127.0.0.1"}, requested_hosts(driver)
        # the line ends at the sum of both posts' latest values
        ys = driver.execute_script(
            "return Array.from(document.querySelector('#reach-over-time .js-plotly-plot')._fullData[0].y)")
        assert ys[-1] == 2900
        # the campaign's events (campaign.toml) are drawn on the time axis
        assert "Launch ceremony, Yiwu" in driver.find_element("css selector", "#reach-over-time").text


def test_an_empty_database_shows_what_to_do(sqlite_url):
    require_chromium()
    store.connect(sqlite_url).dispose()
    with reach_server(sqlite_url) as url, chromium() as driver:
        driver.get(url)
        text = wait_for(driver, ".empty")[0].text
        screenshot(driver, "overview-empty")
        assert "reach import" in text and "reach demo" in text
        assert console_errors(driver) == []

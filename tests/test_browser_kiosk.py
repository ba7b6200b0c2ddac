"""Kiosk cycling and Chinese dates in a real headless Chromium, served by a real `reach serve`."""
from __future__ import annotations

import re
import time

import pytest

from browser import (chromium, console_errors, reach_server, require_chromium, requested_hosts, screenshot, small_x_campaign,
                     viewport, wait_for)

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

# Which chart the graph shows: bars across (top influencers) or up (the mix), else a line that never
# falls (the running total) or one that does (per day: the small campaign's 2,000, 450, 450).
SHOWN = """
const t = document.querySelector('#live-chart .js-plotly-plot')._fullData[0];
if (t.type === 'bar') return t.orientation === 'h' ? 'top' : 'mix';
const ys = Array.from(t.y);
return ys.every((v, i) => i === 0 || v >= ys[i - 1]) ? 'cumulative' : 'daily';
"""


def _caption(driver) -> str:
    return driver.find_element("css selector", "#kiosk-caption").text


def test_the_kiosk_cycles_through_the_charts_in_the_browser_keeping_the_kpis(server):
    with chromium(1600, 1000) as driver:
        driver.get(server + "?kiosk=1&cycle=2&metric=impressions")
        wait_for(driver, "#kiosk-caption", text="/4")
        wait_for(driver, "#live-chart .main-svg")
        sent = driver.execute_script(UPDATES)
        # (caption, chart shown) every quarter second: a 2-second cycle shows every chart within 10 s
        seen = []
        deadline = time.time() + 12
        while len({c for c, _ in seen}) < 4 and time.time() < deadline:
            seen.append((_caption(driver), driver.execute_script(SHOWN)))
            time.sleep(0.25)
        captions = {c for c, _ in seen}
        assert captions == {"Impressions by platform, per day · 1/4", "Impressions by platform, cumulative · 2/4",
                            "Platform mix: share of each ISO week's Impressions · 3/4",
                            "Top 10 influencers by Impressions · 4/4"}, seen
        # the chart on the screen is the one the caption names (the figure has no title of its own)
        kinds = {"1/4": "daily", "2/4": "cumulative", "3/4": "mix", "4/4": "top"}
        for caption in captions:
            assert any(shown == kinds[caption[-3:]] for c, shown in seen if c == caption), (caption, sorted(set(seen)))
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


# What a 1920x1080 screen must show of every chart of the cycle: the page no taller than the screen,
# the freshness and anomaly boxes' bottoms on it, plotly's tick text at 20 px or more, one title per
# chart (the caption; the figure draws none), KPI numbers of 64 px or more, and when it last got data.
SCREEN = """
const chart = document.querySelector('#live-chart');
const px = e => parseFloat(getComputedStyle(e).fontSize);
const titles = [document.querySelector('#kiosk-caption')]
    .concat(Array.from(chart.querySelectorAll('.gtitle')))
    .filter(e => e && e.textContent.trim() !== '');
return {
  caption: document.querySelector('#kiosk-caption').textContent,
  scroll: document.scrollingElement.scrollHeight, height: innerHeight,
  fresh: document.querySelector('#live-freshness').closest('.panel').getBoundingClientRect().bottom,
  flags: document.querySelector('#live-anomalies').closest('.panel').getBoundingClientRect().bottom,
  chart: chart.getBoundingClientRect().bottom,
  ticks: Array.from(chart.querySelectorAll('.xtick text, .ytick text')).map(px),
  texts: Array.from(chart.querySelectorAll('text')).filter(e => e.textContent.trim()).map(px),
  titles: titles.map(e => e.textContent),
  kpi: Math.min(...Array.from(document.querySelectorAll('.kpi-value')).map(px)),
  updated: document.querySelector('#live-updated').textContent,
};
"""


@pytest.fixture(scope="module")
def demo_url(demo_db):
    require_chromium()
    with reach_server(f"sqlite:///{demo_db}") as url:
        yield url


@pytest.mark.parametrize("lang, updated", [("en", "Last updated "), ("zh", "最后更新 ")])
def test_the_kiosk_fits_a_1920x1080_screen_with_large_text_and_one_title_per_chart(demo_url, lang, updated):
    url = demo_url
    with chromium(1920, 1080) as driver:
        viewport(driver, 1920, 1080)
        driver.get(url + f"?kiosk=1&cycle=2&lang={lang}")  # the fastest cycle a screen allows (live.CYCLE_LIMITS)
        wait_for(driver, "#live-chart .main-svg")
        seen: dict[str, dict] = {}
        deadline = time.time() + 40
        while len(seen) < 4 and time.time() < deadline:
            caption = _caption(driver)
            if caption not in seen:
                time.sleep(0.6)  # the new chart drawn
                got = driver.execute_script(SCREEN)
                if got["caption"] != caption:
                    continue
                seen[caption] = got
                screenshot(driver, f"kiosk-1920-{lang}-{len(seen)}")
            time.sleep(0.2)
        assert len(seen) == 4, list(seen)
        for caption, got in seen.items():
            assert got["scroll"] <= got["height"] == 1080, (caption, got)
            assert max(got["fresh"], got["flags"], got["chart"]) <= got["height"], (caption, got)
            assert got["ticks"] and min(got["ticks"]) >= 20, (caption, got["ticks"])
            assert min(got["texts"]) >= 20, (caption, got["texts"])
            assert got["titles"] == [caption], (caption, got["titles"])
            assert got["kpi"] >= 64, got["kpi"]
            assert re.fullmatch(re.escape(updated) + r"\d\d:\d\d", got["updated"]), got["updated"]
        assert console_errors(driver) == []

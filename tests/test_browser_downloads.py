"""Download CSV in a real headless Chromium: the file the browser saves when a page's link is
clicked is what `reach export` (or `reach summary`) gives for the same filters and database.

One `reach serve` on the demo campaign and one browser serve every test here (the demo's pages take
seconds each); each test saves into its own download folder and leaves a screenshot in artifacts/.
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from browser import console_errors, demo_site, screenshot, wait_for
from conftest import ROOT
from dashboard.analysis.leaderboard import LEADERBOARD_COLUMNS
from dashboard.cli import main as reach
from test_downloads import kpis_as_printed, printed_kpis

pytestmark = pytest.mark.browser
CONFIG = str(ROOT / "campaign.toml")


@pytest.fixture(scope="module")
def site(demo_db, tmp_path_factory):
    with demo_site(demo_db, tmp_path_factory.mktemp("serve-cache"), CONFIG, 1400, 1200) as site:
        yield site


@pytest.fixture
def downloads(site, tmp_path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    # Chromium asks nothing and saves into this folder, under the server's Content-Disposition name.
    site[1].execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    return folder


def click_and_save(driver, css: str, folder: Path, timeout: float = 60) -> Path:
    """Click the link ``css`` and return the one file the browser saved for it."""
    before = set(folder.iterdir())
    wait_for(driver, css)[0].click()
    deadline = time.time() + timeout
    while time.time() < deadline:
        new = [p for p in folder.iterdir() if p not in before]
        done = [p for p in new if not p.name.endswith((".crdownload", ".tmp"))]
        if done and len(done) == len(new):
            time.sleep(0.2)  # the rename from .crdownload is the last step; let it settle
            assert len(done) == 1, done
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no download from {css} within {timeout}s; folder holds {sorted(folder.iterdir())}")


def export(tmp_path: Path, demo_db, *args: str) -> bytes:
    out = tmp_path / "export.csv"
    assert reach(["export", *args, "--db", str(demo_db), "--config", CONFIG, "-o", str(out)]) == 0
    return out.read_bytes()


def _rows(data: bytes) -> pd.DataFrame:
    import io

    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_the_influencers_leaderboard_csv_saved_by_the_browser_is_reach_export_influencers(site, downloads, demo_db,
                                                                                          tmp_path):
    url, driver = site
    driver.get(url + "influencers?from=2025-01-01&to=2025-01-19&platform=youtube")
    wait_for(driver, "#inf-download-csv")
    saved = click_and_save(driver, "#inf-download-csv", downloads)
    screenshot(driver, "download-influencers")
    assert saved.name == "campaign-reach-influencers_2025-01-01_2025-01-19.csv"
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfinfluencer,category,platforms,")
    cli = _rows(export(tmp_path, demo_db, "influencers", "--from", "2025-01-01", "--to", "2025-01-19",
                       "--platform", "youtube"))
    web = _rows(data)
    # `reach export influencers` writes every column; the page's file the grid's, in grid order.
    pd.testing.assert_frame_equal(cli[LEADERBOARD_COLUMNS], web)
    assert len(web) >= 3 and set(web["platforms"]) == {"youtube"}
    assert console_errors(driver) == []


def test_the_live_charts_csv_saved_by_the_browser_is_reach_export_daily_byte_for_byte(site, downloads, demo_db,
                                                                                       tmp_path):
    url, driver = site
    driver.get(url + "?from=2024-12-20&to=2025-01-05&platform=tiktok,instagram")
    wait_for(driver, "#live-chart .main-svg")
    saved = click_and_save(driver, "#live-download-csv", downloads)
    screenshot(driver, "download-live")
    assert saved.name == "campaign-reach-daily-by-platform_2024-12-20_2025-01-05.csv"
    data = saved.read_bytes()
    assert data == export(tmp_path, demo_db, "daily", "--by", "platform", "--from", "2024-12-20", "--to", "2025-01-05",
                          "--platform", "tiktok", "--platform", "instagram")
    rows = _rows(data)
    assert set(rows["platform"]) == {"tiktok", "instagram"} and rows["date"].min() == "2024-12-20"
    assert console_errors(driver) == []


def test_the_weekly_pages_csvs_follow_the_week_picked_and_match_reach_summary_and_export(site, downloads, demo_db,
                                                                                          tmp_path, capsys):
    from selenium.webdriver.common.by import By

    url, driver = site
    driver.get(url + "weekly")
    first = wait_for(driver, "#weekly-csv-kpis")[0].get_attribute("href")
    assert "week=2025-W04" in first  # the latest complete week of the demo campaign
    # Pick another week in the page's week picker: the links must follow it.
    driver.find_element(By.CSS_SELECTOR, "#weekly-week").click()
    option = wait_for(driver, "[role=option]", text="2025-W02")
    next(o for o in option if o.text.strip() == "2025-W02").click()
    deadline = time.time() + 40
    while "week=2025-W02" not in (driver.find_element(By.CSS_SELECTOR, "#weekly-csv-kpis").get_attribute("href") or ""):
        assert time.time() < deadline, "the KPIs link did not follow the week picker"
        time.sleep(0.2)
    driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, "#weekly-report"))
    assert "Weekly summary 2025-W02" in driver.find_element(By.TAG_NAME, "body").text
    driver.switch_to.default_content()
    screenshot(driver, "download-weekly")

    kpis = click_and_save(driver, "#weekly-csv-kpis", downloads)
    assert kpis.name == "campaign-reach-weekly-kpis_2025-W02.csv"
    assert reach(["summary", "--db", str(demo_db), "--config", CONFIG, "--week", "2025-W02"]) == 0
    assert kpis_as_printed(kpis.read_bytes()) == printed_kpis(capsys.readouterr().out)

    tidy = click_and_save(driver, "#weekly-download-tidy", downloads)
    assert tidy.name == "campaign-reach-daily-by-influencer-platform_2025-01-06_2025-01-12.csv"
    assert tidy.read_bytes() == export(tmp_path, demo_db, "daily", "--by", "influencer,platform",
                                       "--from", "2025-01-06", "--to", "2025-01-12")
    assert console_errors(driver) == []

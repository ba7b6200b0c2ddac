"""The Weekly page and its report in a real headless Chromium: the report's frame is as tall as the
report (no inner scrollbar, nothing cut), at 1440 and 1280 px, in English and Chinese; the report
prints on at most two A4 pages with nothing clipped, as a file and from the page; "Download PDF"
gives the week's report as a PDF.

One `reach serve` on the demo campaign and one browser serve every test here. PDFs are read back
with pypdf (the test extra); screenshots go to artifacts/.
"""
from __future__ import annotations

import base64
import dataclasses
import io
import time
import urllib.request
from datetime import timedelta

import pytest

from browser import ARTIFACTS, console_errors, demo_site, screenshot, wait_for
from conftest import ROOT

pytestmark = pytest.mark.browser
CONFIG = str(ROOT / "campaign.toml")
A4 = (595.3, 841.9)  # points


def pypdf():
    return pytest.importorskip("pypdf", reason="pypdf (the test extra) reads the PDFs back: pip install pypdf")


def pdf_pages(data: bytes):
    """The pages of the PDF ``data`` (pypdf), after checking that it is a PDF at all."""
    assert data.startswith(b"%PDF-"), data[:20]
    return pypdf().PdfReader(io.BytesIO(data)).pages


def pdf_text(pages) -> str:
    """The pages' text as words can be looked up in it: NFKC (a PDF's "ﬂ" ligature and the Kangxi
    radical forms of CJK glyphs read back as their letters) and no whitespace (a line's breaks and
    the spaces put between CJK glyphs are the reader's, not the report's)."""
    return plain("".join(p.extract_text() for p in pages))


def plain(text: str) -> str:
    import re
    import unicodedata

    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def assert_a4(pages):
    for p in pages:
        box = p.mediabox
        assert (float(box.width), float(box.height)) == pytest.approx(A4, abs=2)


@pytest.fixture(scope="module")
def site(demo_db, tmp_path_factory):
    with demo_site(demo_db, tmp_path_factory.mktemp("serve-cache"), CONFIG, 1440, 1000) as site:
        yield site


def fitted_frame(driver, timeout: float = 60):
    """The report frame once the page has sized it to its report: its inner window's height and
    the report's (scrollHeight, the body's height, the bottom of its last table row and of its
    footer). Read inside the frame, since the page itself cannot see into it."""
    from selenium.webdriver.common.by import By

    deadline = time.time() + timeout
    while True:
        frame = wait_for(driver, "#weekly-report")[0]
        driver.switch_to.frame(frame)
        try:
            got = driver.execute_script(
                "var rows = document.querySelectorAll('tr');"
                "return {inner: window.innerHeight, scroll: document.documentElement.scrollHeight,"
                " body: document.body.getBoundingClientRect().height,"
                " lastRow: rows.length ? rows[rows.length - 1].getBoundingClientRect().bottom : 0,"
                " footer: document.querySelector('footer') ? document.querySelector('footer')"
                ".getBoundingClientRect().bottom : 0, text: document.body.innerText}")
        finally:
            driver.switch_to.default_content()
        sized = "height" in (driver.find_element(By.CSS_SELECTOR, "#weekly-report").get_attribute("style") or "")
        if sized and got["footer"] and abs(got["inner"] - got["body"]) <= 2:
            return got
        assert time.time() < deadline, f"the report frame was not sized to its report: {got}"
        time.sleep(0.3)


@pytest.mark.parametrize("width", [1440, 1280])
def test_the_weekly_report_frame_is_as_tall_as_the_report_so_nothing_is_cut(site, width):
    """The demo's latest week and a week whose report is taller than the old fixed 1,500 px frame
    (2025-W01: all nine platforms of the mix and an event), in both languages; then a shorter
    week picked in the page shrinks the frame again."""
    from selenium.webdriver.common.by import By

    url, driver = site
    driver.set_window_size(width, 1000)
    heights = {}
    for week, lang, heading in ((None, "en", "Weekly summary 2025-W04"), ("2025-W01", "zh", "每周总结 2025-W01"),
                                (None, "zh", "每周总结 2025-W04"), ("2025-W01", "en", "Weekly summary 2025-W01")):
        query = "&".join(q for q in (f"week={week}" if week else "", "lang=zh" if lang == "zh" else "") if q)
        driver.get(url + "weekly" + ("?" + query if query else ""))
        got = fitted_frame(driver)
        assert heading in got["text"]
        # No inner scrollbar: the report's whole height is inside the frame, and so are its last
        # row (the platform mix's last platform) and the footer's last note.
        assert got["scroll"] <= got["inner"], got
        assert 0 < got["lastRow"] <= got["inner"] and got["footer"] <= got["inner"], got
        heights[(week, lang)] = got["inner"]
        page_width = driver.execute_script("return document.documentElement.scrollWidth")
        assert page_width <= width  # and nothing wider than the window
        # The whole page in the screenshot: the report, as long as it is, in the page.
        driver.set_window_size(width, driver.execute_script("return document.documentElement.scrollHeight") + 200)
        screenshot(driver, f"weekly-{width}-{lang}-{week or 'latest'}")
        driver.set_window_size(width, 1000)
    assert heights[("2025-W01", "en")] > 1500  # the old frame's height would have cut this week

    # The picker swaps the report in place (here from 2025-W01 in English to the shorter 2025-W04):
    # the frame follows it down as well as up.
    driver.find_element(By.CSS_SELECTOR, "#weekly-week").click()
    option = wait_for(driver, "[role=option]", text="2025-W04")
    next(o for o in option if o.text.strip() == "2025-W04").click()
    deadline = time.time() + 60
    while True:
        got = fitted_frame(driver)
        if "Weekly summary 2025-W04" in got["text"] and got["inner"] < heights[("2025-W01", "en")]:
            break
        assert time.time() < deadline, f"the frame did not shrink to the shorter week: {got}"
        time.sleep(0.3)
    assert got["inner"] == pytest.approx(heights[(None, "en")], abs=2)
    assert console_errors(driver) == []  # the frame's script ran under the page's CSP, nothing refused


def many_platforms_summary(demo_db):
    """A demo week stretched to the worst a report shows: every platform in the mix, long names
    and titles, an influencer on every platform, an event every day and a long campaign name."""
    from collectors.model import PLATFORM_LABELS
    from collectors.store import database
    from dashboard.analysis import clock, config, summary

    eng = database.connect(f"sqlite:///{demo_db}")
    campaign = config.load(CONFIG)
    s = summary.build_summary_db(eng, campaign, "2025-W01", today=clock.today(eng, campaign.tz))
    eng.dispose()
    n = len(PLATFORM_LABELS)
    mix = tuple(summary.PlatformShare(p, label, 1000.0 * (i + 1), 100 / n, "views")
                for i, (p, label) in enumerate(PLATFORM_LABELS.items()))
    name = "Alexandra Konstantinopoulou-Wainwright 亚历山德拉"
    posts = tuple(dataclasses.replace(p, title="A post title that goes on and on " * 6, influencer=name)
                  for p in s.top_posts)
    people = tuple(dataclasses.replace(r, name=name, platforms=", ".join(PLATFORM_LABELS.values()))
                   for r in s.top_influencers)
    events = tuple(config.Event(day=s.week_start + timedelta(days=i),
                                label="A long event label of the campaign " * 3, label_zh="活动当天的很长的事件标签" * 4)
                   for i in range(7))
    return dataclasses.replace(s, platform_mix=mix, top_posts=posts, top_influencers=people, events=events,
                               campaign=s.campaign + " with a subtitle as long as a campaign's can be")


def latest_week_summary(demo_db):
    from collectors.store import database
    from dashboard.analysis import clock, config, summary

    eng = database.connect(f"sqlite:///{demo_db}")
    campaign = config.load(CONFIG)
    s = summary.build_summary_db(eng, campaign, None, today=clock.today(eng, campaign.tz))
    eng.dispose()
    return s


def print_to_pdf(driver) -> bytes:
    """The page open in ``driver`` printed as Chromium prints it: the page's own @page size."""
    out = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})
    return base64.b64decode(out["data"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_report_file_prints_on_at_most_two_a4_pages_with_nothing_clipped(site, demo_db, tmp_path, lang):
    from dashboard.analysis import summary
    from dashboard.text.i18n import platform_name

    _, driver = site
    for name, s in (("latest", latest_week_summary(demo_db)), ("many-platforms", many_platforms_summary(demo_db))):
        path = tmp_path / f"weekly-{name}-{lang}.html"
        path.write_text(summary.render_html(s, lang), encoding="utf-8")
        driver.get(path.as_uri())
        wait_for(driver, "footer")
        # Laid out as for print at an A4 page's width between its margins (186 mm): nothing
        # sticks out of the page nor out of its KPI card or table cell.
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 703, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        try:
            over = driver.execute_script(
                "var w = document.documentElement.clientWidth, out = [];"
                "document.querySelectorAll('.kpi, .kpi div, table, td, th, h1, p, li').forEach(function (e) {"
                "  var text = e.textContent.slice(0, 40);"
                "  if (e.getBoundingClientRect().right > w + 0.5) out.push('past the page: ' + text);"
                "  if (e.matches('.kpi, td, th') && e.scrollWidth > e.clientWidth + 1)"
                "    out.push('past its box: ' + text);"
                "}); return [document.documentElement.scrollWidth, w, out]")
            assert over[0] <= over[1] and over[2] == [], over
        finally:
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        pdf = print_to_pdf(driver)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"weekly-print-{name}-{lang}.pdf").write_bytes(pdf)
        pages = pdf_pages(pdf)
        assert 1 <= len(pages) <= 2, f"{name} ({lang}) prints on {len(pages)} pages"
        assert_a4(pages)
        text = pdf_text(pages)
        assert s.week in text and s.timezone in text  # the title line and the footer's first note
        # The mix's last platform and the footer's last note made it onto paper.
        assert plain(platform_name(s.platform_mix[-1].platform, lang)) in text.split(s.week, 1)[1]
        assert plain(summary._notes(s, lang)[-1]) in text


def test_printing_the_weekly_page_prints_its_report_alone_on_a4(site):
    """Ctrl+P on the page: the dashboard's header and buttons stay off the paper, and the report
    (not a frame sliced where a page ends) prints as its file does."""
    url, driver = site
    driver.set_window_size(1440, 1000)
    driver.get(url + "weekly?lang=zh")
    fitted_frame(driver)
    driver.execute_script("window.dispatchEvent(new Event('beforeprint'))")
    pdf = print_to_pdf(driver)
    driver.execute_script("window.dispatchEvent(new Event('afterprint'))")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "weekly-print-page-zh.pdf").write_bytes(pdf)
    pages = pdf_pages(pdf)
    assert 1 <= len(pages) <= 2
    assert_a4(pages)
    text = pdf_text(pages)
    assert "每周总结2025-W04" in text and "下载CSV" not in text and "CampaignReach" not in text
    # After printing, the page is as it was: the report in its frame, the print copy gone.
    assert driver.execute_script("return document.getElementById('weekly-print')") is None
    assert console_errors(driver) == []


def test_download_pdf_gives_the_weeks_report_as_a_pdf_in_the_pages_language(site):
    pytest.importorskip("weasyprint", reason="WeasyPrint writes the PDF: pip install weasyprint")
    url, driver = site
    driver.get(url + "weekly?lang=zh&week=2025-W02")
    link = wait_for(driver, "#weekly-download-pdf", text="下载 PDF")[0]
    href = link.get_attribute("href")
    assert "week=2025-W02" in href and "lang=zh" in href
    with urllib.request.urlopen(href, timeout=120) as r:
        assert r.headers["Content-Type"] == "application/pdf"
        assert 'filename="campaign-reach-2025-W02.pdf"' in r.headers["Content-Disposition"]
        pdf = r.read()
    pages = pdf_pages(pdf)
    assert 1 <= len(pages) <= 2
    assert_a4(pages)
    text = pdf_text(pages)
    assert "每周总结2025-W02" in text and "关键指标" in text  # Chinese, in glyphs that read back as Chinese
    screenshot(driver, "weekly-download-pdf")


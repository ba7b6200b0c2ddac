"""The mapping step of the Data page in a real headless Chromium: a file that no report recognises is
dropped, its columns come back as a form prefilled with the proposal, a field is corrected in its
dropdown, "Import with this mapping" imports it, and the next file with the same header imports at
once. The Chinese page offers the same form in Chinese. Screenshots go to artifacts/.

The logic is tested without a browser in tests/test_page_data.py; this checks that the pattern
matched dropdowns, the form's own callbacks and the page's redraw work together in a browser.
"""
from __future__ import annotations

import time

import pytest

from browser import chromium, console_errors, reach_server, require_chromium, screenshot, wait_for
from collectors.store import database
from test_page_data import unknown_posts

pytestmark = pytest.mark.browser


def field(driver, col: int):
    return driver.find_element("css selector", f'#data-map-columns [id*=\'"col":{col},\']')


def choose(driver, trigger, label: str) -> None:
    """Open a dcc.Dropdown (Dash 4: a button and a popover list), type into its search box, as a
    user with a long list does, and click the option ``label``."""
    trigger.click()
    wait_for(driver, ".dash-dropdown-content input.dash-dropdown-search")[0].send_keys(label)
    deadline = time.time() + 10
    while time.time() < deadline:
        for option in driver.find_elements("css selector", ".dash-dropdown-content [role=option]"):
            if option.text.strip() == label:
                option.click()
                time.sleep(0.3)
                return
        time.sleep(0.2)
    shown = [o.text for o in driver.find_elements("css selector", ".dash-dropdown-content [role=option]")]
    raise AssertionError(f"no option {label!r} in the open dropdown; it offers {shown}")


def drop(driver, path) -> None:
    box = driver.find_element("css selector", "#data-upload input[type=file]")
    # Chromedriver adds to a multiple file input's list: empty it, so only ``path`` is dropped.
    driver.execute_script("arguments[0].value = ''", box)
    box.send_keys(str(path))


def test_an_unknown_file_is_mapped_in_the_browser_and_the_next_one_with_its_header_imports_at_once(sqlite_url,
                                                                                                    tmp_path):
    require_chromium()
    database.connect(sqlite_url).dispose()
    first, second = tmp_path / "walks.csv", tmp_path / "walks-2.csv"
    first.write_bytes(unknown_posts())
    second.write_bytes(unknown_posts(ids=(3, 4)))
    with reach_server(sqlite_url) as url, chromium(1400, 1300) as driver:
        driver.get(url + "data")
        wait_for(driver, "#data-upload")
        drop(driver, first)
        form = wait_for(driver, "#data-map", text="Read walks.csv with a column mapping")[0]
        text = form.text
        # The header as the file writes it ("<i>Remarks</i>"), shown as text, never as markup.
        assert "<i>Remarks</i>" in text and "1001 · 1002" in text
        assert "reach mapping suggest" not in driver.find_element("css selector", "#data-upload-result").text
        assert field(driver, 3).text == "Shares (shares)" and field(driver, 4).text == "Views (views)"
        screenshot(driver, "mapping-form")
        # The proposal read plays as shares and likes as views: correct both.
        choose(driver, field(driver, 3), "Views (views)")
        choose(driver, field(driver, 4), "Likes (likes)")
        assert field(driver, 3).text == "Views (views)" and field(driver, 4).text == "Likes (likes)"
        screenshot(driver, "mapping-form-corrected")
        driver.find_element("css selector", "#data-map-import").click()
        message = wait_for(driver, "#data-map-outcome .upload-result", text="walks.csv")[0].text
        assert message.startswith("Imported: walks.csv: tiktok tiktok.content: 2 posts, 2 snapshots; 0 rows rejected")
        assert '"Plays" → views, "Hearts" → likes' in message
        wait_for(driver, "#data-map-saved")
        # The form and the failure it answered are gone; the tables were redrawn.
        assert driver.find_elements("css selector", "#data-map-import") == []
        assert "Not imported" not in driver.find_element("css selector", "#data-upload-result").text
        wait_for(driver, "#data-history", text="walks.csv")
        assert driver.find_elements("css selector", "#data-failures") == []
        screenshot(driver, "mapping-imported")
        # Another file with the same header: imported at once by the saved mapping.
        drop(driver, second)
        result = wait_for(driver, "#data-upload-result .upload-result", text="walks-2.csv")[0].text
        assert result.startswith("Imported: walks-2.csv: tiktok tiktok.content: 2 posts, 2 snapshots")
        assert driver.find_elements("css selector", "#data-map") == []
        wait_for(driver, "#data-history", text="walks-2.csv")
        assert console_errors(driver) == []


def test_the_chinese_page_offers_the_form_in_chinese_and_another_report_offers_its_fields(sqlite_url, tmp_path):
    require_chromium()
    database.connect(sqlite_url).dispose()
    path = tmp_path / "片段.csv"
    path.write_bytes(unknown_posts(header=["片段", "网址", "上线", "播放", "心", "备注"]))
    with reach_server(sqlite_url) as url, chromium(1400, 1300) as driver:
        driver.get(url + "data?lang=zh")
        wait_for(driver, "#data-upload")
        drop(driver, path)
        form = wait_for(driver, "#data-map", text="按列映射读取 片段.csv")[0]
        assert "文件中的列" in form.text and "按此映射导入" in form.text and "根据数值判断" in form.text
        screenshot(driver, "mapping-form-zh")
        report = driver.find_element("css selector", "#data-map-report")
        choose(driver, report, "X account analytics, Content export")
        # The fields follow the report: X's content export has impressions, TikTok's has none.
        field(driver, 3).click()
        wait_for(driver, ".dash-dropdown-content [role=option]", text="帖子 ID (post_id)，必填")
        labels = [o.text for o in driver.find_elements("css selector", ".dash-dropdown-content [role=option]")]
        assert "— 不读取 —" in labels and any(x.startswith("曝光") or "(impressions)" in x for x in labels)
        driver.find_element("css selector", "body").click()
        # X's content export needs a post id, which this file lacks: refused in words, in Chinese.
        driver.find_element("css selector", "#data-map-import").click()
        error = wait_for(driver, "#data-map-error")[0].text
        assert error.startswith("未使用此映射：") and "post_id" in error
        screenshot(driver, "mapping-refused-zh")
        assert driver.find_elements("css selector", "#data-map-import")  # the form stays for a fix
        assert console_errors(driver) == []


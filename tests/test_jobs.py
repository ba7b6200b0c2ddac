"""Whole-campaign exports prepared by a background job (dashboard/web/jobs.py, the Data page):
the file is the `reach export` bytes, the progress says how far it got, the link names only its
own file, old files go, and in a real browser the Prepare button gives a link that downloads it.
(The same job run by a real Celery worker behind two web processes: tests/test_two_hosts.py.)
"""
from __future__ import annotations

import os
import re
import time

import pytest
import requests

from browser import chromium, reach_server, require_chromium, screenshot, wait_for
from collectors.pipeline import Importer
from collectors.store import database
from dashboard.analysis import config, exports
from dashboard.web import jobs
from dashboard.web.app import create_app
from dashboard.web.pages import data as page
from test_page_data import text_of
from test_store import x_content

X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"
POSTS = [(f"18700000000000000{i:02d}", 100 * i, i) for i in range(1, 8)]


@pytest.fixture
def eng(sqlite_url, monkeypatch):
    engine = database.connect(sqlite_url)
    Importer(engine, None).import_bytes(X_NAME, x_content(POSTS))
    monkeypatch.setattr(jobs, "_config", {"db": sqlite_url, "config": None})
    yield engine
    engine.dispose()


def test_a_prepared_export_is_the_reach_export_and_its_progress_says_how_far_it_got(eng, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 2)  # several batches: several steps of progress
    monkeypatch.setattr(jobs, "PROGRESS_EVERY_S", 0)
    seen = []
    view = page.prepare_export(seen.append, "posts", "zh")
    link = view.children[0]
    token, name = re.fullmatch(r"/download/prepared/([0-9a-f]{32})/(campaign-reach-posts\.csv)", link.href).groups()
    written = (jobs.exports_dir(eng) / token / name).read_bytes()
    assert written == b"".join(exports.csv_export(eng, "posts", config.load()))
    assert written.count(b"\r\n") == len(POSTS) + 1
    assert not list((jobs.exports_dir(eng) / token).glob("*.part"))  # renamed once whole
    # The bar's value and maximum and the words, in the page's language, up to all rows.
    assert seen[0] == [0, 1, "正在统计行数…"]
    done = [s[0] for s in seen[1:]]
    assert done == sorted(done) and len(set(done)) >= 3 and seen[-1] == [7, 7, "已写入 7 / 7 行"]
    assert "7 行" in text_of(view) and "下载 campaign-reach-posts.csv" in text_of(view)
    # Anything but the two kinds is the posts: what the browser sends picks, it never names.
    other = page.prepare_export(lambda v: None, "../../etc/passwd", "en").children[0].href
    assert other.endswith("/campaign-reach-posts.csv")
    days = page.prepare_export(lambda v: None, "account-days", "en").children[0].href
    assert days.endswith("/campaign-reach-account-days.csv")


def test_a_prepared_file_is_served_by_its_token_and_name_only(eng):
    token, folder = jobs.new_job_folder(eng)
    (folder / "campaign-reach-posts.csv").write_bytes(b"platform,post_id\r\n")
    (folder / ".hidden").write_bytes(b"not for download")  # refused by name, though it exists
    client = create_app(eng).server.test_client()
    r = client.get(f"/download/prepared/{token}/campaign-reach-posts.csv")
    assert r.status_code == 200 and r.data == b"platform,post_id\r\n"
    assert r.headers["Content-Disposition"] == "attachment; filename=campaign-reach-posts.csv"
    assert r.headers["Cache-Control"] == "no-store"
    for bad in (f"{token}/..%2Freach.db", f"{token}/.hidden", f"{token.upper()}/campaign-reach-posts.csv",
                f"{'0' * 32}/campaign-reach-posts.csv", f"{token}/campaign-reach-posts.csv%00.txt"):
        r = client.get(f"/download/prepared/{bad}")
        # A 404 in words, or for a path Flask resolves elsewhere, the app's page: never a file.
        assert r.status_code == 404 or r.mimetype == "text/html", bad
    assert "prepare it again on the Data page" in client.get(f"/download/prepared/{'0' * 32}/x.csv").text
    assert jobs.prepared(eng, "../" + token, "campaign-reach-posts.csv") is None


def test_prepared_files_older_than_a_day_are_removed_when_another_is_prepared(eng):
    old_token, old = jobs.new_job_folder(eng)
    (old / "campaign-reach-posts.csv").write_bytes(b"x")
    keep_token, keep = jobs.new_job_folder(eng)
    day_ago = time.time() - jobs.PREPARED_MAX_AGE.total_seconds() - 60
    os.utime(old, (day_ago, day_ago))
    stray = jobs.exports_dir(eng) / "notes"  # not a job's folder: left alone
    stray.mkdir()
    token, _ = jobs.new_job_folder(eng)
    assert sorted(p.name for p in jobs.exports_dir(eng).iterdir()) == sorted([keep_token, token, "notes"])


def test_in_a_browser_prepare_shows_its_progress_then_a_link_that_downloads_the_export(eng, sqlite_url):
    require_chromium()
    want = b"".join(exports.csv_export(eng, "posts", config.load()))
    with reach_server(sqlite_url) as url, chromium(1280, 900) as d:
        d.get(url + "data")
        wait_for(d, "#data-prep-go").pop().click()
        link = wait_for(d, "#data-prep-link", timeout=60).pop()
        assert link.text.startswith("Download campaign-reach-posts.csv (")
        assert "7 rows, prepared" in d.find_element("css selector", "#data-prep-result").text
        # The job is over: Prepare can be pressed again, and the bar and Cancel are gone.
        assert d.find_element("css selector", "#data-prep-go").is_enabled()
        assert not d.find_element("css selector", "#data-prep-cancel").is_displayed()
        screenshot(d, "data-prepare-done")
        assert requests.get(link.get_attribute("href"), timeout=30).content == want

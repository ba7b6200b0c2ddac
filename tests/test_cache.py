"""The cache the dashboard's workers share (dashboard/web/cache.py): one computation per data version
for every app and process on the same data folder, a new computation after every import or roster
change, and never an error because of the cache itself."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pandas as pd
import pytest

from collectors.pipeline import Importer
from collectors.roster import import_roster
from collectors.store import database
from conftest import ROOT
from dashboard.analysis import config, leaderboard, queries, rollups, shared, stamps
from dashboard.web import cache
from dashboard.web.app import create_app
from dashboard.web.pages import influencers
from test_store import x_content

CAMPAIGN = config.Campaign()
X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"


class Counting:
    """A computation that counts its runs and returns what the database holds now."""

    def __init__(self, eng):
        self.eng, self.runs = eng, 0

    def __call__(self):
        self.runs += 1
        with self.eng.connect() as c:
            posts = pd.read_sql("SELECT post_id FROM posts ORDER BY post_id", c)
        return posts.assign(run=self.runs)


@pytest.fixture
def eng(sqlite_url, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    engine = database.connect(sqlite_url)
    Importer(engine, None).import_bytes(X_NAME, x_content([("1870000000000000001", 1200, 30)]))
    yield engine
    engine.dispose()


def memo(app, eng, compute, name="test.posts", args=("a",)):
    with app.server.app_context():
        return shared.memo(eng, CAMPAIGN, name, args, compute)


def test_two_apps_on_one_data_folder_compute_once_and_see_the_same_frame(eng, tmp_path):
    one, two = create_app(eng), create_app(eng)
    assert one.server.config["REACH_CACHE_DIR"] == two.server.config["REACH_CACHE_DIR"] == str(tmp_path / "cache")
    compute = Counting(eng)
    first = memo(one, eng, compute)
    second = memo(two, eng, compute)
    assert compute.runs == 1
    pd.testing.assert_frame_equal(first, second)
    assert list(second["post_id"]) == ["1870000000000000001"]
    # Other arguments or another name are other entries.
    memo(two, eng, compute, args=("b",))
    memo(two, eng, compute, name="test.other")
    assert compute.runs == 3
    # Entries are pickles: the folder is this user's alone.
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700


def test_a_value_computed_in_another_process_is_found_here(eng, tmp_path):
    """Workers are processes with their own hash seeds: the data version and the keys must not
    depend on anything that differs between processes (the rollup state is a string, whose
    built-in hash does)."""
    rollups.refresh(eng, CAMPAIGN)
    script = (
        "from collectors.store import database\n"
        "from dashboard.analysis import config, shared\n"
        "from dashboard.web.app import create_app\n"
        f"eng = database.connect({str(eng.url)!r})\n"
        "app = create_app(eng)\n"
        "with app.server.app_context():\n"
        "    print(shared.memo(eng, config.Campaign(), 'test.shared', ('x',), lambda: 'from the other process'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != cache.ENV}
    env["PYTHONHASHSEED"] = "12345"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "from the other process"
    here = memo(create_app(eng), eng, lambda: "computed here", name="test.shared", args=("x",))
    assert here == "from the other process"


def test_after_an_import_the_next_call_computes_again_and_sees_the_new_rows(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "shared-cache"))
    eng = database.connect(db_url)
    try:
        Importer(eng, None).import_bytes(X_NAME, x_content([("1870000000000000001", 1200, 30)]))
        app, compute = create_app(eng), Counting(eng)
        assert memo(app, eng, compute)["run"].tolist() == [1]
        assert memo(app, eng, compute)["run"].tolist() == [1] and compute.runs == 1
        before = stamps.version(eng)
        Importer(eng, None).import_bytes("account_analytics_content_2024-12-16_2024-12-23.csv",
                                         x_content([("1870000000000000002", 700, 5)]))
        assert stamps.version(eng) != before
        after = memo(app, eng, compute)
        assert compute.runs == 2 and list(after["post_id"]) == ["1870000000000000001", "1870000000000000002"]
        # The same bytes again change nothing, so the cached value stands.
        Importer(eng, None).import_bytes(X_NAME, x_content([("1870000000000000001", 1200, 30)]))
        assert memo(app, eng, compute)["run"].tolist() == [2, 2] and compute.runs == 2
    finally:
        eng.dispose()


def test_a_roster_that_moves_an_account_to_another_influencer_is_a_new_version(eng):
    import_roster(eng, None, "r.csv", b"name,platform,handle\nChen Li,x,jinhub_yiwu\nWang Wei,x,someone_else\n")
    app, runs = create_app(eng), []

    def owner():
        runs.append(1)
        return queries.frames.load_frames(eng).posts["influencer"].tolist()

    assert memo(app, eng, owner, name="test.owner") == ["Chen Li"]
    # The same counts of influencers and linked accounts: only who owns what changed.
    import_roster(eng, None, "r2.csv", b"name,platform,handle\nWang Wei,x,jinhub_yiwu\nChen Li,x,someone_else\n")
    assert memo(app, eng, owner, name="test.owner") == ["Wang Wei"] and len(runs) == 2


def test_a_value_computed_while_an_import_commits_is_returned_but_not_kept(eng):
    app, runs = create_app(eng), []

    def racing():
        runs.append(1)
        if len(runs) == 1:  # an upload in another worker commits while this computes
            Importer(eng, None).import_bytes("account_analytics_content_2024-12-16_2024-12-24.csv",
                                             x_content([("1870000000000000003", 10, 1)]))
        return len(runs)

    assert memo(app, eng, racing, name="test.race") == 1
    assert memo(app, eng, racing, name="test.race") == 2  # computed again for the new version
    assert memo(app, eng, racing, name="test.race") == 2 and len(runs) == 2


def test_an_unusable_cache_folder_means_computing_every_time_and_never_an_error(eng, tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should go")
    monkeypatch.setenv(cache.ENV, str(blocker / "cache"))
    app = create_app(eng)
    assert app.server.config["REACH_CACHE_DIR"] is None
    assert "cannot be used" in caplog.text and str(blocker) in caplog.text
    compute = Counting(eng)
    assert memo(app, eng, compute)["run"].tolist() == [1]
    assert memo(app, eng, compute)["run"].tolist() == [2]
    # The pages still render: the Influencers page computes its leaderboard without a cache.
    with app.server.test_request_context("/influencers"):
        page = influencers.layout()
    assert "inf-grid" in repr(page) and "jinhub_yiwu (unassigned)" in repr(page)


def test_a_cache_folder_that_breaks_or_holds_garbage_later_is_a_miss_not_an_error(eng, tmp_path):
    app, compute = create_app(eng), Counting(eng)
    folder = tmp_path / "cache"
    memo(app, eng, compute)
    entries = [p for p in folder.iterdir() if p.is_file()]
    assert entries
    for p in entries:  # a valid "never expires" header, then bytes that are no pickle
        p.write_bytes(b"\x00\x00\x00\x00not a pickle at all")
    assert memo(app, eng, compute)["run"].tolist() == [2]
    # The folder replaced by a file: nothing can be read or written, the value is still computed.
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    folder.write_text("in the way")
    before = shared.stats["write_errors"]
    assert memo(app, eng, compute)["run"].tolist() == [3]
    assert memo(app, eng, compute)["run"].tolist() == [4]
    assert shared.stats["write_errors"] >= before + 2


def test_outside_a_running_app_nothing_is_cached_and_no_folder_is_made(eng, tmp_path):
    compute = Counting(eng)
    assert shared.memo(eng, CAMPAIGN, "test.posts", (), compute)["run"].tolist() == [1]
    assert shared.memo(eng, CAMPAIGN, "test.posts", (), compute)["run"].tolist() == [2]
    assert not (tmp_path / "cache").exists()


def test_the_folder_is_beside_a_sqlite_database_or_where_reach_cache_dir_says_or_off(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    eng = database.connect(f"sqlite:///{tmp_path / 'sub' / 'reach.db'}")
    assert cache.cache_dir(eng) == tmp_path / "sub" / "cache"
    monkeypatch.setenv(cache.ENV, str(tmp_path / "elsewhere"))
    assert cache.cache_dir(eng) == tmp_path / "elsewhere"
    monkeypatch.setenv(cache.ENV, "off")
    assert cache.cache_dir(eng) is None
    app = create_app(eng)
    assert app.server.config["REACH_CACHE_DIR"] is None and not (tmp_path / "sub" / "cache").exists()
    eng.dispose()


def test_the_influencers_page_computes_its_leaderboard_once_per_version_for_every_app(eng, monkeypatch):
    """The leaderboard (SQL over the whole campaign since issue 11, no longer load_frames) is
    computed by the first app and found in the shared cache by the second; an import moves the
    data version, so it is computed once more and shows the new account."""
    # As `reach import` leaves it: the rollups computed (their first computation ever stores the
    # settings they were computed with, which is part of the data version).
    rollups.refresh(eng, config.load(), [])
    reads = []
    real = leaderboard.leaderboard_db
    monkeypatch.setattr(leaderboard, "leaderboard_db", lambda *a, **k: reads.append(1) or real(*a, **k))
    pages = []
    for app in (create_app(eng), create_app(eng)):
        with app.server.test_request_context("/influencers"):
            pages.append(repr(influencers.layout()))
    assert reads == [1] and pages[0] == pages[1]
    Importer(eng, None).import_bytes("account_analytics_content_2024-12-16_2024-12-25.csv",
                                     x_content([("1870000000000000004", 99, 1)], handle="yiwu_market"))
    with create_app(eng).server.test_request_context("/influencers"):
        page = repr(influencers.layout())
    assert reads == [1, 1] and "yiwu_market (unassigned)" in page


def test_a_changed_module_catalog_or_report_template_changes_the_code_stamp(tmp_path):
    # A cached weekly report holds its rendered HTML: a template edit must miss like a code edit.
    import shutil

    for sub in ("collectors", "dashboard/text/templates", "dashboard/text/catalogs"):
        shutil.copytree(ROOT / sub, tmp_path / sub, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dashboard" / "analysis" / "summary.py", tmp_path / "dashboard" / "summary.py")
    before = stamps.source_digest(tmp_path)
    assert stamps.source_digest(tmp_path) == before  # the same files, the same stamp
    css = tmp_path / "dashboard" / "text" / "templates" / "weekly.css"
    css.write_text(css.read_text() + "h1{color:red}\n")
    after_template = stamps.source_digest(tmp_path)
    (tmp_path / "dashboard" / "summary.py").write_text("# changed\n", encoding="utf-8")
    after_module = stamps.source_digest(tmp_path)
    # The words are data files now (the report's strings, the collectors' messages): an edit misses too.
    strings = tmp_path / "dashboard" / "text" / "catalogs" / "zh.toml"
    strings.write_text(strings.read_text(encoding="utf-8") + '"x.changed" = "改"\n', encoding="utf-8")
    after_strings = stamps.source_digest(tmp_path)
    words = tmp_path / "collectors" / "catalogs" / "messages" / "en.toml"
    words.write_text(words.read_text(encoding="utf-8") + '"x.changed" = "changed"\n', encoding="utf-8")
    assert len({before, after_template, after_module, after_strings, stamps.source_digest(tmp_path)}) == 5


def test_a_full_folder_is_pruned_in_batches_of_its_oldest_entries_not_read_whole_at_every_write(tmp_path):
    # cachelib's own prune opened every entry twice at each write over the threshold to remove one;
    # under streaming imports the folder stays full, so that was a scan per write.
    folder = cache.FolderCache(str(tmp_path), threshold=40, default_timeout=3600)
    scans, listed = [0], folder._list_dir

    def counted():
        scans[0] += 1
        return listed()

    folder._list_dir = counted
    for i in range(200):
        folder.set(f"k{i}", i)
    names = [n for n in os.listdir(tmp_path) if not folder._is_mgmt(n)]
    assert 30 <= len(names) <= 41
    assert folder._file_count == len(names)  # the count is what is there, not what increments left
    assert [folder.get(f"k{i}") for i in range(195, 200)] == list(range(195, 200))  # the newest stay
    assert folder.get("k0") is None and folder.get("k100") is None
    assert scans[0] <= 200 // 10  # one scan per quarter-threshold (10) of writes; cachelib: ~2 per write


def test_a_prune_removes_expired_entries_before_newer_ones(tmp_path):
    folder = cache.FolderCache(str(tmp_path), threshold=10, default_timeout=3600)
    for i in range(5):
        folder.set(f"old{i}", i, timeout=1)
    time.sleep(2.1)
    for i in range(6):
        folder.set(f"new{i}", i)
    folder.set("last", 1)  # 11 entries before it: over the threshold, so a prune
    assert [folder.get(f"new{i}") for i in range(6)] == list(range(6))
    assert not [n for n in os.listdir(tmp_path) if not folder._is_mgmt(n)
                and n in {folder._get_filename(f"old{i}").rsplit(os.sep, 1)[-1] for i in range(5)}]


def test_the_posts_page_counts_once_per_version_and_its_layout_builds_no_order(eng, monkeypatch):
    # Every visit to Posts builds a Listing for its count; the count is every viewer's, and the
    # order's statement is only for the grid's blocks.
    from dashboard.analysis import listing
    from dashboard.web.pages import posts

    rollups.refresh(eng, config.load(), [])
    counts, orders = [], []
    real_count, real_order = listing.count_posts, listing.sql_order
    monkeypatch.setattr(listing, "count_posts", lambda *a, **k: counts.append(1) or real_count(*a, **k))
    monkeypatch.setattr(listing, "sql_order", lambda *a, **k: orders.append(1) or real_order(*a, **k))
    pages = []
    for app in (create_app(eng), create_app(eng)):
        with app.server.test_request_context("/posts"):
            pages.append(repr(posts.layout()))
    assert counts == [1] and orders == [] and pages[0] == pages[1]
    assert "1 post" in pages[0]
    with create_app(eng).server.test_request_context("/posts"):
        rows = posts.rows({"startRow": 0, "endRow": 25, "sortModel": []}, "")
    assert orders == [1] and [r["url"] for r in rows["rowData"]] and rows["rowCount"] == 1
    Importer(eng, None).import_bytes("account_analytics_content_2024-12-16_2024-12-25.csv",
                                     x_content([("1870000000000000004", 99, 1)], handle="yiwu_market"))
    with create_app(eng).server.test_request_context("/posts"):
        assert "2 posts" in repr(posts.layout())
    assert counts == [1, 1]


def test_every_page_reads_the_data_version_at_most_once_per_view(eng, monkeypatch):
    # Each cached piece of a view keys by the version; read anew for each, it was a tenth of the
    # web's CPU in issue 15's load test (the roster is hashed at every read).
    from dashboard.web import pages

    rollups.refresh(eng, config.load(), [])
    reads = []
    real = stamps._versions
    monkeypatch.setattr(stamps, "_versions", lambda e: reads.append(1) or real(e))
    app = create_app(eng)
    for page in pages.all_pages():
        reads.clear()
        with app.server.test_request_context(page.PATH), rollups.as_it_stands():
            page.layout()
        assert len(reads) <= 1, page.SLUG

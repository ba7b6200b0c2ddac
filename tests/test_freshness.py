"""Freshness per platform and source: the last success and the last error of files and APIs."""
from datetime import datetime

import pandas as pd

from collectors.pipeline import Importer
from collectors.store import database, ledger, schema
from dashboard.analysis import clock
from dashboard.web import freshness


def _imp(conn, sha, platform, source, at):
    conn.execute(schema.imports.insert().values(
        sha256=sha, file_name=sha + ".csv", size_bytes=1, imported_at=at, platform=platform, source=source,
        rows_read=1, rows_stored=1, rows_rejected=0, rows_skipped=0))


def test_last_success_and_last_error_are_kept_apart_by_platform_and_source(db_url):
    engine = database.connect(db_url)
    with engine.begin() as c:
        _imp(c, "a", "youtube", "file", datetime(2025, 1, 2, 8))
        _imp(c, "b", "youtube", "file", datetime(2025, 1, 3, 8))  # the later file wins
        _imp(c, "c", "youtube", "api", datetime(2025, 1, 3, 9))
        _imp(c, "d", "facebook+instagram", "file", datetime(2025, 1, 1, 12))
    # An API error after the last API success: the line must say the last attempt failed.
    ledger.record_failure(engine, "e", "youtube API", "stopped: daily quota used up", platform="youtube", source="api")
    with engine.begin() as c:
        c.execute(schema.import_failures.update().values(failed_at=datetime(2025, 1, 3, 10)))
    # An older file error than the last file success: shown, but not as the latest outcome.
    ledger.record_failure(engine, "f", "old.csv", "line 3 bad", platform="youtube", source="file")
    with engine.begin() as c:
        c.execute(schema.import_failures.update().where(schema.import_failures.c.sha256 == "f")
                  .values(failed_at=datetime(2025, 1, 1, 0)))
    # A file nobody could read has no platform.
    r = Importer(engine, None).import_bytes("junk.csv", b"\x00\x01 not a table")
    assert r.status == "failed"

    df = clock.source_freshness(engine).set_index(["platform", "source"])
    yt_file, yt_api = df.loc[("youtube", "file")], df.loc[("youtube", "api")]
    assert yt_file["last_success"] == pd.Timestamp("2025-01-03 08:00", tz="UTC")
    assert yt_file["last_error"] == "line 3 bad" and not yt_file["error_is_latest"]
    assert yt_api["last_success"] == pd.Timestamp("2025-01-03 09:00", tz="UTC")
    assert yt_api["last_error"] == "stopped: daily quota used up" and yt_api["error_is_latest"]
    # A file with two platforms counts for both.
    for p in ("facebook", "instagram"):
        assert df.loc[(p, "file"), "last_success"] == pd.Timestamp("2025-01-01 12:00", tz="UTC")
    unknown = df.loc[("", "file")]
    assert pd.isna(unknown["last_success"]) and unknown["error_is_latest"] and "junk.csv" in unknown["last_error"]
    # File before API for the same platform, platforms in order.
    assert list(df.index) == sorted(df.index, key=lambda k: (k[0], ("file", "api").index(k[1])))
    engine.dispose()


def test_no_imports_gives_an_empty_table_with_its_columns(db_url):
    engine = database.connect(db_url)
    df = clock.source_freshness(engine)
    assert df.empty and "error_is_latest" in df.columns
    engine.dispose()


def test_the_freshness_line_names_each_source_and_highlights_a_failing_one():
    from dashboard.web import freshness

    now = pd.Timestamp("2025-01-03 12:00", tz="UTC")
    plat = pd.DataFrame(dict(platform=["youtube"], as_of=[pd.Timestamp("2025-01-03 09:00", tz="UTC")],
                             last_import=[now], age_hours=[3.0], stale=[False]))
    src = pd.DataFrame(dict(
        platform=["youtube", "youtube", ""], source=["file", "api", "file"],
        last_success=[pd.Timestamp("2025-01-03 10:00", tz="UTC"), pd.Timestamp("2025-01-03 09:00", tz="UTC"), pd.NaT],
        last_error_at=[pd.NaT, pd.Timestamp("2025-01-03 11:00", tz="UTC"), pd.Timestamp("2025-01-02 11:00", tz="UTC")],
        last_error=[None, "stopped: daily quota used up; next try after 2025-01-04 08:00 UTC", "junk.csv: not a table"],
        error_is_latest=[False, True, True]))
    en = freshness.lines(plat, src, "en", "Asia/Shanghai", now=now)
    yt = en[0]
    assert yt["name"] == "YouTube" and yt["as_of"].startswith("as of") and yt["failing"]
    assert [s["ok"] for s in yt["sources"]] == ["files: last import 2 h ago", "API: last import 3 h ago"]
    assert yt["sources"][1]["error"] == ("last error 3 Jan 2025, 19:00 (API): stopped: daily quota used up; "
                                         "next try after 2025-01-04 08:00 UTC")
    assert en[1]["name"] == "Files that could not be read" and en[1]["as_of"] is None
    zh = freshness.lines(plat, src, "zh", "Asia/Shanghai", now=now)
    assert zh[0]["sources"][0]["ok"] == "文件：上次导入 2小时前"
    li = freshness.items(plat, src, "en", "Asia/Shanghai", now=now)[0]
    assert "failing" in li.className


def test_a_failed_file_imported_later_with_a_mapping_is_no_longer_an_error(sqlite_url):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_mapping import _ambiguous_x, _fixed_mapping

    engine = database.connect(sqlite_url)
    data_ = _ambiguous_x()
    assert Importer(engine, None).import_bytes("a.csv", data_).status == "failed"
    df = clock.source_freshness(engine)
    assert df["last_error"].notna().any()
    assert Importer(engine, None, mapping=_fixed_mapping(data_)).import_bytes("a.csv", data_).status == "imported"
    df = clock.source_freshness(engine)
    assert df["last_error"].isna().all() and set(df["platform"]) == {"x"}


def test_a_demo_is_measured_against_its_own_clock_and_a_real_import_ends_it(sqlite_url):
    """Issue 12: the demo read "677 days ago (stale)" on every platform. Its clock is the moment of
    its last export; the first import that is not the demo's gives real data real time again."""
    from datetime import timezone

    from collectors.demo import campaign as demo

    engine = database.connect(sqlite_url)
    tiktok = [a for a in demo.build_campaign() if a.platform == "tiktok"]
    acc = tiktok[0]
    t = max(p.published for p in acc.posts) + pd.Timedelta(hours=3)
    r = Importer(engine, None, account=acc.handle, demo=True).import_bytes("a.csv", demo.write_tiktok_posts(acc, t))
    assert r.ok
    ledger.set_demo_clock(engine, t)
    ledger.set_demo_clock(engine, t - pd.Timedelta(days=1))  # never back
    assert ledger.demo_clock(engine) == t.astimezone(timezone.utc) == clock.clock(engine)
    plat = clock.freshness(engine)
    assert not plat["stale"].any() and (plat["age_hours"] < 1).all()
    note = freshness.demo_note(ledger.demo_clock(engine), "zh", demo.TZ)
    assert note.children == f"演示数据，截至 {t.year}年{t.month}月{t.day}日"
    assert clock.today(engine, demo.TZ) == t.date()

    other = tiktok[1]
    r = Importer(engine, None, account=other.handle).import_bytes("b.csv", demo.write_tiktok_posts(other, t))
    assert r.ok and ledger.demo_clock(engine) is None
    assert freshness.demo_note(None, "en", demo.TZ) is None
    assert clock.freshness(engine)["stale"].all()  # real time: data of Jan 2025 is old


def test_no_platform_reads_fresher_than_the_clock(demo_db):
    """A day still running when its file was exported describes the day up to the import, not to
    its midnight: the demo read "X as of 28 Jan 2025 08:00, just now" at 27 Jan 23:43."""
    engine = database.connect(f"sqlite:///{demo_db}", create=False)
    try:
        now = pd.Timestamp(clock.clock(engine))
        plat = clock.freshness(engine)
        assert len(plat) >= 9
        assert (plat["as_of"] <= now).all(), plat[plat["as_of"] > now]
        assert (plat["age_hours"] >= 0).all()
    finally:
        engine.dispose()

"""Streaming exports (issue 11): `reach export posts|account-days` and /download/posts.csv write
as they read, in batches, and their bytes are the bytes of the old whole-frame path
(``exports.to_csv_bytes(exports.posts_export_frame(...))``, pandas' filters and times, kept in the
module and used here as the oracle), on the demo campaign and on hostile values, with batches of 3 rows so
that every batch boundary is crossed. XLSX is written row by row and refused, before any file
exists, when it would not fit in a worksheet; no error leaves a partial file."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from collectors.model import METRICS
from collectors.store import database, schema
from conftest import ROOT
from dashboard.analysis import config, exports, listing, metrics, queries, shared
from dashboard.cli import main as reach
from dashboard.web import downloads
from dashboard.web.app import create_app
from dashboard.web.pages import posts as posts_page

CAMPAIGN = config.load(ROOT / "campaign.toml")
S = metrics.Selection


def old_posts_csv(eng, campaign, sel, q=None) -> bytes:
    df = exports.posts_export_frame(eng, campaign, sel)
    if q is not None:
        df = listing.search(df, q)
    return exports.to_csv_bytes(df)


def new_posts_csv(eng, campaign, sel, q=None, batch=3) -> bytes:
    """The streamed export; on SQLite both ways, the lines SQLite builds and the rows formatted
    here (which PostgreSQL and a search take), and they must agree."""
    rows = b"".join(exports.csv_chunks(exports.export_batches(eng, "posts", campaign, sel, q, batch=batch),
                                       exports.POST_COLUMNS))
    lines = b"".join(exports.csv_export(eng, "posts", campaign, sel, q, batch=batch))
    assert lines == rows
    return lines


def new_account_days_csv(eng, batch=3) -> bytes:
    return b"".join(exports.csv_chunks(exports.export_batches(eng, "account-days", batch=batch),
                                       exports.ACCOUNT_DAY_COLUMNS))


@pytest.fixture(scope="module")
def demo(demo_stray_db):
    eng = database.connect(f"sqlite:///{demo_stray_db}")
    yield eng
    eng.dispose()


SELECTIONS = [
    S(),
    S(start=date(2025, 1, 1), end=date(2025, 1, 19)),
    S(start=date(2024, 12, 22)),
    S(end=date(2024, 12, 31)),
    S(platforms=("x", "tiktok")),
    S(start=date(2025, 1, 1), end=date(2025, 1, 19), platforms=("x", "tiktok")),
    S(start=date(2025, 1, 5), end=date(2025, 1, 4)),  # an empty range: the header only
    S(platforms=("nowhere",)),
]


@pytest.mark.parametrize("sel", SELECTIONS, ids=range(len(SELECTIONS)))
def test_the_streamed_posts_export_is_the_old_bytes_on_the_demo(demo, sel):
    old = old_posts_csv(demo, CAMPAIGN, sel)
    assert new_posts_csv(demo, CAMPAIGN, sel) == old
    assert new_posts_csv(demo, CAMPAIGN, sel, batch=50_000) == old


def test_influencer_filters_and_searches_are_the_old_bytes_on_the_demo(demo):
    names = exports.posts_frame(demo)["influencer"].dropna().unique().tolist()
    assert len(names) > 3
    for sel in (S(influencers=tuple(names[:2])), S(influencers=(names[0],), platforms=("x",)),
                S(influencers=("no such person",))):
        assert new_posts_csv(demo, CAMPAIGN, sel) == old_posts_csv(demo, CAMPAIGN, sel)
    for q in ("", "yiwu", "YIWU market", "x", "zz-nothing", "  the  "):
        assert new_posts_csv(demo, CAMPAIGN, S(), q) == old_posts_csv(demo, CAMPAIGN, S(), q)


def test_account_days_stream_is_the_old_bytes_on_the_demo(demo):
    old = exports.to_csv_bytes(exports.account_days_frame(demo))
    assert old.count(b"\r\n") > 10
    assert new_account_days_csv(demo) == old


def test_reach_export_posts_writes_the_old_bytes_to_a_file_and_to_stdout(demo_db, demo, tmp_path, capsysbinary,
                                                                         monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 7)
    sel = S(start=date(2025, 1, 1), end=date(2025, 1, 19), platforms=("x",))
    args = ["--from", "2025-01-01", "--to", "2025-01-19", "--platform", "x", "--db", str(demo_db),
            "--config", str(ROOT / "campaign.toml")]
    out = tmp_path / "posts.csv"
    assert reach(["export", "posts", *args, "-o", str(out)]) == 0
    assert out.read_bytes() == old_posts_csv(demo, CAMPAIGN, sel)
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left beside it
    capsysbinary.readouterr()
    assert reach(["export", "posts", *args]) == 0
    assert capsysbinary.readouterr().out == old_posts_csv(demo, CAMPAIGN, sel)
    assert reach(["export", "account-days", "--db", str(demo_db), "-o", str(tmp_path / "ad.csv")]) == 0
    assert (tmp_path / "ad.csv").read_bytes() == exports.to_csv_bytes(exports.account_days_frame(demo))


def test_the_posts_download_streams_the_old_bytes_with_the_same_headers(demo, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 5)
    app = create_app(demo)
    app.server.config["REACH_CONFIG"] = str(ROOT / "campaign.toml")
    downloads.install(app.server)
    client = app.server.test_client()
    r = client.get("/download/posts.csv?from=2025-01-01&to=2025-01-19&platform=x,tiktok&q=yiwu")
    assert r.status_code == 200 and r.is_streamed
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"] == 'attachment; filename="campaign-reach-posts_2025-01-01_2025-01-19.csv"'
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff"
    sel = S(start=date(2025, 1, 1), end=date(2025, 1, 19), platforms=("x", "tiktok"))
    assert r.data == old_posts_csv(demo, CAMPAIGN, sel, "yiwu")
    # without dates: the campaign window, as before
    window = S(start=CAMPAIGN.start, end=CAMPAIGN.end)
    assert client.get("/download/posts.csv").data == old_posts_csv(demo, CAMPAIGN, window)


# --- hostile values ---------------------------------------------------------------------------

HOSTILE_TEXT = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tTAB", "\rCR", 'say "hi", then', "two\nlines", "crlf\r\nend",
                "陈晓芳 Straße ΣΑΣ 😀", "", None, "'already", " =spaced", "a,b", '"', "=", "ß", "SS"]


def _hostile(url: str):
    """Posts whose every text field is hostile, with huge, NULL and fractional values, some
    known from snapshots and some only from daily rows, and a post with no observation at all."""
    eng = database.connect(url)
    t0 = datetime(2025, 1, 1, 15, 59, 59, 999999)
    with database.write_transaction(eng) as c:
        c.execute(schema.imports.insert(), [dict(id=1, sha256="0" * 64, file_name="f.csv", size_bytes=1, imported_at=t0,
                                                platform="x", rows_read=0, rows_stored=0, rows_rejected=0,
                                                rows_skipped=0, source="file")])
        c.execute(schema.influencers.insert(), [dict(id=k + 1, name=n, category="media") for k, n in
                                               enumerate(["=Evil", "陈晓芳", 'Q"uote', "Line\nBreak"])])
        accounts, posts, snaps, days = [], [], [], []
        for k in range(12):
            accounts.append(dict(id=k + 1, platform=("x", "tiktok", "youtube")[k % 3], account_key=f"k{k}",
                                 handle=HOSTILE_TEXT[k % len(HOSTILE_TEXT)] if k % 4 else None,
                                 name="@name" if k % 5 == 0 else None, influencer_id=(k % 4) + 1 if k % 3 else None))
        for k in range(60):
            text = HOSTILE_TEXT[k % len(HOSTILE_TEXT)]
            posts.append(dict(id=k + 1, platform=("x", "tiktok", "youtube")[k % 3], post_id=f"{1870000000000000000 + k}"
                              if k % 7 else f"=id{k}", account_pk=(k % 12) + 1,
                              published_at=None if k == 13 else t0 + timedelta(hours=7 * k, microseconds=k % 2),
                              url=text if k % 2 else f"https://example.com/{k}", title=text,
                              post_type=None))
            if k % 5 == 4:
                for j in range(3):
                    days.append(dict(post_pk=k + 1, day=date(2025, 1, 1) + timedelta(days=j), import_id=1,
                                     **{m: (None if (k + j) % 4 == 0 else (1.123456789 * k + j if m == "watch_time_s"
                                                                              else k * 10 + j)) for m in METRICS}))
            elif k % 5 != 3:  # every fifth post from k=3 has no observation at all
                for j in range(2):
                    vals = {m: None if (k + i) % 6 == 0 else k * 1000 + j + i for i, m in enumerate(METRICS)}
                    vals["watch_time_s"] = [0.30000000000000004, 1e16, 123456.789012345, 2.00005, -0.0, 1e-7][k % 6]
                    # huge: up to 2**53, which the old path's float64 (the column has NULLs) keeps exact
                    vals["clicks"] = 2 ** 53 - k
                    snaps.append(dict(post_pk=k + 1, captured_at=t0 + timedelta(days=j + 1), import_id=1, **vals))
        c.execute(schema.accounts.insert(), accounts)
        c.execute(schema.posts.insert(), posts)
        c.execute(schema.post_snapshots.insert(), snaps)
        c.execute(schema.post_days.insert(), days)
        c.execute(schema.account_days.insert(), [dict(
            account_pk=a + 1, day=date(2025, 1, 1) + timedelta(days=d), import_id=1, followers=None if d % 3 else 5,
            **{m: None if (a + d + i) % 5 == 0 else (0.1 * d + a if m == "watch_time_s" else a * 100 + d)
               for i, m in enumerate(METRICS)}) for a in range(12) for d in range(4)])
    return eng


def test_hostile_values_stream_to_the_old_bytes(db_url):
    eng = _hostile(db_url)
    campaign = replace(CAMPAIGN, start=None, end=None)
    old = old_posts_csv(eng, campaign, S())
    assert b"'=1+1" in old and b'"two\nlines"' in old and "Straße".encode() in old and b"'=id0" in old
    for batch in (1, 3, 50_000):
        assert new_posts_csv(eng, campaign, S(), batch=batch) == old
    for sel in (S(start=date(2025, 1, 3)), S(end=date(2025, 1, 5)), S(influencers=("=Evil", "陈晓芳")),
                S(platforms=("tiktok",), start=date(2025, 1, 2), end=date(2025, 1, 9))):
        assert new_posts_csv(eng, campaign, sel) == old_posts_csv(eng, campaign, sel)
    for q in ("ss", "STRASSE", "σας", "=", '"', "two lines", "line"):
        assert new_posts_csv(eng, campaign, S(), q) == old_posts_csv(eng, campaign, S(), q), q
    assert new_account_days_csv(eng) == exports.to_csv_bytes(exports.account_days_frame(eng))
    eng.dispose()


def test_times_stored_in_another_shape_get_the_frames_cells_beside_watch_times(sqlite_url):
    # SQLite builds each line with the time rewritten from SQLAlchemy's stored shape
    # ("2025-01-01 07:00:00.000000"); a time stored another way (no microseconds, written by
    # another tool) is left for Python, which must put it in the right cell of the right line.
    eng = _hostile(sqlite_url)
    with eng.begin() as c:
        c.exec_driver_sql("UPDATE posts SET published_at = substr(published_at, 1, 19) WHERE id % 3 = 0")
        c.exec_driver_sql("UPDATE posts SET published_at = substr(published_at, 1, 16) || ':07' WHERE id % 4 = 1")
        odd = c.exec_driver_sql("SELECT count(*) FROM posts WHERE length(published_at) != 26").scalar()
    assert odd >= 20
    campaign = replace(CAMPAIGN, start=None, end=None)
    old = old_posts_csv(eng, campaign, S())
    assert b":07+08:00" in old and b":00:00+08:00" in old  # both shapes are in the export
    for batch in (1, 7, 50_000):
        assert new_posts_csv(eng, campaign, S(), batch=batch) == old
    eng.dispose()


@pytest.mark.parametrize("by", [["platform"], ["influencer", "platform"], ["account"], ["category"]])
def test_the_daily_export_streams_the_frames_bytes_in_pythons_order(db_url, by):
    # Grouped by influencer or account the daily rows are as many as the account-days: they are
    # written a batch at a time, in the order the frame sorts them (Python's, by code point),
    # which PostgreSQL's collation does not give by itself (it puts "a,b" before "SS"). Both come
    # from one statement: PostgreSQL's float sums depend on its plan, down to the last bit.
    from dashboard.analysis import rollups

    eng = _hostile(db_url)
    if eng.dialect.name == "postgresql":  # as in a database created with a language's collation
        with eng.begin() as c:
            for table, column in (("accounts", "handle"), ("influencers", "name"), ("influencers", "category")):
                c.exec_driver_sql(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE text COLLATE "en-US-x-icu"')
    campaign = replace(CAMPAIGN, start=None, end=None)
    rollups.refresh(eng, campaign)
    for sel in (metrics.Selection(), metrics.Selection(start=date(2025, 1, 2), platforms=("x", "youtube")),
                metrics.Selection(start=date(2031, 1, 1))):
        frame = exports.daily_frame_db(eng, campaign, by=by, sel=sel)
        keys = list(zip(*[frame[c] for c in by + ["date"]]))
        assert keys == sorted(keys)  # the engine's order: Python's
        whole = exports.to_csv_bytes(frame)
        lines = whole.count(b"\r\n") - 1
        if sel.start != date(2031, 1, 1):
            assert lines > 3
        for batch in (1, 4, None):
            counted = []
            assert b"".join(exports.daily_csv(eng, campaign, by=by, sel=sel, batch=batch, counted=counted)) == whole
            assert sum(counted) == lines
    eng.dispose()


def test_reach_export_daily_streams_to_a_file_and_stdout(demo_db, tmp_path, capsysbinary):
    from dashboard.analysis import rollups

    eng = database.connect(f"sqlite:///{demo_db}")
    rollups.refresh(eng, CAMPAIGN, [])
    # Without --from/--to: the campaign window, as the pages and their downloads (issue 12).
    window = S(start=CAMPAIGN.start, end=CAMPAIGN.end)
    whole = exports.to_csv_bytes(exports.daily_frame_db(eng, CAMPAIGN, by=["influencer", "platform"], sel=window))
    eng.dispose()
    out = tmp_path / "daily.csv"
    assert reach(["export", "daily", "--by", "influencer,platform", "-o", str(out), "--db", f"sqlite:///{demo_db}",
                  "--config", str(ROOT / "campaign.toml")]) == 0
    assert out.read_bytes() == whole
    rows = whole.count(b"\r\n") - 1
    assert f"wrote {rows} rows".encode() in capsysbinary.readouterr().err
    assert reach(["export", "daily", "--by", "influencer,platform", "--db", f"sqlite:///{demo_db}",
                  "--config", str(ROOT / "campaign.toml")]) == 0
    assert capsysbinary.readouterr().out == whole


def test_a_huge_count_beside_an_unknown_one_is_written_exactly(sqlite_url):
    # pandas' Int64 path goes through float64 when a column holds NULLs, so the old frame wrote
    # 2**53 + 1 as ...992: the streamed export writes the stored integer.
    eng = _hostile(sqlite_url)
    with eng.begin() as c:
        c.execute(schema.post_snapshots.update().where(schema.post_snapshots.c.post_pk == 1).values(views=2 ** 53 + 1))
    data = new_posts_csv(eng, CAMPAIGN, S())
    assert f",{2 ** 53 + 1},".encode() in data
    eng.dispose()


@pytest.mark.parametrize("tzname, day", [
    # St. John's, 2010-11-07: clocks went from 00:01 back to 23:01 of the 6th, so the local day
    # steps back for an hour (the 7th, then the 6th again, then the 7th).
    ("America/St_Johns", date(2010, 11, 7)),
    # Sao Paulo, 2018-11-04: from 00:00 straight to 01:00, a midnight that never was.
    ("America/Sao_Paulo", date(2018, 11, 4)),
    # and a repeated hour before a midnight (2018-02-17 23:00-24:00 twice)
    ("America/Sao_Paulo", date(2018, 2, 18)),
])
def test_days_are_cut_in_the_campaign_timezone_across_daylight_saving_changes(sqlite_url, tzname, day):
    eng = _hostile(sqlite_url)
    base = datetime.combine(day, datetime.min.time()) - timedelta(days=1)
    with eng.begin() as c:
        stamps = [base + timedelta(minutes=m, seconds=m % 60) for m in range(0, 60 * 72, 7)]
        stamps += [base + timedelta(days=1, hours=h, minutes=mi, seconds=s)  # around every hour of the day itself
                   for h in range(8) for mi in (0, 1, 29, 30, 31, 59) for s in (0, 59)]
        c.execute(schema.posts.insert(), [dict(platform="x", post_id=f"dst{k}", account_pk=1, title="t", published_at=t)
                                         for k, t in enumerate(sorted(set(stamps)))])
    campaign = replace(CAMPAIGN, timezone=tzname, start=None, end=None)
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    for start, end in ((day, day), (day, None), (None, day), (before, before), (None, before), (after, None),
                       (before, after)):
        sel = S(start=start, end=end)
        old = old_posts_csv(eng, campaign, sel)
        assert old.count(b"\r\n") > 2, (start, end)
        assert new_posts_csv(eng, campaign, sel, batch=50) == old, (start, end)
    eng.dispose()


@pytest.mark.parametrize("tzname", ["Asia/Shanghai", "Europe/Berlin", "America/St_Johns", "Australia/Lord_Howe",
                                    "Asia/Kathmandu", "Pacific/Apia", "UTC"])
def test_times_are_written_in_the_campaign_timezone_by_the_database_as_python_writes_them(db_url, tzname):
    # SQLite and PostgreSQL move each time by the zone's offset (a CASE over the zone's changes, exports._offset_spans);
    # Python's astimezone is the oracle: a second either side of every change of offset over some
    # years (a half-hour summer time, a day that never was), microseconds that must not round up,
    # and times outside the years the SQL knows, which Python writes.
    eng = _hostile(db_url)
    spans = exports._offset_spans(tzname)
    edges = [t for t, _ in spans[1:] if t.year in (1971, 1983, 2011, 2024, 2025, 2099)]
    stamps = [e + timedelta(seconds=d, microseconds=u) for e in edges for d in (-3601, -1, 0, 1, 3600)
              for u in (0, 999999)]
    stamps += [datetime(1969, 12, 31, 23, 59, 59), datetime(1970, 1, 1), datetime(2099, 12, 31, 23, 59, 59, 999999),
               datetime(2100, 1, 1), datetime(1900, 6, 1, 12), datetime(2150, 7, 1, 12), datetime(2024, 12, 22, 1, 30)]
    with eng.begin() as c:
        c.execute(schema.posts.insert(), [dict(id=1000 + k, platform="x", post_id=f"tz{k}", account_pk=1, title="t",
                                               published_at=t)
                                         for k, t in enumerate(sorted(set(stamps)))])
    campaign = replace(CAMPAIGN, timezone=tzname, start=None, end=None)
    old = old_posts_csv(eng, campaign, S())
    assert new_posts_csv(eng, campaign, S(), batch=40) == old
    tz = campaign.tz
    for t in stamps:  # each as Python writes it, offset included
        assert t.replace(tzinfo=timezone.utc).astimezone(tz).isoformat().encode() in old, t
    if tzname == "Asia/Shanghai":
        assert b",2024-12-22T09:30:00+08:00," in old
    eng.dispose()


def test_a_post_stored_after_the_time_bounds_were_read_is_written_by_python(db_url, monkeypatch):
    # The SQL knows the offsets between the earliest and latest stored times, read just before the
    # export's statement; a post stored in between lies outside them, and must not get a wrong offset.
    eng = _hostile(db_url)
    campaign = replace(CAMPAIGN, timezone="Europe/Berlin", start=None, end=None)
    old = old_posts_csv(eng, campaign, S())
    real = exports._stored_time_bounds
    bounds = (datetime(2025, 1, 3), datetime(2025, 1, 5)) if eng.dialect.name == "postgresql" else (
        "2025-01-03 00:00:00", "2025-01-05 00:00:00")
    assert old.count(b"\r\n") > 40
    monkeypatch.setattr(exports, "_stored_time_bounds", lambda conn: bounds)
    assert new_posts_csv(eng, campaign, S(), batch=7) == old
    monkeypatch.setattr(exports, "_stored_time_bounds", lambda conn: None)  # "no posts" when asked
    assert new_posts_csv(eng, campaign, S(), batch=7) == old
    monkeypatch.setattr(exports, "_stored_time_bounds", real)
    if eng.dialect.name != "sqlite":  # only SQLite keeps times as text, in more than one shape
        return
    with eng.begin() as c:  # a time in a shape the bounds' text compare cannot order: all in Python
        c.exec_driver_sql("UPDATE posts SET published_at = '2025-01-02T03:04:05' WHERE id = 2")
    assert new_posts_csv(eng, campaign, S(), batch=7) == old_posts_csv(eng, campaign, S())
    eng.dispose()


def test_a_local_day_that_steps_back_is_two_ranges_of_utc_times():
    ranges = exports._utc_ranges(date(2010, 11, 7), None, "America/St_Johns")
    assert ranges == ((datetime(2010, 11, 7, 2, 30), datetime(2010, 11, 7, 2, 31)), (datetime(2010, 11, 7, 3, 30), None))
    assert exports._utc_ranges(date(2025, 1, 1), date(2025, 1, 1), "Asia/Shanghai") == \
        ((datetime(2024, 12, 31, 16), datetime(2025, 1, 1, 16)),)
    assert exports._utc_ranges(date(2025, 1, 2), date(2025, 1, 1), "Asia/Shanghai") == ()


# --- XLSX ---------------------------------------------------------------------------------------

def _values(path_or_bytes) -> list[tuple]:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    ws = openpyxl.load_workbook(src, read_only=True).worksheets[0]
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    # An empty cell and one never written read the same: None up to the header's width.
    return [r + (None,) * (len(rows[0]) - len(r)) for r in rows]


def test_xlsx_is_written_row_by_row_with_the_old_values(db_url, tmp_path, monkeypatch):
    eng = _hostile(db_url)
    # openpyxl refuses control characters in a cell; the XLSX path's hostile text has none
    with eng.begin() as c:
        for t in (schema.posts, schema.accounts):
            for col in [x for x in ("title", "url", "handle") if x in t.c]:
                c.execute(t.update().values({col: sa.func.replace(sa.func.replace(t.c[col], "\r", "r"), "\t", "t")}))
    campaign = replace(CAMPAIGN, start=None, end=None)
    out = tmp_path / "posts.xlsx"
    n = exports.write_xlsx(out, exports.export_batches(eng, "posts", campaign, S(), batch=3), exports.POST_COLUMNS, "posts")
    old = exports.to_xlsx_bytes(exports.posts_export_frame(eng, campaign), "posts")
    assert n == 60 and _values(out) == _values(old)
    assert openpyxl.load_workbook(out).sheetnames == ["posts"]
    assert ("'=1+1" in {r[6] for r in _values(out)})
    out2 = tmp_path / "ad.xlsx"
    exports.write_xlsx(out2, exports.export_batches(eng, "account-days", batch=3), exports.ACCOUNT_DAY_COLUMNS)
    assert _values(out2) == _values(exports.to_xlsx_bytes(exports.account_days_frame(eng)))
    eng.dispose()


def test_an_xlsx_bigger_than_a_worksheet_is_refused_before_any_file_exists(demo_db, tmp_path, capsys, monkeypatch):
    n_posts = len(exports.posts_frame(database.connect(f"sqlite:///{demo_db}")))
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", n_posts)  # the header makes one row too many
    out = tmp_path / "posts.xlsx"
    assert reach(["export", "posts", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{n_posts:,} rows do not fit" in err and f"{n_posts:,} rows including the header" in err
    assert "--format csv" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", n_posts + 1)  # exactly full: written
    assert reach(["export", "posts", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"), "-o", str(out)]) == 0
    assert len(_values(out)) == n_posts + 1
    # the metrics exports are refused the same way
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 3)
    assert reach(["export", "weekly", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"),
                  "-o", str(tmp_path / "w.xlsx")]) == 1
    assert "rows do not fit" in capsys.readouterr().err and not (tmp_path / "w.xlsx").exists()


def test_a_failure_halfway_leaves_no_partial_file_and_keeps_the_old_one(demo_db, tmp_path, monkeypatch, capsys):
    real = exports.export_batches

    def failing(*a, **k):
        for i, b in enumerate(real(*a, **k)):
            if i == 2:
                raise exports.ReachError("the disk went away")
            yield b

    real_floats, calls = exports._float_cells, []

    def failing_floats(values):  # the CSV path on SQLite formats each batch's floats once
        calls.append(1)
        if len(calls) == 3:
            raise exports.ReachError("the disk went away")
        return real_floats(values)

    monkeypatch.setattr(exports, "BATCH", 4)
    monkeypatch.setattr(exports, "export_batches", failing)
    monkeypatch.setattr(exports, "_float_cells", failing_floats)
    out = tmp_path / "posts.csv"
    out.write_bytes(b"yesterday's export")
    for target in (out, tmp_path / "new.xlsx"):
        assert reach(["export", "posts", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"),
                      "-o", str(target)]) == 1
        assert "the disk went away" in capsys.readouterr().err
    assert out.read_bytes() == b"yesterday's export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posts.csv"]


def test_an_output_folder_that_does_not_exist_is_a_one_line_error(demo_db, tmp_path, capsys):
    assert reach(["export", "posts", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"),
                  "-o", str(tmp_path / "nope" / "posts.csv")]) == 1
    err = capsys.readouterr().err
    assert "cannot write there" in err and "Traceback" not in err


# --- the Posts page: blocks read in SQL are the rows the whole-table code gave ---------------------

SORTS = [None, [{"colId": "views", "sort": "desc"}], [{"colId": "views", "sort": "asc"}],
         [{"colId": "er_views", "sort": "desc"}], [{"colId": "er_impressions", "sort": "asc"}],
         [{"colId": "engagements", "sort": "desc"}], [{"colId": "impressions", "sort": "asc"}],
         [{"colId": "published_at", "sort": "desc"}], [{"colId": "published_at", "sort": "asc"}],
         [{"colId": "platform", "sort": "asc"}], [{"colId": "platform", "sort": "desc"}],
         [{"colId": "title", "sort": "asc"}], [{"colId": "influencer", "sort": "desc"}],
         [{"colId": "url", "sort": "asc"}, {"colId": "views", "sort": "asc"}], [{"colId": "nonsense", "sort": "asc"}]]


def _old_page(eng, campaign, sel, q, request, lang="en"):
    table = listing.post_table(exports.posts_frame(eng), campaign, sel, listing._categories(eng))
    return posts_page.page_of(listing.search(table, q), request, lang, campaign.tz)


def _new_page(eng, campaign, sel, q, request, lang="en"):
    found = listing.Listing(eng, campaign, sel, q, request.get("sortModel"), lang)
    return {"rowData": posts_page.grid_rows(found.block(request["startRow"], request["endRow"]), lang, campaign.tz),
            "rowCount": found.total}


def _page_cases(eng, campaign, names, q_list):
    sels = [S(), S(start=date(2025, 1, 1), end=date(2025, 1, 19)), S(platforms=("x", "tiktok")),
            S(influencers=tuple(names[:2])), S(categories=("unassigned",)), S(categories=("media", "nope")),
            S(start=date(2025, 1, 5), end=date(2025, 1, 4))]
    checked = 0
    frame, categories = exports.posts_frame(eng), listing._categories(eng)
    ranges = ((0, 7), (5, 40), (30, 1000))
    for k, sel in enumerate(sels):
        # The old whole-table code once per selection and search (it recomputed the table for
        # every block); the new code runs its SQL for every block. Every sort on the first three
        # selections, three kinds of sort (default, SQL, casefold) on the rest; each sort meets
        # each search and each block in turn (pairs, not the whole cross product: the cross
        # product took 24 s and found nothing the pairs miss, since the search, the sort and the
        # block are separate clauses of the statement).
        tables = {q: listing.search(listing.post_table(frame, campaign, sel, categories), q) for q in q_list}
        for i, sort in enumerate(SORTS if k < 3 else [SORTS[0], SORTS[1], SORTS[11]]):
            q = q_list[(i + k) % len(q_list)]
            start, end = ranges[(i + 2 * k) % len(ranges)]
            req = {"startRow": start, "endRow": end, "sortModel": sort}
            old = posts_page.page_of(tables[q], req, "en", campaign.tz)
            assert _new_page(eng, campaign, sel, q, req) == old, (sel, q, sort, start)
            checked += len(old["rowData"])
    assert checked > 100


def test_the_posts_page_blocks_are_the_old_rows_on_the_demo(demo, monkeypatch):
    monkeypatch.setenv("REACH_CACHE_DIR", "off")
    names = queries.influencer_names(demo)
    assert any(n.endswith(" (unassigned)") for n in names)  # the stray account of ``demo_stray_db``
    _page_cases(demo, CAMPAIGN, [n for n in names if not n.endswith("(unassigned)")][:1] +
                [n for n in names if n.endswith("(unassigned)")][:1], ["", "yiwu", "market  x"])


def test_the_posts_page_blocks_are_the_old_rows_on_hostile_values(db_url, monkeypatch):
    monkeypatch.setenv("REACH_CACHE_DIR", "off")
    eng = _hostile(db_url)
    campaign = replace(CAMPAIGN, start=None, end=None)
    names = queries.influencer_names(eng)
    assert "=Evil" in names and any(n.endswith(" (unassigned)") for n in names)
    _page_cases(eng, campaign, ["=Evil", [n for n in names if n.endswith(" (unassigned)")][0]], ["", "ss", "σας"])
    eng.dispose()


def test_the_filter_bar_names_are_the_frames_names(demo):
    from dashboard.analysis import queries

    assert queries.influencer_names(demo) == sorted(queries.load_frames(demo).posts["influencer"].dropna().unique())


def test_with_the_shared_cache_the_blocks_are_the_same(demo, tmp_path, monkeypatch):
    from dashboard.web import cache

    monkeypatch.setenv("REACH_CACHE_DIR", str(tmp_path / "cache"))
    app = create_app(demo)
    app.server.config["REACH_CONFIG"] = str(ROOT / "campaign.toml")
    sel = S(start=date(2025, 1, 1), end=date(2025, 1, 19))
    with app.server.test_request_context("/"):
        assert cache._cache() is not None
        for sort in (None, [{"colId": "er_views", "sort": "asc"}], [{"colId": "title", "sort": "asc"}]):
            for q in ("", "yiwu"):
                for start, end in ((0, 9), (9, 30), (0, 9)):  # the last one from the cache
                    req = {"startRow": start, "endRow": end, "sortModel": sort}
                    assert _new_page(demo, CAMPAIGN, sel, q, req) == _old_page(demo, CAMPAIGN, sel, q, req)
        assert shared.stats["hits"] > 0

"""The import pipeline end to end: snapshot times, all-or-nothing files, rebuild from the archive."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from collectors.archive import Archive
from collectors.pipeline import Importer, capture_time_from_name, rebuild
from collectors.roster import apply_roster, load_roster
from collectors.store import database, schema
from dashboard.analysis import exports
from dashboard.analysis.config import Campaign

from test_store import count, x_content, x_overview


@pytest.fixture
def engine(sqlite_url):
    e = database.connect(sqlite_url)
    yield e
    e.dispose()


def test_snapshot_time_comes_from_the_date_range_in_the_file_name():
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    assert capture_time_from_name("account_analytics_content_2025-11-02_2025-11-09.csv", tz) == datetime(2025, 11, 9, 16, tzinfo=timezone.utc)
    assert capture_time_from_name("tweet_activity_metrics_rOpenSci_20200301_20200401_en.csv", tz) == datetime(2020, 4, 1, 16, tzinfo=timezone.utc)
    assert capture_time_from_name("Dec-16-2024_Dec-23-2024_1039829308656930.csv", tz) == datetime(2024, 12, 23, 16, tzinfo=timezone.utc)
    assert capture_time_from_name("Table data.csv", tz) is None


def test_the_import_record_says_where_the_snapshot_time_came_from(engine):
    data = x_content([("1870000000000000001", 1200, 30)])
    when = datetime(2024, 12, 30, 9, 15, tzinfo=timezone.utc)
    r1 = Importer(engine, None).import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv", data)
    r2 = Importer(engine, None, as_of=when).import_bytes("whatever_2024-12-16_2024-12-22.csv", data + b"\n")
    imported_at = datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc)
    r3 = Importer(engine, None).import_bytes("posts.csv", data + b"\n\n", imported_at=imported_at)
    assert (r1.captured_at_source, r2.captured_at_source, r3.captured_at_source) == ("file name", "--as-of", "import time")
    assert r2.captured_at == when and r3.captured_at == imported_at
    with engine.connect() as c:
        got = c.execute(sa.select(schema.imports.c.captured_at_source, schema.imports.c.captured_at)
                        .order_by(schema.imports.c.id)).all()
    assert got == [("file name", datetime(2024, 12, 22, 16)), ("--as-of", datetime(2024, 12, 30, 9, 15)),
                   ("import time", datetime(2025, 1, 2, 3, 4))]


def test_a_zip_with_one_broken_table_imports_nothing_at_all(engine):
    good = x_content([("1870000000000000001", 1200, 30)])
    broken = x_overview([("not a date", 5, 1), ("also not", 6, 2)])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("account_analytics_content_2024-12-16_2024-12-22.csv", good)
        z.writestr("account_overview_analytics.csv", broken)
    r = Importer(engine, None).import_bytes("both.zip", buf.getvalue())
    assert r.status == "failed"
    assert "every one of 2 rows was rejected" in r.message and "not a date" in r.message
    assert count(engine, schema.posts) == 0 and count(engine, schema.imports) == 0
    assert count(engine, schema.import_failures) == 1


def test_strict_mode_refuses_a_file_with_a_rejected_row(engine):
    data = x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 800, 10)]).replace(b",800,", b",8OO,")
    r = Importer(engine, None, strict=True).import_bytes("a_2024-12-16_2024-12-22.csv", data)
    assert r.status == "failed" and "--strict" in r.message
    assert count(engine, schema.posts) == 0


def test_rebuild_from_the_archive_recreates_the_same_data(tmp_path, engine):
    archive = Archive(tmp_path / "archive")
    imp = Importer(engine, archive)
    imp.import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv", x_content([("1870000000000000001", 1200, 30)]))
    Importer(engine, archive, account="jinhub_yiwu").import_bytes(
        "account_overview_analytics.csv", x_overview([("Sun, Dec 22, 2024", 5000, 70)]))
    imp.import_bytes("no_date_in_name.csv", x_content([("1870000000000000001", 1500, 41)]))
    from collectors.roster import import_roster

    import_roster(engine, archive, "roster.csv", b"name,category,platform,handle\nJin Hub Office,official,x,jinhub_yiwu\n")
    before = exports.posts_frame(engine), exports.account_days_frame(engine)
    with engine.connect() as c:
        snaps_before = c.execute(sa.select(schema.post_snapshots.c.captured_at).order_by(schema.post_snapshots.c.captured_at)).all()
    results = rebuild(engine, archive)
    assert [r.status for r in results] == ["imported"] * 4
    assert results[-1].line().endswith("roster applied")
    after = exports.posts_frame(engine), exports.account_days_frame(engine)
    with engine.connect() as c:
        snaps_after = c.execute(sa.select(schema.post_snapshots.c.captured_at).order_by(schema.post_snapshots.c.captured_at)).all()
    assert snaps_after == snaps_before  # the import time of a dateless file is the original one
    assert before[0].equals(after[0]) and before[1].equals(after[1])
    assert after[1]["account"].tolist() == ["jinhub_yiwu"]
    assert after[0]["influencer"].tolist() == ["Jin Hub Office"]  # the roster was replayed too


def test_roster_maps_accounts_and_leaves_others_unassigned(engine):
    Importer(engine, None).import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv",
                                        x_content([("1870000000000000001", 1200, 30)], handle="ChenWei_Yiwu"))
    Importer(engine, None).import_bytes("account_analytics_content_2024-12-16_2024-12-23.csv",
                                        x_content([("1870000000000000009", 50, 1)], handle="someone_else"))
    roster = "name,category,platform,handle,account_id\nChen Wei,official,X,@chenwei_yiwu,\nAmina Diallo,foreign resident,instagram,amina.in.yiwu,\n"
    c = apply_roster(engine, load_roster("roster.csv", roster.encode()))
    assert c == dict(influencers=2, accounts_linked=2, accounts_created=1)
    df = exports.posts_frame(engine).set_index("post_id")
    assert df.loc["1870000000000000001", "influencer"] == "Chen Wei"
    assert df.loc["1870000000000000009", "influencer"] is None or str(df.loc["1870000000000000009", "influencer"]) in ("None", "nan", "<NA>")
    again = apply_roster(engine, load_roster("roster.csv", roster.encode()))
    assert again["influencers"] == 0 and again["accounts_created"] == 0


def test_a_big_roster_reads_each_platforms_accounts_once(engine):
    # A roster of a big programme (thousands of accounts) once read every account of the
    # platform again for each row: quadratic, 90 s for 6,800 rows on PostgreSQL.
    lines = ["name,category,platform,handle"] + [f"Person {i},merchant,{p},h{p}{i}"
                                                 for i in range(300) for p in ("x", "youtube")]
    reads = []

    def count_reads(conn, cursor, statement, *a):
        if statement.lstrip().upper().startswith("SELECT") and "FROM accounts" in statement:
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count_reads)
    try:
        c = apply_roster(engine, load_roster("roster.csv", "\n".join(lines).encode()))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count_reads)
    assert c["accounts_created"] == 600 and c["accounts_linked"] == 600
    assert len(reads) <= 2, f"{len(reads)} reads of the accounts table for 2 platforms"


def test_a_roster_with_a_bad_platform_is_refused_whole_naming_the_line():
    from collectors.errors import StructureError

    bad = "name,category,platform,handle\nChen Wei,official,x,chenwei\nLi Na,merchant,myspace,lina\n"
    with pytest.raises(StructureError, match=r"roster.csv, line 3, column \"platform\": 'myspace'"):
        load_roster("roster.csv", bad.encode())


def test_export_csv_has_a_bom_iso_dates_and_neutralised_formulas(engine):
    data = x_content([("1870000000000000001", 1200, 30)]).replace(b"Launch in Yiwu", b"=HYPERLINK(1)")
    Importer(engine, None).import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv", data)
    out = exports.to_csv_bytes(exports.posts_export_frame(engine, Campaign()))  # Asia/Shanghai
    assert out.startswith(b"\xef\xbb\xbf")
    text = out[3:].decode()
    header, row = text.splitlines()[:2]
    assert header == ",".join(exports.POST_COLUMNS)
    assert "'=HYPERLINK(1)" in row
    assert "2024-12-22T00:00:00+08:00" in row  # "Sun, Dec 22, 2024": midnight in Asia/Shanghai, written there
    cells = row.split(",")
    assert cells[exports.POST_COLUMNS.index("views")] == ""  # unknown stays empty, never 0
    assert cells[exports.POST_COLUMNS.index("impressions")] == "1200"


# YouTube Studio's Table data: the Total row, a video of the range and one published before it.
YT_TABLE = ("Content,Video title,Video publish time,Duration,Views,Watch time (hours),Subscribers,Impressions,"
            "Impressions click-through rate (%)\n"
            "Total,,,,1500,10.5,3,9000,4.1\n"
            "aaaaaaaaaaa,Launch day in Yiwu,\"Dec 22, 2024\",60,1200,8.0,2,7000,4.0\n"
            "bbbbbbbbbbb,An older video,\"Nov 2, 2024\",90,300,2.5,1,2000,4.5\n")


def test_youtube_range_totals_of_videos_older_than_the_range_are_not_stored_as_lifetime(engine):
    table = YT_TABLE
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Table data.csv", table)
    r = Importer(engine, None).import_bytes("Content 2024-12-16_2024-12-29 Jin Hub Channel.zip", buf.getvalue())
    assert r.status == "imported", r.message
    assert r.snapshots == 1
    assert r.skipped["range totals of videos published before the range starts (not lifetime)"] == 1
    with engine.connect() as c:
        assert c.execute(sa.select(schema.posts.c.post_id)).scalars().all() == ["aaaaaaaaaaa"]


def test_formula_cells_without_saved_values_are_said_under_the_result_line(tmp_path):
    import io
    import sys
    from pathlib import Path

    import openpyxl

    sys.path.insert(0, str(Path(__file__).parent))
    from localize import english

    name, data = english()["linkedin"]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["All posts"] if "All posts" in wb.sheetnames else wb.worksheets[-1]
    ws.cell(row=ws.max_row, column=ws.max_column, value="=1+1")  # saved by a script: no cached value
    buf = io.BytesIO()
    wb.save(buf)
    from collectors.store import database

    engine = database.connect(f"sqlite:///{tmp_path / 'r.db'}")
    r = Importer(engine, None).import_bytes(name, buf.getvalue())
    assert r.status == "imported", r.message
    assert any("formula" in d and "no saved value" in d for d in r.detection), r.detection
    assert "formula" in r.line()

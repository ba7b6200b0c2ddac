"""The store on SQLite and on the real PostgreSQL: schema, migrations, idempotent writes."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
import sqlalchemy as sa

from collectors.errors import StoreError
from collectors.pipeline import Importer
from collectors.store import database, ledger, schema

CONTENT_HEADER = ["Post id", "Date", "Post text", "Post Link", "Impressions", "Likes", "Engagements", "Bookmarks",
                  "Shares", "New follows", "Replies", "Reposts", "Profile visits", "Detail Expands", "URL Clicks",
                  "Hashtag Clicks", "Permalink Clicks"]
OVERVIEW_HEADER = ["Date", "Impressions", "Likes", "Engagements", "Bookmarks", "Shares", "New follows", "Unfollows",
                   "Replies", "Reposts", "Profile visits", "Create Post", "Video views", "Media views"]


def x_content(rows: list[tuple[str, int, int]], handle="jinhub_yiwu") -> bytes:
    """An X Premium content export: (post id, impressions, likes) per post."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CONTENT_HEADER)
    for pid, imp, likes in rows:
        w.writerow([pid, "Sun, Dec 22, 2024", f"Launch in Yiwu {pid}", f"https://x.com/{handle}/status/{pid}",
                    imp, likes, likes + 3, 1, 0, 0, 2, 1, 4, 5, 6, 0, 0])
    return buf.getvalue().encode()


def x_overview(rows: list[tuple[str, object, object]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(OVERVIEW_HEADER)
    for day, imp, likes in rows:
        w.writerow([day, imp, likes, 9, 1, 0, 2, 0, 1, 1, 3, 1, 0, 0])
    return buf.getvalue().encode()


def count(engine, table) -> int:
    with engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_a_new_database_has_the_latest_schema_version_and_every_table(db_url):
    engine = database.connect(db_url)
    with engine.connect() as c:
        assert schema.schema_version(c) == schema.SCHEMA_VERSION
        names = set(sa.inspect(c).get_table_names())
    assert set(schema.metadata.tables) <= names
    engine.dispose()


def test_a_database_made_by_schema_version_1_opens_and_keeps_its_data(db_url):
    engine = sa.create_engine(database.resolve_url(db_url))
    database.migrate(engine, upto=1)
    with engine.begin() as c:
        assert not sa.inspect(c).has_table("import_problems")
        c.execute(schema.influencers.insert().values(name="Chen Wei", category="official"))
    engine.dispose()
    engine = database.connect(db_url)
    with engine.connect() as c:
        assert schema.schema_version(c) == schema.SCHEMA_VERSION
        assert sa.inspect(c).has_table("import_problems")
        assert c.execute(sa.select(schema.influencers.c.name)).scalar() == "Chen Wei"
    engine.dispose()


def test_a_database_from_a_newer_version_is_refused_with_a_clear_message(db_url):
    engine = database.connect(db_url)
    with engine.begin() as c:
        c.execute(schema.meta_table.update().values(value=str(schema.SCHEMA_VERSION + 1)))
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this program"):
        database.connect(db_url)


def test_post_ids_stay_19_digit_strings_and_missing_metrics_stay_null(db_url):
    engine = database.connect(db_url)
    ids = ["1870000000000000001", "1870000000000000002"]
    r = Importer(engine, None).import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv",
                                            x_content([(ids[0], 1200, 30), (ids[1], 800, 10)]))
    assert r.status == "imported", r.message
    with engine.connect() as c:
        got = c.execute(sa.select(schema.posts.c.post_id).order_by(schema.posts.c.post_id)).scalars().all()
        snap = c.execute(sa.select(schema.post_snapshots)).mappings().all()
    assert got == ids
    assert sorted(s["impressions"] for s in snap) == [800, 1200]
    assert all(s["views"] is None and s["reach"] is None for s in snap)  # X reports neither
    engine.dispose()


def test_reimporting_identical_bytes_changes_nothing_and_says_so(db_url):
    engine = database.connect(db_url)
    data = x_content([("1870000000000000001", 1200, 30)])
    imp = Importer(engine, None)
    first = imp.import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv", data)
    again = imp.import_bytes("renamed copy.csv", data)
    assert first.status == "imported" and again.status == "already imported"
    assert "already imported" in again.line()
    assert count(engine, schema.imports) == 1 and count(engine, schema.post_snapshots) == 1
    engine.dispose()


def test_a_later_export_of_the_same_posts_adds_a_snapshot_not_a_post(db_url):
    engine = database.connect(db_url)
    imp = Importer(engine, None)
    imp.import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv", x_content([("1870000000000000001", 1200, 30)]))
    imp.import_bytes("account_analytics_content_2024-12-16_2024-12-23.csv", x_content([("1870000000000000001", 1500, 41)]))
    assert count(engine, schema.posts) == 1
    with engine.connect() as c:
        snaps = c.execute(sa.select(schema.post_snapshots.c.captured_at, schema.post_snapshots.c.impressions)
                          .order_by(schema.post_snapshots.c.captured_at)).all()
    # End of 22 and 23 Dec in Asia/Shanghai, i.e. 16:00 UTC on those days.
    assert snaps == [(datetime(2024, 12, 22, 16, 0), 1200), (datetime(2024, 12, 23, 16, 0), 1500)]
    engine.dispose()


def test_a_later_account_day_export_overwrites_what_it_has_and_keeps_what_it_lacks(db_url):
    engine = database.connect(db_url)
    imp = Importer(engine, None, account="jinhub_yiwu")
    imp.import_bytes("account_overview_analytics.csv", x_overview([("Sun, Dec 22, 2024", 5000, 70), ("Sat, Dec 21, 2024", 900, 8)]))
    # X revises recent days; the revision here has no likes figure for the 22nd.
    imp.import_bytes("account_overview_analytics (1).csv", x_overview([("Sun, Dec 22, 2024", 5300, "")]))
    with engine.connect() as c:
        rows = c.execute(sa.select(schema.account_days.c.day, schema.account_days.c.impressions, schema.account_days.c.likes)
                         .order_by(schema.account_days.c.day)).all()
    assert [(str(d), i, l) for d, i, l in rows] == [("2024-12-21", 900, 8), ("2024-12-22", 5300, 70)]
    engine.dispose()


def test_rejected_rows_are_kept_with_the_import_record(db_url):
    engine = database.connect(db_url)
    data = x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 800, 10)])
    data = data.replace(b",800,", b",eight hundred,")
    r = Importer(engine, None).import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv", data)
    assert r.status == "imported" and r.rejected == 1
    with engine.connect() as c:
        prob = c.execute(sa.select(schema.import_problems)).mappings().one()
        imp = c.execute(sa.select(schema.imports)).mappings().one()
    assert (prob["line"], prob["column_name"], prob["value"]) == (3, "Impressions", "eight hundred")
    assert (imp["rows_read"], imp["rows_stored"], imp["rows_rejected"]) == (2, 1, 1)
    engine.dispose()


def test_a_schema_2_database_gains_the_followers_columns_when_opened(db_url):
    engine = sa.create_engine(database.resolve_url(db_url))
    database.migrate(engine, upto=1)
    with engine.begin() as c:  # what version 2 of the program made: no followers columns
        c.execute(sa.text("ALTER TABLE accounts DROP COLUMN followers"))
        c.execute(sa.text("ALTER TABLE account_days DROP COLUMN followers"))
    database.migrate(engine, upto=2)
    engine.dispose()
    engine = database.connect(db_url)
    with engine.connect() as c:
        assert schema.schema_version(c) == schema.SCHEMA_VERSION
        for t in ("accounts", "account_days"):
            assert "followers" in {col["name"] for col in sa.inspect(c).get_columns(t)}
    engine.dispose()


def test_a_schema_4_database_gains_sources_and_collector_state_and_keeps_its_imports(db_url):
    engine = sa.create_engine(database.resolve_url(db_url))
    database.migrate(engine, upto=1)
    with engine.begin() as c:  # what version 4 of the program made: no source columns
        c.execute(sa.text("ALTER TABLE imports DROP COLUMN source"))
        c.execute(sa.text("ALTER TABLE import_failures DROP COLUMN source"))
        c.execute(sa.text("ALTER TABLE import_failures DROP COLUMN platform"))
        c.execute(sa.text(
            "INSERT INTO imports (sha256, file_name, size_bytes, imported_at, rows_read, rows_stored,"
            " rows_rejected, rows_skipped) VALUES ('ab', 'old.csv', 3, '2025-01-01 00:00:00', 1, 1, 0, 0)"))
    database.migrate(engine, upto=4)
    engine.dispose()
    engine = database.connect(db_url)
    with engine.connect() as c:
        assert schema.schema_version(c) == schema.SCHEMA_VERSION
        assert c.execute(sa.select(schema.imports.c.source)).scalar() == "file"
        assert sa.inspect(c).has_table("collector_state")
        assert sa.inspect(c).has_table("mapping_profiles")  # schema 6
    ledger.record_failure(engine, "cd", "bad.json", "HTTP 500", platform="youtube", source="api")
    with engine.connect() as c:
        row = c.execute(sa.select(schema.import_failures)).mappings().one()
    assert (row["platform"], row["source"], row["error"]) == ("youtube", "api", "HTTP 500")
    ledger.set_state(engine, "youtube", "cursor", "abc")
    ledger.set_state(engine, "youtube", "cursor", "def")
    assert ledger.get_state(engine, "youtube", "cursor") == "def"
    ledger.set_state(engine, "youtube", "cursor", None)
    assert ledger.get_state(engine, "youtube", "cursor") is None
    engine.dispose()

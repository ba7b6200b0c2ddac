"""Monthly partitions of post_snapshots and post_days on PostgreSQL (collectors/store/partitions.py),
made when an operator asks for them (`reach doctor --partition-by-month`; not a migration step:
schema.partition_by_month says why).

The conversion must keep every row of a schema 9 database (and post_latest, the posts export's
bytes) while it moves them into months; an import must make the months of its rows first, however
far in the past or future; a row that still lands in DEFAULT (a writer that does not make months)
must be found by `reach doctor` and moved by --repair; two importers making the same month must
both succeed; a query of one month must read that month's partition alone. SQLite has no partitions:
the conversion does nothing there.
"""
from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from collectors.archive import Archive
from collectors.store import database, partitions, schema
from test_post_latest import T1, T3, _import, derived, latest_of, stored

PG = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # skipped without a server

PAST, FUTURE = datetime(1999, 3, 4, 5), datetime(2031, 7, 8, 9)


def _rows(conn, table: str) -> list[tuple]:
    return [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2").all()]


def _parts(conn, table: str) -> list[str]:
    return sorted(conn.exec_driver_sql(
        f"SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhparent = '{table}'::regclass").scalars())


def _export(eng) -> bytes:
    from dashboard.analysis import config, exports
    from test_crash import ROOT

    return b"".join(exports.csv_export(eng, "posts", config.load(ROOT / "campaign.toml")))


def _partitioned(db_url):
    """A database of this schema, converted to monthly partitions as `reach doctor
    --partition-by-month` does."""
    eng = database.connect(db_url)
    with database.write_transaction(eng) as c:
        assert schema.partition_by_month(c)
    return eng


def _v9_with_rows(db_url):
    """A schema 9 database (plain tables) holding snapshots of three months and daily rows."""
    eng = sa.create_engine(db_url)
    database.migrate(eng, upto=9)
    _import(eng, [("1", 100, 10), ("2", 200, 20)], T1)
    _import(eng, [("1", 300, 30), ("3", 50, 5)], T3)
    _import(eng, [("2", 250, 25)], PAST)  # an old snapshot after newer ones: post 2 keeps T1's
    with eng.begin() as c:
        c.exec_driver_sql("INSERT INTO post_days (post_pk, day, import_id, views, likes) "
                          "SELECT id, DATE '2024-11-30' + k, 1, 10 * k, k FROM posts, generate_series(0, 2) k")
    return eng


@PG
def test_partitioning_moves_every_row_into_its_month_and_keeps_what_readers_see(db_url, tmp_path):
    eng = _v9_with_rows(db_url)
    with eng.connect() as c:
        assert not partitions.is_partitioned(c, "post_snapshots")
        before = {t: _rows(c, t) for t in ("post_snapshots", "post_days", "post_latest")}
    export = _export(eng)
    assert len(before["post_snapshots"]) == 5 and len(before["post_days"]) == 9
    from dashboard import doctor
    from dashboard.analysis import config

    said = []
    doctor.run(eng, Archive(tmp_path / "archive"), config.Campaign(), partition=True, out=said.append)
    assert any("partitioned by month: every row moved into its month" in x for x in said), said
    with eng.connect() as c:
        assert schema.schema_version(c) == 9  # not a numbered step: the schema is the same
        for t in ("post_snapshots", "post_days"):
            assert partitions.is_partitioned(c, t)
            assert c.exec_driver_sql(f"SELECT count(*) FROM {t}_default").scalar() == 0
        assert {t: _rows(c, t) for t in before} == before
        snaps = _parts(c, "post_snapshots")
        assert {"post_snapshots_1999_03", "post_snapshots_2024_12", "post_snapshots_default"} <= set(snaps)
        assert {"post_days_2024_11", "post_days_2024_12"} <= set(_parts(c, "post_days"))
        assert {partitions.partition_name("post_snapshots", m) for m in partitions.ahead()} <= set(snaps)
        # The keys, the foreign keys and post_latest's trigger, on the partitioned tables.
        cons = dict(c.exec_driver_sql("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                      "WHERE conrelid = 'post_snapshots'::regclass").all())
        assert cons["post_snapshots_pkey"] == "PRIMARY KEY (post_pk, captured_at)"
        assert {"FOREIGN KEY (post_pk) REFERENCES posts(id)", "FOREIGN KEY (import_id) REFERENCES imports(id)"} <= set(cons.values())
        pk = c.exec_driver_sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                               "WHERE conrelid = 'post_days'::regclass AND contype = 'p'").scalar()
        assert pk == "PRIMARY KEY (post_pk, day)"
        # Every partition has the key's index (what the upsert and the per-post probes use).
        unindexed = c.exec_driver_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent IN ('post_snapshots'::regclass, 'post_days'::regclass) "
            "AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary)").scalars().all()
        assert unindexed == []
        with pytest.raises(sa.exc.IntegrityError):  # the foreign key holds on a partition too
            with c.begin_nested():
                c.exec_driver_sql("INSERT INTO post_snapshots (post_pk, captured_at, import_id) VALUES (999, '2024-12-01', 1)")
    assert _export(eng) == export
    # The trigger keeps post_latest on the partitions: a newer snapshot of post 2 replaces T1's.
    _import(eng, [("2", 400, 40)], T3)
    assert latest_of(eng)["2"] == (T3, 400, 40)
    eng.dispose()


@PG
def test_an_import_makes_the_months_of_its_rows_however_far_and_nothing_lands_in_default(db_url):
    eng = _partitioned(db_url)
    for n, at in enumerate((PAST, FUTURE, T1)):  # other values: the same bytes would import once
        _import(eng, [("1", 100 + n, 10)], at)
    with eng.connect() as c:
        snaps = set(_parts(c, "post_snapshots"))
        assert {"post_snapshots_1999_03", "post_snapshots_2031_07", "post_snapshots_2024_12"} <= snaps
        assert "post_snapshots_2031_06" not in snaps  # only the months rows have, and those ahead
        assert c.exec_driver_sql("SELECT count(*) FROM post_snapshots_default").scalar() == 0
        assert c.exec_driver_sql("SELECT count(*) FROM post_snapshots_2031_07").scalar() == 1
    assert latest_of(eng)["1"][0] == FUTURE
    eng.dispose()


@PG
def test_two_importers_making_the_same_month_both_succeed(db_url):
    eng = _partitioned(db_url)
    month = date(2040, 2, 1)
    errors, made = [], []

    def make():
        try:
            made.append(partitions.prepare(eng, {month}))
        except Exception as e:  # what the test must not see
            errors.append(e)
    threads = [threading.Thread(target=make) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # One made them (or both in turn, the second finding them made); never an error.
    assert sorted(len(m) for m in made)[-1] == 2
    with eng.connect() as c:
        assert "post_snapshots_2040_02" in _parts(c, "post_snapshots")
    eng.dispose()


@PG
def test_a_month_ahead_is_left_for_later_while_a_reader_holds_the_table(db_url, monkeypatch):
    import time

    eng = _partitioned(db_url)
    _import(eng, [("1", 100, 10)], T1)
    nxt = max(partitions.ahead())
    with eng.begin() as c:
        c.exec_driver_sql(f"DROP TABLE {partitions.partition_name('post_days', nxt)}")
    monkeypatch.setattr(partitions, "AHEAD_LOCK_WAIT", 0.2)
    reader = eng.connect()
    reader.exec_driver_sql("SELECT count(*) FROM post_days").scalar()  # its lock held until it ends
    t0 = time.perf_counter()
    assert partitions.prepare(eng, {date(2024, 12, 1)}) == []  # not made, and the import goes on
    assert time.perf_counter() - t0 < 5
    _import(eng, [("1", 200, 20)], T3)
    reader.rollback()
    reader.close()
    assert partitions.prepare(eng, {date(2024, 12, 1)}) == [partitions.partition_name("post_days", nxt)]
    eng.dispose()


@PG
def test_doctor_finds_rows_in_default_and_a_month_missing_and_repair_moves_them(db_url):
    from dashboard import doctor

    eng = _partitioned(db_url)
    _import(eng, [("1", 100, 10), ("2", 200, 20)], T1)
    nxt = max(partitions.ahead())
    with eng.begin() as c:
        # A writer that makes no months (an older program, a hand INSERT): the rows go to DEFAULT.
        c.exec_driver_sql("INSERT INTO post_snapshots (post_pk, captured_at, import_id, views, likes) "
                          "SELECT id, TIMESTAMP '2020-03-05 06:00', 1, 7, 8 FROM posts")
        c.exec_driver_sql("INSERT INTO post_snapshots (post_pk, captured_at, import_id, views) "
                          "SELECT id, TIMESTAMP '2030-01-01', 1, 9 FROM posts WHERE post_id = '1'")
        c.exec_driver_sql(f"DROP TABLE {partitions.partition_name('post_days', nxt)}")
        rows = _rows(c, "post_snapshots")
    with eng.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM post_snapshots_default").scalar() == 3
        # While DEFAULT holds a month's rows, that month cannot be made by a plain CREATE.
        with pytest.raises(sa.exc.DBAPIError, match="default partition"):
            partitions._create(c, "post_snapshots", date(2020, 3, 1))
        c.rollback()
    said = []
    assert doctor._partition_checks(eng, False, said.append) == 1
    assert said[-1].startswith("problem") and "3 rows of post_snapshots in its DEFAULT partition (months 2020-03, 2030-01)" in said[-1]
    assert f"no partition yet for {nxt:%Y-%m}" in said[-1]
    assert doctor._partition_checks(eng, True, said.append) == 0
    assert said[-1].startswith("fixed") and "post_snapshots_2020_03" in said[-1]
    with eng.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM post_snapshots_default").scalar() == 0
        assert c.exec_driver_sql("SELECT count(*) FROM post_snapshots_2020_03").scalar() == 2
        assert _rows(c, "post_snapshots") == rows
        assert stored(c) == derived(c)  # the move's delete and insert left post_latest right
    assert latest_of(eng)["1"][0] == datetime(2030, 1, 1)  # the moved row is post 1's latest again
    said.clear()
    assert doctor._partition_checks(eng, False, said.append) == 0 and said[0].startswith("ok")
    eng.dispose()


@PG
def test_a_query_of_one_month_reads_that_months_partition_alone(db_url):
    eng = _partitioned(db_url)
    for n, at in enumerate((PAST, T1, FUTURE)):
        _import(eng, [("1", 100 + n, 10)], at)
    with eng.connect() as c:
        plan = "\n".join(c.exec_driver_sql(
            "EXPLAIN SELECT count(*) FROM post_snapshots "
            "WHERE captured_at >= '2024-12-01' AND captured_at < '2025-01-01'").scalars())
    assert "post_snapshots_2024_12" in plan
    assert "post_snapshots_1999_03" not in plan and "post_snapshots_2031_07" not in plan and "_default" not in plan
    eng.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_has_no_partitions_and_the_step_does_nothing(db_url):
    eng = database.connect(db_url)
    _import(eng, [("1", 100, 10)], FUTURE)
    with eng.connect() as c:
        assert schema.schema_version(c) == schema.SCHEMA_VERSION == 9
        assert not schema.partition_by_month(c) and not partitions.is_partitioned(c, "post_snapshots")
        assert partitions.ensure_months(c, {date(2031, 7, 1)}) == []
    assert partitions.prepare(eng, {date(2031, 7, 1)}) == []
    eng.dispose()

"""Monthly partitions of ``post_snapshots`` (by ``captured_at``) and ``post_days`` (by ``day``) on
PostgreSQL (`reach doctor --partition-by-month`; SQLite has none and every function here does nothing there).

Why by month: the tables grow by one import a day or an hour, forever; a month is the unit the
queries that read them by time ask for (a refresh from a day on, a month's export), the unit
maintenance works in (VACUUM, a retention drop, a BRIN index later) and few enough tables (12 a
year per table) that planning stays cheap. Pages and exports no longer probe post_snapshots per
post (they join post_latest, schema 9), so partitioning costs them nothing.

Each table has a DEFAULT partition so that a row of a month without a partition is never refused
(an older version of this program still running as a worker, a hand-written INSERT). But a month
cannot be created while DEFAULT holds rows of it ("would be violated by some row"), and every
new month's creation scans DEFAULT: so the importer makes the months of its rows (and the
current and next ``AHEAD`` months) before it writes, `reach doctor` reports rows in DEFAULT and
`--repair` moves them into their month (``ensure_months``: copied aside, deleted, the month
created, put back, in one transaction). We chose moving over "create generously and hope": the
far past and far future come from real files (a post published in 2009, a clock set wrong), and
no horizon covers those.

Months are made in a short transaction of their own under the write lock
(``database.write_transaction``), before the import's: CREATE TABLE ... PARTITION OF takes an
ACCESS EXCLUSIVE lock on the parent, which would otherwise stop every reader of the table for the
whole import; and even so it waits for the table's readers, so the months ahead are only tried
for ``AHEAD_LOCK_WAIT`` (``prepare``). The write lock makes two importers creating the same month
take turns; IF NOT EXISTS makes the second one's a no-op.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Iterable

import sqlalchemy as sa

# table -> the column it is partitioned by
PARTITIONED = {"post_snapshots": "captured_at", "post_days": "day"}
AHEAD = 2  # months after the current one made ahead, so a day's imports rarely need DDL
AHEAD_LOCK_WAIT = 2.0  # seconds an import waits for readers to make a month ahead (prepare)


def month_of(value) -> date:
    return date(value.year, value.month, 1)


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_{month.year:04d}_{month.month:02d}"


def ahead(today: date | None = None) -> set[date]:
    """The current month (UTC) and the ``AHEAD`` after it."""
    m = month_of(today or datetime.now(timezone.utc).date())
    out = {m}
    for _ in range(AHEAD):
        m = _next(m)
        out.add(m)
    return out


def is_partitioned(conn, table: str) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(sa.text("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(:t)"), {"t": table}).scalar()
    return kind == "p"


def months(conn, table: str) -> set[date]:
    """The months that have a partition of ``table`` (named ``<table>_YYYY_MM``)."""
    names = conn.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"), {"t": table}).scalars()
    out = set()
    for n in names:
        tail = n[len(table) + 1:]
        if len(tail) == 7 and tail[4] == "_" and tail[:4].isdigit() and tail[5:].isdigit():
            out.add(date(int(tail[:4]), int(tail[5:]), 1))
    return out


def default_rows(conn, table: str) -> dict[date, int]:
    """Rows of ``table``'s DEFAULT partition per month: each a month that has no partition yet."""
    col = PARTITIONED[table]
    rows = conn.execute(sa.text(
        f"SELECT date_trunc('month', {col})::date AS m, count(*) FROM {table}_default GROUP BY 1")).all()
    return {m: int(n) for m, n in rows}


def _create(conn, table: str, month: date) -> None:
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {partition_name(table, month)} PARTITION OF {table} "
        f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next(month).isoformat()}')")


def ensure_months(conn, wanted: Iterable[date]) -> list[str]:
    """Make the partitions of ``wanted`` months (both tables) that are missing, and the months of
    any rows in a DEFAULT partition, moving those rows into them. The caller holds the write lock
    in an open transaction. Returns the partitions made."""
    if conn.dialect.name != "postgresql":
        return []
    wanted = set(wanted)
    made = []
    for table, col in PARTITIONED.items():
        if not is_partitioned(conn, table):
            continue
        have = months(conn, table)
        stray = default_rows(conn, table)
        for m in sorted((wanted | set(stray)) - have):
            if m in stray:
                # Aside, out of DEFAULT, the month made, back in: the post_latest trigger sees a delete
                # (it looks the post's latest up among the rows left) and then the insert (the row
                # replaces it if newer), so post_latest ends as it began.
                lo, hi = m.isoformat(), _next(m).isoformat()
                where = f"{col} >= '{lo}' AND {col} < '{hi}'"
                conn.exec_driver_sql(f"CREATE TEMP TABLE partition_move ON COMMIT DROP AS "
                                     f"SELECT * FROM {table}_default WHERE {where}")
                conn.exec_driver_sql(f"DELETE FROM {table}_default WHERE {where}")
                _create(conn, table, m)
                conn.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM partition_move")
                conn.exec_driver_sql("DROP TABLE partition_move")
            else:
                _create(conn, table, m)
            made.append(partition_name(table, m))
    return made


def missing(conn, wanted: Iterable[date]) -> bool:
    """Whether any of ``wanted`` lacks a partition in either table (a catalog read, no lock)."""
    if conn.dialect.name != "postgresql":
        return False
    wanted = set(wanted)
    return any(is_partitioned(conn, t) and wanted - months(conn, t) for t in PARTITIONED)


def prepare(engine: sa.Engine, wanted: Iterable[date]) -> list[str]:
    """The importer's step before its transaction: the months of its rows and the ones ahead made
    in a short transaction of their own (see the module's docstring), only when one is missing.

    Making a month waits for every reader of the table (its ACCESS EXCLUSIVE lock), and readers
    that come after wait behind it: a 10 s export would stall the pages for 10 s. The months the
    rows need are worth that wait (otherwise the rows would land in DEFAULT). The months ahead are
    not: they are tried with ``AHEAD_LOCK_WAIT`` and left for a later import or `reach doctor
    --repair` when a reader holds the table."""
    if engine.dialect.name != "postgresql":
        return []
    needed, later = set(wanted), ahead()
    with engine.connect() as conn:
        need_now = missing(conn, needed)
        if not need_now and not missing(conn, later):
            return []
    from .database import write_transaction

    try:
        with write_transaction(engine) as conn:
            if not need_now:
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(AHEAD_LOCK_WAIT * 1000)}ms'")
            return ensure_months(conn, needed | later)
    except sa.exc.OperationalError as e:
        if need_now or getattr(e.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        return []


def convert(conn) -> None:
    """The conversion on PostgreSQL (`reach doctor --partition-by-month`, schema.partition_by_month): each table renamed aside, made again partitioned by month
    with a DEFAULT partition and a partition per month its rows have (and the months ahead), the
    rows moved by one INSERT ... SELECT the server streams, the old table dropped; then the primary
    key, the foreign keys and any other index made again on the partitioned table (built once per
    partition rather than kept row by row during the move). The caller owns the transaction, so a
    failure leaves the tables as they were. Triggers are the caller's (schema.py, post_latest)."""
    for table, col in PARTITIONED.items():
        if is_partitioned(conn, table):
            continue
        old = f"{table}_unpartitioned"
        fkeys = conn.execute(sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(:t) AND contype = 'f' ORDER BY conname"), {"t": table}).all()
        pkey = conn.execute(sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(:t) AND contype = 'p'"), {"t": table}).one()
        others = conn.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :t "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:t))"),
            {"t": table}).all()
        conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {old}")
        conn.exec_driver_sql(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE ({col})")
        conn.exec_driver_sql(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        have = {m for m in conn.execute(sa.text(f"SELECT DISTINCT date_trunc('month', {col})::date FROM {old}")).scalars()}
        for m in sorted(have | ahead()):
            _create(conn, table, m)
        conn.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM {old}")
        conn.exec_driver_sql(f"DROP TABLE {old}")  # its constraints and indexes, and their names, with it
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {pkey[0]} {pkey[1]}")
        for name, definition in fkeys:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        for name, definition in others:
            conn.exec_driver_sql(definition)  # read before the rename: it names the table anew
        conn.exec_driver_sql(f"ANALYZE {table}")

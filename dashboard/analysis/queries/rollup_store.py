"""The daily rollup's rows (``daily_rollup``) as a refresh replaces them (dashboard/analysis/rollups.py):
computed outside the write lock into a temporary table of the connection (the spool), a piece at
a time, then moved into the rollup under the lock by one INSERT ... SELECT that also combines the
pieces. Its bookkeeping keys (settings, pending imports, generations) are in ``meta``."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema

SPOOL = "rollup_spool"  # the refresh's temporary table (one per connection)


def spool_table() -> sa.Table:
    cols = [sa.Column(c.name, c.type) for c in schema.daily_rollup.columns]
    return sa.Table(SPOOL, sa.MetaData(), *cols, prefixes=["TEMPORARY"])


def new_spool(conn) -> None:
    """This connection's spool, made anew (empty)."""
    drop_spool(conn)
    spool_table().create(conn)


def drop_spool(conn) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SPOOL}")


def spool(conn, records: list[dict]) -> None:
    """Add rollup rows (``rollups.records``) to the spool."""
    conn.execute(spool_table().insert(), records)


def replace_days(conn, accounts: list[int] | None, since) -> int:
    """Replace the rollup rows of ``accounts`` (every account when None; none when empty) from the
    local day ``since`` on (every day when None) by the spooled rows, one row per account and day
    (pieces of one account summed: ``rollups._combine`` in SQL, where a sum over only unknown values
    is unknown too). Returns the rows inserted."""
    r = schema.daily_rollup
    if accounts is None:
        conn.execute(r.delete())
    elif accounts:
        old = r.delete().where(r.c.account_pk.in_(accounts))
        conn.execute(old if since is None else old.where(r.c.day >= since))
    return _unspool(conn) if accounts != [] else 0


def _unspool(conn) -> int:
    from ..rollups import ROW_COLUMNS, SUMMED

    t, r = spool_table(), schema.daily_rollup
    any_ = (lambda c: sa.func.bool_or(c)) if conn.dialect.name == "postgresql" else (lambda c: sa.func.max(c))
    q = sa.select(t.c.day, t.c.account_pk, *[sa.func.sum(t.c[c]) for c in SUMMED], sa.func.sum(t.c.posts_active),
                  any_(t.c.interpolated), any_(t.c.corrected)).group_by(t.c.day, t.c.account_pk)
    return conn.execute(r.insert().from_select(ROW_COLUMNS, q)).rowcount


def analyze(conn, tables) -> None:
    """PostgreSQL: fresh planner statistics for these tables."""
    conn.exec_driver_sql("ANALYZE " + ", ".join(tables))


def stored_rows(conn) -> list:
    """Every stored rollup row, as mappings of its columns (``reach doctor`` compares them with the engine)."""
    return conn.execute(sa.select(schema.daily_rollup)).mappings().all()

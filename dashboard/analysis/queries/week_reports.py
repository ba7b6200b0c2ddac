"""The tables of the stored Weekly reports (dashboard/analysis/week_store.py): their layout and
every statement on them. Derived data, not in the store's numbered migrations: made when missing."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()  # not schema.metadata: store's migrations, not this module, make its tables

reports_table = sa.Table(
    "week_reports", metadata,
    sa.Column("last_day", sa.String, primary_key=True),  # the last day a summary can cover (ISO date)
    sa.Column("week", sa.String, primary_key=True),  # ISO week, "2025-W03"
    sa.Column("is_default", sa.Boolean, nullable=False),  # the page's week when the URL names none
    sa.Column("summary", sa.Text, nullable=False),  # the English Summary as JSON (``encode``)
)
state_table = sa.Table(
    "week_reports_state", metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)


def exist(conn) -> bool:
    return sa.inspect(conn).has_table(reports_table.name)


def state(conn) -> dict[str, str]:
    """The state's keys and values; empty when the tables were never made."""
    if not sa.inspect(conn).has_table(state_table.name):
        return {}
    return dict(conn.execute(sa.select(state_table.c.key, state_table.c.value)).all())


def replace(conn, rows: list[dict], state_rows: list[dict]) -> None:
    """Every stored report and the state replaced by these (the tables made when missing)."""
    metadata.create_all(conn, checkfirst=True)
    conn.execute(reports_table.delete())
    if rows:
        conn.execute(reports_table.insert(), rows)
    conn.execute(state_table.delete())
    conn.execute(state_table.insert(), state_rows)


def stored(conn) -> list:
    """(last_day, week, summary JSON) of every stored report."""
    r = reports_table
    return conn.execute(sa.select(r.c.last_day, r.c.week, r.c.summary)).all()


def default_days(conn) -> list[str]:
    """The last days (ISO) for which a default week's report is stored."""
    r = reports_table
    return conn.execute(sa.select(r.c.last_day).where(r.c.is_default)).scalars().all()


def summary(conn, last_day: str, week: str | None) -> str | None:
    """The stored report's JSON for ``last_day`` and ``week`` (the default week when None)."""
    r = reports_table
    q = sa.select(r.c.summary).where(r.c.last_day == last_day)
    q = q.where(r.c.is_default) if week is None else q.where(r.c.week == week)
    return conn.execute(q).scalar()

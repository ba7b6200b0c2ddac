"""The pieces the statements share: how an account and its influencer are named, a selection's
filters, the campaign's local days as stored UTC times, and rows read into frames."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from collectors.store import schema


def fetch_frame(conn, query, columns: list[str]) -> pd.DataFrame:
    """The rows of ``query`` as a frame, built from the driver's tuples: three times faster than
    through SQLAlchemy's row objects, and the callers convert the types anyway (times and days
    arrive as ISO text from SQLite, as datetimes from PostgreSQL)."""
    return pd.DataFrame.from_records(conn.execute(query).cursor.fetchall(), columns=columns)


def iso_times(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601")


def account_label():
    a = schema.accounts
    return sa.func.coalesce(a.c.handle, a.c.name, a.c.account_key)


def influencer_expr():
    """An account's influencer as the pages name it: the roster's name, else "<account> (unassigned)"."""
    return sa.func.coalesce(schema.influencers.c.name, account_label() + " (unassigned)")


def category_expr():
    return sa.func.coalesce(schema.influencers.c.category, "unassigned")


def account_filters(sel) -> list:
    """WHERE clauses on accounts (joined with influencers) for a selection's platforms, influencers
    and categories."""
    a = schema.accounts
    out = []
    if sel.platforms:
        out.append(a.c.platform.in_(sel.platforms))
    if sel.influencers:
        out.append(influencer_expr().in_(sel.influencers))
    if sel.categories:
        out.append(category_expr().in_(sel.categories))
    return out


def utc_bounds(campaign, start, end):
    """The UTC instants (naive, as stored) where local day ``start`` begins and the day after
    ``end`` begins, in the campaign timezone; None for an open end."""
    def midnight(day):
        if day is None:
            return None
        ts = pd.Series([pd.Timestamp(day)])
        ts = ts.dt.tz_localize(campaign.tz, ambiguous=False, nonexistent="shift_forward").dt.tz_convert("UTC")
        return ts.iloc[0].tz_localize(None).to_pydatetime()

    return midnight(start), midnight(None if end is None else pd.Timestamp(end) + pd.Timedelta(days=1))


def time_bound(dialect: str, moment, after: bool = False):
    """A stored time to compare with: SQLite keeps times as text, some with microseconds
    ("…16:00:00.000000") and some without ("…16:00:00"), and compares text. Against the shorter
    form a time equal to ``moment`` sorts after it with either spelling (so ``>=`` and ``<``
    treat both alike); with ``after`` the bound is one microsecond later, for ``<`` meaning
    "on or before ``moment``". PostgreSQL compares times."""
    if after:
        moment = moment + timedelta(microseconds=1)
    if dialect != "sqlite":
        return moment
    text = moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{moment.microsecond:06d}" if moment.microsecond else "")
    return sa.literal(text, sa.String)


def published_in(q, campaign, start, end, dialect: str):
    """Posts published on the local days ``start``..``end`` (a post without a publish time only
    when neither is given, as metrics._days keeps NaT only without dates)."""
    p = schema.posts
    lo, hi = utc_bounds(campaign, start, end)
    if lo is not None:
        q = q.where(p.c.published_at >= time_bound(dialect, lo))
    if hi is not None:
        q = q.where(p.c.published_at < time_bound(dialect, hi))
    return q


def posts_joined():
    p, a, i = schema.posts, schema.accounts, schema.influencers
    return p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id)


GROUP_KEYS = ("platform", "influencer")


def group_keys(by):
    bad = [b for b in by if b not in GROUP_KEYS]
    if bad:
        raise ValueError(f"cannot group published posts by {bad}: choose from {GROUP_KEYS}")
    return {"platform": schema.accounts.c.platform, "influencer": influencer_expr()}


ROWS_CHUNK = 50_000  # rows of the driver's tuples turned into a frame at a time (rows_frame)


def rows_frame(conn, q, columns, chunk: int | None = None) -> pd.DataFrame:
    """The driver's tuples straight into a frame (row objects cost more than the query here), a
    chunk of rows at a time: a whole read held every row as Python objects at once, 400 MB for
    the 691,219 rollup rows of 100x the demo, for a frame of 91 MB. The frame is the one a single
    read makes (``_same_dtypes``)."""
    chunk = chunk or ROWS_CHUNK
    # The driver's cursor read past SQLAlchemy's result: that result must not have read ahead
    # into a buffer of its own (stream_results does, a row or more at execute), or those rows
    # would be lost. Explicit, whatever the connection's options.
    cursor = conn.execute(q, execution_options=dict(stream_results=False)).cursor
    parts = []
    while True:
        rows = cursor.fetchmany(chunk)
        if rows or not parts:
            parts.append(pd.DataFrame.from_records(rows, columns=columns))
        if len(rows) < chunk:
            break
    return parts[0] if len(parts) == 1 else pd.concat(_same_dtypes(parts, columns), ignore_index=True)


def _same_dtypes(parts: list[pd.DataFrame], columns) -> list[pd.DataFrame]:
    """A chunk whose column holds only None has it as object, where read with the other rows the
    column is numbers (None becoming NaN) or times (NaT): give such chunks the others' type, so
    the concatenation has the dtype a single read gives."""
    for c in columns:
        typed = next((p[c].dtype for p in parts if p[c].dtype != object), None)
        if typed is None:
            continue
        if typed.kind == "b":
            continue  # True/False beside None: object in a single read too
        to = "float64" if typed.kind in "iu" else typed  # ints beside None: floats with NaN
        for k, p in enumerate(parts):
            if p[c].dtype == object and p[c].isna().all():
                parts[k] = p.assign(**{c: p[c].astype(to)})
    return parts


def quarter_hour(t, dialect: str):
    """The quarter hour a stored UTC time falls in (its start), in SQL."""
    if dialect == "sqlite":  # stored as text: "2025-03-03 10:37:12[.000000]" -> "2025-03-03 10:30"
        minute = sa.cast(sa.func.substr(t, 15, 2), sa.Integer)
        return sa.func.substr(t, 1, 14).op("||")(sa.func.printf("%02d", minute / 15 * 15))
    return sa.func.date_trunc("hour", t) + sa.func.make_interval(
        0, 0, 0, 0, 0, sa.cast(sa.func.floor(sa.extract("minute", t) / 15) * 15, sa.Integer))


def as_date(v) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


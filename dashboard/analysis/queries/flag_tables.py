"""The tables of the stored Live flags and account times (dashboard/analysis/flag_store.py): their
layout and every statement on them. Derived data, not in the store's numbered migrations: made
when missing and made anew when flag_store.SCHEMA changes."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()  # not schema.metadata: store's migrations, not this module, make its tables

flags_table = sa.Table(
    "live_flags", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # The account of a followers series or of an impossible value's post; None for the flags of
    # the series of an influencer on a platform (named by influencer and platform): its days, its
    # stalls, its posts far beyond the usual and its deleted posts, all recomputed with the series.
    sa.Column("account_pk", sa.Integer),
    sa.Column("detector", sa.String, nullable=False),
    sa.Column("detector_rank", sa.Integer, nullable=False),  # anomalies.DETECTOR_RANK
    # After day, influencer, platform, metric and detector, what orders flags as the scan does: the
    # account of a followers series; the check of an impossible value (post-day 0, lifetime 1).
    sa.Column("tie", sa.Integer, nullable=False),
    sa.Column("day", sa.DateTime, nullable=False),
    sa.Column("influencer", sa.String),
    sa.Column("platform", sa.String),
    sa.Column("account", sa.String),
    sa.Column("post_pk", sa.Integer),
    sa.Column("post_id", sa.String),
    sa.Column("metric", sa.String, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("typical", sa.Float),
    sa.Column("score", sa.Float),
    sa.Column("posts_published", sa.Integer),
    # What anomalies.explain needs to write the facts and reason later (anomalies.LAZY_COLUMNS).
    sa.Column("where_", sa.String),
    sa.Column("bound_metric", sa.String),
    sa.Column("bound", sa.Float),
    sa.Column("at", sa.DateTime),  # UTC, without a zone, as every stored time
    sa.Column("before_at", sa.DateTime),
    sa.Column("corrected", sa.Boolean),
    sa.Column("window", sa.Integer),
    sa.Column("other_metric", sa.String),
    sa.Column("other_value", sa.Float),
    sa.Column("other_typical", sa.Float),
    # The newest flags first, largest score first within a day: what the page asks for.
    sa.Index("ix_live_flags_day_score", "day", "score"),
    sa.Index("ix_live_flags_account", "account_pk"),  # an account's flags, replaced
    sa.Index("ix_live_flags_series", "influencer", "platform"),  # a series' flags, replaced
)
# Each account as the stored flags name it (``queries.anomaly_inputs.flag_owners``): a name changed since (a
# roster, a new handle) makes its flags, and those of the series it was in, computed again.
owners_table = sa.Table(
    "live_flags_owners", metadata,
    sa.Column("account_pk", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("platform", sa.String),
    sa.Column("influencer", sa.String),
    sa.Column("account", sa.String),
    sa.Column("has_post", sa.Boolean),
)
state_table = sa.Table(
    "live_flags_state", metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)
# Per account, the latest moment its data describes and its last import (``clock._account_times``):
# the freshness line of Live and the Data page's table group every snapshot and daily row for it.
times_table = sa.Table(
    "account_times", metadata,
    sa.Column("account_pk", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("platform", sa.String),
    sa.Column("account", sa.String),
    sa.Column("influencer", sa.String),
    sa.Column("as_of", sa.DateTime),  # UTC, without a zone
    sa.Column("last_import", sa.DateTime),
)


TABLES = (flags_table, owners_table, times_table, state_table)


# --- the state (key, value): stamps, generations, the claim ------------------------------------------

def state(conn) -> dict[str, str]:
    """The state's keys and values; empty when the tables were never made."""
    if not sa.inspect(conn).has_table(state_table.name):
        return {}
    return dict(conn.execute(sa.select(state_table.c.key, state_table.c.value)).all())


def set_state(conn, keys: dict) -> None:
    """Set (a value) or remove (None) these keys."""
    conn.execute(state_table.delete().where(state_table.c.key.in_(list(keys))))
    rows = [dict(key=k, value=v) for k, v in keys.items() if v is not None]
    if rows:
        conn.execute(state_table.insert(), rows)


def make_anew(conn) -> None:
    """The tables, dropped and made empty (another layout was stored)."""
    for t in TABLES:
        t.drop(conn, checkfirst=True)
    metadata.create_all(conn)


def make_missing(conn) -> None:
    metadata.create_all(conn, checkfirst=True)


# --- account times ----------------------------------------------------------------------------------

def times_names(conn) -> set[tuple]:
    """(account_pk, platform, account, influencer) of every stored account time."""
    t = times_table
    return set(conn.execute(sa.select(t.c.account_pk, t.c.platform, t.c.account, t.c.influencer)).all())


def remove_times(conn, accounts: list[int] | None) -> None:
    """The stored times of these accounts (every account when None) removed."""
    t = times_table
    conn.execute(t.delete() if accounts is None else t.delete().where(t.c.account_pk.in_(accounts)))


def add_times(conn, rows: list[dict]) -> None:
    conn.execute(times_table.insert(), rows)


def stored_times(conn) -> list:
    """Every stored account time: (account_pk, platform, account, influencer, as_of, last_import),
    by account_pk."""
    t = times_table
    return conn.execute(sa.select(t.c.account_pk, t.c.platform, t.c.account, t.c.influencer, t.c.as_of,
                                  t.c.last_import).order_by(t.c.account_pk)).all()


# --- flags and the names they were computed with ------------------------------------------------------

def remove_flags(conn, accounts: list[int] | None) -> None:
    """The stored flags of these accounts (every flag when None) removed: their followers series
    and impossible values."""
    f = flags_table
    conn.execute(f.delete() if accounts is None else f.delete().where(f.c.account_pk.in_(accounts)))


def remove_series_flags(conn, pairs: list[tuple[str, str]]) -> None:
    """The stored flags of these (influencer, platform) series removed."""
    f = flags_table
    conn.execute(f.delete().where(f.c.account_pk.is_(None), sa.tuple_(f.c.influencer, f.c.platform).in_(pairs)))


def add_flags(conn, rows: list[dict]) -> None:
    conn.execute(flags_table.insert(), rows)


def stored_owners(conn) -> list:
    """Every account as the stored flags name it: (account_pk, platform, influencer, account, has_post)."""
    o = owners_table
    return conn.execute(sa.select(o.c.account_pk, o.c.platform, o.c.influencer, o.c.account, o.c.has_post)).all()


def remove_owners(conn, accounts: list[int] | None) -> None:
    o = owners_table
    conn.execute(o.delete() if accounts is None else o.delete().where(o.c.account_pk.in_(accounts)))


def add_owners(conn, rows: list[dict]) -> None:
    conn.execute(owners_table.insert(), rows)


def of_influencer(conn, name: str) -> list:
    """Every stored flag of one influencer (every detector), in the order of one scan
    (``anomalies.scan``: day, influencer, platform, metric, detector, tie, post; text in code
    points, unknown last): every column of ``flags_table``."""
    f = flags_table

    def text(c):
        return (c if conn.dialect.name == "sqlite" else c.collate("C")).asc().nulls_last()
    q = sa.select(f).where(f.c.influencer == name).order_by(
        f.c.day, text(f.c.platform), text(f.c.metric), f.c.detector_rank, f.c.tie, f.c.post_pk.asc().nulls_first())
    return conn.execute(q).all()


def newest(conn, sel, pairs, limit: int) -> list:
    """The ``limit`` newest stored flags of a view (no trailing Hampel flags), largest score first
    within a day, ties in the order of one scan of the whole campaign (``flag_store._keyed``: text
    in code points, unknown last, as pandas sorts it): every column of ``flags_table``. ``pairs``
    (influencer, platform), when not None, are the series the view's influencers and categories
    select (``names.flag_pairs``)."""
    import pandas as pd

    f = flags_table
    q = sa.select(f).where(f.c.detector != "hampel")
    if sel.start is not None:
        q = q.where(f.c.day >= pd.Timestamp(sel.start).to_pydatetime())
    if sel.end is not None:
        q = q.where(f.c.day <= pd.Timestamp(sel.end).to_pydatetime())
    if sel.platforms:
        q = q.where(f.c.platform.in_(list(sel.platforms)))
    if pairs is not None:
        q = q.where(sa.tuple_(f.c.influencer, f.c.platform).in_(pairs) if pairs else sa.false())

    def text(c):
        return (c if conn.dialect.name == "sqlite" else c.collate("C")).asc().nulls_last()
    q = q.order_by(f.c.day.desc(), f.c.score.desc().nulls_last(), text(f.c.influencer), text(f.c.platform),
                   text(f.c.metric), f.c.detector_rank, f.c.tie, f.c.post_pk).limit(limit)
    return conn.execute(q).all()

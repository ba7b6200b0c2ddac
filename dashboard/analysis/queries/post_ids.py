"""The posts' ids in id order, for cutting work into pieces of bounded memory: a rollup refresh
(dashboard/analysis/rollups.py ``pieces``) and the stored flags' impossible values
(dashboard/analysis/flag_store.py). Each returns the driver's result, read a batch at a time by
the caller (``rollups._id_ranges``): no list of every id."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema


def in_order(conn):
    """Every post's id."""
    p = schema.posts
    return conn.execute(sa.select(p.c.id).order_by(p.c.id))


def in_order_weighted(conn):
    """Every post's id and its number of observations (snapshots and daily rows), counted through
    their primary keys (a range of one index per post)."""
    p = schema.posts
    return conn.execute(_weighted(sa.select(p.c.id).order_by(p.c.id)))


def _weighted(q: sa.Select) -> sa.Select:
    p, s, d = schema.posts, schema.post_snapshots, schema.post_days
    count = [sa.select(sa.func.count()).where(t.c.post_pk == p.c.id).correlate(p).scalar_subquery() for t in (s, d)]
    return q.add_columns((count[0] + count[1]).label("observations"))


def of_account(conn, account_pk: int):
    """The ids of one account's posts."""
    p = schema.posts
    return conn.execute(sa.select(p.c.id).where(p.c.account_pk == account_pk).order_by(p.c.id))


def of_accounts(conn, account_pks: list[int]):
    """The ids of these accounts' posts."""
    p = schema.posts
    return conn.execute(sa.select(p.c.id).where(p.c.account_pk.in_(account_pks)).order_by(p.c.id))


def observed_since(conn, account_pks: list[int], midnight, since_day):
    """The ids of these accounts' posts with a snapshot captured at or after ``midnight`` (naive
    UTC) or a daily row of ``since_day`` or later: each test a probe of a primary key
    ((post_pk, captured_at), (post_pk, day)) per post."""
    p, s, d = schema.posts, schema.post_snapshots, schema.post_days
    recent = sa.or_(
        sa.exists().where(s.c.post_pk == p.c.id, s.c.captured_at >= midnight),
        sa.exists().where(d.c.post_pk == p.c.id, d.c.day >= since_day))
    return conn.execute(sa.select(p.c.id).where(p.c.account_pk.in_(account_pks), recent).order_by(p.c.id))


def counts_per_account(conn, account_pks) -> list[tuple[int, int]]:
    """(account_pk, posts) of these accounts that have posts, by account_pk."""
    p = schema.posts
    q = sa.select(p.c.account_pk, sa.func.count()).group_by(p.c.account_pk).order_by(p.c.account_pk)
    return conn.execute(q.where(p.c.account_pk.in_(list(account_pks) or [-1]))).all()


def count(conn) -> int:
    """How many posts are stored."""
    return conn.execute(sa.select(sa.func.count()).select_from(schema.posts)).scalar()

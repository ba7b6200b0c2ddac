"""Frames the dashboard shows, read from the store (pure functions of the database).

Reads only: every number derived from these frames comes from dashboard/metrics.py.
"""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from collectors import store
from collectors.model import PLATFORM_LABELS


def overview(engine: sa.Engine) -> pd.DataFrame:
    """Per platform: accounts, influencers, posts (platforms with no data are left out)."""
    a, p = store.accounts, store.posts
    q = (sa.select(a.c.platform,
                   sa.func.count(sa.distinct(a.c.id)).label("accounts"),
                   sa.func.count(sa.distinct(a.c.influencer_id)).label("influencers"))
         .group_by(a.c.platform))
    qp = sa.select(p.c.platform, sa.func.count().label("posts")).group_by(p.c.platform)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=["platform", "accounts", "influencers"])
        posts = pd.DataFrame(conn.execute(qp).all(), columns=["platform", "posts"])
    df = df.merge(posts, on="platform", how="left").fillna({"posts": 0})
    df["posts"] = df["posts"].astype(int)
    df["label"] = df["platform"].map(PLATFORM_LABELS).fillna(df["platform"])
    return df.sort_values("posts", ascending=False, kind="stable").reset_index(drop=True)


def influencer_table(engine: sa.Engine) -> pd.DataFrame:
    """One row per influencer (unassigned accounts under their handle), with platforms and posts."""
    a, p, i = store.accounts, store.posts, store.influencers
    q = (sa.select(a.c.id, a.c.platform, sa.func.coalesce(a.c.handle, a.c.name, a.c.account_key).label("handle"),
                   i.c.name, i.c.category, sa.func.count(p.c.id).label("posts"))
         .select_from(a.outerjoin(i, a.c.influencer_id == i.c.id).outerjoin(p, p.c.account_pk == a.c.id))
         .group_by(a.c.id, a.c.platform, a.c.handle, a.c.name, a.c.account_key, i.c.name, i.c.category))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=["account_pk", "platform", "handle", "name", "category", "posts"])
    if df.empty:
        return pd.DataFrame(columns=["influencer", "category", "platforms", "accounts", "posts"])
    unassigned = df["name"].isna()
    df.loc[unassigned, "name"] = df.loc[unassigned, "handle"] + " (unassigned)"
    df.loc[unassigned, "category"] = "unassigned"
    df["platform"] = df["platform"].map(PLATFORM_LABELS).fillna(df["platform"])
    out = df.groupby("name", sort=False).agg(
        category=("category", "first"),
        platforms=("platform", lambda s: ", ".join(sorted(set(s)))),
        accounts=("account_pk", "nunique"),
        posts=("posts", "sum"),
    ).reset_index().rename(columns={"name": "influencer"})
    return out.sort_values(["posts", "influencer"], ascending=[False, True], kind="stable").reset_index(drop=True)


# --- frames for the metrics engine ------------------------------------------------------------

class Frames:
    """Everything the metrics engine needs, read once: posts with their account and influencer,
    lifetime snapshots, daily post rows and account-day rows. Times are UTC (tz-aware); days are
    naive midnights."""

    def __init__(self, posts, snapshots, post_days, account_days, accounts=None):
        self.posts, self.snapshots, self.post_days, self.account_days = posts, snapshots, post_days, account_days
        # account_pk, platform, account, influencer, category, followers (the roster's figure)
        self.accounts = accounts if accounts is not None else pd.DataFrame(
            columns=["account_pk", "platform", "account", "influencer", "category", "followers"])


def _fetch(conn, query, columns: list[str]) -> pd.DataFrame:
    """The rows of ``query`` as a frame, built from the driver's tuples: three times faster than
    through SQLAlchemy's row objects, and the callers convert the types anyway (times and days
    arrive as ISO text from SQLite, as datetimes from PostgreSQL)."""
    return pd.DataFrame.from_records(conn.execute(query).cursor.fetchall(), columns=columns)


def _times(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601")


def load_frames(engine: sa.Engine, account_pks: list[int] | None = None, *,
                post_range: tuple[int, int] | None = None, post_pks: list[int] | None = None) -> Frames:
    """Everything, or only what belongs to these accounts (a rollup refresh after an import reads
    the accounts it touched, not the whole database); with ``post_range`` (first, last post id)
    only those accounts' posts in that range (the refresh cuts a very large account into pieces,
    so its memory is bounded: dashboard/rollups.py); with ``post_pks`` only those posts."""
    from collectors.model import METRICS

    p, a, i = store.posts, store.accounts, store.influencers
    s, d, ad = store.post_snapshots, store.post_days, store.account_days
    label = sa.func.coalesce(a.c.handle, a.c.name, a.c.account_key)

    def only(q, col):
        return q if account_pks is None else q.where(col.in_(account_pks))

    def only_posts(q):
        q = only(q, p.c.account_pk)
        if post_pks is not None:
            q = q.where(p.c.id.in_(post_pks))
        return q if post_range is None else q.where(p.c.id.between(*post_range))

    with engine.connect() as conn:
        posts = _fetch(conn, only_posts(
            sa.select(p.c.id.label("post_pk"), p.c.platform, p.c.post_id, label.label("account"),
                      a.c.id.label("account_pk"), i.c.name.label("influencer"), i.c.category,
                      p.c.published_at, p.c.url, p.c.title, p.c.post_type)
            .select_from(p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id))),
            ["post_pk", "platform", "post_id", "account", "account_pk", "influencer",
             "category", "published_at", "url", "title", "post_type"])
        snaps = _fetch(conn, only_posts(
            sa.select(s.c.post_pk, p.c.platform, p.c.published_at, s.c.captured_at, *[s.c[m] for m in METRICS])
            .join(p, p.c.id == s.c.post_pk)),
            ["post_pk", "platform", "published_at", "captured_at", *METRICS])
        days = _fetch(conn, only_posts(
            sa.select(d.c.post_pk, d.c.day, *[d.c[m] for m in METRICS]).join(p, p.c.id == d.c.post_pk)),
            ["post_pk", "day", *METRICS])
        if post_range is None and post_pks is None:
            adays = _fetch(conn, only(
                sa.select(a.c.platform, label.label("account"), a.c.id.label("account_pk"), ad.c.day,
                          *[ad.c[m] for m in METRICS], ad.c.followers).join(a, a.c.id == ad.c.account_pk), a.c.id),
                ["platform", "account", "account_pk", "day", *METRICS, "followers"])
        else:  # account-level rows belong to no post range or list
            adays = pd.DataFrame(columns=["platform", "account", "account_pk", "day", *METRICS, "followers"])
        accts = _fetch(conn, only(
            sa.select(a.c.id.label("account_pk"), a.c.platform, label.label("account"), i.c.name.label("influencer"),
                      i.c.category, a.c.followers).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id)), a.c.id),
            ["account_pk", "platform", "account", "influencer", "category", "followers"])
    unassigned = posts["influencer"].isna()
    posts.loc[unassigned, "influencer"] = posts.loc[unassigned, "account"] + " (unassigned)"
    posts.loc[unassigned, "category"] = "unassigned"
    lone = accts["influencer"].isna()
    accts.loc[lone, "influencer"] = accts.loc[lone, "account"] + " (unassigned)"
    accts.loc[lone, "category"] = "unassigned"
    accts["followers"] = pd.to_numeric(accts["followers"]).astype("float64")
    adays["followers"] = pd.to_numeric(adays["followers"]).astype("float64")
    for f in (posts, snaps, days, adays, accts):
        if "account_pk" in f:
            f["account_pk"] = f["account_pk"].astype("int64")
        if "post_pk" in f:
            f["post_pk"] = f["post_pk"].astype("int64")
    posts["published_at"] = _times(posts["published_at"]).dt.tz_localize("UTC")
    for f in (snaps,):
        f["published_at"] = _times(f["published_at"]).dt.tz_localize("UTC")
        f["captured_at"] = _times(f["captured_at"]).dt.tz_localize("UTC")
    for f in (days, adays):
        f["day"] = _times(f["day"])
    for f in (snaps, days, adays):
        for m in METRICS:
            f[m] = pd.to_numeric(f[m]).astype("float64")
    return Frames(posts, snaps, days, adays, accts)

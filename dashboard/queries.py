"""Frames the dashboard shows, read from the store (pure functions of the database).

This is the foundation's overview only; the metrics engine (daily increments, honest reach,
rates, ISO weeks) replaces the time series here when it lands.
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


def cumulative_views(engine: sa.Engine, tz: str = "Asia/Shanghai") -> pd.DataFrame:
    """Per platform and day: the sum over posts of each post's latest known lifetime views.

    Views where the platform reports them, impressions where it does not (X, LinkedIn). From
    lifetime snapshots the latest value on or before each day is carried forward; from daily rows
    the running total. Columns: platform, day, value.
    """
    s, d, p = store.post_snapshots, store.post_days, store.posts
    with engine.connect() as conn:
        snaps = pd.DataFrame(conn.execute(
            sa.select(p.c.platform, s.c.post_pk, s.c.captured_at, sa.func.coalesce(s.c.views, s.c.impressions))
            .join(p, p.c.id == s.c.post_pk)).all(), columns=["platform", "post_pk", "at", "value"])
        days = pd.DataFrame(conn.execute(
            sa.select(p.c.platform, d.c.post_pk, d.c.day, sa.func.coalesce(d.c.views, d.c.impressions))
            .join(p, p.c.id == d.c.post_pk)).all(), columns=["platform", "post_pk", "day", "value"])
    parts = []
    if not snaps.empty:
        local = pd.to_datetime(snaps["at"]).dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
        # A snapshot taken at local midnight holds the totals at the end of the day before.
        snaps["day"] = (local - pd.Timedelta(microseconds=1)).dt.normalize()
        last = snaps.dropna(subset=["value"]).sort_values("at").groupby(["platform", "post_pk", "day"]).last().reset_index()
        for platform, g in last.groupby("platform"):
            wide = g.pivot(index="day", columns="post_pk", values="value").sort_index()
            wide = wide.reindex(pd.date_range(wide.index.min(), wide.index.max(), freq="D")).ffill()
            parts.append(pd.DataFrame({"platform": platform, "day": wide.index, "value": wide.sum(axis=1).to_numpy()}))
    if not snaps.empty:
        # A post with lifetime snapshots is counted from them alone, never twice.
        days = days[~days["post_pk"].isin(snaps["post_pk"])]
    if not days.empty:
        days["day"] = pd.to_datetime(days["day"])
        daily = days.dropna(subset=["value"]).groupby(["platform", "day"])["value"].sum().reset_index()
        for platform, g in daily.groupby("platform"):
            g = g.sort_values("day")
            parts.append(pd.DataFrame({"platform": platform, "day": g["day"].to_numpy(), "value": g["value"].cumsum().to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=["platform", "day", "value"])
    out = pd.concat(parts).groupby(["platform", "day"], as_index=False)["value"].sum()
    return out.sort_values(["platform", "day"]).reset_index(drop=True)

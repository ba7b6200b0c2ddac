"""What the metrics engine reads (dashboard/analysis/metrics.py): posts with their account and
influencer, lifetime snapshots, daily post rows and account-day rows, as frames."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from collectors.store import schema

from .parts import account_label, category_expr, fetch_frame, influencer_expr, iso_times, posts_joined, rows_frame


class Frames:
    """Everything the metrics engine needs, read once: posts with their account and influencer,
    lifetime snapshots, daily post rows and account-day rows. Times are UTC (tz-aware); days are
    naive midnights."""

    def __init__(self, posts, snapshots, post_days, account_days, accounts=None):
        self.posts, self.snapshots, self.post_days, self.account_days = posts, snapshots, post_days, account_days
        # account_pk, platform, account, influencer, category, followers (the roster's figure)
        self.accounts = accounts if accounts is not None else pd.DataFrame(
            columns=["account_pk", "platform", "account", "influencer", "category", "followers"])


def load_frames(engine: sa.Engine, account_pks: list[int] | None = None, *,
                post_range: tuple[int, int] | None = None, post_pks: list[int] | None = None) -> Frames:
    """Everything, or only what belongs to these accounts (a rollup refresh after an import reads
    the accounts it touched, not the whole database); with ``post_range`` (first, last post id)
    only those accounts' posts in that range (the refresh cuts a very large account into pieces,
    so its memory is bounded: dashboard/analysis/rollups.py); with ``post_pks`` only those posts."""
    from collectors.model import METRICS

    p, a, i = schema.posts, schema.accounts, schema.influencers
    s, d, ad = schema.post_snapshots, schema.post_days, schema.account_days
    label = account_label()

    def only(q, col):
        return q if account_pks is None else q.where(col.in_(account_pks))

    def only_posts(q):
        q = only(q, p.c.account_pk)
        if post_pks is not None:
            q = q.where(p.c.id.in_(post_pks))
        return q if post_range is None else q.where(p.c.id.between(*post_range))

    with engine.connect() as conn:
        posts = fetch_frame(conn, only_posts(
            sa.select(p.c.id.label("post_pk"), p.c.platform, p.c.post_id, label.label("account"),
                      a.c.id.label("account_pk"), i.c.name.label("influencer"), i.c.category,
                      p.c.published_at, p.c.url, p.c.title, p.c.post_type)
            .select_from(p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id))),
            ["post_pk", "platform", "post_id", "account", "account_pk", "influencer",
             "category", "published_at", "url", "title", "post_type"])
        snaps = fetch_frame(conn, only_posts(
            sa.select(s.c.post_pk, p.c.platform, p.c.published_at, s.c.captured_at, *[s.c[m] for m in METRICS])
            .join(p, p.c.id == s.c.post_pk)),
            ["post_pk", "platform", "published_at", "captured_at", *METRICS])
        days = fetch_frame(conn, only_posts(
            sa.select(d.c.post_pk, d.c.day, *[d.c[m] for m in METRICS]).join(p, p.c.id == d.c.post_pk)),
            ["post_pk", "day", *METRICS])
        if post_range is None and post_pks is None:
            adays = fetch_frame(conn, only(
                sa.select(a.c.platform, label.label("account"), a.c.id.label("account_pk"), ad.c.day,
                          *[ad.c[m] for m in METRICS], ad.c.followers).join(a, a.c.id == ad.c.account_pk), a.c.id),
                ["platform", "account", "account_pk", "day", *METRICS, "followers"])
        else:  # account-level rows belong to no post range or list
            adays = pd.DataFrame(columns=["platform", "account", "account_pk", "day", *METRICS, "followers"])
        accts = fetch_frame(conn, only(
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
    posts["published_at"] = iso_times(posts["published_at"]).dt.tz_localize("UTC")
    for f in (snaps,):
        f["published_at"] = iso_times(f["published_at"]).dt.tz_localize("UTC")
        f["captured_at"] = iso_times(f["captured_at"]).dt.tz_localize("UTC")
    for f in (days, adays):
        f["day"] = iso_times(f["day"])
    for f in (snaps, days, adays):
        for m in METRICS:
            f[m] = pd.to_numeric(f[m]).astype("float64")
    return Frames(posts, snaps, days, adays, accts)


def frames_of_posts(engine: sa.Engine, post_pks, conn=None) -> Frames:
    """``load_frames``' posts, snapshots and daily rows of these posts only (no account rows):
    enough for the engine's increments of a handful of posts. ``conn``: read on this connection
    (a caller's ``database.read_snapshot``), else on one of the engine's."""
    from contextlib import nullcontext

    from collectors.model import METRICS

    p, a, s, d = schema.posts, schema.accounts, schema.post_snapshots, schema.post_days
    pks = sorted(int(x) for x in post_pks) or [-1]
    with (nullcontext(conn) if conn is not None else engine.connect()) as conn:
        posts = rows_frame(conn, sa.select(p.c.id, p.c.platform, p.c.post_id, account_label(), a.c.id, influencer_expr(),
                                      category_expr(), p.c.published_at, p.c.url, p.c.title, p.c.post_type)
                      .select_from(posts_joined()).where(p.c.id.in_(pks)),
                      ["post_pk", "platform", "post_id", "account", "account_pk", "influencer", "category",
                       "published_at", "url", "title", "post_type"])
        snaps = rows_frame(conn, sa.select(s.c.post_pk, p.c.platform, p.c.published_at, s.c.captured_at,
                                      *[s.c[m] for m in METRICS]).join(p, p.c.id == s.c.post_pk)
                      .where(s.c.post_pk.in_(pks)), ["post_pk", "platform", "published_at", "captured_at", *METRICS])
        days = rows_frame(conn, sa.select(d.c.post_pk, d.c.day, *[d.c[m] for m in METRICS]).where(d.c.post_pk.in_(pks)),
                     ["post_pk", "day", *METRICS])
    posts["published_at"] = pd.to_datetime(posts["published_at"], format="ISO8601").dt.tz_localize("UTC")
    snaps["published_at"] = pd.to_datetime(snaps["published_at"], format="ISO8601").dt.tz_localize("UTC")
    snaps["captured_at"] = pd.to_datetime(snaps["captured_at"], format="ISO8601").dt.tz_localize("UTC")
    days["day"] = pd.to_datetime(days["day"], format="ISO8601")
    for f in (snaps, days):
        for m in METRICS:
            f[m] = pd.to_numeric(f[m]).astype("float64")
    return Frames(posts, snaps, days, pd.DataFrame(columns=["platform", "account", "account_pk", "day", *METRICS,
                                                            "followers"]))


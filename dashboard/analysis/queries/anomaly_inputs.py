"""What the anomaly scan reads (dashboard/analysis/anomalies.py), from the rollup and narrow SQL
instead of every observation: the series per influencer, platform and day, the followers, the
rows that break a bound and each post's latest lifetime totals."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from collectors.store import schema

from .parts import account_label, influencer_expr, iso_times, posts_joined, quarter_hour, rows_frame


def _impossible_where(t, engagement) -> sa.ColumnElement:
    """Rows where engagements, shares or likes exceed views (else impressions): the rows
    ``anomalies.impossible_values`` reports, chosen in SQL (it checks them again exactly)."""
    bound = sa.case((t.c.views > 0, t.c.views), (t.c.impressions > 0, t.c.impressions), else_=None)
    eng = sum((sa.func.coalesce(t.c[m], 0) for m in engagement if m in t.c), sa.literal(0))
    return sa.or_(eng > bound, t.c.shares > bound, t.c.likes > bound)


def anomaly_inputs(engine: sa.Engine, campaign):
    """What ``anomalies.scan`` reads, from the rollup and narrow SQL instead of ``load_frames`` and
    the engine: the daily series' figures per influencer, platform and day (the rollup, equal to
    the engine's, and the account days) with posts published; the account days with
    followers_gained; the post-day rows and latest snapshots that break a bound; the posts those
    name; every post's latest lifetime totals (``anomalies.post_lifetimes``).
    Returns (daily, followers, checks, posts, lifetimes) for ``anomalies._stacked`` and ``anomalies.scan``."""
    from .. import rollups

    rollups.bring_current(engine, campaign)  # as rollups.query does: exact, or as it stands for pages
    owners = flag_owners(engine)
    daily, fol, lifetimes = series_inputs(engine, campaign, owners)
    checks, posts = impossible_inputs(engine, campaign)
    return daily, fol, checks, posts, lifetimes


def flag_owners(engine: sa.Engine) -> pd.DataFrame:
    """Every account as the anomaly series name it, indexed by account_pk: platform, influencer
    (``influencer_expr``), account (its label), has_post and posts (how many: the flags are
    computed a batch of accounts at a time, the batch bounded by their posts too)."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    n_posts = sa.select(sa.func.count()).where(p.c.account_pk == a.c.id).scalar_subquery()
    with engine.connect() as conn:
        owners = rows_frame(conn, sa.select(a.c.id, a.c.platform, influencer_expr(), account_label(), n_posts)
                       .select_from(a.outerjoin(i, a.c.influencer_id == i.c.id)).order_by(a.c.id),
                       ["account_pk", "platform", "influencer", "account", "posts"])
    owners["posts"] = owners["posts"].astype("int64")
    owners["has_post"] = owners["posts"] > 0
    return owners.set_index("account_pk")


def series_inputs(engine: sa.Engine, campaign, owners: pd.DataFrame, accounts=None, followed=None):
    """The series of ``anomaly_inputs`` (daily, followers, lifetimes) for some accounts only:
    ``daily`` and ``lifetimes`` of ``accounts`` (whole influencer-platform series: every account of
    each), the followers of ``followed`` (default: the same accounts); every account when None.
    ``owners`` is ``flag_owners``."""
    from .. import anomalies, metrics

    p, ad, r = schema.posts, schema.account_days, schema.daily_rollup
    # The series need views, impressions and the engagement metrics, nothing else of the rollup.
    wanted = anomalies.daily_metrics(campaign)
    summed = [m for m in wanted if m in r.c]
    own = [m for m in wanted if m in ad.c]
    followed = accounts if followed is None else followed

    def only(q, column, pks):
        return q if pks is None else q.where(column.in_(list(pks) or [-1]))

    with engine.connect() as conn:
        # Posts published per account and quarter hour, not one row per post: a million posts
        # held 220 MB here. Every timezone's offset is a whole number of quarter hours, so the
        # local day of a quarter hour is the local day of each post in it.
        quarter = quarter_hour(p.c.published_at, engine.dialect.name)
        both = None if accounts is None or followed is None else sorted(set(accounts) | set(followed))
        pub = rows_frame(conn, only(sa.select(p.c.account_pk, quarter.label("quarter"), sa.func.count().label("n"))
                               .where(p.c.published_at.is_not(None)), p.c.account_pk, both)
                    .group_by(p.c.account_pk, quarter), ["account_pk", "published_at", "n"])
        fol = rows_frame(conn, only(sa.select(ad.c.account_pk, ad.c.day, ad.c.followers_gained)
                               .where(ad.c.followers_gained.is_not(None)), ad.c.account_pk, followed)
                    .order_by(ad.c.account_pk, ad.c.day), ["account_pk", "day", "followers_gained"])
        days = rows_frame(conn, only(sa.select(ad.c.account_pk, ad.c.day, *[ad.c[m] for m in own]), ad.c.account_pk,
                                accounts), ["account_pk", "day", *own])
        raw = rows_frame(conn, only(sa.select(r.c.account_pk, r.c.day, *[r.c[m] for m in summed], r.c.interpolated,
                                         r.c.corrected), r.c.account_pk, accounts),
                    ["account_pk", "day", *summed, "interpolated", "corrected"])
        snaps, posts = _lifetime_rows(conn, campaign, accounts)
    pub["day"] = metrics._local_day(pd.to_datetime(pub["published_at"], format="ISO8601").dt.tz_localize("UTC"),
                                    campaign.tz)
    pub = pub.groupby(["account_pk", "day"], as_index=False)["n"].sum()
    for f in (raw, days):
        f["day"] = pd.to_datetime(f["day"], format="ISO8601")
    raw["interpolated"] = raw["interpolated"].astype(bool)
    raw["corrected"] = raw["corrected"].astype(bool)
    daily = anomalies.daily_series(raw, days, owners, pub, campaign)
    fol["day"] = pd.to_datetime(fol["day"], format="ISO8601")
    followers = anomalies.follower_series(fol, owners, pub)
    return daily, followers, anomalies.post_lifetimes(snaps, posts, campaign)


def _lifetime_rows(conn, campaign, accounts=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What ``anomalies.post_lifetimes`` reads for the posts of ``accounts`` (every post when None):
    each post's latest snapshot, and every snapshot of the posts whose latest one has neither views
    nor impressions above 0 (a post that may have been deleted); and the posts, named."""
    from .. import anomalies

    p, a, s, latest = schema.posts, schema.accounts, schema.post_snapshots, schema.post_latest
    kept = [*anomalies.BASIS, *[m for m in campaign.engagement if m in s.c and m not in anomalies.BASIS]]
    info = [p.c.post_id, p.c.account_pk, influencer_expr(), a.c.platform, account_label(), p.c.published_at]
    info_cols = ["post_id", "account_pk", "influencer", "platform", "account", "published_at"]
    # Each post's latest snapshot is its row of post_latest (schema 9), joined on the key.
    q = (sa.select(latest.c.post_pk, latest.c.captured_at, *[latest.c[m] for m in kept], *info)
         .select_from(posts_joined().join(latest, latest.c.post_pk == p.c.id)))
    if accounts is not None:
        q = q.where(p.c.account_pk.in_(list(accounts) or [-1]))
    last = rows_frame(conn, q.order_by(latest.c.post_pk), ["post_pk", "captured_at", *kept, *info_cols])
    for m in kept:
        last[m] = pd.to_numeric(last[m]).astype("float64")
    basis = last["views"].where(last["views"].notna(), last["impressions"])
    gone = last.loc[~(basis > 0).to_numpy(), "post_pk"].tolist()
    history = [last[~last["post_pk"].isin(gone)][["post_pk", "captured_at", *kept]]]
    for k in range(0, len(gone), 10_000):
        chunk = gone[k:k + 10_000]
        h = rows_frame(conn, sa.select(s.c.post_pk, s.c.captured_at, *[s.c[m] for m in kept])
                  .where(s.c.post_pk.in_(chunk)).order_by(s.c.post_pk, s.c.captured_at), ["post_pk", "captured_at", *kept])
        for m in kept:
            h[m] = pd.to_numeric(h[m]).astype("float64")
        history.append(h)
    snaps = pd.concat(history, ignore_index=True) if len(history) > 1 else history[0]
    snaps["captured_at"] = iso_times(snaps["captured_at"]).dt.tz_localize("UTC")
    posts = last[["post_pk", *info_cols]].copy()
    posts["published_at"] = iso_times(posts["published_at"]).dt.tz_localize("UTC")
    return snaps, posts


def impossible_inputs(engine: sa.Engine, campaign, accounts=None, post_range=None):
    """The checks of ``anomaly_inputs`` (post-day rows and latest snapshots that break a bound)
    and the posts they name (with their account_pk), for the posts of ``accounts`` (every account
    when None) whose id is within ``post_range`` (first, last) when given."""
    from collectors.model import METRICS

    from .. import metrics

    p, a, s, d = schema.posts, schema.accounts, schema.post_latest, schema.post_days
    info = [p.c.post_id, influencer_expr(), a.c.platform, account_label(), p.c.account_pk]
    info_cols = ["post_id", "influencer", "platform", "account", "account_pk"]

    def only(q, post_pk):
        if accounts is not None:
            q = q.where(p.c.account_pk.in_(list(accounts) or [-1]))
        if post_range is not None:  # on the observations' own key too: a range of their primary key
            q = q.where(p.c.id.between(*post_range), post_pk.between(*post_range))
        return q

    with engine.connect() as conn:
        bad_days = rows_frame(conn, only(sa.select(d.c.post_pk, d.c.day, *[d.c[m] for m in METRICS], *info)
                                    .select_from(d.join(p, p.c.id == d.c.post_pk).join(a, p.c.account_pk == a.c.id)
                                                 .outerjoin(schema.influencers, a.c.influencer_id == schema.influencers.c.id))
                                    .where(_impossible_where(d, campaign.engagement)), d.c.post_pk)
                         .order_by(d.c.post_pk, d.c.day), ["post_pk", "day", *METRICS, *info_cols])
        bad_last = rows_frame(conn, only(sa.select(s.c.post_pk, s.c.captured_at, *[s.c[m] for m in METRICS], *info)
                                    .select_from(posts_joined().join(s, s.c.post_pk == p.c.id))
                                    .where(_impossible_where(s, campaign.engagement)), s.c.post_pk)
                         .order_by(s.c.post_pk), ["post_pk", "captured_at", *METRICS, *info_cols])
    posts = pd.concat([bad_days[["post_pk", *info_cols]], bad_last[["post_pk", *info_cols]]]).drop_duplicates("post_pk")
    checks = []
    for f in (bad_days, bad_last):
        for m in METRICS:
            f[m] = pd.to_numeric(f[m]).astype("float64")
    if len(bad_days):
        bad_days["day"] = pd.to_datetime(bad_days["day"], format="ISO8601")
        checks.append(("daily", bad_days[["post_pk", "day", *METRICS]].assign(at=bad_days["day"])))
    if len(bad_last):
        at = pd.to_datetime(bad_last["captured_at"], format="ISO8601").dt.tz_localize("UTC")
        checks.append(("lifetime", bad_last[["post_pk", *METRICS]].assign(
            captured_at=at, day=metrics._local_day(at, campaign.tz), at=at)))
    return checks, posts


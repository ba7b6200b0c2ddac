"""Platforms compared: each platform's totals side by side and its share of each ISO week.

What the Platforms page shows (its table and charts) and the Live page's kiosk charts (the
platform mix), computed here once for both: ``totals`` (one row per platform and one for all of
them, rates as ratios of totals, reach a range that is not deduplicated) and ``weekly_mix``. A
platform that reports no views is counted by its impressions wherever views are compared, and
``basis`` says so. Pure functions of the database (the rollups and narrow SQL) and a selection.
"""
from __future__ import annotations

from datetime import timedelta

import pandas as pd

from ..text.weeks import week_start
from . import metrics, queries, rollups

# Rows of the side-by-side table, in reading order: volume, engagement, rates, activity, value, reach.
TABLE_ROWS = ("views", "impressions", "engagements", "er_views", "er_impressions", "virality_views", "posts",
              "active_influencers", "emv_usd", "reach_range")
ALL = "_all"  # the row of the totals across platforms


def _published(posts: pd.DataFrame, campaign, sel: metrics.Selection) -> pd.DataFrame:
    p = metrics._filter_posts(posts, sel)
    return metrics._days(p.assign(day=metrics._local_day(p["published_at"], campaign.tz)), sel)


def totals(eng, campaign, sel: metrics.Selection, frames=None) -> pd.DataFrame:
    """One row per platform, and a last row ``platform == ALL`` for all of them together; from the
    rollups and narrow SQL, or from ``frames`` (queries.frames.load_frames) when given.

    Activity (views … EMV, rates) is in the selection's days from the rollups; posts published,
    active influencers and reach are about the posts published in those days. ``basis`` says
    whether the platform is counted by views or, reporting none, by impressions."""
    by = rollups.query(eng, campaign, by=["platform"], sel=sel)
    if by.empty:
        return pd.DataFrame(columns=["platform", "basis", *TABLE_ROWS, "reach_max_post", "reach_sum"])
    every = rollups.query(eng, campaign, by=[], sel=sel).assign(platform=ALL)
    if frames is None:
        # Posts published and reach by narrow SQL over the view's days (queries.posts.published_counts,
        # queries.posts.reach_range): the same numbers as from the frames below, without reading them.
        posts = queries.posts.published_counts(eng, campaign, sel, by=["platform"]).set_index("platform")
        posts.loc[ALL] = queries.posts.published_counts(eng, campaign, sel).iloc[0]
        reach = queries.posts.reach_range(eng, campaign, sel, by=["platform"])
        # Across platforms: the largest post of any, the sum of the sums (one read, not two).
        reach_all = pd.DataFrame([dict(platform=ALL, reach_max_post=reach["reach_max_post"].max(),
                                       reach_sum=reach["reach_sum"].sum())]) if len(reach) else reach.iloc[0:0]
    else:
        pub = _published(frames.posts, campaign, sel)
        posts = pub.groupby("platform").agg(posts=("post_pk", "size"), active_influencers=("influencer", "nunique"))
        posts.loc[ALL] = [len(pub), pub["influencer"].nunique()]
        reach = metrics.reach_table(frames.snapshots, frames.posts, campaign, by=["platform"], sel=sel)
        reach_all = metrics.reach_table(frames.snapshots, frames.posts, campaign, by=[], sel=sel).assign(platform=ALL)
    reach = pd.concat([reach, reach_all], ignore_index=True).reindex(columns=["platform", "reach_max_post",
                                                                              "reach_sum"])
    # Largest first, each platform on its own basis, so the columns read as a ranking.
    by = (by.assign(_size=metrics.views_or_impressions(by).fillna(0))
          .sort_values(["_size", "platform"], ascending=[False, True]).drop(columns="_size"))
    out = pd.concat([by, every], ignore_index=True)
    out = out.merge(posts.reset_index(), on="platform", how="left").merge(reach, on="platform", how="left")
    out[["posts", "active_influencers"]] = out[["posts", "active_influencers"]].fillna(0).astype(int)
    # Views, else impressions; a platform with neither (Weibo: likes, comments, reposts only) has
    # no basis and is counted in no volume comparison.
    out["basis"] = metrics.basis_of(out["platform"])
    out.loc[out["platform"] == ALL, "basis"] = None  # a mix: each platform counts on its own basis
    return out.reset_index(drop=True)


def weekly_mix(eng, campaign, sel: metrics.Selection, metric: str) -> pd.DataFrame:
    """The share of ``metric`` per platform in each ISO week (columns week, platform, basis, value,
    share in percent, days: the week's days inside the selection).

    For views a platform that reports none is counted by its impressions (``basis``), as in EMV:
    otherwise X and LinkedIn would vanish from the mix. Weeks with a total of 0 are left out."""
    w = rollups.query(eng, campaign, by=["platform", "week"], sel=sel)
    cols = ["week", "platform", "basis", "value", "share", "days"]
    if w.empty or metric not in w:
        return pd.DataFrame(columns=cols)
    if metric in ("views", metrics.BASIS_METRIC):
        w = w.assign(basis=metrics.basis_of(w["platform"]))
        w = w[w["basis"].notna()].copy()  # a platform with neither has no volume to share
        w["value"] = metrics.views_or_impressions(w)
    else:
        w = w[w.groupby("platform")[metric].transform(lambda s: s.notna().any())].copy()
        w["basis"], w["value"] = metric, w[metric]
    w["value"] = w["value"].fillna(0.0).astype(float)
    total = w.groupby("week")["value"].transform("sum")
    w = w[total > 0].copy()
    w["share"] = w["value"] / total[total > 0] * 100
    w["days"] = w["week"].map(lambda wk: _days_in(wk, sel))
    return w.sort_values(["week", "platform"])[cols].reset_index(drop=True)


def _days_in(week: str, sel: metrics.Selection) -> int:
    monday = week_start(week)
    lo, hi = max(monday, sel.start or monday), min(monday + timedelta(days=6), sel.end or monday + timedelta(days=6))
    return max((hi - lo).days + 1, 0)

"""The leaderboard, and one influencer's data beside it: what the Influencers page shows and
``/download/influencers.csv`` (dashboard/web/downloads.py) writes, so the page and the file are one table.

The leaderboard is ``exports.influencers_frame`` for a selection, cut to the columns a team
compares people by (``LEADERBOARD_COLUMNS``): from the rollups and narrow SQL (``leaderboard_db``)
on the page and in the download, from the frames (``leaderboard``) where a caller has them.

One influencer's panel reads and scans only their accounts (``focus_data``): every anomaly
detector works per influencer and platform, per account or per post, so the flags are the same
as the whole campaign's filtered to them (tested), at a fraction of the time. The view's dates and
platforms are applied afterwards (``focus_posts``, ``focus_anomalies``), so one result serves every
filter; the page keeps it in the cache all workers share (dashboard/analysis/shared.py).
"""
from __future__ import annotations

from typing import Protocol

import pandas as pd

from . import anomalies, exports, metrics, queries, rollups


class View(Protocol):
    """What one influencer's panel is drawn for: the page's filters (``Filters`` of
    dashboard/web/filters.py is one), read here through these three only. The analysis does not
    import the web layer that reads them from the URL; it needs no more than this."""

    metric: str
    cumulative: bool

    def selection(self) -> metrics.Selection: ...


# The leaderboard, in grid order; the CSV download has these columns in this order, with the
# reach range as its two ends and EMV followed by the formula version every EMV output carries.
LEADERBOARD_COLUMNS = ["influencer", "category", "platforms", "posts_published", "views_or_impressions", "views",
                       "impressions", "engagements", "er_views", "er_impressions", "er_followers", "followers", "emv_usd",
                       "emv_formula", "reach_max_post", "reach_sum"]


def leaderboard(frames, campaign, sel: metrics.Selection) -> pd.DataFrame:
    """One row per influencer, most views or impressions first: ``LEADERBOARD_COLUMNS`` of ``influencers_frame``."""
    df = exports.influencers_frame(frames, campaign, sel)
    return df.reindex(columns=LEADERBOARD_COLUMNS).reset_index(drop=True)


def leaderboard_db(eng, campaign, sel: metrics.Selection) -> pd.DataFrame:
    """``leaderboard`` from the rollups and narrow SQL instead of the whole database and the
    engine: ``exports.influencers_frame_db`` (what `reach export influencers` writes) cut to the
    grid's columns. The same table as ``leaderboard`` (tests/test_pages_scale.py)."""
    return exports.influencers_frame_db(eng, campaign, sel).reindex(columns=LEADERBOARD_COLUMNS).reset_index(drop=True)


def board_view(eng, campaign, sel: metrics.Selection) -> tuple[pd.DataFrame, list[str], bool]:
    """What the page's layout needs from the whole campaign: the leaderboard, every influencer's
    name (for the filter bar) and whether any post is stored (which empty message to give), each
    by a query that reads only what it shows."""
    names = queries.names.influencer_names(eng)
    return leaderboard_db(eng, campaign, sel), names, bool(names)


def accounts_of(eng, name: str) -> list[int]:
    """The accounts behind a leaderboard name (``queries.names.accounts_named``)."""
    return queries.names.accounts_named(eng, name)


def focus_data(eng, campaign, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(posts, flags) of one influencer for every day: ``exports.posts_frame`` rows of their
    accounts and ``anomalies.anomalies`` rows about them, the flags the last refresh stored
    (flag_store.influencer_flags) or else computed from their accounts only. The view's dates and platforms are applied afterwards (``focus_posts``, ``focus_anomalies``),
    so one cached result serves every filter."""
    pks = accounts_of(eng, name)
    if not pks:
        return exports.posts_frame(eng, account_pks=[]), pd.DataFrame(columns=anomalies.COLUMNS)
    # From the rollup and narrow SQL (as Live's flags), not the engine on every observation: the
    # rollup's rows are the engine's per account and day, which is all the series read, and a
    # channel of videos published over years made the engine hold 8 M increment rows (1.8 GB).
    from . import flag_store, rollups

    rollups.bring_current(eng, campaign)  # exact for the command line, as it stands for pages
    stored = flag_store.influencer_flags(eng, campaign, name)  # what the last refresh stored, if of this data
    if stored is not None:
        return exports.posts_frame(eng, account_pks=pks), stored
    owners = queries.anomaly_inputs.flag_owners(eng)
    daily, followers, lifetimes = queries.anomaly_inputs.series_inputs(eng, campaign, owners, pks)
    checks, posts = queries.anomaly_inputs.impossible_inputs(eng, campaign, pks)
    flags = anomalies.scan(anomalies._stacked(daily, followers), checks, posts, campaign, lifetimes=lifetimes)
    flags = flags[flags["influencer"] == name].reset_index(drop=True)
    return exports.posts_frame(eng, account_pks=pks), flags


def focus_daily(eng, campaign, f: View, name: str) -> pd.DataFrame:
    """One influencer's rollup rows per platform and day in the view (every metric)."""
    sel = metrics.in_window(f.selection(), campaign)
    sel = metrics.Selection(start=sel.start, end=sel.end, platforms=sel.platforms, categories=sel.categories,
                            influencers=(name,))
    return rollups.query(eng, campaign, by=["platform", "day"], sel=sel)


def focus_series(eng, campaign, f: View, name: str, daily: pd.DataFrame | None = None) -> pd.DataFrame:
    """The chart metric for one influencer per platform and day (running total with view=cumulative),
    from ``daily`` (``focus_daily``) when given."""
    daily = focus_daily(eng, campaign, f, name) if daily is None else daily
    if daily.empty or f.metric not in daily:
        return pd.DataFrame(columns=["platform", "day", "value"])
    return metrics.series_by_platform(daily, f.metric, f.cumulative)


def focus_posts(posts: pd.DataFrame, campaign, f: View, name: str) -> pd.DataFrame:
    """The influencer's posts published in the view (``exports.posts_frame`` rows), most viewed first,
    with ``engagements`` from their latest lifetime values."""
    posts = posts.copy()
    # posts_frame leaves an unassigned account's influencer empty; the leaderboard names it
    # "<account> (unassigned)", as load_frames does.
    lone = posts["influencer"].isna()
    posts.loc[lone, "influencer"] = posts.loc[lone, "account"] + " (unassigned)"
    sel = metrics.in_window(f.selection(), campaign)
    sel = metrics.Selection(start=sel.start, end=sel.end, platforms=sel.platforms, influencers=(name,))
    mine = exports.filter_posts(posts, campaign, sel)
    mine = mine.assign(engagements=metrics.engagements(mine, campaign))
    # Views or impressions (metrics.views_basis: impressions on a platform without views), as everywhere else.
    rank = metrics.views_or_impressions(mine.assign(views=pd.to_numeric(mine["views"], errors="coerce"),
                                                    impressions=pd.to_numeric(mine["impressions"], errors="coerce")))
    return mine.assign(_rank=rank).sort_values("_rank", ascending=False, na_position="last", kind="stable") \
        .drop(columns="_rank").reset_index(drop=True)


def focus_anomalies(flags: pd.DataFrame, f: View, campaign, name: str, pairs=None) -> pd.DataFrame:
    """``anomalies.anomalies`` rows about this influencer in the view, newest first:
    ``anomalies.in_view`` (its days and platforms, and with ``pairs`` only the influencer-platform
    pairs its influencers and categories select; no trailing Hampel flags, as on the Live page)."""
    mine = flags[flags["influencer"] == name]
    return anomalies.in_view(mine, metrics.in_window(f.selection(), campaign), pairs).reset_index(drop=True)

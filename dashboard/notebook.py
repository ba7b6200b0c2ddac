"""Open a campaign in a notebook in one line.

    from dashboard.notebook import open_campaign
    c = open_campaign()              # $REACH_DB, else data/reach.db here or in a folder above
    c.weekly(by=["influencer"], week="2025-W02")
    c.reach(by=["influencer", "platform"], platforms=["instagram"])

A convenience, nothing more: every number comes from ``dashboard.analysis.metrics`` (and
``dashboard.analysis.anomalies``); this module only finds the database and the campaign config, reads the
frames once, computes the increments once, and turns keyword arguments into a ``Selection``.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path

import pandas as pd

from collectors.model import METRICS
from collectors.store import database

from .analysis import config as config_mod
from .analysis import metrics, queries
from .analysis.config import Campaign
from .text.weeks import week_start


def _find_upwards(rel: Path) -> Path | None:
    """``rel`` in the current folder or the nearest folder above that has it (a notebook runs in
    notebooks/, the database and campaign.toml live in the project folder)."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / rel).exists():
            return folder / rel
    return None


def _as_date(value, name: str) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):  # pandas Timestamps too
        return value.date()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a date like 2025-01-06") from None


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def selection(week: str | None = None, start=None, end=None, platforms=(), influencers=(),
              categories=()) -> metrics.Selection:
    """A ``metrics.Selection`` from friendly arguments: ``week="2025-W02"`` (its Monday to Sunday)
    or ``start``/``end`` (dates or "YYYY-MM-DD", inclusive, campaign timezone); a single platform,
    influencer or category may be given as a string."""
    start, end = _as_date(start, "start"), _as_date(end, "end")
    if week is not None:
        if start is not None or end is not None:
            raise ValueError("give either week= or start=/end=, not both")
        start = week_start(week)
        end = start + timedelta(days=6)
    return metrics.Selection(start=start, end=end, platforms=_as_tuple(platforms),
                             influencers=_as_tuple(influencers), categories=_as_tuple(categories))


class CampaignData:
    """One campaign's data, read once: ``frames`` (posts, snapshots, post_days, account_days),
    ``campaign`` (the config), ``inc`` (daily increments, computed on first use) and thin methods
    that call the metrics engine. Selection keywords everywhere: ``week``, ``start``, ``end``,
    ``platforms``, ``influencers``, ``categories`` (see ``selection``)."""

    def __init__(self, frames: queries.frames.Frames, campaign: Campaign, db: str = "", config_path: str = ""):
        self.frames = frames
        self.campaign = campaign
        self.db = db
        self.config_path = config_path

    @cached_property
    def inc(self) -> pd.DataFrame:
        """Daily increments per post, day and metric (``metrics.increments``)."""
        return metrics.increments(self.frames.snapshots, self.frames.post_days, self.campaign)

    def selection(self, **selection) -> metrics.Selection:
        return selection_from(selection)

    def daily(self, by=("platform",), **selection) -> pd.DataFrame:
        """Activity by day (``metrics.daily_table``): one row per ``by`` group and day."""
        return metrics.daily_table(self.inc, self.frames.posts, self.campaign, by=list(by), sel=selection_from(selection))

    def weekly(self, by=(), today: date | None = None, **selection) -> pd.DataFrame:
        """Activity by ISO week with week-over-week changes (``metrics.weekly_table``). The week
        before a selected week is compared only when it is inside the selection."""
        return metrics.weekly_table(self.inc, self.frames.posts, self.campaign, by=list(by),
                                    sel=selection_from(selection), today=today)

    def reach(self, by=("platform",), universe: float | None = None, **selection) -> pd.DataFrame:
        """Reach of the posts published in the selection (``metrics.reach_table``): the range
        ``reach_max_post`` .. ``reach_sum``; the sum is not deduplicated."""
        return metrics.reach_table(self.frames.snapshots, self.frames.posts, self.campaign, by=list(by),
                                   sel=selection_from(selection), universe=universe)

    def posts(self, **selection) -> pd.DataFrame:
        """The posts (platform, account, influencer, title, url, ...) with their publish day in the
        campaign timezone and their latest lifetime snapshot (``captured_at`` and the metrics;
        empty for posts known only from daily rows). Selection: platforms, influencers,
        categories, and start/end/week on the publish day."""
        sel = selection_from(selection)
        p = metrics._filter_posts(self.frames.posts, sel).copy()
        p["publish_day"] = metrics._local_day(pd.to_datetime(p["published_at"], utc=True), self.campaign.tz)
        p = metrics._days(p, sel, "publish_day")
        until = None
        if sel.end is not None:
            until = pd.Timestamp(sel.end + timedelta(days=1)).tz_localize(self.campaign.tz).tz_convert("UTC")
        last = metrics.latest_lifetime(self.frames.snapshots, until)[["post_pk", "captured_at", *METRICS]]
        return p.merge(last, on="post_pk", how="left").reset_index(drop=True)

    def anomalies(self, **options) -> pd.DataFrame:
        """Days and posts worth a second look, each with a reason (``anomalies.anomalies``)."""
        from .analysis import anomalies

        return anomalies.anomalies(self.frames, self.inc, self.campaign, **options)

    def __repr__(self) -> str:
        p = self.frames.posts
        c = self.campaign
        window = f"{c.start} to {c.end}" if c.start and c.end else "no campaign window set"
        return (f"<{c.name!r}: {len(p):,} posts on {p['platform'].nunique()} platforms by "
                f"{p['influencer'].nunique()} influencers; {window} ({c.timezone}); "
                f"database {self.db}; config {self.config_path or 'defaults (no campaign.toml found)'}>")


def selection_from(kwargs: dict) -> metrics.Selection:
    """``sel=Selection(...)`` as it is, else ``selection(**kwargs)``."""
    if "sel" in kwargs:
        if len(kwargs) > 1:
            raise ValueError("give either sel= or selection keywords, not both")
        return kwargs["sel"] or metrics.Selection()
    return selection(**kwargs)


def open_campaign(db: str | None = None, config: str | Path | Campaign | None = None) -> CampaignData:
    """The campaign's data, read once.

    ``db``: a database URL or SQLite path; default $REACH_DB, else data/reach.db in the current
    folder or the nearest folder above that has one. ``config``: a campaign.toml path or a
    ``Campaign``; default $REACH_CONFIG, else campaign.toml found the same way (built-in defaults
    when there is none)."""
    if db is None and not os.environ.get("REACH_DB"):
        found = _find_upwards(database.DEFAULT_DB_PATH)
        db = str(found) if found else None
    engine = database.connect(db, create=False)  # no database: a clear error, not an empty new one
    try:
        frames = queries.frames.load_frames(engine)
    finally:
        engine.dispose()
    if isinstance(config, Campaign):
        campaign, config_path = config, "(given)"
    else:
        if config is None and not os.environ.get("REACH_CONFIG"):
            found = _find_upwards(config_mod.DEFAULT_PATH)
            config = found if found else None
        config_path = str(config or os.environ.get("REACH_CONFIG") or "")
        campaign = config_mod.load(config)
    return CampaignData(frames, campaign, db=engine.url.render_as_string(hide_password=True), config_path=config_path)

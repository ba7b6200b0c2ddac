"""The top posts' bounds (queries.posts.post_bounds) are never below what the engine counts by the week's end.

The weekly summary ranks a week's posts by their running total of views (or impressions) up to its
last day, and runs the engine only on the posts whose bound can still beat the fifth: a bound
below a post's value would drop it from the list silently. The bound counts only what the engine
can count by then (daily rows up to the last day; the snapshots before its end and the first one
after; of a post with daily rows, only the snapshots from its last daily row on), so it is checked
here against the engine itself, post by post, on both databases, on a campaign with the cases
that decide it: snapshots on both sides of a week's end, a correction (a lower later value), posts
with daily rows and snapshots before, between and after them, and posts without any observation.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from collectors.model import METRICS
from collectors.store import database, schema
from dashboard.analysis import config, metrics, queries, summary
from test_query_plans import CAMPAIGN_TOML, START, build_campaign


def _values(frames, inc, campaign, lo, hi) -> pd.Series:
    """Each post published in lo..hi: views or impressions summed over its increments up to hi."""
    pub = summary._published_between(frames.posts, campaign.tz, lo, hi)
    mine = inc[inc["post_pk"].isin(pub["post_pk"]) & (inc["day"] <= pd.Timestamp(hi))]
    wide = mine.pivot_table(index="post_pk", columns="metric", values="value", aggfunc="sum")
    wide = wide.reindex(columns=sorted(set(wide.columns) | {"views", "impressions"}))
    wide["platform"] = pub.set_index("post_pk")["platform"].reindex(wide.index)
    return metrics.views_or_impressions(wide).fillna(0.0).reindex(pub["post_pk"]).fillna(0.0)


def test_no_post_is_worth_more_by_the_weeks_end_than_its_bound(db_url, tmp_path):
    engine = build_campaign(db_url, n_posts=900, per_account=30)
    s, d = schema.post_snapshots, schema.post_days
    row = dict.fromkeys(METRICS)
    with database.write_transaction(engine) as c:
        snapped = [r for r in c.execute(sa.select(s.c.post_pk, sa.func.max(s.c.captured_at), sa.func.max(s.c.views))
                                        .group_by(s.c.post_pk).order_by(s.c.post_pk)).all()]
        daily = [r for r in c.execute(sa.select(d.c.post_pk, sa.func.min(d.c.day), sa.func.max(d.c.day))
                                      .group_by(d.c.post_pk).order_by(d.c.post_pk)).all()]
        extra = []
        for pk, at, views in snapped[::7]:  # a correction after the last snapshot: growth taken back
            at = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
            extra.append({**row, "post_pk": pk, "captured_at": at + timedelta(days=9), "import_id": 1,
                          "views": views // 2, "impressions": views})
        for k, (pk, first, last) in enumerate(daily[::3]):  # snapshots beside daily rows
            first, last = date.fromisoformat(str(first)), date.fromisoformat(str(last))
            times = (datetime.combine(first, datetime.min.time()) + timedelta(hours=20),
                     datetime.combine(last, datetime.min.time()) + timedelta(hours=30),
                     datetime.combine(last, datetime.min.time()) + timedelta(days=6, hours=3))
            for j, at in enumerate(times[:2] if k % 4 < 2 else times):
                extra.append({**row, "post_pk": pk, "captured_at": at, "import_id": 2,
                              # before the daily rows end (large on every other post), a day
                              # after them, and on half the posts a lower value six days later
                              "views": (5000 if k % 2 else 40, 3000 + 500 * (k % 3), 100)[j],
                              "impressions": 90 * (j + 1)})
        c.execute(s.insert(), extra)
        # Daily rows that start after the publish day (a video older than the export's range).
        d2 = d.alias("d2")
        c.execute(d.update().where(d.c.post_pk.in_([pk for pk, _, _ in daily[1::3]]), d.c.day == sa.select(
            sa.func.min(d2.c.day)).where(d2.c.post_pk == d.c.post_pk).scalar_subquery()).values(views=None))
    (tmp_path / "campaign.toml").write_text(CAMPAIGN_TOML)
    campaign = config.load(str(tmp_path / "campaign.toml"))
    frames = queries.frames.load_frames(engine)
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    checked = 0
    for lo in (START.date() + timedelta(days=7 * k) for k in range(3)):
        for hi in (lo + timedelta(days=2), lo + timedelta(days=6)):  # a partial week too
            bounds = queries.posts.post_bounds(engine, campaign, metrics.Selection(start=lo, end=hi)).set_index("post_pk")
            values = _values(frames, inc, campaign, lo, hi)
            assert sorted(bounds.index) == sorted(values.index), (lo, hi)
            under = values[values > bounds["bound"].reindex(values.index) + 1e-9]
            assert under.empty, (lo, hi, pd.DataFrame({"value": under, "bound": bounds["bound"].reindex(under.index)}))
            fifth = values.sort_values(ascending=False).iloc[summary.TOP_N - 1]
            # The bound is the value for most posts: few are candidates beside the top five.
            assert (bounds["bound"] >= fifth).sum() <= 4 * summary.TOP_N, (lo, hi)
            checked += len(values)
    assert checked > 900
    engine.dispose()


def test_snapshots_of_a_post_with_daily_rows_past_the_weeks_end_are_not_in_its_bound(db_url, tmp_path):
    """A post whose daily rows go on after the week's last day counts its lifetime snapshots only
    after those rows (metrics._after_daily): nothing of them by the week's end, so its bound is
    its daily rows. Counted in, every such post of the week was a candidate (its lifetime value
    on top of its days): bench/pg_scale.py's posts (10 daily rows and 20 daily snapshots each)
    made the weekly summary run the engine on about half of a week's posts, 82,000 of them at
    100 M snapshot rows, at the end of every refresh (docs/scaling.md)."""
    engine = build_campaign(db_url, n_posts=1000, per_account=25, snapshots=10)
    s, d = schema.post_snapshots, schema.post_days
    with database.write_transaction(engine) as c:
        daily = c.execute(sa.select(d.c.post_pk, sa.func.min(d.c.day)).group_by(d.c.post_pk)).all()
        c.execute(s.insert(), [
            {**dict.fromkeys(METRICS), "post_pk": pk, "import_id": 1,
             "captured_at": datetime.combine(date.fromisoformat(str(first)), datetime.min.time()) + timedelta(days=j, hours=13),
             **{m: 10_000_000 * (j + 1) for m in METRICS}}
            for pk, first in daily for j in range(10)])
    (tmp_path / "campaign.toml").write_text(CAMPAIGN_TOML)
    campaign = config.load(str(tmp_path / "campaign.toml"))
    frames = queries.frames.load_frames(engine)
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    for lo in (START.date(), START.date() + timedelta(days=7)):
        for hi in (lo + timedelta(days=2), lo + timedelta(days=6)):
            bounds = queries.posts.post_bounds(engine, campaign, metrics.Selection(start=lo, end=hi)).set_index("post_pk")
            values = _values(frames, inc, campaign, lo, hi)
            assert (values <= bounds["bound"].reindex(values.index) + 1e-9).all(), (lo, hi)
            fifth = values.sort_values(ascending=False).iloc[summary.TOP_N - 1]
            with_days = bounds.index.isin([pk for pk, _ in daily])
            assert with_days.sum() > 4 * summary.TOP_N
            assert (bounds["bound"] >= fifth).sum() <= 4 * summary.TOP_N, (lo, hi, (bounds["bound"][with_days] >= fifth).sum())
    engine.dispose()

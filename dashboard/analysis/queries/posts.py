"""Questions about posts that the daily rollup cannot answer, each read by SQL that touches only what
the view needs: posts published in the view's days, their reach by each post's latest snapshot
(a primary-key probe), posts past a value, and the bound of each post's views for the weekly
summary's top posts. Each equals what the metrics engine computes from ``frames.load_frames``
(tests/test_pages_scale.py, tests/test_post_bounds.py)."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import sqlalchemy as sa

from collectors.model import PLATFORM_LABELS
from collectors.store import schema

from .parts import (account_filters, group_keys, influencer_expr, posts_joined, published_in, quarter_hour,
                    rows_frame, time_bound, utc_bounds)


def published_counts(engine: sa.Engine, campaign, sel, by=()) -> pd.DataFrame:
    """Posts published in the selection's days (campaign timezone) and its filters: ``posts`` and
    ``active_influencers`` (distinct influencers who published) per ``by`` (platform and/or
    influencer; none: one row)."""
    by = list(by)
    keys = group_keys(by)
    q = sa.select(*[keys[k].label(k) for k in by], sa.func.count().label("posts"),
                  sa.func.count(sa.distinct(influencer_expr())).label("active_influencers")).select_from(posts_joined())
    q = published_in(q, campaign, sel.start, sel.end, engine.dialect.name).where(*account_filters(sel))
    if by:
        q = q.group_by(*[keys[k] for k in by])
    with engine.connect() as conn:
        df = pd.DataFrame([tuple(r) for r in conn.execute(q)], columns=by + ["posts", "active_influencers"])
    df[["posts", "active_influencers"]] = df[["posts", "active_influencers"]].astype("int64")
    return df


def published_days(engine: sa.Engine, campaign, sel, by=()) -> pd.DataFrame:
    """Posts published per local day (campaign timezone) of the selection, and per ``by``
    (platform and/or influencer): ``day``, *by, ``posts``; what a goal on posts counts
    (dashboard/analysis/goals.py). Counted per quarter hour in SQL (every timezone's offset is whole
    quarter hours, so a quarter hour's local day is its posts'), then per day here."""
    from .. import metrics

    by = list(by)
    keys = group_keys(by)
    quarter = quarter_hour(schema.posts.c.published_at, engine.dialect.name)
    q = (sa.select(*[keys[k].label(k) for k in by], quarter.label("quarter"), sa.func.count().label("posts"))
         .select_from(posts_joined()).where(schema.posts.c.published_at.is_not(None), *account_filters(sel)))
    q = published_in(q, campaign, sel.start, sel.end, engine.dialect.name).group_by(*[keys[k] for k in by], quarter)
    with engine.connect() as conn:
        df = pd.DataFrame([tuple(r) for r in conn.execute(q)], columns=[*by, "quarter", "posts"])
    if df.empty:
        return pd.DataFrame({"day": pd.Series(dtype="datetime64[ns]"), **{b: pd.Series(dtype=object) for b in by},
                             "posts": pd.Series(dtype="int64")})
    df["day"] = metrics._local_day(pd.to_datetime(df["quarter"], format="ISO8601").dt.tz_localize("UTC"), campaign.tz)
    return df.groupby(["day", *by], as_index=False)["posts"].sum().astype({"posts": "int64"})


def posts_observed_since(engine: sa.Engine, campaign, sel, day) -> list[int]:
    """The posts of the selection's accounts with a snapshot captured, or a daily row, on or after
    the local ``day``: the only posts whose gains on that day or later can be above zero."""
    p, s, d = schema.posts, schema.post_snapshots, schema.post_days
    lo, _ = utc_bounds(campaign, day, None)
    snap = sa.exists().where(s.c.post_pk == p.c.id, s.c.captured_at >= time_bound(engine.dialect.name, lo))
    daily = sa.exists().where(d.c.post_pk == p.c.id, d.c.day >= day)
    q = sa.select(p.c.id).select_from(posts_joined()).where(sa.or_(snap, daily), *account_filters(sel))
    with engine.connect() as conn:
        return [int(x) for x in conn.execute(q).scalars()]


def posts_reaching(engine: sa.Engine, campaign, sel, metric: str, above: float, post_ids=()) -> list[dict]:
    """Posts of the selection's accounts whose lifetime ``metric`` is at least ``above``: by the
    latest snapshot, or for posts with daily rows only, the sum of those (what an alert on a viral
    post looks for, dashboard/alerts.py). ``metric`` may be a stored metric, ``views_or_impressions``
    (views, else impressions) or ``engagements`` (campaign.toml's engagement metrics summed).
    Rows: platform, post_id, title, url, influencer, value; largest first."""
    from collectors.model import METRICS

    from .. import metrics

    platforms = sorted(set(campaign.cpm) | set(PLATFORM_LABELS))
    on_views = [x for x in platforms if metrics.views_basis(x) == "views"]
    on_impressions = [x for x in platforms if metrics.views_basis(x) == "impressions"]

    def value_of(t):
        if metric == "views_or_impressions":  # the platform's basis, never a per-row choice (metrics.py)
            return sa.case((p.c.platform.in_(on_views), t.c.views), (p.c.platform.in_(on_impressions), t.c.impressions),
                           else_=sa.null())
        if metric == "engagements":
            return sum((sa.func.coalesce(t.c[m], 0) for m in campaign.engagement), sa.literal(0))
        if metric not in METRICS:
            raise ValueError(f"a post has no {metric!r}")
        return t.c[metric]

    p, d = schema.posts, schema.post_days
    everything = type(sel)(platforms=sel.platforms, influencers=sel.influencers, categories=sel.categories)
    joined, snap = latest_before(campaign, everything, engine.dialect.name)
    cols = [p.c.platform, p.c.post_id, p.c.title, p.c.url, influencer_expr().label("influencer")]
    only = [p.c.post_id.in_(list(post_ids))] if post_ids else []
    a = sa.select(*cols, value_of(snap).label("value")).select_from(joined).where(
        value_of(snap) >= above, *account_filters(sel), *only)
    has_snap = sa.exists().where(schema.post_latest.c.post_pk == p.c.id)
    daily = (sa.select(p.c.id.label("pk"), sa.func.sum(value_of(d)).label("value")).select_from(p.join(d, d.c.post_pk == p.c.id))
             .where(~has_snap, *only).group_by(p.c.id).having(sa.func.sum(value_of(d)) >= above).subquery())
    b = sa.select(*cols, daily.c.value).select_from(posts_joined().join(daily, daily.c.pk == p.c.id)).where(
        *account_filters(sel))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(a)] + [dict(r._mapping) for r in conn.execute(b)]
    return sorted(rows, key=lambda r: (-float(r["value"]), r["platform"], r["post_id"]))


def latest_before(campaign, sel, dialect: str):
    """(the posts (``posts_joined``) joined to each one's latest snapshot captured before the end of
    the selection's last day (as metrics.latest_lifetime), that snapshot: what its columns are
    read from, ``.c.reach`` and the other metrics). Posts without one are left out."""
    p, s = schema.posts, schema.post_snapshots
    s2 = s.alias("s_before")
    _, until = utc_bounds(campaign, None, sel.end)
    if until is None:  # no end: the latest snapshot of all, post_latest's row (schema 9), joined on the key
        return posts_joined().join(schema.post_latest, schema.post_latest.c.post_pk == p.c.id), schema.post_latest
    before = [s2.c.captured_at < time_bound(dialect, until, after=True)]
    if dialect == "sqlite":
        # One walk of the primary key (post_pk, captured_at) per post: its last entry for the post
        # names the row by rowid (max() then an equality probe walked the key twice, 2.6 times
        # slower at 20,000 posts; SQLite would scan a grouped subquery once per post).
        latest = (sa.select(sa.literal_column("s_before.rowid")).select_from(s2).where(s2.c.post_pk == p.c.id, *before)
                  .order_by(s2.c.captured_at.desc()).limit(1).correlate(p).scalar_subquery())
        return posts_joined().join(s, sa.literal_column("post_snapshots.rowid") == latest), s
    # PostgreSQL: each post's latest snapshot by one backward walk of the primary key (LATERAL), its
    # values taken from there. A grouped subquery of every snapshot before the end, hashed, took
    # 0.6 s for a week's 19,000 posts at 100x the demo (built once per parallel worker); joined
    # back to the table by capture time, the planner expected one row and looped over the rest.
    from collectors.model import METRICS

    last = (sa.select(*[s2.c[m] for m in METRICS]).where(s2.c.post_pk == p.c.id, *before)
            .order_by(s2.c.captured_at.desc()).limit(1).lateral("latest"))
    return posts_joined().join(last, sa.true()), last


def reach_range(engine: sa.Engine, campaign, sel, by=()) -> pd.DataFrame:
    """``metrics.reach_table``'s ``reach_max_post`` and ``reach_sum`` (and ``reach_posts``) per
    ``by``: the posts published in the selection, each by its latest snapshot captured before the
    end of the selection's last day, when that snapshot has a reach. Groups without a reach are
    left out, as reach_table leaves them out."""
    by = list(by)
    keys = group_keys(by)
    joined, s = latest_before(campaign, sel, engine.dialect.name)
    q = (sa.select(*[keys[k].label(k) for k in by], sa.func.max(s.c.reach).label("reach_max_post"),
                   sa.func.sum(s.c.reach).label("reach_sum"), sa.func.count(s.c.reach).label("reach_posts"))
         .select_from(joined).where(s.c.reach.is_not(None)))
    q = published_in(q, campaign, sel.start, sel.end, engine.dialect.name).where(*account_filters(sel))
    if by:
        q = q.group_by(*[keys[k] for k in by])
    with engine.connect() as conn:
        df = pd.DataFrame([tuple(r) for r in conn.execute(q)], columns=by + ["reach_max_post", "reach_sum", "reach_posts"])
    if not by:
        df = df[df["reach_posts"] > 0]
    for c in ("reach_max_post", "reach_sum"):
        df[c] = pd.to_numeric(df[c]).astype("float64")
    return df.reset_index(drop=True)


def post_bounds(engine: sa.Engine, campaign, sel) -> pd.DataFrame:
    """The posts published in the selection's days and filters (``post_pk``), each with ``bound``:
    no running total of its views or impressions (metrics.views_basis of its platform: the
    summary's figure of a post) up to the end of the selection's last day can exceed it. Largest
    first: the candidates for a "top posts" list.

    The bound, of views on a platform counted by views, of impressions on one counted by
    impressions (0 on one with neither: its posts count nothing), is what metrics.increments can
    count by then: the positive daily values of the days up to the last day, plus the largest
    lifetime value of the snapshots that can count before its end (those captured before it and
    the first one at or after it: a snapshot's growth is spread over the days since the one
    before, running totals never exceed the largest value seen, later snapshots only take growth
    back), of those only the ones captured from the post's last daily row of that metric on when
    it has daily rows (the engine counts a snapshot's growth after the daily rows only; from that
    day's UTC midnight, which is never after the local one), and none when that last daily row is
    after the last day (that growth lands on the days after the daily rows: not by then; counted
    in, a post with daily rows past the week and lifetime snapshots had its lifetime value on top
    of its days, and half a week's posts were candidates). A post observed at the end of the week
    is bounded by its value then: the summary's candidates are a handful of posts, not the
    thousands whose lifetime totals (twice counted where daily rows and snapshots both describe
    them) once were larger."""
    from .. import metrics
    p, s, d = schema.posts, schema.post_snapshots, schema.post_days
    dialect = engine.dialect.name
    _, end = utc_bounds(campaign, None, sel.end)
    s3, d3 = s.alias("s_after"), d.alias("d_last")

    def positive(c):
        return sa.case((c > 0, c), else_=0)

    # Daily rows up to the day after the last: the sum counts those up to the last day, and the
    # last daily day that decides which snapshots count may be taken among these only (a daily row
    # after them would only make that day later: fewer snapshots counted, a bound no lower).
    days_upto = [] if sel.end is None else [d.c.day <= sel.end]
    days_read = [] if sel.end is None else [d.c.day <= sel.end + timedelta(days=1)]
    upto = sa.and_(*days_upto) if days_upto else sa.true()
    if dialect == "sqlite":
        # One probe of the primary keys per post and value (SQLite would scan a grouped subquery per post).
        snaps_upto = []
        if end is not None:
            # The first capture at or after the end, as text: any spelling of that second (with or
            # without microseconds) is taken, which can only raise the bound.
            first_after = (sa.select(sa.func.substr(sa.func.min(s3.c.captured_at), 1, 19).op("||")(".999999"))
                           .where(s3.c.post_pk == p.c.id, s3.c.captured_at >= time_bound(dialect, end))
                           .correlate(p).scalar_subquery())
            snaps_upto = [sa.or_(s.c.captured_at < time_bound(dialect, end), s.c.captured_at <= first_after)]

        def last_daily(m):
            return (sa.select(sa.func.max(d3.c.day))
                    .where(d3.c.post_pk == p.c.id, d3.c[m].is_not(None),
                           *([] if sel.end is None else [d3.c.day <= sel.end + timedelta(days=1)]))
                    .correlate(p).scalar_subquery())

        def snap(m):
            last = last_daily(m)
            return (sa.select(sa.func.max(positive(s.c[m])))
                    .where(s.c.post_pk == p.c.id, *snaps_upto, sa.or_(last.is_(None), sa.and_(
                        s.c.captured_at >= last, *([] if sel.end is None else [last <= sel.end]))))
                    .correlate(p).scalar_subquery())

        def day(m):
            return (sa.select(sa.func.sum(positive(d.c[m]))).where(d.c.post_pk == p.c.id, *days_upto)
                    .correlate(p).scalar_subquery())

        joined = posts_joined()
    else:
        # Per post, through the primary keys (LATERAL): the week's posts' daily rows are a few
        # percent of the table, and grouping them by hash read all of it, twice (the daily part
        # is used by the snapshots' too): 2.2 s at 100x the demo, 0.3 s by key.
        dg = (sa.select(*[sa.func.sum(sa.case((upto, positive(d.c[m])), else_=0)).label(f"d_{m}")
                          for m in ("views", "impressions")],
                        *[sa.func.max(sa.case((d.c[m].is_not(None), d.c.day))).label(f"last_{m}")
                          for m in ("views", "impressions")])
              .where(d.c.post_pk == p.c.id, *days_read).lateral("dg"))
        snaps_upto = []
        joined = posts_joined().outerjoin(dg, sa.true())
        if end is not None:
            fa = (sa.select(sa.func.min(s3.c.captured_at).label("at"))
                  .where(s3.c.post_pk == p.c.id, s3.c.captured_at >= end).lateral("fa"))
            joined = joined.outerjoin(fa, sa.true())
            snaps_upto = [sa.or_(s.c.captured_at < end, s.c.captured_at <= fa.c.at)]

        def counted(m):
            last = dg.c[f"last_{m}"]
            after = sa.and_(s.c.captured_at >= last, *([] if sel.end is None else [last <= sel.end]))
            return sa.case((sa.or_(last.is_(None), after), positive(s.c[m])), else_=0)

        sg = (sa.select(*[sa.func.max(counted(m)).label(f"s_{m}") for m in ("views", "impressions")])
              .where(s.c.post_pk == p.c.id, *snaps_upto).lateral("sg"))
        joined = joined.outerjoin(sg, sa.true())

        def snap(m):
            return sg.c[f"s_{m}"]

        def day(m):
            return dg.c[f"d_{m}"]

    views = sa.func.coalesce(snap("views"), 0) + sa.func.coalesce(day("views"), 0)
    impressions = sa.func.coalesce(snap("impressions"), 0) + sa.func.coalesce(day("impressions"), 0)
    from collectors import registry

    known = sorted(registry.platform_metrics())
    by_views = [pl for pl in known if metrics.views_basis(pl) == "views"]
    by_impressions = [pl for pl in known if metrics.views_basis(pl) == "impressions"]
    bound = sa.case((p.c.platform.in_(by_views), views), (p.c.platform.in_(by_impressions), impressions),
                    else_=sa.literal(0)).label("bound")
    q = sa.select(p.c.id, bound).select_from(joined).where(*account_filters(sel))
    q = published_in(q, campaign, sel.start, sel.end, dialect)
    with engine.connect() as conn:
        if dialect == "postgresql" and (conn.dialect.server_version_info or (0,)) >= (11,):
            # The planner prices the probes per post far above their cost (39 daily rows each where
            # a week's posts have 7), so it would compile the statement first: 0.26 s of JIT for
            # 0.24 s of work at 100x the demo. For this transaction only (PostgreSQL 11 has JIT).
            conn.exec_driver_sql("SET LOCAL jit = off")
        df = rows_frame(conn, q, ["post_pk", "bound"])
    df["bound"] = pd.to_numeric(df["bound"]).astype("float64")
    return df.sort_values(["bound", "post_pk"], ascending=[False, True], kind="stable").reset_index(drop=True)


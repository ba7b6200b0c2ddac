"""Tidy exports for analysts: the stored data as documented CSV columns (docs/exports.md).

The same functions back the command line (`reach export`) and, later, the dashboard's download
buttons, so a download and an export for the same selection are the same bytes.
"""
from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from collectors.errors import ReachError
from collectors.model import FLOAT_METRICS, METRICS, NON_ADDITIVE
from collectors.store import schema

from .config import EMV_FORMULA_VERSION as EMV_FORMULA

METRICS_ADDITIVE = tuple(m for m in METRICS if m not in NON_ADDITIVE)

POST_COLUMNS = ["platform", "post_id", "account", "influencer", "published_at", "url", "title", *METRICS]
ACCOUNT_DAY_COLUMNS = ["platform", "account", "date", *METRICS]

# Reach counts unique people: a sum of daily reach over days is not the post's reach, so a
# post known only from daily rows gets no reach figure rather than a wrong one.
NOT_SUMMED_OVER_DAYS = {"reach"}


def _account_label():
    a = schema.accounts.c
    return sa.func.coalesce(a.handle, a.name, a.account_key).label("account")


def posts_select(account_pks: list[int] | None = None, post_pks: list[int] | None = None,
                 latest_by_rowid: bool = False, lateral: bool = False) -> sa.Select:
    """The posts export's statement: one row per post (``POST_COLUMNS``), its latest lifetime
    snapshot or the sum of its daily rows, in export order; only the posts of these accounts when
    ``account_pks`` is given (one influencer's panel), only these posts with ``post_pks`` (a block
    of the Posts page). The selection's filters are added by ``where_selection``.
    ``latest_by_rowid`` (SQLite only) finds the latest snapshot by its rowid, one probe fewer.
    ``lateral`` (PostgreSQL only) finds both by a LATERAL probe per post, in the order of the
    posts' (platform, published_at, post_id) index: the whole export streams in order, with no sort
    and no hash of every snapshot (issue 11: 1 M posts sorted on disk, the latest snapshot's
    subquery run twice per post)."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    s, d = schema.post_snapshots, schema.post_days

    def only(q, post_pk):
        # Also inside the subquery, so one influencer's posts never group the whole table.
        if post_pks is not None:
            q = q.where(post_pk.in_(post_pks))
        return q if account_pks is None else q.where(
            post_pk.in_(sa.select(p.c.id).where(p.c.account_pk.in_(account_pks))))

    summed = [m for m in METRICS if m not in NOT_SUMMED_OVER_DAYS]
    if lateral:
        s = (sa.select(s.c.post_pk, *[s.c[m] for m in METRICS]).where(s.c.post_pk == p.c.id).order_by(s.c.captured_at.desc()).limit(1)
             .lateral("latest"))
        # Asked only for a post without a snapshot (its daily rows are not shown otherwise): the
        # condition on the snapshot's row is a gate PostgreSQL checks before probing post_days.
        daily = (sa.select(*[sa.func.sum(d.c[m]).label(m) for m in summed])
                 .where(d.c.post_pk == p.c.id, s.c.post_pk.is_(None)).lateral("daily"))
        joined = p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id) \
            .outerjoin(s, sa.true()).outerjoin(daily, sa.true())
    else:
        snap = latest_snapshot_on(p, by_rowid=latest_by_rowid)
        daily = (only(sa.select(d.c.post_pk, *[sa.func.sum(d.c[m]).label(m) for m in summed]), d.c.post_pk)
                 .group_by(d.c.post_pk).subquery())
        joined = p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id) \
            .outerjoin(s, snap).outerjoin(daily, daily.c.post_pk == p.c.id)
    cols = []
    for m in METRICS:
        if m in NOT_SUMMED_OVER_DAYS:
            cols.append(s.c[m].label(m))
        else:
            cols.append(sa.case((s.c.post_pk.is_not(None), s.c[m]), else_=daily.c[m]).label(m))
    q = (sa.select(p.c.platform, p.c.post_id, _account_label(), i.c.name.label("influencer"),
                   p.c.published_at, p.c.url, p.c.title, *cols)
         .select_from(joined)
         .order_by(p.c.platform, p.c.published_at, p.c.post_id))
    if account_pks is not None:
        q = q.where(p.c.account_pk.in_(account_pks))
    if post_pks is not None:
        q = q.where(p.c.id.in_(post_pks))
    return q


def latest_snapshot_on(p, by_rowid: bool = False) -> sa.ColumnElement:
    """The join condition of ``schema.post_snapshots`` to its latest row for the post ``p.c.id``.

    A probe of the primary key (post_pk, captured_at) per post: a correlated max(). A grouped
    "latest" subquery joined back instead is materialised by SQLite and scanned once per post
    (quadratic: issue 11). ``by_rowid`` (SQLite only): the key's last entry for the post names
    the row by its rowid, one walk of the key where max() then an equality probe walk it twice
    (0.5 s of 7 per 1 M posts)."""
    s = schema.post_snapshots
    s2 = s.alias("s_latest")
    if by_rowid:
        latest = (sa.select(sa.literal_column("s_latest.rowid")).select_from(s2).where(s2.c.post_pk == p.c.id)
                  .order_by(s2.c.captured_at.desc()).limit(1).correlate(p).scalar_subquery())
        return sa.literal_column("post_snapshots.rowid") == latest
    latest_at = (sa.select(sa.func.max(s2.c.captured_at)).where(s2.c.post_pk == p.c.id)
                 .correlate(p).scalar_subquery())
    return sa.and_(s.c.post_pk == p.c.id, s.c.captured_at == latest_at)


def posts_frame(engine: sa.Engine, account_pks: list[int] | None = None) -> pd.DataFrame:
    """One row per post: its latest lifetime snapshot, or the sum of its daily rows; only the
    posts of these accounts when ``account_pks`` is given (one influencer's panel)."""
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(posts_select(account_pks)).mappings().all(), columns=POST_COLUMNS)
    df["published_at"] = pd.to_datetime(df["published_at"]).dt.tz_localize("UTC")
    return _int_metrics(df)


def roster_categories(engine: sa.Engine) -> dict[str, str]:
    """The roster's influencers and their categories (``filter_posts`` names the rest "unassigned")."""
    i = schema.influencers
    with engine.connect() as conn:
        return {name: cat for name, cat in conn.execute(sa.select(i.c.name, i.c.category)) if cat}


def posts_export_frame(engine: sa.Engine, campaign, sel=None) -> pd.DataFrame:
    """``reach export posts`` as one frame, the way pandas would write it: the posts of the
    selection (``filter_posts``) with their publish times in the campaign's timezone. The streamed
    export (``csv_export``) writes the bytes ``to_csv_bytes`` gives this frame."""
    categories = roster_categories(engine) if sel is not None and sel.categories else None
    df = filter_posts(posts_frame(engine), campaign, sel, categories)
    return df.assign(published_at=df["published_at"].dt.tz_convert(campaign.tz))


def account_days_select() -> sa.Select:
    a, ad = schema.accounts, schema.account_days
    return (sa.select(a.c.platform, _account_label(), ad.c.day.label("date"), *[ad.c[m] for m in METRICS])
            .select_from(ad.join(a, ad.c.account_pk == a.c.id))
            .order_by(a.c.platform, sa.text("account"), ad.c.day))


def account_days_frame(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(account_days_select()).mappings().all(), columns=ACCOUNT_DAY_COLUMNS)
    return _int_metrics(df)


def _int_metrics(df: pd.DataFrame) -> pd.DataFrame:
    for m in METRICS:
        if m != "watch_time_s":
            df[m] = pd.array(pd.to_numeric(df[m]), dtype="Int64")
        else:
            df[m] = pd.to_numeric(df[m]).astype("Float64")
    return df


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# Columns that count things (people count posts, likes and views in whole numbers): a whole value
# is written as an integer ("994", not "994.0"), as the engine's whole daily shares make them
# (docs/metrics.md, step 3). Watch time keeps its fractions.
_COUNTS = {m for m in METRICS if m not in FLOAT_METRICS} | {
    "views_or_impressions", "engagements", "posts_active", "posts_published", "posts", "active_influencers",
    "followers", "reach_max_post", "reach_sum", "reach_posts", "reach_account", "rank"}
WHOLE_COLUMNS = frozenset(_COUNTS | {f"prev_{m}" for m in _COUNTS} | {f"last_week_{m}" for m in _COUNTS})


def _round_floats(df: pd.DataFrame) -> pd.DataFrame:
    # 4 decimals (rates 6) keep sums true to the unit without printing float noise like
    # 0.30000000000000004; counts that are whole are written as integers.
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]):
            if c in WHOLE_COLUMNS:
                # Cell by cell, not by column: a streamed export writes a batch at a time, and a
                # whole value must read the same whatever its batch holds beside it.
                v = df[c].astype("float64").round(4)
                whole = ((v == np.floor(v)) & (v.abs() < 2**53)).to_numpy()
                cells = v.astype(object).where(v.notna(), None)
                cells[whole] = v[whole].astype("int64").astype(object)
                df[c] = cells
                continue
            df[c] = df[c].round(4 if not c.startswith(("er_", "virality", "wow_", "avg_post_er")) else 6)
    return df


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (so Excel reads Chinese text right), ISO dates, formulas neutralised."""
    return b"\xef\xbb\xbf" + _csv_text(df).encode("utf-8")


def _csv_text(df: pd.DataFrame, header: bool = True) -> str:
    """The CSV text of ``df`` as ``to_csv_bytes`` writes it, without the BOM; a frame's rows
    can be written in parts (``header=False`` after the first) to the same text."""
    out = _round_floats(df.copy())
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.map(lambda v: "" if pd.isna(v) else v.isoformat())
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            # Cell by cell into an object column: Series.map would infer a dtype and turn a KPI
            # column of whole counts beside rates into floats ("1355730.0").
            out[c] = pd.Series([neutralise(v) for v in s], index=s.index, dtype=object)
    buf = io.StringIO()
    out.to_csv(buf, index=False, header=header, lineterminator="\r\n")
    return buf.getvalue()


# --- metrics exports (daily, weekly, influencers) ---------------------------------------------

RATE_COLUMNS = ["er_views", "er_impressions", "virality_views"]
FLAG_COLUMNS = ["interpolated", "corrected"]
# The columns daily, weekly and influencers share, in this order, after their keys and before
# their own (docs/exports.md, "Common to daily, weekly and influencers"; tests/test_exports_agree.py).
COMMON_COLUMNS = [*METRICS_ADDITIVE, "views_or_impressions", "engagements", *RATE_COLUMNS, "emv_usd", "emv_formula", *FLAG_COLUMNS]


def _ordered(df: pd.DataFrame, front: list[str], rest: list[str]) -> pd.DataFrame:
    cols = [c for c in front + rest if c in df.columns]
    return df[cols]


def by_columns(by) -> list[str]:
    """The key columns of a daily or weekly export grouped ``by``: a post is named by its platform
    and the platform's id, so ``platform`` comes before ``post`` unless ``by`` names it already."""
    by = list(by)
    if "post" in by and "platform" not in by:
        by.insert(by.index("post"), "platform")
    return by


def _post_ids(df: pd.DataFrame, posts: pd.DataFrame, by: list[str], time: str) -> pd.DataFrame:
    """The engine's rows grouped by post (its internal key, ``post_pk``) with the platform's post
    id in ``post`` and the platform beside it (``by_columns``), so that (platform, post) joins
    (platform, post_id) of the posts export; in the key columns' string order, as the other
    groupings come. The engine groups by the key: ids are unique within a platform only."""
    if "post" not in by:
        return df
    key = posts.drop_duplicates("post_pk").set_index("post_pk")
    pk = df["post"]
    df = df.assign(post=pk.map(key["post_id"]).astype(object))
    if "platform" not in by:
        df = df.assign(platform=pk.map(key["platform"]).astype(object))
    return df.sort_values(by_columns(by) + [time], kind="stable").reset_index(drop=True)


def daily_frame(frames, campaign, by=("platform",), sel=None) -> pd.DataFrame:
    from . import metrics

    sel = sel or metrics.Selection()
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    d = metrics.daily_table(inc, frames.posts, campaign, by=list(by), sel=sel).rename(columns={"day": "date"})
    d["date"] = pd.to_datetime(d["date"]).dt.date
    d = _post_ids(d, frames.posts, list(by), "date")
    return _ordered(d, by_columns(by) + ["date"], COMMON_COLUMNS + ["posts_active"])


def weekly_frame(frames, campaign, by=(), sel=None, today=None) -> pd.DataFrame:
    from . import metrics

    sel = sel or metrics.Selection()
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    w = metrics.weekly_table(inc, frames.posts, campaign, by=list(by), sel=sel, today=today)
    w = _post_ids(w, frames.posts, list(by), "week")
    return _weekly_columns(w, by)


def _weekly_columns(w: pd.DataFrame, by) -> pd.DataFrame:
    wow = [c for c in w.columns if c.startswith("wow_")]
    return _ordered(w, by_columns(by) + ["week", "week_start", "days_covered", "partial"], COMMON_COLUMNS + wow)


def influencers_frame(frames, campaign, sel=None) -> pd.DataFrame:
    """One row per influencer: activity in the selection, rates, and reach of the posts published in it."""
    from . import metrics

    sel = sel or metrics.Selection()
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    followers = metrics.followers_by_account(frames.accounts, frames.account_days, sel.end)
    totals = metrics.aggregate(inc, frames.posts, campaign, by=["influencer"], sel=sel,
                               followers=followers, accounts=frames.accounts)
    p = metrics._filter_posts(frames.posts, sel)
    info = p.groupby("influencer").agg(category=("category", "first"),
                                       platforms=("platform", lambda s: ", ".join(sorted(set(s)))),
                                       accounts=("account_pk", "nunique")).reset_index()
    pub = p.assign(pub_day=metrics._local_day(p["published_at"], campaign.tz))
    pub = metrics._days(pub, sel, "pub_day")
    info = info.merge(pub.groupby("influencer").size().rename("posts_published").reset_index(), on="influencer", how="left")
    reach = metrics.reach_table(frames.snapshots, frames.posts, campaign, by=["influencer"], sel=sel)
    out = info.merge(totals, on="influencer", how="left").merge(reach, on="influencer", how="left")
    return _influencer_rows(out)


# --- the metrics exports from the rollup (issue 11) -------------------------------------------
# ``daily_frame`` and friends take the whole database into the metrics engine: 1.2 GB at ten
# times the demo. These answer the same frames (the same CSV bytes: tests/test_exports_rollup.py)
# from the stored daily rollup, grouped in SQL (``rollups.query``), and narrow SQL for what the
# rollup does not hold (posts published, reach, followers). A grouping by post cannot come from a
# rollup kept per account: it takes the engine, on only the accounts the selection names.

ROLLUP_GROUPS = ("influencer", "category", "account", "platform")


def _selected_accounts(engine: sa.Engine, sel) -> list[int] | None:
    """The accounts the selection's platforms, influencers and categories name; None without such filters."""
    from . import queries

    where = queries.account_filters(sel)
    if not where:
        return None
    a, i = schema.accounts, schema.influencers
    with engine.connect() as conn:
        return conn.execute(sa.select(a.c.id).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
                            .where(*where)).scalars().all()


def _frames_for(engine: sa.Engine, sel):
    from . import queries

    return queries.load_frames(engine, _selected_accounts(engine, sel))


def _daily_rollup(engine: sa.Engine, campaign, by: list[str], sel) -> pd.DataFrame:
    """``metrics.daily_table``'s frame (grouped by ``by`` and day) from the rollup."""
    from . import rollups

    # The engine's groupby order (Python's string order), whatever the database's collation; the
    # statement daily_csv streams, so that PostgreSQL sums the floats in the same order for both.
    d = rollups.query(engine, campaign, by=by + ["day"], sel=sel, text_order=True)
    if d.empty:  # the columns aggregate gives an empty selection
        return _no_days(by)
    return _days(d)


def _no_days(by: list[str]) -> pd.DataFrame:
    from . import metrics

    return pd.DataFrame(columns=by + ["day"] + list(metrics.COUNTS) + [
        "engagements", "emv_usd", "posts_active", "interpolated", "corrected", *RATE_COLUMNS])


def _days(d: pd.DataFrame) -> pd.DataFrame:
    # The engine counts distinct posts (an integer); the rollup's SQL sum comes back as a float.
    d["posts_active"] = d["posts_active"].astype("int64")
    return d


def _daily_columns(d: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The daily export's columns of ``_daily_rollup``'s frame."""
    d = d.rename(columns={"day": "date"})
    d["date"] = pd.to_datetime(d["date"]).dt.date
    return _ordered(d, by + ["date"], COMMON_COLUMNS + ["posts_active"])


def daily_frame_db(engine: sa.Engine, campaign, by=("platform",), sel=None) -> pd.DataFrame:
    """``daily_frame`` for the stored data, from the rollup: the same frame, a few rows in memory."""
    from . import metrics

    sel = sel or metrics.Selection()
    by = list(by)
    if not set(by) <= set(ROLLUP_GROUPS):
        return daily_frame(_frames_for(engine, sel), campaign, by=by, sel=sel)
    return _daily_columns(_daily_rollup(engine, campaign, by, sel), by)


def daily_csv(engine: sa.Engine, campaign, by=("platform",), sel=None, batch: int | None = None,
              counted: list | None = None):
    """``to_csv_bytes(daily_frame_db(...))`` as bytes chunks, read and written ``batch`` rows at a
    time: grouped by influencer and day, the rows are as many as the account-days (1.6 M at 100x
    the demo, 1.2 GB as one frame). The rows of each chunk are appended to ``counted`` when given."""
    from . import metrics, rollups

    sel = sel or metrics.Selection()
    by = list(by)
    if not set(by) <= set(ROLLUP_GROUPS):
        df = daily_frame_db(engine, campaign, by, sel)
        if counted is not None:
            counted.append(len(df))
        yield to_csv_bytes(df)
        return
    header = True
    for raw in rollups.query_batches(engine, campaign, by + ["day"], sel, batch=batch or DAILY_BATCH, text_order=True):
        if raw.empty:
            continue
        part = _daily_columns(_days(rollups._finish(raw, by + ["day"], campaign)), by)
        if counted is not None:
            counted.append(len(part))
        yield (BOM if header else b"") + _csv_text(part, header).encode("utf-8")
        header = False
    if header:  # no rows at all: the header the whole frame would have
        yield to_csv_bytes(_daily_columns(_no_days(by), by))


def _weeks_of(d: pd.DataFrame, campaign, by: list[str], sel, today) -> pd.DataFrame:
    """``metrics.weekly_table`` from its daily table ``d``: the same steps on the same rows."""
    from . import metrics

    return metrics.weekly_from_daily(d, campaign, by, sel, today)


def weekly_frame_db(engine: sa.Engine, campaign, by=(), sel=None, today=None) -> pd.DataFrame:
    """``weekly_frame`` for the stored data, from the rollup's daily rows."""
    from . import metrics

    sel = sel or metrics.Selection()
    by = list(by)
    if not set(by) <= set(ROLLUP_GROUPS):
        return weekly_frame(_frames_for(engine, sel), campaign, by=by, sel=sel, today=today)
    w = _weeks_of(_daily_rollup(engine, campaign, by, sel), campaign, by, sel, today)
    return _weekly_columns(w, by)


def _reach_by_influencer(engine: sa.Engine, campaign, sel) -> pd.DataFrame:
    """``metrics.reach_table`` by influencer in SQL: ``queries.reach_range``'s statement (each
    post published in the selection by its latest snapshot before the selection's end) with the
    mean reach and the two ERs by reach added."""
    from . import queries

    dialect = engine.dialect.name
    joined, s = queries.latest_before(campaign, sel, dialect)
    # A post's engagements: the sum of the metrics it reports, unknown when it reports none.
    known = [s.c[m] for m in campaign.engagement]
    eng = sa.case((sa.or_(*[c.is_not(None) for c in known]),
                   sa.cast(_sum_sql([sa.func.coalesce(c, 0) for c in known]), sa.Float)), else_=None) \
        if known else sa.null()
    reach = sa.cast(s.c.reach, sa.Float)
    post_er = sa.case((s.c.reach > 0, eng / reach), else_=None)
    who = queries.influencer_expr()
    q = (sa.select(who.label("influencer"), sa.func.max(s.c.reach), sa.func.sum(s.c.reach), sa.func.count(s.c.reach),
                   sa.func.sum(eng), sa.func.avg(post_er))
         .select_from(joined).where(s.c.reach.is_not(None)))
    q = queries._published_in(q, campaign, sel.start, sel.end, dialect).where(*queries.account_filters(sel))
    q = q.group_by(who)
    with engine.connect() as conn:
        df = pd.DataFrame([tuple(r) for r in conn.execute(q)],
                          columns=["influencer", "reach_max_post", "reach_sum", "reach_posts", "_eng", "avg_post_er_reach"])
    for c in ("reach_max_post", "reach_sum", "_eng", "avg_post_er_reach"):
        df[c] = pd.to_numeric(df[c]).astype("float64")
    df["reach_posts"] = df["reach_posts"].astype("int64")
    df["reach_avg_post"] = df["reach_sum"] / df["reach_posts"]
    # As reach_table: engagements summed skipping unknowns (0 when all are), over a positive reach.
    df["er_reach"] = df["_eng"].fillna(0.0) / df["reach_sum"].where(df["reach_sum"] > 0)
    return df.drop(columns="_eng")


def _sum_sql(terms):
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def influencers_frame_db(engine: sa.Engine, campaign, sel=None) -> pd.DataFrame:
    """``influencers_frame`` for the stored data: activity and rates from ``rollups.query`` by
    influencer; followers (each account's latest level on or before the selection's end, else the
    roster's) and ER by followers from the accounts and the rollup's engagements per account;
    posts published and reach by narrow SQL. The steps of dashboard/analysis/leaderboard.py ``leaderboard_db``,
    with the columns the leaderboard leaves out (accounts, every metric, the reach averages)."""
    from . import metrics, queries, rollups

    sel = sel or metrics.Selection()
    a, i, ad, p, r = schema.accounts, schema.influencers, schema.account_days, schema.posts, schema.daily_rollup
    level = sa.select(ad.c.followers).where(ad.c.account_pk == a.c.id, ad.c.followers.is_not(None))
    if sel.end is not None:
        level = level.where(ad.c.day <= sel.end)
    level = level.order_by(ad.c.day.desc()).limit(1).correlate(a).scalar_subquery()
    with engine.connect() as conn:
        accts = pd.DataFrame([tuple(x) for x in conn.execute(
            sa.select(a.c.id, a.c.platform, queries.influencer_expr(), queries.category_expr(),
                      sa.exists().where(p.c.account_pk == a.c.id), sa.func.coalesce(level, a.c.followers))
            .select_from(a.outerjoin(i, a.c.influencer_id == i.c.id)).where(*queries.account_filters(sel)))],
            columns=["account_pk", "platform", "influencer", "category", "has_post", "followers"])
        q = (sa.select(r.c.account_pk, *[sa.func.sum(r.c[m]) for m in campaign.engagement])
             .where(r.c.account_pk.in_(accts["account_pk"].tolist() or [-1])).group_by(r.c.account_pk))
        if sel.start is not None:
            q = q.where(r.c.day >= sel.start)
        if sel.end is not None:
            q = q.where(r.c.day <= sel.end)
        eng_rows = pd.DataFrame([tuple(x) for x in conn.execute(q)], columns=["account_pk", *campaign.engagement])
    accts["followers"] = pd.to_numeric(accts["followers"]).astype("float64")
    with_posts = accts[accts["has_post"].astype(bool)]
    info = with_posts.groupby("influencer").agg(category=("category", "first"),
                                                platforms=("platform", lambda x: ", ".join(sorted(set(x)))),
                                                accounts=("account_pk", "nunique")).reset_index()
    totals = rollups.query(engine, campaign, by=["influencer"], sel=sel)
    if totals.empty:  # the columns aggregate gives an empty selection (and no followers, as it adds none)
        totals = pd.DataFrame(columns=["influencer", *metrics.COUNTS, "engagements", "emv_usd", "posts_active",
                                       "interpolated", "corrected", *RATE_COLUMNS])
    for m in campaign.engagement:
        eng_rows[m] = pd.to_numeric(eng_rows[m]).astype("float64")
    per_account = eng_rows.set_index("account_pk")[list(campaign.engagement)].sum(axis=1, min_count=1)
    counted = accts[accts["followers"].notna()].assign(num=lambda x: x["account_pk"].map(per_account))
    if len(totals):
        num = counted.groupby("influencer")["num"].sum(min_count=1).rename("_num_er_followers")
        fol = counted.groupby("influencer")["followers"].sum().rename("followers")
        totals = totals.join(num, on="influencer").join(fol, on="influencer")
        totals["er_followers"] = totals["_num_er_followers"] / totals["followers"].where(totals["followers"] > 0)
    pub = queries.published_counts(engine, campaign, sel, by=["influencer"])[["influencer", "posts"]]
    reach = _reach_by_influencer(engine, campaign, sel)
    out = (info.merge(pub.rename(columns={"posts": "posts_published"}), on="influencer", how="left")
           .merge(totals, on="influencer", how="left").merge(reach, on="influencer", how="left"))
    return _influencer_rows(out)


def _influencer_rows(out: pd.DataFrame) -> pd.DataFrame:
    """The influencers export's last steps, for the engine's frame and the rollup's alike."""
    out["posts_published"] = out["posts_published"].fillna(0).astype(int)
    out["emv_formula"] = EMV_FORMULA
    # No activity in the selection: nothing of it was interpolated or corrected (not unknown).
    for c in FLAG_COLUMNS:
        out[c] = out[c].astype(object).where(out[c].notna(), False).astype(bool) if c in out else False
    # Most views or impressions first (metrics.views_or_impressions): an X-only influencer ranks by
    # impressions, as in the summary and the kiosk, not below everyone with views.
    out = out.sort_values(["views_or_impressions", "views"], ascending=False, na_position="last", kind="stable")
    return _ordered(out, ["influencer", "category", "platforms", "accounts", "posts_published"],
                    COMMON_COLUMNS + ["followers", "er_followers", "reach_max_post", "reach_sum", "reach_posts",
                                      "reach_avg_post", "er_reach", "avg_post_er_reach"]).reset_index(drop=True)


def filter_posts(df: pd.DataFrame, campaign, sel, categories: dict[str, str] | None = None) -> pd.DataFrame:
    """The posts export for a selection: platform, influencer and category as the filter bar names
    them (an account outside the roster is "<account> (unassigned)", of category "unassigned"),
    and publish day in the campaign timezone. ``categories`` maps the roster's names to their
    category (``roster_categories``); a frame with a ``category`` column (the Posts page's) has its own."""
    if sel is None:
        return df
    keep = pd.Series(True, index=df.index)
    if sel.platforms:
        keep &= df["platform"].isin(sel.platforms)
    lone = df["influencer"].isna()
    if sel.influencers:
        who = df["influencer"].where(~lone, df["account"].astype(str) + " (unassigned)")
        keep &= who.isin(sel.influencers)
    if sel.categories:
        cat = df["category"] if "category" in df else \
            df["influencer"].map(categories or {}).where(~lone, "unassigned").fillna("unassigned")
        keep &= cat.isin(sel.categories)
    day = df["published_at"].dt.tz_convert(campaign.tz).dt.date
    if sel.start:
        keep &= day >= sel.start
    if sel.end:
        keep &= day <= sel.end
    return df[keep.fillna(False)].reset_index(drop=True)


def to_xlsx_bytes(df: pd.DataFrame, sheet: str = "data") -> bytes:
    """An .xlsx workbook; text that a spreadsheet would run as a formula is neutralised here too."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.map(lambda v: None if pd.isna(v) else v.isoformat())
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            # Cell by cell into an object column: Series.map would infer a dtype and turn a KPI
            # column of whole counts beside rates into floats ("1355730.0").
            out[c] = pd.Series([neutralise(v) for v in s], index=s.index, dtype=object)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        out.to_excel(xl, sheet_name=sheet[:31], index=False)
    return buf.getvalue()


# --- streaming exports (issue 11) -------------------------------------------------------------
# The posts and account-days exports are written as they are read: the statement runs once with a
# server-side cursor (``stream_results``), and each batch of rows becomes CSV text (or XLSX rows)
# before the next is fetched, so memory holds one batch however many posts there are. The bytes are
# those of ``to_csv_bytes`` on the whole frame (tests/test_exports_streaming.py compares them): the
# same cells, formatted per column here instead of by pandas.

BATCH = 50_000  # rows per fetch: big enough that per-batch overheads vanish, small enough to stay in cache
# On PostgreSQL a row comes as Python values (Decimals, datetimes), not as SQLite's one CSV line
# built in SQL: 50,000 of them held 300 MB at 100x the demo; 5,000 hold 45 MB at the same speed
# (`reach export posts` on 205,233 posts: 7.8 s and 144 MB against 8.3 s and 423 MB).
PG_BATCH = 5_000
DAILY_BATCH = 10_000  # rows of the daily export per fetch: about 1.7 KB each on their way to CSV text
EXCEL_MAX_ROWS = 1_048_576  # rows of an Excel worksheet, the header row included
BOM = b"\xef\xbb\xbf"
SEARCHED = ("title", "influencer", "account", "post_id")  # the Posts page's search fields

# How a column's cells are written: text is neutralised, times are ISO 8601 in the campaign's
# timezone with its offset (as the screen shows them, issue 12), counts are
# integers, float metrics are rounded as ``_round_floats`` rounds them, dates are ISO days.
_KIND = {"published_at": "time", "date": "date", "watch_time_s": "float",
         **{m: "int" for m in METRICS if m != "watch_time_s"}}
EXPORT_COLUMNS = {"posts": POST_COLUMNS, "account-days": ACCOUNT_DAY_COLUMNS}


@lru_cache(maxsize=256)
def _utc_ranges(start, end, tzname: str) -> tuple:
    """The instants whose day in the timezone ``tzname`` lies in [start, end] (either may be
    None), as half-open ranges of naive UTC times like the stored ``published_at`` (None:
    unbounded). Usually one range, from the first local midnight of ``start`` to that of the day
    after ``end``. Near those midnights a daylight-saving change can make the local day step back
    (Brazil's clocks went from 00:00 back to 23:00), so there each minute is looked at, as
    ``filter_posts`` would see it: an offset changes on whole minutes, and so does the local day."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tzname)

    def midnight(day):  # fold=0: the first of a repeated midnight; a skipped one is the change itself
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc).replace(tzinfo=None)

    def inside(u):
        d = u.replace(tzinfo=timezone.utc).astimezone(tz).date()
        return (start is None or d >= start) and (end is None or d <= end)

    edges = sorted(e for e in (midnight(start) if start else None,
                               midnight(end + timedelta(days=1)) if end else None) if e is not None)
    zones: list[list[datetime]] = []
    for e in edges:  # two days either side: more than any offset or change of offset
        z0, z1 = e.replace(second=0, microsecond=0) - timedelta(days=2), e + timedelta(days=2)
        if zones and z0 <= zones[-1][1]:
            zones[-1][1] = z1
        else:
            zones.append([z0, z1])
    ranges, state, begin = [], start is None, None  # before every zone: inside only without a start
    minute = timedelta(minutes=1)
    for z0, z1 in zones:
        u = z0
        while u < z1:
            now = inside(u)
            if now != state:
                if now:
                    begin = u
                else:
                    ranges.append((begin, u))
                state = now
            u += minute
    if state:
        ranges.append((begin, None))
    return tuple(ranges)


class _Instant(sa.types.TypeDecorator):
    """A UTC time bound compared with a stored ``published_at``. SQLite keeps times as text, some
    rows with microseconds ("2024-12-31 16:00:00.000000", written through SQLAlchemy) and some
    without ("2024-12-31 16:00:00", an update of a known post through an untyped parameter, which
    sqlite3's own datetime adapter writes): a bound on a whole second
    written without them sorts right against both, where one with ".000000" would sort after a
    stored "16:00:00" of the same instant."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.String() if dialect.name == "sqlite" else sa.DateTime())

    def process_bind_param(self, value, dialect):
        if dialect.name == "sqlite" and value is not None:
            assert not value.microsecond  # the bounds are local midnights: whole minutes
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return value


def published_in(column, campaign, sel) -> sa.ColumnElement | None:
    """SQL for "published on a day of the selection, in the campaign timezone" (None: no dates)."""
    if sel is None or (not sel.start and not sel.end):
        return None
    ranges = _utc_ranges(sel.start or None, sel.end or None, campaign.timezone)
    if not ranges:
        return sa.false()
    def at(t):
        return sa.bindparam(None, t, type_=_Instant())

    return sa.or_(*[sa.and_(*([column >= at(a)] if a else []), *([column < at(b)] if b else [])) for a, b in ranges])


def where_selection(q: sa.Select, campaign, sel) -> sa.Select:
    """``q`` (``posts_select``) narrowed as ``filter_posts`` narrows the frame: platforms,
    influencers and categories as the pages and the daily rows name them (``queries.account_filters``)
    and publish days."""
    from . import queries

    if sel is None:
        return q
    p = schema.posts
    if sel.platforms:  # the post's platform (its account's), which leads the export's index
        q = q.where(p.c.platform.in_(list(sel.platforms)))
    if sel.influencers:
        q = q.where(queries.influencer_expr().in_(list(sel.influencers)))
    if sel.categories:
        q = q.where(queries.category_expr().in_(list(sel.categories)))
    days = published_in(p.c.published_at, campaign, sel)
    return q if days is None else q.where(days)


def search_words(q: str | None) -> list[str]:
    return (q or "").casefold().split()


def matches(words: list[str], *fields) -> bool:
    """The Posts page's search: every word (casefolded) inside the fields joined by spaces, as
    ``listing.search`` joins title, influencer, account and post id."""
    hay = " ".join("" if v is None else str(v) for v in fields).casefold()
    return all(w in hay for w in words)


def export_batches(engine: sa.Engine, what: str, campaign=None, sel=None, q: str | None = None,
                   batch: int | None = None):
    """The rows of the posts (or account-days) export for the selection, as lists of at most
    ``batch`` rows, read through one server-side cursor. ``q`` is the Posts page's search. A
    post's ``published_at`` comes as an aware time in the campaign's timezone (stored as naive UTC)."""
    if what == "posts":
        if campaign is None:
            raise ValueError("the posts export needs the campaign: its times are written in its timezone")
        stmt = where_selection(posts_select(lateral=engine.dialect.name == "postgresql"), campaign, sel)
        tz, k = campaign.tz, POST_COLUMNS.index("published_at")
    else:
        stmt = account_days_select()
    words = search_words(q) if what == "posts" else []
    at = [POST_COLUMNS.index(c) for c in SEARCHED]
    batch = batch or (PG_BATCH if engine.dialect.name == "postgresql" else BATCH)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
        for part in result.partitions(batch):
            if words:
                part = [r for r in part if matches(words, *(r[k] for k in at))]
            if part and what == "posts":
                part = [(*r[:k], None if r[k] is None else r[k].replace(tzinfo=timezone.utc).astimezone(tz),
                         *r[k + 1:]) for r in part]
            if part:
                yield part


def count_rows(engine: sa.Engine, what: str, campaign=None, sel=None) -> int:
    """How many rows ``export_batches`` yields (without a search): asked before an XLSX is written."""
    stmt = where_selection(posts_select(), campaign, sel) if what == "posts" else account_days_select()
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()


def _ints(col):
    # SQLite gives ints (or None); PostgreSQL's sum() a Decimal. int() only where needed: it is
    # the exact value, where pandas' Int64 path goes through float64.
    if set(map(type, col)) <= {int, type(None)}:
        return col
    return [None if v is None else int(v) for v in col]


def _csv_cells(rows, columns: list[str]):
    """The batch's cells as ``to_csv_bytes`` writes them, column by column."""
    out = []
    for name, col in zip(columns, zip(*rows)):
        kind = _KIND.get(name, "text")
        if kind == "text":
            col = ["'" + v if v.__class__ is str and v.startswith(FORMULA_START) else v for v in col]
        elif kind == "time":  # aware, in the campaign's timezone (export_batches): "+08:00" as the frame's
            col = [None if v is None else v.isoformat() for v in col]
        elif kind == "int":
            col = _ints(col)
        elif kind == "float":  # numpy's rounding, as pandas' round(4) in _round_floats
            r = np.round(np.array(col, dtype="float64"), 4)
            col = [None if v is None else x for v, x in zip(col, r.tolist())]
        out.append(col)
    return zip(*out)


def csv_chunks(batches, columns: list[str]):
    """The CSV file as bytes chunks: BOM and header first, then one chunk per batch (UTF-8,
    CRLF, quoting as pandas' ``to_csv``, which uses the same csv writer settings)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    yield BOM + buf.getvalue().encode("utf-8")
    for rows in batches:
        buf.seek(0)
        buf.truncate()
        writer.writerows(_csv_cells(rows, columns))
        yield buf.getvalue().encode("utf-8")


# The database builds most of each line itself (SQLite, and PostgreSQL since issue 11's last step:
# 7.9 s for 205,233 posts there, half of it Python formatting cells). Turning 17 columns of a million rows into Python
# objects and back into text costs more than the query (issue 11: 2.3 s of CPU per 100,000 posts,
# 1.1 s of it in the driver); with the text cells, the integers and the commas joined in SQL the
# driver hands over five strings per row. The cells follow the csv module's rules, which pandas'
# to_csv uses: a cell is quoted when it holds a comma, a double quote, CR or LF, and its quotes are
# doubled. Times and the one float column are formatted here, where Python's and numpy's rules live.

def _sql_text(x, pg: bool = False):
    """The CSV cell of a text value, neutralised like ``neutralise`` and quoted like csv.writer."""
    n = sa.case((sa.func.substr(x, 1, 1).in_(list(FORMULA_START)), sa.literal("'").op("||")(x)), else_=x)
    # The leading apostrophe never decides the quoting: look at the value itself, evaluated once less.
    find = sa.func.strpos if pg else sa.func.instr  # the same question: where the character first is (0: nowhere)
    quote = sa.or_(*[find(x, ch) > 0 for ch in (",", '"', "\n", "\r")])
    cell = sa.case((quote, sa.literal('"').op("||")(sa.func.replace(n, '"', '""')).op("||")('"')), else_=n)
    return sa.func.coalesce(cell, "")


def _sql_int(x):
    return sa.func.coalesce(sa.cast(x, sa.Text), "")


def _sql_join(*cells):
    out = cells[0]
    for c in cells[1:]:
        out = out.op("||")(c)
    return out


# Times are written in the campaign's timezone (issue 12). SQLite moves each stored UTC time by its
# offset itself (strftime with a "+28800 seconds" modifier costs what the old text rewrite did),
# the offset found by a balanced CASE over the zone's changes of offset between the earliest and
# the latest stored time: none for most campaigns, a handful of comparisons per row for years of
# summer times. Python's rules stay the reference: a time outside those bounds (or the years
# spanned), or stored in another shape, is left to Python (``_fill_lines``).
SQL_TIME_YEARS = (1970, 2100)


@lru_cache(maxsize=16)
def _offset_spans(tzname: str) -> tuple:
    """The zone's UTC offsets over ``SQL_TIME_YEARS``: ((first UTC instant, naive; None for the
    first span), offset in seconds), in order. The hours where the offset changes are found at
    once by pandas, then each change is bisected to its second (zones change at whole minutes,
    never twice in an hour); a few milliseconds, once per zone and process."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tzname)

    def offset(u: datetime) -> int:
        return int(u.replace(tzinfo=timezone.utc).astimezone(tz).utcoffset().total_seconds())

    hours = pd.date_range(f"{SQL_TIME_YEARS[0]}-01-01", f"{SQL_TIME_YEARS[1]}-01-01", freq="h", unit="s")
    local = hours.tz_localize("UTC").tz_convert(tz).tz_localize(None)
    offsets = (local - hours).total_seconds().astype("int64")
    spans = [(None, int(offsets[0]))]
    for k in np.flatnonzero(np.diff(offsets)) + 1:
        lo, hi = hours[k - 1].to_pydatetime(), hours[k].to_pydatetime()  # offset(lo) the old one, offset(hi) the new
        while hi - lo > timedelta(seconds=1):
            mid = (lo + (hi - lo) / 2).replace(microsecond=0)
            lo, hi = (mid, hi) if offset(mid) == spans[-1][1] else (lo, mid)
        spans.append((hi, int(offsets[k])))
    return tuple(spans)


def _offset_text(seconds: int) -> str:
    """An offset as ``datetime.isoformat`` writes it: +08:00, -03:30, +00:00 (+HH:MM:SS with seconds)."""
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    hh, rest = divmod(seconds, 3600)
    mm, ss = divmod(rest, 60)
    return f"{sign}{hh:02d}:{mm:02d}" + (f":{ss:02d}" if ss else "")


def _sql_local_time(stored, tzname: str, lo: datetime, hi: datetime, pg: bool = False):
    """SQL for a stored time (naive UTC) between ``lo`` and ``hi`` as ``isoformat`` writes it in
    ``tzname``: "2025-03-03T18:30:00+08:00", microseconds only when there are some. SQLite's stored
    shape is SQLAlchemy's text ("2025-03-03 10:30:00.000000"): only whole seconds go through
    strftime, since SQLite rounds a time to milliseconds, which would turn 10:30:59.9999 into
    10:31:00; the fraction is copied as stored. PostgreSQL's is a timestamp, moved by the offset as
    an interval and written by to_char. Either way the offset comes from Python's zone rules
    (``_offset_spans``), never the server's copy of the zone database, which may be older."""
    every = _offset_spans(tzname)
    first = max(k for k, (t, _) in enumerate(every) if t is None or t <= lo)  # the span holding lo
    spans = [(None, every[first][1])] + [x for x in every[first + 1:] if x[0] <= hi]

    def tree(part, leaf):  # a balanced CASE: log2(spans) comparisons per row
        if len(part) == 1:
            return leaf(part[0][1])
        mid = len(part) // 2
        start = (sa.literal(part[mid][0], sa.DateTime) if pg  # text compares like the _Instant bounds
                 else sa.literal(part[mid][0].strftime("%Y-%m-%d %H:%M:%S")))
        return sa.case((stored >= start, tree(part[mid:], leaf)), else_=tree(part[:mid], leaf))

    offset = tree(spans, lambda o: sa.literal(_offset_text(o)))
    if pg:
        local = stored + sa.func.make_interval(0, 0, 0, 0, 0, 0, tree(spans, lambda o: sa.literal(o)))
        fraction = sa.case((sa.func.date_trunc("second", stored) == stored, ""), else_=sa.func.to_char(stored, ".US"))
        return _sql_join(sa.func.to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS'), fraction, offset)
    modifier = tree(spans, lambda o: sa.literal(f"{o:+d} seconds"))
    fraction = sa.case((sa.func.substr(stored, 20) == ".000000", ""), else_=sa.func.substr(stored, 20))
    return _sql_join(sa.func.strftime("%Y-%m-%dT%H:%M:%S", sa.func.substr(stored, 1, 19), modifier),
                     fraction, offset)


_TIME_SHAPE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?")


def _stored_time_bounds(conn) -> tuple | None:
    """The earliest and latest publish times as the database stores them (SQLite: text;
    PostgreSQL: naive datetimes), None without any."""
    p = schema.posts
    col = p.c.published_at if conn.dialect.name == "postgresql" else sa.type_coerce(p.c.published_at, sa.String)
    lo, hi = conn.execute(sa.select(sa.func.min(col), sa.func.max(col))).one()
    return None if lo is None else (lo, hi)


def _post_lines(stmt: sa.Select, tzname: str, bounds: tuple | None, pg: bool = False) -> sa.Select:
    """``stmt`` (``posts_select`` and its filters) giving each row as (its CSV line, with the
    watch time's cell empty and, for a time in another shape or outside ``bounds`` (the stored
    times' as they were when asked, ``_stored_time_bounds``) or ``SQL_TIME_YEARS``, the time's
    cell too; where that time's cell starts; that time as stored; the watch time): ``_fill_lines``
    finishes them. ``pg``: the statement is for PostgreSQL (its string functions and timestamps)."""
    c = stmt.selected_columns
    comma = sa.literal(",")
    a, i = schema.accounts, schema.influencers

    def text(x):
        return _sql_text(x, pg)

    # An account's two cells (account, influencer) are the same for each of its posts: built once
    # per account in a materialised CTE rather than per post (1.2 s of 7 per 1 M posts).
    cells = (sa.select(a.c.id.label("account_pk"),
                       _sql_join(text(_account_label().element), comma, text(i.c.name), comma).label("cells"))
             .select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
             .cte("account_cells").prefix_with("MATERIALIZED"))
    on_cells = cells.c.account_pk == schema.posts.c.account_pk
    account_cells = cells.c.cells
    if pg:
        # PostgreSQL sorts what it carries: the lines carried through the sort cost 2 s of its 6.6 s
        # of CPU per 1 M posts. So the values are sorted, then the lines built from them, ordered
        # again by the same keys outside, which the planner knows the subquery gives (no second sort).
        inner = stmt.add_columns(cells.c.cells).join(cells, on_cells).subquery("sorted")
        c, account_cells = inner.c, inner.c.cells
    # The platform is a registered code ("x", "youtube"), never text from a file: no cell rules needed.
    head = _sql_join(c.platform, comma, text(c.post_id), comma, account_cells)
    metrics = POST_COLUMNS[7:]
    wt = metrics.index("watch_time_s")
    mid = _sql_join(comma, text(c.url), comma, text(c.title), comma,
                    *[x for m in metrics[:wt] for x in (_sql_int(c[m]), comma)])
    tail = _sql_join(*[x for m in metrics[wt + 1:] for x in (comma, _sql_int(c[m]))]) if metrics[wt + 1:] else sa.literal("")
    # The whole line is built here: joining pieces per row in Python cost as much as the database's
    # work on them. Two cells are left empty for Python to fill in the rows that need it: a watch time
    # (numpy's rounding and Python's float repr live there), and a time not in the shape SQLAlchemy
    # stores ("2025-03-03 10:30:00.000000", SQLite) or outside the years whose offsets the SQL
    # knows; for those rows the database also says where the time goes.
    # A post stored since the bounds were read is outside them: Python writes it, never a wrong offset.
    if pg:
        stored = c.published_at
        lo = max(bounds[0], datetime(SQL_TIME_YEARS[0], 1, 1)) if bounds else None
        hi = min(bounds[1], datetime(SQL_TIME_YEARS[1] - 1, 12, 31, 23, 59, 59, 999999)) if bounds else None
        fits = lo is not None and lo <= hi
        usual = sa.and_(stored >= sa.literal(lo, sa.DateTime), stored <= sa.literal(hi, sa.DateTime)) if fits else None
        first, last = lo, hi
    else:
        stored = sa.type_coerce(c.published_at, sa.String)
        lo = max(bounds[0], f"{SQL_TIME_YEARS[0]}-01-01 00:00:00") if bounds else None
        hi = min(bounds[1], f"{SQL_TIME_YEARS[1] - 1}-12-31 23:59:59.999999") if bounds else None
        fits = lo is not None and lo <= hi and all(_TIME_SHAPE.fullmatch(x) for x in (lo, hi))
        usual = sa.and_(sa.func.length(stored) == 26, stored >= sa.literal(lo), stored <= sa.literal(hi)) if fits else None
        first, last = (datetime.fromisoformat(x[:19]) for x in (lo, hi)) if fits else (None, None)
    if fits:
        iso = sa.case((usual, _sql_local_time(stored, tzname, first, last, pg)), else_="")
    else:  # no posts, or bounds in a shape SQLite's text compare cannot be trusted with: all in Python
        usual, iso = sa.false(), sa.literal("")
    odd = sa.and_(stored.is_not(None), sa.not_(usual))
    line = _sql_join(head, iso, mid, tail)
    out = (line.label("line"), sa.case((odd, sa.func.length(head))).label("time_at"),
           sa.case((odd, stored)).label("published_at"), c.watch_time_s)
    if pg:
        return sa.select(*out).select_from(inner).order_by(c.platform, c.published_at, c.post_id)
    return stmt.with_only_columns(*out, maintain_column_froms=True).join(cells, on_cells)


def _fill_lines(part, dialect, tz) -> list[str]:
    """The CSV lines of a batch of ``_post_lines`` rows: the odd times (in the timezone
    ``tz``) and the watch times written into their empty cells."""
    lines = [r[0] for r in part]
    todo = [k for k, r in enumerate(part) if r[1] is not None or r[3] is not None]
    if not todo:
        return lines
    after = len(POST_COLUMNS) - 1 - POST_COLUMNS.index("watch_time_s")  # cells after the watch time
    rows = [part[k] for k in todo]
    times = iter(_iso_times([r[2] for r in rows if r[1] is not None], dialect, tz))
    watch = iter(_float_cells([r[3] for r in rows if r[3] is not None]))
    for k, (line, at, _, w) in zip(todo, rows):
        if at is not None:
            line = line[:at] + next(times) + line[at:]
        if w is not None:
            head, *rest = line.rsplit(",", after)
            line = ",".join([head + next(watch), *rest])
        lines[k] = line
    return lines



def _iso_times(values, dialect, tz) -> list[str]:
    """Stored UTC times as the frame's timestamps print in the timezone ``tz``:
    "2025-03-03T18:30:00+08:00", with microseconds only when there are some. SQLite hands over
    its text ("2025-03-03 10:30:00" or another shape), read as SQLAlchemy reads it. Only the rows
    the SQL could not write come here: a few, one by one."""
    parse = dialect.type_descriptor(sa.DateTime()).result_processor(dialect, None)
    out = []
    for v in values:
        if isinstance(v, str) and parse is not None:
            v = parse(v)
        out.append("" if v is None else v.replace(tzinfo=timezone.utc).astimezone(tz).isoformat())
    return out


def _float_cells(values) -> list[str]:
    if set(values) == {None}:
        return [""] * len(values)
    r = np.round(np.array(values, dtype="float64"), 4).tolist()  # numpy's rounding, as _round_floats
    return ["" if v is None else repr(x) for v, x in zip(values, r)]


def csv_export(engine: sa.Engine, what: str, campaign=None, sel=None, q: str | None = None,
               batch: int | None = None, counted: list | None = None):
    """The export as CSV bytes chunks, read in batches: ``csv_chunks(export_batches(...))``, or for
    the posts without a search, the same bytes from lines the database mostly builds itself. The number
    of rows of each batch is appended to ``counted`` when given."""
    columns = EXPORT_COLUMNS[what]
    pg = engine.dialect.name == "postgresql"
    if what != "posts" or search_words(q) or engine.dialect.name not in ("sqlite", "postgresql"):
        batches = export_batches(engine, what, campaign, sel, q, batch)
        yield from csv_chunks(batches if counted is None else (counted.append(len(b)) or b for b in batches), columns)
        return
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(columns)
    yield BOM + buf.getvalue().encode("utf-8")
    select = where_selection(posts_select(latest_by_rowid=not pg, lateral=pg), campaign, sel)
    batch = batch or BATCH
    with engine.connect() as conn:
        if pg:  # a server-side cursor is planned for its first 10% of rows (PostgreSQL's default
            # cursor_tuple_fraction): nested loops in index order, 8.2 s of server CPU per 1 M posts
            # where the plan for the whole result takes 6.5 s. An export reads every row.
            conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
        stmt = _post_lines(select, campaign.timezone, _stored_time_bounds(conn), pg)
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
        for part in result.partitions(batch):
            lines = _fill_lines(part, engine.dialect, campaign.tz)
            if counted is not None:
                counted.append(len(part))
            yield ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _xlsx_cells(rows, columns: list[str]):
    """The batch's cells as ``to_xlsx_bytes`` writes them: neutralised text, ISO times, no rounding."""
    out = []
    for name, col in zip(columns, zip(*rows)):
        kind = _KIND.get(name, "text")
        if kind == "text":
            col = [neutralise(v) for v in col]
        elif kind == "time":
            col = [None if v is None else v.isoformat() for v in col]
        elif kind == "int":
            col = _ints(col)
        elif kind == "float":
            col = [None if v is None else float(v) for v in col]
        out.append(col)
    return zip(*out)


def check_xlsx_rows(n: int, hint: str = "export CSV instead (--format csv) or narrow the selection") -> None:
    """Refuse before writing anything when ``n`` data rows and the header exceed a worksheet."""
    if n + 1 > EXCEL_MAX_ROWS:
        raise ReachError(f"{n:,} rows do not fit in an Excel worksheet, which holds {EXCEL_MAX_ROWS:,} rows "
                         f"including the header: {hint}")


def write_xlsx(path, batches, columns: list[str], sheet: str = "data") -> int:
    """An .xlsx of the batches, written row by row (openpyxl's write-only mode); the row count."""
    from openpyxl import Workbook
    from openpyxl.utils.exceptions import IllegalCharacterError

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append(columns)
    n = 0
    try:
        for rows in batches:
            for r in _xlsx_cells(rows, columns):
                ws.append(r)
            n += len(rows)
    except BaseException as e:
        _discard(ws)
        if isinstance(e, IllegalCharacterError):
            raise ReachError("a text cell holds a control character that an XLSX file cannot store: export CSV "
                             "instead (--format csv)") from None
        raise
    wb.save(path)
    return n


def _discard(ws) -> None:
    """Close a write-only sheet given up halfway and remove the temporary file openpyxl streams
    its rows into (it would otherwise stay until the process ends, and its half-written XML
    raises when the garbage collector closes it)."""
    try:
        ws.close()
    except Exception:  # the sheet is thrown away: nothing to report
        pass
    out = getattr(getattr(ws, "_writer", None), "out", None)
    if isinstance(out, str):
        Path(out).unlink(missing_ok=True)


class atomic_file:
    """``with atomic_file(path) as tmp:`` gives a temporary path beside ``path``, renamed onto it
    when the block ends without an error and removed when it does not: a failed or interrupted
    export never leaves a partial file (nor replaces a good one)."""

    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self) -> Path:
        try:
            fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".part")
        except OSError as e:
            raise ReachError(f"{self.path}: cannot write there: {e.strerror or e}") from None
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, kind, value, tb):
        if kind is None:
            umask = os.umask(0)
            os.umask(umask)
            # mkstemp makes the file owner-only; an export gets the mode any new file gets.
            os.chmod(self.tmp, 0o666 & ~umask)
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)
        return False


# --- the weekly summary's tables (the Weekly page's downloads) --------------------------------
# Built from a ``summary.Summary``, so a file holds the very numbers the report shows, unformatted:
# rates and shares as fractions, counts as the engine's sums, platforms as codes like every
# other export. Value columns that mix rates with counts are object columns of numbers rounded
# here, because ``to_csv_bytes`` rounds a float column to 4 decimals, too few for a rate.

SUMMARY_KPI_COLUMNS = ["week", "kpi", "label", "unit", "this_week", "this_week_upper", "last_week",
                       "last_week_upper", "change", "change_unit"]
# The rankings and the mix count "views or impressions" (metrics.views_or_impressions), and say so.
SUMMARY_INFLUENCER_COLUMNS = ["week", "rank", "influencer", "platforms", "views_or_impressions", "engagements", "er"]
SUMMARY_POST_COLUMNS = ["week", "rank", "published", "platform", "influencer", "title", "url", "views_or_impressions",
                        "engagements"]
SUMMARY_MIX_COLUMNS = ["week", "platform", "views_or_impressions", "share", "counted_as"]


def _round(v, digits: int):
    return v if v is None or isinstance(v, str) else round(float(v), digits)


def _count_or_round(v, unit: str, digits: int):
    """A count KPI that is whole as an integer ("1653297", not "1653297.0"); else ``_round``."""
    if unit in ("count", "range") and v is not None and not isinstance(v, str) and float(v).is_integer():
        return int(v)
    return _round(v, digits)


def _exact(values, digits: int) -> pd.Series:
    return pd.Series([_round(v, digits) for v in values], dtype=object)


def summary_kpis_frame(s) -> pd.DataFrame:
    """The report's KPIs: this week, last week (the same weekdays for a partial week) and the
    change, in percent for counts and percentage points for rates ("new" when last week was 0,
    empty when there is no week before; reach, a range, has none)."""
    ks = s.kpis
    digits = [6 if k.unit == "rate" else 4 for k in ks]  # a rate is a fraction: 4 decimals would cut it
    return pd.DataFrame({
        "week": [s.week] * len(ks),
        "kpi": [k.key for k in ks],
        "label": [k.label for k in ks],
        "unit": [k.unit for k in ks],
        "this_week": pd.Series([_count_or_round(k.value, k.unit, d) for k, d in zip(ks, digits)], dtype=object),
        "this_week_upper": pd.Series([_count_or_round(k.upper, k.unit, 4) for k in ks], dtype=object),
        "last_week": pd.Series([_count_or_round(k.previous, k.unit, d) for k, d in zip(ks, digits)], dtype=object),
        "last_week_upper": pd.Series([_count_or_round(k.previous_upper, k.unit, 4) for k in ks], dtype=object),
        "change": _exact([k.change for k in ks], 6),
        "change_unit": [k.change_unit if k.change is not None else None for k in ks],
    }, columns=SUMMARY_KPI_COLUMNS)


def _platform_codes(labels: str) -> str:
    from collectors.model import PLATFORM_LABELS

    code = {v: k for k, v in PLATFORM_LABELS.items()}
    return ", ".join(sorted(code.get(p, p) for p in labels.split(", ") if p))


def summary_influencers_frame(s) -> pd.DataFrame:
    """The report's top influencers by views (impressions where a platform reports no views)."""
    rows = s.top_influencers
    return pd.DataFrame({
        "week": [s.week] * len(rows), "rank": list(range(1, len(rows) + 1)),
        "influencer": [r.name for r in rows], "platforms": [_platform_codes(r.platforms) for r in rows],
        "views_or_impressions": pd.array([r.views for r in rows], dtype="Float64"),
        "engagements": pd.array([r.engagements for r in rows], dtype="Float64"),
        "er": _exact([r.er for r in rows], 6),
    }, columns=SUMMARY_INFLUENCER_COLUMNS)


def summary_posts_frame(s) -> pd.DataFrame:
    """The report's top posts published in the week, with their lifetime views as of its last
    covered day; the whole title and the link as stored (the report shortens and only links web
    addresses; a CSV cell is text either way)."""
    rows = s.top_posts
    return pd.DataFrame({
        "week": [s.week] * len(rows), "rank": list(range(1, len(rows) + 1)),
        "published": [p.published for p in rows], "platform": [p.platform for p in rows],
        "influencer": [p.influencer for p in rows], "title": [p.title for p in rows], "url": [p.url for p in rows],
        "views_or_impressions": pd.array([p.views for p in rows], dtype="Float64"),
        "engagements": pd.array([p.engagements for p in rows], dtype="Float64"),
    }, columns=SUMMARY_POST_COLUMNS)


def summary_mix_frame(s) -> pd.DataFrame:
    """The report's platform mix: each platform's views in the week (impressions where it reports
    none, said in ``counted_as``) and its share of their total, as a fraction."""
    rows = s.platform_mix
    return pd.DataFrame({
        "week": [s.week] * len(rows), "platform": [m.platform for m in rows],
        "views_or_impressions": pd.array([m.views for m in rows], dtype="Float64"),
        "share": _exact([m.share / 100 for m in rows], 6), "counted_as": [m.basis for m in rows],
    }, columns=SUMMARY_MIX_COLUMNS)

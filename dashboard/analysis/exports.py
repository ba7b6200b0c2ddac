"""Tidy exports for analysts: the stored data as documented CSV columns (docs/exports.md).

The same functions back the command line (`reach export`) and, later, the dashboard's download
buttons, so a download and an export for the same selection are the same bytes.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import timezone
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from collectors.errors import ReachError
from collectors.model import FLOAT_METRICS, METRICS, NON_ADDITIVE
from collectors.store import database
from . import queries
from .config import EMV_FORMULA_VERSION as EMV_FORMULA

METRICS_ADDITIVE = tuple(m for m in METRICS if m not in NON_ADDITIVE)

POST_COLUMNS = ["platform", "post_id", "account", "influencer", "published_at", "url", "title", *METRICS]
ACCOUNT_DAY_COLUMNS = ["platform", "account", "date", *METRICS]

# The statements (posts_select, account_days_select, the selection's filters, the CSV lines the
# database builds): dashboard/analysis/queries/exports.py.








def posts_frame(engine: sa.Engine, account_pks: list[int] | None = None) -> pd.DataFrame:
    """One row per post: its latest lifetime snapshot, or the sum of its daily rows; only the
    posts of these accounts when ``account_pks`` is given (one influencer's panel)."""
    with engine.connect() as conn:
        df = pd.DataFrame(queries.exports.post_rows(conn, account_pks), columns=POST_COLUMNS)
    df["published_at"] = pd.to_datetime(df["published_at"]).dt.tz_localize("UTC")
    return _int_metrics(df)


def roster_categories(engine: sa.Engine) -> dict[str, str]:
    """The roster's influencers and their categories (``filter_posts`` names the rest "unassigned")."""
    with engine.connect() as conn:
        return {name: cat for name, cat in queries.exports.roster_categories(conn) if cat}


def posts_export_frame(engine: sa.Engine, campaign, sel=None) -> pd.DataFrame:
    """``reach export posts`` as one frame, the way pandas would write it: the posts of the
    selection (``filter_posts``) with their publish times in the campaign's timezone. The streamed
    export (``csv_export``) writes the bytes ``to_csv_bytes`` gives this frame."""
    categories = roster_categories(engine) if sel is not None and sel.categories else None
    df = filter_posts(posts_frame(engine), campaign, sel, categories)
    return df.assign(published_at=df["published_at"].dt.tz_convert(campaign.tz))




def account_days_frame(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        df = pd.DataFrame(queries.exports.account_day_rows(conn), columns=ACCOUNT_DAY_COLUMNS)
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
            df[c] = df[c].round(_decimals(c))
        elif df[c].dtype == object and c.startswith("wow_"):
            # A week-over-week change is "new" after a zero week: a column holding that word holds its
            # numbers as objects, rounded here as a float column's are, or the same change would be
            # written with 6 decimals in one file and 14 in another (a streamed export's batches
            # differ in which columns hold a word). Other tables round their mixed cells themselves.
            cells = df[c].to_numpy()
            at = np.flatnonzero([type(v) is float or isinstance(v, np.floating) for v in cells])
            if len(at):
                cells = cells.copy()
                cells[at] = list(np.round(cells[at].astype("float64"), _decimals(c)))
                df[c] = pd.Series(cells, index=df.index, dtype=object)
    return df


def _decimals(column: str) -> int:
    return 4 if not column.startswith(("er_", "virality", "wow_", "avg_post_er")) else 6


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


def weekly_frame(frames, campaign, by=(), sel=None, today=None, span=None) -> pd.DataFrame:
    from . import metrics

    sel = sel or metrics.Selection()
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    w = metrics.weekly_table(inc, frames.posts, campaign, by=list(by), sel=sel, today=today, span=span)
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
# rollup kept per account: it takes the engine, a run of the selection's posts at a time
# (``by_post_parts``).

ROLLUP_GROUPS = ("influencer", "category", "account", "platform")


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
        return _whole(by_post_parts(engine, campaign, "daily", by, sel))
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
        yield from by_post_csv(engine, campaign, "daily", by, sel, counted=counted)
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


# A grouping by post cannot come from the rollup (kept per account): the engine computes it, a run
# of posts at a time in the export's order (``queries.exports.posts_in_export_order``), each run cut
# into groups of bounded increment rows (``metrics.in_parts``), and the rows are written as they
# come. A post's rows depend on its own observations only, so the runs' rows, one after another,
# are the whole frame's rows in its order (tests/test_long_lived_posts.py). A week's coverage
# depends on the first and last day of all the rows: read from the rollup first.
POSTS_AT_ONCE = 2_000  # posts read from the database at a time (then cut by their increment rows)


def by_post_parts(engine: sa.Engine, campaign, what: str, by, sel=None, today=None):
    """The daily or weekly export grouped ``by`` (which names post) as frames, in its order."""
    from . import metrics, rollups

    sel = sel or metrics.Selection()
    by = list(by)
    keys = by_columns(by)
    span = None
    if what == "weekly":
        rollups.bring_current(engine, campaign)
        span = queries.rollup.stored_days(engine, queries.exports.selected_accounts(engine, sel), sel.start, sel.end)
    made = False
    # The list of posts and every run's frames from one snapshot: an import committing mid-export
    # must not make later runs newer than earlier ones (the rollup exports read one cursor).
    with database.read_snapshot(engine) as conn:
        result = queries.exports.posts_in_export_order(conn, sel, keys, campaign)
        while ids := [row[0] for row in result.fetchmany(POSTS_AT_ONCE)]:
            fr = queries.frames.frames_of_posts(engine, ids, conn)
            for snaps, days in metrics.in_parts(fr.snapshots, fr.post_days, order=ids):
                part = queries.frames.Frames(fr.posts, snaps, days, fr.account_days)
                out = (daily_frame(part, campaign, by, sel) if what == "daily"
                       else weekly_frame(part, campaign, by, sel, today, span=span))
                if len(out):
                    made = True
                    yield out
    if not made:  # the columns the whole frame has without rows
        empty = queries.frames.frames_of_posts(engine, [])
        yield (daily_frame(empty, campaign, by, sel) if what == "daily"
               else weekly_frame(empty, campaign, by, sel, today))


def _whole(parts) -> pd.DataFrame:
    parts = list(parts)
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def by_post_csv(engine: sa.Engine, campaign, what: str, by, sel=None, today=None, counted: list | None = None):
    """``to_csv_bytes`` of the daily or weekly frame grouped by post, as bytes chunks, a run of posts
    at a time (``by_post_parts``); the rows of each chunk are appended to ``counted`` when given."""
    columns = None
    for part in by_post_parts(engine, campaign, what, by, sel, today):
        if counted is not None:
            counted.append(len(part))
        if columns is None:
            columns = list(part.columns)
            yield BOM + _csv_text(part).encode("utf-8")
        else:
            yield _csv_text(part.reindex(columns=columns), header=False).encode("utf-8")


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
        return _whole(by_post_parts(engine, campaign, "weekly", by, sel, today))
    w = _weeks_of(_daily_rollup(engine, campaign, by, sel), campaign, by, sel, today)
    return _weekly_columns(w, by)


def _reach_by_influencer(engine: sa.Engine, campaign, sel) -> pd.DataFrame:
    """``metrics.reach_table`` by influencer in SQL: ``queries.posts.reach_range``'s statement (each
    post published in the selection by its latest snapshot before the selection's end) with the
    mean reach and the two ERs by reach added."""
    df = pd.DataFrame(queries.exports.reach_by_influencer(engine, campaign, sel),
                      columns=["influencer", "reach_max_post", "reach_sum", "reach_posts", "_eng", "avg_post_er_reach"])
    for c in ("reach_max_post", "reach_sum", "_eng", "avg_post_er_reach"):
        df[c] = pd.to_numeric(df[c]).astype("float64")
    df["reach_posts"] = df["reach_posts"].astype("int64")
    df["reach_avg_post"] = df["reach_sum"] / df["reach_posts"]
    # As reach_table: engagements summed skipping unknowns (0 when all are), over a positive reach.
    df["er_reach"] = df["_eng"].fillna(0.0) / df["reach_sum"].where(df["reach_sum"] > 0)
    return df.drop(columns="_eng")




def influencers_frame_db(engine: sa.Engine, campaign, sel=None) -> pd.DataFrame:
    """``influencers_frame`` for the stored data: activity and rates from ``rollups.query`` by
    influencer; followers (each account's latest level on or before the selection's end, else the
    roster's) and ER by followers from the accounts and the rollup's engagements per account;
    posts published and reach by narrow SQL. The steps of dashboard/analysis/leaderboard.py ``leaderboard_db``,
    with the columns the leaderboard leaves out (accounts, every metric, the reach averages)."""
    from . import metrics, rollups

    sel = sel or metrics.Selection()
    with engine.connect() as conn:
        accts = pd.DataFrame(queries.exports.influencer_accounts(conn, sel),
                             columns=["account_pk", "platform", "influencer", "category", "has_post", "followers"])
        eng_rows = pd.DataFrame(queries.exports.engagement_per_account(conn, campaign, sel, accts["account_pk"].tolist()),
                                columns=["account_pk", *campaign.engagement])
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
    pub = queries.posts.published_counts(engine, campaign, sel, by=["influencer"])[["influencer", "posts"]]
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
        stmt = queries.exports.where_selection(queries.exports.posts_select(lateral=engine.dialect.name == "postgresql"),
                                               campaign, sel)
        tz, k = campaign.tz, POST_COLUMNS.index("published_at")
    else:
        stmt = queries.exports.account_days_select()
    words = search_words(q) if what == "posts" else []
    at = [POST_COLUMNS.index(c) for c in SEARCHED]
    batch = batch or (PG_BATCH if engine.dialect.name == "postgresql" else BATCH)
    with engine.connect() as conn:
        for part in queries.exports.stream(conn, stmt, batch):
            if words:
                part = [r for r in part if matches(words, *(r[k] for k in at))]
            if part and what == "posts":
                part = [(*r[:k], None if r[k] is None else r[k].replace(tzinfo=timezone.utc).astimezone(tz),
                         *r[k + 1:]) for r in part]
            if part:
                yield part


def count_rows(engine: sa.Engine, what: str, campaign=None, sel=None) -> int:
    """How many rows ``export_batches`` yields (without a search): asked before an XLSX is written."""
    stmt = (queries.exports.where_selection(queries.exports.posts_select(), campaign, sel) if what == "posts"
            else queries.exports.account_days_select())
    with engine.connect() as conn:
        return queries.exports.count(conn, stmt)


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


def _fill_lines(part, dialect, tz) -> list[str]:
    """The CSV lines of a batch of ``_post_lines`` rows: the odd times (in the timezone
    ``tz``) and the watch times written into their empty cells."""
    lines = [r[0] for r in part]
    todo = [k for k, r in enumerate(part) if r[1] is not None or r[3] is not None]
    if not todo:
        return lines
    after = len(POST_COLUMNS) - 1 - POST_COLUMNS.index("watch_time_s")  # cells after the watch time
    rows = [part[k] for k in todo]
    times = iter(queries.exports.iso_times([r[2] for r in rows if r[1] is not None], dialect, tz))
    watch = iter(_float_cells([r[3] for r in rows if r[3] is not None]))
    for k, (line, at, _, w) in zip(todo, rows):
        if at is not None:
            line = line[:at] + next(times) + line[at:]
        if w is not None:
            head, *rest = line.rsplit(",", after)
            line = ",".join([head + next(watch), *rest])
        lines[k] = line
    return lines





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
    select = queries.exports.where_selection(queries.exports.posts_select(lateral=pg),
                                             campaign, sel)
    batch = batch or BATCH
    with engine.connect() as conn:
        if pg:  # a server-side cursor is planned for its first 10% of rows (PostgreSQL's default
            # cursor_tuple_fraction): nested loops in index order, 8.2 s of server CPU per 1 M posts
            # where the plan for the whole result takes 6.5 s. An export reads every row.
            queries.exports.plan_for_every_row(conn)
        stmt = queries.exports.post_lines(select, campaign.timezone, queries.exports.stored_time_bounds(conn), pg)
        for part in (queries.exports.stream_plain if pg else queries.exports.stream)(conn, stmt, batch):
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

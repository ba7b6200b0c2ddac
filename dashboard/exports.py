"""Tidy exports for analysts: the stored data as documented CSV columns (docs/exports.md).

The same functions back the command line (`reach export`) and, later, the dashboard's download
buttons, so a download and an export for the same selection are the same bytes.
"""
from __future__ import annotations

import io

import pandas as pd
import sqlalchemy as sa

from collectors import store
from collectors.model import METRICS, NON_ADDITIVE

from .config import EMV_FORMULA_VERSION as EMV_FORMULA

METRICS_ADDITIVE = tuple(m for m in METRICS if m not in NON_ADDITIVE)

POST_COLUMNS = ["platform", "post_id", "account", "influencer", "published_at", "url", "title", *METRICS]
ACCOUNT_DAY_COLUMNS = ["platform", "account", "date", *METRICS]

# Reach counts unique people: a sum of daily reach over days is not the post's reach, so a
# post known only from daily rows gets no reach figure rather than a wrong one.
NOT_SUMMED_OVER_DAYS = {"reach"}


def _account_label():
    a = store.accounts.c
    return sa.func.coalesce(a.handle, a.name, a.account_key).label("account")


def posts_frame(engine: sa.Engine) -> pd.DataFrame:
    """One row per post: its latest lifetime snapshot, or the sum of its daily rows."""
    p, a, i = store.posts, store.accounts, store.influencers
    s, d = store.post_snapshots, store.post_days
    latest = (sa.select(s.c.post_pk, sa.func.max(s.c.captured_at).label("at"))
              .group_by(s.c.post_pk).subquery())
    snap = (sa.select(s).join(latest, sa.and_(s.c.post_pk == latest.c.post_pk, s.c.captured_at == latest.c.at))
            .subquery())
    daily = (sa.select(d.c.post_pk, *[sa.func.sum(d.c[m]).label(m) for m in METRICS if m not in NOT_SUMMED_OVER_DAYS])
             .group_by(d.c.post_pk).subquery())
    cols = []
    for m in METRICS:
        if m in NOT_SUMMED_OVER_DAYS:
            cols.append(snap.c[m].label(m))
        else:
            cols.append(sa.case((snap.c.post_pk.is_not(None), snap.c[m]), else_=daily.c[m]).label(m))
    q = (sa.select(p.c.platform, p.c.post_id, _account_label(), i.c.name.label("influencer"),
                   p.c.published_at, p.c.url, p.c.title, *cols)
         .select_from(p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id)
                      .outerjoin(snap, snap.c.post_pk == p.c.id).outerjoin(daily, daily.c.post_pk == p.c.id))
         .order_by(p.c.platform, p.c.published_at, p.c.post_id))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).mappings().all(), columns=POST_COLUMNS)
    df["published_at"] = pd.to_datetime(df["published_at"]).dt.tz_localize("UTC")
    return _int_metrics(df)


def account_days_frame(engine: sa.Engine) -> pd.DataFrame:
    a, ad = store.accounts, store.account_days
    q = (sa.select(a.c.platform, _account_label(), ad.c.day.label("date"), *[ad.c[m] for m in METRICS])
         .select_from(ad.join(a, ad.c.account_pk == a.c.id))
         .order_by(a.c.platform, sa.text("account"), ad.c.day))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).mappings().all(), columns=ACCOUNT_DAY_COLUMNS)
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


def _round_floats(df: pd.DataFrame) -> pd.DataFrame:
    # Interpolated increments are fractions of a count: 4 decimals keep sums true to the unit
    # without printing float noise like 0.30000000000000004.
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]):
            df[c] = df[c].round(4 if not c.startswith(("er_", "virality", "wow_", "avg_post_er")) else 6)
    return df


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (so Excel reads Chinese text right), ISO dates, formulas neutralised."""
    out = _round_floats(df.copy())
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.map(lambda v: "" if pd.isna(v) else v.isoformat())
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            out[c] = s.map(neutralise)
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\r\n")
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


# --- metrics exports (daily, weekly, influencers) ---------------------------------------------

RATE_COLUMNS = ["er_views", "er_impressions", "virality_views"]
FLAG_COLUMNS = ["interpolated", "corrected"]


def _ordered(df: pd.DataFrame, front: list[str], rest: list[str]) -> pd.DataFrame:
    cols = [c for c in front + rest if c in df.columns]
    return df[cols]


def daily_frame(frames, campaign, by=("platform",), sel=None) -> pd.DataFrame:
    from . import metrics

    sel = sel or metrics.Selection()
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    d = metrics.daily_table(inc, frames.posts, campaign, by=list(by), sel=sel).rename(columns={"day": "date"})
    d["date"] = pd.to_datetime(d["date"]).dt.date
    return _ordered(d, list(by) + ["date"], list(METRICS_ADDITIVE) + ["engagements", *RATE_COLUMNS, "emv_usd",
                                                                      "emv_formula", "posts_active", *FLAG_COLUMNS])


def weekly_frame(frames, campaign, by=(), sel=None, today=None) -> pd.DataFrame:
    from . import metrics

    sel = sel or metrics.Selection()
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    w = metrics.weekly_table(inc, frames.posts, campaign, by=list(by), sel=sel, today=today)
    wow = [c for c in w.columns if c.startswith("wow_")]
    return _ordered(w, list(by) + ["week", "week_start", "days_covered", "partial"],
                    list(METRICS_ADDITIVE) + ["engagements", *RATE_COLUMNS, "emv_usd", "emv_formula", *wow, *FLAG_COLUMNS])


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
    out["posts_published"] = out["posts_published"].fillna(0).astype(int)
    out["emv_formula"] = EMV_FORMULA
    out = out.sort_values(["views", "impressions"], ascending=False, na_position="last", kind="stable")
    return _ordered(out, ["influencer", "category", "platforms", "accounts", "posts_published"],
                    list(METRICS_ADDITIVE) + ["engagements", *RATE_COLUMNS, "followers", "er_followers",
                                              "emv_usd", "emv_formula", "reach_max_post", "reach_sum", "reach_posts", "reach_avg_post",
                                              "er_reach", "avg_post_er_reach"]).reset_index(drop=True)


def filter_posts(df: pd.DataFrame, campaign, sel) -> pd.DataFrame:
    """The posts export for a selection: platform, influencer, and publish day in the campaign timezone."""
    if sel is None:
        return df
    keep = pd.Series(True, index=df.index)
    if sel.platforms:
        keep &= df["platform"].isin(sel.platforms)
    if sel.influencers:
        keep &= df["influencer"].isin(sel.influencers)
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
            out[c] = s.map(neutralise)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        out.to_excel(xl, sheet_name=sheet[:31], index=False)
    return buf.getvalue()

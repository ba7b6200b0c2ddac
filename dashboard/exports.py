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


def posts_frame(engine: sa.Engine, account_pks: list[int] | None = None) -> pd.DataFrame:
    """One row per post: its latest lifetime snapshot, or the sum of its daily rows; only the
    posts of these accounts when ``account_pks`` is given (one influencer's panel)."""
    p, a, i = store.posts, store.accounts, store.influencers
    s, d = store.post_snapshots, store.post_days

    def only(q, post_pk):
        # Also inside the subquery, so one influencer's posts never group the whole table.
        return q if account_pks is None else q.where(
            post_pk.in_(sa.select(p.c.id).where(p.c.account_pk.in_(account_pks))))

    # The latest snapshot of each post, found through the primary key (post_pk, captured_at):
    # a correlated max() is one index probe per post. A grouped "latest" subquery joined back
    # instead is materialised by SQLite and scanned once per post (quadratic: issue 11).
    s2 = s.alias("s_latest")
    latest_at = (sa.select(sa.func.max(s2.c.captured_at)).where(s2.c.post_pk == p.c.id)
                 .correlate(p).scalar_subquery())
    snap = sa.and_(s.c.post_pk == p.c.id, s.c.captured_at == latest_at)
    daily = (only(sa.select(d.c.post_pk, *[sa.func.sum(d.c[m]).label(m) for m in METRICS
                                           if m not in NOT_SUMMED_OVER_DAYS]), d.c.post_pk)
             .group_by(d.c.post_pk).subquery())
    cols = []
    for m in METRICS:
        if m in NOT_SUMMED_OVER_DAYS:
            cols.append(s.c[m].label(m))
        else:
            cols.append(sa.case((s.c.post_pk.is_not(None), s.c[m]), else_=daily.c[m]).label(m))
    q = (sa.select(p.c.platform, p.c.post_id, _account_label(), i.c.name.label("influencer"),
                   p.c.published_at, p.c.url, p.c.title, *cols)
         .select_from(p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id)
                      .outerjoin(s, snap).outerjoin(daily, daily.c.post_pk == p.c.id))
         .order_by(p.c.platform, p.c.published_at, p.c.post_id))
    if account_pks is not None:
        q = q.where(p.c.account_pk.in_(account_pks))
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


# --- the weekly summary's tables (the Weekly page's downloads) --------------------------------
# Built from a ``summary.Summary``, so a file holds the very numbers the report shows, unformatted:
# rates and shares as fractions, counts as the engine's sums, platforms as codes like every
# other export. Value columns that mix rates with counts are object columns of numbers rounded
# here, because ``to_csv_bytes`` rounds a float column to 4 decimals, too few for a rate.

SUMMARY_KPI_COLUMNS = ["week", "kpi", "label", "unit", "this_week", "this_week_upper", "last_week",
                       "last_week_upper", "change", "change_unit"]
SUMMARY_INFLUENCER_COLUMNS = ["week", "rank", "influencer", "platforms", "views", "engagements", "er"]
SUMMARY_POST_COLUMNS = ["week", "rank", "published", "platform", "influencer", "title", "url", "views", "engagements"]
SUMMARY_MIX_COLUMNS = ["week", "platform", "views", "share", "counted_as"]


def _round(v, digits: int):
    return v if v is None or isinstance(v, str) else round(float(v), digits)


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
        "this_week": pd.Series([_round(k.value, d) for k, d in zip(ks, digits)], dtype=object),
        "this_week_upper": _exact([k.upper for k in ks], 4),
        "last_week": pd.Series([_round(k.previous, d) for k, d in zip(ks, digits)], dtype=object),
        "last_week_upper": _exact([k.previous_upper for k in ks], 4),
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
        "views": pd.array([r.views for r in rows], dtype="Float64"),
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
        "views": pd.array([p.views for p in rows], dtype="Float64"),
        "engagements": pd.array([p.engagements for p in rows], dtype="Float64"),
    }, columns=SUMMARY_POST_COLUMNS)


def summary_mix_frame(s) -> pd.DataFrame:
    """The report's platform mix: each platform's views in the week (impressions where it reports
    none, said in ``counted_as``) and its share of their total, as a fraction."""
    rows = s.platform_mix
    return pd.DataFrame({
        "week": [s.week] * len(rows), "platform": [m.platform for m in rows],
        "views": pd.array([m.views for m in rows], dtype="Float64"),
        "share": _exact([m.share / 100 for m in rows], 6), "counted_as": [m.basis for m in rows],
    }, columns=SUMMARY_MIX_COLUMNS)

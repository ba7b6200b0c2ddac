"""Tidy exports for analysts: the stored data as documented CSV columns (docs/exports.md).

The same functions back the command line (`reach export`) and, later, the dashboard's download
buttons, so a download and an export for the same selection are the same bytes.
"""
from __future__ import annotations

import io

import pandas as pd
import sqlalchemy as sa

from collectors import store
from collectors.model import METRICS

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


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (so Excel reads Chinese text right), ISO dates, formulas neutralised."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.map(lambda v: "" if pd.isna(v) else v.isoformat())
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            out[c] = s.map(neutralise)
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\r\n")
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")

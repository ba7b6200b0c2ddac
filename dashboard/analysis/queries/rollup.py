"""Reads of the daily rollup (``daily_rollup``, kept by dashboard/analysis/rollups.py): sums per
platform and influencer over a view, and the days it holds."""
from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from collectors.store import schema

from .parts import account_filters, account_label, as_date, category_expr, group_keys, influencer_expr


def rollup_sums(engine: sa.Engine, sel, by, columns) -> pd.DataFrame:
    """Sums of stored rollup ``columns`` (daily_rollup's own, ``emv_basis`` included: views, else
    impressions, per post and day) per ``by`` (platform and/or influencer) over the selection's
    days and filters; a sum over only unknown values stays unknown (NaN)."""
    by = list(by)
    keys = group_keys(by)
    r, a, i = schema.daily_rollup, schema.accounts, schema.influencers
    q = (sa.select(*[keys[k].label(k) for k in by], *[sa.func.sum(r.c[c]).label(c) for c in columns])
         .select_from(r.join(a, a.c.id == r.c.account_pk).outerjoin(i, a.c.influencer_id == i.c.id))
         .where(*account_filters(sel)))
    if sel.start is not None:
        q = q.where(r.c.day >= sel.start)
    if sel.end is not None:
        q = q.where(r.c.day <= sel.end)
    if by:
        q = q.group_by(*[keys[k] for k in by])
    with engine.connect() as conn:
        df = pd.DataFrame([tuple(x) for x in conn.execute(q)], columns=by + list(columns))
    for c in columns:
        df[c] = pd.to_numeric(df[c]).astype("float64")
    return df


def stored_days(engine: sa.Engine, accounts: list[int] | None = None, lo=None,
                hi=None) -> tuple[date | None, date | None]:
    """The first and last day of the stored daily rollup (None, None when nothing is stored): what
    an empty view says when the campaign's dates hold nothing and the data lie elsewhere. Only the
    rows of ``accounts`` (all when None) from ``lo`` to ``hi`` (open when None) when given: the days
    the engine's daily rows of those accounts' posts cover, so a weekly export computed a run of
    posts at a time covers the same weeks (``exports.by_post_parts``)."""
    r = schema.daily_rollup
    q = sa.select(sa.func.min(r.c.day), sa.func.max(r.c.day))
    if accounts is not None:
        q = q.where(r.c.account_pk.in_(accounts or [-1]))
    if lo is not None:
        q = q.where(r.c.day >= lo)
    if hi is not None:
        q = q.where(r.c.day <= hi)
    with engine.connect() as conn:
        first, last = conn.execute(q).one()
    return as_date(first), as_date(last)


def grouped_batches(engine: sa.Engine, campaign, by: list[str], sel, batch: int | None, text_order: bool):
    """``rollups.query_batches``' statement: the rollup's sums (and EMV, posts active, the flags)
    per ``by`` over the selection, as raw frames of at most ``batch`` rows read through one cursor
    (one frame when ``batch`` is None); with ``text_order`` in Python's string order whatever the
    database's collation."""
    from .. import metrics
    from ..rollups import SUMMED

    r, a, i = schema.daily_rollup, schema.accounts, schema.influencers
    label, influencer, category = account_label(), influencer_expr(), category_expr()
    with engine.connect() as conn:
        accounts = None
        if sel.platforms or sel.influencers or sel.categories:
            # The accounts first, then the rollup by account_pk: SQLite can use its index.
            q = sa.select(a.c.id).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
            if sel.platforms:
                q = q.where(a.c.platform.in_(sel.platforms))
            if sel.influencers:
                q = q.where(influencer.in_(sel.influencers))
            if sel.categories:
                q = q.where(category.in_(sel.categories))
            accounts = conn.execute(q).scalars().all()
        week = week_start(conn.dialect.name, r.c.day)
        keys = dict(platform=a.c.platform, account=label, influencer=influencer, category=category, day=r.c.day,
                    week=week)
        cpm = sa.case(*[(a.c.platform == p, float(v)) for p, v in campaign.cpm.items()], else_=0.0) \
            if campaign.cpm else sa.literal(0.0)
        cols = [keys[k].label(k) for k in by]
        cols += [sa.func.sum(r.c[c]).label(c) for c in SUMMED if c != "emv_basis"]
        cols += [sa.func.sum(r.c.emv_basis).label(metrics.BASIS_METRIC)]  # views or impressions
        cols += [(sa.func.sum(sa.func.coalesce(r.c.emv_basis * cpm, 0.0)) / 1000.0).label("emv_usd"),
                 sa.func.sum(r.c.posts_active).label("posts_active"),
                 sa.func.max(sa.cast(r.c.interpolated, sa.Integer)).label("interpolated"),
                 sa.func.max(sa.cast(r.c.corrected, sa.Integer)).label("corrected")]
        q = sa.select(*cols).select_from(r.join(a, a.c.id == r.c.account_pk).outerjoin(i, a.c.influencer_id == i.c.id))
        if accounts is not None:
            q = q.where(r.c.account_pk.in_(accounts or [-1]))
        if sel.start:
            q = q.where(r.c.day >= sel.start)
        if sel.end:
            q = q.where(r.c.day <= sel.end)
        if by:
            order = [keys[k] for k in by]
            if text_order and conn.dialect.name != "sqlite":  # SQLite's BINARY order of UTF-8 is Python's already
                order = [o.collate("C") if k in ("platform", "account", "influencer", "category") else o
                         for k, o in zip(by, order)]
            q = q.group_by(*[keys[k] for k in by]).order_by(*order)
        result = conn.execute(q, execution_options=dict(stream_results=batch is not None))
        names = list(result.keys())
        if batch is None:
            yield pd.DataFrame([tuple(row) for row in result], columns=names)
            return
        while part := result.fetchmany(batch):
            yield pd.DataFrame([tuple(row) for row in part], columns=names)


def week_start(dialect: str, day):
    """The Monday of ``day``'s ISO week, in SQL."""
    if dialect == "sqlite":
        return sa.func.date(day, sa.func.printf("-%d days", (sa.cast(sa.func.strftime("%w", day), sa.Integer) + 6) % 7))
    return sa.cast(sa.func.date_trunc("week", day), sa.Date)

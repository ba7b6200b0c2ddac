"""Reads of the daily rollup (``daily_rollup``, kept by dashboard/analysis/rollups.py): sums per
platform and influencer over a view, and the days it holds."""
from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from collectors.store import schema

from .parts import account_filters, as_date, group_keys


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


def stored_days(engine: sa.Engine) -> tuple[date | None, date | None]:
    """The first and last day of the stored daily rollup (None, None when nothing is stored): what
    an empty view says when the campaign's dates hold nothing and the data lie elsewhere."""
    r = schema.daily_rollup
    with engine.connect() as conn:
        first, last = conn.execute(sa.select(sa.func.min(r.c.day), sa.func.max(r.c.day))).one()
    return as_date(first), as_date(last)


"""Data for the pages: the engine of the running app, and what changed since the last refresh.

The engine is created once per process from the app's configuration (a connection pool, not
data); everything shown is read from the database on each request, so every worker of a
multi-process server shows the same numbers after an import.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import sqlalchemy as sa
from flask import current_app

from collectors import store

from . import config

_engines: dict[str, sa.Engine] = {}


def engine() -> sa.Engine:
    url = current_app.config["REACH_DB_URL"]
    if url not in _engines:
        _engines[url] = store.connect(url)
    return _engines[url]


def campaign():
    return config.load(current_app.config.get("REACH_CONFIG"))


def version(eng: sa.Engine) -> str:
    """Changes whenever an import, a roster or a rollup refresh changed what the pages show."""
    with eng.connect() as conn:
        imports = conn.execute(sa.select(sa.func.count(), sa.func.max(store.imports.c.id))).one()
        infl = conn.execute(sa.select(sa.func.count()).select_from(store.influencers)).scalar()
        linked = conn.execute(sa.select(sa.func.count()).select_from(store.accounts)
                              .where(store.accounts.c.influencer_id.is_not(None))).scalar()
        state = conn.execute(sa.select(store.meta_table.c.value).where(store.meta_table.c.key == "rollup_state")).scalar()
    return f"{imports[0]}:{imports[1]}:{infl}:{linked}:{hash(state)}"


def freshness(eng: sa.Engine, now: datetime | None = None) -> pd.DataFrame:
    """Per platform: how recent its data is and when it was last imported.

    ``as_of`` is the latest moment the data describes (the latest snapshot time, or the end of the
    latest day of daily rows); ``stale`` means it is more than 36 hours old."""
    now = now or datetime.now(timezone.utc)
    p, a, s, d, ad, i = (store.posts, store.accounts, store.post_snapshots, store.post_days,
                         store.account_days, store.imports)
    with eng.connect() as conn:
        snaps = conn.execute(sa.select(p.c.platform, sa.func.max(s.c.captured_at), sa.func.max(i.c.imported_at))
                             .join(p, p.c.id == s.c.post_pk).join(i, i.c.id == s.c.import_id)
                             .group_by(p.c.platform)).all()
        days = conn.execute(sa.select(a.c.platform, sa.func.max(ad.c.day), sa.func.max(i.c.imported_at))
                            .join(a, a.c.id == ad.c.account_pk).join(i, i.c.id == ad.c.import_id)
                            .group_by(a.c.platform)).all()
        pdays = conn.execute(sa.select(p.c.platform, sa.func.max(d.c.day), sa.func.max(i.c.imported_at))
                             .join(p, p.c.id == d.c.post_pk).join(i, i.c.id == d.c.import_id)
                             .group_by(p.c.platform)).all()
    rows: dict[str, list] = {}
    for platform, at, imported in snaps:
        rows[platform] = [pd.Timestamp(at, tz="UTC"), pd.Timestamp(imported, tz="UTC")]
    for platform, day, imported in [*days, *pdays]:
        end = pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)  # the end of that day (UTC is close enough for "stale")
        old = rows.get(platform)
        rows[platform] = [max(end, old[0]) if old else end, max(pd.Timestamp(imported, tz="UTC"), old[1]) if old else pd.Timestamp(imported, tz="UTC")]
    df = pd.DataFrame([(k, *v) for k, v in sorted(rows.items())], columns=["platform", "as_of", "last_import"])
    if df.empty:
        return df.assign(age_hours=[], stale=[])
    df["age_hours"] = (pd.Timestamp(now) - df["as_of"]).dt.total_seconds() / 3600
    df["stale"] = df["age_hours"] > 36
    return df

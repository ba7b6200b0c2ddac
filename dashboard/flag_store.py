"""The Live page's anomaly flags (and the account times behind the freshness of Live and Data),
computed at the end of a rollup refresh and kept in tables, so the first view after an import
reads a few rows instead of scanning the whole campaign.

The flags are the whole campaign's (``live_flags``: robust z-scores of the series and impossible
values, without Hampel flags, reasons left for ``anomalies.explain``), stored row by row in
``live_flags`` with their order in the scan (``seq``), under a stamp of what they were computed
from: the data version (``data.version``: imports, roster, rollup settings), the campaign settings
and this program's code. A page uses them only when the stamp is the one it would compute now;
otherwise (a roster changed since, another campaign.toml, other code, an older database without
the table) it computes the flags itself, as before, and the shared cache keeps them
(dashboard/cache.py). So a stored row is never shown for data it was not computed from.

The tables are not in store's numbered migrations yet: ``save`` creates them when missing (under
the write lock). They hold derived data only: dropping them costs one computation.
"""
from __future__ import annotations

import hashlib

import pandas as pd
import sqlalchemy as sa

from collectors import store


metadata = sa.MetaData()  # not store.metadata: store's migrations, not this module, make its tables

flags_table = sa.Table(
    "live_flags", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # order of the scan's output
    sa.Column("detector", sa.String, nullable=False),
    sa.Column("day", sa.DateTime, nullable=False),
    sa.Column("influencer", sa.String),
    sa.Column("platform", sa.String),
    sa.Column("account", sa.String),
    sa.Column("post_pk", sa.Integer),
    sa.Column("post_id", sa.String),
    sa.Column("metric", sa.String, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("typical", sa.Float),
    sa.Column("score", sa.Float),
    sa.Column("posts_published", sa.Integer),
    # What anomalies.explain needs to write the facts and reason later (anomalies.LAZY_COLUMNS).
    sa.Column("where_", sa.String),
    sa.Column("bound_metric", sa.String),
    sa.Column("bound", sa.Float),
    sa.Column("at", sa.DateTime),  # UTC, without a zone, as every stored time
    sa.Column("interpolated", sa.Boolean),
    sa.Column("corrected", sa.Boolean),
    sa.Column("window", sa.Integer),
    # The newest flags first, largest score first within a day: what the page asks for.
    sa.Index("ix_live_flags_day_score", "day", "score"),
)
state_table = sa.Table(
    "live_flags_state", metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)
# Per account, the latest moment its data describes and its last import (``data._account_times``):
# the freshness line of Live and the Data page's table group every snapshot and daily row for it.
times_table = sa.Table(
    "account_times", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # data._account_times' order
    sa.Column("platform", sa.String),
    sa.Column("account", sa.String),
    sa.Column("influencer", sa.String),
    sa.Column("as_of", sa.DateTime),  # UTC, without a zone
    sa.Column("last_import", sa.DateTime),
)
STAMP_KEY = "stamp"
TIMES_KEY = "account_times"
ROW_BATCH = 20_000


def stamp(engine: sa.Engine, campaign) -> str:
    """What stored flags must have been computed from to be shown: data version, settings, code."""
    from . import cache, data

    parts = (data.version(engine), repr(campaign), cache.code_stamp())
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def times_stamp(engine: sa.Engine) -> str:
    """What stored account times must have been computed from: the data version and the code."""
    from . import cache, data

    return hashlib.sha256(repr((data.version(engine), cache.code_stamp())).encode()).hexdigest()[:24]


def _stored_stamp(conn, key: str = STAMP_KEY) -> str | None:
    if not sa.inspect(conn).has_table(state_table.name):
        return None
    return conn.execute(sa.select(state_table.c.value).where(state_table.c.key == key)).scalar()


def save_account_times(engine: sa.Engine) -> int | None:
    """Compute ``data._account_times`` and store it; None when the data changed meanwhile."""
    from . import data

    before = times_stamp(engine)
    with engine.connect() as conn:
        if _stored_stamp(conn, TIMES_KEY) == before:
            return 0
    df = data._account_times(engine)

    def naive(ts):
        return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).tz_convert("UTC").tz_localize(None).to_pydatetime()

    rows = [dict(seq=k, platform=p, account=a, influencer=None if i is None or i != i else i, as_of=naive(t),
                 last_import=naive(li))
            for k, (p, a, i, t, li) in enumerate(zip(*[df[c].tolist() for c in
                                                       ("platform", "account", "influencer", "as_of", "last_import")]))
            ] if len(df) else []
    return _replace(engine, times_table, (rows[k:k + ROW_BATCH] for k in range(0, len(rows), ROW_BATCH)),
                    TIMES_KEY, before, lambda: times_stamp(engine))


def account_times(engine: sa.Engine) -> pd.DataFrame | None:
    """``data._account_times`` as the last refresh stored it, or None when it is not of this data."""
    t = times_table
    with engine.connect() as conn:
        if _stored_stamp(conn, TIMES_KEY) != times_stamp(engine):
            return None
        rows = conn.execute(sa.select(t.c.platform, t.c.account, t.c.influencer, t.c.as_of, t.c.last_import)
                            .order_by(t.c.seq)).all()
    cols = ["platform", "account", "influencer", "as_of", "last_import"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame([tuple(r) for r in rows], columns=cols)
    for c in ("as_of", "last_import"):
        df[c] = pd.to_datetime(df[c]).dt.tz_localize("UTC")
    return df


def save(engine: sa.Engine, campaign) -> int | None:
    """Compute the whole campaign's Live flags and store them; returns the rows stored, or None
    when the data changed while they were computed (the next refresh stores them)."""
    before = stamp(engine, campaign)
    with engine.connect() as conn:
        if _stored_stamp(conn) == before:
            return 0  # already stored for this data (a refresh that changed nothing the flags read)
    flags = live_flags(engine, campaign)
    # Built a batch at a time: 267,589 flags at 100x the demo were 150 MB of dicts at once.
    batches = (_records(flags.iloc[k:k + ROW_BATCH], k) for k in range(0, len(flags), ROW_BATCH))
    return _replace(engine, flags_table, batches, STAMP_KEY, before, lambda: stamp(engine, campaign))


def _replace(engine: sa.Engine, table: sa.Table, batches, key: str, before: str, now) -> int | None:
    """Store the rows of ``batches`` (lists of rows) as all of ``table``, stamped ``before`` (the
    stamp taken before they were computed), unless ``now()`` differs under the write lock: then
    the data changed meanwhile and nothing is stored (None). Under the lock no import can
    commit, so the stamp read there is the one the rows are stored with. Returns the rows stored."""
    n = 0
    with store.write_transaction(engine) as conn:
        if now() != before:
            return None
        metadata.create_all(conn, checkfirst=True)
        conn.execute(table.delete())
        for rows in batches:
            if rows:
                conn.execute(table.insert(), rows)
                n += len(rows)
        conn.execute(state_table.delete().where(state_table.c.key == key))
        conn.execute(state_table.insert().values(key=key, value=before))
    return n


def live_flags(engine: sa.Engine, campaign) -> pd.DataFrame:
    """The whole campaign's flags the Live page lists (robust z-scores and impossible values; it
    shows no trailing Hampel flags), from the rollup and narrow SQL (queries.anomaly_inputs):
    the rows ``anomalies.anomalies`` gives for those detectors, without reading every observation,
    reasons left for ``anomalies.explain``."""
    from . import anomalies, queries

    daily, followers, checks, posts = queries.anomaly_inputs(engine, campaign)
    return anomalies.scan(anomalies._stacked(daily, followers), checks, posts, campaign, detectors=("robust_z",),
                          explain_all=False)


def _known(values) -> list:
    """Python values for the driver: None where unknown (None, NaN, NaT)."""
    return [None if v is None or v != v else v for v in values]


def _numbers(flags: pd.DataFrame, name: str, kind=float) -> list:
    if name not in flags:
        return [None] * len(flags)
    x = pd.to_numeric(flags[name], errors="coerce").to_numpy(dtype="float64")
    return [None if v != v else kind(v) for v in x.tolist()]


def _times(values: pd.Series) -> list:
    """Naive UTC datetimes (as every stored time), None for NaT."""
    t = pd.to_datetime(values, utc=True) if getattr(values.dtype, "tz", None) else pd.to_datetime(values)
    if getattr(t.dtype, "tz", None):
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    known = t.notna().to_numpy()
    return [d if ok else None for d, ok in zip(t.dt.to_pydatetime().tolist(), known)]


def _records(flags: pd.DataFrame, start: int = 0) -> list[dict]:
    """The rows of ``flags`` (``live_flags``) for ``flags_table``, column by column: a dict per
    flag built from whole columns, not a conversion per cell (a big campaign has tens of thousands)."""
    n = len(flags)
    if not n:
        return []

    def text(name):
        return _known(flags[name].tolist()) if name in flags else [None] * n

    def flag(name):
        return [None if v is None else bool(v) for v in text(name)]

    cols = dict(
        seq=list(range(start, start + n)), detector=text("detector"), day=_times(flags["day"]), influencer=text("influencer"),
        platform=text("platform"), account=text("account"), post_pk=_numbers(flags, "post_pk", int),
        post_id=text("post_id"), metric=text("metric"), value=_numbers(flags, "value"),
        typical=_numbers(flags, "typical"), score=_numbers(flags, "score"),
        posts_published=_numbers(flags, "posts_published", int), where_=text("_where"),
        bound_metric=text("_bound_metric"), bound=_numbers(flags, "_bound"),
        at=_times(flags["_at"]) if "_at" in flags else [None] * n, interpolated=flag("_interpolated"),
        corrected=flag("_corrected"), window=_numbers(flags, "_window", int))
    keys = list(cols)
    return [dict(zip(keys, row)) for row in zip(*cols.values())]


def shown(engine: sa.Engine, campaign, sel, limit: int) -> pd.DataFrame | None:
    """The ``limit`` newest stored flags of the view (largest score first within a day, ties in
    the scan's order), as rows of ``scan(..., explain_all=False)`` for ``anomalies.explain``; None
    when no flags are stored for this data, campaign and code."""
    from .anomalies import COLUMNS

    want = stamp(engine, campaign)
    f = flags_table
    with engine.connect() as conn:
        if _stored_stamp(conn) != want:
            return None
        q = sa.select(f).where(f.c.detector != "hampel")
        if sel.start is not None:
            q = q.where(f.c.day >= pd.Timestamp(sel.start).to_pydatetime())
        if sel.end is not None:
            q = q.where(f.c.day <= pd.Timestamp(sel.end).to_pydatetime())
        if sel.platforms:
            q = q.where(f.c.platform.in_(list(sel.platforms)))
        q = q.order_by(f.c.day.desc(), f.c.score.desc().nulls_last(), f.c.seq).limit(limit)
        rows = conn.execute(q).all()
    names = [c.name for c in f.columns]
    df = pd.DataFrame([tuple(r) for r in rows], columns=names, dtype=object)

    def obj(name):  # as the scan has them: None where unknown, not NaN
        return pd.Series([None if v is None or v != v else v for v in df[name].tolist()], dtype=object)
    out = pd.DataFrame({
        "detector": obj("detector"), "day": pd.to_datetime(df["day"]),
        "influencer": obj("influencer"), "platform": obj("platform"),
        "account": obj("account"),
        "post_pk": pd.Series([None if v is None or v != v else int(v) for v in df["post_pk"].tolist()], dtype=object),
        "post_id": obj("post_id"), "metric": obj("metric"),
        "value": pd.to_numeric(df["value"]).astype("float64"),
        "typical": pd.to_numeric(df["typical"]).astype("float64"),
        "score": pd.to_numeric(df["score"]).astype("float64"),
        "posts_published": pd.Series([None if v is None or v != v else int(v) for v in df["posts_published"].tolist()],
                                     dtype=object),
        "reason": None, "facts": None,
        "_where": obj("where_"), "_bound_metric": obj("bound_metric"),
        "_bound": pd.to_numeric(df["bound"]).astype("float64"),
        "_at": pd.to_datetime(df["at"]).dt.tz_localize("UTC") if len(df) else pd.Series([], dtype="datetime64[us, UTC]"),
        "_interpolated": obj("interpolated"), "_corrected": obj("corrected"), "_window": obj("window")}, columns=[*COLUMNS, "_where", "_bound_metric", "_bound", "_at",
                                                            "_interpolated", "_corrected", "_window"])
    return out.reset_index(drop=True)

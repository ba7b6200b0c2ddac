"""The database's clock, and how fresh the data is against it: per platform, per account and per
source (files or APIs). What the freshness line of the Live and Data pages shows
(dashboard/web/freshness.py draws it), what "today" and so the default week are, and the account
times a rollup refresh stores (dashboard/analysis/flag_store.py).
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
import sqlalchemy as sa

from collectors.store import ledger

from . import queries, shared


def clock(eng: sa.Engine) -> datetime:
    """The moment freshness, "last updated" and "today" are measured against: the demo's own clock
    on a demo database (its last simulated export, ledger.demo_clock), so the demo looks live
    whenever it is opened; the wall clock for real data."""
    return ledger.demo_clock(eng) or datetime.now(timezone.utc)


def today(eng: sa.Engine, tz) -> date:
    """``clock`` as a day in the campaign timezone ``tz``: the default "latest complete week" is the
    week before it."""
    return clock(eng).astimezone(tz).date()


STALE_HOURS = 36  # data older than this is flagged stale, per platform (Live) and per account (Data)


def freshness(eng: sa.Engine, now: datetime | None = None, accounts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per platform: how recent its data is and when it was last imported (the latest of its
    accounts, ``account_freshness``, which a caller that has it already may pass as ``accounts``);
    ``stale`` means it is more than STALE_HOURS old (against ``now``, by default the database's
    clock, ``clock``)."""
    now = now or clock(eng)
    acc = account_freshness(eng, now) if accounts is None else accounts
    if acc.empty:
        return pd.DataFrame(columns=["platform", "as_of", "last_import", "age_hours", "stale"])
    df = acc.groupby("platform", sort=True).agg(as_of=("as_of", "max"), last_import=("last_import", "max")).reset_index()
    df["age_hours"] = (pd.Timestamp(now) - df["as_of"]).dt.total_seconds() / 3600
    df["stale"] = df["age_hours"] > STALE_HOURS
    return df


def account_freshness(engine: sa.Engine, now: datetime | None = None) -> pd.DataFrame:
    """Per account: the latest moment an account's data describes (a snapshot time,
    or the end of its latest daily row), when it was last imported, and whether it is stale."""
    now = now or clock(engine)
    # Grouping every snapshot takes a second or two in a big campaign, and the result changes only
    # with the data: once per data version for every worker (dashboard/analysis/shared.py); ages are
    # computed from ``now`` afterwards.
    df = shared.memo(engine, None, "clock.account_freshness", (), lambda: _account_times(engine))
    if df.empty:
        return df.assign(age_hours=[], stale=[])
    df = df.copy()
    # Nothing describes a moment after now: a demo's clock stands before its files' import times.
    df["as_of"] = df["as_of"].clip(upper=pd.Timestamp(now))
    df["age_hours"] = (pd.Timestamp(now) - df["as_of"]).dt.total_seconds() / 3600
    df["stale"] = df["age_hours"] > STALE_HOURS
    return df


def _account_times(engine: sa.Engine, accounts=None, with_pk: bool = False) -> pd.DataFrame:
    """Per account (platform, account, influencer): ``as_of`` and ``last_import``, sorted by
    platform and account (case aside; two accounts of one label by account_pk). Only of
    ``accounts`` when given; with ``with_pk`` the account_pk too (first column)."""
    snaps, pdays, adays, names = queries.freshness.account_rows(engine, accounts)
    seen: dict[int, list] = {}

    def merge(pk, as_of, imported):
        imported = pd.Timestamp(imported, tz="UTC")
        old = seen.get(pk)
        seen[pk] = [max(as_of, old[0]), max(imported, old[1])] if old else [as_of, imported]

    for pk, at, imported in snaps:
        merge(pk, pd.Timestamp(at, tz="UTC"), imported)
    for pk, day, imported in [*pdays, *adays]:
        # The end of that day in UTC (close enough for "stale"), but never after the file was
        # imported: a day still running when it was exported is described up to then, not to
        # its midnight (the demo read "as of 28 Jan 08:00, just now" at 27 Jan 23:43).
        merge(pk, min(pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1), pd.Timestamp(imported, tz="UTC")), imported)
    label = {pk: (platform, account, influencer) for pk, platform, account, influencer in names}
    cols = ["platform", "account", "influencer", "as_of", "last_import"]
    df = pd.DataFrame([(pk, *label[pk], *v) for pk, v in sorted(seen.items())], columns=["account_pk", *cols])
    if not df.empty:
        df = df.sort_values(["platform", "account"], key=lambda c: c.str.lower(), kind="stable").reset_index(drop=True)
    return df if with_pk else df[cols]


SOURCES = ("file", "api")


def source_freshness(engine: sa.Engine) -> pd.DataFrame:
    """Per platform and source ("file": reach import, uploads, reach watch; "api": reach collect):
    the last successful import, the last failed attempt and its error. A file that holds two
    platforms (a Meta export with Facebook and Instagram) counts for both; a failure whose file
    could not be read or detected has no platform and is listed under platform "".
    ``error_is_latest`` is true when the last attempt failed (the error is newer than the success),
    which is what the freshness line must make visible."""
    with engine.connect() as conn:
        ok = queries.freshness.last_import_per_source(conn)
        bad = queries.freshness.last_failure_per_source(conn)
    rows: dict[tuple[str, str], dict] = {}
    for platforms, source, at in ok:
        at = pd.Timestamp(at, tz="UTC")
        for p in str(platforms).split("+"):  # a ZIP with two platforms is stored as "facebook+instagram"
            r = rows.setdefault((p, source), dict(last_success=None, last_error_at=None, last_error=None))
            r["last_success"] = at if r["last_success"] is None else max(r["last_success"], at)
    for platform, source, at, error in bad:
        r = rows.setdefault((platform or "", source), dict(last_success=None, last_error_at=None, last_error=None))
        r["last_error_at"], r["last_error"] = pd.Timestamp(at, tz="UTC"), error
    cols = ["platform", "source", "last_success", "last_error_at", "last_error", "error_is_latest"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame([dict(platform=p, source=s, **v) for (p, s), v in rows.items()])
    df["error_is_latest"] = df["last_error_at"].notna() & (
        df["last_success"].isna() | (df["last_error_at"] > df["last_success"]))
    order = {s: n for n, s in enumerate(SOURCES)}
    df = df.sort_values(["platform", "source"], key=lambda c: c.map(order) if c.name == "source" else c)
    return df[cols].reset_index(drop=True)

"""The Live page's anomaly flags (and the account times behind the freshness of Live and Data),
computed at the end of a rollup refresh and kept in tables, so the first view after an import
reads a few rows instead of scanning the whole campaign.

The flags are the whole campaign's (every detector of docs/anomalies.md: ``live_flags``, which
Live lists, and the trailing Hampel filter's, which only the Influencers page's panel shows;
reasons left for ``anomalies.explain``), stored row by row in
``live_flags`` under a stamp of what they were computed from: the data version (``stamps.version``:
imports, roster, rollup settings), the campaign settings and this program's code. A page uses them
only when the stamp is the one it would compute now; otherwise (a roster changed since, another
campaign.toml, other code, an older database without the table) it computes the flags itself, as
before, and the shared cache keeps them (dashboard/analysis/shared.py). So a stored row is never shown for
data it was not computed from.

Incremental, with memory bounded by a batch (issue 11): a flag belongs to one series (an
influencer on a platform, with its stalls, its posts far beyond the usual and its deleted posts;
or one account's followers) or to one post (an impossible value), so the refresh recomputes
only the series and posts of the accounts its imports changed (``rollups.changes_since``: each
refresh records them under its generation number) and of the accounts whose names changed since
(``live_flags_owners`` keeps the names the stored flags were computed with), a batch of accounts
or of posts at a time. Everything is computed anew when that cannot be said: another campaign
definition or code, a rebuild, generations forgotten, a table of an older layout. Each stored
flag keeps the key the scan orders it by (day, influencer, platform, metric, detector, then the
account of a followers series or the check and post of an impossible value), so flags stored at
different times are listed in the order one scan of the whole campaign gives them.

A batch is written as it is computed, under a claim (``owner`` in the state) that a later refresh
takes over: the first write of a refresh removes the stamp, so no page reads the tables while they
are half rewritten, and a refresh whose claim was taken stops.

The tables are not in store's numbered migrations: they hold derived data only, are created when
missing and made anew when their layout (``SCHEMA``) changes. Dropping them costs one computation.
"""
from __future__ import annotations

import hashlib
import uuid

import pandas as pd
import sqlalchemy as sa

from collectors.store import database

from . import clock, queries, stamps

# The tables (live_flags, live_flags_owners, live_flags_state, account_times) and every statement on
# them: dashboard/analysis/queries/flag_tables.py.
SCHEMA = "4"  # the layout of these tables (4: Hampel flags stored too); another is made anew
SCHEMA_KEY = "schema"
STAMP_KEY = "stamp"  # what pages compare (``stamp``)
BASIS_KEY, GENERATION_KEY, OWNER_KEY = "basis", "generation", "owner"  # what an increment starts from
TIMES_KEY = "account_times"
TIMES_BASIS_KEY, TIMES_GENERATION_KEY = "account_times_basis", "account_times_generation"
ROW_BATCH = 20_000
BATCH_ACCOUNTS = 300  # accounts (whole series) whose flags are computed at once
# ... and at most this many posts among them (unless one series alone has more): 200 accounts of
# a 1 M-row file were one batch, 1 M posts' latest snapshots held at once (1.17 GB on PostgreSQL).
BATCH_SERIES_POSTS = 100_000
BATCH_POSTS = 50_000  # posts whose impossible values are checked at once
MAX_IN = 10_000  # accounts named in one IN list


def stamp(engine: sa.Engine, campaign) -> str:
    """What stored flags must have been computed from to be shown: data version, settings, code."""
    parts = (stamps.exact_version(engine), repr(campaign), stamps.code_stamp())
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def times_stamp(engine: sa.Engine) -> str:
    """What stored account times must have been computed from: the data version and the code."""
    return hashlib.sha256(repr((stamps.exact_version(engine), stamps.code_stamp())).encode()).hexdigest()[:24]


def _basis(campaign) -> str:
    """What an increment must share with the stored flags: the campaign settings (the rollup's
    among them) and this code. The data is followed by generations and names (``_plan``)."""
    return hashlib.sha256(repr((repr(campaign), stamps.code_stamp())).encode()).hexdigest()[:24]


def _state(conn) -> dict[str, str]:
    return queries.flag_tables.state(conn)


def _stored_stamp(conn, key: str = STAMP_KEY) -> str | None:
    state = _state(conn)
    return state.get(key) if state.get(SCHEMA_KEY) == SCHEMA else None


def _standing(conn, generation_key: str, basis_key: str, basis: str) -> bool:
    """Stored rows a page reading the rollup as it stands may show although their stamp is of
    the data before the pending imports or the refresh whose first view is being stored
    (rollups.standing): of the generations pages show (not half rewritten: a claim clears it) and
    of these settings and code."""
    from . import rollups

    shown = rollups.standing(conn)
    if shown is None:
        return False
    state = _state(conn)
    return state.get(SCHEMA_KEY) == SCHEMA and state.get(basis_key) == basis and \
        _of(state.get(generation_key), shown)


def _of(stored: str | None, generations: range) -> bool:
    """Whether a stored generation number is one of ``generations``."""
    return stored is not None and stored.isdigit() and int(stored) in generations


def _set(conn, **values) -> None:
    """Set (a value) or remove (None) keys of the state."""
    queries.flag_tables.set_state(conn, {k.lower(): v for k, v in values.items()})


def _prepare(conn) -> dict[str, str]:
    """The tables, of this layout (made anew when the stored ones are of another), and the state."""
    state = _state(conn)
    if state.get(SCHEMA_KEY) != SCHEMA:
        queries.flag_tables.make_anew(conn)
        _set(conn, schema=SCHEMA)
        return {SCHEMA_KEY: SCHEMA}
    queries.flag_tables.make_missing(conn)
    return state


def _chunks(values, size: int = MAX_IN):
    values = sorted(values)
    return [values[k:k + size] for k in range(0, len(values), size)]


# --- account times --------------------------------------------------------------------------------

def save_account_times(engine: sa.Engine) -> int | None:
    """Store ``clock._account_times`` for the data now there: of the accounts the refreshes since
    the stored times covered and those whose names changed, or of every account when that cannot
    be said. Returns the rows written, 0 when they were current, None when another refresh stored
    times meanwhile (it covers this one's)."""
    from . import rollups

    before = times_stamp(engine)
    basis = stamps.code_stamp()
    with engine.connect() as conn:
        state = _state(conn)
        if state.get(SCHEMA_KEY) == SCHEMA and state.get(TIMES_KEY) == before:
            return 0
        seen = (state.get(SCHEMA_KEY), state.get(TIMES_GENERATION_KEY), state.get(TIMES_BASIS_KEY))
        since = seen[1] if seen[0] == SCHEMA and seen[2] == basis else None
        gen, changed = rollups.changes_since(conn, None if since is None else int(since))
        if changed is not None:
            stored = queries.flag_tables.times_names(conn)
            names = queries.names.account_names(conn)
            known = {r[0] for r in stored}
            # An account whose name changed, or that went: its row is rewritten (or removed).
            changed |= {r[0] for r in names if r[0] in known and tuple(r) not in stored}
            changed |= known - {r[0] for r in names}
    df = clock._account_times(engine, accounts=changed, with_pk=True)

    def naive(values):
        t = pd.to_datetime(values)
        return [None if pd.isna(v) else v.tz_convert("UTC").tz_localize(None).to_pydatetime() for v in t]

    rows = [dict(account_pk=int(k), platform=p, account=a, influencer=None if i is None or i != i else i, as_of=t,
                 last_import=li)
            for k, p, a, i, t, li in zip(df["account_pk"].tolist(), df["platform"].tolist(), df["account"].tolist(),
                                         df["influencer"].tolist(), naive(df["as_of"]), naive(df["last_import"]))]
    with database.write_transaction(engine) as conn:
        state = _prepare(conn)
        if (seen[0] == SCHEMA and (state.get(TIMES_GENERATION_KEY), state.get(TIMES_BASIS_KEY)) != seen[1:]) or \
                (seen[0] != SCHEMA and state.get(TIMES_GENERATION_KEY) is not None):
            return None  # another refresh stored times since this one read the state
        for chunk in [None] if changed is None else _chunks(changed):
            queries.flag_tables.remove_times(conn, chunk)
        for k in range(0, len(rows), ROW_BATCH):
            queries.flag_tables.add_times(conn, rows[k:k + ROW_BATCH])
        # Under the write lock no import commits: the stamp read here is the one the rows are of.
        _set(conn, account_times=before if times_stamp(engine) == before else None,
             account_times_generation=str(gen), account_times_basis=basis)
    return len(rows)


def account_times(engine: sa.Engine) -> pd.DataFrame | None:
    """``clock._account_times`` as the last refresh stored it, or None when it is not of this data."""
    with engine.connect() as conn:
        if _stored_stamp(conn, TIMES_KEY) != times_stamp(engine) and \
                not _standing(conn, TIMES_GENERATION_KEY, TIMES_BASIS_KEY, stamps.code_stamp()):
            return None
        rows = queries.flag_tables.stored_times(conn)
    cols = ["platform", "account", "influencer", "as_of", "last_import"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame([tuple(r) for r in rows], columns=["account_pk", *cols])
    for c in ("as_of", "last_import"):
        df[c] = pd.to_datetime(df[c]).dt.tz_localize("UTC")
    # As clock._account_times sorts them (by account_pk first: the read above).
    df = df.sort_values(["platform", "account"], key=lambda c: c.str.lower(), kind="stable").reset_index(drop=True)
    return df[cols]


# --- flags ------------------------------------------------------------------------------------------

def save(engine: sa.Engine, campaign) -> int | None:
    """Store the Live flags for the data now there: recompute those of the accounts the refreshes
    since the stored flags changed (and of the series they are in), or all of them when that
    cannot be said. Returns the rows written, 0 when they were current, None when another refresh
    took over meanwhile (it stores them)."""
    before = stamp(engine, campaign)
    with engine.connect() as conn:
        if _stored_stamp(conn) == before:
            return 0  # already stored for this data (a refresh that changed nothing the flags read)
    token = uuid.uuid4().hex
    with database.write_transaction(engine) as conn:
        gen, touched, pairs, owners = _plan(conn, engine, campaign)
        # Claimed, and not to be read by a page until finished (the stamp goes).
        _set(conn, owner=token, stamp=None, generation=None)
        if touched is None:
            queries.flag_tables.remove_flags(conn, None)
        else:
            for chunk in _chunks(touched):
                queries.flag_tables.remove_flags(conn, chunk)
            for k in range(0, len(pairs), 500):
                queries.flag_tables.remove_series_flags(conn, pairs[k:k + 500])
    n = 0
    for flags in batches(engine, campaign, touched, pairs):
        rows = _records(flags)
        for k in range(0, len(rows), ROW_BATCH):
            with database.write_transaction(engine) as conn:
                if _state(conn).get(OWNER_KEY) != token:
                    return None  # a later refresh took over
                queries.flag_tables.add_flags(conn, rows[k:k + ROW_BATCH])
            n += len(rows[k:k + ROW_BATCH])
    with database.write_transaction(engine) as conn:
        if _state(conn).get(OWNER_KEY) != token:
            return None
        if touched is None:
            queries.flag_tables.remove_owners(conn, None)
            new = owners
        else:
            for chunk in _chunks(touched):
                queries.flag_tables.remove_owners(conn, chunk)
            new = owners[owners.index.isin(list(touched))]
        recs = [dict(account_pk=int(k), platform=p, influencer=i, account=a, has_post=bool(h))
                for k, p, i, a, h in zip(new.index.tolist(), new["platform"].tolist(), new["influencer"].tolist(),
                                         new["account"].tolist(), new["has_post"].tolist())]
        for k in range(0, len(recs), ROW_BATCH):
            queries.flag_tables.add_owners(conn, recs[k:k + ROW_BATCH])
        # The rows are of generation ``gen`` whatever committed since (an import's accounts are in a
        # later generation); pages may read them only if nothing did.
        _set(conn, owner=None, generation=str(gen), basis=_basis(campaign),
             stamp=before if stamp(engine, campaign) == before else None)
    return n


def _plan(conn, engine, campaign):
    """What ``save`` recomputes, read under the write lock: (generation, accounts, series, owners).
    accounts None: everything. Else the accounts whose flags go (those the refreshes since changed,
    whose name changed, or that went) and the (influencer, platform) series they were or are in."""
    from . import rollups

    state = _prepare(conn)
    since = state.get(GENERATION_KEY) if state.get(BASIS_KEY) == _basis(campaign) else None
    gen, changed = rollups.changes_since(conn, None if since is None else int(since))
    owners = queries.anomaly_inputs.flag_owners(engine)
    if changed is None:
        return gen, None, None, owners
    old = pd.DataFrame(queries.flag_tables.stored_owners(conn),
                       columns=["account_pk", "platform", "influencer", "account", "has_post"]).set_index("account_pk")
    old["has_post"] = old["has_post"].astype(bool)
    cols = ["platform", "influencer", "account", "has_post"]
    both = owners.index.intersection(old.index)
    same = (owners.loc[both, cols].astype(object).values == old.loc[both, cols].astype(object).values).all(axis=1)
    touched = set(changed) | set(both[~same].tolist()) | set(old.index.difference(owners.index).tolist()) \
        | set(owners.index.difference(old.index).tolist())
    pairs = set()
    for frame in (owners, old):
        mine = frame[frame.index.isin(list(touched))]
        pairs |= set(zip(mine["influencer"].tolist(), mine["platform"].tolist()))
    return gen, touched, sorted(pairs, key=repr), owners


def batches(engine: sa.Engine, campaign, touched=None, pairs=None):
    """The flags of ``live_flags`` a batch at a time, with their order key (``account_pk``,
    ``detector_rank``, ``tie``): the series of ``pairs`` (influencer, platform) and the followers
    and impossible values of the ``touched`` accounts; everything when ``touched`` is None."""
    from . import anomalies, rollups

    owners = queries.anomaly_inputs.flag_owners(engine)
    keys = pd.Series(list(zip(owners["influencer"], owners["platform"])), index=owners.index)
    if touched is None:
        series_accounts = owners.index
    else:
        wanted = set(pairs)
        series_accounts = owners.index[[k in wanted for k in keys.tolist()]]
    # Whole series together, a batch of accounts at a time.
    groups = pd.Series(series_accounts, index=series_accounts).groupby(keys.loc[series_accounts].map(repr), sort=True)
    batch: list[int] = []
    in_batch = 0  # posts of the batch's accounts
    n_posts = owners["posts"]
    no_posts = pd.DataFrame(columns=["post_pk", "post_id", "influencer", "platform", "account"])
    for accounts in [*[g.tolist() for _, g in groups], None]:
        more = 0 if accounts is None else int(n_posts.loc[accounts].sum())
        if batch and (accounts is None or len(batch) + len(accounts) > BATCH_ACCOUNTS
                      or in_batch + more > BATCH_SERIES_POSTS):
            followed = batch if touched is None else [a for a in batch if a in touched]
            daily, fol, life = queries.anomaly_inputs.series_inputs(engine, campaign, owners, batch, followed)
            # Hampel's too, which Live does not list (queries.flag_tables.newest) but the
            # Influencers page's panel does (``influencer_flags``).
            flags = anomalies.scan(anomalies._stacked(daily, fol), [], no_posts, campaign,
                                   detectors=("robust_z", "hampel"), explain_all=False, lifetimes=life)
            if len(flags):
                # Flags of posts belong to their series here: recomputed (and replaced) with it.
                series_flag = ~flags["detector"].isin(["robust_z", "hampel"]).to_numpy()
                account = flags["_account_pk"].to_numpy(dtype=object).copy()
                account[series_flag] = None
                yield _keyed(flags.assign(_account_pk=account))
            batch, in_batch = [], 0
        if accounts is not None:
            batch += accounts
            in_batch += more
    # Impossible values: a range of posts at a time.
    with engine.connect() as conn:
        if touched is None:
            work = [(None, r) for r in rollups._id_ranges(queries.post_ids.in_order(conn), BATCH_POSTS)]
        else:
            work = [(chunk, r) for chunk in _chunks(touched)
                    for r in rollups._id_ranges(queries.post_ids.of_accounts(conn, chunk), BATCH_POSTS)]
    for accounts, post_range in work:
        checks, posts = queries.anomaly_inputs.impossible_inputs(engine, campaign, accounts, post_range)
        if not checks:
            continue
        flags = anomalies.scan(pd.DataFrame(columns=anomalies.SERIES_COLUMNS), checks, posts, campaign, detectors=(),
                               explain_all=False)
        if len(flags):
            owner = posts.set_index("post_pk")["account_pk"]
            yield _keyed(flags.assign(_account_pk=flags["post_pk"].map(owner)))


def _keyed(flags: pd.DataFrame) -> pd.DataFrame:
    """``flags`` with the columns that order them as one scan of the whole campaign does."""
    from .anomalies import DETECTOR_RANK

    rank = flags["detector"].map(DETECTOR_RANK).astype("int64")
    tie = pd.Series(0, index=flags.index, dtype="int64")
    followers = flags["metric"].eq("followers_gained") & rank.le(1)  # robust_z and hampel, as scan
    tie[followers] = flags.loc[followers, "_account_pk"].astype("int64")
    tie[rank.eq(2)] = flags.loc[rank.eq(2), "_where"].map({"daily": 0, "lifetime": 1}).astype("int64")
    return flags.assign(_rank=rank, _tie=tie)


def live_flags(engine: sa.Engine, campaign) -> pd.DataFrame:
    """The whole campaign's flags the Live page lists (robust z-scores and impossible values; it
    shows no trailing Hampel flags), from the rollup and narrow SQL (queries.anomaly_inputs.anomaly_inputs):
    the rows ``anomalies.anomalies`` gives for those detectors, without reading every observation,
    reasons left for ``anomalies.explain``."""
    from . import anomalies

    daily, followers, checks, posts, lifetimes = queries.anomaly_inputs.anomaly_inputs(engine, campaign)
    return anomalies.scan(anomalies._stacked(daily, followers), checks, posts, campaign, detectors=("robust_z",),
                          explain_all=False, lifetimes=lifetimes)


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


def _records(flags: pd.DataFrame) -> list[dict]:
    """The rows of ``flags`` (``_keyed`` flags of ``live_flags``) for ``flags_table``, column by
    column: a dict per flag built from whole columns, not a conversion per cell (a big campaign
    has tens of thousands)."""
    n = len(flags)
    if not n:
        return []

    def text(name):
        return _known(flags[name].tolist()) if name in flags else [None] * n

    def flag(name):
        return [None if v is None else bool(v) for v in text(name)]

    cols = dict(
        account_pk=_numbers(flags, "_account_pk", int), detector=text("detector"),
        detector_rank=_numbers(flags, "_rank", int), tie=_numbers(flags, "_tie", int),
        day=_times(flags["day"]), influencer=text("influencer"),
        platform=text("platform"), account=text("account"), post_pk=_numbers(flags, "post_pk", int),
        post_id=text("post_id"), metric=text("metric"), value=_numbers(flags, "value"),
        typical=_numbers(flags, "typical"), score=_numbers(flags, "score"),
        posts_published=_numbers(flags, "posts_published", int), where_=text("_where"),
        bound_metric=text("_bound_metric"), bound=_numbers(flags, "_bound"),
        at=_times(flags["_at"]) if "_at" in flags else [None] * n,
        before_at=_times(flags["_before_at"]) if "_before_at" in flags else [None] * n,
        corrected=flag("_corrected"), window=_numbers(flags, "_window", int), other_metric=text("_other_metric"),
        other_value=_numbers(flags, "_other"), other_typical=_numbers(flags, "_other_typical"))
    keys = list(cols)
    return [dict(zip(keys, row)) for row in zip(*cols.values())]


def shown(engine: sa.Engine, campaign, sel, limit: int) -> pd.DataFrame | None:
    """The ``limit`` newest stored flags of the view (largest score first within a day, ties in
    the scan's order), as rows of ``scan(..., explain_all=False)`` for ``anomalies.explain``; None
    when no flags are stored for this data, campaign and code. Every filter of the view applies:
    days, platforms, influencers and categories (``queries.names.flag_pairs``)."""
    want = stamp(engine, campaign)
    pairs = queries.names.flag_pairs(engine, sel)
    with engine.connect() as conn:
        if not _flags_shown(conn, want, campaign):
            return None
        rows = queries.flag_tables.newest(conn, sel, pairs, limit)
    return _scan_rows(rows)


def influencer_flags(engine: sa.Engine, campaign, name: str) -> pd.DataFrame | None:
    """The rows ``anomalies.scan`` gives about one influencer (every detector, the trailing Hampel
    filter's too), in its order and with reasons and facts: the stored flags whose influencer is
    ``name``, as the Influencers page's panel shows them (``leaderboard.focus_data``). None when
    none are stored for this data, campaign and code: then the panel scans the influencer's series
    itself, 100-300 ms a click (issue 15's load test)."""
    from .anomalies import explain

    want = stamp(engine, campaign)
    with engine.connect() as conn:
        if not _flags_shown(conn, want, campaign):
            return None
        rows = queries.flag_tables.of_influencer(conn, name)
    return explain(_scan_rows(rows), campaign)


def _flags_shown(conn, want: str, campaign) -> bool:
    """Whether the stored flags may be shown: of the data now (``want``, ``stamp``), or as it
    stands for a page (``_standing``)."""
    return _stored_stamp(conn) == want or _standing(conn, GENERATION_KEY, BASIS_KEY, _basis(campaign))


def _scan_rows(rows) -> pd.DataFrame:
    """Stored flag rows as ``scan(..., explain_all=False)`` gives them."""
    from .anomalies import COLUMNS, LAZY_COLUMNS

    names = [c.name for c in queries.flag_tables.flags_table.columns]
    df = pd.DataFrame([tuple(r) for r in rows], columns=names, dtype=object)

    def obj(name):  # as the scan has them: None where unknown, not NaN
        return pd.Series([None if v is None or v != v else v for v in df[name].tolist()], dtype=object)

    def whole(name):
        return pd.Series([None if v is None or v != v else int(v) for v in df[name].tolist()], dtype=object)

    def number(name):
        return pd.to_numeric(df[name]).astype("float64")

    def utc(name):
        return (pd.to_datetime(df[name]).dt.tz_localize("UTC").dt.as_unit("us") if len(df)
                else pd.Series([], dtype="datetime64[us, UTC]"))

    out = pd.DataFrame({
        "detector": obj("detector"), "day": pd.to_datetime(df["day"]),
        "influencer": obj("influencer"), "platform": obj("platform"), "account": obj("account"),
        "post_pk": whole("post_pk"), "post_id": obj("post_id"), "metric": obj("metric"),
        "value": number("value"), "typical": number("typical"), "score": number("score"),
        "posts_published": whole("posts_published"), "reason": None, "facts": None,
        "_where": obj("where_"), "_bound_metric": obj("bound_metric"), "_bound": number("bound"),
        "_at": utc("at"), "_before_at": utc("before_at"), "_corrected": obj("corrected"), "_window": obj("window"),
        "_account_pk": whole("account_pk"), "_other_metric": obj("other_metric"), "_other": number("other_value"),
        "_other_typical": number("other_typical")}, columns=[*COLUMNS, *LAZY_COLUMNS])
    return out.reset_index(drop=True)

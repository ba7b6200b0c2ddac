"""Rollups: daily activity per account, stored, so dashboards and exports answer in milliseconds.

The metrics engine (dashboard/analysis/metrics.py) is the definition; this module stores what it computes
for each account and day in ``daily_rollup`` and answers grouped, filtered queries from there with
SQL. After an import only the accounts the import touched are recomputed. The rollup remembers the
campaign settings it was computed with (timezone, start, first-snapshot rule, definition changes);
when they change, the next query recomputes everything.

Crash consistency: every import marks itself pending (``rollup_pending:<id>`` in ``reach_meta``)
in its own transaction, and only a finished refresh that covered it removes the mark, in the
transaction that stores the rows. So a process killed (or interrupted) after an import's commit
and before its refresh leaves rollups that say they are stale, and the next import or exact read
(the command line), or a page once the import is overdue (``bring_current``), recomputes the
accounts of the pending imports. ``tests/test_rollups.py`` checks that a
query equals the engine's ``aggregate`` for the same grouping and filters.
"""
from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone


import pandas as pd
import sqlalchemy as sa

from collectors import crash
from collectors.store import database, ledger

from . import metrics, queries
from .config import EMV_FORMULA_VERSION, Campaign

log = logging.getLogger(__name__)

SUMMED = [m for m in metrics.ADDITIVE] + ["num_er_views", "num_er_impressions", "num_virality_views", "emv_basis"]
STATE_KEY = "rollup_state"


# The engine's rules, in the fingerprint, so rows stored by an older version are recomputed at the
# next refresh (or query) rather than served beside rows of the new rules. Change it with the rules.
RULES = "3: whole daily shares, sources stitched after daily rows, views or impressions per platform"


def fingerprint(campaign: Campaign) -> str:
    """What the increments depend on: a change here makes stored rollups stale."""
    return json.dumps(dict(rules=RULES, tz=campaign.timezone, start=str(campaign.start), first=campaign.first_snapshot,
                           changes=[(c.platform, c.metric, str(c.day)) for c in campaign.definition_changes]),
                      sort_keys=True)


def _state(conn) -> str | None:
    return queries.meta.value(conn, STATE_KEY)


def _pending(conn) -> list[int]:
    """The imports no finished refresh has counted yet."""
    keys = queries.meta.keys_starting(conn, ledger.ROLLUP_PENDING)
    return sorted(int(k[len(ledger.ROLLUP_PENDING):]) for k in keys)


def pending(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return _pending(conn)


def is_current(engine: sa.Engine, campaign: Campaign) -> bool:
    """Computed with these settings, and every import counted."""
    with engine.connect() as conn:
        return _state(conn) == fingerprint(campaign) and not _pending(conn)


# --- who reads, and what a read does first (issue 15) -------------------------------------------
#
# The command line, the workers and the reports read the rollup *exact*: they bring it current
# first, so `reach export` run right after `reach import` is never behind. Pages read it *as it
# stands*: every importer (`reach import`, `reach watch`, the Celery worker, an upload) refreshes
# right after its commit, and pages that ran that refresh themselves whenever they landed between
# the two (as they did until the load test of issue 15) spent 16% (SQLite) to 34-48% (PostgreSQL)
# of the web's time in it, several requests at once each waiting on the others' write lock. The
# web app enters ``as_it_stands`` for every request (dashboard/web/app.py). A page still brings
# the rollup current itself in two cases, where waiting for the importer is not enough:
#
# * settings changed (the stored fingerprint is not the campaign's): the stored rows are wrong,
#   not just behind, and are never served; one process computes while the others wait for it;
# * nobody is refreshing: an import pending for more than ``grace_s()`` after its ``imported_at``
#   (its importer died after the commit, an older version, a refresh that failed): one request
#   (the claim, database.claim) refreshes, the others serve the rollup as it stands meanwhile.
#
# What a page computes from the rollup as it stands is cached under the last published
# generation (``shown`` below, stamps.version), which moves when the refresh's first view lands.
EXACT, AS_IT_STANDS = "exact", "as it stands"
_reading: ContextVar[str] = ContextVar("reach_rollup_reading", default=EXACT)
GRACE_ENV = "REACH_REFRESH_GRACE"
GRACE_S = 60.0  # an importer refreshes within seconds of its commit; past this, assume none will


def grace_s() -> float:
    """Seconds an import may wait for its importer's refresh before a page does it
    (``REACH_REFRESH_GRACE``, else ``GRACE_S``; read each call, like the deployment's settings)."""
    return _seconds(GRACE_ENV, GRACE_S)


def _seconds(env: str, default: float) -> float:
    """The environment's ``env`` as seconds (0 or more), else ``default`` (a warning when it is not
    a number)."""
    value = os.environ.get(env, "").strip()
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        log.warning("%s=%r is not a number of seconds: using %s", env, value, default)
        return default


@contextmanager
def as_it_stands():
    """Within the block, reads of the rollup (``query``, ``query_batches``, ``bring_current``)
    serve it as it stands while imports wait for their importer's refresh (see above)."""
    token = _reading.set(AS_IT_STANDS)
    try:
        yield
    finally:
        _reading.reset(token)


def waiting_to_show(engine: sa.Engine) -> int:
    """How many imports are stored but not yet in what pages show: waiting for their refresh, or
    refreshed and waiting for the publication (``shown``). What Live's counting line says."""
    with engine.connect() as conn:
        pub = shown(conn)[0]
        waiting = len(_pending(conn))
        if pub is None:
            return waiting
        count = queries.versions.imports_mark(conn)[0]
    return max(int(count) - int(pub["imports"][0]), waiting)


def standing(conn) -> range | None:
    """The generations whose stored first view this read may serve as it stands, or None. While
    imports wait for their refresh, or a refresh's first view is being stored, what a refresh
    stored beside the rollup (Live's flags and the account times, flag_store.py; the Weekly
    reports, week_store.py) is served as it stands when it is of one of these generations (from
    the last published one, see ``shown``, to the current one: a first view stored but not yet
    published, while the next import waits, is newer still), instead of each page computing it
    for the new data (a scan of the whole campaign) only for the refresh to store it a moment later."""
    first = shown(conn)[1]
    return None if first is None else range(first, generation(conn) + 1)


def bring_current(engine: sa.Engine, campaign: Campaign) -> None:
    """What a read does before it reads the rollup: nothing when it is current; else refresh
    (exact reads), or, as it stands (pages), only when the settings changed or an import is overdue."""
    fp = fingerprint(campaign)
    exact = _reading.get() == EXACT
    with engine.connect() as conn:
        state, waiting = _state(conn), _pending(conn)
        overdue = not exact and state == fp and bool(waiting) and _overdue(conn, waiting)
    if state == fp and not waiting:
        return
    if exact:
        refresh(engine, campaign, [])  # the pending imports' accounts, or all when the settings changed
        return
    if state != fp:
        # Wrong rows: wait for the one process that computes them (the claim), then read. A
        # process that finds them computed once it holds the claim has nothing left to do.
        with database.claim(engine, wait=True):
            with engine.connect() as conn:
                if _state(conn) != fp:
                    refresh(engine, campaign, [])
        return
    if not overdue:
        return  # the importer's refresh is on its way: serve the rollup as it stands
    with database.claim(engine, wait=False) as mine:
        if not mine:
            return  # another request is bringing it current: serve it as it stands meanwhile
        with engine.connect() as conn:
            waiting = _pending(conn)
            again = bool(waiting) and _overdue(conn, waiting)
        if again:
            log.warning("imports %s waited more than %.0f s for their rollup refresh: a page runs it",
                        waiting[:10], grace_s())
            refresh(engine, campaign, [])


def _overdue(conn, waiting: list[int]) -> bool:
    """Whether the oldest pending import was recorded more than ``grace_s()`` ago (or is not
    recorded at all: a mark nothing will clear but a refresh)."""
    first = queries.imports.first_imported_at(conn, waiting[:MAX_IN])
    if first is None:
        return True
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return (now - pd.Timestamp(first).to_pydatetime()).total_seconds() > grace_s()


def invalidate(engine: sa.Engine) -> None:
    """Forget the settings the rollups were computed with: the next ``query`` rebuilds them all
    (after an import whose refresh failed, stored rows may miss it)."""
    with database.write_transaction(engine) as conn:
        queries.meta.remove(conn, STATE_KEY)


def accounts_of_imports(engine: sa.Engine, import_ids) -> list[int]:
    """Accounts whose observations these imports wrote."""
    ids = [i for i in import_ids if i is not None]
    if not ids:
        return []
    with engine.connect() as conn:
        return _accounts_of(conn, ids)


def _accounts_of(conn, ids: list[int]) -> list[int]:
    """The accounts these imports wrote observations of: from their pending marks, which name
    them (ledger.pending_value); for an import without one (refreshed already, or marked by an
    older version), from its rows, which costs a scan of every observation table (there is no
    index on import_id: it would cost every import more than it saves)."""
    if not ids:
        return []
    found: set[int] = set()
    named: set[int] = set()
    for start in range(0, len(ids), MAX_IN):
        keys = {f"{ledger.ROLLUP_PENDING}{i}": i for i in ids[start:start + MAX_IN]}
        for key, value in queries.meta.pairs(conn, list(keys)):
            accounts = ledger.pending_accounts(value)
            if accounts is not None:
                found.update(accounts)
                named.add(keys[key])
    ids = [i for i in ids if i not in named]
    if not ids:
        return sorted(found)
    return sorted(found | set(queries.imports.accounts_written_by(conn, ids)))


def refresh(engine: sa.Engine, campaign: Campaign, account_pks: list[int] | None = None, *,
            streaming: bool = False) -> int:
    """Recompute the rollup rows of these accounts (all accounts when None, or when the stored
    rows were computed with other campaign settings). Returns the rows written. The accounts of
    every pending import (one whose refresh a crash cut short) are recomputed too, so
    ``refresh(engine, campaign, [])`` brings the rollups current at the least cost.

    Safe while other processes import and refresh: the rows are written under the store's write
    lock (database.write_transaction), so two refreshes never interleave their delete and insert, and
    if any import committed after the rows were computed they are computed again under the lock,
    where no import can commit. A refresh therefore never stores totals older than the data.

    ``streaming``: a refresh of a streaming importer (`reach watch`, the workers' files from it),
    which publishes what pages show at most every ``publish_every_s()`` (see ``publish_due``)."""
    fp = fingerprint(campaign)
    given = None if account_pks is None else list(account_pks)

    def plan(conn):
        """What to recompute, from what the database says now: accounts (None = every account),
        the imports it covers, the first local day that can have changed (None = every day)."""
        waiting = _pending(conn)
        seen = (_imports_mark(conn), waiting, _state(conn))
        if given is None or _state(conn) != fp:
            return None, waiting, None, seen, None
        touched = _accounts_of(conn, waiting)
        accounts = sorted(set(given) | set(touched))
        since = _since(conn, waiting, campaign) if set(given) <= set(touched) else ledger.UNKNOWN
        # What the generation records: the accounts, and the first local day any post's rows can
        # have changed ("none": no post changed; None: any day).
        first = "none" if since is None else (None if since is ledger.UNKNOWN else since.isoformat())
        changed = dict(accounts=accounts, first=first)
        if since is None:  # the pending imports changed no post (account-level rows only)
            return [], waiting, None, seen, changed
        return accounts, waiting, (None if since is ledger.UNKNOWN else since), seen, changed

    with engine.connect() as conn:
        accounts, waiting, since, seen, changed = plan(conn)
    if accounts == [] and not waiting:
        return 0
    # The rows are computed outside the lock (imports go on meanwhile) into a temporary table of
    # this connection, a piece at a time, and moved into the rollup under the lock by one
    # INSERT ... SELECT that also combines the pieces: the process never holds the campaign's
    # rollup rows (691,219 at 100x the demo, 300 MB of frames while they were combined).
    with engine.connect() as conn:
        _spool(conn, engine, campaign, accounts, since, commit=True)
        crash.point("refresh")
        with database.locked(conn):
            again = plan(conn)
            if again[3] != seen:  # an import or another refresh committed meanwhile: recompute
                accounts, waiting, since, _, changed = again
                _spool(conn, engine, campaign, accounts, since, commit=False)
            n = queries.rollup_store.replace_days(conn, accounts, since)
            if waiting:
                queries.meta.remove_all(conn, [f"{ledger.ROLLUP_PENDING}{i}" for i in waiting])
            queries.meta.remove(conn, STATE_KEY)
            queries.meta.put(conn, STATE_KEY, fp)
            g, mark = _record_generation(conn, changed)
        queries.rollup_store.drop_spool(conn)
        conn.commit()
    analyze(engine)
    if streaming and not _publication_overdue(engine, publish_every_s()):
        return n  # the next refresh, or the importer's publish_due when the stream pauses, publishes
    store_first_view(engine, campaign)
    publish(engine, g, mark)
    return n


# The tables an import and its refresh change, whose statistics PostgreSQL's planner reads.
ANALYZED = ("accounts", "influencers", "posts", "post_snapshots", "post_latest", "post_days", "account_days", "daily_rollup")


def analyze(engine: sa.Engine) -> None:
    """PostgreSQL only: fresh planner statistics for the tables an import changed. Right after an
    import the statistics still describe the tables before it (autovacuum comes a minute or more
    later), and the planner then loops over what it takes for a handful of rows: Live's reach
    range filtered to one platform took 7.7 s at 10x the demo, 41 ms after ANALYZE (0.4 s).
    SQLite's plans do not depend on statistics here (tests/test_query_plans.py)."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.begin() as conn:
            queries.rollup_store.analyze(conn, ANALYZED)
    except Exception as e:  # noqa: BLE001 - only speed is at stake; autovacuum analyzes later
        log.warning("the tables were not analyzed after the refresh (%s): the first views may be slow", e)


def store_first_view(engine: sa.Engine, campaign: Campaign) -> None:
    """The last step of a refresh: the Live page's flags and the account times for the data now
    stored (dashboard/analysis/flag_store.py) and the Weekly page's default reports (dashboard/analysis/week_store.py),
    so the first view after an import does not compute them. Only time is at stake: a failure
    here is logged and the pages compute them themselves."""
    from . import flag_store, week_store

    for what, save in (("the Live page's flags", lambda: flag_store.save(engine, campaign)),
                       ("the account times", lambda: flag_store.save_account_times(engine)),
                       ("the Weekly page's default reports", lambda: week_store.save(engine, campaign))):
        try:
            save()
        except Exception as e:  # noqa: BLE001 - any reason at all: the rollup rows are stored, the page copes
            log.warning("%s were not stored after the refresh (%s): the pages compute them", what, e)


# Each finished refresh is a generation, numbered, and records which accounts' data it covered
# (their rollup rows, and whatever else the imports it counted changed of them: posts, account
# days). What is derived from the data later (dashboard/analysis/flag_store.py) remembers the generation it
# is of and recomputes only the accounts of the generations since (``changes_since``).
GENERATION_KEY = "rollup_generation"
CHANGED_PREFIX = "rollup_changed:"
KEEP_GENERATIONS = 200  # the changes of this many refreshes are kept; older ones are forgotten


def generation(conn) -> int:
    """The number of the last finished refresh (0 before the first)."""
    value = queries.meta.value(conn, GENERATION_KEY)
    return int(value) if value else 0


def _record_generation(conn, changed: dict | None) -> tuple[int, list]:
    """Number this refresh and keep what it covered: ``{"accounts": [...], "first": day}`` (see
    ``plan`` in ``refresh``), None for every account and day; and when it committed and the
    imports it covers (under the write lock no import commits), for its publication. Returns its
    number and that imports mark."""
    g = generation(conn) + 1
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
    mark = _page_imports_mark(conn)
    queries.meta.remove_all(conn, [GENERATION_KEY, GENERATION_AT_KEY, f"{CHANGED_PREFIX}{g}",
                                   f"{CHANGED_PREFIX}{g - KEEP_GENERATIONS}"])
    queries.meta.put_all(conn, [dict(key=GENERATION_KEY, value=json.dumps(g)),
                                dict(key=GENERATION_AT_KEY, value=json.dumps(dict(at=now, imports=mark))),
                                dict(key=f"{CHANGED_PREFIX}{g}", value="all" if changed is None else json.dumps(changed))])
    return g, mark


# --- what pages show: the last *published* generation (issue 15) ---------------------------------
#
# A file's import moves the data (its commit), then its refresh moves the rollup (the generation's
# commit), then the refresh's first-view step stores what the first view shows (Live's flags, the
# account times, the Weekly reports) for that generation, and *publishes* it. Pages read as it
# stands, and key what they compute (stamps.version, the shared cache) by the last published
# generation and the imports it covered, not by the data of the moment: while a file is between its
# import and its publication, a page serves the previous publication's results (cached, and the
# stored flags and reports of that generation) instead of computing them twice for two interim
# states nobody asked for: once for the import, once for the generation without its flags, each
# a scan of the whole campaign. In the load test (bench/load.py: a file every 2 s) the window is
# open most of the time. Once published, the version moves once, and everything is of the new data.
#
# The command line, the workers and the reports read exact (the version of the data now). A
# publication that does not come (the refresher died between the commit and the first view) stops
# counting after ``grace_s()``: pages then key by the data of the moment and compute what is missing.
GENERATION_AT_KEY = "rollup_generation_at"
PUBLISHED_KEY = "rollup_published"


def _page_imports_mark(conn) -> list:
    """The imports mark as stamps.version hashes it: (count, largest id, repr of the latest time)."""
    count, largest, latest = queries.versions.imports_mark(conn)
    return [count, largest, repr(latest)]


def publish(engine: sa.Engine, g: int, mark: list) -> None:
    """Generation ``g`` (covering the imports of ``mark``) is what pages show from now on, unless a
    later one was published already (refreshes of several workers finish in any order)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
    try:
        with database.write_transaction(engine) as conn:
            before = _published(conn)
            if before is not None and before["generation"] >= g:
                return
            # The accounts the publication knew: an import that adds an account (a new handle's
            # file) changes the roster pages hash (stamps._versions) before its refresh publishes.
            accounts = queries.versions.last_account(conn)
            queries.meta.remove(conn, PUBLISHED_KEY)
            queries.meta.put(conn, PUBLISHED_KEY, json.dumps(dict(generation=g, imports=mark, at=now,
                                                                  accounts=accounts)))
    except Exception as e:  # noqa: BLE001 - only time is at stake: pages key by the data of the moment after grace_s
        log.warning("generation %s was not published (%s): pages compute its first view themselves", g, e)


# A streaming importer (a file every few seconds) publishes at most this often: every publication
# moves the version pages key by, and each version's first views are computed once more (issue 15's
# load test: a file every 2 s, the shared cache emptied as often). A one-off import publishes at
# once; a stream's data shows within this many seconds (Live's refresh comes every 30 s anyway).
PUBLISH_ENV = "REACH_PUBLISH_EVERY"
PUBLISH_EVERY_S = 10.0


def publish_every_s() -> float:
    """``REACH_PUBLISH_EVERY`` seconds, else ``PUBLISH_EVERY_S`` (0: every refresh publishes)."""
    return _seconds(PUBLISH_ENV, PUBLISH_EVERY_S)


def _publication_overdue(engine: sa.Engine, every: float) -> bool:
    """Whether the last publication is at least ``every`` seconds old (or there is none)."""
    with engine.connect() as conn:
        pub = _published(conn)
    if pub is None or not pub.get("at") or every <= 0:
        return True
    age = datetime.now(timezone.utc).replace(tzinfo=None) - datetime.fromisoformat(pub["at"])
    return age.total_seconds() >= every


def publish_due(engine: sa.Engine, campaign: Campaign, every: float | None = None) -> bool:
    """Store the first view of the current generation and publish it, when a streaming refresh
    left it unpublished and the last publication is ``every`` seconds old (``publish_every_s()``
    when None). What a streaming importer calls between files (`reach watch` after each look at its
    inbox), so the last files of a stream show once it pauses. True when it published."""
    with engine.connect() as conn:
        found = dict(queries.meta.pairs(conn, [GENERATION_KEY, GENERATION_AT_KEY]))
        pub = _published(conn)
    try:
        g, mark = json.loads(found[GENERATION_KEY]), json.loads(found[GENERATION_AT_KEY])["imports"]
    except (KeyError, ValueError, TypeError):
        return False  # no refresh yet, or one of an older version (which published at once)
    if (pub is not None and pub["generation"] >= g) or \
            not _publication_overdue(engine, publish_every_s() if every is None else every):
        return False
    store_first_view(engine, campaign)
    publish(engine, g, mark)
    return True


def _published(conn) -> dict | None:
    value = queries.meta.value(conn, PUBLISHED_KEY)
    try:
        found = json.loads(value) if value else None
        return found if isinstance(found, dict) and isinstance(found.get("generation"), int) else None
    except ValueError:
        return None


def _publication_due(conn) -> bool:
    """Whether the current generation's commit is recent enough that its publication is on its way."""
    try:
        at = json.loads(queries.meta.value(conn, GENERATION_AT_KEY) or "")["at"]
    except (ValueError, TypeError, KeyError):
        return False
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return (now - datetime.fromisoformat(at)).total_seconds() <= grace_s()


def shown(conn) -> tuple[dict | None, int | None]:
    """For a read as it stands: (the publication pages key by, or None for the data of the
    moment; the generation whose stored flags, times and reports a page may show although their
    stamp is not of the data now, or None when only those of the data now may be shown)."""
    if _reading.get() != AS_IT_STANDS:
        return None, None
    gen = generation(conn)
    pub = _published(conn)
    if pub is not None and pub["generation"] < gen and _publication_due(conn):
        return pub, pub["generation"]  # a refresh committed; its first view is being stored
    if _pending(conn):  # an import waits for its refresh
        return (pub if pub is not None and pub["generation"] == gen else None), gen
    return None, None


def changes_since(conn, since: int | None) -> tuple[int, set[int] | None]:
    """The current generation, and the accounts the refreshes after generation ``since`` covered:
    None when that cannot be said (``since`` None or forgotten, a refresh of every account), and
    then everything derived must be computed anew."""
    now = generation(conn)
    records = _generations(conn, since, now)
    if records is None:
        return now, None
    out: set[int] = set()
    for r in records:
        out.update(r["accounts"])
    return now, out


def last_change(conn, account_pks, upto: int) -> int | None:
    """The newest generation up to ``upto`` whose refresh covered any of these accounts (or every
    account): what a result about these accounts alone is of (stamps.scoped_version). None when
    that cannot be said from the kept records (older than ``KEEP_GENERATIONS``, or written by an
    older version): then the caller keys by the whole data's version."""
    wanted = set(account_pks)
    g, stop = upto, max(upto - KEEP_GENERATIONS, 0)
    while g > stop:
        batch = list(range(g, max(g - 50, stop), -1))  # newest first, some records per read
        found = dict(queries.meta.pairs(conn, [f"{CHANGED_PREFIX}{n}" for n in batch]))
        for n in batch:
            value = found.get(f"{CHANGED_PREFIX}{n}")
            if value is None:
                return None
            if value == "all":
                return n
            record = json.loads(value)
            if not isinstance(record, dict):
                return None
            if wanted.intersection(record.get("accounts", ())):
                return n
        g = batch[-1] - 1
    return 0 if stop == 0 else None  # no refresh ever covered them; or forgotten


def first_day_since(conn, since: int | None) -> tuple[int, object]:
    """The current generation, and the first local day whose rows of any post the refreshes after
    generation ``since`` can have changed: a date, "none" (no post's rows changed), or None when
    that cannot be said (then any day may have)."""
    now = generation(conn)
    records = _generations(conn, since, now)
    if records is None:
        return now, None
    firsts = [r.get("first") for r in records]
    if None in firsts:
        return now, None
    days = [date.fromisoformat(f) for f in firsts if f != "none"]
    return now, min(days) if days else "none"


def _generations(conn, since: int | None, now: int) -> list[dict] | None:
    """The records of generations since+1..now; None when one is missing, covered everything, or
    was written by an older version (a bare list of accounts)."""
    if since is None or since > now or since < now - KEEP_GENERATIONS + 1:
        return None
    if since == now:
        return []
    keys = [f"{CHANGED_PREFIX}{g}" for g in range(since + 1, now + 1)]
    values = queries.meta.values(conn, keys)
    if len(values) != len(keys) or "all" in values:
        return None
    out = [json.loads(v) for v in values]
    return out if all(isinstance(r, dict) for r in out) else None


def _since(conn, waiting: list[int], campaign: Campaign):
    """The first local day whose rollup rows the pending imports can have changed: the local day
    of the earliest instant any of them recorded (ledger.pending_value); ledger.UNKNOWN when one
    cannot say, None when none changed a post."""
    if not waiting:
        return ledger.UNKNOWN
    values = queries.meta.values(conn, [f"{ledger.ROLLUP_PENDING}{i}" for i in waiting])
    earliest = None
    for v in values:
        earliest = ledger._earlier(earliest, ledger.pending_since(v))
    if earliest is None or earliest is ledger.UNKNOWN:
        return earliest
    return pd.Timestamp(earliest).tz_localize("UTC").tz_convert(campaign.tz).date()


def _imports_mark(conn_or_engine) -> tuple:
    """Changes whenever an import commits (a count, since ids can commit out of order)."""
    if isinstance(conn_or_engine, sa.Engine):
        with conn_or_engine.connect() as conn:
            return queries.imports.mark(conn)
    return queries.imports.mark(conn_or_engine)


# A refresh computes at most this many posts at once. The engine's memory grows with the posts
# (and days) it holds: 100,000 X posts at once peaked at 890 MB, so a folder import of any size
# stays near the peak of one piece (issue 11: "peak memory depends on the largest chunk").
BATCH_POSTS = 10_000
BATCH_OBS = 150_000  # and, for ranges of the posts table, at most this many observations (_id_ranges)
BATCH_ACCOUNTS = 500  # and at most this many accounts per piece (the IN list of the reads)
ROW_BATCH = 20_000  # rollup rows turned into executemany parameters at a time
MAX_IN = 10_000  # accounts named in one IN list (SQLite allows 32,766 parameters)


def pieces(engine: sa.Engine, account_pks: list[int] | None, batch_posts: int | None = None):
    """The refresh's units of work, each at most ``BATCH_POSTS`` posts:

    * every account (``account_pks`` None): (None, (first, last post id)), consecutive ranges of
      the posts table, read in storage order (ranges by account would read posts scattered over
      the whole file: three times slower on a folder of files that each hold many accounts);
    * some accounts: (accounts, None) for several whole accounts whose posts fit in a batch,
      ([one account], (first, last post id)) for a part of an account too large for one.

    Accounts without posts have no rollup rows and need no piece."""
    limit = batch_posts or BATCH_POSTS
    with engine.connect() as conn:
        if account_pks is None:
            yield from ((None, r) for r in _id_ranges(queries.post_ids.in_order_weighted(conn), limit, BATCH_OBS))
            return
        counts = queries.post_ids.counts_per_account(conn, account_pks)
        mine = sum(n for _, n in counts)
        if mine > limit and 2 * mine >= queries.post_ids.count(conn) and len(counts) <= MAX_IN:
            # Most of the posts (a folder import touches most accounts): read the table in order.
            accounts = [pk for pk, _ in counts]
            yield from ((accounts, r) for r in _id_ranges(queries.post_ids.in_order_weighted(conn), limit, BATCH_OBS))
            return
        group, size = [], 0
        for pk, n in counts:
            if n > limit:
                for r in _id_ranges(queries.post_ids.of_account(conn, pk), limit):
                    yield [pk], r
                continue
            if group and (size + n > limit or len(group) >= BATCH_ACCOUNTS):
                yield group, None
                group, size = [], 0
            group.append(pk)
            size += n
        if group:
            yield group, None


def _active_posts(engine: sa.Engine, account_pks: list[int], since_day, campaign: Campaign, limit: int):
    """Lists of at most ``limit`` ids of these accounts' posts that can have an increment on
    ``since_day`` or later: a snapshot captured since that day's local midnight (an increment
    is spread back from its snapshot, never forward) or a daily row of that day or later. Each
    test is a probe of a primary key ((post_pk, captured_at), (post_pk, day)) per post."""
    midnight = pd.Timestamp(since_day).tz_localize(campaign.tz).tz_convert("UTC").tz_localize(None).to_pydatetime()
    with engine.connect() as conn:
        for start in range(0, len(account_pks), MAX_IN):
            result = queries.post_ids.observed_since(conn, account_pks[start:start + MAX_IN], midnight, since_day)
            while part := result.fetchmany(limit):
                yield [row[0] for row in part]


def _id_ranges(result, limit: int, limit_obs: int | None = None):
    """(first, last) of each run of at most ``limit`` ids of a query's ``result`` (its first
    column; queries.post_ids), and of at most ``limit_obs`` observations (its second column, when
    ``limit_obs`` is given: a post's snapshots and daily rows), streamed (no list of every id).

    Posts, not observations, were the only measure once: at 100x the demo a run of 10,000 Meta
    posts with two months of daily rows each made 4.9 M increments and the import peaked at
    1.4 GB, where 10,000 posts with a snapshot each make a few MB."""
    first = last = None
    n = obs = 0
    while part := result.fetchmany(5000):
        for row in part:
            w = row[1] if limit_obs is not None else 0
            if first is not None and (n >= limit or (limit_obs is not None and obs + w > limit_obs)):
                yield first, last
                first, n, obs = None, 0, 0
            if first is None:
                first = row[0]
            last, n, obs = row[0], n + 1, obs + w
    if first is not None:
        yield first, last


def _spool(conn, engine: sa.Engine, campaign: Campaign, accounts, since, commit: bool) -> None:
    """The rollup rows of these accounts (``_parts``: a piece's rows at a time) into this
    connection's temporary table, made anew. ``commit``: end a transaction per piece (outside the
    write lock; a temporary table's rows need no lock of the database)."""
    queries.rollup_store.new_spool(conn)
    if commit:
        conn.commit()
    if accounts == []:
        return

    def flush(parts):
        # Combined first, in pandas on a bounded buffer: consecutive ranges of the posts table
        # share accounts, and 100x the demo made 2.3 M piece rows for 691,569 rollup rows.
        rows = parts[0] if len(parts) == 1 else _combine(pd.concat(parts, ignore_index=True))
        for start in range(0, len(rows), ROW_BATCH):
            queries.rollup_store.spool(conn, records(rows, start, start + ROW_BATCH))
        if commit:
            conn.commit()

    held, n = [], 0
    for part in _parts(engine, campaign, accounts, None, since):
        held.append(part)
        n += len(part)
        if n >= COMBINE_ROWS:
            flush(held)
            held, n = [], 0
    if held:
        flush(held)


def _parts(engine: sa.Engine, campaign: Campaign, account_pks: list[int] | None, batch_posts: int | None = None,
           since_day=None):
    """The rollup rows of these accounts (all when None), a piece at a time (``pieces``): each
    piece's rows per account and day of its own posts. Pieces that are ranges of posts can hold
    rows of the same account and day: they add up (``_combine``).

    With ``since_day``, only the rows of that local day and later: from the posts that can have
    an increment on those days (an observation since that day's start), not every post of the
    accounts (incremental refresh: a weekly export recomputes the weeks it touched)."""
    if since_day is not None:
        work = ((None, None, ids) for ids in _active_posts(engine, account_pks, since_day, campaign,
                                                           batch_posts or BATCH_POSTS))
    else:
        work = ((accounts, post_range, None) for accounts, post_range in pieces(engine, account_pks, batch_posts))
    for accounts, post_range, post_pks in work:
        frames = queries.frames.load_frames(engine, accounts, post_range=post_range, post_pks=post_pks)
        # Groups of the piece's posts whose increments fit (posts published years ago spread over
        # thousands of days each): their rows per account and day add up like the pieces'.
        for snaps, days in metrics.in_parts(frames.snapshots, frames.post_days):
            inc = metrics.increments(snaps, days, campaign)
            part = _rollup_frame(inc, frames.posts, campaign)
            del inc
            part = part if since_day is None else part[part["day"] >= since_day]
            if len(part):
                yield part
        del frames


def _compute(engine: sa.Engine, campaign: Campaign, account_pks: list[int] | None,
             batch_posts: int | None = None, since_day=None) -> pd.DataFrame:
    """``_parts`` combined into one frame (one row per account and day): for the doctor and the
    tests, which compare it whole; the refresh spools the parts instead (``_spool``)."""
    parts, rows, kept = [], 0, 0
    for part in _parts(engine, campaign, account_pks, batch_posts, since_day):
        parts.append(part)
        rows += len(part)
        if len(parts) > 1 and rows >= 2 * kept + COMBINE_ROWS:
            # Pieces that are ranges of the posts table each hold rows of many accounts: combine
            # as they come, or the pieces' rows pile up (0.8 GB at 100x the demo before the end).
            parts = [_combine(pd.concat(parts, ignore_index=True))]
            rows = kept = len(parts[0])
    if not parts:
        return pd.DataFrame(columns=ROW_COLUMNS)
    return _combine(pd.concat(parts, ignore_index=True))


COMBINE_ROWS = 200_000  # rollup rows of pieces held before they are combined (_compute, _spool)


def _combine(out: pd.DataFrame) -> pd.DataFrame:
    """One row per account and day. An account cut by post id ranges has rows for the same days
    in several pieces: the posts of the pieces are disjoint, so sums add and the flags combine by
    "any" (an unknown stays unknown only when it is unknown in every piece: min_count=1). Partial
    combinations combine again to the same rows."""
    g = out.groupby(["day", "account_pk"], sort=True)
    return pd.concat([g[SUMMED].sum(min_count=1), g["posts_active"].sum(),
                      g[["interpolated", "corrected"]].any()], axis=1).reset_index()[ROW_COLUMNS]


ROW_COLUMNS = ["day", "account_pk", *SUMMED, "posts_active", "interpolated", "corrected"]


def records(rows: pd.DataFrame, start: int = 0, stop: int | None = None) -> list[dict]:
    """Rows ``start:stop`` of a rollup frame as the database's parameters (None for unknown)."""
    recs = []
    for row in rows.iloc[start:stop][ROW_COLUMNS].itertuples(index=False, name=None):
        d = dict(zip(ROW_COLUMNS, row))
        for c in SUMMED:
            v = d[c]
            d[c] = None if v is None or v != v else float(v)
        d["account_pk"], d["posts_active"] = int(d["account_pk"]), int(d["posts_active"])
        d["interpolated"], d["corrected"] = bool(d["interpolated"]), bool(d["corrected"])
        recs.append(d)
    return recs


def _rollup_frame(inc: pd.DataFrame, posts: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """Per account and day: the sums the rollup stores."""
    wide = metrics._wide(inc, posts, metrics.Selection(), campaign)
    if wide.empty:
        return pd.DataFrame(columns=ROW_COLUMNS)
    wide["emv_basis"] = metrics.views_or_impressions(wide)
    for name, _, _ in metrics.RATE_PARTS:
        wide[name[1:]] = wide[name]  # "_num_er_views" -> "num_er_views"
    out = metrics._sum_known(wide, ["account_pk", "day"], SUMMED, extra=dict(posts_active=("post_pk", "nunique")))
    out["day"] = out["day"].dt.date
    return out[ROW_COLUMNS]


def _rollup_rows(inc: pd.DataFrame, posts: pd.DataFrame, campaign: Campaign) -> list[dict]:
    """``_rollup_frame`` as database parameters (the benchmarks build rollups with it)."""
    return records(_rollup_frame(inc, posts, campaign))


def query(engine: sa.Engine, campaign: Campaign, by=("platform",), sel: metrics.Selection = metrics.Selection(),
          refresh_if_stale: bool = True, text_order: bool = False) -> pd.DataFrame:
    """``metrics.aggregate`` answered from the rollup: the same columns for groupings by any of
    influencer, category, account, platform, day and week (not post: rollups are per account).

    The grouping, the sums and EMV happen in SQL (a sum over only NULLs is NULL, which is the
    engine's "unknown stays unknown"), so a dashboard query moves a few rows, not thousands.
    ``posts_active`` is exact per account and day only; across days it would count a post twice,
    so it is left out of groupings without ``day``."""
    by = list(by)
    parts = list(query_batches(engine, campaign, by, sel, refresh_if_stale=refresh_if_stale, text_order=text_order))
    out = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if out.empty or (not by and out["posts_active"].isna().all()):
        return pd.DataFrame(columns=by + list(metrics.COUNTS) + ["engagements", "emv_usd", "er_views"])
    return _finish(out, by, campaign)


def query_batches(engine: sa.Engine, campaign: Campaign, by, sel: metrics.Selection = metrics.Selection(),
                  batch: int | None = None, refresh_if_stale: bool = True, text_order: bool = False):
    """The rows of ``query`` as frames of at most ``batch`` rows (one frame, possibly empty, when
    ``batch`` is None), read through one cursor: the rows of a grouping by day are as many as
    the account-days (1.6 M at 100x the demo), too many to hold at once as the driver's tuples.
    Frames come raw (see ``_finish``). With ``text_order`` the groups come in Python's string
    order (code points) whatever the database's collation, so a stream needs no sort after."""
    by = list(by)
    bad = [b for b in by if b not in ("influencer", "category", "account", "platform", "day", "week")]
    if bad:
        raise ValueError(f"rollups cannot group by {bad}")
    if refresh_if_stale:
        bring_current(engine, campaign)  # exact for the command line; as it stands for pages
    yield from queries.rollup.grouped_batches(engine, campaign, by, sel, batch, text_order)


def _finish(out: pd.DataFrame, by: list[str], campaign: Campaign) -> pd.DataFrame:
    """Raw rows of ``query_batches`` as ``query`` gives them: numbers as floats, days as
    timestamps, ISO weeks, flags as booleans, rates and EMV added."""
    for c in out.columns:
        if c not in by:
            out[c] = pd.to_numeric(out[c]).astype("float64")
    if "day" in by:
        out["day"] = pd.to_datetime(out["day"])
    if "week" in by:
        out["week"] = metrics.iso_week(pd.to_datetime(out["week"]))
    out["interpolated"], out["corrected"] = out["interpolated"] > 0, out["corrected"] > 0
    out = out.rename(columns={name[1:]: name for name, _, _ in metrics.RATE_PARTS})
    if "day" not in by:
        out = out.drop(columns=["posts_active"])
    out["engagements"] = metrics.engagements(out, campaign)
    out["emv_formula"] = EMV_FORMULA_VERSION
    return metrics.add_rates(out)

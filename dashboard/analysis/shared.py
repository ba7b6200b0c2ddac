"""Results shared by every process: an expensive pure computation is done once per data version,
not once per worker, and the first view after an import finds it done already.

``memo(engine, campaign, name, args, compute)`` is how the services and the pages ask for a result
that takes seconds (the Influencers leaderboard, one influencer's posts and anomalies, the
campaign's anomalies, the freshness per account, the weekly summary, the Posts grid's order). It
looks, in turn, for

1. the value the last rollup refresh stored in the database for the data now there (``STORED``,
   dashboard/analysis/flag_store.py), so even the first view after an import computes nothing,
   in any process;
2. the value any worker computed under the same key in the shared cache;
3. ``compute()``, which it then stores there for the others.

The key (``key``) is made of the data version (``stamps.version``: every import, roster and
change of campaign settings moves it), the database, the campaign settings, this code, the
computation's name and its arguments. Nothing is ever invalidated by hand: after an import every
worker asks for the new version's key, misses, and the first to finish stores the new result; the
old entries are never asked for again. Callback outputs are not memoised, only the frames they are
drawn from, so the language and the filters applied afterwards stay free.

The shared cache itself is the web layer's (dashboard/web/cache.py: flask-caching files beside the
database), handed to this module by ``provide`` when the app installs it: the analysis never
imports the web layer (pyproject.toml's contracts). Where none is provided, or outside a running
app (the command line, notebooks, tests of pure functions), everything is computed. The cache only
saves time: an entry that cannot be read back or a value that cannot be stored is computed as if
there were no cache, and the log says why.
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter
from typing import Callable, TypeVar

import sqlalchemy as sa

from . import stamps

log = logging.getLogger(__name__)

T = TypeVar("T")

# Hits, misses and failures of this process: for the benchmark and the tests, never for data.
stats: Counter = Counter()
# How to find the shared cache of the moment (``provide``); None: there is none in this process.
_lookup: Callable[[], object | None] | None = None


def provide(lookup: Callable[[], object | None]) -> None:
    """Use ``lookup()`` to find the shared cache: an object with flask-caching's ``get(key)`` and
    ``set(key, value)``, or None where there is none at the moment (outside the running app's
    context). dashboard/web/cache.py calls this when it installs its cache on an app; every process
    that serves pages does, each for itself, so no state passes between processes."""
    global _lookup
    _lookup = lookup


def cache():
    """The shared cache for this moment, or None."""
    return None if _lookup is None else _lookup()


def key(engine: sa.Engine, campaign, version: str, name: str, args: tuple) -> str:
    """The entry's name: everything its value depends on. ``args`` must have a faithful repr
    (strings, numbers, dates, tuples, frozen dataclasses such as ``metrics.Selection``)."""
    parts = (stamps.code_stamp(), engine.url.render_as_string(hide_password=True), version, repr(campaign), name, repr(args))
    return name + ":" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _stored(engine: sa.Engine, name: str, args: tuple):
    """The value the last rollup refresh stored for ``name`` (dashboard/analysis/flag_store.py), when
    it is of the data now in the database; else None. Read before the cache: after an import the
    refresh has computed it already, so the first view does not."""
    if name not in STORED or args or engine is None:
        return None
    from . import flag_store

    try:
        return getattr(flag_store, STORED[name])(engine)
    except Exception as e:  # noqa: BLE001 - a table that cannot be read is a miss: computed as before
        log.warning("the stored %s could not be read (%s): computing it", name, e)
        return None


# Results a rollup refresh stores (dashboard/analysis/flag_store.py), by the name memo knows them by.
STORED = {"clock.account_freshness": "account_times"}


def memo(engine: sa.Engine, campaign, name: str, args: tuple, compute: Callable[[], T], scope=None) -> T:
    """``compute()``, or the value it gave for the same data version, campaign and ``args`` in any
    worker, or the value the last rollup refresh stored for this data (``STORED``). ``compute``
    must be a pure function of the database, ``campaign`` and ``args``; with ``scope`` (account
    ids), of these accounts' data, the roster, the settings and the annotations alone: then it is
    kept across imports of other accounts (``stamps.scoped_version``)."""
    stored = _stored(engine, name, args)
    if stored is not None:
        stats["stored"] += 1
        return stored
    kept = cache()
    if kept is None or engine is None:
        return compute()

    def now() -> str:
        return stamps.version(engine) if scope is None else stamps.scoped_version(engine, scope)

    seen = now()
    k = key(engine, campaign, seen, name, args)
    hit, found = find(kept, k, name)
    if hit:
        return found
    value = compute()
    # An import that committed while this was computed may or may not be in the value: it is
    # then returned but not stored under the older version's key.
    if now() == seen:
        keep(kept, k, value, name)
    return value


# Entries are stored wrapped, so that a computed None is a hit too, and anything else found is not.
_TAG = "reach"


def find(kept, k: str, name: str) -> tuple[bool, object]:
    """(True, value) when the cache ``kept`` holds an entry under ``k``, else (False, None); an
    unreadable or foreign entry is a miss. Counted in ``stats``."""
    try:
        found = kept.get(k)
    except Exception as e:  # noqa: BLE001 - an unreadable or foreign entry is a miss
        log.warning("the shared cache could not read %s (%s): computing it", name, e)
        stats["read_errors"] += 1
        found = None
    if isinstance(found, tuple) and len(found) == 2 and found[0] == _TAG:
        stats["hits"] += 1
        return True, found[1]
    stats["misses"] += 1
    return False, None


def keep(kept, k: str, value, name: str) -> None:
    """Store ``value`` under ``k`` in the cache ``kept``; a failure (a value that cannot be
    pickled, a full disk) is logged and counted, never raised."""
    try:
        if not kept.set(k, (_TAG, value)):
            stats["write_errors"] += 1
    except Exception as e:  # noqa: BLE001 - a value that cannot be pickled or a full disk
        log.warning("the shared cache could not store %s (%s)", name, e)
        stats["write_errors"] += 1

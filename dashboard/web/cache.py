"""The cache every worker of the dashboard shares: results of the expensive pure computations the
pages call (the Influencers leaderboard, one influencer's posts and anomalies, the campaign's
anomalies, the weekly summary), kept in a folder beside the database by flask-caching's
FileSystemCache, so `reach serve --workers N` computes each of them once, not once per worker.

A result is stored under a key made of the data version (``data.version``: every import, roster
and change of campaign settings moves it), the database, the campaign settings, this code, the
computation's name and its arguments. Nothing is ever invalidated by hand: after an import every
worker asks for the new version's key, misses, and the first to finish stores the new result; the
old entries are never asked for again and expire (``TIMEOUT``) or are pruned (``THRESHOLD``).
Dash callback outputs are not cached, only the frames they are drawn from, so the language and
the filters applied afterwards stay free.

The cache only saves time. A folder that cannot be made or written, an entry that cannot be read
back, or a value that cannot be stored: the value is computed as if there were no cache, and the
log says why. Outside a running app (tests of pure functions, the CLI, notebooks) nothing is cached.

Before the cache, ``memo`` looks for a value the last rollup refresh stored in the database for
the data now there (``STORED``, dashboard/analysis/flag_store.py): then even the first view after an import
computes nothing, in any process.

Entries are pickles, so the folder is made readable by this user only (0700, files 0600): anyone
who can write there could run code as the dashboard, as anyone who can write the database folder
could change its data.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Callable, TypeVar

import sqlalchemy as sa

from collectors import store

log = logging.getLogger(__name__)

T = TypeVar("T")
ENV = "REACH_CACHE_DIR"  # a folder, or "off" for no cache
EXTENSION = "reach_cache"
TIMEOUT = 24 * 3600  # an entry of an old data version is dead weight: a day is plenty for a live one
THRESHOLD = 300  # entries kept before the oldest are pruned (each is a few kB to a few MB)
OFF = ("off", "none", "0", "false", "no")

# Hits, misses and failures of this process: for the benchmark and the tests, never for data.
stats: Counter = Counter()
_stamp: str | None = None


def cache_dir(engine: sa.Engine, override: str | None = None) -> Path | None:
    """``override``, else REACH_CACHE_DIR, else ``cache`` beside a SQLite database (the data
    folder, like the archive), else data/cache. None when set to "off"."""
    given = override or os.environ.get(ENV)
    if given:
        return None if given.strip().lower() in OFF else Path(given).expanduser()
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(engine.url.database).parent / "cache"
    return store.DEFAULT_DB_PATH.parent / "cache"


def install(server, engine: sa.Engine, directory: str | None = None) -> Path | None:
    """Give the Flask app its cache; returns the folder, or None when the app computes everything
    (the folder was turned off or cannot be used: a warning says why, the app still starts)."""
    from flask_caching import Cache

    folder = cache_dir(engine, directory)
    cache = None
    if folder is not None:
        try:
            code_stamp()  # now, while the code on disk is the code this process loaded
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            cache = Cache(config={"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(folder),
                                  "CACHE_THRESHOLD": THRESHOLD, "CACHE_DEFAULT_TIMEOUT": TIMEOUT,
                                  "CACHE_OPTIONS": {"mode": 0o600}})
            cache.init_app(server)
        except Exception as e:  # noqa: BLE001 - any reason at all: the pages work without a cache
            log.warning("the shared cache in %s cannot be used (%s): every page computes its data afresh",
                        folder, e)
            stats["unusable"] += 1
            cache, folder = None, None
    server.extensions[EXTENSION] = cache
    server.config["REACH_CACHE_DIR"] = str(folder) if folder else None
    return folder


def code_stamp() -> str:
    """A digest of this program's source (and pandas' version, which pickles depend on): a result
    computed by other code is never served, even when the data did not change."""
    global _stamp
    if _stamp is None:
        import pandas

        _stamp = source_digest(Path(__file__).resolve().parents[2], pandas.__version__)
    return _stamp


def source_digest(root: Path, salt: str = "") -> str:
    """The digest of the source under ``root``: the modules, and the templates the weekly report
    is rendered from (a cached report holds its HTML, so a changed template must miss too)."""
    h = hashlib.sha256(salt.encode())
    files = [f for pkg in ("collectors", "dashboard") for f in (root / pkg).rglob("*.py")]
    files += [f for f in (root / "dashboard" / "text" / "templates").glob("*") if f.is_file()]
    for f in sorted(files):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def key(engine: sa.Engine, campaign, version: str, name: str, args: tuple) -> str:
    """The entry's name: everything its value depends on. ``args`` must have a faithful repr
    (strings, numbers, dates, tuples, frozen dataclasses such as ``metrics.Selection``)."""
    parts = (code_stamp(), engine.url.render_as_string(hide_password=True), version, repr(campaign), name, repr(args))
    return name + ":" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _cache():
    # Flask is imported here, not with the module: the command line reads stored results through
    # this module (code_stamp) and needs no web framework.
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    return current_app.extensions.get(EXTENSION)


def _stored(engine: sa.Engine, name: str, args: tuple):
    """The value the last rollup refresh stored for ``name`` (dashboard/analysis/flag_store.py), when it is
    of the data now in the database; else None. Read before the cache: after an import the
    refresh has computed it already, so the first view does not."""
    if name not in STORED or args or engine is None:
        return None
    from ..analysis import flag_store

    try:
        return getattr(flag_store, STORED[name])(engine)
    except Exception as e:  # noqa: BLE001 - a table that cannot be read is a miss: computed as before
        log.warning("the stored %s could not be read (%s): computing it", name, e)
        return None


# Results a rollup refresh stores (dashboard/analysis/flag_store.py), by the name memo knows them by.
STORED = {"data.account_freshness": "account_times"}


def memo(engine: sa.Engine, campaign, name: str, args: tuple, compute: Callable[[], T]) -> T:
    """``compute()``, or the value it gave for the same data version, campaign and ``args`` in any
    worker, or the value the last rollup refresh stored for this data (``STORED``). ``compute``
    must be a pure function of the database, ``campaign`` and ``args``."""
    from .data import version

    stored = _stored(engine, name, args)
    if stored is not None:
        stats["stored"] += 1
        return stored
    cache = _cache()
    if cache is None or engine is None:
        return compute()
    seen = version(engine)
    k = key(engine, campaign, seen, name, args)
    try:
        found = cache.get(k)
    except Exception as e:  # noqa: BLE001 - an unreadable or foreign entry is a miss
        log.warning("the shared cache could not read %s (%s): computing it", name, e)
        stats["read_errors"] += 1
        found = None
    # Stored wrapped, so that a computed None is a hit too, and anything else found is not.
    if isinstance(found, tuple) and len(found) == 2 and found[0] == "reach":
        stats["hits"] += 1
        return found[1]
    stats["misses"] += 1
    value = compute()
    # An import that committed while this was computed may or may not be in the value: it is
    # then returned but not stored under the older version's key.
    if version(engine) != seen:
        return value
    try:
        if not cache.set(k, ("reach", value)):
            stats["write_errors"] += 1
    except Exception as e:  # noqa: BLE001 - a value that cannot be pickled or a full disk
        log.warning("the shared cache could not store %s (%s)", name, e)
        stats["write_errors"] += 1
    return value

"""The cache every worker of the dashboard shares, behind ``shared.memo`` (dashboard/analysis/shared.py):
flask-caching's FileSystemCache in a folder beside the database, so `reach serve --workers N`
computes each expensive result once, not once per worker; with REACH_REDIS set (the distributed
deployment, dashboard/deployment.py) flask-caching's RedisCache instead, so the web processes of
every host share it. ``install`` gives a Flask app its cache and hands ``shared`` the way to find
it; what is kept, under which key and when it is read is ``shared.memo``'s. Old entries are never
asked for again and expire (``TIMEOUT``) or are pruned (``THRESHOLD``; Redis evicts by its own
``maxmemory`` policy).

The cache only saves time: a folder that cannot be made or written, or a Redis that does not
answer at start, means no cache, and the log says why; a Redis that stops answering later makes
each read a miss (``shared.memo``). Outside a running app (tests of pure functions, the CLI,
notebooks) nothing is cached. In Redis every key starts with the campaign's prefix
(``deployment.key_prefix``: a hash of the database URL), so campaigns sharing one Redis stay apart.

Entries are pickles, so the folder is made readable by this user only (0700, files 0600): anyone
who can write there could run code as the dashboard, as anyone who can write the database folder
could change its data.
"""
from __future__ import annotations

import logging
import os
import struct
import time
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_caching import Cache
from flask_caching.backends.filesystemcache import FileSystemCache

from collectors.store import database

from .. import deployment
from ..analysis import shared, stamps

log = logging.getLogger(__name__)

ENV = "REACH_CACHE_DIR"  # a folder, or "off" for no cache
EXTENSION = "reach_cache"
TIMEOUT = 24 * 3600  # an entry of an old data version is dead weight: a day is plenty for a live one
THRESHOLD = 300  # entries kept before the oldest are pruned (each is a few kB to a few MB)
PRUNED_TO = 3 / 4  # a prune leaves this share of THRESHOLD, so the next one is a quarter-threshold of writes away
OFF = ("off", "none", "0", "false", "no")
# A Redis that does not answer costs a page this long at most per read, never the page itself.
REDIS_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 5}


def cache_dir(engine: sa.Engine, override: str | None = None) -> Path | None:
    """``override``, else REACH_CACHE_DIR, else ``cache`` beside a SQLite database (the data
    folder, like the archive), else data/cache. None when set to "off"."""
    given = override or os.environ.get(ENV)
    if given:
        return None if given.strip().lower() in OFF else Path(given).expanduser()
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(engine.url.database).parent / "cache"
    return database.DEFAULT_DB_PATH.parent / "cache"


def install(server, engine: sa.Engine, directory: str | None = None) -> Path | None:
    """Give the Flask app its cache; returns the folder (None for Redis, or when the app computes
    everything: the cache was turned off or cannot be used, a warning says why, the app still
    starts). REACH_REDIS chooses Redis; REACH_CACHE_DIR=off turns either off."""
    redis_url = deployment.current().redis
    off = (directory or os.environ.get(ENV) or "").strip().lower() in OFF
    if redis_url and not off:
        cache = _redis_cache(server, engine, redis_url)
        server.extensions[EXTENSION] = cache
        server.config["REACH_CACHE_DIR"] = None
        shared.provide(_cache)
        return None
    folder = cache_dir(engine, directory)
    cache = None
    if folder is not None:
        try:
            stamps.code_stamp()  # now, while the code on disk is the code this process loaded
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            cache = Cache(config={"CACHE_TYPE": f"{__name__}.FolderCache", "CACHE_DIR": str(folder),
                                  "CACHE_THRESHOLD": THRESHOLD, "CACHE_DEFAULT_TIMEOUT": TIMEOUT,
                                  "CACHE_OPTIONS": {"mode": 0o600}})
            cache.init_app(server)
        except Exception as e:  # noqa: BLE001 - any reason at all: the pages work without a cache
            log.warning("the shared cache in %s cannot be used (%s): every page computes its data afresh",
                        folder, e)
            shared.stats["unusable"] += 1
            cache, folder = None, None
    server.extensions[EXTENSION] = cache
    server.config["REACH_CACHE_DIR"] = str(folder) if folder else None
    shared.provide(_cache)
    return folder


class FolderCache(FileSystemCache):
    """flask-caching's FileSystemCache, pruned in batches.

    cachelib prunes on every write once the folder holds more than its threshold, and then removes
    one entry: it opens every entry to find the expired ones, opens them all again to find the
    oldest, and removes that. With the pages keyed by a data version that moves every few seconds
    under streaming imports, the folder stays at its threshold, so every write read the whole folder
    (issue 15's load test: 11% of the web's CPU, in ``_prune``). Here a write that finds the folder
    over its threshold reads each entry's expiry once, removes the expired and then the oldest
    (entries share one timeout, so the soonest to expire is the oldest written) until
    ``PRUNED_TO`` of the threshold is left, and sets the count from what it saw: one scan per
    quarter-threshold of writes, and a count that other processes' races cannot leave wrong for long.
    """

    def _prune(self) -> None:
        if not self._over_threshold():
            return
        now, entries = time.time(), []
        for name in self._list_dir():
            try:
                with self._safe_stream_open(name, "rb") as f:
                    # the expiry is in whole seconds: the write time orders a second's entries
                    expires, written = struct.unpack("I", f.read(4))[0], os.fstat(f.fileno()).st_mtime_ns
            except FileNotFoundError:  # another worker removed it meanwhile
                continue
            except (OSError, EOFError, struct.error):
                expires, written = 1, 0  # unreadable: first to go
            entries.append((expires, written, name))
        entries.sort()
        keep = int(self._threshold * PRUNED_TO)
        gone = 0
        for expires, _, name in entries:
            if len(entries) - gone <= keep and not (expires and expires < now):
                break
            try:
                os.remove(name)
            except FileNotFoundError:
                pass
            except OSError:
                log.warning("the cache entry %s cannot be removed", name, exc_info=True)
                continue
            gone += 1
        self._update_count(value=len(entries) - gone)


def _redis_cache(server, engine: sa.Engine, url: str):
    """flask-caching's RedisCache under this campaign's key prefix, or None (with a warning) when
    Redis does not answer now: the pages then compute everything, as with an unusable folder."""
    prefix = deployment.key_prefix(engine.url.render_as_string(hide_password=False))
    server.config["REACH_CACHE_PREFIX"] = prefix
    try:
        stamps.code_stamp()
        cache = Cache(config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url, "CACHE_KEY_PREFIX": prefix,
                              "CACHE_DEFAULT_TIMEOUT": TIMEOUT, "CACHE_OPTIONS": dict(REDIS_TIMEOUTS)})
        cache.init_app(server)
        # flask-caching connects lazily: ask now, so a Redis that is down is said at start, once.
        server.extensions["cache"][cache]._write_client.ping()
    except Exception as e:  # noqa: BLE001 - any reason at all: the pages work without a cache
        log.warning("the shared cache in Redis at %s cannot be used (%s): every page computes its data afresh",
                    redacted(url), e)
        shared.stats["unusable"] += 1
        server.config["REACH_CACHE_PREFIX"] = None
        return None
    return cache


def redacted(url: str) -> str:
    """A Redis URL fit for a log line: its password replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _cache():
    """The running app's cache (``install``), or None outside an app's context or without one."""
    if not has_app_context():
        return None
    return current_app.extensions.get(EXTENSION)

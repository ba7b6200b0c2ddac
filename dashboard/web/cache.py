"""The cache every worker of the dashboard shares, behind ``shared.memo`` (dashboard/analysis/shared.py):
flask-caching's FileSystemCache in a folder beside the database, so `reach serve --workers N`
computes each expensive result once, not once per worker. ``install`` gives a Flask app its cache
and hands ``shared`` the way to find it; what is kept, under which key and when it is read is
``shared.memo``'s. Old entries are never asked for again and expire (``TIMEOUT``) or are pruned
(``THRESHOLD``).

The cache only saves time: a folder that cannot be made or written means no cache, and the log
says why. Outside a running app (tests of pure functions, the CLI, notebooks) nothing is cached.

Entries are pickles, so the folder is made readable by this user only (0700, files 0600): anyone
who can write there could run code as the dashboard, as anyone who can write the database folder
could change its data.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_caching import Cache

from collectors.store import database

from ..analysis import shared, stamps

log = logging.getLogger(__name__)

ENV = "REACH_CACHE_DIR"  # a folder, or "off" for no cache
EXTENSION = "reach_cache"
TIMEOUT = 24 * 3600  # an entry of an old data version is dead weight: a day is plenty for a live one
THRESHOLD = 300  # entries kept before the oldest are pruned (each is a few kB to a few MB)
OFF = ("off", "none", "0", "false", "no")


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
    """Give the Flask app its cache; returns the folder, or None when the app computes everything
    (the folder was turned off or cannot be used: a warning says why, the app still starts)."""
    folder = cache_dir(engine, directory)
    cache = None
    if folder is not None:
        try:
            stamps.code_stamp()  # now, while the code on disk is the code this process loaded
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            cache = Cache(config={"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(folder),
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


def _cache():
    """The running app's cache (``install``), or None outside an app's context or without one."""
    if not has_app_context():
        return None
    return current_app.extensions.get(EXTENSION)

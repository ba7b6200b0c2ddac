"""The running app's engine and campaign settings, for the pages and the downloads.

The engine is created once per process from the app's configuration (a connection pool, not
data); everything shown is read from the database, or from the results every worker shares under
the data version (dashboard/analysis/shared.py, dashboard/analysis/stamps.py), so every worker of a
multi-process server shows the same numbers after an import. The database's clock and the
freshness of its data are dashboard/analysis/clock.py's.
"""
from __future__ import annotations

import functools
import threading

import sqlalchemy as sa
from flask import current_app

from collectors.store import database

from ..analysis import config, stamps

_engines: dict[str, sa.Engine] = {}
_making = threading.Lock()  # gunicorn's threads (--threads): one engine, one pool, per URL and process


def engine() -> sa.Engine:
    url = current_app.config["REACH_DB_URL"]
    found = _engines.get(url)
    if found is None:
        with _making:
            if url not in _engines:
                _engines[url] = database.connect(url)
            found = _engines[url]
    return found


def campaign():
    return config.load(current_app.config.get("REACH_CONFIG"))


def config_path():
    """The campaign.toml this app reads (--config), or None for the default places."""
    return current_app.config.get("REACH_CONFIG")


def reads(fn):
    """``fn`` (a page's layout) run inside ``stamps.one_version``: the data version is read once
    for all the cached pieces of one view."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with stamps.one_version():
            return fn(*args, **kwargs)
    return wrapper

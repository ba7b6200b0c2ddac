"""Long work started from a page: Dash background callbacks, with a progress bar.

A page declares such a callback with ``background=True`` (and ``progress=``, ``running=``,
``cancel=`` as in Dash's documentation) through its ``Callbacks``; the app gives it the manager
that fits the deployment (``manager``):

* one machine: Dash's ``DiskcacheManager``, a process beside the web server per job, its progress
  and result in a diskcache folder beside the page cache, which every gunicorn worker of the host
  reads, so any of them answers the page's polls;
* with ``REACH_REDIS``: Dash's ``CeleryManager`` on the Celery app of dashboard/tasks.py, so the job
  runs in a `reach worker` on any host and its progress and result go through Redis.
  `reach worker` registers the same callbacks as Celery tasks before it starts
  (``app.declare_background_jobs``): Dash names a job's task by a digest of the function's source and its
  outputs, so the workers must run the web hosts' code.

A job runs outside any web request (no Flask app, no login): it reads the database and the
campaign settings the process was given (``configure``: the web app's, or the worker's REACH_DB and
REACH_CONFIG), never anything the browser sends, and does only what any logged-in user may do
(a download). What it writes goes into ``exports_dir``, beside the archive every host shares.
"""
from __future__ import annotations

import os
import re
import secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from collectors.store import database

from .. import deployment

# What the jobs of this process read: set by the app factory (the web process and, forked from
# it, DiskcacheManager's job processes) or by `reach worker` from its environment.
_config: dict = {}
_engines: dict[tuple, sa.Engine] = {}
_manager = None

PREPARED_MAX_AGE = timedelta(days=1)  # a prepared file is kept this long, then removed by the next job
TOKEN = re.compile(r"^[0-9a-f]{32}$")
PROGRESS_EVERY_S = 0.5  # progress written at most this often: each write is a round trip to Redis


def configure(db_url: str, config_path: str | None = None) -> None:
    _config.update(db=db_url, config=config_path)


def engine() -> sa.Engine:
    """The database of the jobs, one engine per process: a job process forked from the web server
    must not use the pooled connections it inherited (SQLAlchemy's rule for forks)."""
    url = _config.get("db") or os.environ.get("REACH_DB")
    key = (os.getpid(), url)
    if key not in _engines:
        _engines[key] = database.connect(url)
    return _engines[key]


def campaign():
    from ..analysis import config

    return config.load(_config.get("config"))


def exports_dir(eng: sa.Engine) -> Path:
    """``<archive>-exports``: beside the archive (REACH_ARCHIVE on shared storage when several hosts
    serve), so the host that answers the download finds what a worker on another host wrote."""
    archive = database.archive_dir(eng)
    return archive.with_name(archive.name + "-exports")


def manager(cache_dir: Path | None = None):
    """The background callback manager for this deployment, one per process (Dash registers every
    background callback with every manager made)."""
    global _manager
    if _manager is None:
        if deployment.current().distributed:
            from dash import CeleryManager

            from .. import tasks

            _manager = CeleryManager(tasks.app)
        else:
            import diskcache
            from dash import DiskcacheManager

            archive = database.archive_dir(engine())
            _manager = DiskcacheManager(diskcache.Cache(str(cache_dir or archive.with_name(archive.name + "-jobs"))))
    return _manager


def new_job_folder(eng: sa.Engine, now: datetime | None = None) -> tuple[str, Path]:
    """A fresh folder for one prepared file, named by a random token (what the download link
    carries); folders older than PREPARED_MAX_AGE are removed first."""
    root = exports_dir(eng)
    root.mkdir(parents=True, exist_ok=True)
    limit = (now or datetime.now(timezone.utc)).timestamp() - PREPARED_MAX_AGE.total_seconds()
    for old in root.iterdir():
        if TOKEN.match(old.name) and old.is_dir() and old.stat().st_mtime < limit:
            for f in old.iterdir():
                f.unlink(missing_ok=True)
            old.rmdir()
    token = secrets.token_hex(16)
    folder = root / token
    folder.mkdir()
    return token, folder


def prepared(eng: sa.Engine, token, name) -> Path | None:
    """The prepared file ``token``/``name`` if it exists; None for anything else (a token that is
    not 32 hex digits, a name with a path in it): what the browser sends names no other file."""
    if not (isinstance(token, str) and TOKEN.match(token) and isinstance(name, str)
            and re.fullmatch(r"[A-Za-z0-9._-]{1,120}", name) and not name.startswith(".")):
        return None
    path = exports_dir(eng) / token / name
    return path if path.is_file() else None


class Throttle:
    """Calls ``fn`` at most every PROGRESS_EVERY_S seconds (and always when ``last``)."""

    def __init__(self, fn):
        self.fn, self.at = fn, 0.0

    def __call__(self, *values, last: bool = False) -> None:
        now = time.monotonic()
        if last or now - self.at >= PROGRESS_EVERY_S:
            self.at = now
            self.fn(list(values))

"""Opening a database and taking turns to write: ``connect`` (a SQLAlchemy URL, or a SQLite file
in WAL mode, owner-only, brought to the current schema by ``migrate``), ``write_transaction``
(the one write lock every writer takes first), and where a database keeps its archive.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from .. import files
from ..errors import StoreError
from .schema import KEPT_TABLES, MIGRATIONS, SCHEMA_VERSION, meta_table, metadata, schema_version

DEFAULT_DB_PATH = Path("data") / "reach.db"


def migrate(engine: sa.Engine, upto: int = SCHEMA_VERSION) -> int:
    """Bring the database to ``upto``; returns the version it had before."""
    with engine.connect() as conn:
        before = schema_version(conn)
    if SCHEMA_VERSION >= before >= upto:
        return before  # the usual case: opening needs no write lock (a long import may hold it)
    # Two processes opening a new database at once (a watcher and the dashboard) must not both
    # create the tables: the second waits for the write lock and then finds them made.
    with write_transaction(engine) as conn:
        before = schema_version(conn)
        if before > SCHEMA_VERSION:
            raise StoreError(
                f"the database has schema version {before}, newer than this program's {SCHEMA_VERSION}: upgrade campaign-reach"
            )
        for v in range(before + 1, upto + 1):
            MIGRATIONS[v](conn)
            if v == 1:
                conn.execute(meta_table.insert().values(key="schema_version", value="1"))
            else:
                conn.execute(meta_table.update().where(meta_table.c.key == "schema_version").values(value=str(v)))
    return before


# --- connecting -------------------------------------------------------------------------------

# How long a writer waits for another writer's transaction to end (a large import can take
# minutes) before it gives up with "database is locked" (SQLite) or a lock timeout (PostgreSQL).
WRITE_WAIT_S = 300.0
BUSY_TIMEOUT_MS = 30000  # any other wait for a SQLite lock
# The PostgreSQL advisory lock every write transaction of write_transaction() holds (any
# constant; advisory locks are per database, so every schema of one database shares it).
PG_WRITE_LOCK = 0x7265616368  # "reach"


@contextmanager
def write_transaction(engine: sa.Engine, wait_s: float = WRITE_WAIT_S):
    """A transaction that holds the database's one write lock from its first statement.

    SQLite: ``BEGIN IMMEDIATE``. A deferred transaction that reads before it writes cannot wait
    for the write lock: when another writer has committed meanwhile, SQLite refuses the upgrade at
    once with "database is locked", whatever the busy timeout. Taking the lock first makes the
    writer wait its turn (up to ``wait_s``) and then see everything committed before it.
    PostgreSQL: an advisory lock, so writers take turns there too. Imports then never race on
    the unique keys (a file's sha256, a new account or post) and a rollup refresh reads what
    every import before it wrote. Readers (the dashboard) never wait for it."""
    with engine.connect() as conn:
        with locked(conn, wait_s):
            yield conn


@contextmanager
def locked(conn, wait_s: float = WRITE_WAIT_S):
    """``write_transaction`` on a connection the caller holds (with no transaction open): one
    that keeps a temporary table across transactions (the rollup refresh's spool)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(wait_s * 1000)}ms'")
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITE_LOCK})
        conn.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


@contextmanager
def read_snapshot(engine: sa.Engine):
    """A connection on which every statement reads the same committed state, however many there
    are and whatever commits meanwhile: for a reader that reads in several statements (an export
    of many runs of posts) and must not mix the states before and after an import. SQLite: a
    deferred transaction (in WAL mode its first read fixes the snapshot until it ends); PostgreSQL:
    REPEATABLE READ, read only (READ COMMITTED, the default, gives each statement its own).
    Readers take no lock and writers never wait for them."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        elif conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        try:
            yield conn
        finally:
            conn.rollback()


# Who brings the rollups current for pages when no importer did (dashboard/analysis/rollups.py,
# ``bring_current``): one process at a time, so a dozen requests that find the same overdue import
# do not each compute its refresh. Any constant, other than PG_WRITE_LOCK.
PG_REFRESH_CLAIM = 0x726561636872  # "reachr"
_local_claims: dict[str, threading.Lock] = {}  # a database without a file (SQLite in memory)


@contextmanager
def claim(engine: sa.Engine, wait: bool):
    """Yields True when this process (this thread) holds the database's refresh claim, False when
    another holds it and ``wait`` is false. Released when the block ends, or by the operating
    system (SQLite: a ``flock`` on ``<database>.refresh-claim`` beside the file) or the server
    (PostgreSQL: a session advisory lock) when the process dies: a crashed claimant blocks no one.
    A claim is not the write lock: it only says who computes; the refresh itself still writes
    under ``write_transaction``."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            if wait:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PG_REFRESH_CLAIM})
                got = True
            else:
                got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_REFRESH_CLAIM}).scalar())
            conn.commit()  # hold the session's lock, not a transaction, while the refresh runs
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PG_REFRESH_CLAIM})
                    conn.commit()
        return
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    fd = None
    if path and path != ":memory:" and not path.startswith("file:"):
        try:
            fd = os.open(path + ".refresh-claim", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            fd = None  # a folder this process cannot write: claims among its own threads only
    if fd is None:
        lock = _local_claims.setdefault(str(engine.url), threading.Lock())
        got = lock.acquire(blocking=wait)
        try:
            yield got
        finally:
            if got:
                lock.release()
        return
    import fcntl

    # flock, not fcntl's record locks: those are per process, and gunicorn's threads of one
    # process must exclude one another too (each opens the file: its own open file description).
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            got = True
        except BlockingIOError:
            got = False
        yield got
    finally:
        os.close(fd)  # releases the lock


def resolve_url(db: str | None) -> str:
    """--db / REACH_DB / the default file; a bare path means a SQLite file."""
    db = db or os.environ.get("REACH_DB") or str(DEFAULT_DB_PATH)
    if "://" in db:
        return db
    return "sqlite:///" + str(Path(db).expanduser())


def connect(db: str | None = None, *, create: bool = True) -> sa.Engine:
    url = resolve_url(db)
    kwargs = {}
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url[len("sqlite:///"):])
        if create:
            # Owner-only (0600): SQLite gives the -wal and -shm files the database file's mode.
            folder = files.private_dir(path.parent, tighten=False)
            if "?" not in path.name:  # not a URI with options (?mode=ro): SQLite opens that one itself
                files.private_file(folder / path.name)
        elif not path.exists():
            raise StoreError(f"no database at {path}: import a file or run `reach demo` first")
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        if url.startswith("postgresql"):
            kwargs["connect_args"] = {"options": _without_jit(url)}
        engine = sa.create_engine(url, **kwargs)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as e:
        raise StoreError(f"cannot use database URL {url!r}: {e}") from None
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.close()
    try:
        migrate(engine)
    except sa.exc.OperationalError as e:
        raise StoreError(f"cannot open the database {engine.url.render_as_string(hide_password=True)}: {e.orig}") from None
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        files.tighten_sqlite(engine.url.database)  # made world-readable by an older version
    return engine


def _without_jit(url: str) -> str:
    """The URL's server options (``options=``) with ``-c jit=off`` added, unless they set jit
    themselves (a DBA's choice); given as the connection's options, so the URL (which keys the
    shared Redis, deployment.key_prefix) stays as written. Every statement here is index lookups and small sorts, which the server
    compiled for as long as it then ran: the Posts grid's order of 2,053 posts took 48 ms with
    JIT, 6 ms without; of 8,000, with inlining, over a second each in issue 15's load test (160 s
    of server time in 45 s)."""
    u = sa.engine.make_url(url)
    options = u.query.get("options", "")
    options = " ".join(options) if isinstance(options, tuple) else options
    return options if "jit" in options else (options + " -c jit=off").strip()


def archive_dir(engine: sa.Engine, override: str | None = None) -> Path:
    """Imported files are kept beside a SQLite database; elsewhere in REACH_ARCHIVE or data/archive."""
    if override or os.environ.get("REACH_ARCHIVE"):
        return Path(override or os.environ["REACH_ARCHIVE"]).expanduser()
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(engine.url.database).parent / "archive"
    return DEFAULT_DB_PATH.parent / "archive"


def drop_all(engine: sa.Engine) -> None:
    """Every table the archive can make again (``reach rebuild``); not ``KEPT_TABLES``, which hold
    what people wrote into the dashboard."""
    with engine.begin() as conn:
        metadata.drop_all(conn, tables=[t for t in metadata.sorted_tables if t.name not in KEPT_TABLES])

"""Store: the canonical tables, their migrations, and writing one parsed file in one transaction.

SQLAlchemy 2 Core, so any SQLAlchemy URL works; SQLite (a file in WAL mode, so a watcher can write
while the dashboard reads) is the default and PostgreSQL is tested for real. All timestamps are
stored in UTC without a zone; days are calendar days as the export states them.

Observations live in three tables because their keys differ: ``post_snapshots`` (lifetime
totals of a post as of ``captured_at``), ``post_days`` (a post's values for one activity day)
and ``account_days`` (an account's values for one day). A later import that covers the same key
overwrites the metrics it has and keeps the ones it lacks (Meta sends reach and views in
separate files), so re-importing never doubles anything. Missing metrics are NULL, never 0.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

from . import files
from .errors import StoreError
from .model import ACCOUNT_DAY, FLOAT_METRICS, LEVELS, METRICS, POST_DAILY, POST_LIFETIME

DEFAULT_DB_PATH = Path("data") / "reach.db"
SCHEMA_VERSION = 7

metadata = sa.MetaData()


def _metric_columns():
    return [sa.Column(m, sa.Float if m in FLOAT_METRICS else sa.BigInteger, nullable=True) for m in METRICS]


meta_table = sa.Table("reach_meta", metadata, sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text))

imports = sa.Table(
    "imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("imported_at", sa.DateTime, nullable=False),
    sa.Column("platform", sa.String(32)),
    sa.Column("reports", sa.Text),  # comma-separated report names (a ZIP can hold several)
    sa.Column("rows_read", sa.Integer, nullable=False, default=0),
    sa.Column("rows_stored", sa.Integer, nullable=False, default=0),
    sa.Column("rows_rejected", sa.Integer, nullable=False, default=0),
    sa.Column("rows_skipped", sa.Integer, nullable=False, default=0),
    sa.Column("captured_at", sa.DateTime),  # the snapshot time given to lifetime rows
    sa.Column("captured_at_source", sa.String(32)),  # file column | file name | import time | --as-of
    sa.Column("options", sa.Text),  # JSON: the options the file was imported with (for rebuild)
    # schema 5: how the rows arrived: "file" (reach import, the Data page, reach watch) or "api"
    # (reach collect); the freshness line shows each platform's sources apart.
    sa.Column("source", sa.String(16), nullable=False, server_default="file"),
)

# Added in schema version 2: the reasons rows were rejected, for the import history.
import_problems = sa.Table(
    "import_problems", metadata,
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("line", sa.Integer),
    sa.Column("column_name", sa.Text),
    sa.Column("value", sa.Text),
    sa.Column("expected", sa.Text),
)

influencers = sa.Table(
    "influencers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("category", sa.Text),
)

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(32), nullable=False),
    sa.Column("account_key", sa.Text, nullable=False),  # platform id, else lower-case handle, else name
    sa.Column("account_id", sa.Text),
    sa.Column("handle", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("influencer_id", sa.Integer, sa.ForeignKey("influencers.id")),
    sa.Column("followers", sa.BigInteger),  # schema 3: the roster's follower count, if it gives one
    sa.UniqueConstraint("platform", "account_key"),
)

posts = sa.Table(
    "posts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(32), nullable=False),
    sa.Column("post_id", sa.Text, nullable=False),
    sa.Column("account_pk", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("published_at", sa.DateTime),
    sa.Column("url", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("post_type", sa.Text),
    sa.Column("first_import_id", sa.Integer, sa.ForeignKey("imports.id")),
    sa.UniqueConstraint("platform", "post_id"),
)

post_snapshots = sa.Table(
    "post_snapshots", metadata,
    sa.Column("post_pk", sa.Integer, sa.ForeignKey("posts.id"), primary_key=True),
    sa.Column("captured_at", sa.DateTime, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
    *_metric_columns(),
)

post_days = sa.Table(
    "post_days", metadata,
    sa.Column("post_pk", sa.Integer, sa.ForeignKey("posts.id"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
    *_metric_columns(),
)

account_days = sa.Table(
    "account_days", metadata,
    sa.Column("account_pk", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
    *_metric_columns(),
    sa.Column("followers", sa.BigInteger),  # schema 3: followers at the end of the day (a level)
)

import_failures = sa.Table(
    "import_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("failed_at", sa.DateTime, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    # schema 5: so the freshness line can show a platform's last error beside its last success.
    # platform is NULL when the file could not be read or detected.
    sa.Column("platform", sa.String(32)),
    sa.Column("source", sa.String(16), nullable=False, server_default="file"),
)

# Added in schema version 5: what an API collector must remember between runs (a paging cursor of
# an interrupted run, the time a platform's daily quota comes back). Never credentials.
collector_state = sa.Table(
    "collector_state", metadata,
    sa.Column("platform", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# Added in schema version 6: column mappings saved as profiles (collectors/mapping.py), keyed by
# the signature of the header they were made for, so a later file with that header imports
# without asking. The archive keeps the mapping each file was imported with, so a rebuild does
# not depend on this table.
mapping_profiles = sa.Table(
    "mapping_profiles", metadata,
    sa.Column("signature", sa.String(64), primary_key=True),
    sa.Column("report", sa.String(64), nullable=False),
    sa.Column("mapping", sa.Text, nullable=False),  # JSON: Mapping.to_dict()
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("file_name", sa.Text),  # the file it was first made for
)

# Added in schema version 4: daily activity per account, derived from the observations by the
# metrics engine (dashboard/analysis/rollups.py) and kept current after every import, so that a dashboard
# query reads a few thousand rows instead of recomputing millions. Derived data: it can always
# be rebuilt, and it is not exported.
daily_rollup = sa.Table(
    "daily_rollup", metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("account_pk", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
    *[sa.Column(m, sa.Float) for m in METRICS if m != "reach"],
    sa.Column("num_er_views", sa.Float),  # engagements of posts that report views
    sa.Column("num_er_impressions", sa.Float),
    sa.Column("num_virality_views", sa.Float),
    sa.Column("emv_basis", sa.Float),  # views, or impressions for posts without views
    sa.Column("posts_active", sa.Integer, nullable=False),
    sa.Column("interpolated", sa.Boolean, nullable=False),
    sa.Column("corrected", sa.Boolean, nullable=False),
    sa.Index("ix_daily_rollup_account_day", "account_pk", "day"),
)

# --- migrations -------------------------------------------------------------------------------
# Each step takes a connection and brings the schema from version n-1 to n. Step 1 creates the
# version-1 tables from today's definitions, so a later step that adds a column to one of them
# checks for the column first (a new database already has it; an old one gets it).

V1_TABLES = ("reach_meta", "imports", "influencers", "accounts", "posts", "post_snapshots",
             "post_days", "account_days", "import_failures")


def _v1(conn):
    metadata.create_all(conn, tables=[metadata.tables[t] for t in V1_TABLES])


def _v2(conn):
    import_problems.create(conn)


def _v3(conn):
    # Step 1 creates tables from today's definitions, so a new database already has these
    # columns; a database made before schema 3 gets them here.
    for table in ("accounts", "account_days"):
        have = {c["name"] for c in sa.inspect(conn).get_columns(table)}
        if "followers" not in have:
            conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN followers BIGINT"))


def _v4(conn):
    daily_rollup.create(conn)


def _v5(conn):
    for table, columns in (("imports", ("source",)), ("import_failures", ("platform", "source"))):
        have = {c["name"] for c in sa.inspect(conn).get_columns(table)}
        for col in columns:
            if col not in have:
                ddl = "VARCHAR(32)" if col == "platform" else "VARCHAR(16) NOT NULL DEFAULT 'file'"
                conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {col} {ddl}"))
    collector_state.create(conn)


def _v6(conn):
    mapping_profiles.create(conn)


# Added in schema version 7: the posts export and the Posts page read posts in this order; with
# the index SQLite walks it instead of sorting every post in a temporary B-tree, so the export can
# stream its rows (issue 11). The latest snapshot of a post needs no index of its own: the primary
# key (post_pk, captured_at) answers max(captured_at) for one post.
posts_order = sa.Index("ix_posts_platform_published", posts.c.platform, posts.c.published_at, posts.c.post_id)


def _v7(conn):
    # Step 1 builds today's tables with their indexes, so a new database has it already.
    posts_order.create(conn, checkfirst=True)


MIGRATIONS = {1: _v1, 2: _v2, 3: _v3, 4: _v4, 5: _v5, 6: _v6, 7: _v7}


def schema_version(conn) -> int:
    if not sa.inspect(conn).has_table("reach_meta"):
        return 0
    v = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
    return int(v or 0)


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


def archive_dir(engine: sa.Engine, override: str | None = None) -> Path:
    """Imported files are kept beside a SQLite database; elsewhere in REACH_ARCHIVE or data/archive."""
    if override or os.environ.get("REACH_ARCHIVE"):
        return Path(override or os.environ["REACH_ARCHIVE"]).expanduser()
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(engine.url.database).parent / "archive"
    return DEFAULT_DB_PATH.parent / "archive"


def drop_all(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        metadata.drop_all(conn)


# --- writing ----------------------------------------------------------------------------------

def _insert(conn):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - documented: SQLite and PostgreSQL are the supported stores
        raise StoreError(f"unsupported database dialect {conn.dialect.name!r}")
    return insert


def _utc_naive(s: pd.Series) -> pd.Series:
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s


def _records(df: pd.DataFrame, columns: list[str]) -> list[dict]:
    """DataFrame -> DB-API rows: Python ints for counts, None for missing, datetimes as datetime."""
    if not columns:
        return [{} for _ in range(len(df))]
    out = _column_values(df, columns)
    return [dict(zip(columns, row)) for row in zip(*(out[c] for c in columns))]


def _column_values(df: pd.DataFrame, columns: list[str]) -> dict[str, list]:
    """The values ``_records`` puts in each column, built column-wise (no per-cell Python branch)."""
    out: dict[str, list] = {}
    for c in columns:
        s = df[c]
        if c in METRICS or c in LEVELS:
            vals = s.to_numpy(dtype="float64", na_value=np.nan)
            nan = np.isnan(vals)
            if c in FLOAT_METRICS:
                lst = vals.tolist()
            elif np.abs(vals[~nan]).max(initial=0.0) < 2.0 ** 62:
                lst = np.where(nan, 0.0, vals).astype(np.int64).tolist()  # int64 truncates like int()
            else:
                lst = [None if v != v else int(v) for v in vals]
            for i in np.flatnonzero(nan).tolist():
                lst[i] = None
        elif pd.api.types.is_datetime64_any_dtype(s):
            s = _utc_naive(s)
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
            py = [v.to_pydatetime() for v in uniques]
            lst = [py[k] if k >= 0 else None for k in codes.tolist()]
        else:
            lst = s.tolist()
            na = pd.isna(s.to_numpy()) if s.dtype == object else None
            if na is not None and na.any():
                for i in np.flatnonzero(na).tolist():
                    v = lst[i]
                    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
                        lst[i] = None
            elif na is None and s.hasnans:
                lst = [None if (v is None or (isinstance(v, float) and v != v) or v is pd.NA) else v for v in lst]
        out[c] = lst
    return out


def _bound(conn, table: sa.Table, columns: list[str], out: dict[str, list]) -> dict[str, list]:
    """Apply each column type's bind processor (SQLite stores datetimes as text) once per value."""
    dialect = conn.dialect
    for c in columns:
        # The dialect's implementation of the type (SQLite's DATETIME, not the generic one) is the
        # one whose processor the driver's statements would apply.
        proc = table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        if proc is None:
            continue
        cache: dict = {}
        lst = out[c]
        res = []
        for v in lst:
            if v is None:
                res.append(None)
                continue
            key = (type(v), v)  # 1 == 1.0 == True: never share a result across types
            try:
                b = cache[key]
            except KeyError:
                b = cache[key] = proc(v)
            except TypeError:  # unhashable
                b = proc(v)
            res.append(b)
        out[c] = res
    return out


def _executemany_sqlite(conn, stmt, out: dict[str, list], key=None) -> None:
    """Run a Core statement on SQLite with DB-API tuples: one compile, no per-row dicts.

    ``out`` maps each bound column to its (already bind-processed) values. ``stmt`` may be a
    function that makes the statement; with a ``key``, its compiled text is kept for the next
    call with the same key (a folder of small files runs the same few statements thousands of
    times, and compiling them cost more than running them)."""
    columns = list(out)
    if not columns or not len(out[columns[0]]):
        return
    cache_key = (key, tuple(columns)) if key is not None else None
    hit = _COMPILED.get(cache_key) if cache_key is not None else None
    if hit is None:
        compiled = (stmt() if callable(stmt) else stmt).compile(dialect=conn.dialect, column_keys=columns)
        if sorted(compiled.positiontup) != sorted(columns):
            raise StoreError(f"internal: {compiled.statement.table.name} binds {compiled.positiontup}, rows have {columns}")
        hit = (str(compiled), tuple(compiled.positiontup))
        if cache_key is not None:
            _COMPILED[cache_key] = hit
    sql, order = hit
    conn.exec_driver_sql(sql, list(zip(*(out[k] for k in order))))


_COMPILED: dict = {}  # (statement key, bound columns) -> (SQL text, order of its parameters)


@dataclass
class WriteResult:
    import_id: int
    posts_new: int
    posts_seen: int
    snapshots: int
    post_days: int
    account_days: int
    unknown_account: bool = False  # some rows named no account and none was given


class AccountResolver:
    """Finds or creates account rows; matches on platform id first, then handle, then name.

    ``wanted``: the (account_id, handle, name) keys that will be resolved, when known. Only the
    accounts they can match are read then, not every account of the platform: a folder of files
    on a programme of thousands of accounts would read them all once per file."""

    def __init__(self, conn, platform: str, wanted: list[tuple] | None = None):
        self.conn, self.platform = conn, platform
        q = sa.select(accounts).where(accounts.c.platform == platform)
        if wanted is not None and len(wanted) <= 2000:  # more: reading them all is cheaper than the IN lists
            ids, handles, keys = set(), set(), {"unknown"}
            for aid, handle, name in wanted:
                handle = handle.lstrip("@") if handle else None
                for v in (aid, handle):
                    if v:
                        ids.add(v)
                if handle:
                    handles.add(handle.lower())
                    keys.add(handle.lower())
                for v in (aid, name):
                    if v:
                        keys.add(v)
            conds = [accounts.c.account_key.in_(sorted(keys))]
            if ids:
                conds.append(accounts.c.account_id.in_(sorted(ids)))
            if handles:
                conds.append(sa.func.lower(accounts.c.handle).in_(sorted(handles)))
            q = q.where(sa.or_(*conds))
        rows = conn.execute(q).mappings().all()
        self.by_key = {r["account_key"]: dict(r) for r in rows}
        self.by_id = {r["account_id"]: dict(r) for r in rows if r["account_id"]}
        self.by_handle = {r["handle"].lower(): dict(r) for r in rows if r["handle"]}

    def resolve(self, account_id, handle, name) -> int:
        handle = handle.lstrip("@") if handle else None
        row = (self.by_id.get(account_id) if account_id else None) or (
            self.by_handle.get(handle.lower()) if handle else None
        ) or (self.by_key.get(name) if name and not account_id and not handle else None)
        if row is None and handle and not account_id:
            row = self.by_id.get(handle)  # --account given as a platform id
        if row is None:
            key = account_id or (handle.lower() if handle else None) or name or "unknown"
            row = self.by_key.get(key)
        if row is None:
            values = dict(platform=self.platform, account_key=key, account_id=account_id, handle=handle, name=name)
            pk = self.conn.execute(accounts.insert().values(**values)).inserted_primary_key[0]
            row = dict(values, id=pk, influencer_id=None)
        else:
            update = {}
            if account_id and not row.get("account_id"):
                update["account_id"] = account_id
            if handle and not row.get("handle"):
                update["handle"] = handle
            if name and not row.get("name"):
                update["name"] = name
            if update:
                self.conn.execute(accounts.update().where(accounts.c.id == row["id"]).values(**update))
                row.update(update)
        self.by_key[row["account_key"]] = row
        if row.get("account_id"):
            self.by_id[row["account_id"]] = row
        if row.get("handle"):
            self.by_handle[row["handle"].lower()] = row
        return row["id"]


_ACCOUNT_KEYS = ("account_id", "account_handle", "account_name")


def _account_pks(conn, platform: str, rows: pd.DataFrame, fallback: str | None) -> pd.Series:
    """Each row's account (its pk), resolved once per distinct (id, handle, name)."""
    cols = [c for c in _ACCOUNT_KEYS if c in rows]
    if not cols:
        pk = AccountResolver(conn, platform, [(None, fallback, None)]).resolve(None, fallback, None)
        return pd.Series(pk, index=rows.index, dtype="int64")
    # Column-wise, as Python values: "" and missing both mean "not given".
    values = []
    for c in _ACCOUNT_KEYS:
        if c not in rows:
            values.append(None)
            continue
        col = rows[c].to_numpy(dtype=object)
        values.append([v if isinstance(v, str) and v != "" else (
            None if v is None or v == "" or pd.isna(v) else v) for v in col.tolist()])
    n = len(rows)
    keys = list(zip(*(v if v is not None else [None] * n for v in values)))
    distinct = list(dict.fromkeys(keys))
    asked = []
    for aid, handle, name in distinct:
        if not (aid or handle) and fallback:
            # --account names the account better than a display name guessed from a file name.
            handle = fallback
        asked.append((aid, handle, name))
    resolver = AccountResolver(conn, platform, asked)
    pk_of = {k: resolver.resolve(*a) for k, a in zip(distinct, asked)}
    return pd.Series([pk_of[k] for k in keys], index=rows.index, dtype="int64")


def _upsert(conn, table: sa.Table, keys: list[str], df: pd.DataFrame, import_id: int, batch: int = 20000,
            order: np.ndarray | None = None) -> int:
    """Insert or merge ``df``'s rows, in ``order`` (row positions) when given."""
    metric_cols = [m for m in (*METRICS, *LEVELS) if m in df and m in table.c]
    cols = keys + metric_cols
    insert = _insert(conn)

    def statement():
        stmt = insert(table)
        set_ = {m: sa.func.coalesce(stmt.excluded[m], table.c[m]) for m in metric_cols}
        set_["import_id"] = stmt.excluded.import_id
        return stmt.on_conflict_do_update(index_elements=keys, set_=set_)

    n = 0
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        batch = max(batch, 100000)  # tuples are small; DESIGN.md 8: never all 10 M at once
    else:
        stmt = statement()
    src = df if order is None else df[cols]
    for start in range(0, len(df), batch):
        part = src.iloc[start:start + batch] if order is None else src.iloc[order[start:start + batch]]
        if sqlite:
            out = _bound(conn, table, cols, _column_values(part, cols))
            out["import_id"] = [import_id] * len(part)
            _executemany_sqlite(conn, statement, out, key=("upsert", table.name, tuple(keys)))
            n += len(part)
            continue
        recs = _records(part, cols)
        for r in recs:
            r["import_id"] = import_id
        conn.execute(stmt, recs)
        n += len(recs)
    return n


def _dedupe(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    # Two rows for one key in one file: the later row wins, as a later export would.
    dup = df.duplicated(subset=keys, keep="last").to_numpy()
    return df[~dup] if dup.any() else df  # no copy of a million rows when nothing repeats


def _key_order(first: pd.Series, second: pd.Series) -> np.ndarray | None:
    """Row positions sorted by the key (first, second). Only the physical order in which rows
    reach the database changes: an exports' rows arrive by day, the keys are (post or account,
    day), and SQLite inserts in key order several times faster (DESIGN.md 8). None when the
    rows are in that order already."""
    a = first.to_numpy(dtype="int64")
    if pd.api.types.is_datetime64_any_dtype(second):
        b = pd.DatetimeIndex(second).asi8  # NaT sorts first; any valid permutation will do
    else:
        b = pd.factorize(second.to_numpy(), sort=True, use_na_sentinel=True)[0]
    order = np.lexsort((b, a))
    return None if np.array_equal(order, np.arange(len(order))) else order


# reach_meta keys "rollup_pending:<import id>": imports whose rows no finished rollup refresh has
# counted yet (written with the import, deleted by the refresh that covers it). The value says
# from when the import may have changed the rollups: "after:<naive UTC ISO time>", "none" (no post
# rows: the rollups, made of posts, did not change), "" (unknown: every day; what versions before
# the incremental refresh wrote).
ROLLUP_PENDING = "rollup_pending:"


def pending_value(since, accounts=None) -> str:
    """The mark's value; with ``accounts``, also the accounts whose observations the import
    wrote (" accounts:3,17"), so the refresh need not look for them in every observation."""
    base = "" if since is UNKNOWN else ("none" if since is None else f"after:{since.isoformat()}")
    return base if accounts is None else f"{base} accounts:{','.join(str(a) for a in sorted(accounts))}"


def pending_since(value: str | None):
    """``pending_value`` read back: a naive UTC Timestamp, None ("none") or UNKNOWN."""
    value = (value or "").split(" accounts:", 1)[0]
    if value.startswith("after:"):
        return pd.Timestamp(value[len("after:"):])
    return None if value == "none" else UNKNOWN


def pending_accounts(value: str | None) -> list[int] | None:
    """The accounts a mark names; None when it names none (written by a version before them)."""
    if not value or " accounts:" not in value:
        return None
    text = value.split(" accounts:", 1)[1]
    return [int(a) for a in text.split(",")] if text else []


def write_parsed(conn, parsed_tables: list, import_row: dict, fallback_account: str | None) -> WriteResult:
    """Write every parsed table of one file; the caller owns the transaction."""
    import_id = conn.execute(imports.insert().values(**import_row)).inserted_primary_key[0]
    # In the import's own transaction: the rollups are not current until a refresh that covers
    # this import has finished (dashboard/analysis/rollups.py), however the process ends after the commit.
    conn.execute(meta_table.insert().values(key=f"{ROLLUP_PENDING}{import_id}", value=""))
    res = WriteResult(import_id, 0, 0, 0, 0, 0)
    problems = []
    since = None
    touched: set[int] = set()  # the accounts whose observations this import writes
    for p in parsed_tables:
        problems += p.problems
        rows = p.rows
        if rows.empty:
            continue
        platform = p.report.platform
        rows = rows.copy(deep=False)  # new columns only: copy-on-write keeps p.rows as it was
        rows["account_pk"] = _account_pks(conn, platform, rows, fallback_account)
        if fallback_account is None and not any(
                c in rows and rows[c].notna().any() for c in ("account_id", "account_handle", "account_name")):
            res.unknown_account = True
        if p.report.grain == ACCOUNT_DAY:
            rows = _dedupe(rows, ["account_pk", "day"])
            order = _key_order(rows["account_pk"], rows["day"])
            rows["day"] = rows["day"].dt.date
            res.account_days += _upsert(conn, account_days, ["account_pk", "day"], rows, import_id, order=order)
            touched.update(rows["account_pk"].unique().tolist())
            continue
        post_pk, new, earliest, owners = _upsert_posts(conn, platform, rows, import_id)
        touched.update(owners)
        res.posts_new += new
        since = _earlier(since, earliest)  # where the touched posts' old increments began
        if "published_at" in rows:
            since = _earlier(since, _min_time(rows["published_at"]))
        rows["post_pk"] = post_pk
        res.posts_seen += rows["post_pk"].nunique()
        if p.report.grain == POST_LIFETIME:
            rows = _dedupe(rows, ["post_pk", "captured_at"])
            order = _key_order(rows["post_pk"], rows["captured_at"])
            res.snapshots += _upsert(conn, post_snapshots, ["post_pk", "captured_at"], rows, import_id, order=order)
            since = _earlier(since, _min_time(rows["captured_at"]))
        elif p.report.grain == POST_DAILY:
            rows = _dedupe(rows, ["post_pk", "day"])
            order = _key_order(rows["post_pk"], rows["day"])
            day = _min_time(rows["day"])
            # A day is local to some timezone: its increments may begin up to a day before its UTC midnight.
            since = _earlier(since, None if day is None else day - pd.Timedelta(days=1))
            rows["day"] = rows["day"].dt.date
            res.post_days += _upsert(conn, post_days, ["post_pk", "day"], rows, import_id, order=order)
    conn.execute(meta_table.update().where(meta_table.c.key == f"{ROLLUP_PENDING}{import_id}").values(
        value=pending_value(since, touched)))
    if problems:
        conn.execute(import_problems.insert(), [
            dict(import_id=import_id, source=pr.source, line=pr.line, column_name=pr.column,
                 value=pr.value[:500], expected=pr.expected) for pr in problems
        ])
    return res


def _upsert_posts(conn, platform: str, rows: pd.DataFrame, import_id: int) -> tuple[pd.Series, int, object, set]:
    fields = [c for c in ("published_at", "url", "title", "post_type") if c in rows]
    first = rows.drop_duplicates("post_id", keep="last")
    existing, earliest, owners = _post_pks(conn, platform, first["post_id"])
    new = first[~first["post_id"].isin(existing)]
    old = first[first["post_id"].isin(existing)]
    # The new posts' ids are the ones above the largest id before the insert: the caller holds
    # the store's write lock, so no other writer adds posts meanwhile, and one range scan of the
    # primary key reads them back (a probe per post would cost a B-tree search each).
    before = conn.execute(sa.select(sa.func.coalesce(sa.func.max(posts.c.id), 0))).scalar() if len(new) else 0
    if len(new) and conn.dialect.name == "sqlite":
        cols = ["post_id", "account_pk", *fields]
        for start in range(0, len(new), 100000):  # DESIGN.md 8: build executemany input in batches
            part = new.iloc[start:start + 100000]
            out = _bound(conn, posts, cols, _column_values(part, cols))
            out["platform"] = [platform] * len(part)
            out["first_import_id"] = [import_id] * len(part)
            _executemany_sqlite(conn, posts.insert, out, key="insert posts")
    elif len(new):
        recs = _records(new, ["post_id", "account_pk", *fields])
        for r in recs:
            r["platform"] = platform
            r["first_import_id"] = import_id
        conn.execute(posts.insert(), recs)
    if len(old) and fields:
        # Later exports may fill in what an earlier one lacked (a title, a publish time);
        # they never blank out what is known.
        def statement():
            return posts.update().where(posts.c.id == sa.bindparam("pk")).values(
                **{f: sa.func.coalesce(sa.bindparam("v_" + f, type_=posts.c[f].type), posts.c[f]) for f in fields})

        if conn.dialect.name == "sqlite":
            for start in range(0, len(old), 100000):
                part = old.iloc[start:start + 100000]
                values = _bound(conn, posts, fields, _column_values(part, fields))
                out = {"v_" + f: values[f] for f in fields}
                out["pk"] = [existing[v] for v in part["post_id"].tolist()]
                _executemany_sqlite(conn, statement, out, key=("update posts", tuple(fields)))
        else:
            recs = _records(old, ["post_id", *fields])
            conn.execute(statement(), [dict(pk=existing[r["post_id"]], **{"v_" + f: r[f] for f in fields}) for r in recs])
    if len(new):
        ids = dict(existing)
        # Every post above ``before`` is one just inserted, so no platform test: with one,
        # SQLite searched the platform's index instead of the primary key's range.
        ids.update(conn.execute(sa.select(posts.c.post_id, posts.c.id).where(posts.c.id > before)).all())
    else:
        ids = existing
    # The accounts the posts are stored under (an existing post keeps its account), for the
    # rollup refresh: whose rows this import changed.
    owners = set(owners) | set(new["account_pk"].unique().tolist())
    return rows["post_id"].map(ids).astype("int64"), len(new), earliest, owners


def _post_pks(conn, platform: str, post_ids: pd.Series, batch: int = 5000) -> tuple[dict, object, set]:
    """{post_id: id} of these posts that are stored, looked up through the (platform, post_id)
    key in batches: the work grows with the file, not with the database (reading every post id
    of the platform on each import made a folder of files quadratic: issue 11). Also the
    earliest stored publish time among them (None when there is none to see, UNKNOWN when one
    of them has none): their increments so far started there (the rollup's ``since``); and the
    accounts they are stored under."""
    out: dict = {}
    owners: set = set()
    earliest = None
    values = post_ids.dropna().unique().tolist()
    sqlite = conn.dialect.name == "sqlite"
    for start in range(0, len(values), batch):
        part = values[start:start + batch]
        if sqlite:
            # The file's ids as a table joined to the key, with the driver's own placeholders.
            # With "post_id IN (...)" SQLite searched the covering (platform, published_at,
            # post_id) index by platform alone, reading every post of the platform per file: a
            # folder was quadratic again (12x slower at 100,000 posts). SQLAlchemy's expanding
            # IN cost more to compile than the lookups.
            found = conn.exec_driver_sql(
                "WITH wanted(post_id) AS (VALUES %s) SELECT p.post_id, p.id, p.published_at, p.account_pk "
                "FROM wanted CROSS JOIN posts AS p ON p.platform = ? AND p.post_id = wanted.post_id"
                % ",".join(["(?)"] * len(part)), (*part, platform)).all()
        else:
            found = conn.execute(sa.select(posts.c.post_id, posts.c.id, posts.c.published_at, posts.c.account_pk).where(
                posts.c.platform == platform, posts.c.post_id.in_(part))).all()
        if not found:
            continue
        post_id, pk, published, account = zip(*found)
        out.update(zip(post_id, pk))
        owners.update(account)
        known = [t for t in published if t is not None]
        # SQLite's times are ISO text of one fixed format, so the smallest text is the earliest.
        earliest = _earlier(earliest, UNKNOWN if len(known) < len(published) else min(known))
    return out, earliest, owners


# "Since when might this import have changed the rollups": the earliest instant (naive UTC) of any
# increment of the posts it touched, old or new (dashboard/analysis/rollups.py recomputes only the days
# from there). UNKNOWN: a touched post's increments may start anywhere (no publish time stored).
UNKNOWN = "unknown"


def _earlier(a, b):
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    if b is None or (isinstance(b, float) and b != b) or b is pd.NaT:
        return a
    b = pd.Timestamp(b)
    if b.tzinfo is not None:
        b = b.tz_convert("UTC").tz_localize(None)
    return b if a is None or b < a else a


def _min_time(values: pd.Series):
    """The earliest time of a column of times or days (naive UTC), None when it has none."""
    t = pd.to_datetime(values, errors="coerce")
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    m = t.min()
    return None if pd.isna(m) else m


def find_import(conn, sha256: str):
    return conn.execute(sa.select(imports).where(imports.c.sha256 == sha256)).mappings().first()


def record_failure(engine: sa.Engine, sha256: str, file_name: str, error: str, *,
                   platform: str | None = None, source: str = "file") -> None:
    with write_transaction(engine) as conn:
        conn.execute(import_failures.insert().values(
            sha256=sha256, file_name=file_name, failed_at=datetime.now(timezone.utc).replace(tzinfo=None),
            error=error[:4000], platform=platform, source=source,
        ))


DEMO_CLOCK = "demo_clock"  # reach_meta: the demo's own "now" (UTC ISO time); absent for real data


def demo_clock(engine: sa.Engine) -> datetime | None:
    """The instant a demo database is "as of" (its last simulated export), which freshness and
    "today" are measured against instead of the wall clock; None for real data. `reach demo` and
    `reach demo --live` set it; any other import clears it (``clear_demo_clock``)."""
    with engine.connect() as conn:
        value = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == DEMO_CLOCK)).scalar()
    return datetime.fromisoformat(value) if value else None


def set_demo_clock(engine: sa.Engine, when: datetime) -> None:
    """Move the demo's clock to ``when`` (aware), never back: a second `reach demo` or a live drop
    of an earlier simulated moment leaves the later clock."""
    when = when.astimezone(timezone.utc)
    old = demo_clock(engine)
    if old is not None and old >= when:
        return
    with write_transaction(engine) as conn:
        conn.execute(meta_table.delete().where(meta_table.c.key == DEMO_CLOCK))
        conn.execute(meta_table.insert().values(key=DEMO_CLOCK, value=when.isoformat()))


def clear_demo_clock(conn) -> None:
    """Real data keeps real time: an import that is not the demo's ends the demo's clock."""
    conn.execute(meta_table.delete().where(meta_table.c.key == DEMO_CLOCK))


def get_state(engine: sa.Engine, platform: str, key: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(collector_state.c.value).where(
            collector_state.c.platform == platform, collector_state.c.key == key)).scalar()


def set_state(engine: sa.Engine, platform: str, key: str, value: str | None) -> None:
    """Set (or, with None, clear) one remembered value of a collector."""
    with engine.begin() as conn:
        conn.execute(collector_state.delete().where(
            collector_state.c.platform == platform, collector_state.c.key == key))
        if value is not None:
            conn.execute(collector_state.insert().values(
                platform=platform, key=key, value=value, updated_at=datetime.now(timezone.utc).replace(tzinfo=None)))


def options_json(**options) -> str:
    return json.dumps({k: v for k, v in options.items() if v is not None}, sort_keys=True, default=str)


# --- mapping profiles -------------------------------------------------------------------------

def load_profiles(engine: sa.Engine) -> list[dict]:
    """Every saved mapping (Mapping.to_dict() plus its file name and time), newest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(mapping_profiles).order_by(mapping_profiles.c.created_at.desc())).mappings().all()
    out = []
    for r in rows:
        d = json.loads(r["mapping"])
        d.update(file_name=r["file_name"], created_at=r["created_at"])
        out.append(d)
    return out


def save_profile(engine: sa.Engine, mapping: dict, file_name: str | None = None) -> None:
    """Save (or replace) the profile for the mapping's header signature."""
    with write_transaction(engine) as conn:
        conn.execute(mapping_profiles.delete().where(mapping_profiles.c.signature == mapping["signature"]))
        conn.execute(mapping_profiles.insert().values(
            signature=mapping["signature"], report=mapping["report"], mapping=json.dumps(mapping, ensure_ascii=False),
            created_at=datetime.now(timezone.utc).replace(tzinfo=None), file_name=file_name))


def remove_profile(engine: sa.Engine, signature: str) -> int:
    """Remove the profiles whose signature starts with ``signature``; how many went."""
    with write_transaction(engine) as conn:
        return conn.execute(mapping_profiles.delete().where(
            mapping_profiles.c.signature.like(signature.replace("%", "").replace("_", "") + "%"))).rowcount

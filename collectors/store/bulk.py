"""Writing one parsed file in one transaction: accounts, posts and their observations, the import
record and its rejected rows, and the ``rollup_pending`` mark (ledger.py) that says from when the
import can have changed the rollups.

A later import that covers the same key overwrites the metrics it has and keeps the ones it lacks
(Meta sends reach and views in separate files), so re-importing never doubles anything. Missing
metrics are NULL, never 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..errors import StoreError
from ..model import ACCOUNT_DAY, FLOAT_METRICS, LEVELS, METRICS, POST_DAILY, POST_LIFETIME
from .ledger import ROLLUP_PENDING, UNKNOWN, _earlier, pending_value
from .schema import (account_days, accounts, import_problems, imports, meta_table, post_days, post_snapshots,
                     posts)


# --- writing ----------------------------------------------------------------------------------

PG_BATCH = 20_000  # rows per execute on PostgreSQL: SQLAlchemy holds each execute's parameters as dicts

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


def _upsert(conn, table: sa.Table, keys: list[str], df: pd.DataFrame, import_id: int, batch: int | None = None,
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
        batch = max(batch or 0, 100000)  # tuples are small; DESIGN.md 8: never all 10 M at once
    else:
        batch = batch or PG_BATCH
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
        # In batches, as ``_upsert`` writes snapshots: SQLAlchemy holds every row's parameters of
        # one execute, and 1 M new posts in one took the import to 1.5 GB (issue 11).
        for start in range(0, len(new), PG_BATCH):
            recs = _records(new.iloc[start:start + PG_BATCH], ["post_id", "account_pk", *fields])
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
            for start in range(0, len(old), PG_BATCH):
                recs = _records(old.iloc[start:start + PG_BATCH], ["post_id", *fields])
                conn.execute(statement(), [dict(pk=existing[r["post_id"]], **{"v_" + f: r[f] for f in fields})
                                           for r in recs])
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


def months_of(parsed_tables: list) -> set:
    """The months (first days) of the snapshot times and days a file's rows will write: the
    partitions its transaction needs on PostgreSQL (partitions.prepare)."""
    out = set()
    for p in parsed_tables:
        col = {POST_LIFETIME: "captured_at", POST_DAILY: "day"}.get(p.report.grain)
        if col is None or p.rows.empty or col not in p.rows:
            continue
        t = pd.to_datetime(p.rows[col], errors="coerce")
        if getattr(t.dt, "tz", None) is not None:
            t = t.dt.tz_convert("UTC").dt.tz_localize(None)
        t = t.dropna()
        out.update(pd.Timestamp(m).date() for m in t.dt.to_period("M").dt.start_time.unique())
    return out


def _min_time(values: pd.Series):
    """The earliest time of a column of times or days (naive UTC), None when it has none."""
    t = pd.to_datetime(values, errors="coerce")
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    m = t.min()
    return None if pd.isna(m) else m

"""The import records (``imports``, ``import_problems``, ``import_failures``) and what an import
wrote: the Data page's history, rejected rows and failures, the alerts' failures, and the marks
that say an import committed (the rollup refresh, the data version)."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema


def mark(conn) -> tuple:
    """(count, largest id) of the imports: changes whenever one commits (the count, since ids can
    commit out of order)."""
    i = schema.imports
    return tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(i.c.id))).one())


def first_imported_at(conn, ids: list[int]):
    """The earliest ``imported_at`` (naive UTC) of these imports; None when none of them is recorded."""
    i = schema.imports
    return conn.execute(sa.select(sa.func.min(i.c.imported_at)).where(i.c.id.in_(ids))).scalar()


def accounts_written_by(conn, ids: list[int]) -> list[int]:
    """The accounts these imports wrote observations of, from their rows: a scan of every
    observation table (there is no index on import_id)."""
    p, s, d, ad = schema.posts, schema.post_snapshots, schema.post_days, schema.account_days
    q = sa.union(
        sa.select(p.c.account_pk).join(s, s.c.post_pk == p.c.id).where(s.c.import_id.in_(ids)),
        sa.select(p.c.account_pk).join(d, d.c.post_pk == p.c.id).where(d.c.import_id.in_(ids)),
        sa.select(ad.c.account_pk).where(ad.c.import_id.in_(ids)),
    )
    return conn.execute(q).scalars().all()


HISTORY_COLUMNS = ("id", "file_name", "platform", "reports", "imported_at", "rows_read", "rows_stored",
                   "rows_rejected", "rows_skipped", "captured_at", "captured_at_source")


def latest(conn, limit: int) -> list:
    """The ``limit`` latest import records, newest first: their ``HISTORY_COLUMNS``."""
    i = schema.imports
    return conn.execute(sa.select(*[i.c[c] for c in HISTORY_COLUMNS]).order_by(i.c.id.desc()).limit(limit)).all()


def problems(conn, import_id: int, limit: int) -> tuple[int, list]:
    """How many rows one import rejected, and the first ``limit`` of them in file order: (source,
    line, column, value, expected)."""
    p = schema.import_problems
    total = conn.execute(sa.select(sa.func.count()).where(p.c.import_id == import_id)).scalar()
    rows = conn.execute(sa.select(p.c.source, p.c.line, p.c.column_name, p.c.value, p.c.expected)
                        .where(p.c.import_id == import_id).order_by(p.c.source, p.c.line).limit(limit)).all()
    return total, rows


def failures_not_imported(conn, limit: int) -> list:
    """The ``limit`` latest failed attempts, newest first, of files not imported since: (file_name,
    failed_at, error)."""
    f, i = schema.import_failures, schema.imports
    return conn.execute(sa.select(f.c.file_name, f.c.failed_at, f.c.error)
                        .where(f.c.sha256.not_in(sa.select(i.c.sha256)))
                        .order_by(f.c.id.desc()).limit(limit)).all()


def failures_since(conn, since) -> list:
    """The failed attempts at or after ``since`` (naive UTC), oldest first: (id, file_name,
    failed_at, error, platform, source), by name."""
    f = schema.import_failures
    return conn.execute(sa.select(f.c.id, f.c.file_name, f.c.failed_at, f.c.error, f.c.platform, f.c.source)
                        .where(f.c.failed_at >= since).order_by(f.c.id)).all()

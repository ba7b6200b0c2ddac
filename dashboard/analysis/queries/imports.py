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

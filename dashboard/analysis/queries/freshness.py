"""How fresh the data is (dashboard/analysis/clock.py): per account, the latest moment its
observations describe and the import that wrote them; per platform and source, the last import
and the last failure not imported since."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema

from .parts import account_label


def account_rows(engine: sa.Engine, accounts=None) -> tuple:
    """Per account (of ``accounts``, or every one): the latest snapshot time, daily row and account
    day, each with the latest import that wrote them; and every account's platform, label and
    influencer."""
    p, a, s, d, ad, i, inf = (schema.posts, schema.accounts, schema.post_snapshots, schema.post_days,
                              schema.account_days, schema.imports, schema.influencers)
    out = [[], [], [], []]
    chunks = [None] if accounts is None else [sorted(accounts)[k:k + 10_000] for k in range(0, len(accounts), 10_000)]
    with engine.connect() as conn:
        for chunk in chunks:
            def only(q, column):
                return q if chunk is None else q.where(column.in_(chunk))
            out[0] += conn.execute(only(sa.select(p.c.account_pk, sa.func.max(s.c.captured_at), sa.func.max(i.c.imported_at))
                                        .join(p, p.c.id == s.c.post_pk).join(i, i.c.id == s.c.import_id), p.c.account_pk)
                                   .group_by(p.c.account_pk)).all()
            out[1] += conn.execute(only(sa.select(p.c.account_pk, sa.func.max(d.c.day), sa.func.max(i.c.imported_at))
                                        .join(p, p.c.id == d.c.post_pk).join(i, i.c.id == d.c.import_id), p.c.account_pk)
                                   .group_by(p.c.account_pk)).all()
            out[2] += conn.execute(only(sa.select(ad.c.account_pk, sa.func.max(ad.c.day), sa.func.max(i.c.imported_at))
                                        .join(i, i.c.id == ad.c.import_id), ad.c.account_pk).group_by(ad.c.account_pk)).all()
            out[3] += conn.execute(only(sa.select(a.c.id, a.c.platform, account_label(),
                                                  inf.c.name).outerjoin(inf, inf.c.id == a.c.influencer_id), a.c.id)).all()
    return tuple([tuple(r) for r in rows] for rows in out)


def last_import_per_source(conn) -> list:
    """(platform, source, latest imported_at) of the imports, per platform and source (a platform
    of a ZIP with two is "facebook+instagram")."""
    i = schema.imports
    return conn.execute(sa.select(i.c.platform, i.c.source, sa.func.max(i.c.imported_at))
                        .where(i.c.platform.is_not(None)).group_by(i.c.platform, i.c.source)).all()


def last_failure_per_source(conn) -> list:
    """(platform, source, failed_at, error) of the latest failure per platform and source, of the
    files never imported since (with a mapping, or after a fix of this program: no longer an error
    to show)."""
    i, f = schema.imports, schema.import_failures
    imported_later = sa.exists().where(i.c.sha256 == f.c.sha256)
    last_fail = (sa.select(f.c.platform, f.c.source, sa.func.max(f.c.id).label("id"))
                 .where(~imported_later).group_by(f.c.platform, f.c.source).subquery())
    return conn.execute(sa.select(f.c.platform, f.c.source, f.c.failed_at, f.c.error)
                        .join(last_fail, last_fail.c.id == f.c.id)).all()

"""What the data version and the freshness line's version are read from
(dashboard/analysis/stamps.py): marks that move whenever an import, a roster, an annotation, a
failed attempt or an alert notice changes what the pages show."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema


def imports_mark(conn):
    """(count, largest id, latest imported_at) of the imports."""
    i = schema.imports
    return conn.execute(sa.select(sa.func.count(), sa.func.max(i.c.id), sa.func.max(i.c.imported_at))).one()


def roster_rows(conn) -> tuple[list, list]:
    """The influencers (id, name, category) by id, and the accounts (id, influencer, roster
    followers, handle, name, key, platform) by id."""
    inf, a = schema.influencers, schema.accounts
    people = conn.execute(sa.select(inf.c.id, inf.c.name, inf.c.category).order_by(inf.c.id)).all()
    accounts = conn.execute(sa.select(a.c.id, a.c.influencer_id, a.c.followers, a.c.handle, a.c.name,
                                      a.c.account_key, a.c.platform).order_by(a.c.id)).all()
    return people, accounts


def last_account(conn) -> int | None:
    """The largest account id: a publication's bound on the accounts it knew (rollups.publish)."""
    return conn.execute(sa.select(sa.func.max(schema.accounts.c.id))).scalar()


def annotations_mark(conn):
    """(count, largest id, latest updated_at) of the annotations; None in a database without the table."""
    an = schema.annotations
    return conn.execute(sa.select(sa.func.count(), sa.func.max(an.c.id), sa.func.max(an.c.updated_at))).one() \
        if sa.inspect(conn).has_table("annotations") else None


def failures_mark(conn):
    """(count, largest id) of the failed imports."""
    return conn.execute(sa.select(sa.func.count(), sa.func.max(schema.import_failures.c.id))).one()


def last_notice(conn):
    """The id of the latest alert event whose notice was sent or failed; None without any (or
    without the table)."""
    ev = schema.alert_events
    return conn.execute(sa.select(sa.func.max(ev.c.id)).where(ev.c.status.in_(("sent", "failed")))).scalar() \
        if sa.inspect(conn).has_table("alert_events") else None

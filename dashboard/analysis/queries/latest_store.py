"""``post_latest`` (schema 9) against post_snapshots, for `reach doctor`: how many posts' rows
differ from their latest snapshot, whether the triggers that keep it are there, and making it anew
(``--repair``). The table itself and its triggers are the store's (collectors/store/schema.py)."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.model import METRICS
from collectors.store import schema


def differing(conn) -> int:
    """How many posts' post_latest row is not a copy of their latest snapshot: missing, another
    snapshot's, other values, or a row for a post without snapshots. Two anti-joins the database
    runs on its own (each post's latest row, NOT EXISTS an equal copy; each copy, NOT EXISTS a
    snapshot): no row reaches Python, whatever the size."""
    s, latest = schema.post_snapshots, schema.post_latest
    cols = ["post_pk", "captured_at", "import_id", *METRICS]
    if conn.dialect.name == "sqlite":
        # SQLite gives the other columns of a max() query the values of the row holding the max.
        derived = sa.select(*[sa.func.max(s.c.captured_at).label(c) if c == "captured_at" else s.c[c] for c in cols]) \
            .group_by(s.c.post_pk).subquery("derived")
    else:
        from sqlalchemy.dialects.postgresql import distinct_on

        derived = sa.select(*[s.c[c] for c in cols]).ext(distinct_on(s.c.post_pk)) \
            .order_by(s.c.post_pk, s.c.captured_at.desc()).subquery("derived")
    copy = sa.exists().where(latest.c.post_pk == derived.c.post_pk,
                             *[latest.c[c].is_not_distinct_from(derived.c[c]) for c in cols[1:]])
    wrong = sa.select(sa.func.count()).select_from(derived).where(~copy)
    orphan = sa.select(sa.func.count()).select_from(latest).where(~sa.exists().where(s.c.post_pk == latest.c.post_pk))
    return int(conn.execute(wrong).scalar_one()) + int(conn.execute(orphan).scalar_one())


def triggers_missing(conn) -> list[str]:
    """The triggers on post_snapshots that keep post_latest and are not in the database."""
    names = schema.LATEST_TRIGGER_NAMES[conn.dialect.name]
    if conn.dialect.name == "sqlite":
        q = sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'post_snapshots'")
    else:
        q = sa.text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'post_snapshots'::regclass AND NOT tgisinternal")
    have = set(conn.execute(q).scalars())
    return [n for n in names if n not in have]


def make_anew(conn) -> None:
    """The triggers made again and every row filled from post_snapshots (the caller holds the
    write lock): what schema 9's step does."""
    schema.make_post_latest(conn)

"""The annotations table (``schema.annotations``, dashboard/analysis/annotations.py): stored,
changed, removed and listed."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema


def add(conn, **values) -> int:
    """Store an annotation (its columns as ``values``); returns its id."""
    t = schema.annotations
    r = conn.execute(t.insert().values(**values))
    return int(r.inserted_primary_key[0])


def change(conn, annotation_id: int, **values) -> int:
    """Set these columns of the annotation; returns the rows changed (0: it is not there)."""
    t = schema.annotations
    return conn.execute(t.update().where(t.c.id == annotation_id).values(**values)).rowcount


def remove(conn, annotation_id: int) -> int:
    """Remove the annotation; returns the rows removed (0: it is not there)."""
    t = schema.annotations
    return conn.execute(t.delete().where(t.c.id == annotation_id)).rowcount


def all_by_time(conn) -> list:
    """Every annotation (its columns by name), oldest first; none in a database made before the table."""
    t = schema.annotations
    if not sa.inspect(conn).has_table("annotations"):
        return []
    return conn.execute(sa.select(t).order_by(t.c.at, t.c.id)).mappings().all()

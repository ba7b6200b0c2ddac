"""The alert events (``schema.alert_events``): what the alert rules found and the scheduled reports'
slots (dashboard/alerts.py, dashboard/reports.py, dashboard/schedules.py), each recorded once by
rule and key, with its delivery's outcome and who acknowledged it."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema


def recorded(conn, rule: str, key: str):
    """The event of ``rule`` with ``key`` (its id), None when there is none: what is told once."""
    t = schema.alert_events
    return conn.execute(sa.select(t.c.id).where(t.c.rule == rule, t.c.key == key)).first()


def notice_since(conn, rule: str, since):
    """An event of ``rule`` fired after ``since`` (naive UTC) whose notice went out or is to go
    (pending, sent, failed): the rule's cooldown. None when there is none."""
    t = schema.alert_events
    return conn.execute(sa.select(t.c.id).where(t.c.rule == rule, t.c.fired_at > since,
                                                t.c.status.in_(("pending", "sent", "failed"))).limit(1)).first()


def add(conn, **values) -> int:
    """Record an event (its columns as ``values``); returns its id. The unique rule and key make a
    second record of the same event an IntegrityError."""
    t = schema.alert_events
    r = conn.execute(t.insert().values(**values))
    return int(r.inserted_primary_key[0])


def set_outcome(conn, event_id: int, status: str, deliveries: str) -> None:
    """The event's status after its delivery, and the deliveries (JSON)."""
    t = schema.alert_events
    conn.execute(t.update().where(t.c.id == event_id).values(status=status, deliveries=deliveries))


def newest(conn, limit: int, ids=None) -> list:
    """The newest events first (every column), at most ``limit``, or those of ``ids``; none in a
    database without the table."""
    t = schema.alert_events
    q = sa.select(t).order_by(t.c.fired_at.desc(), t.c.id.desc())
    q = q.where(t.c.id.in_(list(ids))) if ids is not None else q.limit(limit)
    if not sa.inspect(conn).has_table("alert_events"):
        return []
    return list(conn.execute(q))


def pending_ids(conn) -> list[int]:
    """The events whose notice is still to go."""
    t = schema.alert_events
    return conn.execute(sa.select(t.c.id).where(t.c.status == "pending")).scalars().all()


def acknowledge(conn, event_id: int, user: str, at) -> int:
    """Mark the event seen by ``user`` at ``at`` (naive UTC) unless it was; returns the rows changed."""
    t = schema.alert_events
    return conn.execute(t.update().where(t.c.id == event_id, t.c.acknowledged_at.is_(None)).values(
        acknowledged_by=user, acknowledged_at=at)).rowcount


def last_failed(conn, unresolved: bool = False):
    """The newest event whose delivery failed (every column); with ``unresolved``, None when a notice
    went out after it. None without one (or without the table)."""
    t = schema.alert_events
    if not sa.inspect(conn).has_table("alert_events"):
        return None
    r = conn.execute(sa.select(t).where(t.c.status == "failed").order_by(t.c.fired_at.desc(), t.c.id.desc())
                     .limit(1)).first()
    if r is not None and unresolved and conn.execute(sa.select(t.c.id).where(
            t.c.status == "sent", t.c.id > r.id).limit(1)).first() is not None:
        return None
    return r

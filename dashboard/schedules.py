"""When a scheduled report is due: cron expressions in the campaign timezone, each slot sent once.

A report's schedule (``[[reports]]`` ``schedule``, cron: minute hour day-of-month month
day-of-week; Monday 09:00 by default) names **slots**: the moments it should go out. At each tick
the worker asks for the latest slot at or before now (``latest_slot``); if that slot was not sent,
it is sent now, late if the worker was down at the time, and recorded, so it is never sent twice
(the record is an ``alert_events`` row keyed by the slot, unique per report: two workers cannot
both record it). Slots missed while the worker was down are not sent one by one: only the latest,
once (a manager wants this Monday's summary, not three old ones).

A schedule counts from when a worker first saw it (``reach_meta`` ``schedule_seen:<name>``): a
new report does not send the slot that passed before it existed.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from croniter import croniter

from collectors.store import database

from .analysis import queries


def latest_slot(schedule: str, tz: ZoneInfo, now: datetime) -> datetime:
    """The latest moment at or before ``now`` the cron ``schedule`` names, in ``tz`` (aware, UTC).
    Daylight-saving gaps and repeats are croniter's: a 02:30 slot on a day that skips 02:00-03:00
    goes out at 03:00 local."""
    local = now.astimezone(tz)
    it = croniter(schedule, local)
    if croniter.match(schedule, local.replace(second=0, microsecond=0)) and local.second == 0 == local.microsecond:
        return local.astimezone(timezone.utc)
    return it.get_prev(datetime).astimezone(timezone.utc)


def next_slot(schedule: str, tz: ZoneInfo, now: datetime) -> datetime:
    return croniter(schedule, now.astimezone(tz)).get_next(datetime).astimezone(timezone.utc)


def _seen_key(name: str) -> str:
    return f"schedule_seen:{name}"[:64]


def first_seen(eng: sa.Engine, name: str, now: datetime) -> datetime:
    """When a worker first saw the report ``name`` (recorded now if never)."""
    key = _seen_key(name)
    with database.write_transaction(eng) as conn:
        v = queries.meta.value(conn, key)
        if v is None:
            v = now.astimezone(timezone.utc).isoformat()
            queries.meta.put(conn, key, v)
    return datetime.fromisoformat(v)


def due(eng: sa.Engine, name: str, schedule: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The slot of report ``name`` to send at ``now``, or None: the latest slot, when it came after
    the schedule was first seen and no record of it exists (``alert_events``, rule "report:<name>")."""
    slot = latest_slot(schedule, tz, now)
    if slot <= first_seen(eng, name, now):
        return None
    with eng.connect() as conn:
        done = queries.events.recorded(conn, f"report:{name}", slot_key(slot))
    return None if done else slot


def slot_key(slot: datetime) -> str:
    return "slot:" + slot.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def claim(eng: sa.Engine, name: str, slot: datetime, now: datetime) -> int | None:
    """Record that this process sends report ``name``'s ``slot``: the new event's id, or None when
    another worker recorded it first (the unique rule and key): it is then theirs to send."""
    import json

    try:
        with database.write_transaction(eng) as conn:
            return queries.events.add(
                conn, rule=f"report:{name}", key=slot_key(slot), kind="report",
                fired_at=now.astimezone(timezone.utc).replace(tzinfo=None), value=None, threshold=None,
                params=json.dumps(dict(report=name, slot=slot.isoformat(), link="/weekly")), status="pending")
    except sa.exc.IntegrityError:
        return None

"""The store's key-value table (``reach_meta``): the rollup's settings, its pending imports and
generations (dashboard/analysis/rollups.py), a schedule's first sight of a report
(dashboard/schedules.py). The callers own the keys and what the values mean."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema


def value(conn, key: str) -> str | None:
    """The value of ``key``, None when it is not set."""
    m = schema.meta_table
    return conn.execute(sa.select(m.c.value).where(m.c.key == key)).scalar()


def values(conn, keys: list[str]) -> list[str]:
    """The values of those of ``keys`` that are set (in no particular order)."""
    m = schema.meta_table
    return conn.execute(sa.select(m.c.value).where(m.c.key.in_(keys))).scalars().all()


def pairs(conn, keys: list[str]) -> list[tuple[str, str]]:
    """(key, value) of those of ``keys`` that are set."""
    m = schema.meta_table
    return conn.execute(sa.select(m.c.key, m.c.value).where(m.c.key.in_(keys))).all()


def keys_starting(conn, prefix: str) -> list[str]:
    """Every key that starts with ``prefix``."""
    m = schema.meta_table
    return conn.execute(sa.select(m.c.key).where(m.c.key.like(prefix + "%"))).scalars().all()


def remove(conn, key: str) -> None:
    m = schema.meta_table
    conn.execute(m.delete().where(m.c.key == key))


def remove_all(conn, keys: list[str]) -> None:
    m = schema.meta_table
    conn.execute(m.delete().where(m.c.key.in_(keys)))


def put(conn, key: str, value: str) -> None:
    """Add ``key`` (callers remove an old value first, in the same transaction)."""
    conn.execute(schema.meta_table.insert().values(key=key, value=value))


def put_all(conn, rows: list[dict]) -> None:
    """Add several keys at once: rows of ``key`` and ``value``."""
    conn.execute(schema.meta_table.insert(), rows)

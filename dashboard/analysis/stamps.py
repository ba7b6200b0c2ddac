"""What a derived result is of: the data version and this program's code.

Everything the dashboard keeps besides the observations (the shared cache's entries,
dashboard/analysis/shared.py; the flags, account times and weekly reports a rollup refresh stores,
dashboard/analysis/flag_store.py and week_store.py) is kept under these two stamps and used only
while they still match, so nothing is ever invalidated by hand. Both are read from the database
and the source files alone: the same in every process, with or without a web server, so the
command line and every worker of `reach serve --workers N` agree on them.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import sqlalchemy as sa

from collectors.store import schema

_pinned: ContextVar[dict | None] = ContextVar("reach_pinned_version", default=None)
_stamp: str | None = None


@contextmanager
def one_version():
    """Within the block ``version`` reads the database once per engine, and every later call
    gives that answer. A page's view asks for it for each cached piece (the shared cache's keys,
    the stored flags' and account times' stamps): four reads per Live refresh, 50 ms each at 100x
    the demo (8,300 accounts hashed). For code that reads only: a block that imports would keep
    the version from before its own import."""
    token = _pinned.set({})
    try:
        yield
    finally:
        _pinned.reset(token)


def version(eng: sa.Engine) -> str:
    """Changes whenever an import, a roster or a rollup refresh changed what the pages show
    (read once per block of ``one_version``).

    The same in every process (the shared cache, dashboard/analysis/shared.py, keys results by it; Python's
    ``hash`` of a string differs between processes, so a digest is used). Imports are counted and
    dated, since ids alone repeat in a database made anew; the roster's effect (names, categories,
    which account is whose, roster followers) is hashed whole: a roster that moves an account
    from one influencer to another changes no count."""
    pinned = _pinned.get()
    if pinned is None:
        return _version(eng)
    key = str(eng.url)
    if key not in pinned:
        pinned[key] = _version(eng)
    return pinned[key]


def _version(eng: sa.Engine) -> str:
    i = schema.imports
    with eng.connect() as conn:
        imports = conn.execute(sa.select(sa.func.count(), sa.func.max(i.c.id), sa.func.max(i.c.imported_at))).one()
        people, accounts = roster(conn)
        state = conn.execute(sa.select(schema.meta_table.c.value).where(schema.meta_table.c.key == "rollup_state")).scalar()
        # Annotations are drawn on the charts and listed in the summary: an edit is new data too.
        an = schema.annotations
        notes = conn.execute(sa.select(sa.func.count(), sa.func.max(an.c.id), sa.func.max(an.c.updated_at))).one() \
            if sa.inspect(conn).has_table("annotations") else None
    digest = hashlib.sha256(repr((imports[2], people, accounts, state, notes and tuple(notes))).encode()).hexdigest()[:16]
    return f"{imports[0]}:{imports[1]}:{digest}"


def roster(conn) -> tuple[list, list]:
    """What the roster decides of what pages show, as rows: the influencers (id, name, category)
    and the accounts (id, influencer, roster followers, handle, name, key, platform)."""
    inf, a = schema.influencers, schema.accounts
    people = conn.execute(sa.select(inf.c.id, inf.c.name, inf.c.category).order_by(inf.c.id)).all()
    accounts = conn.execute(sa.select(a.c.id, a.c.influencer_id, a.c.followers, a.c.handle, a.c.name,
                                      a.c.account_key, a.c.platform).order_by(a.c.id)).all()
    return [tuple(r) for r in people], [tuple(r) for r in accounts]


def live_version(eng: sa.Engine) -> str:
    """``version`` plus the latest failed attempt: what the Live page's refresh compares, so a
    collector's new error reaches the freshness line without waiting for the next import (the
    cache keeps keying by ``version``: an error changes no computed result)."""
    with eng.connect() as conn:
        failures = conn.execute(sa.select(sa.func.count(), sa.func.max(schema.import_failures.c.id))).one()
        # An alert notice's delivery, failed or done, changes the freshness line's alert line too.
        ev = schema.alert_events
        told = conn.execute(sa.select(sa.func.max(ev.c.id)).where(ev.c.status.in_(("sent", "failed")))).scalar() \
            if sa.inspect(conn).has_table("alert_events") else None
    return f"{version(eng)}:{failures[0]}:{failures[1]}:{told}"


def code_stamp() -> str:
    """A digest of this program's source (and pandas' version, which pickles depend on): a result
    computed by other code is never served, even when the data did not change."""
    global _stamp
    if _stamp is None:
        import pandas

        _stamp = source_digest(Path(__file__).resolve().parents[2], pandas.__version__)
    return _stamp


def source_digest(root: Path, salt: str = "") -> str:
    """The digest of the source under ``root``: the modules, the catalogs (TOML: the words and the
    header names, once in the modules) and the templates the weekly report is rendered from (a
    cached report holds its HTML, so a changed template or string must miss too)."""
    h = hashlib.sha256(salt.encode())
    files = [f for pkg in ("collectors", "dashboard") for ext in ("*.py", "*.toml") for f in (root / pkg).rglob(ext)]
    files += [f for f in (root / "dashboard" / "text" / "templates").glob("*") if f.is_file()]
    for f in sorted(files):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]

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

from . import queries

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
    """Changes whenever an import, a roster, the rollup's settings or a finished rollup refresh
    changed what the pages show (read once per block of ``one_version``). In a page's request (a
    read as it stands), an import and its refresh change it once, when the refresh publishes.

    The same in every process (the shared cache, dashboard/analysis/shared.py, keys results by it; Python's
    ``hash`` of a string differs between processes, so a digest is used). Imports are counted and
    dated, since ids alone repeat in a database made anew; the roster's effect (names, categories,
    which account is whose, roster followers) is hashed whole: a roster that moves an account
    from one influencer to another changes no count."""
    return _pinned_or_read(eng)[0]


def exact_version(eng: sa.Engine) -> str:
    """``version`` of the data now in the database, also in a page's request: what stored flags,
    account times and reports are stamped with (flag_store.stamp), which pages compare with it."""
    return _pinned_or_read(eng)[1]


def scoped_version(eng: sa.Engine, account_pks) -> str:
    """``version`` for a result about these accounts alone (one influencer's posts and flags): it
    moves with the roster's influencers and these accounts' rows, the settings and the
    annotations, and with the generations that covered one of these accounts, not with every
    import. A page keeps it across the imports of
    other accounts (a file every few seconds, each of a few accounts: issue 15's load test). Only
    in a page's request (a read as it stands: what it keys by is published, rollups.shown); the
    command line and the workers, which read exact with imports perhaps not yet refreshed, get
    ``version``."""
    from . import rollups

    shown, _, base, generation = _pinned_or_read(eng)
    if rollups._reading.get() != rollups.AS_IT_STANDS or generation is None:
        return shown
    pinned = _pinned.get()
    key = ("scoped", str(eng.url), generation, tuple(sorted(account_pks)))
    if pinned is not None and key in pinned:
        return pinned[key]
    with eng.connect() as conn:
        last = rollups.last_change(conn, account_pks, generation)
    if last is None:
        found = shown
    else:
        # The roster's influencers whole (names and categories), but of its accounts only these:
        # another account's row (a new handle's file adds one) says nothing about them, while
        # one of theirs moved to or from another influencer changes this list.
        people, accounts, state, notes = base
        wanted = set(account_pks)
        mine = [a for a in accounts if a[0] in wanted]
        found = f"scoped:{last}:{hashlib.sha256(repr((people, mine, state, notes, last)).encode()).hexdigest()[:16]}"
    if pinned is not None:
        pinned[key] = found  # read once per view, as ``version``
    return found


def _pinned_or_read(eng: sa.Engine) -> tuple[str, str, tuple, int | None]:
    pinned = _pinned.get()
    if pinned is None:
        return _versions(eng)
    key = str(eng.url)
    if key not in pinned:
        pinned[key] = _versions(eng)
    return pinned[key]


def _versions(eng: sa.Engine) -> tuple[str, str, tuple, int | None]:
    """(``version``, ``exact_version``, what every version holds besides imports and generations
    as ``version`` sees it: the roster's influencers and accounts, the rollup's settings and the
    annotations, the generation ``version`` is of), from one read of the database (the roster,
    hashed for all of them, is the costly part)."""
    from . import rollups

    with eng.connect() as conn:
        # A page reading as it stands keys by the last published generation and the imports it
        # covered (rollups.shown): an import and its refresh then move the version once, when the
        # refresh's first view is stored, not at each of their commits (issue 15). Else (the command
        # line, the workers, a page when nothing is on its way) by the data now.
        published = rollups.shown(conn)[0]
        imports = rollups._page_imports_mark(conn)
        # The rollup's generation (rollups.GENERATION_KEY): every finished refresh moves it.
        generation = queries.meta.value(conn, "rollup_generation")
        people, accounts = roster(conn)
        state = queries.meta.value(conn, "rollup_state")
        # Annotations are drawn on the charts and listed in the summary: an edit is new data too.
        notes = queries.versions.annotations_mark(conn)

    def one(imports, generation, accounts) -> str:
        rest = (people, accounts, state, generation, notes and tuple(notes))
        return f"{imports[0]}:{imports[1]}:{hashlib.sha256(repr((imports[2], *rest)).encode()).hexdigest()[:16]}"

    def base(accounts) -> tuple:
        return people, accounts, state, notes and tuple(notes)

    exact = one(imports, generation, accounts)
    if published is None:
        return exact, exact, base(accounts), int(generation) if generation else None
    # As published: the accounts an import added since (a new handle's file) wait for the refresh
    # that publishes them, as their rows do; else every such file moved every page's key, and every
    # panel's (issue 15's load test: a new account per file, the cache missed at each). An edit of
    # an account the publication knew moves the version at once.
    if published.get("accounts") is not None:
        accounts = [a for a in accounts if a[0] <= published["accounts"]]
    return (one(published["imports"], str(published["generation"]), accounts), exact, base(accounts),
            published["generation"])


def roster(conn) -> tuple[list, list]:
    """What the roster decides of what pages show, as rows: the influencers (id, name, category)
    and the accounts (id, influencer, roster followers, handle, name, key, platform)."""
    people, accounts = queries.versions.roster_rows(conn)
    return [tuple(r) for r in people], [tuple(r) for r in accounts]


def live_version(eng: sa.Engine) -> str:
    """``version`` plus the latest failed attempt: what the Live page's refresh compares, so a
    collector's new error reaches the freshness line without waiting for the next import (the
    cache keeps keying by ``version``: an error changes no computed result)."""
    with eng.connect() as conn:
        failures = queries.versions.failures_mark(conn)
        # An alert notice's delivery, failed or done, changes the freshness line's alert line too.
        told = queries.versions.last_notice(conn)
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

"""post_latest (schema 9): each post's latest lifetime snapshot, kept by triggers on post_snapshots.

After every kind of write (imports in order, an older file after a newer one, a file of the same
capture time with other values and blanks, a re-import, an import killed inside its transaction,
the migration of a schema 8 database, a row deleted or moved by hand) the table must equal the
latest snapshot per post read from post_snapshots in Python, and `reach doctor` must say when it
does not and make it anew with --repair.
"""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import datetime, timezone

import sqlalchemy as sa

from collectors.archive import Archive
from collectors.model import METRICS
from collectors.pipeline import Importer
from collectors.store import database, schema
from test_crash import ROOT, _env, _killed
from test_store import CONTENT_HEADER

NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"
T1, T2, T3 = datetime(2024, 12, 20, 8), datetime(2024, 12, 21, 8), datetime(2024, 12, 22, 8)
COLS = ["post_pk", "captured_at", "import_id", *METRICS]


def x_file(rows) -> bytes:
    """An X content export: (post id, impressions, likes) per post; None leaves a cell empty."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CONTENT_HEADER)
    for pid, imp, likes in rows:
        w.writerow([pid, "Sun, Dec 22, 2024", f"Post {pid}", f"https://x.com/jinhub/status/{pid}",
                    imp, likes, None if likes is None else likes + 3, 1, 0, 0, 2, 1, 4, 5, 6, 0, 0])
    return buf.getvalue().encode()


def _import(eng, rows, at, archive=None):
    return Importer(eng, archive, as_of=at.replace(tzinfo=timezone.utc)).import_bytes(NAME, x_file(rows))


def derived(conn) -> dict:
    """Each post's snapshot with the largest captured_at, read the plain way."""
    out = {}
    for r in conn.execute(sa.select(*[schema.post_snapshots.c[c] for c in COLS])).all():
        if r.post_pk not in out or r.captured_at > out[r.post_pk][1]:
            out[r.post_pk] = tuple(r)
    return out


def stored(conn) -> dict:
    return {r.post_pk: tuple(r) for r in conn.execute(sa.select(*[schema.post_latest.c[c] for c in COLS])).all()}


def latest_of(eng) -> dict:
    """post_id -> (captured_at, impressions, likes) of post_latest, after checking it equals ``derived``."""
    with eng.connect() as c:
        have, want = stored(c), derived(c)
        assert have == want
        ids = dict(c.execute(sa.select(schema.posts.c.id, schema.posts.c.post_id)).all())
    at, imp, likes = 1, 3 + METRICS.index("impressions"), 3 + METRICS.index("likes")
    return {ids[pk]: (r[at], r[imp], r[likes]) for pk, r in have.items()}


def test_post_latest_follows_imports_in_any_order_and_what_post_snapshots_keeps(db_url):
    eng = database.connect(db_url)
    _import(eng, [("1", 100, 10), ("2", 200, 20)], T1)
    assert latest_of(eng) == {"1": (T1, 100, 10), "2": (T1, 200, 20)}
    _import(eng, [("1", 300, 30), ("3", 50, 5)], T3)
    assert latest_of(eng) == {"1": (T3, 300, 30), "2": (T1, 200, 20), "3": (T3, 50, 5)}
    # An older file imported after a newer one: post 1 keeps its newer snapshot, post 2 moves on.
    _import(eng, [("1", 150, 15), ("2", 250, 25)], T2)
    assert latest_of(eng) == {"1": (T3, 300, 30), "2": (T2, 250, 25), "3": (T3, 50, 5)}
    # The same capture time again with other values and blank cells: post_snapshots overwrites what
    # the file has and keeps what it lacks, and so does post_latest.
    _import(eng, [("1", None, 31), ("3", 60, None)], T3)
    assert latest_of(eng) == {"1": (T3, 300, 31), "2": (T2, 250, 25), "3": (T3, 60, 5)}
    # A file imported twice: the second is skipped, nothing changes.
    before = latest_of(eng)
    res = _import(eng, [("1", None, 31), ("3", 60, None)], T3)
    assert res.status == "already imported", res
    assert latest_of(eng) == before
    eng.dispose()


def test_deleting_or_moving_the_latest_snapshot_finds_the_one_before(db_url):
    eng = database.connect(db_url)
    _import(eng, [("1", 100, 10), ("2", 200, 20)], T1)
    _import(eng, [("1", 300, 30)], T3)
    s = schema.post_snapshots
    with eng.begin() as c:
        c.execute(s.delete().where(s.c.captured_at == T3))
    assert latest_of(eng) == {"1": (T1, 100, 10), "2": (T1, 200, 20)}
    with eng.begin() as c:  # post 2's only snapshot moved later: still its latest, at the new time
        c.execute(s.update().where(s.c.captured_at == T1, s.c.impressions == 200).values(captured_at=T2))
        c.execute(s.delete().where(s.c.impressions == 100))
    assert latest_of(eng) == {"2": (T2, 200, 20)}
    eng.dispose()


def test_an_import_killed_inside_its_transaction_leaves_post_latest_as_it_was(db_url, tmp_path):
    eng = database.connect(db_url)
    arch = tmp_path / "archive"
    _import(eng, [("1", 100, 10), ("2", 200, 20)], T1, Archive(arch))
    before = latest_of(eng)
    f = tmp_path / NAME
    f.write_bytes(x_file([("1", 900, 90), ("3", 50, 5)]))
    # "write": every row written inside the import's transaction, the commit not yet made.
    p = subprocess.run([sys.executable, "-m", "dashboard.cli", "import", str(f), "--as-of", T3.isoformat() + "+00:00",
                        "--db", db_url, "--archive", str(arch)], cwd=ROOT, capture_output=True, text=True,
                       env=_env(REACH_CRASH_AT="write"), timeout=120)
    _killed(p)
    assert latest_of(eng) == before
    eng.dispose()


def _as_schema_8(eng):
    """What schema 8 had: no post_latest, no triggers (the step's own DDL, undone)."""
    with eng.begin() as c:
        for name in schema.LATEST_TRIGGER_NAMES[eng.dialect.name]:
            c.exec_driver_sql(f"DROP TRIGGER {name}" + (" ON post_snapshots" if eng.dialect.name == "postgresql" else ""))
        c.exec_driver_sql("DROP TABLE post_latest")
        c.execute(schema.meta_table.update().where(schema.meta_table.c.key == "schema_version").values(value="8"))


def test_a_schema_8_database_gets_post_latest_filled_and_kept(db_url):
    eng = database.connect(db_url)
    _as_schema_8(eng)
    # Snapshots written by schema 8's code: nothing keeps a latest table.
    _import(eng, [("1", 100, 10), ("2", 200, 20)], T1)
    _import(eng, [("1", 300, 30)], T3)
    _import(eng, [("1", 150, 15), ("2", None, 25)], T2)
    with eng.connect() as c:
        assert not sa.inspect(c).has_table("post_latest")
    assert database.migrate(eng) == 8
    assert latest_of(eng) == {"1": (T3, 300, 30), "2": (T2, None, 25)}  # a new key: nothing to keep
    _import(eng, [("2", 400, 40)], T3)  # and kept from then on
    assert latest_of(eng)["2"] == (T3, 400, 40)
    eng.dispose()


def test_doctor_counts_the_posts_whose_latest_row_differs_and_repair_makes_it_anew(db_url):
    from dashboard import doctor
    from dashboard.analysis import queries

    eng = database.connect(db_url)
    _import(eng, [("1", 100, 10), ("2", 200, 20), ("3", 300, 30)], T1)
    _import(eng, [("1", 110, 11), ("2", 210, 21)], T2)
    said: list[str] = []
    assert doctor._latest_checks(eng, False, said.append) == 0
    assert said == ["ok      post_latest holds each post's latest snapshot"]
    L = schema.post_latest
    with eng.begin() as c:  # three posts wrong three ways, and the triggers gone
        for name in schema.LATEST_TRIGGER_NAMES[eng.dialect.name]:
            c.exec_driver_sql(f"DROP TRIGGER {name}" + (" ON post_snapshots" if eng.dialect.name == "postgresql" else ""))
        ids = dict(c.execute(sa.select(schema.posts.c.post_id, schema.posts.c.id)).all())
        c.execute(L.update().where(L.c.post_pk == ids["1"]).values(likes=None))  # a value lost
        c.execute(L.delete().where(L.c.post_pk == ids["2"]))  # a row missing
        c.execute(L.update().where(L.c.post_pk == ids["3"]).values(captured_at=T3))  # another time
    with eng.connect() as c:
        assert queries.latest_store.differing(c) == 3
    said.clear()
    assert doctor._latest_checks(eng, False, said.append) == 1
    assert said[0].startswith("problem post_latest differs from the latest snapshot of 3 posts; the trigger")
    said.clear()
    assert doctor._latest_checks(eng, True, said.append) == 0
    assert said[0].startswith("fixed   post_latest differs from the latest snapshot of 3 posts")
    assert latest_of(eng) == {"1": (T2, 110, 11), "2": (T2, 210, 21), "3": (T1, 300, 30)}
    _import(eng, [("3", 320, 32)], T3)  # the triggers are back
    assert latest_of(eng)["3"] == (T3, 320, 32)
    eng.dispose()

"""Concurrent writers: `reach import`, `reach watch` and a dashboard upload at the same moment.

Real OS processes (forked, released together by a barrier so their writes overlap) import
overlapping sets of files into one SQLite file and one PostgreSQL schema: the same files in the
same and in the opposite order (the sha256 race), different files of the same accounts and posts
(the new-account and new-post races), each followed by its rollup refresh (the delete + insert
race). The result must be exactly what one process importing the files one after another makes.
"""
from __future__ import annotations

import base64
import multiprocessing as mp
import os
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from collectors.store import database, schema

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork")


def _write_files(folder: Path) -> list[Path]:
    """Exports of five demo accounts on three days: later files repeat the earlier files' posts
    with higher totals; the Meta file holds two pages. Every file names its accounts itself."""
    from collectors.demo import campaign as demo

    cast = {(a.platform, a.handle): a for a in demo.build_campaign(2024)}
    folder.mkdir(parents=True)
    files = []
    for k in range(3):
        t = datetime(2024, 12, 21, 22, 0, tzinfo=demo.TZ) + timedelta(days=k)
        for h in ("JinHubOffice", "YiwuTradeWin"):
            files.append((f"account_analytics_content_{demo.START}_{t.date()}_{h}.csv",
                          demo.write_x_content(cast[("x", h)], t)))
        for h in ("beltroadbytes", "mayalindqvarn"):
            files.append((f"Video Posts {h} {t:%Y%m%d}.csv", demo.write_tiktok_posts(cast[("tiktok", h)], t)))
        pages = [cast[("facebook", "jinhubcampaign")], cast[("facebook", "yiwutradewindow")]]
        files.append((f"{demo._meta_range(t)}_1000123456789.csv", demo.write_meta_posts(pages, t)))
    out = []
    for name, data in files:
        (folder / name).write_bytes(data)
        out.append(folder / name)
    return out


def _run(argv, log, barrier):
    """A forked worker: wait for the others, then run one `reach` command, output to ``log``."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    code = 99
    try:
        from dashboard.cli import main

        barrier.wait(timeout=60)
        code = main(argv)
    except BaseException:  # noqa: BLE001 - anything escaping is a failure the parent reports
        import traceback

        traceback.print_exc()
        code = 98
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _upload(url, archive, files, log, barrier):
    """A forked worker doing what the Data page does with an upload (same functions)."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    code = 99
    try:
        from collectors.archive import Archive
        from dashboard import ingest
        from dashboard.analysis import config
        from dashboard.web.pages import data as page

        names = [f.name for f in files]
        contents = ["data:text/csv;base64," + base64.b64encode(f.read_bytes()).decode() for f in files]
        barrier.wait(timeout=60)
        engine = database.connect(url)  # with the others: five processes open a new database at once
        results = page.import_uploads(engine, Archive(archive), names, contents)
        problem = ingest.refresh(engine, config.load(), results)
        for r in results:
            print(r.line())
        code = 0 if all(r.ok for r in results) and problem is None else 1
        if problem:
            print("rollups:", problem)
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        code = 98
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _snapshot_of(url) -> dict:
    """What the database holds, independent of primary keys and of import order."""
    from dashboard.analysis import exports

    engine = database.connect(url)
    with engine.connect() as c:
        counts = {t.name: c.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                  for t in (schema.imports, schema.accounts, schema.posts, schema.post_snapshots, schema.post_days,
                            schema.account_days, schema.import_failures)}
        shas = c.execute(sa.select(schema.imports.c.sha256)).scalars().all()
        r, a = schema.daily_rollup, schema.accounts
        rollup = sorted(tuple(None if v is None else (round(v, 6) if isinstance(v, float) else str(v)) for v in row)
                        for row in c.execute(sa.select(a.c.platform, a.c.account_key, r.c.day, r.c.views, r.c.likes,
                                                       r.c.impressions, r.c.posts_active)
                                             .join(a, a.c.id == r.c.account_pk)).all())
    posts_csv = exports.to_csv_bytes(exports.posts_frame(engine))
    engine.dispose()
    return dict(counts=counts, shas=shas, rollup=rollup, posts_csv=posts_csv)


@pytest.fixture(scope="module")
def exports_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("concurrent-exports")


@pytest.fixture(scope="module")
def files(exports_dir):
    return _write_files(exports_dir / "files")


@pytest.fixture(scope="module")
def sequential(files, exports_dir):
    """The files imported one after another by one process into a fresh SQLite database."""
    from dashboard.cli import main

    db = exports_dir / "sequential.db"
    assert main(["import", "--db", str(db), "--archive", str(exports_dir / "seq-archive"), *map(str, files)]) == 0
    return _snapshot_of(f"sqlite:///{db}")


def test_concurrent_imports_watch_and_upload_equal_one_sequential_import(db_url, files, sequential, tmp_path):
    archive = tmp_path / "archive"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for f in files[::2]:  # a watcher's inbox with every other file: the same bytes as the importers'
        shutil.copy(f, inbox / f.name)
    common = ["--db", db_url, "--archive", str(archive)]
    jobs = [
        (_run, (["import", *common, *map(str, files)],)),  # all, in order
        (_run, (["import", *common, *map(str, files[::-1])],)),  # all, the other way round
        (_run, (["import", *common, *map(str, files[1::2])],)),  # the files the watcher does not have
        (_run, (["watch", str(inbox), "--once", "--settle", "0", *common],)),
        (_upload, (db_url, str(archive), files[len(files) // 2:])),
    ]
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(jobs))
    procs, logs = [], []
    for i, (target, args) in enumerate(jobs):
        logs.append(tmp_path / f"worker{i}.log")
        if target is _run:
            args = (args[0], str(logs[-1]), barrier)
        else:
            args = (*args, str(logs[-1]), barrier)
        p = ctx.Process(target=target, args=args)
        p.start()
        procs.append(p)
    for p in procs:
        p.join(timeout=120)
    outputs = [log.read_text() for log in logs]
    for p, out in zip(procs, outputs):
        assert p.exitcode == 0, out
        assert "locked" not in out.lower() and "Traceback" not in out, out
        assert "warning" not in out and "rollups:" not in out, out  # every rollup refresh succeeded
    # Every file was handled by every process that had it: imported by exactly one of them,
    # "already imported" for the others.
    assert all("FAILED" not in out for out in outputs)
    assert sorted(os.listdir(inbox / "processed")) == sorted(f.name for f in files[::2])

    got = _snapshot_of(db_url)
    assert got["counts"]["imports"] == len(files) == len(set(got["shas"]))
    assert set(got["shas"]) == set(sequential["shas"])
    assert got["counts"] == sequential["counts"]
    assert got["counts"]["import_failures"] == 0
    assert got["rollup"] == sequential["rollup"]  # no refresh stored totals older than the data
    assert got["posts_csv"] == sequential["posts_csv"]


def test_the_same_bytes_imported_by_another_process_meanwhile_are_already_imported(db_url, files):
    """Between an import's first sha256 check and its write, another process imports the same
    file: the second write must find it (under the write lock) and say "already imported"; it used
    to hit the unique sha256 with an IntegrityError traceback."""
    from collectors.pipeline import Importer

    engine = database.connect(db_url)
    data = files[0].read_bytes()
    first, other = Importer(engine, None), Importer(engine, None)
    parse = first._parse
    meanwhile = []

    def parse_while_another_imports(*args):
        meanwhile.append(other.import_bytes(files[0].name, data))
        return parse(*args)

    first._parse = parse_while_another_imports
    r = first.import_bytes(files[0].name, data)
    assert meanwhile[0].status == "imported"
    assert r.status == "already imported" and r.ok and r.import_id == meanwhile[0].import_id
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(schema.imports)).scalar() == 1
        assert c.execute(sa.select(sa.func.count()).select_from(schema.import_failures)).scalar() == 0
    engine.dispose()


def test_a_rollup_refresh_that_raced_an_import_stores_the_new_totals(db_url, files):
    """A refresh computes its rows, another process imports a later file of the same account and
    refreshes, then the first one writes: it must not put back the older totals."""
    from collectors.pipeline import Importer
    from dashboard.analysis import config, rollups

    campaign = config.load()
    engine = database.connect(db_url)
    x = [f for f in files if "JinHubOffice" in f.name]
    r1 = Importer(engine, None).import_bytes(x[0].name, x[0].read_bytes())
    accounts = rollups.accounts_of_imports(engine, [r1.import_id])
    compute = rollups._parts  # the pieces the refresh computes (outside the lock)
    raced = []

    def compute_then_another_import(*args):
        yield from compute(*args)
        if not raced:  # only the first computation races
            r2 = Importer(engine, None).import_bytes(x[1].name, x[1].read_bytes())
            raced.append(r2)
            rollups.refresh(engine, campaign, rollups.accounts_of_imports(engine, [r2.import_id]))

    rollups._parts = compute_then_another_import
    try:
        rollups.refresh(engine, campaign, accounts)
    finally:
        rollups._parts = compute
    assert raced and raced[0].status == "imported"
    got = rollups.query(engine, campaign, by=["day"], refresh_if_stale=False)
    rollups.refresh(engine, campaign)  # everything recomputed from the data
    want = rollups.query(engine, campaign, by=["day"], refresh_if_stale=False)
    assert got["impressions"].sum() > 0
    assert got[["day", "impressions", "likes"]].equals(want[["day", "impressions", "likes"]])
    engine.dispose()


def test_an_import_waits_for_a_write_longer_than_the_busy_timeout(tmp_path, files, monkeypatch):
    """A long write holds the SQLite write lock longer than the busy timeout: another import waits
    for its turn (database.write_transaction) instead of failing with "database is locked"."""
    import threading
    import time

    from collectors.pipeline import Importer

    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    url = f"sqlite:///{tmp_path / 'reach.db'}"
    engine = database.connect(url)
    data = files[0].read_bytes()
    results = []
    with database.write_transaction(engine) as held:
        held.execute(schema.meta_table.insert().values(key="holding", value="the write lock"))
        importer = Importer(engine, None)
        worker = threading.Thread(target=lambda: results.append(importer.import_bytes(files[0].name, data)))
        worker.start()
        time.sleep(1.5)  # seven busy timeouts
        assert worker.is_alive() and not results
    worker.join(timeout=60)
    assert results[0].status == "imported", results[0].message
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(schema.imports)).scalar() == 1
    engine.dispose()

"""Crash consistency: a `reach import` or `reach watch --once` killed at each named point of the
ingest sequence (collectors/crash.py: REACH_CRASH_AT), then run again, ends exactly where a run
that was never killed ends: the same database, the same archive and manifest, the same database
after `reach rebuild`, and rollup totals equal to the metrics engine's.

Each crash is a real process killing itself with SIGKILL (or SIGINT, Ctrl-C) at the point; the
database already holds an import with computed rollups, as in the field. Both SQLite and the real
PostgreSQL (tests/conftest.py db_url).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from collectors import crash
from collectors.archive import Archive
from collectors.store import database, schema
from dashboard import cli  # imported here, not in a test: Progress binds sys.stderr when the module loads

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

IMPORT_POINTS = ["read", "parse", "write", "commit", "manifest", "refresh"]
WATCH_POINTS = ["read", "parse", "commit", "manifest", "move", "refresh"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """``first``: two accounts' exports, imported before the crash (so rollups exist); ``second``:
    a later X export of the same posts with higher totals, the file the crash hits."""
    from collectors.demo import campaign as demo

    folder = tmp_path_factory.mktemp("crash-exports")
    cast = {(a.platform, a.handle): a for a in demo.build_campaign(2024)}
    t0 = datetime(2024, 12, 21, 22, 0, tzinfo=demo.TZ)
    out = {}
    for key, name, data in [
        ("first", f"account_analytics_content_{demo.START}_{t0.date()}_JinHubOffice.csv",
         demo.write_x_content(cast[("x", "JinHubOffice")], t0)),
        ("first_tiktok", f"Video Posts beltroadbytes {t0:%Y%m%d}.csv",
         demo.write_tiktok_posts(cast[("tiktok", "beltroadbytes")], t0)),
        ("second", f"account_analytics_content_{demo.START}_{(t0 + timedelta(days=2)).date()}_JinHubOffice.csv",
         demo.write_x_content(cast[("x", "JinHubOffice")], t0 + timedelta(days=2))),
    ]:
        (folder / name).write_bytes(data)
        out[key] = folder / name
    return out


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACH_")}
    env.update(REACH_CONFIG=str(ROOT / "campaign.toml"), PYTHONPATH=str(ROOT), **extra)
    return env


def _reach(*argv, crash_at: str | None = None, sig: str | None = None) -> subprocess.CompletedProcess:
    extra = {}
    if crash_at:
        extra["REACH_CRASH_AT"] = crash_at
    if sig:
        extra["REACH_CRASH_SIGNAL"] = sig
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *map(str, argv)], cwd=ROOT, env=_env(**extra),
                          capture_output=True, text=True, timeout=300)


def _main(*argv) -> int:
    return cli.main([str(a) for a in argv])


@pytest.fixture(autouse=True)
def _config(monkeypatch):
    for k in list(os.environ):
        if k.startswith("REACH_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("REACH_CONFIG", str(ROOT / "campaign.toml"))


# --- what a run leaves ----------------------------------------------------------------------

_SKIP = {"id", "imported_at", "created_at", "failed_at", "updated_at"}


def _norm(v):
    if v is None:
        return None
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, (int, str, bool)):
        return v
    return str(v)


def dump(url: str) -> dict:
    """Every table's rows, with primary keys replaced by what they stand for (a post's platform
    and id, an import's sha256), so two databases filled in different ways compare equal."""
    engine = database.connect(url)
    with engine.connect() as c:
        imp = dict(c.execute(sa.select(schema.imports.c.id, schema.imports.c.sha256)).all())
        acc = {r[0]: (r[1], r[2]) for r in c.execute(sa.select(schema.accounts.c.id, schema.accounts.c.platform,
                                                                   schema.accounts.c.account_key))}
        post = {r[0]: (r[1], r[2]) for r in c.execute(sa.select(schema.posts.c.id, schema.posts.c.platform,
                                                                schema.posts.c.post_id))}
        inf = dict(c.execute(sa.select(schema.influencers.c.id, schema.influencers.c.name)).all())
        ref = dict(import_id=imp, first_import_id=imp, account_pk=acc, post_pk=post, influencer_id=inf)
        out = {}
        for t in schema.metadata.sorted_tables:
            rows = []
            for r in c.execute(sa.select(t)).mappings():
                if t.name == "reach_meta" and r["key"].startswith(("rollup_generation", "rollup_changed:",
                                                                   "rollup_published")):
                    continue  # how many refreshes ran and which the pages show, when: history, not data
                rows.append(tuple(sorted((k, _norm(ref[k].get(v)) if k in ref and v is not None else _norm(v))
                                         for k, v in r.items() if k not in _SKIP)))
            out[t.name] = sorted(rows, key=repr)
    engine.dispose()
    return out


def archive_state(root: Path) -> dict:
    """The archived files (name -> sha256 of the bytes) and the manifest, times left out."""
    a = Archive(root)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in root.glob("??/*") if not p.name.startswith(".")}
    return dict(files={k: v for k, v in files.items() if k == v},
                manifest=[(e.sha256, e.name, json.dumps(e.options, sort_keys=True)) for e in a.entries()])


def totals(url: str) -> tuple:
    """Live/Platforms totals from the rollups (as the pages ask), and the engine's own."""
    from dashboard.analysis import config, metrics, queries, rollups

    engine = database.connect(url)
    campaign = config.load()
    f = queries.frames.load_frames(engine)
    inc = metrics.increments(f.snapshots, f.post_days, campaign)
    engine_sum = metrics.aggregate(inc, f.posts, campaign, by=["platform"])
    page = rollups.query(engine, campaign, by=("platform",))
    engine.dispose()
    cols = ["impressions", "views", "likes", "engagements"]

    def t(df):
        return sorted((r["platform"], *[round(float(r[c]), 3) if r[c] == r[c] else None for c in cols])
                      for _, r in df.iterrows())
    return t(page), t(engine_sum)


def _reset(url: str) -> None:
    engine = database.connect(url)
    database.drop_all(engine)
    database.migrate(engine)
    engine.dispose()


_CLEAN: dict = {}


def clean_run(url: str, tmp: Path, files, mode: str) -> dict:
    """What a run that was never killed leaves (once per database kind and mode)."""
    key = (url.split(":")[0], mode)
    if key not in _CLEAN:
        arch = tmp / "clean-archive"
        _reset(url)
        assert _main("import", files["first"], files["first_tiktok"], "--db", url, "--archive", arch) == 0
        if mode == "import":
            assert _main("import", files["second"], "--db", url, "--archive", arch) == 0
        else:
            inbox = tmp / "clean-inbox"
            inbox.mkdir()
            (inbox / files["second"].name).write_bytes(files["second"].read_bytes())
            assert _main("watch", inbox, "--once", "--settle", "0", "--db", url, "--archive", arch) == 0
        _CLEAN[key] = dict(db=dump(url), archive=archive_state(arch), totals=totals(url))
        _reset(url)
    return _CLEAN[key]


def _check_like_clean(url: str, arch: Path, clean: dict) -> None:
    assert archive_state(arch) == clean["archive"]
    assert dump(url) == clean["db"]
    page, engine = totals(url)
    assert page == engine == clean["totals"][1]
    assert _main("doctor", "--db", url, "--archive", arch) == 0
    assert _main("rebuild", "--db", url, "--archive", arch) == 0
    assert dump(url) == clean["db"]
    assert archive_state(arch) == clean["archive"]


# Killed at these points, a process has not yet touched the database (the file read and parsed
# only), or has committed and is writing the archive's manifest or moving the file, where the
# database is only read again by the restart: SQLite's case says all there is to say, and
# PostgreSQL's added ~25 s to the suite. The kills inside a transaction (write, commit, refresh)
# run on both.
SAME_ON_BOTH = ("read", "parse", "manifest", "move")


def _skip_if_same_on_both(db_url: str, point: str) -> None:
    if point in SAME_ON_BOTH and db_url.startswith("postgresql"):
        pytest.skip(f"killed at {point!r}, outside the database's transactions: the SQLite case covers it")


def _killed(p: subprocess.CompletedProcess, sig=signal.SIGKILL) -> None:
    # The process must have died at the point (not finished, not failed otherwise).
    assert p.returncode in (-sig, 128 + sig, 130 if sig == signal.SIGINT else -sig), (p.returncode, p.stdout, p.stderr)


@pytest.mark.parametrize("point", IMPORT_POINTS)
def test_reach_import_killed_at_each_point_then_run_again_equals_a_clean_run(db_url, tmp_path, files, point):
    _skip_if_same_on_both(db_url, point)
    clean = clean_run(db_url, tmp_path, files, "import")
    arch = tmp_path / "archive"
    assert _main("import", files["first"], files["first_tiktok"], "--db", db_url, "--archive", arch) == 0
    _killed(_reach("import", files["second"], "--db", db_url, "--archive", arch, crash_at=point))
    assert _main("import", files["second"], "--db", db_url, "--archive", arch) == 0  # the restart
    _check_like_clean(db_url, arch, clean)


@pytest.mark.parametrize("point", WATCH_POINTS)
def test_reach_watch_killed_at_each_point_then_run_again_equals_a_clean_run(db_url, tmp_path, files, point, capsys):
    _skip_if_same_on_both(db_url, point)
    clean = clean_run(db_url, tmp_path, files, "watch")
    arch, inbox = tmp_path / "archive", tmp_path / "inbox"
    inbox.mkdir()
    assert _main("import", files["first"], files["first_tiktok"], "--db", db_url, "--archive", arch) == 0
    (inbox / files["second"].name).write_bytes(files["second"].read_bytes())
    _killed(_reach("watch", inbox, "--once", "--settle", "0", "--db", db_url, "--archive", arch, crash_at=point))
    capsys.readouterr()
    assert _main("watch", inbox, "--once", "--settle", "0", "--db", db_url, "--archive", arch) == 0  # the restart
    said = capsys.readouterr().out
    # The file ends in processed/, nothing is left claimed or in the inbox.
    left = sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file())
    assert left == [f"processed/{files['second'].name}"], (left, said)
    _check_like_clean(db_url, arch, clean)


def test_ctrl_c_during_the_refresh_leaves_the_rollups_stale_not_wrong(db_url, tmp_path, files):
    """The issue's case: Ctrl-C during the refresh after "ok"; the next page view (no import)
    already shows the engine's totals, and re-importing says "already imported"."""
    from dashboard.analysis import config, rollups

    clean = clean_run(db_url, tmp_path, files, "import")
    arch = tmp_path / "archive"
    assert _main("import", files["first"], files["first_tiktok"], "--db", db_url, "--archive", arch) == 0
    p = _reach("import", files["second"], "--db", db_url, "--archive", arch, crash_at="refresh", sig="INT")
    assert p.returncode == 130 and "ok " in p.stdout, (p.returncode, p.stdout, p.stderr)
    engine = database.connect(db_url)
    assert not rollups.is_current(engine, config.load())  # stale, not silently current
    engine.dispose()
    page, eng = totals(db_url)
    assert page == eng == clean["totals"][1]
    again = _reach("import", files["second"], "--db", db_url, "--archive", arch)
    assert again.returncode == 0 and "already imported" in again.stdout


def test_rebuild_after_a_kill_between_commit_and_manifest_keeps_the_import(sqlite_url, tmp_path, files):
    """Issue 10 item 1: the import committed, its manifest line was never written; `reach
    rebuild` (the next command) must still replay it, not drop it."""
    arch = tmp_path / "archive"
    assert _main("import", files["first"], "--db", sqlite_url, "--archive", arch) == 0
    _killed(_reach("import", files["second"], "--db", sqlite_url, "--archive", arch, crash_at="commit"))
    before = dump(sqlite_url)
    assert len(before["imports"]) == 2
    assert _main("rebuild", "--db", sqlite_url, "--archive", arch) == 0
    assert dump(sqlite_url)["post_snapshots"] == before["post_snapshots"]
    assert len(dump(sqlite_url)["imports"]) == 2


def test_doctor_finds_and_repairs_a_missing_manifest_line_stale_rollups_and_an_unimported_archive_entry(
        sqlite_url, tmp_path, files, capsys):
    from datetime import timezone

    from collectors.archive import Entry
    from collectors.pipeline import Importer

    arch = tmp_path / "archive"
    assert _main("import", files["first"], "--db", sqlite_url, "--archive", arch) == 0
    # An import the manifest lacks and whose rollups were never refreshed (as a kill would leave).
    engine = database.connect(sqlite_url)
    r = Importer(engine, Archive(arch)).import_bytes(files["second"].name, files["second"].read_bytes(), record=False)
    assert r.status == "imported"
    engine.dispose()
    # And a manifest line whose import the database lacks (a database restored from a backup).
    data = files["first_tiktok"].read_bytes()
    Archive(arch).put(data)
    Archive(arch).record(Entry(hashlib.sha256(data).hexdigest(), files["first_tiktok"].name,
                               datetime.now(timezone.utc).isoformat(), {"tz": "Asia/Shanghai"}))
    capsys.readouterr()
    assert _main("doctor", "--db", sqlite_url, "--archive", arch) == 1
    said = capsys.readouterr().out
    assert "missing from the manifest" in said and files["second"].name in said
    assert "archived but not in the database" in said and "not yet counted in the daily rollups" in said
    assert _main("doctor", "--repair", "--db", sqlite_url, "--archive", arch) == 0
    said = capsys.readouterr().out
    assert said.count("fixed") == 3, said
    assert _main("doctor", "--db", sqlite_url, "--archive", arch) == 0
    assert "no problems found" in capsys.readouterr().out
    page, eng = totals(sqlite_url)
    assert page == eng
    assert len(Archive(arch).entries()) == 3


def test_doctor_reports_an_import_whose_archived_bytes_are_gone(sqlite_url, tmp_path, files, capsys):
    arch = tmp_path / "archive"
    assert _main("import", files["first"], "--db", sqlite_url, "--archive", arch) == 0
    digest = hashlib.sha256(files["first"].read_bytes()).hexdigest()
    Archive(arch).path(digest).write_bytes(b"not the export")
    capsys.readouterr()
    assert _main("doctor", "--repair", "--db", sqlite_url, "--archive", arch) == 1
    said = capsys.readouterr().out
    assert "archived copy is damaged" in said and "would lose it" in said


def test_manifest_lines_appended_out_of_commit_order_are_put_back_in_order(tmp_path):
    from collectors.archive import Entry

    a = Archive(tmp_path / "archive")
    e = [Entry(f"{i:064x}", f"f{i}.csv", f"2024-01-0{i + 1}T00:00:00+00:00", {}) for i in range(4)]
    for x in e:
        a.put(x.sha256.encode(), x.sha256)
    roster = Entry("f" * 64, "roster.csv", "2024-01-01T00:00:00+00:00", {"kind": "roster"})
    for x in (e[0], roster, e[2], e[1]):  # e[3] missing: a kill between commit and manifest
        a.record(x)
    assert a.reconcile(e) == 1
    assert [x.name for x in a.entries()] == ["f0.csv", "roster.csv", "f1.csv", "f2.csv", "f3.csv"]
    assert a.reconcile(e) == 0


def test_the_crash_points_are_the_documented_ones():
    assert set(IMPORT_POINTS) | set(WATCH_POINTS) == set(crash.POINTS)


def test_reach_rebuild_killed_midway_then_run_again_equals_a_clean_run(db_url, tmp_path, files):
    """A rebuild drops every table first: killed after replaying one file, the database holds
    only part, and the manifest must still hold every import for the next rebuild."""
    clean = clean_run(db_url, tmp_path, files, "import")
    arch = tmp_path / "archive"
    assert _main("import", files["first"], files["first_tiktok"], "--db", db_url, "--archive", arch) == 0
    assert _main("import", files["second"], "--db", db_url, "--archive", arch) == 0
    _killed(_reach("rebuild", "--db", db_url, "--archive", arch, crash_at="commit"))
    assert len(dump(db_url)["imports"]) == 1
    assert _main("rebuild", "--db", db_url, "--archive", arch) == 0
    _check_like_clean(db_url, arch, clean)


def test_an_archive_that_cannot_keep_the_bytes_fails_the_file_and_imports_nothing(sqlite_url, tmp_path, files,
                                                                                  monkeypatch):
    from collectors.pipeline import Importer

    def full(self, data, digest=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Archive, "put", full)
    engine = database.connect(sqlite_url)
    r = Importer(engine, Archive(tmp_path / "archive")).import_bytes(files["first"].name, files["first"].read_bytes())
    assert r.status == "failed" and "No space left on device" in r.message and "nothing was imported" in r.message
    assert dump(sqlite_url)["imports"] == []


def test_a_manifest_line_that_cannot_be_written_is_written_back_by_the_next_command(sqlite_url, tmp_path, files,
                                                                                   monkeypatch, capsys):
    arch = tmp_path / "archive"

    def full(self, entry):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(Archive, "record", full)
        assert _main("import", files["first"], "--db", sqlite_url, "--archive", arch) == 0
    assert "manifest line was not written" in capsys.readouterr().out
    assert Archive(arch).entries() == []
    assert _main("status", "--db", sqlite_url) == 0  # opens no archive: nothing written yet
    assert _main("import", files["first"], "--db", sqlite_url, "--archive", arch) == 0  # "already imported"
    assert [e.name for e in Archive(arch).entries()] == [files["first"].name]


def test_doctor_finds_rollups_that_say_they_are_current_but_differ_from_the_engine(db_url, tmp_path, files, capsys):
    """What a kill during the refresh left with an older version (no pending mark): only a
    comparison with the engine can tell."""
    arch = tmp_path / "archive"
    assert _main("import", files["first"], files["first_tiktok"], "--db", db_url, "--archive", arch) == 0
    engine = database.connect(db_url)
    with engine.begin() as c:
        c.execute(schema.daily_rollup.update().values(impressions=schema.daily_rollup.c.impressions + 1000))
    engine.dispose()
    capsys.readouterr()
    assert _main("doctor", "--db", db_url, "--archive", arch) == 1
    assert "differ from the metrics engine" in capsys.readouterr().out
    assert _main("doctor", "--repair", "--db", db_url, "--archive", arch) == 0
    assert "fixed" in capsys.readouterr().out
    page, eng = totals(db_url)
    assert page == eng


def test_the_next_import_of_any_kind_writes_back_the_line_a_kill_left_out_ahead_of_its_own(sqlite_url, tmp_path,
                                                                                           files):
    """An upload on the Data page (an Importer of its own, no CLI command around it) after a kill
    between commit and manifest: the killed import's line first, then the upload's."""
    from collectors.pipeline import Importer

    arch = tmp_path / "archive"
    _killed(_reach("import", files["second"], "--db", sqlite_url, "--archive", arch, crash_at="commit"))
    assert Archive(arch).entries() == []
    engine = database.connect(sqlite_url)
    r = Importer(engine, Archive(arch)).import_bytes(files["first"].name, files["first"].read_bytes())
    engine.dispose()
    assert r.status == "imported"
    assert [e.name for e in Archive(arch).entries()] == [files["second"].name, files["first"].name]


def _append_lines(root, who, n):
    from collectors.archive import Entry

    a = Archive(root)
    for i in range(n):
        a.record(Entry(f"{who:02d}{i:062x}", f"{who}-{i}.csv", "2024-01-01T00:00:00+00:00", {}))
    os._exit(0)


def test_a_manifest_rewrite_never_loses_a_line_another_process_appends_meanwhile(tmp_path):
    """reconcile replaces the manifest (write + rename) while other processes append to it: the
    lock makes an append wait and then open the new file, never the replaced one."""
    import multiprocessing as mp

    from collectors.archive import Entry

    root = tmp_path / "archive"
    a = Archive(root)
    x, y = (Entry(c * 64, f"{c}.csv", "2024-01-01T00:00:00+00:00", {}) for c in "ab")
    for e in (x, y):
        a.put(e.sha256.encode(), e.sha256)
        a.record(e)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_append_lines, args=(root, w, 150)) for w in range(3)]
    for p in procs:
        p.start()
    flips = 0
    while any(p.is_alive() for p in procs) or flips < 4:
        flips += a.reconcile([x, y] if flips % 2 else [y, x]) == 0  # each call reorders: a rewrite
    for p in procs:
        p.join()
        assert p.exitcode == 0
    names = [e.name for e in a.entries()]
    assert sorted(n for n in names if "-" in n) == sorted(f"{w}-{i}.csv" for w in range(3) for i in range(150))

"""Shared test fixtures: databases (SQLite file and the real PostgreSQL), sample paths."""
from __future__ import annotations

import contextlib

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples" / "real"
PG_URL = os.environ.get("REACH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def raw_rows(path_or_bytes: Path | bytes) -> list[dict]:
    """Each data row of a UTF-8 CSV export as a dict, with the physical line it starts on: the
    tests' plain reading of a file, to hold the importer's against."""
    import csv
    import io

    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader)
    rows, start = [], reader.line_num + 1
    for row in reader:
        rows.append({**dict(zip(header, row)), "_line": start})
        start = reader.line_num + 1
    return rows


def workbook(header: list[str], rows: list[list], preamble: list[list] = (), sheet: str | None = None) -> bytes:
    """An XLSX file of one sheet: the ``preamble`` rows, the header, then the rows (openpyxl)."""
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    if sheet is not None:
        ws.title = sheet
    for r in [*preamble, header, *rows]:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def sample(rel: str) -> Path:
    """A real export file from ../shared/samples/real; skips the test when the folder is absent."""
    path = SAMPLES / rel
    if not path.exists():
        pytest.skip(f"real samples not available ({SAMPLES} is absent)")
    return path



@pytest.fixture(autouse=True)
def _reach_environment_kept():
    """The REACH_* environment as it was before each test: `reach` commands called in-process hand
    their options to child processes through os.environ (serve's REACH_CONFIG, the worker's
    REACH_DB/REACH_ARCHIVE), and a value left behind changed what a later test's subprocess did
    (a `reach import` of test_crash.py refreshed another campaign and never reached its crash point)."""
    import signal

    before = {k: v for k, v in os.environ.items() if k.startswith("REACH_")}
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in handlers.items():  # nor a signal's handling (a child inherits an ignored signal)
        if signal.getsignal(s) is not h and h is not None:
            signal.signal(s, h)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, list(handlers))
    for k in [k for k in os.environ if k.startswith("REACH_") and k not in before]:
        del os.environ[k]
    os.environ.update(before)

@pytest.fixture
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"real samples not available ({SAMPLES} is absent)")
    return SAMPLES


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return None
    except Exception as e:  # any failure means: no server to test against
        return f"no PostgreSQL answers at {PG_URL} ({type(e).__name__}: {str(e).strip()[:120]})"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, and a private schema in the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reach.db'}"
        return
    with _pg_scratch("SCHEMA", "reach_test_", "CASCADE") as schema:
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def _pg_scratch(kind: str, prefix: str, drop_how: str):
    """A PostgreSQL ``kind`` (SCHEMA or DATABASE) of a new random name, dropped ``drop_how`` at the
    end; the test is skipped when no server answers."""
    why = _pg_available()
    if why:
        pytest.skip(why)
    import psycopg

    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    admin = PG_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE {kind} "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP {kind} IF EXISTS "{name}" {drop_how}')


@pytest.fixture
def receivers():
    """A webhook receiver and an SMTP server on 127.0.0.1 (tests/notify_receivers.py), closed after
    the test."""
    from notify_receivers import Hook, Mailbox

    hook, box = Hook(), Mailbox()
    yield hook, box
    hook.close()
    box.close()



@pytest.fixture
def pg_database():
    """A PostgreSQL database of this test's own (its URL), dropped afterwards with its connections
    closed by force (a killed worker's may linger); the test is skipped when no server answers."""
    with _pg_scratch("DATABASE", "reach_scratch_", "WITH (FORCE)") as name:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name


def ctrl_c(p, timeout: float = 30) -> tuple[str, str]:
    """Ctrl-C to a running `reach` process (SIGINT), then its output once it has stopped; killed if
    it has not within ``timeout`` (the caller's assertions then fail on its return code)."""
    import signal
    import subprocess

    p.send_signal(signal.SIGINT)
    try:
        return p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate()


def redis_or_skip(url: str):
    """A client of the test Redis at ``url``, or the test skipped with why when none answers."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as e:
        pytest.skip(f"no Redis answers at {url} ({type(e).__name__})")
    return client

@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'reach.db'}"


@contextlib.contextmanager
def _built_once(tmp_path_factory, name: str):
    """A folder that one process of the run fills and the others reuse: pytest-xdist's workers
    share the parent of their base temp folders, and a lock file there makes the first worker
    to arrive build while the rest wait (the demo takes ~20 s to build, once per worker before).
    Yields (folder, needs_building)."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if building fails
        if done.exists():
            yield folder, False
            return
        folder.mkdir(exist_ok=True)
        yield folder, True
        done.touch()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo campaign (`reach demo`), built once per test run into a SQLite file.

    Tests must treat it as read-only: several modules, and every xdist worker, share it."""
    from dashboard.cli import main

    with _built_once(tmp_path_factory, "demo-campaign") as (tmp, build):
        db = tmp / "reach.db"
        if build:
            assert main(["demo", "--db", str(db), "--folder", str(tmp / "exports")]) == 0
    return db


STRAY_HANDLE = "yiwu.stall.2047"  # a TikTok account of the demo's kind that no roster row names


@pytest.fixture(scope="session")
def demo_stray_db(demo_db, tmp_path_factory) -> Path:
    """The demo campaign plus the posts of one account no roster row names, so "<handle>
    (unassigned)" shows: the demo's own roster maps every account it writes (issue 12), and the
    tests of how pages treat an unassigned account need one. A copy: the shared demo stays as it is.
    Read-only for tests, like ``demo_db``."""
    with _built_once(tmp_path_factory, "demo-stray") as (folder, build):
        db = folder / "reach.db"
        if build:
            _add_stray(demo_db, db)
    return db


def _add_stray(demo_db: Path, db: Path) -> None:
    import random
    import sqlite3
    from datetime import datetime, time

    from collectors.demo import campaign as demo
    from collectors.pipeline import Importer
    from collectors.store import database
    from dashboard.analysis import config, rollups

    # SQLite's backup API, not a file copy: recent writes may still be in the WAL file beside it.
    with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    stray = demo._new_account(random.Random(2047), "Stall 2047", "merchant", "tiktok", STRAY_HANDLE)
    at = datetime.combine(demo.FINAL_EXPORT, time(22, 0), demo.TZ)
    engine = database.connect(f"sqlite:///{db}")
    r = Importer(engine, None, account=STRAY_HANDLE).import_bytes("Video Posts.csv", demo.write_tiktok_posts(stray, at))
    assert r.ok and r.status == "imported", r.line()
    rollups.refresh(engine, config.load(ROOT / "campaign.toml"), rollups.accounts_of_imports(engine, [r.import_id]))
    engine.dispose()


@pytest.fixture
def x_app(sqlite_url):
    """An app on a database of two X posts (X reports impressions and no views), inside a request
    context: for the pages' layout functions."""
    from collectors.pipeline import Importer
    from collectors.store import database
    from dashboard.web.app import create_app
    from test_store import x_content

    engine = database.connect(sqlite_url)
    Importer(engine, None).import_bytes(
        "account_analytics_content_2024-12-16_2024-12-22.csv",
        x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 800, 10)]))
    app = create_app(engine)
    with app.server.test_request_context("/"):
        yield engine
    engine.dispose()


# The files that take longest on the 2-core CI machine (pytest --durations on a quiet machine,
# 2026-12-07), started first: xdist hands out whole files (--dist loadfile) in collection order,
# so a long file collected last kept one worker busy minutes after the other had finished.
SLOW_FILES = ("test_exports_streaming.py", "test_query_plans.py", "test_hostile_inputs.py", "test_exports_rollup.py",
              "test_pages_scale.py", "test_browser_tables.py", "test_rollups.py", "test_browser_kiosk.py",
              "test_browser.py", "test_cold_views.py", "test_live_demo.py", "test_import_memory.py",
              "test_stitching.py", "test_browser_weekly.py", "test_crash.py", "test_import_ahead.py",
              "test_page_platforms_posts.py", "test_mapping.py", "test_anomaly_truth.py", "test_page_influencers.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's order kept

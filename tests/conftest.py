"""Shared test fixtures: databases (SQLite file and the real PostgreSQL), sample paths."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples" / "real"
PG_URL = os.environ.get("REACH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def sample(rel: str) -> Path:
    """A real export file from ../shared/samples/real; skips the test when the folder is absent."""
    path = SAMPLES / rel
    if not path.exists():
        pytest.skip(f"real samples not available ({SAMPLES} is absent)")
    return path


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
    why = _pg_available()
    if why:
        pytest.skip(why)
    import psycopg

    schema = f"reach_test_{uuid.uuid4().hex[:10]}"
    plain = PG_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:

        with psycopg.connect(plain, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'reach.db'}"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo campaign (`reach demo`), built once per test session into a SQLite file.

    Tests must treat it as read-only: several modules share it."""
    from dashboard.cli import main

    tmp = tmp_path_factory.mktemp("demo-campaign")
    db = tmp / "reach.db"
    assert main(["demo", "--db", str(db), "--folder", str(tmp / "exports")]) == 0
    return db

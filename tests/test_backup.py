"""The backup and restore of docs/deploy.md, done as it says: `pg_dump -Fc` of a scratch PostgreSQL
database holding imports (posts, snapshots, account days, a roster) plus a tar of its archive
folder, restored with `pg_restore` into a second scratch database and the tar unpacked elsewhere.
The restored campaign says the same in `reach status`, holds the same rows in every table, and
`reach doctor` finds its archive and rollups whole."""
from __future__ import annotations

import shutil
import subprocess
import tarfile
import uuid

import pytest
import sqlalchemy as sa

from conftest import PG_URL, _pg_available
from test_auth import reach
from test_store import x_content, x_overview

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_databases():
    why = _pg_available()
    if why:
        pytest.skip(why)
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: postgresql-client)")
    import psycopg

    names = [f"reach_backup_{uuid.uuid4().hex[:10]}_{side}" for side in ("from", "to")]
    admin = PG_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as c:
        for name in names:
            c.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield [f"{base}/{name}" for name in names]
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            for name in names:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def counts(url: str) -> dict[str, int]:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            tables = sa.inspect(c).get_table_names()
            return {t: c.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
    finally:
        eng.dispose()


def test_pg_dump_and_the_archive_restore_to_the_same_campaign(tmp_path, two_databases):
    source, target = two_databases
    live = tmp_path / "live"
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "account_analytics_content_2024-12-16_2024-12-22.csv").write_bytes(
        x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 45, 2)]))
    (exports / "account_analytics_content_2024-12-23_2024-12-29.csv").write_bytes(
        x_content([("1870000000000000001", 2500, 41), ("1870000000000000003", 7, 0)]))
    (exports / "account_overview_analytics_2024-12-16_2024-12-22.csv").write_bytes(
        x_overview([("Sun, Dec 22, 2024", 900, 12), ("Mon, Dec 23, 2024", 300, 4)]))
    roster = tmp_path / "roster.csv"
    roster.write_text("name,category,platform,handle,account_id\nJin Hub,official,x,jinhub_yiwu,\n")
    archive = live / "archive"
    db = ["--db", source, "--archive", str(archive)]
    r = reach("import", str(exports), *db, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert reach("roster", "import", str(roster), *db, cwd=tmp_path).returncode == 0
    status = reach("status", "--db", source, cwd=tmp_path)
    assert status.returncode == 0 and "3 files imported" in status.stdout, status.stdout

    # The backup, as docs/deploy.md writes it.
    dump, tar = tmp_path / "reach.dump", tmp_path / "archive.tar.gz"
    plain = lambda url: url.replace("postgresql+psycopg", "postgresql")  # noqa: E731 - libpq's own URL
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), plain(source)], check=True, timeout=120)
    with tarfile.open(tar, "w:gz") as t:
        t.add(archive, arcname="archive")

    # The restore: into an empty database, the archive unpacked on another machine's disk.
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", plain(target), str(dump)],
                   check=True, timeout=120)
    restored = tmp_path / "restored"
    with tarfile.open(tar) as t:
        t.extractall(restored, filter="data")

    assert reach("status", "--db", target, cwd=tmp_path).stdout == status.stdout
    before, after = counts(source), counts(target)
    assert before == after and before["posts"] == 3 and before["imports"] == 3
    doctor = reach("doctor", "--db", target, "--archive", str(restored / "archive"), cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    # The archive is half of the backup: without it the doctor finds imports whose bytes are gone.
    lost = reach("doctor", "--db", target, "--archive", str(tmp_path / "no-archive"), cwd=tmp_path)
    assert lost.returncode == 1, lost.stdout + lost.stderr
    # The restored database and archive take a new import where the old one stopped: the same
    # bytes are "already imported", so nothing is doubled after a restore.
    again = reach("import", str(exports), "--db", target, "--archive", str(restored / "archive"), cwd=tmp_path)
    assert again.returncode == 0 and "3 files: 0 imported, 3 already imported" in again.stdout, again.stdout
    assert counts(target) == before

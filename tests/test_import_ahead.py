"""`reach import --jobs N`: files of a folder parsed in worker processes while the importing
process writes. Whatever runs where, the result lines, their order and every stored row must be
the ones a one-file-at-a-time import gives, for good files, broken ones, unknown ones and the
same bytes twice."""
from __future__ import annotations

import csv
import io
import re
import shutil
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import scale_data  # noqa: E402

from collectors.store import database  # noqa: E402

TABLES = ("accounts", "posts", "post_snapshots", "post_days", "account_days", "daily_rollup")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A small mixed campaign (X, YouTube ZIPs, Facebook, Instagram) and what goes wrong in one."""
    base = tmp_path_factory.mktemp("ahead")
    scale_data.write_campaign(base / "c", 0.05)
    exports = base / "c" / "exports"
    files = sorted(p for p in exports.rglob("*") if p.is_file())
    odd = exports / "zz"
    odd.mkdir()
    shutil.copy(files[3], odd / ("copy of " + files[3].name))  # the same bytes twice in one run
    (odd / "notes.csv").write_text("Colour,Taste\nred,sweet\n", encoding="utf-8")  # no report
    (odd / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")  # cannot be read
    # A known report with a rejected row: its problems must come back from the worker.
    x = next(p for p in files if "account_analytics_content" in p.name)
    rows = list(csv.reader(io.StringIO(x.read_text(encoding="utf-8"))))[:3]
    rows[2][rows[0].index("Impressions")] = "lots"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (odd / x.name.replace(".csv", "_edited.csv")).write_text(out.getvalue(), encoding="utf-8")
    return exports


def _run(folder: Path, db: Path, jobs: int, capsys) -> list[str]:
    from dashboard.cli import main

    code = main(["import", str(folder), "--db", str(db), "--archive", str(db.parent / (db.stem + "-archive")),
                 "--jobs", str(jobs)])
    out = capsys.readouterr().out
    assert code == 1  # the unreadable and the unknown file failed
    # When the first copy was imported differs between the runs (its minute), nothing else may.
    return [re.sub(r" on \d{4}-\d\d-\d\d \d\d:\d\d UTC", " on TIME", line) for line in out.splitlines() if line.strip()]


def _rows(db: Path) -> dict:
    engine = database.connect(str(db))
    try:
        with engine.connect() as conn:
            got = {t: conn.execute(sa.text(f"SELECT * FROM {t} ORDER BY 1, 2")).all() for t in TABLES}
            # (Not the problems' file name: an import names the path given, a rebuild the archived name.)
            got["import_problems"] = conn.execute(sa.text(
                "SELECT import_id, line, column_name, value, expected FROM import_problems ORDER BY 1, 2, 3")).all()
            # When each import happened differs between the runs; what was imported, in which
            # order and how, must not.
            got["imports"] = conn.execute(sa.text(
                "SELECT id, sha256, file_name, platform, reports, rows_read, rows_stored, rows_rejected, "
                "rows_skipped, captured_at_source FROM imports ORDER BY id")).all()
            got["failures"] = conn.execute(sa.text(
                "SELECT sha256, file_name, error, platform FROM import_failures ORDER BY id")).all()
    finally:
        engine.dispose()
    return got


def test_a_folder_parsed_by_workers_imports_exactly_as_one_file_at_a_time(folder, tmp_path, capsys):
    one = _run(folder, tmp_path / "one.db", 1, capsys)
    two = _run(folder, tmp_path / "two.db", 2, capsys)
    assert two == one
    text = "\n".join(one)
    assert "FAILED" in text and "already imported" in text and "1 row rejected" in text and "'lots'" in text
    a, b = _rows(tmp_path / "one.db"), _rows(tmp_path / "two.db")
    assert a["posts"] and a["post_snapshots"] and a["post_days"] and a["import_problems"]
    for t in a:
        assert b[t] == a[t], t


def test_workers_do_parse_and_a_second_run_imports_nothing(folder, tmp_path):
    from collectors.pipeline import Importer

    engine = database.connect(str(tmp_path / "r.db"))
    try:
        imp = Importer(engine, None)
        first = imp.import_paths([folder], jobs=2)
        assert imp.parsed_elsewhere > len(first) // 2  # not quietly parsed in this process
        again = Importer(engine, None)
        second = again.import_paths([folder], jobs=2)
        assert [r.status for r in second] == [
            "failed" if r.status == "failed" else "already imported" for r in first]
        # Known bytes are not even handed out; only the files that failed are tried again.
        assert again.parsed_elsewhere == sum(r.status == "failed" for r in first) == 2
    finally:
        engine.dispose()


def test_a_mapping_given_on_the_command_line_is_saved_once_a_worker_used_it(tmp_path, capsys):
    """The mapping comes back from the worker as a copy; it is still the one given (saved as a
    profile, recorded in the archive's manifest line)."""
    from dashboard.cli import main

    f = tmp_path / "in"
    f.mkdir()
    for i in range(3):
        (f / f"sheet{i}.csv").write_text(
            "Id,Link,Day,Seen by\n"
            f"18700000000000000{i}1,https://x.com/kofi/status/18700000000000000{i}1,2024-12-22,{100 + i}\n",
            encoding="utf-8")
    db = str(tmp_path / "m.db")
    toml = tmp_path / "m.toml"
    toml.write_text('report = "x.content"\n' + "".join(
        f'[[columns]]\nheader = "{h}"\nfield = "{v}"\n' for h, v in
        [("Id", "post_id"), ("Link", "url"), ("Day", "published_at"), ("Seen by", "impressions")]), encoding="utf-8")
    code = main(["import", str(f), "--db", db, "--mapping", str(toml), "--jobs", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("ok ") == 3
    assert main(["mapping", "list", "--db", db]) == 0
    assert "x.content" in capsys.readouterr().out


def test_rebuild_with_workers_gives_back_the_same_database(folder, tmp_path, capsys):
    """`reach rebuild --jobs 2` replays the archive in its order, each file with its own options
    (here a roster, applied in its turn, and --tz), exactly as one file at a time would."""
    from dashboard.cli import main

    db = tmp_path / "r.db"
    _run(folder, db, 1, capsys)
    roster = folder.parent / "roster.csv"
    assert main(["roster", "import", str(roster), "--db", str(db), "--archive", str(tmp_path / "r-archive")]) == 0
    extra = tmp_path / "later"
    extra.mkdir()
    x = next(p for p in sorted(folder.rglob("*.csv")) if "account_analytics_content" in p.name)
    (extra / "tz.csv").write_bytes(x.read_bytes() + b"\n")  # new bytes, imported with another --tz
    assert main(["import", str(extra / "tz.csv"), "--db", str(db), "--archive", str(tmp_path / "r-archive"),
                 "--tz", "Europe/Lisbon"]) == 0
    capsys.readouterr()
    before = _rows(db)
    assert main(["rebuild", "--db", str(db), "--archive", str(tmp_path / "r-archive"), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "roster applied" in out
    after = _rows(db)
    for t in before:
        if t != "failures":  # failed files are not archived: a rebuild has none to replay
            assert after[t] == before[t], t
    assert any(r.influencer_id is not None for r in after["accounts"])  # the roster linked accounts

"""The floor under "one 1 M-row X content file at 200,000 rows/s" (issue 11): how long SQLite
itself takes to store such a file's rows in the product's schema, with nothing of ours around it.

    .venv/bin/python bench/sqlite_floor.py                 # 1,000,000 rows, 3 runs
    .venv/bin/python bench/sqlite_floor.py --rows 200000 --repeat 5

Each run creates a fresh database with the product's tables and indexes (``database.migrate``), then,
with the standard library's sqlite3 driver and prepared tuples built before the clock starts:
inserts the posts (1 per row, 200 accounts, the three posts indexes), then one snapshot per post
(13 metrics), and commits; the import does exactly these inserts (plus the import record and a
pending mark). Printed: median seconds and rows/s of the inserts alone, in the product's own
pragmas (WAL, synchronous=NORMAL), and the same into a table without secondary indexes, as a
baseline measured in the same process. If the floor is above 5 s, 200,000 rows/s cannot be met by
any importer on this machine that stores what this schema stores.
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collectors.model import METRICS  # noqa: E402
from collectors.store import database  # noqa: E402


def _rows(n: int):
    t0 = datetime(2024, 12, 16)
    posts = [("x", str(1_869_000_000_000_000_000 + i * 7919), 1 + i % 200,
              (t0 + timedelta(seconds=i * 37 % 604800)).isoformat(sep=" "),
              f"https://x.com/account{i % 200:03d}/status/{1_869_000_000_000_000_000 + i * 7919}",
              f"Post text number {i}", None, 1) for i in range(n)]
    return posts


def run(n: int, indexed: bool) -> float:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "floor.db"
        engine = database.connect(str(path))  # the product's schema, indexes and pragmas
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO imports (id, sha256, file_name, size_bytes, imported_at, rows_read, "
                                 "rows_stored, rows_rejected, rows_skipped, source) "
                                 "VALUES (1, 'x', 'f.csv', 1, '2024-12-22 00:00:00', 0, 0, 0, 0, 'file')")
            conn.exec_driver_sql("INSERT INTO accounts (id, platform, account_key) "
                                 + " UNION ALL ".join(f"SELECT {i}, 'x', 'account{i:03d}'" for i in range(1, 201)))
            if not indexed:
                for name, in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                                  "tbl_name IN ('posts', 'post_snapshots') AND sql IS NOT NULL").all():
                    conn.exec_driver_sql(f"DROP INDEX {name}")
        engine.dispose()
        posts = _rows(n)
        cols = ", ".join(METRICS)
        snaps = [(i + 1, "2024-12-23 00:00:00.000000", 1, *([i % 1000] * len(METRICS))) for i in range(n)]
        con = sqlite3.connect(path)
        con.execute("PRAGMA synchronous=NORMAL")
        t = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO posts (platform, post_id, account_pk, published_at, url, title, post_type, "
                        "first_import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", posts)
        con.executemany(f"INSERT INTO post_snapshots (post_pk, captured_at, import_id, {cols}) VALUES "
                        f"({', '.join('?' * (3 + len(METRICS)))})", snaps)
        con.commit()
        took = time.perf_counter() - t
        con.close()
        return took


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    base = [run(a.rows, indexed=False) for _ in range(a.repeat)]
    full = [run(a.rows, indexed=True) for _ in range(a.repeat)]
    for label, xs in (("without secondary indexes (baseline)", base), ("the product's schema", full)):
        m = statistics.median(xs)
        print(f"{label}: {m:.2f} s median of {a.repeat} ({a.rows / m:,.0f} rows/s); runs {', '.join(f'{x:.2f}' for x in xs)}")
    print(f"ratio product/baseline: {statistics.median(full) / statistics.median(base):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A whole rollup refresh on PostgreSQL at several sizes, in CPU seconds (issue 11: the refresh's
growth exponent from 10x to 100x, which the 100x import measured only in wall time, on a busy
machine, inside an import of 80 minutes).

    .venv/bin/python bench/scale.py --scales 10 --repeat 1 --paths import --work /tmp/w/sq10
    .venv/bin/python bench/scale.py --scales 100 --repeat 1 --paths import --work /tmp/w/sq100
    .venv/bin/python bench/pg_refresh.py /tmp/w/sq10/scale-10 /tmp/w/sq100/scale-100

Each folder is one bench/scale.py made and imported into SQLite (its reach.db and campaign.toml).
Its database is copied table by table into a scratch PostgreSQL database (``reach_refresh_<n>``, at
127.0.0.1, dropped at the end; ``COPY`` with triggers and foreign keys off for the copy, then the
sequences set and ANALYZE): the same rows the PostgreSQL import stores, in minutes instead of the
import's hour. Then, ``--repeat`` times: every rollup row marked stale (``rollups.invalidate``) and
``rollups.refresh`` run whole, as the import's last step runs it when every account is new. Reported,
medians: wall time, this process's CPU (user + system, ``getrusage``) and the PostgreSQL backends'
(the postmaster's reaped children: the engine is disposed before and after, so the backends of the
refresh exit and are counted; other databases' backends that exit meanwhile are counted too, so
it is an upper bound on a shared server), and the exponents between consecutive sizes against the
observations (snapshots, post-days and account-days).
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import resource
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# What a refresh reads and writes; the rest (flags, weekly reports, ...) a refresh makes again or
# does not touch, and stays as the migration made it.
COPIED = ("reach_meta", "imports", "influencers", "accounts", "posts", "post_snapshots", "post_days",
          "account_days", "post_latest", "daily_rollup", "annotations")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def copy_database(sqlite_path: Path, url: str) -> dict:
    """Every table of the SQLite database into the (migrated, empty) PostgreSQL one at ``url``."""
    import psycopg
    import sqlalchemy as sa

    from collectors.store import database, schema

    engine = database.connect(url)
    database.migrate(engine)
    engine.dispose()
    src = sqlite3.connect(sqlite_path)
    counts = {}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as pg:
        pg.execute("SET session_replication_role = replica")  # no triggers, no foreign key checks
        for table in schema.metadata.sorted_tables:
            have = {r[1] for r in src.execute(f'PRAGMA table_info("{table.name}")')}
            if not have or table.name not in COPIED:
                continue
            cols = [c.name for c in table.columns if c.name in have]
            pg.execute(f'DELETE FROM "{table.name}"')  # the migration's own rows (reach_meta)
            names = ", ".join(f'"{c}"' for c in cols)
            booleans = {c.name for c in table.columns if isinstance(c.type, sa.Boolean)}
            n = 0
            cur = src.execute(f'SELECT {names} FROM "{table.name}"')
            # NULL written as \N (unquoted), so that an empty text stays an empty text.
            with pg.cursor().copy(f'COPY "{table.name}" ({names}) FROM STDIN WITH (FORMAT csv, NULL \'\\N\')') as cp:
                while rows := cur.fetchmany(50_000):
                    buf = io.StringIO()
                    w = csv.writer(buf)
                    for row in rows:
                        w.writerow(["\\N" if v is None else (("t" if v else "f") if c in booleans else v)
                                    for c, v in zip(cols, row)])
                    cp.write(buf.getvalue())
                    n += len(rows)
            counts[table.name] = n
        for table in schema.metadata.sorted_tables:
            for c in table.columns:
                if c.primary_key and c.autoincrement is not False and isinstance(c.type, sa.Integer):
                    seq = pg.execute("SELECT pg_get_serial_sequence(%s, %s)", (table.name, c.name)).fetchone()[0]
                    if seq:
                        pg.execute(f'SELECT setval(%s, COALESCE((SELECT max("{c.name}") FROM "{table.name}"), 0) + 1, false)',
                                   (seq,))
        pg.commit()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as pg:
        pg.execute("VACUUM ANALYZE")
    src.close()
    return counts


def measure(folder: Path, repeat: int, keep: bool) -> dict:
    import psycopg

    from collectors.store import database
    from dashboard.analysis import config, rollups
    from scale import pg_server_cpu_s

    name = f"reach_refresh_{folder.name.replace('-', '_')}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        t = time.perf_counter()
        counts = copy_database(folder / "reach.db", url)
        copied = time.perf_counter() - t
        obs = counts.get("post_snapshots", 0) + counts.get("post_days", 0) + counts.get("account_days", 0)
        print(f"{folder.name}: copied {obs:,} observations ({counts.get('posts', 0):,} posts) in {copied:.0f} s",
              flush=True)
        campaign = config.load(folder / "campaign.toml")
        runs = []
        for i in range(repeat):
            engine = database.connect(url)
            rollups.invalidate(engine)
            engine.dispose()
            s0, c0, t0 = pg_server_cpu_s(), _cpu(), time.perf_counter()
            engine = database.connect(url)
            rollups.refresh(engine, campaign)
            engine.dispose()
            wall, client = time.perf_counter() - t0, _cpu() - c0
            s1 = pg_server_cpu_s()
            server = None if s0 is None or s1 is None else s1 - s0
            runs.append((wall, client, server))
            print(f"  refresh run {i + 1}: {wall:.1f} s wall, client CPU {client:.1f} s, "
                  f"server CPU {server if server is None else round(server, 1)} s", flush=True)
        med = [statistics.median(x for x in col if x is not None) if any(x is not None for x in col) else None
               for col in zip(*runs)]
        return dict(folder=folder.name, observations=obs, posts=counts.get("posts", 0), wall=med[0], client=med[1],
                    server=med[2])
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=Path, help="bench/scale.py folders (scale-10, scale-100, ...)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = ap.parse_args(argv)
    results = [measure(f, args.repeat, args.keep) for f in args.folders]
    print("\n| size | observations | wall | client CPU | server CPU |\n|---|---:|---:|---:|---:|")
    for r in results:
        server = "" if r["server"] is None else f"{r['server']:.1f} s"
        print(f"| {r['folder']} | {r['observations']:,} | {r['wall']:.1f} s | {r['client']:.1f} s | {server} |")
    for a, b in zip(results, results[1:]):
        k = math.log(b["observations"] / a["observations"])
        parts = [f"wall {math.log(b['wall'] / a['wall']) / k:.2f}", f"client CPU {math.log(b['client'] / a['client']) / k:.2f}"]
        if a["server"] and b["server"]:
            parts.append(f"server CPU {math.log(b['server'] / a['server']) / k:.2f}")
            parts.append(f"all CPU {math.log((b['server'] + b['client']) / (a['server'] + a['client'])) / k:.2f}")
        print(f"exponent {a['folder']} -> {b['folder']}: " + ", ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""PostgreSQL at size (issue 15, item 4): one synthetic database of N snapshot rows, measured
unpartitioned (schema 9), then converted by the partitioning step (timed) and measured again
partitioned by month: the same rows, the same process, so the ratios compare like with like.

    .venv/bin/python bench/pg_scale.py --rows 10000000              # database partitions_scale_10m
    .venv/bin/python bench/pg_scale.py --rows 30000000 --keep       # leave the database for a look
    .venv/bin/python bench/pg_scale.py --rows 100000000 --runs 1 --keep --warm
    .venv/bin/python bench/pg_scale.py --rows 100000000 --runs 1 --reuse --only refresh   # the kept one again

``--reuse`` measures a kept database as it is when it holds the rows asked for (an unpartitioned
one is measured, partitioned and measured again; a partitioned one once); ``--only`` names the
measurements to make (refresh, export-youtube, export-all, live, latest, import);
``--unpartitioned-only`` stops before the partitioning step; ``--warm`` times the first refresh
apart (see "refresh" below); ``--steps`` prints what each step of each refresh took (STEPS).

The rows are made in SQL (generate_series), never through the importer: ``rows / 20`` posts on
``posts / 100`` accounts (5 accounts per influencer; every 50th account YouTube, the rest X,
Facebook, Instagram), published evenly from 2024-07-01 over a year (the campaign window of
campaign.toml, 2024-12-16 to 2025-01-26, in the middle); 20 daily snapshots per post and 10 post
days per post (``post_days`` = rows / 2). post_latest is filled in one statement afterwards (its
trigger is off while the rows are made, as a restore would be).

Measured, medians of ``--runs`` (3), each with wall seconds, this client's CPU seconds
(getrusage) and the server's (the /proc/<pid>/stat of every backend of the database, before and
after: run it on the server's machine):

* storage: pg_total_relation_size of each table (partitions summed), bytes per row;
* refresh: ``rollups.refresh`` of one batch of 50 accounts (5,000 posts). The first refresh of a
  new database also stores every account's Live flags and times (none are stored before it): with
  ``--warm`` it is timed apart ("first") and the measured runs are the batch's own, as the median
  of 3 runs is;
* export 10k: ``reach export posts`` of the YouTube platform (10,000 posts at 10 M rows);
* export all: every post (500,000 at 10 M);
* live: the Live page's queries that read posts and snapshots (``published_counts`` and
  ``reach_range`` of the campaign window: the latest snapshot before the window's end, probed per
  post); its rollup reads touch daily_rollup only;
* latest 10k: the latest snapshot of 10,000 posts, by post_latest (a join on the key) and by a
  probe of post_snapshots per post (what readers did before schema 9);
* import 500: one X content export of 500 new posts (bench/scale_data.write_x_folder) through
  the importer, with its refresh left out.

The database is ``partitions_scale_<rows // 1,000,000>m`` and is dropped at the end unless --keep
(or --reuse of a kept one).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from collectors.pipeline import Importer  # noqa: E402
from collectors.store import database, schema  # noqa: E402
from dashboard.analysis import config, exports, metrics, queries, rollups  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def backend_cpu(conn_admin, db: str) -> float:
    pids = [r[0] for r in conn_admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (db,))]
    total = 0.0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def timed(admin, db, fn, runs):
    """Median wall, client CPU, server CPU of ``runs`` calls (the first call's result kept)."""
    walls, clients, servers, out = [], [], [], None
    for i in range(runs):
        s0, c0, t0 = backend_cpu(admin, db), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        r = fn(i)
        wall = time.perf_counter() - t0
        c1, s1 = resource.getrusage(resource.RUSAGE_SELF), backend_cpu(admin, db)
        walls.append(wall)
        clients.append(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
        servers.append(s1 - s0)
        out = r if out is None else out
    return statistics.median(walls), statistics.median(clients), statistics.median(servers), out


def build(engine, rows: int) -> dict:
    posts = rows // 20
    accounts = max(posts // 100, 10)
    m = ", ".join(("views", "impressions", "likes", "comments", "shares"))
    with engine.begin() as c:
        x = c.exec_driver_sql
        x("ALTER TABLE post_snapshots DISABLE TRIGGER post_latest_keep")
        x("INSERT INTO imports (id, sha256, file_name, size_bytes, imported_at, rows_read, rows_stored, rows_rejected, "
          "rows_skipped, source) VALUES (1, 'bench', 'bench.csv', 0, now(), 0, 0, 0, 0, 'file')")
        x(f"INSERT INTO influencers (id, name, category) SELECT i, 'Influencer ' || i, 'merchant' "
          f"FROM generate_series(1, {(accounts + 4) // 5}) i")
        x(f"INSERT INTO accounts (id, platform, account_key, handle, name, influencer_id) SELECT i, "
          f"CASE WHEN mod(i, 50) = 0 THEN 'youtube' WHEN mod(i, 3) = 0 THEN 'x' WHEN mod(i, 3) = 1 THEN 'facebook' ELSE 'instagram' END, "
          f"'acc' || i, 'acc' || i, 'Account ' || i, (i - 1) / 5 + 1 FROM generate_series(1, {accounts}) i")
        x(f"INSERT INTO posts (id, platform, post_id, account_pk, published_at, url, title, post_type, first_import_id) "
          f"SELECT p, a.platform, 'p' || p, a.id, timestamp '2024-07-01' + (p::float8 / {posts}) * interval '365 days', "
          f"'https://example.com/p/' || p, 'Post ' || p, 'post', 1 "
          f"FROM generate_series(1, {posts}) p JOIN accounts a ON a.id = mod(p - 1, {accounts}) + 1")
        x(f"INSERT INTO post_snapshots (post_pk, captured_at, import_id, {m}) "
          f"SELECT p.id, p.published_at + k * interval '1 day' + interval '1 hour', 1, "
          f"(k + 1) * 100 + mod(p.id, 1000), (k + 1) * 150, (k + 1) * 10, k + 1, k "
          f"FROM posts p CROSS JOIN generate_series(0, 19) k ORDER BY p.id, k")
        x(f"INSERT INTO post_days (post_pk, day, import_id, {m}) "
          f"SELECT p.id, (p.published_at + k * interval '1 day')::date, 1, 100 + mod(p.id, 100), 150, 10, 1, 0 "
          f"FROM posts p CROSS JOIN generate_series(0, 9) k ORDER BY p.id, k")
        schema.fill_post_latest(c)
        x("ALTER TABLE post_snapshots ENABLE TRIGGER post_latest_keep")
        for t in ("imports", "influencers", "accounts", "posts"):
            x(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE")
    return dict(posts=posts, accounts=accounts)


def storage(engine) -> dict:
    out = {}
    with engine.connect() as c:
        for t in ("posts", "post_snapshots", "post_days", "post_latest"):
            parts = c.execute(sa.text("SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(:t)"), {"t": t}).scalars().all()
            if parts:
                size = sum(c.execute(sa.text("SELECT pg_total_relation_size(:o)"), {"o": o}).scalar() for o in parts)
            else:
                size = c.execute(sa.text("SELECT pg_total_relation_size(to_regclass(:t))"), {"t": t}).scalar()
            n = c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
            out[t] = (size, n, len(parts))
    return out


# The steps of a refresh (``--steps``): each timed like the whole, summed over its calls.
STEPS = (("rollups", "_spool"), ("queries.rollup_store", "replace_days"), ("rollups", "analyze"),
         ("flag_store", "save"), ("flag_store", "save_account_times"), ("week_store", "save"),
         ("queries.posts", "post_bounds"), ("queries.frames", "frames_of_posts"))


def time_steps(admin, db) -> dict:
    """Wrap the refresh's steps (STEPS) so each call adds its wall, client and server CPU seconds
    to the returned dict (cleared by the caller between refreshes)."""
    import functools
    import importlib

    spent: dict = {}
    for mod, name in STEPS:
        m = importlib.import_module(f"dashboard.analysis.{mod}")
        f = getattr(m, name)

        def wrapper(*a, _f=f, _key=f"{mod}.{name}", **k):
            s0, c0, t0 = backend_cpu(admin, db), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            try:
                return _f(*a, **k)
            finally:
                c1 = resource.getrusage(resource.RUSAGE_SELF)
                n, w, c, sv = spent.get(_key, (0, 0.0, 0.0, 0.0))
                spent[_key] = (n + 1, w + time.perf_counter() - t0,
                               c + c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime, sv + backend_cpu(admin, db) - s0)
        setattr(m, name, functools.wraps(f)(wrapper))
    return spent


MEASURES = ("refresh", "export-youtube", "export-all", "live", "latest", "import")


def measure(engine, admin, db, campaign, runs, shape, files, first_file, only=MEASURES, warm=False,
            steps=None) -> dict:
    res = {}
    acc = list(range(1, 51))

    def refresh(i):
        if steps is not None:
            steps.clear()
        rollups.refresh(engine, campaign, acc)
        for k, (n, w, c, sv) in (steps or {}).items():
            print(f"    step {k:38} x{n:<3} wall {w:7.2f} s  client CPU {c:6.2f} s  server CPU {sv:6.2f} s", flush=True)
    if "refresh" in only and warm:
        # The bench's first refresh also stores every account's flags and times (none are stored
        # yet): timed apart, so the measured runs are the batch's own (as runs 2-3 of 3 are).
        res["refresh 50 accounts, first"] = timed(admin, db, refresh, 1)[:3]
    if "refresh" in only:
        res["refresh 50 accounts"] = timed(admin, db, refresh, runs)[:3]
    yt = metrics.Selection(platforms=("youtube",))
    if "export-youtube" in only:
        res["export youtube posts"] = timed(
            admin, db, lambda i: sum(len(b) for b in exports.csv_export(engine, "posts", campaign, yt)), runs)
    if "export-all" in only:
        res["export all posts"] = timed(
            admin, db, lambda i: sum(len(b) for b in exports.csv_export(engine, "posts", campaign)), runs)
    window = metrics.in_window(metrics.Selection(), campaign)
    if "live" in only:
        res["live posts+reach"] = timed(admin, db, lambda i: (queries.posts.published_counts(engine, campaign, window),
                                                              queries.posts.reach_range(engine, campaign, window)),
                                        runs)[:3]
    step = max(shape["posts"] // 10_000, 1)
    ids = f"SELECT id FROM posts WHERE mod(id, {step}) = 0 LIMIT 10000"
    cols = "l.post_pk, l.captured_at, l.views, l.likes"

    def q(sql):
        with engine.connect() as c:
            return len(c.exec_driver_sql(sql).all())
    if "latest" in only:
        res["latest 10k post_latest"] = timed(admin, db, lambda i: q(
            f"SELECT {cols} FROM ({ids}) p JOIN post_latest l ON l.post_pk = p.id"), runs)
        res["latest 10k probe"] = timed(admin, db, lambda i: q(
            f"SELECT {cols} FROM ({ids}) p CROSS JOIN LATERAL (SELECT * FROM post_snapshots s WHERE s.post_pk = p.id "
            f"ORDER BY s.captured_at DESC LIMIT 1) l"), runs)

    def imp(i):
        path = files[first_file + i]
        r = Importer(engine, None).import_bytes(path.name, path.read_bytes())
        assert r.ok and r.status == "imported", r.line()
        return r.snapshots
    if "import" in only:
        res["import 500 posts"] = timed(admin, db, imp, runs)
    return res


def reusable(admin, url, db: str, rows: int) -> bool:
    """Whether ``db`` exists and holds this bench's shape for ``rows`` (its posts counted, its
    snapshots estimated from the planner's statistics: an exact count at 100 M takes minutes)."""
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
        return False
    with psycopg.connect(url.replace("+psycopg", "")) as c:
        if c.execute("SELECT to_regclass('post_snapshots') IS NULL").fetchone()[0]:
            return False
        posts = c.execute("SELECT count(*) FROM posts WHERE post_id LIKE 'p%'").fetchone()[0]
        # The table's own estimate, or its partitions' (a partitioned parent's estimate is their sum
        # once analyzed, -1 before: never both).
        snaps = c.execute("SELECT coalesce(sum(c.reltuples), 0) FROM pg_class c WHERE c.relkind = 'r' AND "
                          "(c.oid = 'post_snapshots'::regclass OR c.oid IN "
                          "(SELECT inhrelid FROM pg_inherits WHERE inhparent = 'post_snapshots'::regclass))").fetchone()[0]
    return posts == rows // 20 and abs(snaps - rows) <= 0.02 * rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reuse", action="store_true",
                    help="measure partitions_scale_<rows> as it is when it holds these rows (a --keep of an "
                         "earlier run; then kept), build it when there is none, stop when it holds other rows; "
                         "a partitioned one is measured partitioned only")
    ap.add_argument("--only", default=",".join(MEASURES), help=f"measurements to make, of {','.join(MEASURES)}")
    ap.add_argument("--warm", action="store_true",
                    help="before the measured refreshes, one refresh timed apart ('first': it stores every flag)")
    ap.add_argument("--steps", action="store_true", help="print each refresh's steps (STEPS) as it ends")
    ap.add_argument("--unpartitioned-only", action="store_true", help="skip the partitioning step and what follows")
    a = ap.parse_args()
    only = tuple(m for m in a.only.split(",") if m)
    bad = [m for m in only if m not in MEASURES]
    if bad:
        ap.error(f"unknown measurements {bad}")
    db = f"partitions_scale_{a.rows // 1_000_000}m"
    admin = psycopg.connect(ADMIN, autocommit=True)
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
    reuse = a.reuse and reusable(admin, url, db, a.rows)
    if a.reuse and not reuse and admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
        sys.exit(f"{db} exists but does not hold this bench's {a.rows:,} rows: not dropped (drop it to rebuild)")
    if not reuse:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{db}"')
    campaign = config.load(ROOT / "campaign.toml")
    from scale_data import write_x_folder

    tmp = Path(tempfile.mkdtemp(prefix="partitions-bench-"))
    try:
        engine = sa.create_engine(url)
        if reuse:
            with engine.connect() as c:
                first = c.exec_driver_sql("SELECT count(*) FROM imports").scalar()  # files not imported before
                partitioned = bool(c.exec_driver_sql(
                    "SELECT count(*) FROM pg_inherits WHERE inhparent = 'post_snapshots'::regclass").scalar())
            shape = dict(posts=a.rows // 20, accounts=max(a.rows // 20 // 100, 10))
            labels = ("partitioned",) if partitioned else ("unpartitioned",) if a.unpartitioned_only \
                else ("unpartitioned", "partitioned")
            print(f"reusing {db} ({'partitioned' if partitioned else 'unpartitioned'}), {shape}", flush=True)
        else:
            first, partitioned = 0, False
            database.migrate(engine, upto=9)
            t0 = time.perf_counter()
            shape = build(engine, a.rows)
            print(f"built {a.rows:,} snapshot rows, {shape} in {time.perf_counter() - t0:.0f} s", flush=True)
            with engine.begin() as c:  # the rollups' state as a refresh of everything would leave it,
                # so a batch refresh recomputes its accounts only (no full refresh at this size here)
                c.execute(schema.meta_table.insert().values(key=rollups.STATE_KEY, value=rollups.fingerprint(campaign)))
            labels = ("unpartitioned",) if a.unpartitioned_only else ("unpartitioned", "partitioned")
        write_x_folder(tmp, 2 * a.runs, 500, first=first, prefix="PgScale")
        files = sorted(tmp.rglob("*.csv"))
        results = {}
        steps = time_steps(admin, db) if a.steps else None
        for label in labels:
            if label == "partitioned" and not partitioned:
                s0, t0 = backend_cpu(admin, db), time.perf_counter()
                with database.write_transaction(engine) as conn:  # `reach doctor --partition-by-month`
                    schema.partition_by_month(conn)
                print(f"partitioning step: {time.perf_counter() - t0:.1f} s wall, server CPU {backend_cpu(admin, db) - s0:.1f} s", flush=True)
            st = storage(engine)
            for t, (size, n, parts) in st.items():
                print(f"{label:14} {t:15} {size / 1e6:9.1f} MB {n:>12,} rows {size / max(n, 1):6.0f} B/row {parts} partitions", flush=True)
            results[label] = measure(engine, admin, db, campaign, a.runs, shape, files,
                                     0 if label == labels[0] else a.runs, only, a.warm and label == labels[0],
                                     steps)
            for k, v in results[label].items():
                print(f"{label:14} {k:27} wall {v[0]:7.3f} s  client CPU {v[1]:6.2f} s  server CPU {v[2]:6.2f} s", flush=True)
        if len(results) == 2:
            print("ratios partitioned / unpartitioned (wall, server CPU):")
            for k, v in results["partitioned"].items():
                if k not in results["unpartitioned"]:
                    continue
                b = results["unpartitioned"][k]
                print(f"  {k:27} {v[0] / b[0]:5.2f}  {v[2] / b[2] if b[2] else float('nan'):5.2f}")
        engine.dispose()
    finally:
        if not a.keep and not reuse:
            admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    print(f"done {datetime.now(timezone.utc):%H:%M} UTC")


if __name__ == "__main__":
    main()

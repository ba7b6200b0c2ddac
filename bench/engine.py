"""The metrics engine alone: snapshots to daily increments to the per-account rollup rows.

    .venv/bin/python bench/engine.py                  # 25 accounts x 500 posts, old vs new, medians of 3
    .venv/bin/python bench/engine.py --profile        # cProfile of the new engine
    .venv/bin/python bench/engine.py --old FILE       # compare with another metrics.py (default: git HEAD's)
    .venv/bin/python bench/engine.py --db             # rollups.refresh on 25 imported X content files
    .venv/bin/python bench/engine.py --fuzz 0 500     # old == new exactly on 500 random hostile campaigns

The frames are what ``queries.frames.load_frames`` returns for a campaign of ``--files`` X content
exports of ``--posts`` posts each (one account per file, posts published over the 180 days
before the first capture, ``--captures`` weekly captures, about 2% of values dropping between
captures, as platform corrections do). The database is left out: this times the engine that
``rollups.refresh`` runs (``metrics.increments`` and ``rollups._rollup_rows``), and checks the
old and the new engine give exactly equal frames. Old and new alternate, so machine noise hits
both alike.
"""
from __future__ import annotations

import argparse
import cProfile
import importlib.util
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.model import METRICS  # noqa: E402
from dashboard.analysis import metrics, rollups  # noqa: E402
from dashboard.analysis.config import Campaign  # noqa: E402

X_METRICS = ("impressions", "likes", "comments", "shares", "saves", "clicks", "followers_gained")


def frames(files: int, posts: int, captures: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    n = files * posts
    first_capture = pd.Timestamp("2024-12-22 09:30", tz="UTC")
    pub = first_capture - pd.to_timedelta(rng.uniform(0, 180 * 86400, n), unit="s")
    pub = pub.floor("s")
    post_pk = np.arange(1, n + 1)
    account_pk = np.repeat(np.arange(1, files + 1), posts)
    p = pd.DataFrame(dict(post_pk=post_pk, platform="x", post_id=post_pk.astype(str),
                          account=[f"acc{a}" for a in account_pk], account_pk=account_pk,
                          influencer=[f"inf{a % 7}" for a in account_pk], category="cat",
                          published_at=pub, url="", title="", post_type="post"))
    rows = []
    base = {m: rng.poisson(200, n).astype(float) for m in X_METRICS}
    for c in range(captures):
        at = first_capture + pd.Timedelta(days=7 * c) + pd.Timedelta(minutes=int(rng.integers(0, 600)))
        s = pd.DataFrame(dict(post_pk=post_pk, platform="x", published_at=pub, captured_at=at))
        for m in METRICS:
            s[m] = np.nan
        for m in X_METRICS:
            if c:
                grow = rng.poisson(20, n).astype(float)
                drop = rng.random(n) < 0.02
                base[m] = np.where(drop, np.maximum(base[m] - rng.poisson(30, n), 0), base[m] + grow)
            s[m] = base[m]
        rows.append(s)
    snaps = pd.concat(rows, ignore_index=True)
    days = pd.DataFrame(columns=["post_pk", "day", *METRICS])
    return p, snaps, days


def _old_path(given: Path | None) -> Path:
    if given is not None:
        return given
    path = Path(tempfile.gettempdir()) / "metrics_old_bench.py"
    path.write_text(subprocess.run(["git", "-C", str(ROOT), "show", "HEAD:dashboard/analysis/metrics.py"],
                                   capture_output=True, text=True, check=True).stdout)
    return path


def load(path: Path):
    spec = importlib.util.spec_from_file_location("dashboard._metrics_bench_old", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def run(mod, p, snaps, days, campaign):
    inc = mod.increments(snaps, days, campaign)
    saved = rollups.metrics
    rollups.metrics = mod
    try:
        rows = rollups._rollup_rows(inc, p, campaign)
    finally:
        rollups.metrics = saved
    return inc, rows


def refresh_case(files: int, posts: int, repeat: int, old) -> None:
    """``rollups.refresh`` of every account after importing ``files`` X content exports of ``posts``
    posts (bench/import_throughput.py's writer) into a fresh SQLite file; old and new engine
    alternate, and the stored rollup rows must be the same."""
    import sqlalchemy as sa

    from bench.import_throughput import _x_csv
    from collectors.archive import Archive
    from collectors.pipeline import Importer
    from collectors.store import database, schema

    campaign = Campaign(timezone="Asia/Shanghai")
    with tempfile.TemporaryDirectory() as tmp:
        engine = database.connect(str(Path(tmp) / "reach.db"))
        importer = Importer(engine, Archive(Path(tmp) / "archive"))
        t = time.perf_counter()
        for k in range(files):
            res = importer.import_bytes(f"account_analytics_content_2024-12-16_2024-12-22 ({k}).csv",
                                        _x_csv(posts, seed=100 + k))
            if res.status != "imported":
                raise SystemExit(f"benchmark import failed: {res.line()}")
        print(f"imported {files} files in {time.perf_counter() - t:.1f} s")
        times = {"old": [], "new": []}
        stored = {}
        for _ in range(repeat):
            for name, mod in (("old", old), ("new", metrics)):
                saved = rollups.metrics
                rollups.metrics = mod
                try:
                    t = time.perf_counter()
                    n = rollups.refresh(engine, campaign)
                    times[name].append(time.perf_counter() - t)
                finally:
                    rollups.metrics = saved
                with engine.connect() as conn:
                    stored[name] = conn.execute(sa.select(schema.daily_rollup).order_by(
                        schema.daily_rollup.c.account_pk, schema.daily_rollup.c.day)).all()
        engine.dispose()
    assert stored["old"] == stored["new"], "old and new engines stored different rollups"
    o, nw = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"rollups.refresh, {n} rows: identical; old {o:.2f} s, new {nw:.2f} s (medians of {repeat}): {o / nw:.1f}x")


def fuzz_case(seed):
    """Small hostile campaigns: DST and half-hour timezones, unknown or late publish times,
    captures at midnight and several a day, drops, definition changes, daily rows, both
    first-snapshot rules."""
    from datetime import date

    from dashboard.analysis.config import DefinitionChange

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    tz = rng.choice(["Asia/Shanghai", "America/New_York", "Europe/London", "UTC", "Australia/Lord_Howe"])
    base = pd.Timestamp("2024-03-05", tz="UTC")
    rows = []
    for pk in range(1, n + 1):
        pub = base + pd.Timedelta(hours=float(rng.uniform(0, 24 * 60)))
        pub = pub.floor(rng.choice(["s", "h", "D"]))
        if rng.random() < .1: pub = pd.NaT
        k = int(rng.integers(1, 6))
        caps = sorted(base + pd.Timedelta(hours=float(h)) for h in rng.uniform(-48, 24 * 90, k))
        caps = [c.floor(rng.choice(["s", "h", "D"])) for c in caps]
        vals = {m: 0.0 for m in METRICS}
        for c in caps:
            r = dict(post_pk=pk * 7, platform=rng.choice(["x", "youtube"]), published_at=pub, captured_at=c)
            for m in METRICS:
                u = rng.random()
                if u < .1: r[m] = np.nan; continue
                if u < .25: vals[m] = max(vals[m] - float(rng.integers(0, 50)), 0)
                else: vals[m] += float(rng.choice([rng.integers(0, 100), rng.uniform(0, 10)]))
                r[m] = vals[m]
            rows.append(r)
    snaps = pd.DataFrame(rows)
    snaps["published_at"] = pd.to_datetime(snaps["published_at"], utc=True)
    days = pd.DataFrame(columns=["post_pk", "day", *METRICS])
    if rng.random() < .5:
        pks = rng.choice(snaps["post_pk"].unique(), size=min(3, n), replace=False)
        days = pd.DataFrame([dict(post_pk=pk, day=pd.Timestamp("2024-03-10") + pd.Timedelta(days=int(d)), views=float(rng.integers(0, 9)),
                                  likes=np.nan) for pk in pks for d in range(4)])
    ch = ()
    if rng.random() < .4:
        ch = (DefinitionChange(platform="x", metric="views", day=date(2024, 4, 1)),)
    c = Campaign(timezone=str(tz), start=date(2024, 3, 20) if rng.random() < .5 else None,
                 first_snapshot=rng.choice(["publish", "baseline"]), definition_changes=ch)
    return snaps, days, c

def fuzz(first: int, last: int, old) -> None:
    """Old and new engine on ``fuzz_case(seed)`` for each seed: exactly equal increments, wide
    frames and aggregates."""
    from datetime import date

    for seed in range(first, last):
        snaps, days, c = fuzz_case(seed)
        a, b = old.increments(snaps, days, c), metrics.increments(snaps, days, c)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        posts = snaps.drop_duplicates("post_pk")[["post_pk", "platform", "published_at"]].assign(
            account_pk=lambda f: f["post_pk"] % 3, influencer="i", category="c", account="a")
        for start, end in ((None, None), (date(2024, 3, 15), date(2024, 4, 2))):
            so, sn = old.Selection(start=start, end=end), metrics.Selection(start=start, end=end)
            pd.testing.assert_frame_equal(old._wide(a, posts, so, c), metrics._wide(b, posts, sn, c),
                                          check_exact=True, check_column_type=True)
            for by in (["platform"], ["account", "day"], ["week"], []):
                pd.testing.assert_frame_equal(old.aggregate(a, posts, c, by=by, sel=so),
                                              metrics.aggregate(b, posts, c, by=by, sel=sn), check_exact=True)
    print(f"seeds {first}..{last - 1}: old and new engines agree exactly")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=25)
    ap.add_argument("--posts", type=int, default=500)
    ap.add_argument("--captures", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old", type=Path)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--fuzz", type=int, nargs=2, metavar=("FIRST", "LAST"), help="compare on random seeds")
    ap.add_argument("--db", action="store_true", help="time rollups.refresh on imported files instead")
    a = ap.parse_args()
    if a.fuzz:
        return fuzz(*a.fuzz, load(_old_path(a.old)))
    if a.db:
        return refresh_case(a.files, a.posts, a.repeat, load(_old_path(a.old)))
    p, snaps, days = frames(a.files, a.posts, a.captures)
    campaign = Campaign(timezone="Asia/Shanghai", start=None, first_snapshot="publish")
    print(f"{len(p)} posts, {len(snaps)} snapshots")
    if a.profile:
        pr = cProfile.Profile()
        pr.enable()
        inc, rows = run(metrics, p, snaps, days, campaign)
        pr.disable()
        print(f"{len(inc)} increments, {len(rows)} rollup rows")
        pstats.Stats(pr).sort_stats("cumulative").print_stats(30)
        return
    old = load(_old_path(a.old))
    times = {"old": [], "new": []}
    results = {}
    for _ in range(a.repeat):
        for name, mod in (("old", old), ("new", metrics)):
            t = time.perf_counter()
            results[name] = run(mod, p, snaps, days, campaign)
            times[name].append(time.perf_counter() - t)
    pd.testing.assert_frame_equal(results["old"][0], results["new"][0], check_exact=True)
    assert results["old"][1] == results["new"][1]
    o, n = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"{len(results['new'][0])} increments, {len(results['new'][1])} rollup rows: identical")
    print(f"old {o:.2f} s, new {n:.2f} s (medians of {a.repeat}): {o / n:.1f}x")


if __name__ == "__main__":
    main()

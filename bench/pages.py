"""Dashboard: the Influencers page on the demo campaign, before and after the per-influencer
panel and the shared cache.

    .venv/bin/python bench/pages.py                      # builds the demo campaign in a temp folder; 5 runs
    .venv/bin/python bench/pages.py --db data/reach.db   # an existing database instead
    .venv/bin/python bench/pages.py --write-doc          # also update docs/performance.md

Timed in this one process, interleaved so that machine noise hits every case alike, for three
influencers (the first, the middle and the last row of the leaderboard):

* click, whole campaign: what a click on a leaderboard row cost before: ``load_frames`` and
  ``posts_frame`` of the whole database and the anomaly scan of the whole campaign, then the panel
  (``focus_panel`` given those posts and flags: the same components);
* click, their accounts: ``focus_panel`` as the page calls it now, outside an app (no cache): the
  influencer's accounts read and scanned alone (``influencers.focus_data``);
* click, cache miss / cache hit: the same inside an app whose shared cache (dashboard/web/cache.py) is
  empty (the first click after an import: compute, then store) or holds the entry;
* layout, no cache / cache hit: ``influencers.layout()`` (the leaderboard of the campaign window)
  in an app with the cache turned off, and with the entry stored.

Medians over runs and influencers; the machine is noisy (runs vary 2-3x), so read the ratios.
The cache lives in a temporary folder (REACH_CACHE_DIR), never beside the measured database.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.store import database  # noqa: E402
from dashboard.analysis import anomalies, config, exports, leaderboard, metrics, queries  # noqa: E402
from dashboard.web import cache  # noqa: E402
from dashboard.web import filters as F  # noqa: E402
from dashboard.web.app import create_app  # noqa: E402
from dashboard.web.pages import influencers as P  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
MARK_BEGIN, MARK_END = "<!-- bench-pages:begin -->", "<!-- bench-pages:end -->"
CASES = [("click_whole", "click, whole campaign (before)"), ("click_subset", "click, their accounts (after, no cache)"),
         ("click_miss", "click, cache miss (compute and store)"), ("click_hit", "click, cache hit"),
         ("layout_none", "page layout, no cache"), ("layout_hit", "page layout, cache hit")]


def click_whole(eng, campaign, f, name):
    """The panel as it was computed before: everything of the whole campaign, then one influencer."""
    frames = queries.frames.load_frames(eng)
    posts = exports.posts_frame(eng)
    flags = anomalies.anomalies(frames, metrics.increments(frames.snapshots, frames.post_days, campaign), campaign)
    return P.focus_panel(eng, campaign, f, name, posts=posts, flags=flags)


def app_with_cache(eng, folder: str):
    old = os.environ.get(cache.ENV)
    os.environ[cache.ENV] = folder
    try:
        return create_app(eng)
    finally:
        if old is None:
            os.environ.pop(cache.ENV)
        else:
            os.environ[cache.ENV] = old


def clear(folder: Path) -> None:
    for p in folder.iterdir():
        if p.is_file():
            p.unlink()


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(db: str, repeat: int) -> dict:
    eng = database.connect(db, create=False)
    campaign = config.load(ROOT / "campaign.toml")
    f = F.parse("")
    board = leaderboard.leaderboard(queries.frames.load_frames(eng), campaign, F.view_selection(f, campaign))
    names = [board["influencer"].iloc[i] for i in sorted({0, len(board) // 2, len(board) - 1})]
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="reach-bench-pages-"))
    folder = work / "cache"
    cached, plain = app_with_cache(eng, str(folder)), app_with_cache(eng, "off")
    times = {k: [] for k, _ in CASES}
    try:
        for r in range(repeat):
            for name in names:
                times["click_whole"].append(timed(lambda: click_whole(eng, campaign, f, name)))
                times["click_subset"].append(timed(lambda: P.focus_panel(eng, campaign, f, name)))
                with cached.server.app_context():
                    clear(folder)
                    times["click_miss"].append(timed(lambda: P.focus_panel(eng, campaign, f, name)))
                    times["click_hit"].append(timed(lambda: P.focus_panel(eng, campaign, f, name)))
            with plain.server.test_request_context("/influencers"):
                times["layout_none"].append(timed(P.layout))
            with cached.server.test_request_context("/influencers"):
                P.layout()  # stores the entry if a click run cleared it
                times["layout_hit"].append(timed(P.layout))
            print(f"run {r + 1}/{repeat}: " + ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms"
                                                         for k, v in times.items()), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    frames = queries.frames.load_frames(eng)
    size = dict(influencers=len(board), posts=len(frames.posts), snapshots=len(frames.snapshots),
                post_days=len(frames.post_days), account_days=len(frames.account_days))
    eng.dispose()
    # Other work on the machine slows every case alike: the ratios hold, the absolute times do not.
    return dict(times=times, names=names, size=size, repeat=repeat, load=(load_before, os.getloadavg()[0]))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def table(result) -> list[str]:
    med = {k: statistics.median(v) for k, v in result["times"].items()}
    base = {"click_whole": med["click_whole"], "click_subset": med["click_whole"], "click_miss": med["click_whole"],
            "click_hit": med["click_whole"], "layout_none": med["layout_none"], "layout_hit": med["layout_none"]}
    rows = ["| case | median | runs (min-max) | speed-up |", "|---|---:|---:|---:|"]
    for k, label in CASES:
        v = result["times"][k]
        rows.append(f"| {label} | {_ms(med[k])} | {_ms(min(v))} - {_ms(max(v))} | {base[k] / med[k]:.1f}x |")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="an existing database, read as the pages read it (default: the demo campaign, "
                                 "built in a temporary folder)")
    ap.add_argument("--repeat", type=int, default=5, help="runs; medians are reported (default 5)")
    ap.add_argument("--write-doc", action="store_true", help="put the results into docs/performance.md")
    args = ap.parse_args(argv)
    tmp = None
    db = args.db
    if db is None:
        from dashboard.cli import main as reach

        tmp = Path(tempfile.mkdtemp(prefix="reach-bench-demo-"))
        print("building the demo campaign (reach demo) ...", flush=True)
        t = time.perf_counter()
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            status = reach(["demo", "--db", str(tmp / "reach.db"), "--folder", str(tmp / "exports")])
        if status != 0:
            print("reach demo failed", file=sys.stderr)
            return 1
        print(f"  built in {time.perf_counter() - t:.0f} s", flush=True)
        db = str(tmp / "reach.db")
    try:
        result = run(db, args.repeat)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("\n".join(table(result)))
    if args.write_doc:
        cmd = ".venv/bin/python bench/pages.py" + ("" if args.repeat == 5 else f" --repeat {args.repeat}") + (
            f" --db {args.db}" if args.db else "")
        write_doc(result, cmd)
    return 0


def write_doc(result, cmd: str) -> None:
    """Replace the measured block between the pages markers in docs/performance.md."""
    import pandas as pd

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    s = result["size"]
    what = "the demo campaign (`reach demo`)" if "--db" not in cmd else "the given database"
    load = result["load"]
    text = (f"Measured {when} with `{cmd}` on {platform.node() or 'this machine'}: {os.cpu_count()} cores "
            f"(`nproc`), load average {load[0]:.1f} at the start and {load[1]:.1f} at the end (1 minute; "
            f"other jobs slow every case alike, so read the ratios), Python {platform.python_version()}, "
            f"pandas {pd.__version__}, SQLite {sqlite3.sqlite_version}; {what}: {s['influencers']} "
            f"influencers on the leaderboard, {s['posts']:,} posts, {s['snapshots']:,} snapshots, "
            f"{s['post_days']:,} post-days, {s['account_days']:,} account-days. Medians of "
            f"{result['repeat']} runs x {len(result['names'])} influencers ({', '.join(result['names'])}) "
            f"for the clicks, of {result['repeat']} runs for the layout; speed-up against the first row of "
            "its group.")
    block = [MARK_BEGIN, "", textwrap.fill(text, 100, break_on_hyphens=False), "", *table(result), "", MARK_END]
    text = DOC.read_text(encoding="utf-8")
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + "\n".join(block) + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Dashboard\n\n" + "\n".join(block) + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"updated {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())

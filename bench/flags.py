"""The Live flags at scale: the refresh's flag step (``flag_store.save``, everything) and the page
computing the flags itself (``live.live_flags``), on the synthetic campaign of
tests/test_query_plans.py (``build_campaign``: rising lifetime snapshots, daily rows for every
fifth post, account days; its likes exceed its views on every post, so nearly every flag is an
impossible value).

    .venv/bin/python bench/flags.py                  # 99,990 posts (3,333 accounts of 30), SQLite in a temp folder
    .venv/bin/python bench/flags.py --posts 29970    # a smaller campaign (a multiple of 30)

One run: build (not timed), a full rollup refresh with the flag step timed inside it, then
``live_flags`` once; prints seconds, the number of flags and the process's peak memory.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dashboard.analysis import config, flag_store, rollups  # noqa: E402
from dashboard.web.pages import live  # noqa: E402
from test_query_plans import CAMPAIGN_TOML, build_campaign  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=99_990, help="posts, a multiple of 30 (default 99,990)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "campaign.toml").write_text(CAMPAIGN_TOML)
        campaign = config.load(str(Path(tmp) / "campaign.toml"))
        started = time.perf_counter()
        engine = build_campaign(f"sqlite:///{Path(tmp) / 'reach.db'}", n_posts=args.posts, per_account=30)
        print(f"build {time.perf_counter() - started:.1f} s ({args.posts:,} posts)")
        save, took = flag_store.save, {}

        def timed(*a, **k):
            t = time.perf_counter()
            out = save(*a, **k)
            took["save"] = time.perf_counter() - t
            return out

        flag_store.save = timed
        started = time.perf_counter()
        rollups.refresh(engine, campaign)
        print(f"refresh {time.perf_counter() - started:.1f} s, of which the flag step {took.get('save', float('nan')):.1f} s")
        started = time.perf_counter()
        flags = live.live_flags(engine, campaign)
        print(f"live_flags {time.perf_counter() - started:.1f} s, {len(flags):,} flags")
        print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
        engine.dispose()


if __name__ == "__main__":
    main()

"""The goals' forecast backtested on the demo campaign (dashboard/analysis/goals.py, docs/metrics.md).

    .venv/bin/python bench/forecast_backtest.py                       # builds the demo in a temp folder
    .venv/bin/python bench/forecast_backtest.py --db data/reach.db    # an existing database instead
    .venv/bin/python bench/forecast_backtest.py --write-doc           # also the table in docs/metrics.md

For each series (the campaign's views, engagements and posts, and views per platform) and each
cutoff day from the 8th day of the campaign to its last but one, the forecast is made from the
days before the cutoff only, of the total at the campaign's end, and compared with that total as
the database holds it. Reported per series: how often the 80% interval held the truth (overall,
and in the campaign's first, middle and last third of cutoffs), and the median absolute error of
the central value. The demo's days are final (every export read), so this is the forecast's
error when the past days are known exactly; a live campaign's last days still grow with later
exports, which adds to it.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from dashboard.analysis import config, goals  # noqa: E402

DOC = ROOT / "docs" / "metrics.md"
MARK_BEGIN, MARK_END = "<!-- bench-forecast:begin -->", "<!-- bench-forecast:end -->"


def series_of(eng, campaign, goal) -> pd.Series:
    rows = goals.daily(eng, campaign, goal, campaign.start, campaign.end)
    days = pd.date_range(campaign.start, campaign.end)
    return rows.groupby("day")["value"].sum().reindex(days, fill_value=0.0)


def run(eng, campaign) -> list[dict]:
    cases = [("views", ()), ("engagements", ()), ("posts", ())]
    cases += [("views_or_impressions", (p,)) for p in ("x", "youtube", "tiktok", "douyin", "bilibili", "weibo")]
    first = campaign.start + timedelta(days=goals.MIN_DAYS)
    cutoffs = [first + timedelta(days=k) for k in range((campaign.end - first).days)]
    out = []
    for metric, platforms in cases:
        goal = config.Goal(metric, 1.0, platforms=platforms, deadline=campaign.end)
        s = series_of(eng, campaign, goal)
        if s.sum() <= 0:
            continue
        bt = goals.backtest(s, float(s.sum()), cutoffs, campaign.end)
        thirds = [part for part in (bt.iloc[: len(bt) // 3], bt.iloc[len(bt) // 3: 2 * len(bt) // 3],
                                    bt.iloc[2 * len(bt) // 3:])]
        out.append(dict(series=f"{metric}" + (f" ({platforms[0]})" if platforms else ""), cutoffs=len(bt),
                        inside=bt["inside"].mean(), thirds=[p["inside"].mean() for p in thirds],
                        mae=bt["error"].abs().median(), mae_thirds=[p["error"].abs().median() for p in thirds]))
    return out


def table(rows: list[dict]) -> list[str]:
    lines = ["| series | cutoffs | interval held the truth | first / middle / last third | median abs. error "
             "of the central value | first / middle / last third |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['series']} | {r['cutoffs']} | {r['inside']:.0%} | "
                     + " / ".join(f"{x:.0%}" for x in r["thirds"]) + f" | {r['mae']:.1%} | "
                     + " / ".join(f"{x:.1%}" for x in r["mae_thirds"]) + " |")
    total = sum(r["cutoffs"] for r in rows)
    held = sum(r["inside"] * r["cutoffs"] for r in rows) / total if total else float("nan")
    lines.append(f"| **all series** | {total} | **{held:.0%}** | | | |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="a database to backtest on (default: the demo, built in a temporary folder)")
    ap.add_argument("--config", default=str(ROOT / "campaign.toml"), help="campaign.toml (default: the repository's)")
    ap.add_argument("--write-doc", action="store_true", help="write the table into docs/metrics.md")
    args = ap.parse_args(argv)
    campaign = config.load(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            db = str(Path(tmp) / "reach.db")
            subprocess.run([sys.executable, "-m", "dashboard.cli", "demo", "--db", db, "--folder",
                            str(Path(tmp) / "exports")], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        eng = sa.create_engine(db if "://" in db else f"sqlite:///{db}")
        rows = run(eng, campaign)
        eng.dispose()
    lines = table(rows)
    print("\n".join(lines))
    if args.write_doc:
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        src = "the demo campaign (`reach demo`)" if args.db is None else f"`{args.db}`"
        block = [MARK_BEGIN, "", f"Measured {when} with `.venv/bin/python bench/forecast_backtest.py --write-doc` on "
                 f"{src}, campaign {campaign.start} to {campaign.end}; cutoffs: each day from the "
                 f"{goals.MIN_DAYS + 1}th to the last but one.", "", *lines, "", MARK_END]
        text = DOC.read_text(encoding="utf-8")
        if MARK_BEGIN in text and MARK_END in text:
            head, rest = text.split(MARK_BEGIN, 1)
            text = head + "\n".join(block) + rest.split(MARK_END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + "\n".join(block) + "\n"
        DOC.write_text(text, encoding="utf-8")
        print(f"written to {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

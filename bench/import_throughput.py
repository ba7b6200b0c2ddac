"""Import throughput: how fast a million-row export goes from bytes to the database.

    make bench                                   # = .venv/bin/python bench/import_throughput.py
    .venv/bin/python bench/import_throughput.py --rows 200000 --repeat 5
    .venv/bin/python bench/import_throughput.py --write-doc   # also rewrite docs/performance.md

For each case (an X Premium "Content" export, one row per post; a YouTube Studio "Chart data"
export in its ZIP, one row per video and day) it writes the file into a temporary folder and
times, in this one process and interleaved so that machine noise hits them alike:

* ``pandas.read_csv(path, dtype=str)``: the baseline, the cheapest way to get the cells at all;
* ``Importer.import_bytes`` into a fresh SQLite file: read, detect, parse, one transaction,
  archive (the bytes are already in memory; opening the database and migrating are not timed);
* the same bytes again, which must be recognised by their sha256 and change nothing.

Peak memory is the maximum resident set of one import run alone in a child process, read with
``getrusage(RUSAGE_CHILDREN)`` in a wrapper process that runs only that child: the whole
``Importer.import_bytes`` (read, detect, parse, store, archive) plus the interpreter and its
libraries, which the child also reports alone (``baseline``). A second measurement takes a
300,000-row X content export as X writes it (some post texts over several lines, so the reader's
csv-module path, not the pandas one, reads it) and aims under 500 MB (``--peak-rows``). Medians of
``--repeat`` runs are reported; the machine is noisy (runs vary 2-3x), so compare ratios measured
in the same process, and treat gaps under 1.5x as ties.
"""
from __future__ import annotations

import argparse
import gc
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "performance.md"
AIM_ROWS_S = 200_000
AIM_PEAK_MB = 1024
AIM_REIMPORT_S = 1.0
AIM_PEAK_300K_MB = 500  # issue 10: a 300,000-row X export peaked at 2.7 GB

X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"
X_HEADER = ("Post id,Date,Post text,Post Link,Impressions,Likes,Engagements,Bookmarks,Shares,New follows,"
            "Replies,Reposts,Profile visits,Detail Expands,URL Clicks,Hashtag Clicks,Permalink Clicks")
YT_ZIP = "Content 2022-01-01_2024-09-26 Bench Channel.zip"
YT_MEMBER = "Chart data.csv"
YT_HEADER = "Date,Content,Video title,Video publish time,Duration,Views"

_TEXTS = [
    "Yiwu hosts the Belt and Road \"Jin\" Hub campaign launch #BRI #Yiwu https://t.co/{k}",
    "Small commodities, big world: {n} traders met buyers from 40 countries today https://t.co/{k}",
    "Live now from the International Trade City, day {n}",
    "Thread 1/{n} on how a market town became a global hub",
    "\u201cWe came for the lanterns, we stayed for the people\u201d, said a visitor from Lagos",
    "Photo of the day #{n}",
    "Replying to @partner: thanks, see you at booth {n}!",
    "Export volume rose 12.4% year on year, reaching 5,6{n} containers",
    "Watch: the making of a Christmas ornament, start to finish (3 min) https://t.co/{k}",
    "Food street tour \U0001f35c part {n}",
]


def _x_csv(rows: int, seed: int = 1, multiline: bool = False) -> bytes:
    """An X Premium content export: 19-digit ids, quoted "Sun, Dec 22, 2024" dates, quoted text
    (with ``multiline``, one post in 50 has a line break in its text, as real exports do)."""
    rng = np.random.default_rng(seed)
    ids = 1_869_000_000_000_000_000 + np.arange(rows, dtype=np.int64) * 7919 + rng.integers(0, 7000, rows)
    days = [date(2024, 12, 16) + timedelta(d) for d in range(7)]
    day_text = [f'"{d:%a, %b} {d.day}, {d.year}"' for d in days]
    day_idx = rng.integers(0, 7, rows)
    handles = [f"account{i:03d}" for i in range(200)]
    acc = rng.integers(0, len(handles), rows)
    tpl = rng.integers(0, len(_TEXTS), rows)
    # Counts shaped like the real sample (samples/real/twitter/*_x_content_*.csv): impressions in
    # the hundreds to thousands, engagements and detail expands in the tens, the rest mostly 0-3.
    means = [1500, 8, 40, 1, 0.3, 0.2, 1, 2, 2, 15, 1, 0.2, 0.2]
    m = np.column_stack([rng.negative_binomial(1, 1 / (1 + mu), rows) for mu in means])
    parts = [X_HEADER]
    for i in range(rows):
        t = _TEXTS[tpl[i]].format(n=i % 997, k=f"{ids[i] % 99991:x}")
        if multiline and i % 50 == 7:
            t = t.replace(" ", "\n", 1)
        if "," in t or '"' in t or "\n" in t:
            t = '"' + t.replace('"', '""') + '"'
        r = m[i]
        parts.append(
            f"{ids[i]},{day_text[day_idx[i]]},{t},https://x.com/{handles[acc[i]]}/status/{ids[i]},"
            f"{r[0]},{r[1]},{r[2]},{r[3]},{r[4]},{r[5]},{r[6]},{r[7]},{r[8]},{r[9]},{r[10]},{r[11]},{r[12]}"
        )
    return ("\n".join(parts) + "\n").encode("utf-8")


def _yt_csv(rows: int, seed: int = 2) -> bytes:
    """A YouTube Studio Chart data table: ~1,000 videos x N days, one row per video and day."""
    rng = np.random.default_rng(seed)
    videos = max(1, min(1000, rows // 10))
    n_days = -(-rows // videos)
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"))
    vid = ["".join(alphabet[rng.integers(0, 64, 11)]) for _ in range(videos)]
    title = [f'"Episode {v}: the road, the market, the people"' if v % 3 == 0 else f"Shorts #{v} #yiwu #trade"
             for v in range(videos)]
    first = date(2022, 1, 1)
    pub = [first + timedelta(int(d)) for d in rng.integers(0, 30, videos)]
    pub_text = [f'"{d:%b} {d.day}, {d.year}"' for d in pub]
    dur = rng.integers(5, 3600, videos)
    day_text = [(first + timedelta(d)).isoformat() for d in range(n_days)]
    views = rng.negative_binomial(1, 0.01, size=rows)
    parts = [YT_HEADER]
    k = 0
    for d in range(n_days):
        for v in range(videos):
            if k == rows:
                break
            parts.append(f"{day_text[d]},{vid[v]},{title[v]},{pub_text[v]},{dur[v]},{views[k]}")
            k += 1
    return ("\n".join(parts) + "\n").encode("utf-8")


def _yt_zip(csv_bytes: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr(YT_MEMBER, csv_bytes)
    return buf.getvalue()


def _youtube_registered() -> bool:
    from collectors.registry import reports

    return any(r.name == "youtube.chart_data" for r in reports())


# --- the measured operations ------------------------------------------------------------------

def _read_csv(path: Path) -> int:
    import pandas as pd

    return len(pd.read_csv(path, dtype=str))


def _import(name: str, data: bytes, workdir: Path):
    """A fresh SQLite file; returns (import seconds, re-import seconds, FileResult)."""
    from collectors.archive import Archive
    from collectors.pipeline import Importer
    from collectors.store.database import connect

    db = workdir / "reach.db"
    for p in workdir.glob("reach.db*"):
        p.unlink()
    engine = connect(str(db))
    try:
        importer = Importer(engine, Archive(workdir / "archive"))
        t0 = time.perf_counter()
        res = importer.import_bytes(name, data)
        t1 = time.perf_counter()
        again = importer.import_bytes(name, data)
        t2 = time.perf_counter()
    finally:
        engine.dispose()
    if res.status != "imported":
        raise SystemExit(f"benchmark import failed: {res.line()}")
    if again.status != "already imported":
        raise SystemExit(f"re-import was not recognised: {again.line()}")
    return t1 - t0, t2 - t1, res


def _child(args) -> None:
    """Run inside a child process: one import, nothing else (for peak memory)."""
    import shutil

    if args.child_file == "-":  # the baseline: the same imports, no file
        from collectors.archive import Archive  # noqa: F401
        from collectors.pipeline import Importer  # noqa: F401
        from collectors.store.database import connect  # noqa: F401
        import pandas  # noqa: F401
        return
    data = Path(args.child_file).read_bytes()
    workdir = Path(tempfile.mkdtemp(prefix="reach-bench-child-"))
    try:
        _import(args.child_name, data, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


_WRAPPER = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _peak_mb(name: str, path: Path | str) -> float:
    """Peak RSS of one import alone in a child process (ru_maxrss is in KiB on Linux)."""
    cmd = [sys.executable, "-c", _WRAPPER, sys.executable, str(Path(__file__).resolve()),
           "--child-file", str(path), "--child-name", name]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024


# --- running and reporting --------------------------------------------------------------------

def run_case(label: str, name: str, data: bytes, csv_path: Path, rows: int, repeat: int, tmp: Path) -> dict:
    file_path = tmp / name
    file_path.write_bytes(data)
    reads, imports, reimports = [], [], []
    res = None
    for k in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        n = _read_csv(csv_path)
        reads.append(time.perf_counter() - t0)
        assert n == rows, (n, rows)
        gc.collect()
        ti, tr, res = _import(name, data, tmp / "db")
        imports.append(ti)
        reimports.append(tr)
        print(f"  {label} run {k + 1}/{repeat}: read_csv {reads[-1]:.2f} s, import {ti:.2f} s, re-import {tr * 1000:.0f} ms",
              flush=True)
    peak = _peak_mb(name, file_path)
    read_s, import_s = statistics.median(reads), statistics.median(imports)
    return dict(
        label=label, name=name, rows=rows, size_mb=len(data) / 1e6,
        read_s=read_s, import_s=import_s, reimport_s=statistics.median(reimports),
        read_rows_s=rows / read_s, import_rows_s=rows / import_s,
        ratio=import_s / read_s, peak_mb=peak,
        stored=res.snapshots or res.post_days, rejected=res.rejected, posts=res.posts,
        runs_read=reads, runs_import=imports,
    )


def peak_case(rows: int, repeat: int, tmp: Path) -> dict:
    """Peak RSS of importing an X content export of ``rows`` rows, plain and as X writes it."""
    out = dict(rows=rows, baseline_mb=statistics.median(_peak_mb("-", "-") for _ in range(repeat)))
    for key, multiline in (("plain", False), ("multiline", True)):
        path = tmp / f"peak_{key}_{X_NAME}"
        path.write_bytes(_x_csv(rows, multiline=multiline))
        out[key + "_mb"] = statistics.median(_peak_mb(X_NAME, path) for _ in range(repeat))
        out[key + "_file_mb"] = path.stat().st_size / 1e6
        path.unlink()
    return out


def _peak_line(p: dict) -> str:
    ok = "met" if max(p["plain_mb"], p["multiline_mb"]) < AIM_PEAK_300K_MB else "NOT met"
    return (f"Peak memory of one import of a {p['rows']:,}-row X content export (whole process, "
            f"median of runs): {p['plain_mb']:,.0f} MB with single-line texts ({p['plain_file_mb']:.0f} MB file, "
            f"pandas path), {p['multiline_mb']:,.0f} MB as X writes it with multi-line texts "
            f"({p['multiline_file_mb']:.0f} MB file, csv-module path); the interpreter and libraries alone: "
            f"{p['baseline_mb']:,.0f} MB. Aim < {AIM_PEAK_300K_MB} MB: {ok}.")


def _table(results: list[dict]) -> str:
    head = ("| case | rows | file MB | read_csv rows/s | import rows/s | import / read_csv time | re-import | peak RSS |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in results:
        lines.append(
            f"| {r['label']} | {r['rows']:,} | {r['size_mb']:.0f} | {r['read_rows_s']:,.0f} | {r['import_rows_s']:,.0f} | "
            f"{r['ratio']:.1f}x | {r['reimport_s'] * 1000:.0f} ms | {r['peak_mb']:,.0f} MB |"
        )
    return head + "\n".join(lines) + "\n"


def _verdict(r: dict) -> str:
    ok = lambda b: "met" if b else "NOT met"  # noqa: E731
    return (f"{r['label']}: throughput {ok(r['import_rows_s'] >= AIM_ROWS_S)}, "
            f"peak memory {ok(r['peak_mb'] < AIM_PEAK_MB)}, re-import {ok(r['reimport_s'] < AIM_REIMPORT_S)}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per export file (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per case; medians are reported (default 3)")
    ap.add_argument("--case", choices=["x", "youtube", "peak", "all"], default="all")
    ap.add_argument("--peak-rows", type=int, default=300_000,
                    help="rows of the X export whose peak memory is measured (default 300,000)")
    ap.add_argument("--write-doc", action="store_true", help="put the results into docs/performance.md")
    ap.add_argument("--child-file", help=argparse.SUPPRESS)
    ap.add_argument("--child-name", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_file:
        _child(args)
        return 0

    import pandas as pd
    import sqlalchemy as sa

    results, notes, peak = [], [], None
    with tempfile.TemporaryDirectory(prefix="reach-bench-") as d:
        tmp = Path(d)
        (tmp / "db").mkdir()
        if args.case in ("x", "all"):
            t0 = time.perf_counter()
            data = _x_csv(args.rows)
            print(f"X content export: {args.rows:,} rows, {len(data) / 1e6:.0f} MB, generated in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
            csv_path = tmp / X_NAME
            csv_path.write_bytes(data)
            results.append(run_case("X content (1 row per post)", X_NAME, data, csv_path, args.rows, args.repeat, tmp))
            del data
        if args.case in ("peak", "all"):
            peak = peak_case(args.peak_rows, args.repeat, tmp)
        if args.case in ("youtube", "all"):
            if _youtube_registered():
                t0 = time.perf_counter()
                raw = _yt_csv(args.rows)
                data = _yt_zip(raw)
                print(f"YouTube Chart data: {args.rows:,} rows, {len(raw) / 1e6:.0f} MB CSV in a "
                      f"{len(data) / 1e6:.0f} MB ZIP, generated in {time.perf_counter() - t0:.1f} s", flush=True)
                csv_path = tmp / YT_MEMBER
                csv_path.write_bytes(raw)
                del raw
                results.append(run_case("YouTube Chart data ZIP (1 row per video-day)", YT_ZIP, data, csv_path,
                                        args.rows, args.repeat, tmp))
                del data
            else:
                notes.append("YouTube case skipped: no youtube.chart_data report is registered")
                print(notes[-1])

    table = _table(results)
    print()
    print(table)
    for r in results:
        print(_verdict(r))
    for n in notes:
        print(n)
    if peak is not None:
        print(_peak_line(peak))
        notes.append(_peak_line(peak))
    if args.write_doc:
        cmd = "make bench  # .venv/bin/python bench/import_throughput.py" + (
            f" --rows {args.rows}" if args.rows != 1_000_000 else "") + (
            f" --repeat {args.repeat}" if args.repeat != 3 else "")
        write_doc(results, notes, cmd, pd.__version__, sa.__version__)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


MARK_BEGIN = "<!-- bench:begin -->"
MARK_END = "<!-- bench:end -->"


def write_doc(results, notes, cmd, pd_version, sa_version) -> None:
    """Replace the measured block of docs/performance.md (between the bench markers)."""
    import sqlite3

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = [MARK_BEGIN, "",
             f"Measured {when} with `{cmd}` on {platform.node() or 'this machine'}: "
             f"{os.cpu_count()} cores (`nproc`), Python {platform.python_version()}, pandas {pd_version}, "
             f"SQLAlchemy {sa_version}, SQLite {sqlite3.sqlite_version}. "
             f"Medians of the runs; the import into a fresh SQLite file.", "", _table(results)]
    for r in results:
        runs = ", ".join(f"{t:.1f}" for t in r["runs_import"])
        reads = ", ".join(f"{t:.2f}" for t in r["runs_read"])
        block.append(f"- {_verdict(r)}. Runs (s): import {runs}; read_csv {reads}. "
                     f"Stored {r['stored']:,} rows of {r['posts']:,} posts, {r['rejected']} rejected.")
    for n in notes:
        block.append(f"- {n}")
    block += ["", MARK_END]
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"{MARK_BEGIN}\n{MARK_END}\n"
    a, b = text.index(MARK_BEGIN), text.index(MARK_END) + len(MARK_END)
    DOC.write_text(text[:a] + "\n".join(block) + text[b:], encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the memory of one big import goes, stage by stage (issue 11).

    .venv/bin/python bench/parse_memory.py                       # a generated 1,000,000-row X export
    .venv/bin/python bench/parse_memory.py --rows 200000 --repeat 3
    .venv/bin/python bench/parse_memory.py --file path/to/export.csv
    .venv/bin/python bench/parse_memory.py --root /path/to/other/checkout   # the same, other code

Each run is a fresh child process that imports one file from its path as `reach import` does
(``Importer.import_paths``, one job, a fresh SQLite file and archive; the rollup refresh that the
CLI runs afterwards is not included) while a thread polls the process's resident set (VmRSS)
every 2 ms. For each stage (reading the file's bytes, ``read_bytes``, detection, parsing, the
write and the archive copy) it prints the seconds, the resident set at its start and end and its
peak; medians of ``--repeat`` runs. Linux only (/proc). ``--root`` runs another checkout's code
(e.g. a copy of the code before a change) under the same conditions: compare the two in one
session, the machine is noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys, threading, time
from pathlib import Path
sys.path.insert(0, os.environ["PARSE_MEMORY_ROOT"])

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

class Poll:
    def __init__(self):
        self.peak, self.stop = rss(), False
        threading.Thread(target=self.run, daemon=True).start()
    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss())
            time.sleep(0.002)

from collectors import pipeline
from collectors.archive import Archive
from collectors.store import database
poll = Poll()
stages = []

def stage(owner, name, label):
    real = getattr(owner, name)
    def wrapper(*a, **k):
        start, poll.peak, t = rss(), rss(), time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            stages.append(dict(stage=label, seconds=time.perf_counter() - t, start=start, end=rss(), peak=poll.peak))
    setattr(owner, name, wrapper)

path, work = Path(sys.argv[1]), Path(sys.argv[2])
engine = database.connect(f"sqlite:///{work / 'r.db'}")
database.migrate(engine)
imp = pipeline.Importer(engine, Archive(work / "archive"))
stage(Path, "read_bytes", "file bytes (read from disk)")
stage(pipeline, "read_bytes", "read (cells)")
stage(pipeline, "detect_match", "detect")
stage(pipeline, "parse_table", "parse")
stage(store, "write_parsed", "write (one transaction)")
stage(imp.archive, "put", "archive copy")
base, t = rss(), time.perf_counter()
poll.peak = base
result = imp.import_paths([path], jobs=1)[0]
total = time.perf_counter() - t
print(json.dumps(dict(base=base, total=total, peak=max(s["peak"] for s in stages), stages=stages,
                      line=result.line().splitlines()[0])))
"""


def run_once(path: Path, root: Path) -> dict:
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), work], check=True, capture_output=True,
                             text=True, env={**os.environ, "PARSE_MEMORY_ROOT": str(root)}, cwd=work)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated X export")
    ap.add_argument("--file", type=Path, help="an export to import instead of a generated one")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout whose code runs")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            sys.path.insert(0, str(ROOT / "bench"))
            import scale_data

            scale_data.write_x_file(Path(tmp), args.rows)
            path = next(Path(tmp).glob("*.csv"))
        size = path.stat().st_size
        runs = [run_once(path.resolve(), args.root.resolve()) for _ in range(args.repeat)]
    med = statistics.median
    print(f"{path.name}: {size / 1e6:.0f} MB")
    print(runs[0]["line"])
    print(f"code: {args.root}; medians of {len(runs)} run(s); interpreter and libraries alone: "
          f"{med(r['base'] for r in runs):.0f} MB")
    print(f"{'stage':26s} {'seconds':>8s} {'MB start':>9s} {'MB end':>8s} {'MB peak':>8s}")
    for i, s in enumerate(runs[0]["stages"]):
        col = lambda k: med(r["stages"][i][k] for r in runs)  # noqa: E731
        print(f"{s['stage']:26s} {col('seconds'):8.2f} {col('start'):9.0f} {col('end'):8.0f} {col('peak'):8.0f}")
    print(f"{'whole import':26s} {med(r['total'] for r in runs):8.2f} {'':9s} {'':8s} {med(r['peak'] for r in runs):8.0f}")


if __name__ == "__main__":
    main()

"""CPU seconds of the PostgreSQL backend and of this client for one `reach export posts`
(issue 11, tenth session in docs/performance.md). On a busy machine wall time misleads and the
CPU each side spent does not; a server-side cursor is synchronous (the client waits while the
server fills each fetch), so a quiet machine's wall time is about their sum.

    .venv/bin/python bench/pg_export_cpu.py new postgresql+psycopg://postgres@127.0.0.1/DB [campaign.toml]
    .venv/bin/python bench/pg_export_cpu.py old postgresql+psycopg://...   # each cell formatted in Python

Run it on the machine of the server: it reads the backend's /proc/<pid>/stat.
"""
from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from collectors.store import database  # noqa: E402
from dashboard.analysis import config, exports  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    campaign = config.load(sys.argv[3] if len(sys.argv) > 3 else ROOT / "campaign.toml")
    engine = database.connect(url)
    with engine.connect() as conn:  # the pool's one connection: the export below reuses it
        pid = conn.execute(sa.text("select pg_backend_pid()")).scalar_one()
    server0, client0, t0 = cpu_seconds(pid), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    chunks = (exports.csv_chunks(exports.export_batches(engine, "posts", campaign), exports.POST_COLUMNS)
              if mode == "old" else exports.csv_export(engine, "posts", campaign))
    size = sum(len(c) for c in chunks)
    wall = time.perf_counter() - t0
    client1 = resource.getrusage(resource.RUSAGE_SELF)
    client = (client1.ru_utime - client0.ru_utime) + (client1.ru_stime - client0.ru_stime)
    with engine.connect() as conn:
        same = conn.execute(sa.text("select pg_backend_pid()")).scalar_one() == pid
    print(f"{mode}: wall {wall:.2f} s, server CPU {cpu_seconds(pid) - server0:.2f} s"
          f"{'' if same else ' (another connection: not this export)'}, client CPU {client:.2f} s, {size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()

"""CPU seconds of one `reach` command on PostgreSQL, server and client apart (issue 11, eleventh
session in docs/performance.md): the command runs in this process, every PostgreSQL connection it
opens is asked its backend's pid, and each backend's CPU (``/proc/<pid>/stat``) is read when its
connection closes or at the end. On a busy machine the postmaster's total of exited children mixes
in every other client's backends; this counts only the command's own.

    .venv/bin/python bench/pg_command_cpu.py import --db postgresql+psycopg://postgres@127.0.0.1/DB FILE

Run it on the machine of the server (it reads /proc). Prints one line to stderr after the command's own.
"""
from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from pg_export_cpu import cpu_seconds  # noqa: E402 - a backend's utime + stime, read from /proc
from sqlalchemy import event  # noqa: E402


def main() -> int:
    from dashboard.cli import main as reach

    backends: dict[int, float] = {}  # pid -> CPU seconds at connect
    spent: list[float] = []

    def connected(dbapi_conn, _record):
        if "psycopg" not in type(dbapi_conn).__module__:
            return
        with dbapi_conn.cursor() as cur:
            cur.execute("select pg_backend_pid()")
            pid = cur.fetchone()[0]
        backends[pid] = cpu_seconds(pid)
        _record.info["backend_pid"] = pid

    def closing(dbapi_conn, _record):
        pid = _record.info.get("backend_pid") if _record is not None else None
        if pid in backends:
            spent.append(cpu_seconds(pid) - backends.pop(pid))

    event.listen(sa.pool.Pool, "connect", connected)
    event.listen(sa.pool.Pool, "close", closing)
    t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    rc = reach(sys.argv[1:])
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_SELF)
    for pid, at in backends.items():
        try:
            spent.append(cpu_seconds(pid) - at)
        except OSError:  # closed without the pool's event (the process's end): not counted
            pass
    client = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    print(f"wall {wall:.1f} s, client CPU {client:.1f} s, server CPU {sum(spent):.1f} s "
          f"({len(spent)} backend{'s' if len(spent) != 1 else ''}), peak RSS {c1.ru_maxrss / 1024:.0f} MB",
          file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())

"""Scale benchmark (issue 11 item 5): every user path at 1x, 10x and 100x the demo, with peak memory.

    .venv/bin/python bench/scale.py                                  # 1x, 10x, 100x on SQLite, 3 runs
    .venv/bin/python bench/scale.py --scales 1,10 --repeat 3 --paths import,export,summary,pages
    .venv/bin/python bench/scale.py --pg                             # the same on the PostgreSQL at 127.0.0.1
    .venv/bin/python bench/scale.py --write-doc                      # also the table in docs/performance.md

For each scale it writes the campaign (bench/scale_data.py: X content exports, X daily files,
YouTube Studio ZIPs, Meta lifetime and per-day post exports, in their native formats, with a
roster and campaign.toml) into the work folder, and times the user paths through the real CLI,
each run in a child process under ``/usr/bin/time`` (wall time and peak RSS of that process):

* ``import``: ``reach import exports/`` into a fresh database (the roster imported first, untimed),
  including the rollup refresh the command runs; ``refresh`` is that refresh's own time, read by a
  wrapper that times ``dashboard.analysis.rollups.refresh`` inside the same process (peak: the import's);
* ``rebuild``: ``reach rebuild`` of that database;
* ``export <kind>``: ``reach export posts|account-days|daily|weekly|influencers -o FILE.csv`` and
  ``daily --by influencer,platform``;
* ``summary`` and ``summary --html``;
* ``pages``: ``reach serve`` on 127.0.0.1 on a free port (no login on loopback; its shared cache
  in a fresh folder), then for each page the layout request and each callback it fires, as the
  browser sends them: POST /_dash-update-component, built from the callback map of
  GET /_dash-dependencies and the values of the layout just served (the first leaderboard row,
  the grid's first block, a week of the picker, ...). Each request ``--page-repeat`` times (10):
  the first is the cold one (empty cache), reported apart; median and p95 of the others.
  ``serve`` reports the server's peak RSS (VmHWM) after all pages.
* ``increment``: ``reach import`` of a folder of 50 X content exports (500 posts each, new accounts)
  into a copy of the scale's imported database: what a season's weekly files cost once the
  campaign is big. Its time and peak should not grow with the campaign (the refresh and its
  first-view step recompute only what the import changed).
* ``fixed``: the aims table's fixed cases: folders of 200 and 2,000 X content exports of 500 posts,
  and one X content file of 1,000,000 rows, each imported into a fresh database.

The growth exponent of a path is the slope of log(time) against log(observations) between two
scales (observations = rows of post_snapshots + post_days + account_days the campaign holds).
A run that passes ``--timeout`` (600 s) is killed and recorded as "timeout"; one whose process
passes ``--max-rss`` (8 GB, so a runaway import cannot take the machine from its other users) as
"over N GB". Times are medians of ``--repeat`` runs; the machine is noisy (2-3x), read ratios.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dash_client  # noqa: E402
import scale_data  # noqa: E402
from dash_client import descendants as _descendants, free_port as _free_port, hwm_mb as _hwm_mb  # noqa: E402,F401
from dash_client import find as _find, new_search as _new_search, percentile  # noqa: E402,F401

DOC = ROOT / "docs" / "performance.md"
MARK_BEGIN, MARK_END = "<!-- bench-scale:begin -->", "<!-- bench-scale:end -->"
PATHS = ("import", "rebuild", "export", "summary", "pages", "increment", "fixed")
INCREMENT_FILES = 50  # X content exports of 500 posts (new accounts) imported into each scale's campaign
INCREMENT_KEY = f"import of {INCREMENT_FILES} X exports into the campaign"
EXPORTS = [("posts", []), ("account-days", []), ("daily", []), ("daily", ["--by", "influencer,platform"]),
           ("weekly", []), ("influencers", [])]
AIM_EXPONENT = 1.1
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

# Runs the CLI in this child process and says how long dashboard.analysis.rollups.refresh took in it.
_WRAPPER = r"""
import sys, time
from dashboard.analysis import rollups
_refresh = rollups.refresh
def _timed(*a, **k):
    t0 = time.perf_counter()
    try:
        return _refresh(*a, **k)
    finally:
        sys.stderr.write("\nBENCH_REFRESH_S %.4f\n" % (time.perf_counter() - t0))
rollups.refresh = _timed
from dashboard.cli import main
sys.exit(main(sys.argv[1:]))
"""


# --- the exponent ------------------------------------------------------------------------------

def fit_exponent(sizes, times) -> float | None:
    """Least-squares slope of log(time) against log(size): 1 is linear, 2 quadratic. None when
    fewer than two usable points (a timeout or failure has no time)."""
    pts = [(math.log(s), math.log(t)) for s, t in zip(sizes, times) if s and t and s > 0 and t > 0]
    if len(pts) < 2 or len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


# --- child processes ---------------------------------------------------------------------------

def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def fingerprint() -> str:
    """A short hash of the product's code (collectors/, dashboard/) as a run starts: others edit the
    tree while this runs, and a path measured on two versions has no meaningful exponent."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted([*ROOT.glob("collectors/**/*.py"), *ROOT.glob("dashboard/**/*.py")]):
        try:
            h.update(p.read_bytes())
        except OSError:
            pass
    return h.hexdigest()[:8]


def run_cli(argv: list[str], *, cwd: Path, env: dict, timeout: float, max_rss_mb: float, log: Path) -> dict:
    """One `reach` command in a child process under /usr/bin/time: seconds, peak MB, refresh seconds.
    Killed (its whole process group, which this function started) past ``timeout`` or ``max_rss_mb``."""
    timefile = log.with_suffix(".time")
    code = fingerprint()
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(timefile), sys.executable, "-c", _WRAPPER, *argv]
    server0 = pg_server_cpu_s()
    with log.open("w") as out, log.with_suffix(".err").open("w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        why, seen_mb, seen_total = None, 0.0, 0.0  # the largest RSS polled: the only peak a killed run leaves
        try:
            while proc.poll() is None:
                time.sleep(0.2)
                rss = [_rss_mb(p) for p in _descendants(proc.pid)]
                seen_mb = max(seen_mb, max(rss, default=0))
                # With `--jobs`, the import's parse workers are processes of their own: their sum
                # is what the machine must have.
                seen_total = max(seen_total, sum(rss))
                if time.perf_counter() - t0 > timeout:
                    why = "timeout"
                elif seen_mb > max_rss_mb:
                    why = f"over {max_rss_mb / 1024:.0f} GB"
                if why:
                    break
        finally:  # a timeout, too much memory, or this benchmark stopped: its child goes too
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        wall = time.perf_counter() - t0
    errtext = log.with_suffix(".err").read_text(errors="replace")
    refresh = [float(line.split()[1]) for line in errtext.splitlines() if line.startswith("BENCH_REFRESH_S ")]
    res = dict(seconds=wall, peak_mb=None, refresh_s=sum(refresh) if refresh else None, rc=proc.returncode, error=why,
               polled_peak_mb=seen_mb, polled_total_mb=seen_total, code=code)
    try:
        parts = timefile.read_text().split()
        res["peak_mb"] = int(parts[-1]) / 1024
        # CPU seconds of the command and every process it waited for (its parse workers): on a busy
        # machine the wall time says more about the neighbours than about the code.
        res["cpu_s"] = float(parts[-3]) + float(parts[-2])
    except (OSError, ValueError, IndexError):
        pass
    server1 = pg_server_cpu_s()
    if server0 is not None and server1 is not None:
        res["server_cpu_s"] = server1 - server0
    if why is None and proc.returncode != 0:
        tail = [line for line in errtext.splitlines() if line.strip() and not line.startswith("BENCH_")][-3:]
        res["error"] = f"exit {proc.returncode}: " + " / ".join(tail)[-300:]
    return res


def pg_server_cpu_s() -> float | None:
    """CPU seconds of the local PostgreSQL's exited children (backends and autovacuum workers, whose
    times the postmaster collects when it reaps them): the server's share of a command that closed
    its connections, whatever else ran on the machine. Long-lived helpers (WAL writer,
    checkpointer) are not counted. None when the postmaster cannot be read (no server, no access)."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            data = conn.execute("SHOW data_directory").fetchone()[0]
        time.sleep(0.5)  # the command's backends exit as its connections close; let them be reaped
        pid = int(Path(data, "postmaster.pid").read_text().split()[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime + cstime
    except Exception:
        return None


# --- databases ---------------------------------------------------------------------------------

class Database:
    """A fresh database per import: a SQLite file in the work folder, or with ``pg`` a scratch
    PostgreSQL database reach_scale_<pid> (created and dropped here, the user may create databases)."""

    def __init__(self, folder: Path, pg: bool, scale: float = 0, keep: bool = False):
        self.folder, self.pg, self.keep = folder, pg, keep
        # Kept (--reuse-db with --work): a name of the scale alone, so a later run finds it.
        self.name = (f"reach_scale_kept_{scale:g}" if keep else f"reach_scale_{os.getpid()}_{scale:g}").replace(".", "_")
        self.url = (f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}" if pg
                    else str(folder / "reach.db"))
        self.archive = folder / "archive"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql)

    def fresh(self) -> None:
        shutil.rmtree(self.archive, ignore_errors=True)
        if self.pg:
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            self._admin(f"CREATE DATABASE {self.name}")
        else:
            for p in self.folder.glob("reach.db*"):
                p.unlink()

    def exists(self) -> bool:
        if not self.pg:
            return (self.folder / "reach.db").exists()
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.name,)).fetchone() is not None

    def drop(self) -> None:
        if self.pg and not getattr(self, "keep", False):
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def args(self) -> list[str]:
        return ["--db", self.url, "--archive", str(self.archive)]


class Copy(Database):
    """A copy of a scale's imported database, made anew before each run (``increment``)."""

    def __init__(self, of: Database):
        self.of, self.folder, self.pg = of, of.folder, of.pg
        self.name = of.name + "_inc"
        self.url = (f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}" if of.pg
                    else str(of.folder / "increment.db"))
        self.archive = of.folder / "increment-archive"

    def fresh(self) -> None:
        shutil.rmtree(self.archive, ignore_errors=True)
        if self.pg:
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            self._admin(f"CREATE DATABASE {self.name} TEMPLATE {self.of.name}")
            return
        import sqlite3

        for p in self.folder.glob("increment.db*"):
            p.unlink()
        # The backup API: a consistent copy whatever the -wal file holds.
        src, dst = sqlite3.connect(self.of.url), sqlite3.connect(self.url)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()


# --- the CLI paths -----------------------------------------------------------------------------

class Runner:
    def __init__(self, args, work: Path):
        self.args, self.work = args, work
        self.results: dict[tuple[str, float], dict] = {}  # (path, scale) -> result
        self.sizes: dict[float, int] = {}
        self.started = time.perf_counter()

    def env(self, folder: Path) -> dict:
        return dict(os.environ, REACH_CONFIG=str(folder / "campaign.toml"), REACH_CACHE_DIR=str(folder / "cache"),
                    PYTHONPATH=str(ROOT))

    def timed(self, key: str, scale: float, argv: list[str], folder: Path, db: Database, *, before=None,
              repeat: int | None = None) -> dict:
        """Median of runs of one command; stops repeating after a failure (a timeout stays one)."""
        runs = []
        for k in range(repeat or self.args.repeats[scale]):
            if before:
                before()
            log = folder / "logs" / f"{key.replace(' ', '_').replace('/', '_')}.{k}.log"
            log.parent.mkdir(exist_ok=True)
            r = run_cli(argv, cwd=folder, env=self.env(folder), timeout=self.args.timeout,
                        max_rss_mb=self.args.max_rss * 1024, log=log)
            runs.append(r)
            say = r["error"] or f"{r['seconds']:.2f} s, {r['peak_mb'] or 0:,.0f} MB"
            if r.get("cpu_s") is not None:
                say += f", CPU {r['cpu_s']:.1f} s" + (f" + server {r['server_cpu_s']:.1f} s" if r.get("server_cpu_s") is not None else "")
            if r["refresh_s"] is not None:
                say += f" (refresh {r['refresh_s']:.2f} s)"
            print(f"  {scale:g}x {key} run {k + 1}: {say}", flush=True)
            if r["error"]:
                break
        ok = [r for r in runs if not r["error"]]
        res = dict(runs=runs, error=runs[-1]["error"] if not ok else None, elapsed_s=runs[-1]["seconds"],
                   polled_peak_mb=runs[-1].get("polled_peak_mb"), code=",".join(sorted({r["code"] for r in runs})),
                   seconds=statistics.median(r["seconds"] for r in ok) if ok else None,
                   peak_mb=statistics.median(r["peak_mb"] for r in ok if r["peak_mb"]) if ok else None)
        for cpu in ("cpu_s", "server_cpu_s"):
            got = [r[cpu] for r in ok if r.get(cpu) is not None]
            if got:
                res[cpu] = statistics.median(got)
        refresh = [r["refresh_s"] for r in ok if r["refresh_s"] is not None]
        if refresh:
            res["refresh_s"] = statistics.median(refresh)
        self.results[(key, scale)] = res
        self.save()
        return res

    def save(self) -> None:
        """Everything measured so far, so that a run cut short still has its numbers (--from-results)."""
        saved = dict(argv=sys.argv[1:], pg=self.args.pg, elapsed_s=time.perf_counter() - self.started,
                     results=[[k, s, v] for (k, s), v in self.results.items()], sizes=list(self.sizes.items()),
                     manifests=list(getattr(self, "manifests", {}).items()))
        (self.work / f"results-{'pg' if self.args.pg else 'sqlite'}.json").write_text(
            json.dumps(saved, indent=1, default=str))

    def import_campaign(self, scale: float, folder: Path, db: Database, repeat: int | None = None) -> None:
        def fresh():
            db.fresh()
            r = subprocess.run([sys.executable, "-m", "dashboard.cli", "roster", "import", "roster.csv", *db.args()],
                               cwd=folder, env=self.env(folder), capture_output=True, text=True)
            if r.returncode:
                raise SystemExit(f"roster import failed: {r.stderr[-500:]}")
            shutil.rmtree(folder / "cache", ignore_errors=True)

        res = self.timed("import", scale, ["import", "exports", *db.args()], folder, db, before=fresh, repeat=repeat)
        if "refresh_s" in res:
            self.results[("refresh", scale)] = dict(seconds=res["refresh_s"], peak_mb=None, error=None)
            self.save()  # a run of --paths import times nothing after this

    def prepare(self, scale: float) -> tuple[Path, Database] | None:
        """Write (or reuse) the campaign at ``scale`` and import it; None when the import failed."""
        a = self.args
        folder = self.work / f"scale-{scale:g}"
        manifest = folder / "manifest.json"
        if manifest.exists() and json.loads(manifest.read_text())["scale"] == scale and not a.regenerate:
            m = json.loads(manifest.read_text())
            print(f"{scale:g}x: reusing {folder} ({m['files']:,} files)")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            print(f"{scale:g}x: generating into {folder} ...", flush=True)
            m = scale_data.write_campaign(folder, scale).to_dict()
            print(f"  {m['files']:,} files, {m['bytes'] / 1e6:,.0f} MB in {m['seconds']:.1f} s", flush=True)
        print(f"  {m['accounts']:,} accounts, {m['posts']:,} posts, {m['observations']:,} observations "
              f"({m['snapshots']:,} snapshots, {m['post_days']:,} post-days, {m['account_days']:,} account-days)")
        self.sizes[scale] = m["observations"]
        self.manifests = getattr(self, "manifests", {})
        self.manifests[scale] = m
        db = Database(folder, a.pg, scale, keep=bool(a.reuse_db and a.pg and a.work))
        self.dbs.append(db)
        (folder / "out").mkdir(exist_ok=True)
        paths = a.paths
        if not any(p in paths for p in ("import", "rebuild", "export", "summary", "pages", "increment")):
            return None
        # The other paths need the data: without "import" in --paths it is imported once, untimed,
        # unless --reuse-db finds this campaign imported by an earlier run (100x: half an hour).
        done = folder / ("imported-pg.json" if a.pg else "imported.json")
        if a.reuse_db and "import" not in paths and done.exists() \
                and json.loads(done.read_text()) == m and db.exists():
            print(f"  {scale:g}x: reusing the database an earlier run imported ({db.name if a.pg else db.url})",
                  flush=True)
            return folder, db
        done.unlink(missing_ok=True)
        self.import_campaign(scale, folder, db, repeat=None if "import" in paths else 1)
        failed = self.results[("import", scale)]["error"] and self.results[("import", scale)]["seconds"] is None
        if "import" not in paths:
            self.results.pop(("import", scale))
            self.results.pop(("refresh", scale), None)
        if failed:
            print(f"  {scale:g}x: the import did not finish; the paths that need its database are left out")
            return None
        if not a.pg or db.keep:
            done.write_text(json.dumps(m))
        return folder, db

    def run(self, scales: list[float]) -> None:
        """Import every scale, then each path at every scale in turn: the runs of one path are minutes
        apart, not the length of a whole scale, so machine noise and a tree that others edit meanwhile
        hit them alike (each result also records the code it ran, see fingerprint)."""
        self.dbs: list[Database] = []
        try:
            ready = {s: self.prepare(s) for s in scales}
            ready = {s: r for s, r in ready.items() if r is not None}
            paths = self.args.paths
            steps = []
            if "rebuild" in paths:
                steps.append(("rebuild", lambda f, db: ["rebuild", *db.args()]))
            if "export" in paths:
                for kind, extra in EXPORTS:
                    name = f"{kind}{'-by' if extra else ''}.csv"
                    steps.append((f"export {kind}" + (" --by influencer,platform" if extra else ""),
                                  lambda f, db, kind=kind, extra=extra, name=name:
                                  ["export", kind, *extra, "-o", str(f / "out" / name), *db.args()]))
            if "summary" in paths:
                steps.append(("summary", lambda f, db: ["summary", *db.args()]))
                steps.append(("summary --html", lambda f, db: ["summary", "--html", str(f / "out" / "summary.html"),
                                                               *db.args()]))
            for key, argv in steps:
                for s, (folder, db) in ready.items():
                    self.timed(key, s, argv(folder, db), folder, db)
            if "pages" in paths:
                for s, (folder, db) in ready.items():
                    self.pages(s, folder, db)
            if "increment" in paths and ready:
                files = self.work / "increment-files"
                if not (files / "done").exists():
                    shutil.rmtree(files, ignore_errors=True)
                    scale_data.write_x_folder(files, INCREMENT_FILES, seed=21)
                    (files / "done").write_text("")
                for s, (folder, db) in ready.items():
                    copy = Copy(db)
                    self.dbs.append(copy)
                    self.timed(INCREMENT_KEY, s, ["import", str(files), *copy.args()], folder, copy, before=copy.fresh)
        finally:
            for db in self.dbs:
                db.drop()

    # --- pages ---------------------------------------------------------------------------------

    def pages(self, scale: float, folder: Path, db: Database) -> None:
        import requests

        shutil.rmtree(folder / "cache", ignore_errors=True)
        users = folder / "users.toml"  # absent: no login on loopback, whatever data/ holds
        port = _free_port()
        code = fingerprint()
        log = (folder / "logs" / "serve.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--port", str(port), "--users",
                                 str(users), *db.args()], cwd=folder, env=self.env(folder), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            dash_client.wait_until_up(base, proc, log.name)
            s = requests.Session()
            deps = s.get(base + "/_dash-dependencies", timeout=30).json()
            pages = Pages(self, scale, s, base, deps)
            pages.code = code
            pages.run()
        finally:
            peak = _hwm_mb(proc.pid)
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
        self.results[("serve (peak of the server process)", scale)] = dict(seconds=None, peak_mb=peak, error=None)

    # --- the fixed cases -----------------------------------------------------------------------

    def fixed(self) -> None:
        folder = self.work / "fixed"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "campaign.toml").write_text(scale_data.CAMPAIGN_TOML.format(scale="fixed"), encoding="utf-8")
        cases = [("x200", "folder of 200 X exports (100,000 posts)", lambda p: scale_data.write_x_folder(p, 200)),
                 ("x2000", "folder of 2,000 X exports (1 M posts)", lambda p: scale_data.write_x_folder(p, 2000)),
                 ("x1m", "one 1 M-row X content file", lambda p: scale_data.write_x_file(p, 1_000_000))]
        for key, label, make in cases:
            data = folder / key
            if not (data / "done").exists():
                shutil.rmtree(data, ignore_errors=True)
                m = make(data)
                (data / "done").write_text(json.dumps(m.to_dict()))
                print(f"{label}: {m.files:,} files, {m.bytes / 1e6:,.0f} MB generated in {m.seconds:.1f} s", flush=True)
            m = json.loads((data / "done").read_text())
            db = Database(folder, self.args.pg)
            try:
                res = self.timed(label, 0, ["import", key, *db.args()], folder, db, before=db.fresh)
                res["rows"] = m["snapshots"]
                self.save()
            finally:
                db.drop()


class Pages:
    """The pages' requests as the browser sends them, timed."""

    def __init__(self, runner: Runner, scale: float, session, base: str, deps: list[dict]):
        self.runner, self.scale, self.s, self.base, self.deps = runner, scale, session, base, deps

    def dep(self, input_id: str, prop: str) -> dict:
        return dash_client.find_dep(self.deps, input_id, prop)

    payload = staticmethod(dash_client.payload)

    def post(self, body: dict):
        return dash_client.post(self.s, self.base, body, self.runner.args.timeout)

    def time(self, page: str, what: str, body: dict):
        """Repeat one request; returns the last answer. The first run is the cold one."""
        n = self.runner.args.page_repeat
        times, answer, error = [], None, None
        for _ in range(n):
            t0 = time.perf_counter()
            try:
                answer = self.post(body)
            except Exception as e:  # a timeout or an error page: recorded, never a traceback
                error = str(e)[:200]
                break
            times.append(time.perf_counter() - t0)
        warm = times[1:] or times
        res = dict(kind="page", cold=times[0] if times else None, error=error,
                   seconds=statistics.median(warm) if warm else None, p95=percentile(warm, 95) if warm else None,
                   n=len(times), peak_mb=None, layout=what.startswith("layout"), code=self.code)
        self.runner.results[(f"page {page}: {what}", self.scale)] = res
        self.runner.save()
        say = error or f"cold {res['cold'] * 1000:,.0f} ms, median {res['seconds'] * 1000:,.0f} ms, p95 {res['p95'] * 1000:,.0f} ms"
        print(f"  {self.scale:g}x page {page}: {what}: {say}", flush=True)
        return answer

    def layout(self, page: str, path: str, search: str = "", what: str = "layout"):
        return dash_client.page_tree(self.time(page, what, dash_client.layout_payload(self.deps, path, search)))

    def call(self, page: str, what: str, input_id: str, prop: str, values: dict):
        return self.time(page, what, self.payload(self.dep(input_id, prop), values))

    def run(self) -> None:
        # Live: the layout, the 30-second refresh after new data (its version unknown to the page),
        # a filter change (the callback writes the URL; the page then draws from it).
        tree = self.layout("Live", "/")
        dates = _find(tree, "f-dates") or {}
        filt = {("f-dates", "start_date"): dates.get("start_date"), ("f-dates", "end_date"): dates.get("end_date"),
                ("f-platforms", "value"): ["x"], ("f-categories", "value"): [], ("f-influencers", "value"): [],
                ("f-metric", "value"): (_find(tree, "f-metric") or {}).get("value"), ("url", "search"): ""}
        self.call("Live", "refresh (new data)", "live-interval", "n_intervals",
                  {("live-interval", "n_intervals"): 1, ("url", "search"): "", ("live-version", "data"): None})
        ans = self.call("Live", "filter change (platform X)", "f-platforms", "value", filt)
        search = _new_search(ans) or "?platforms=x"
        self.layout("Live", "/", search, what="layout, filtered")
        # Influencers: the leaderboard, and a click on its first row.
        tree = self.layout("Influencers", "/influencers")
        rows = (_find(tree, "inf-grid") or {}).get("rowData") or []
        if rows:
            self.call("Influencers", "leaderboard row click", "inf-grid", "selectedRows",
                      {("inf-grid", "selectedRows"): [rows[0]], ("url", "search"): "", ("inf-focus", "data"): None})
        self.layout("Platforms", "/platforms")
        # Posts: the grid's first block, then a search typed into the box (URL, layout, rows).
        tree = self.layout("Posts", "/posts")
        block = ((_find(tree, "posts-grid") or {}).get("dashGridOptions") or {}).get("cacheBlockSize", 100)
        req = {"startRow": 0, "endRow": block, "sortModel": [], "filterModel": {}}
        self.call("Posts", "grid rows", "posts-grid", "getRowsRequest",
                  {("posts-grid", "getRowsRequest"): req, ("url", "search"): ""})
        ans = self.call("Posts", "search box", "posts-q", "value", {("posts-q", "value"): "launch", ("url", "search"): ""})
        search = _new_search(ans) or "?q=launch"
        self.layout("Posts", "/posts", search, what="layout, searched")
        self.call("Posts", "grid rows, searched", "posts-grid", "getRowsRequest",
                  {("posts-grid", "getRowsRequest"): req, ("url", "search"): search})
        # Weekly: the summary, another week from the picker, the download button.
        tree = self.layout("Weekly", "/weekly")
        picker = _find(tree, "weekly-week") or {}
        weeks = [o["value"] for o in picker.get("options") or []]
        if weeks:
            week = weeks[1] if len(weeks) > 1 and weeks[0] == picker.get("value") else weeks[0]
            self.call("Weekly", "week change", "weekly-week", "value",
                      {("weekly-week", "value"): week, ("url", "search"): ""})
            self.call("Weekly", "download", "weekly-download-btn", "n_clicks",
                      {("weekly-download-btn", "n_clicks"): 1, ("weekly-week", "value"): week, ("url", "search"): ""})
        # Data: the imports, one import's problems, the tables after an upload.
        tree = self.layout("Data", "/data")
        pick = _find(tree, "data-import-pick") or {}
        if pick.get("options"):
            value = pick["options"][0]["value"] if isinstance(pick["options"][0], dict) else pick["options"][0]
            self.call("Data", "import problems", "data-import-pick", "value",
                      {("data-import-pick", "value"): value, ("url", "search"): ""})
        self.call("Data", "tables after an upload", "data-stamp", "data",
                  {("data-stamp", "data"): 1, ("url", "search"): ""})


# --- the table -----------------------------------------------------------------------------------

def _fmt_s(s) -> str:
    if s is None:
        return ""
    return f"{s * 1000:,.0f} ms" if s < 1 else f"{s:,.1f} s"


def _cell(res: dict | None) -> str:
    if res is None:
        return ""
    if res.get("error") and res.get("seconds") is None:
        what = "timeout" if res["error"] == "timeout" else (res["error"] if res["error"].startswith("over") else "failed")
        if res.get("elapsed_s") and res.get("polled_peak_mb"):  # how far it got: time and memory when stopped
            what += f" (after {_fmt_s(res['elapsed_s'])}, {res['polled_peak_mb']:,.0f} MB)"
        return what
    if res.get("kind") == "page":
        return f"{_fmt_s(res['seconds'])} / p95 {_fmt_s(res['p95'])} (cold {_fmt_s(res['cold'])})"
    parts = [_fmt_s(res.get("seconds"))]
    if res.get("peak_mb"):
        parts.append(f"{res['peak_mb']:,.0f} MB")
        total = res.get("polled_total_mb") or 0
        if total > res["peak_mb"] * 1.2:  # parse workers beside the importing process
            parts[-1] += f" ({total:,.0f} MB all processes)"
    if res.get("cpu_s") is not None and res.get("seconds", 0) >= 5:  # short commands: start-up dominates
        cpu = f"CPU {_fmt_s(res['cpu_s'])}"
        if res.get("server_cpu_s") is not None:
            cpu += f" + server {_fmt_s(res['server_cpu_s'])}"
        parts.append(cpu)
    return ", ".join(p for p in parts if p)


def _aim(key: str) -> str:
    if key.startswith("serve"):
        return "bounded"
    if key.startswith("page "):
        return "p95 < 500 ms" if key.endswith(("layout", "filtered", "searched")) and ": layout" in key else "p95 < 300 ms"
    if key == "summary --html":
        return "< 5 s"
    if key.startswith("export posts"):
        return "≤ 10 s at 1 M posts, constant memory"
    if key.startswith("folder of 200"):
        return "≤ 10 s, < 1 GB"
    if key.startswith("folder of 2,000"):
        return "≤ 100 s, < 1 GB"
    if key.startswith("one 1 M-row"):
        return "≥ 200,000 rows/s, < 1 GB"
    if key == INCREMENT_KEY:
        return "peak independent of the campaign's size"
    return ""


def rows_of(runner: Runner, scales: list[float]) -> list[list[str]]:
    keys = []
    for (key, scale) in runner.results:
        if key not in keys:
            keys.append(key)
    out = []
    for key in keys:
        if any((key, 0) == k for k in runner.results):  # a fixed case
            res = runner.results[(key, 0)]
            met = _fixed_met(key, res)
            cell = _cell(res)
            if res.get("seconds"):
                cell += f", {_rows(key, res) / res['seconds']:,.0f} rows/s"
            out.append([key, cell, *[""] * (len(scales) - 1), "", _aim(key), met])
            continue
        series = [runner.results.get((key, s)) for s in scales]
        times = [r.get("seconds") if r else None for r in series]
        sizes = [runner.sizes.get(s) for s in scales]
        exps = []
        codes = [r.get("code") if r else None for r in series]
        for i in range(1, len(scales)):
            e = fit_exponent(sizes[i - 1:i + 1], times[i - 1:i + 1])
            if e is not None:
                changed = codes[i - 1] and codes[i] and codes[i - 1] != codes[i]
                exps.append(f"{e:.2f}{' (code changed)' if changed else ''} ({scales[i - 1]:g}x→{scales[i]:g}x)")
                # The same slope in CPU seconds (the command's and the server's): what a busy
                # machine's wall time cannot show.
                cpu = [(r.get("cpu_s") or 0) + (r.get("server_cpu_s") or 0) if r and r.get("cpu_s") else None
                       for r in series[i - 1:i + 1]]
                if all(c and c >= 5 for c in cpu):
                    ce = fit_exponent(sizes[i - 1:i + 1], cpu)
                    if ce is not None:
                        exps[-1] += f", CPU {ce:.2f}"
        last = next((r for r in reversed(series) if r and r.get("seconds") is not None), None)
        out.append([key, *[_cell(r) for r in series], "; ".join(exps), _aim(key) or f"exponent ≤ {AIM_EXPONENT}",
                    _met(key, series, scales, times, sizes)])
    return out


def _fixed_met(key: str, res: dict) -> str:
    if res.get("seconds") is None:
        return "no"
    s, mb = res["seconds"], res.get("peak_mb") or 0
    if key.startswith("folder of 200"):
        return "yes" if s <= 10 and mb < 1024 else "no"
    if key.startswith("folder of 2,000"):
        return "yes" if s <= 100 and mb < 1024 else "no"
    return "yes" if _rows(key, res) / s >= 200_000 and mb < 1024 else "no"


def _rows(key: str, res: dict) -> int:
    """Rows of a fixed case (results saved before its row count was: known from its label)."""
    return res.get("rows") or (100_000 if key.startswith("folder of 200 ") else 1_000_000)


def _met(key, series, scales, times, sizes) -> str:
    """Against the aim at the largest scale measured (said so when it is not 100x)."""
    i = max((k for k, r in enumerate(series) if r is not None), default=None)
    if i is None:
        return ""
    r = series[i]
    at = "" if scales[i] == 100 else f" (at {scales[i]:g}x)"
    if r.get("seconds") is None and r.get("peak_mb") is None:
        return "no" + at
    checks = []
    if key.startswith("page "):
        limit = 0.5 if ": layout" in key else 0.3
        checks.append(r["p95"] < limit)
    elif key == "summary --html":
        checks.append(r["seconds"] < 5)
    elif key == INCREMENT_KEY:  # the same import's peak in the smallest and the largest campaign
        first = next((x for x in series if x and x.get("peak_mb")), None)
        checks.append(bool(first and r.get("peak_mb") and r["peak_mb"] <= 1.25 * first["peak_mb"]))
    # Below 0.1 s a request is fixed costs (HTTP, JSON, a cache hit): its slope is noise, not growth.
    if r.get("seconds") is not None and i > 0 and times[i - 1] and r["seconds"] >= 0.1:
        e = fit_exponent(sizes[i - 1:i + 1], times[i - 1:i + 1])
        if e is not None:
            checks.append(e <= AIM_EXPONENT)
    if not checks:
        return "" if r.get("seconds") is None else "n/a" + at
    verdict = "yes" if all(checks) else "no"
    if verdict == "yes" and key.startswith("page ") and r.get("cold") and r["cold"] >= (0.5 if ": layout" in key else 0.3):
        verdict = "warm only"  # the first view after an import (empty cache) misses the aim
    return verdict + at


def table(runner: Runner, scales: list[float]) -> str:
    head = ["path", *[f"{s:g}x" for s in scales], "exponent", "aim", "met?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows_of(runner, scales)]
    notes = [f"- {key} at {s:g}x: {res['error']}" for (key, s), res in runner.results.items()
             if res.get("error") and res["error"] != "timeout" and not res["error"].startswith("over")]
    return "\n".join(lines) + "\n" + ("\nFailures:\n\n" + "\n".join(notes) + "\n" if notes else "")


def write_doc(text: str) -> None:
    """Replace what lies between the bench-scale markers (appended at the end when absent)."""
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    block = f"{MARK_BEGIN}\n\n{text.rstrip()}\n\n{MARK_END}"
    if MARK_BEGIN in doc and MARK_END in doc:
        a, b = doc.index(MARK_BEGIN), doc.index(MARK_END) + len(MARK_END)
        doc = doc[:a] + block + doc[b:]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(doc, encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="1,10,100", help="scales of the demo, comma-separated (default 1,10,100)")
    ap.add_argument("--repeat", default="3",
                    help="runs per CLI path, medians reported: one number, or one per scale (3,3,1) (default 3)")
    ap.add_argument("--page-repeat", type=int, default=10, help="requests per page layout and callback (default 10)")
    ap.add_argument("--paths", default=",".join(PATHS), help=f"which paths (default all: {','.join(PATHS)})")
    ap.add_argument("--pg", action="store_true", help="run on the PostgreSQL at 127.0.0.1 (a scratch database)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds before a run is killed (default 600)")
    ap.add_argument("--max-rss", type=float, default=8, help="GB of resident memory before a run is killed (default 8)")
    ap.add_argument("--work", help="work folder, kept (default: a temporary folder, removed at the end)")
    ap.add_argument("--regenerate", action="store_true", help="write the campaigns again even if --work has them")
    ap.add_argument("--reuse-db", action="store_true",
                    help="without import in --paths: use the database an earlier run imported into --work (on "
                         "PostgreSQL with --work, the database reach_scale_kept_<scale> is kept for the next run)")
    ap.add_argument("--write-doc", action="store_true", help="write the table into docs/performance.md")
    ap.add_argument("--notes", metavar="FILE.md", help="markdown to put under the table (what the numbers say)")
    ap.add_argument("--from-results", metavar="FILE", nargs="+",
                    help="print (and with --write-doc write) the table of saved results-*.json files (runs of "
                         "different scales merged; the first file's command is quoted), measuring nothing")
    args = ap.parse_args(argv)
    try:
        scales = [float(s) for s in args.scales.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--scales {args.scales!r}: give numbers like 1,10,100")
    if not scales or any(s <= 0 for s in scales):
        ap.error("--scales: give positive numbers like 1,10,100")
    args.paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    bad = [p for p in args.paths if p not in PATHS]
    if bad:
        ap.error(f"--paths {bad[0]!r}: choose from {', '.join(PATHS)}")
    try:
        reps = [int(r) for r in str(args.repeat).split(",")]
    except ValueError:
        reps = [0]
    if len(reps) == 1:
        reps *= len(scales)
    if len(reps) != len(scales) or min(reps) < 1 or args.page_repeat < 2:
        ap.error("--repeat: one number of runs (at least 1) or one per scale; --page-repeat: at least 2")
    args.repeats = dict(zip(scales, reps))
    args.repeats[0] = min(reps)  # the fixed cases
    if not Path("/usr/bin/time").exists():
        ap.error("/usr/bin/time is needed for peak memory (apt-get install time)")
    if args.pg:
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5):
                pass
        except Exception as e:  # no server, no psycopg: say so plainly
            ap.error(f"--pg: cannot reach the PostgreSQL at 127.0.0.1:5432 as postgres ({e})")

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="reach-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    runner = Runner(args, work)
    t0 = time.perf_counter()
    if args.from_results:
        runner.manifests, elapsed, argv = {}, 0.0, None
        for f in args.from_results:
            try:
                saved = json.loads(Path(f).read_text())
            except (OSError, ValueError) as e:
                ap.error(f"--from-results {f}: cannot read it ({e})")
            runner.results.update({(k, float(s)): v for k, s, v in saved["results"]})
            runner.sizes.update({float(s): n for s, n in saved["sizes"]})
            runner.manifests.update({float(s): m for s, m in saved["manifests"]})
            elapsed += saved["elapsed_s"]
            if argv is None:
                argv, args.pg, args.repeat = saved["argv"], saved["pg"], "3"
            else:  # rendered as "`first`, then `bench/scale.py second`"
                argv = argv + ["`, then `.venv/bin/python bench/scale.py", *saved["argv"]]
        scales = sorted(runner.sizes)
        for i, a in enumerate(argv[:-1]):
            if a == "--repeat":
                args.repeat = argv[i + 1]
        t0 -= elapsed
        work = None
    else:
        # `kill` stops the benchmark like Ctrl-C, so the child it is timing is stopped with it.
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            runner.run(scales)
            if "fixed" in args.paths:
                runner.fixed()
        finally:
            if not args.work:
                shutil.rmtree(work, ignore_errors=True)
    took = time.perf_counter() - t0
    import sqlite3


    backend = "PostgreSQL (scratch database at 127.0.0.1)" if args.pg else f"SQLite {sqlite3.sqlite_version}"
    sizes = ", ".join(f"{s:g}x = {runner.manifests[s]['posts']:,} posts, {runner.manifests[s]['observations']:,} "
                      f"observations, {runner.manifests[s]['files']:,} files" for s in scales if s in getattr(runner, "manifests", {}))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (f"Measured {when} with `.venv/bin/python bench/scale.py {' '.join(argv if argv is not None else sys.argv[1:]).replace(' `, then', '`, then')}` "
            f"on {platform.node() or 'this machine'} ({os.cpu_count()} cores), {backend}"
            f", in {took / 60:.0f} min. "
            f"Sizes: {sizes}. CLI paths: median of {args.repeat} runs (per scale), wall time and peak RSS of the process; pages: "
            f"median / p95 of {args.page_repeat - 1} warm requests after the cold one; exponent: slope of log time "
            f"against log observations between two scales.\n\n" + table(runner, scales))
    if args.notes:
        try:
            text += "\n" + Path(args.notes).read_text(encoding="utf-8").strip() + "\n"
        except OSError as e:
            ap.error(f"--notes {args.notes}: cannot read it ({e.strerror or e})")
    print()
    print(text)
    if args.write_doc:
        write_doc(text)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

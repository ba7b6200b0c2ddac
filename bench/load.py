"""Load test (issue 15, part 6): simulated viewers on a real `reach serve` while imports stream in.

    .venv/bin/python bench/load.py                                 # SQLite, 1 web process, 50 viewers, 120 s
    .venv/bin/python bench/load.py --viewers 10 --duration 30      # the quick case
    .venv/bin/python bench/load.py --pg                            # PostgreSQL, 2 web processes, Redis if up
    .venv/bin/python bench/load.py --pg --write-doc                # also its table in docs/performance.md

What runs, all on 127.0.0.1 (every address this script talks to is checked to be loopback, and
anything else is refused):

* the campaign: ``bench/scale_data.py``'s campaign at ``--scale`` (1x: 2,150 posts, about 100,000
  observations) in the platforms' native formats, imported with `reach roster import` and
  `reach import` into a fresh SQLite file, or with ``--pg`` into a scratch PostgreSQL database
  ``reach_load_<pid>`` (created and dropped here);
* ``--web`` web processes (default 1; 2 with ``--pg``), each `reach serve --workers W` (gunicorn;
  W defaults to 2 // web, so both setups have two serving processes for the machine's two cores;
  ``--workers 0`` is Flask's own server), on a port of its own, sharing one page-cache folder, and
  with ``--pg`` the environment's REACH_REDIS set to ``--redis`` when that Redis answers (the Redis
  page cache where the tree has it: the table says whether it was in use);
* an importer: every ``--import-every`` seconds for the whole duration it writes a new X content
  export of ``--import-rows`` posts (``scale_data.write_x_folder``: new accounts LoadX<n>, new
  post ids) into an inbox that `reach watch` imports (renamed in whole, so the watcher never sees a
  half-written file); after the duration it waits (``--drain``) until the inbox is empty;
* ``--viewers`` simulated viewers (threads, each with its own HTTP session, split over the web
  processes), each cycling through: Live (the layout), Influencers (the layout, then a click on
  a random leaderboard row), Posts (the layout, the grid's first block, a search typed into the
  box, the searched layout and its rows) and a download (posts.csv, influencers.csv,
  daily.csv?by=influencer,platform in turn), with a think time of ``--think`` seconds on average
  (uniform, half to one and a half times) between a person's actions. Live stays open, as on the
  big screen: from the first time a viewer opens it, its refresh callback fires every interval
  the page sets (30 s), with the data version the viewer last saw; it redraws (HTTP 200) when the
  data changed and answers 204 when not, and both are reported apart.

Requests are built as the browser sends them, from GET /_dash-dependencies and the layout just
served (bench/dash_client.py, shared with bench/scale.py). Before the clock starts, one viewer
goes once through the cycle on each web process, untimed (``--no-warmup`` to leave it out): the
numbers are a server that has been up, not its first seconds.

Reported: per request kind its count, p50, p95 and max (time to the whole answer read), and its
errors (an HTTP status other than 200/204, a timeout after ``--timeout`` seconds, a connection
error, a 200 that is not a callback's answer or a layout without its page); rows sent against
rows stored (the posts and snapshots of the LoadX accounts in the database after the drain):
lost and doubled; the files the watcher imported or failed; the peak RSS (VmHWM) of each server
process, the CPU seconds each part used, and the machine's load average before and after. Aims
(issue 15): p95 < 300 ms for every request, 0 errors, 0 rows lost or doubled.

Bounded: at most 500 viewers and 3,600 s; every request has a timeout; viewers start no request
after the duration; the processes this script starts are stopped (their process groups) when it
ends, however it ends.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import dash_client as dc  # noqa: E402
import scale_data  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
HEADING = "## Load test (issue 15)"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
PREFIX = "LoadX"  # the streamed files' accounts, counted at the end
AIM_P95 = 0.3
MAX_VIEWERS, MAX_DURATION = 500, 3600
SEARCHES = ("launch", "Yiwu", "market", "lanterns", "Export", "Thread", "Photo")
DOWNLOADS = ("posts.csv", "influencers.csv", "daily.csv?by=influencer,platform")


def marks(mode: str) -> tuple[str, str]:
    return f"<!-- bench-load-{mode}:begin -->", f"<!-- bench-load-{mode}:end -->"


def loopback_only(url: str, what: str) -> str:
    """``url`` if its host is this machine's loopback; SystemExit otherwise (a load test aimed at
    another machine is a denial of service, whatever was meant)."""
    host = urlsplit(url if "://" in url else "//" + url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"{what} {url!r}: bench/load.py only talks to 127.0.0.1 (loopback), not {host or 'no host'}")
    return url


# --- the database ------------------------------------------------------------------------------

class Database:
    """A fresh SQLite file in the work folder, or with ``pg`` a scratch PostgreSQL database."""

    def __init__(self, folder: Path, pg: bool):
        self.pg = pg
        self.name = f"reach_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.url = (f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}" if pg
                    else f"sqlite:///{folder / 'reach.db'}")
        self.archive = folder / "archive"
        self.created = False

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def create(self) -> None:
        if self.pg:
            self._admin(f"CREATE DATABASE {self.name}")
            self.created = True

    def drop(self) -> None:
        if self.pg and self.created:
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            self.created = False

    def args(self) -> list[str]:
        return ["--db", self.url, "--archive", str(self.archive)]

    def counts(self) -> dict:
        """Posts and snapshots of the streamed accounts, and each kept once (a row per key)."""
        import sqlalchemy as sa

        eng = sa.create_engine(self.url)
        q = """SELECT COUNT(*), COUNT(DISTINCT p.platform || ':' || p.post_id) FROM posts p
               JOIN accounts a ON a.id = p.account_pk WHERE lower(a.handle) LIKE :h"""
        qs = """SELECT COUNT(*) FROM post_snapshots s JOIN posts p ON p.id = s.post_pk
                JOIN accounts a ON a.id = p.account_pk WHERE lower(a.handle) LIKE :h"""
        try:
            with eng.connect() as conn:
                h = PREFIX.lower() + "%"
                posts, distinct = conn.execute(sa.text(q), {"h": h}).one()
                snaps = conn.execute(sa.text(qs), {"h": h}).scalar()
                total = conn.execute(sa.text("SELECT COUNT(*) FROM posts")).scalar()
        finally:
            eng.dispose()
        return dict(posts=posts, distinct_posts=distinct, snapshots=snaps, all_posts=total)


# --- processes ---------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """CPU seconds of the process tree under ``pid`` so far (its live processes, and the children
    they have waited for)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *dc.descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            pass
    return total


def hwm_each(pid: int) -> list[float]:
    """Peak RSS (VmHWM, MB) of each process in the tree under ``pid``."""
    out = []
    for p in [pid, *dc.descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return out


class PgCpu:
    """CPU seconds of the PostgreSQL backends serving one database, sampled: a backend that ends
    between two samples takes its last interval's CPU with it, so the total is a lower bound."""

    def __init__(self, dbname: str):
        self.dbname, self.first, self.last = dbname, {}, {}

    def sample(self, start: bool = False) -> None:
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
                pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                   (self.dbname,))]
        except Exception:  # noqa: BLE001 - a sample missed is a lower bound a little lower
            return
        for pid in pids:
            c = cpu_seconds(pid)
            self.first.setdefault(pid, c if start else 0.0)  # a backend born during the run: all of it
            self.last[pid] = c

    def total(self) -> float:
        return sum(self.last[p] - self.first[p] for p in self.last)


class Proc:
    """A child process in its own process group, with its log; ``stop`` ends that group only."""

    def __init__(self, name: str, argv: list[str], *, cwd: Path, env: dict, log: Path):
        self.name, self.log = name, log
        self._out = log.open("w")
        self.p = subprocess.Popen([sys.executable, "-m", "dashboard.cli", *argv], cwd=cwd, env=env,
                                  stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        self.peak_mb: list[float] = []
        self.cpu = 0.0

    def measure(self) -> None:
        self.peak_mb = hwm_each(self.p.pid) or self.peak_mb
        self.cpu = cpu_seconds(self.p.pid) or self.cpu

    def stop(self) -> None:
        if self.p.poll() is None:
            self.measure()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self._out.close()


# --- the viewers -------------------------------------------------------------------------------

@dataclass
class Sample:
    key: str
    seconds: float
    error: str | None = None


@dataclass
class Recorder:
    samples: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, s: Sample) -> None:
        with self.lock:
            self.samples.append(s)


class Viewer:
    """One person: an HTTP session, a web process, a random stream of their own."""

    def __init__(self, i: int, base: str, deps: list[dict], args, rec: Recorder | None, stop: threading.Event,
                 end: float):
        import requests

        self.i, self.base, self.deps, self.args, self.rec = i, base, deps, args, rec
        self.stop_event, self.end = stop, end
        self.s = requests.Session()
        self.rng = random.Random(args.seed * 1000 + i)
        self.version = None  # the Live data version this viewer last saw
        self.next_refresh = None  # when Live's interval fires next (None: Live not opened yet)
        self.interval = 30.0
        self.n_intervals = 0
        self.cycles = 0

    def over(self) -> bool:
        return self.stop_event.is_set() or time.monotonic() >= self.end

    def _timed(self, key, send, check):
        """One request, timed to its whole answer read; the checked answer, or None on an error
        (recorded under ``key``; a callable ``key`` names a success by its answer)."""
        t0 = time.perf_counter()
        try:
            r = send()
            took = time.perf_counter() - t0
            out = check(r)
        except Exception as e:  # noqa: BLE001 - a timeout, a refused connection, an error answer: all counted
            took = time.perf_counter() - t0
            self._record(key if isinstance(key, str) else key(None), took, f"{type(e).__name__}: {str(e)[:160]}")
            return None
        self._record(key if isinstance(key, str) else key(out), took, None)
        return out

    def _record(self, key, took, error):
        if self.rec is not None:
            self.rec.add(Sample(key, took, error))

    def callback(self, key, body: dict, *, allow_204: bool = True):
        def send():
            return self.s.post(self.base + "/_dash-update-component", json=body, timeout=self.args.timeout)

        def check(r):
            if r.status_code == 204 and allow_204:
                return {}
            if r.status_code != 200:
                raise dc.DashError(f"HTTP {r.status_code}: {r.text[:160]}")
            try:
                answer = r.json()
            except ValueError:
                raise dc.DashError(f"HTTP 200 but not JSON: {r.text[:120]}") from None
            if not isinstance(answer, dict) or "response" not in answer:
                raise dc.DashError(f"HTTP 200 but no callback answer: {r.text[:120]}")
            return answer

        return self._timed(key, send, check)

    def layout(self, key: str, path: str, search: str = ""):
        def send():
            return self.s.post(self.base + "/_dash-update-component", json=dc.layout_payload(self.deps, path, search),
                               timeout=self.args.timeout)

        def check(r):
            if r.status_code != 200:
                raise dc.DashError(f"HTTP {r.status_code}: {r.text[:160]}")
            tree = dc.page_tree(r.json())
            if tree is None:
                raise dc.DashError(f"HTTP 200 but no page in the answer: {r.text[:120]}")
            return tree

        return self._timed(key, send, check)

    def download(self, what: str):
        def send():
            return self.s.get(self.base + "/download/" + what, timeout=self.args.timeout)

        def check(r):
            if r.status_code != 200:
                raise dc.DashError(f"HTTP {r.status_code}: {r.text[:160]}")
            if not r.content.strip():
                raise dc.DashError("an empty file")
            return r

        return self._timed("download " + what.split("?")[0], send, check)

    def call(self, key: str, input_id: str, prop: str, values: dict):
        return self.callback(key, dc.payload(dc.find_dep(self.deps, input_id, prop), values))

    # Live's auto-refresh, at the page's interval, while the viewer does everything else
    def refresh(self) -> None:
        self.n_intervals += 1
        body = dc.payload(dc.find_dep(self.deps, "live-interval", "n_intervals"),
                          {("live-interval", "n_intervals"): self.n_intervals, ("url", "search"): "",
                           ("live-version", "data"): self.version})
        ans = self.callback(lambda a: "Live: refresh" if a is None else
                            "Live: refresh, redrawn" if a else "Live: refresh, unchanged (204)", body)
        if ans:  # redrawn: the data changed since this viewer's last look
            self.version = (ans["response"].get("live-version") or {}).get("data")

    def think(self) -> None:
        """A person's pause between actions; Live's interval fires on its schedule meanwhile."""
        until = time.monotonic() + self.args.think * self.rng.uniform(0.5, 1.5)
        while not self.over():
            now = time.monotonic()
            if self.next_refresh is not None and now >= self.next_refresh:
                self.next_refresh += self.interval
                self.refresh()
                continue
            wake = until if self.next_refresh is None else min(until, self.next_refresh)
            if now >= until:
                return
            self.stop_event.wait(max(0.0, min(wake, self.end) - now))

    def cycle(self) -> None:
        steps = [self.live, self.influencers, self.posts, self.download_next]
        for step in steps:
            if self.over():
                return
            step()
            self.think()
        self.cycles += 1

    def live(self) -> None:
        tree = self.layout("Live: layout", "/")
        if tree is None:
            return
        self.version = (dc.find(tree, "live-version") or {}).get("data", self.version)
        if self.next_refresh is None:
            self.interval = self.args.refresh_every or \
                ((dc.find(tree, "live-interval") or {}).get("interval") or 30000) / 1000
            self.next_refresh = time.monotonic() + self.interval

    def influencers(self) -> None:
        tree = self.layout("Influencers: layout", "/influencers")
        rows = (dc.find(tree, "inf-grid") or {}).get("rowData") or [] if tree is not None else []
        if not rows or self.over():
            return
        self.think()
        self.call("Influencers: row click", "inf-grid", "selectedRows",
                  {("inf-grid", "selectedRows"): [self.rng.choice(rows)], ("url", "search"): "",
                   ("inf-focus", "data"): None})

    def posts(self) -> None:
        tree = self.layout("Posts: layout", "/posts")
        if tree is None:
            return
        block = ((dc.find(tree, "posts-grid") or {}).get("dashGridOptions") or {}).get("cacheBlockSize", 100)
        req = {"startRow": 0, "endRow": block, "sortModel": [], "filterModel": {}}
        self.call("Posts: grid rows", "posts-grid", "getRowsRequest",
                  {("posts-grid", "getRowsRequest"): req, ("url", "search"): ""})
        if self.over():
            return
        self.think()
        term = self.rng.choice(SEARCHES)
        ans = self.call("Posts: search box", "posts-q", "value", {("posts-q", "value"): term, ("url", "search"): ""})
        search = dc.new_search(ans) or f"?q={term}"
        if self.layout("Posts: layout, searched", "/posts", search) is not None:
            self.call("Posts: grid rows, searched", "posts-grid", "getRowsRequest",
                      {("posts-grid", "getRowsRequest"): req, ("url", "search"): search})

    def download_next(self) -> None:
        self.download(DOWNLOADS[(self.cycles + self.i) % len(DOWNLOADS)])

    def run(self) -> None:
        # Viewers arrive over the first think time, not all in the same millisecond.
        self.stop_event.wait(self.rng.uniform(0, self.args.think))
        while not self.over():
            self.cycle()


# --- the importer ------------------------------------------------------------------------------

class Importer:
    """Writes a new X content export into the inbox every ``every`` seconds until ``end``."""

    def __init__(self, inbox: Path, staging: Path, every: float, rows: int, stop: threading.Event, end: float):
        self.inbox, self.staging, self.every, self.rows = inbox, staging, every, rows
        self.stop_event, self.end = stop, end
        self.files = self.posts = self.snapshots = 0
        self.error: str | None = None

    def run(self) -> None:
        try:
            nxt = time.monotonic()
            while not self.stop_event.is_set() and time.monotonic() < self.end:
                k = self.files + 1
                m = scale_data.write_x_folder(self.staging, 1, self.rows, seed=1000 + k, first=k, prefix=PREFIX)
                src = next((self.staging / "x" / f"{PREFIX}{k:05d}").glob("*.csv"))
                # One rename into the inbox: the watcher sees the whole file or none of it.
                os.rename(src, self.inbox / f"{PREFIX}{k:05d}_{src.name}")
                self.files += 1
                self.posts += m.posts
                self.snapshots += m.snapshots
                nxt += self.every
                self.stop_event.wait(max(0.0, min(nxt, self.end) - time.monotonic()))
        except Exception as e:  # noqa: BLE001 - reported with the rows sent so far
            self.error = f"{type(e).__name__}: {e}"


def inbox_pending(inbox: Path) -> int:
    """Files the watcher has not filed away yet: in the inbox itself or claimed and in progress."""
    waiting = [p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")]
    claimed = [p for p in (inbox / ".claimed").rglob("*") if p.is_file()] if (inbox / ".claimed").exists() else []
    return len(waiting) + len(claimed)


# --- the run -----------------------------------------------------------------------------------

def _cli(argv: list[str], env: dict, cwd: Path) -> None:
    """A `reach` command in a child process (its output kept for the error message)."""
    r = subprocess.run([sys.executable, "-m", "dashboard.cli", *argv], cwd=cwd, env=env, capture_output=True,
                       text=True)
    if r.returncode:
        raise SystemExit(f"reach {argv[0]} failed ({r.returncode}): {(r.stderr or r.stdout)[-600:]}")


def redis_up(url: str) -> bool:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
        return True
    except Exception:  # noqa: BLE001 - any reason: measured without it, and said so
        return False


def redis_cache_on_tree() -> bool:
    """Whether this tree's page cache uses Redis when REACH_REDIS is set (issue 15's hosts work)."""
    text = (ROOT / "dashboard" / "web" / "cache.py").read_text(encoding="utf-8")
    return "RedisCache" in text


def redis_cleanup(url: str, db: Database) -> int:
    """Delete the keys the web processes put in Redis for this scratch database (the cache's
    prefix is derived from the database URL where the tree has one); the number deleted."""
    try:
        from dashboard import deployment
        import redis

        key_prefix = getattr(deployment, "key_prefix", None)
        if key_prefix is None:
            return 0
        import sqlalchemy as sa

        prefix = key_prefix(sa.make_url(db.url).render_as_string(hide_password=False))
        r = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        keys = list(r.scan_iter(match=prefix + "*", count=1000))
        for i in range(0, len(keys), 500):
            r.delete(*keys[i:i + 500])
        return len(keys)
    except Exception:  # noqa: BLE001 - cleanup is best effort; the keys expire in a day anyway
        return 0


def cpu_ms() -> float:
    """This machine's speed of the moment: the median of three runs of a fixed pure-Python loop,
    in ms. These VMs' cores run the same loop from minute to minute in times up to 1.7x apart,
    with nothing else running; a table is read against the speed it was measured at."""
    times = []
    for _ in range(3):
        t, s = time.perf_counter(), 0
        for i in range(2_000_000):
            s += i * i
        times.append((time.perf_counter() - t) * 1000)
    return sorted(times)[1]


def run(args) -> dict:
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="reach-load-"))
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "campaign"
    inbox, staging, logs = work / "inbox", work / "staging", work / "logs"
    for p in (inbox, logs):
        shutil.rmtree(p, ignore_errors=True)
        p.mkdir(parents=True)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(work / "cache", ignore_errors=True)
    for p in work.glob("reach.db*"):
        p.unlink()
    shutil.rmtree(work / "archive", ignore_errors=True)
    result: dict = dict(mode="pg" if args.pg else "sqlite", viewers=args.viewers, duration=args.duration,
                        think=args.think, web=args.web, workers=args.workers, threads=args.threads, scale=args.scale,
                        import_every=args.import_every, import_rows=args.import_rows,
                        refresh_every=args.refresh_every, imports=args.imports)
    t = time.perf_counter()
    if not (folder / "manifest.json").exists() or json.loads((folder / "manifest.json").read_text())["scale"] != args.scale:
        shutil.rmtree(folder, ignore_errors=True)
        m = scale_data.write_campaign(folder, args.scale).to_dict()
    else:
        m = json.loads((folder / "manifest.json").read_text())
    result["campaign"] = {k: m[k] for k in ("files", "accounts", "posts", "observations")}
    db = Database(work, args.pg)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               REACH_CONFIG=str(folder / "campaign.toml"), REACH_CACHE_DIR=str(work / "cache"),
               # The hosts' shared login key, which distributed serving asks for; no login on loopback.
               REACH_SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex)
    env.pop("REACH_REDIS", None)
    env.pop("REACH_BROKER", None)
    env.pop("REACH_DB", None)
    redis_used = False
    if args.pg and redis_up(args.redis):
        env["REACH_REDIS"] = args.redis
        # Distributed: `reach watch` hands each file to a Celery worker through the shared archive
        # (docs/workers.md), so one `reach worker` runs beside the web processes.
        env["REACH_ARCHIVE"] = str(work / "archive")
        redis_used = True
    result["redis"] = dict(set=redis_used, url=args.redis if redis_used else None,
                           cache_on_tree=redis_cache_on_tree())
    procs: list[Proc] = []
    stop = threading.Event()
    try:
        db.create()
        print(f"importing the {args.scale:g}x campaign ({m['files']:,} files, {m['posts']:,} posts) into "
              f"{db.name if args.pg else db.url} ...", flush=True)
        _cli(["roster", "import", "roster.csv", *db.args()], env, folder)
        _cli(["import", "exports", *db.args()], env, folder)
        result["setup_s"] = time.perf_counter() - t
        print(f"  ready in {result['setup_s']:.0f} s", flush=True)

        if redis_used:
            worker = Proc("reach worker", ["worker", "--concurrency", "1", *db.args()], cwd=folder, env=env,
                          log=logs / "worker.log")
            procs.append(worker)
            deadline = time.monotonic() + 90
            while "ready." not in worker.log.read_text(errors="replace"):
                if worker.p.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"`reach worker` did not start:\n{worker.log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.2)
        watcher = Proc("reach watch", ["watch", str(inbox), "--settle", "0.5s", "--poll", "0.5s", *db.args()],
                       cwd=folder, env=env, log=logs / "watch.log")
        procs.append(watcher)
        webs, bases = [], []
        for k in range(args.web):
            port = dc.free_port()
            argv = ["serve", "--port", str(port), "--users", str(work / "users.toml"), *db.args()]
            if args.workers:
                argv += ["--workers", str(args.workers)]
                if args.threads:
                    argv += ["--threads", str(args.threads)]
            web = Proc(f"web {k + 1}", argv, cwd=folder, env=env, log=logs / f"web{k + 1}.log")
            procs.append(web)
            webs.append(web)
            bases.append(loopback_only(f"http://127.0.0.1:{port}", "web process"))
        for web, base in zip(webs, bases):
            dc.wait_until_up(base, web.p, str(web.log))
        import requests

        deps = requests.get(bases[0] + "/_dash-dependencies", timeout=60).json()
        if args.warmup:
            t = time.perf_counter()
            quick = argparse.Namespace(**{**vars(args), "think": 0})
            for k, base in enumerate(bases):  # untimed: a server that has been up, not its first seconds
                v = Viewer(-1 - k, base, deps, quick, None, threading.Event(), time.monotonic() + 600)
                v.live()
                v.influencers()
                v.posts()
                for what in DOWNLOADS:
                    v.download(what)
            print(f"  warm-up pass on {len(bases)} web process(es): {time.perf_counter() - t:.1f} s", flush=True)

        speed_before = cpu_ms()
        rec = Recorder()
        load_before = os.getloadavg()
        cpu0 = {p.name: cpu_seconds(p.p.pid) for p in procs}
        self_cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        pg_cpu = PgCpu(db.name) if args.pg else None
        if pg_cpu:
            pg_cpu.sample(start=True)
        t_start = time.monotonic()
        end = t_start + args.duration
        importer = Importer(inbox, staging, args.import_every, args.import_rows, stop, end)
        threads = [threading.Thread(target=importer.run if args.imports else lambda: None, name="importer",
                                    daemon=True)]
        viewers = [Viewer(i, bases[i % len(bases)], deps, args, rec, stop, end) for i in range(args.viewers)]
        threads += [threading.Thread(target=v.run, name=f"viewer-{v.i}", daemon=True) for v in viewers]
        print(f"{args.viewers} viewers on {len(bases)} web process(es) for {args.duration:g} s, "
              + (f"a file of {args.import_rows} posts every {args.import_every:g} s ..." if args.imports
                 else "no imports ..."), flush=True)
        for th in threads:
            th.start()
        last = 0.0
        while any(th.is_alive() for th in threads[1:]) or threads[0].is_alive():
            time.sleep(1)
            now = time.monotonic() - t_start
            if pg_cpu and int(now) % 2 == 0:
                pg_cpu.sample()
            if now - last >= 15:
                last = now
                n = len(rec.samples)
                bad = sum(1 for s in rec.samples if s.error)
                print(f"  {now:5.0f} s: {n:,} requests, {bad} errors, {importer.files} files sent, "
                      f"{inbox_pending(inbox)} waiting; load {os.getloadavg()[0]:.1f}", flush=True)
            if now > args.duration + args.timeout + 30:  # a request past its timeout cannot hold us
                stop.set()
        wall = time.monotonic() - t_start
        for p in procs:
            p.measure()
        cpu = {p.name: p.cpu - cpu0[p.name] for p in procs}
        if pg_cpu:
            pg_cpu.sample()
            cpu["PostgreSQL backends (at least)"] = pg_cpu.total()
        self_cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu["load test (viewers, importer)"] = (self_cpu1.ru_utime + self_cpu1.ru_stime
                                                - self_cpu0.ru_utime - self_cpu0.ru_stime)
        # The drain: every file sent is imported (or failed) before rows are counted.
        t = time.monotonic()
        while inbox_pending(inbox) and time.monotonic() - t < args.drain and watcher.p.poll() is None:
            time.sleep(0.5)
        drain_s = time.monotonic() - t
        load_after = os.getloadavg()
        speed_after = cpu_ms()
        for p in procs:
            p.measure()
        processed = [p for p in (inbox / "processed").glob("*.csv")] if (inbox / "processed").exists() else []
        failed = [p for p in (inbox / "failed").glob("*.error.txt")] if (inbox / "failed").exists() else []
        for p in procs:
            p.stop()
        counts = db.counts()
        result.update(
            samples=[(s.key, s.seconds, s.error) for s in rec.samples], wall_s=wall, drain_s=drain_s,
            pending_after_drain=inbox_pending(inbox), importer_error=importer.error,
            sent=dict(files=importer.files, posts=importer.posts, snapshots=importer.snapshots),
            stored=counts, files=dict(processed=len(processed), failed=len(failed),
                                      failures=[p.read_text(errors="replace")[:300] for p in failed[:3]]),
            load=(load_before, load_after), cpu_ms=(speed_before, speed_after), cpu=cpu, cycles=sum(v.cycles for v in viewers),
            peak_mb={p.name: p.peak_mb for p in procs}, when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            sqlite=__import__("sqlite3").sqlite_version, node=platform.node(), cores=os.cpu_count())
        if args.pg:
            result["redis"]["keys_removed"] = redis_cleanup(args.redis, db) if redis_used else 0
        return result
    finally:
        stop.set()
        for p in procs:
            with contextlib.suppress(Exception):
                p.stop()
        try:
            db.drop()
        finally:
            if not args.work:
                shutil.rmtree(work, ignore_errors=True)


# --- the report --------------------------------------------------------------------------------

ORDER = ["Live: layout", "Live: refresh, redrawn", "Live: refresh, unchanged (204)", "Live: refresh",
         "Influencers: layout", "Influencers: row click", "Posts: layout", "Posts: grid rows", "Posts: search box",
         "Posts: layout, searched", "Posts: grid rows, searched"]


def per_key(result: dict) -> dict:
    """{key: dict(n, errors, p50, p95, max)} in the order a viewer sends them."""
    by: dict[str, list] = {}
    for key, sec, err in result["samples"]:
        by.setdefault(key, []).append((sec, err))
    keys = [k for k in ORDER if k in by] + sorted(k for k in by if k not in ORDER)
    out = {}
    for k in keys:
        ok = [s for s, e in by[k] if e is None]
        out[k] = dict(n=len(by[k]), errors=sum(1 for _, e in by[k] if e), p50=dc.percentile(ok, 50) if ok else None,
                      p95=dc.percentile(ok, 95) if ok else None, max=max(ok) if ok else None,
                      first_error=next((e for _, e in by[k] if e), None))
    return out


def accounting(result: dict) -> dict:
    sent, stored = result["sent"], result["stored"]
    return dict(lost_posts=max(0, sent["posts"] - stored["distinct_posts"]),
                doubled_posts=max(0, stored["posts"] - stored["distinct_posts"]) + max(0, stored["distinct_posts"] - sent["posts"]),
                lost_snapshots=max(0, sent["snapshots"] - stored["snapshots"]),
                doubled_snapshots=max(0, stored["snapshots"] - sent["snapshots"]))


def _ms(s) -> str:
    if s is None:
        return "–"
    return f"{s * 1000:,.0f} ms" if s < 10 else f"{s:,.1f} s"


def table(result: dict) -> str:
    rows = ["| request | count | p50 | p95 | max | errors | p95 < 300 ms |", "|---|---:|---:|---:|---:|---:|---|"]
    keys = per_key(result)
    for k, r in keys.items():
        met = "–" if r["p95"] is None else ("yes" if r["p95"] < AIM_P95 else "no")
        rows.append(f"| {k} | {r['n']:,} | {_ms(r['p50'])} | {_ms(r['p95'])} | {_ms(r['max'])} | {r['errors']} | {met} |")
    every = [s for _, s, e in result["samples"] if e is None]
    n_err = sum(1 for *_, e in result["samples"] if e)
    rows.append(f"| **all requests** | {len(result['samples']):,} | {_ms(dc.percentile(every, 50))} | "
                f"{_ms(dc.percentile(every, 95))} | {_ms(max(every) if every else None)} | {n_err} | "
                f"{'yes' if every and dc.percentile(every, 95) < AIM_P95 else 'no'} |")
    return "\n".join(rows)


def _error_kinds(result: dict) -> dict:
    """{"ReadTimeout": 3, "HTTP 500": 1}: what went wrong, by kind, most first."""
    kinds: dict[str, int] = {}
    for *_, e in result["samples"]:
        if e:
            why = e.split(":", 1)[0]
            if why == "DashError":
                why = e.split(":", 2)[1].strip()
            kinds[why] = kinds.get(why, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def summary(result: dict) -> str:
    a = accounting(result)
    sent, stored, files = result["sent"], result["stored"], result["files"]
    n_err = sum(1 for *_, e in result["samples"] if e)
    keys = per_key(result)
    over = [k for k, r in keys.items() if r["p95"] is not None and r["p95"] >= AIM_P95]
    peaks = "; ".join(f"{name}: " + ", ".join(f"{mb:,.0f}" for mb in sorted(mbs, reverse=True)) + " MB"
                      for name, mbs in result["peak_mb"].items() if mbs)
    cpu = ", ".join(f"{name} {s:,.1f} s" for name, s in result["cpu"].items())
    lines = [
        f"- Rows: {sent['posts']:,} posts and {sent['snapshots']:,} snapshots sent in {sent['files']} files; "
        f"stored {stored['distinct_posts']:,} posts ({stored['posts']:,} rows) and {stored['snapshots']:,} snapshots: "
        f"**{a['lost_posts'] + a['lost_snapshots']} lost, {a['doubled_posts'] + a['doubled_snapshots']} doubled** "
        f"({files['processed']} files imported, {files['failed']} failed; the inbox drained in "
        f"{result['drain_s']:.0f} s after the duration{', ' + str(result['pending_after_drain']) + ' still waiting' if result['pending_after_drain'] else ''}).",
        f"- Errors: **{n_err}** of {len(result['samples']):,} requests"
        + (" (" + ", ".join(f"{n} {why}" for why, n in _error_kinds(result).items()) + "; first: "
           + next(r["first_error"] for r in keys.values() if r["errors"])[:200] + ")" if n_err else "") + ".",
        f"- p95 under 300 ms: {'every request kind' if not over else 'not for ' + ', '.join(over)}.",
        f"- Peak RSS (VmHWM per process, largest first): {peaks}.",
        f"- CPU during the {result['wall_s']:.0f} s: {cpu} (the machine has {result['cores']} cores: "
        f"{result['cores'] * result['wall_s']:,.0f} CPU-seconds in all, shared with other jobs).",
        f"- {result['cycles']:,} viewer cycles completed; load average (1 min) {result['load'][0][0]:.1f} before, "
        f"{result['load'][1][0]:.1f} after.",
    ]
    if result.get("cpu_ms"):
        lines.append(f"- The machine's speed (`cpu_ms`: a fixed Python loop, median of 3): {result['cpu_ms'][0]:,.0f} ms "
                     f"before, {result['cpu_ms'][1]:,.0f} ms after. On these VMs it varies up to 1.7x from minute to "
                     "minute with nothing else running: compare tables measured at like speeds.")
    if result.get("importer_error"):
        lines.append(f"- The importer stopped early: {result['importer_error']}")
    return "\n".join(lines)


def describe(result: dict, cmd: str) -> str:
    c = result["campaign"]
    if result["mode"] == "pg":
        r = result["redis"]
        cache = ("REACH_REDIS set and the page cache in Redis" if r["set"] and r["cache_on_tree"] else
                 "REACH_REDIS set, but this tree's `reach serve` has no Redis page cache yet: the two web "
                 "processes share the file cache of one folder" if r["set"] else
                 "Redis not reachable: the two web processes share the file cache of one folder")
        where = f"PostgreSQL (scratch database at 127.0.0.1), {result['web']} web processes; {cache}"
    else:
        where = f"SQLite {result['sqlite']}, {result['web']} web process"
    threads = f" --threads {result['threads']}" if result.get("threads") else ""
    serve = (f"`reach serve --workers {result['workers']}{threads}` (gunicorn) each" if result["workers"]
             else "`reach serve` (Flask's server) each")
    return (f"Measured {result['when']} with `{cmd}` on {result['node'] or 'this machine'} ({result['cores']} cores, "
            f"load average {result['load'][0][0]:.1f} before the test began and {result['load'][1][0]:.1f} at its "
            f"end, its own load included: a first figure above ~1 means other work shared the cores). {where}, "
            f"{serve}. Campaign: "
            f"{result['scale']:g}x the demo ({c['posts']:,} posts, {c['observations']:,} observations). "
            f"{result['viewers']} viewers for {result['duration']:g} s, think time {result['think']:g} s on average, "
            f"Live's refresh every {result.get('refresh_every') or 30:g} s; "
            + (f"`reach watch` importing an X export of {result['import_rows']} posts written every "
               f"{result['import_every']:g} s" if result.get("imports", True) else "**no imports** (the control case)")
            + ". Times are to the whole answer read, in the load test's "
            "own process on the same machine.")


def render(result: dict, cmd: str) -> str:
    return describe(result, cmd) + "\n\n" + table(result) + "\n\n" + summary(result) + "\n"


def write_doc(result: dict, text: str, doc: Path = DOC) -> None:
    """Put ``text`` between this mode's markers under the load test's heading (the heading and
    the block added when absent); the other mode's block stays as it is."""
    begin, end = marks(result["mode"])
    title = ("### PostgreSQL, two web processes" if result["mode"] == "pg" else "### SQLite, one web process")
    block = f"{title}\n\n{begin}\n\n{text.rstrip()}\n\n{end}"
    body = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if begin in body and end in body:
        a, b = body.index(begin), body.index(end) + len(end)
        body = body[:a] + f"{begin}\n\n{text.rstrip()}\n\n{end}" + body[b:]
    elif HEADING in body:
        at = body.index(HEADING) + len(HEADING)
        nxt = body.find("\n## ", at)
        nxt = len(body) if nxt < 0 else nxt + 1
        body = body[:nxt].rstrip("\n") + "\n\n" + block + "\n" + ("\n" + body[nxt:] if nxt < len(body) else "")
    else:
        body = (body.rstrip("\n") + f"\n\n{HEADING}\n\n`bench/load.py` (issue 15, part 6): simulated viewers on "
                "a real `reach serve` while `reach watch` imports a stream of files; how it works is its "
                "docstring and README's benchmarks list. Aims: p95 < 300 ms for every request, 0 errors, "
                "0 rows lost or doubled.\n\n" + block + "\n")
    doc.write_text(body, encoding="utf-8")


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--viewers", type=int, default=50, help="simulated viewers (default 50)")
    ap.add_argument("--duration", type=float, default=120, help="seconds of load and of imports (default 120)")
    ap.add_argument("--think", type=float, default=3.0,
                    help="a viewer's mean pause between actions, seconds (default 3; uniform 0.5x-1.5x)")
    ap.add_argument("--pg", action="store_true", help="a scratch PostgreSQL database at 127.0.0.1 (and --web 2)")
    ap.add_argument("--web", type=int, help="web processes, each on its own port (default 1; 2 with --pg)")
    ap.add_argument("--workers", type=int,
                    help="gunicorn workers per web process (default 2 // web; 0: Flask's server)")
    ap.add_argument("--threads", type=int,
                    help="gunicorn threads per worker (default: reach serve's own, 1 on SQLite, 4 on PostgreSQL)")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0",
                    help="with --pg: REACH_REDIS for the web processes, when it answers (default %(default)s)")
    ap.add_argument("--scale", type=float, default=1.0, help="the campaign, in demos (bench/scale_data.py; default 1)")
    ap.add_argument("--import-every", type=float, default=2.0, help="seconds between streamed files (default 2)")
    ap.add_argument("--import-rows", type=int, default=200, help="posts per streamed X export (default 200)")
    ap.add_argument("--no-imports", dest="imports", action="store_false",
                    help="no streamed files: the control case, what the viewers cost alone")
    ap.add_argument("--refresh-every", type=float,
                    help="seconds between Live's refreshes (default: the interval the page sets, 30 s)")
    ap.add_argument("--timeout", type=float, default=30, help="seconds before a request counts as failed (default 30)")
    ap.add_argument("--drain", type=float, default=120,
                    help="seconds to wait after the duration for the inbox to empty (default 120)")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false", help="no untimed pass before the clock starts")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--work", help="work folder, kept (default: a temporary folder, removed at the end)")
    ap.add_argument("--json", metavar="FILE", help="also write the results (every sample) as JSON")
    ap.add_argument("--write-doc", action="store_true", help="write the table into docs/performance.md")
    args = ap.parse_args(argv)
    args.web = args.web if args.web is not None else (2 if args.pg else 1)
    args.workers = args.workers if args.workers is not None else max(1, 2 // args.web)
    if not 1 <= args.viewers <= MAX_VIEWERS:
        ap.error(f"--viewers: 1 to {MAX_VIEWERS}")
    if not 0 < args.duration <= MAX_DURATION:
        ap.error(f"--duration: more than 0, at most {MAX_DURATION} s")
    if args.web < 1 or args.workers < 0 or args.think < 0 or args.import_every <= 0 or args.import_rows < 1 \
            or args.timeout <= 0:
        ap.error("--web at least 1, --workers 0 or more, --think 0 or more, --import-every, --import-rows and "
                 "--timeout more than 0")
    if args.scale <= 0:
        ap.error("--scale: more than 0")
    loopback_only(args.redis, "--redis")
    loopback_only(PG_ADMIN, "PostgreSQL")
    if args.pg:
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5):
                pass
        except Exception as e:  # noqa: BLE001 - no server, no psycopg: said plainly
            ap.error(f"--pg: cannot reach the PostgreSQL at 127.0.0.1:5432 as postgres ({e})")
    if args.refresh_every is not None and args.refresh_every <= 0:
        ap.error("--refresh-every: more than 0 seconds")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # `kill` stops the load test like Ctrl-C, so the processes it started are stopped with it.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    result = run(args)
    cmd = ".venv/bin/python bench/load.py" + ("" if argv is None and len(sys.argv) <= 1 else
                                              " " + " ".join(a for a in (argv if argv is not None else sys.argv[1:])
                                                             if a not in ("--write-doc",)))
    cmd = " ".join(cmd.split())
    text = render(result, cmd)
    print()
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    if args.write_doc:
        write_doc(result, text)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Celery workers and beat as real processes (`reach worker`, `reach beat` with REACH_REDIS), on the
real Redis and PostgreSQL: a worker killed with SIGKILL in the middle of an import leaves the
database as it was and the task is delivered again, to the counts of a clean import; two workers
collecting against a local API server stay within its rate limit together; a report's slot is
sent once while two workers and beat run.

Each test uses a scratch PostgreSQL database, and keys of its own in Redis (``reach_key_prefix``,
through a REACH_CELERY_CONFIG module written for the test), both removed afterwards. The kill is
timed by a test hook rather than by a large file: REACH_CRASH_AT=write REACH_CRASH_SIGNAL=STOP
stops the worker's pool process inside the import's transaction (collectors/crash.py), and the
test then kills the whole worker, its parent included, with SIGKILL.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from api_server import ApiServer, reply, roster_csv
from conftest import ROOT, redis_or_skip

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL, SIGSTOP")]
redis = pytest.importorskip("redis")
celery = pytest.importorskip("celery")

REDIS_URL = os.environ.get("REACH_TEST_REDIS", "redis://127.0.0.1:6379/13")
READY_S = 60  # a worker's start on a loaded 2-core machine


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the test Redis database; its keys are deleted after."""
    client = redis_or_skip(REDIS_URL)
    prefix = f"reach-test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def pg_db(pg_database):
    """A scratch PostgreSQL database (conftest.py), migrated once, before several workers open it."""
    from collectors.store import database

    database.connect(pg_database).dispose()
    return pg_database


class Deployment:
    """The environment of one distributed deployment (REACH_REDIS, REACH_DB, a Celery settings
    module), and the `reach worker` / `reach beat` processes started in it, stopped at the end."""

    def __init__(self, tmp: Path, db: str, prefix: str, visibility_s: int = 3600, **settings):
        self.tmp, self.db, self.prefix = tmp, db, prefix
        module = f"reach_celery_{uuid.uuid4().hex[:8]}"
        lines = [f"reach_key_prefix = {prefix!r}",
                 # Sweep for unacknowledged tasks every second (kombu's default is every 100 s).
                 f"broker_transport_options = {{'visibility_timeout': {visibility_s}, "
                 "'unacked_restore_interval': 1, 'unacked_restore_throttle': 1}"]
        lines += [f"{k} = {v!r}" for k, v in settings.items()]
        (tmp / f"{module}.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.config = tmp / "campaign.toml"
        self.config.write_text('[campaign]\nname = "Celery test"\ntimezone = "Asia/Shanghai"\n', encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REACH_")}
        self.env.update(REACH_REDIS=REDIS_URL, REACH_DB=db, REACH_ARCHIVE=str(tmp / "archive"),
                        REACH_CONFIG=str(self.config), REACH_CELERY_CONFIG=module,
                        PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp)]))
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        self._client = None

    def start(self, command: str, *args: str, wait_for: str = "ready.", **env) -> tuple[subprocess.Popen, Path]:
        log = self.tmp / f"{command}-{len(self.procs)}.log"
        out = open(log, "wb")
        p = subprocess.Popen([sys.executable, "-m", "dashboard.cli", command, *args], cwd=self.tmp,
                             env={**self.env, **env}, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)  # its own process group: killed whole, pool included
        out.close()
        self.procs.append((p, log))
        deadline = time.monotonic() + READY_S
        while wait_for not in log.read_text(errors="replace"):
            if p.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`reach {command}` did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        return p, log

    def worker(self, **env):
        return self.start("worker", "--concurrency", "1", **env)

    @property
    def client(self):
        """A Celery app that only sends tasks and reads results (never the module's global app)."""
        if self._client is None:
            opts = {"global_keyprefix": self.prefix}
            self._client = celery.Celery("test", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
            self._client.conf.update(broker_transport_options=opts, result_backend_transport_options=opts,
                                     task_default_queue="reach", task_serializer="json", accept_content=["json"])
        return self._client

    def send(self, name: str, **kwargs):
        return self.client.send_task(name, kwargs=kwargs)

    def logs(self) -> str:
        return "\n".join(log.read_text(errors="replace") for _, log in self.procs)

    def close(self):
        for p, _ in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p, _ in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if self._client is not None:
            self._client.close()


@pytest.fixture
def deploy(tmp_path, pg_db, redis_prefix):
    made = []

    def make(**settings) -> Deployment:
        d = Deployment(tmp_path, pg_db, redis_prefix, **settings)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def _counts(url: str) -> dict:
    from collectors.store import schema

    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            out = {t.name: c.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                   for t in (schema.imports, schema.accounts, schema.posts, schema.post_snapshots, schema.post_days)}
            out["rollup rows"], out["rollup impressions"] = c.execute(sa.text(
                "SELECT count(*), coalesce(round(sum(impressions)), 0) FROM daily_rollup")).one()
            out["pending marks"] = c.execute(sa.text(
                "SELECT count(*) FROM reach_meta WHERE key LIKE 'rollup_pending:%'")).scalar_one()
        return out
    finally:
        eng.dispose()


def _stopped_child(pid: int, timeout: float) -> int | None:
    """A child of ``pid`` stopped by SIGSTOP (the pool process at the crash point), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            try:
                if Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T":
                    return int(child)
            except (FileNotFoundError, IndexError):
                pass
        time.sleep(0.05)
    return None


@pytest.fixture(scope="module")
def export_file(tmp_path_factory) -> Path:
    from collectors.demo import campaign as demo

    folder = tmp_path_factory.mktemp("celery-exports")
    cast = {(a.platform, a.handle): a for a in demo.build_campaign(2024)}
    t0 = datetime(2024, 12, 23, 22, 0, tzinfo=demo.TZ)
    path = folder / f"account_analytics_content_{demo.START}_{t0.date()}_JinHubOffice.csv"
    path.write_bytes(demo.write_x_content(cast[("x", "JinHubOffice")], t0))
    return path


def test_a_worker_killed_in_mid_import_leaves_the_database_as_it_was_and_the_task_runs_again_to_the_same_counts(
        tmp_path, deploy, export_file):
    from collectors.archive import Archive
    from collectors.pipeline import Importer
    from collectors.store import database
    from dashboard import ingest
    from dashboard.analysis import config

    # What a clean import gives, in a database of its own.
    clean = f"sqlite:///{tmp_path / 'clean.db'}"
    eng = database.connect(clean)
    ingest.refresh(eng, config.Campaign(timezone="Asia/Shanghai"),
                   Importer(eng, Archive(tmp_path / "clean-archive")).import_paths([export_file]))
    eng.dispose()
    expected = _counts(clean)
    assert expected["post_snapshots"] > 0 and expected["rollup impressions"] > 0

    d = deploy(visibility_s=3)
    before = _counts(d.db)
    first, _ = d.worker(REACH_CRASH_AT="write", REACH_CRASH_SIGNAL="STOP")
    task = d.send("reach.ingest", path=str(export_file))
    child = _stopped_child(first.pid, 30)
    assert child is not None, d.logs()
    # Stopped with the file's rows written in its open transaction: no other session sees them.
    assert _counts(d.db) == before
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert _counts(d.db) == before  # the transaction died with the process

    d.worker()  # another worker: Redis hands it the task no one acknowledged, once its time is up
    result = task.get(timeout=45)
    assert result["status"] == "imported" and result["rollups"] == "current", result
    assert _counts(d.db) == expected
    # Delivered again, not sent again: one task, run by the killed worker and then the other.
    assert d.logs().count(f"reach.ingest[{task.id}] received") == 2, d.logs()


UID0 = 1456000000000000001
LIMIT = 10  # requests per second the server answers; the 11th in a second is a 429
PAGES = 8


class RateLimitedX:
    """X's user timelines (one post per page), answering 429 above LIMIT requests in one second
    of the wall clock, and counting the requests of each second."""

    def __init__(self, server: ApiServer, accounts: list[str]):
        self.per_second: Counter = Counter()
        self.refused = 0
        self.lock = threading.Lock()
        now = datetime.now(timezone.utc)
        for n, uid in enumerate(accounts):
            server.route("GET", f"/2/users/{uid}/tweets", self._timeline(n, now))

    def _timeline(self, n: int, now: datetime):
        def answer(req):
            with self.lock:
                second = int(time.time())
                self.per_second[second] += 1
                if self.per_second[second] > LIMIT:
                    self.refused += 1
                    return reply(429, {"title": "Too Many Requests", "status": 429}, headers={"Retry-After": "1"})
            page = int(req.query.get("pagination_token", "p0")[1:])
            tid = str(1870000000000000000 + 100 * n + page)
            tweet = {"id": tid, "text": f"post {page} #JinHub", "edit_history_tweet_ids": [tid],
                     "created_at": (now - timedelta(days=page + 1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                     "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": 3 + page,
                                        "quote_count": 0, "bookmark_count": 0, "impression_count": 100 * page}}
            meta = {"result_count": 1, "newest_id": tid, "oldest_id": tid}
            if page + 1 < PAGES:
                meta["next_token"] = f"p{page + 1}"
            return reply(json={"data": [tweet], "meta": meta})
        return answer


def test_two_workers_collecting_stay_within_the_platforms_rate_limit_together(tmp_path, deploy):
    from collectors.archive import Archive
    from collectors.roster import import_roster
    from collectors.store import database

    accounts = [str(UID0 + i) for i in range(4)]
    d = deploy()
    eng = database.connect(d.db)
    import_roster(eng, Archive(tmp_path / "archive"), "roster.csv",
                  roster_csv([(f"Person {i}", "x", f"person_{i}", uid) for i, uid in enumerate(accounts)]))
    eng.dispose()
    # A budget under the server's limit, as docs/workers.md advises: 8 a second, for all workers.
    d.config.write_text(d.config.read_text(encoding="utf-8") + '\n[collect]\nbatch = 2\n[collect.rate]\nx = "8/s"\n',
                        encoding="utf-8")
    with ApiServer() as srv:
        x = RateLimitedX(srv, accounts)
        env = dict(REACH_X_BEARER_TOKEN="AAAAtest-bearer-token-0123456789",
                   REACH_API_BASE_URLS=json.dumps({"x": srv.url("/2")}))
        d.worker(**env)
        d.worker(**env)
        sent = d.send("reach.collect_all", platforms=["x"]).get(timeout=30)
        assert [s["accounts"] for s in sent] == [2, 2]
        results = [d.client.AsyncResult(s["task_id"]).get(timeout=60) for s in sent]
    assert all(r["status"] == "ok" for r in results), results
    assert sum(r["snapshots"] for r in results) == len(accounts) * PAGES
    assert x.refused == 0 and max(x.per_second.values()) <= LIMIT, (x.refused, sorted(x.per_second.items()))
    assert sum(x.per_second.values()) == len(accounts) * PAGES
    # The two batches ran side by side, one on each worker: their budget was shared, not taken in turn.
    assert len({r["worker"] for r in results}) == 2, results


def test_a_reports_slot_is_sent_once_while_two_workers_and_beat_run(tmp_path, deploy, export_file):
    from notify_receivers import Hook

    from collectors.archive import Archive
    from collectors.pipeline import Importer
    from collectors.store import database, schema

    hook = Hook()
    try:
        d = deploy()
        eng = database.connect(d.db)
        Importer(eng, Archive(tmp_path / "archive")).import_paths([export_file])
        with database.write_transaction(eng) as c:  # the schedule was first seen three weeks ago
            c.execute(schema.meta_table.insert().values(
                key="schedule_seen:Monday summary",
                value=(datetime.now(timezone.utc) - timedelta(days=21)).isoformat()))
        d.config.write_text(d.config.read_text(encoding="utf-8") + f"""
[[channels]]
kind = "webhook"
name = "team"
url = "{hook.url}"

[[reports]]
name = "Monday summary"
channels = ["team"]
""", encoding="utf-8")
        d.worker()
        d.worker()
        _, beat_log = d.start("beat", "--every", "1s", "--state", str(tmp_path / "beat-state"),
                              wait_for="beat: Starting")
        deadline = time.monotonic() + 30
        while d.logs().count("reach.reports[") < 2 * 5 and time.monotonic() < deadline:  # received + succeeded
            time.sleep(0.2)
        t = schema.alert_events
        with eng.connect() as c:
            events = c.execute(sa.select(t.c.rule, t.c.key, t.c.status).where(t.c.kind == "report")).all()
        eng.dispose()
    finally:
        hook.close()
    ran = [line for line in d.logs().splitlines() if "reach.reports[" in line and "succeeded" in line]
    assert len(ran) >= 4, d.logs()[-4000:]
    assert len(events) == 1 and events[0].status == "sent", events
    assert len(hook.bodies) == 1, hook.bodies

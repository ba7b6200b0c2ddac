"""Files for the workers (dashboard/dispatch.py): in a distributed deployment `reach watch` archives
each settled file and sends it to a real `reach worker` instead of importing it itself, and files it
away by the worker's result, in the same words; a worker's result comes back as the FileResult an
import in the sender's process would have given. (The Data page's uploads through the workers are
tested with two web hosts: tests/test_two_hosts.py.)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from collectors.errors import RowProblem
from collectors.messages import render
from collectors.pipeline import FileResult, Importer
from collectors.store import database
from test_celery import REDIS_URL, deploy, pg_db, redis_prefix  # noqa: F401 - fixtures: a worker, its database and keys
from test_store import x_content

X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"


def test_a_result_sent_back_as_json_says_what_the_import_said(tmp_path):
    eng = database.connect(str(tmp_path / "reach.db"))
    try:
        imp = Importer(eng, None, tz="Asia/Shanghai")
        bad = x_content([("1870000000000000001", 1200, 30), ("1870000000000000003", 7, 1)]).replace(b",1200,", b",lots,")
        results = [imp.import_bytes(X_NAME, x_content([("1870000000000000002", 34, 5)])),
                   imp.import_bytes("other_" + X_NAME, bad),
                   imp.import_bytes(X_NAME, x_content([("1870000000000000002", 34, 5)])),
                   imp.import_bytes("notes.csv", b"a,b\n1,2\n")]
    finally:
        eng.dispose()
    assert [r.status for r in results] == ["imported", "imported", "already imported", "failed"]
    assert results[1].problems and results[3].proposal_table is not None
    for r in results:
        back = FileResult.from_dict(json.loads(json.dumps(r.to_dict())))
        assert back.line() == r.line()
        assert render(back.text(), "zh") == render(r.text(), "zh")  # the page's words in Chinese too
        assert [str(p) for p in back.problems] == [str(p) for p in r.problems]
        assert back.captured_at == r.captured_at and back.skipped == r.skipped
        assert back.to_dict()["unrecognised"] == (r.proposal_table is not None)


def test_only_the_first_problems_travel_but_the_count_stays():
    r = FileResult("f.csv", "imported", rejected=1000,
                   problems=[RowProblem("f.csv", i, "Impressions", "x", "a number") for i in range(1000)])
    back = FileResult.from_dict(r.to_dict())
    assert len(back.problems) == FileResult.PROBLEMS_SENT and back.rejected == 1000


def test_reach_watch_hands_each_settled_file_to_a_worker(tmp_path, deploy):  # noqa: F811
    d = deploy()
    d.worker()
    inbox = tmp_path / "inbox"
    (inbox / "week").mkdir(parents=True)
    (inbox / "week" / X_NAME).write_bytes(x_content([("1870000000000000001", 1200, 30),
                                                     ("1870000000000000002", 34, 5)]))
    (inbox / "notes.csv").write_bytes(b"a,b\n1,2\n")
    old = datetime(2024, 12, 23, tzinfo=timezone.utc).timestamp()  # settled long ago
    for p in (inbox / "week" / X_NAME, inbox / "notes.csv"):
        os.utime(p, (old, old))
    run = subprocess.run([sys.executable, "-m", "dashboard.cli", "watch", str(inbox), "--once", "--settle", "0s"],
                         cwd=tmp_path, env=d.env, capture_output=True, text=True, timeout=90)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out  # notes.csv failed
    assert f"ok      week/{X_NAME}: x x.content: 2 posts, 2 snapshots" in out, out
    assert (inbox / "processed" / "week" / X_NAME).is_file()
    assert (inbox / "failed" / "notes.csv").is_file()
    assert "notes.csv" in (inbox / "failed" / "notes.csv.error.txt").read_text()
    # The worker imported them, not the watcher: two tasks received, and the rows are stored.
    assert d.logs().count("reach.ingest[") >= 2 and d.logs().count("received") >= 2, d.logs()[-3000:]
    eng = sa.create_engine(d.db)
    try:
        with eng.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM imports")).scalar_one() == 1
            assert c.execute(sa.text("SELECT count(*) FROM posts")).scalar_one() == 2
            assert c.execute(sa.text("SELECT count(*) FROM daily_rollup")).scalar_one() > 0  # refreshed by the worker
    finally:
        eng.dispose()
    # Both files' bytes were put in the shared archive for the worker (the failed one too).
    archived = [p.name for p in (tmp_path / "archive").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(archived) == 3 and "manifest.jsonl" in archived, archived


def test_reach_watch_in_distributed_mode_needs_the_shared_archive(tmp_path, deploy):  # noqa: F811
    d = deploy()
    env = {k: v for k, v in d.env.items() if k != "REACH_ARCHIVE"}
    (tmp_path / "inbox").mkdir()
    run = subprocess.run([sys.executable, "-m", "dashboard.cli", "watch", str(tmp_path / "inbox"), "--once"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "REACH_ARCHIVE" in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_what_the_browser_sends_back_is_checked_before_it_is_looked_up_or_read():
    from dashboard.web.pages import data as page

    forged = [{"name": "a.csv", "task": "../../etc", "sha256": "0" * 64},
              {"name": "b.csv", "task": "6f1c2a3b-0000-4000-8000-000000000000", "sha256": "../../../etc/passwd"},
              {"name": "c.csv", "result": {"status": "imported", "nonsense": 1}},
              "not an entry"]
    out, changed = page.check_sent(forged)  # no result backend is asked: none is configured here
    assert changed and [e["name"] for e in out] == ["a.csv", "b.csv", "c.csv"]
    assert all(e["result"]["status"] == "failed" and "not a file this page sent" in e["result"]["message"]
               for e in out)


UNTAKEN_CHECK = """
import json, time, uuid
from dashboard.web.pages import data as page
from dashboard import tasks
ids = [str(uuid.uuid4()) for _ in range(3)]
tasks.app.backend.store_result(ids[2], None, "STARTED")  # what a worker records when it takes one
old = time.time() - page.UNTAKEN_S - 5
entries = [{"name": "new.csv", "task": ids[0], "sha256": "0" * 64, "sent": time.time()},
           {"name": "old.csv", "task": ids[1], "sha256": "1" * 64, "sent": old},
           {"name": "taken.csv", "task": ids[2], "sha256": "2" * 64, "sent": old},
           {"name": "forged.csv", "task": ids[1], "sha256": "3" * 64, "sent": "yesterday"}]
out, changed = page.check_sent(entries)
view = page.queued_view("old.csv", "zh", out[1].get("untaken", False))
print(json.dumps(dict(untaken=[e.get("untaken", False) for e in out], changed=changed, zh=str(view))))
"""


def test_a_file_no_worker_takes_for_long_says_so_under_its_queued_line(tmp_path, redis_prefix):  # noqa: F811
    """Without a running worker the Data page would say "Queued" forever: after UNTAKEN_S it says
    that no worker has taken the file, and not for a file a worker has started (its long import)."""
    (tmp_path / "untaken_celery.py").write_text(f"reach_key_prefix = {redis_prefix!r}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACH_")}
    env.update(REACH_REDIS=REDIS_URL, REACH_CELERY_CONFIG="untaken_celery",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), str(tmp_path)]))
    run = subprocess.run([sys.executable, "-c", UNTAKEN_CHECK], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["untaken"] == [False, True, False, False] and got["changed"]
    assert "秒内没有后台进程接收此文件" in got["zh"] and "reach worker" in got["zh"]

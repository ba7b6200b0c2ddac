"""`reach worker` and `reach beat` choose by REACH_REDIS: without it the worker is its loop and beat
refuses in one line; with it, the Celery app acknowledges late and takes only JSON."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from collectors.errors import ReachError
from conftest import ROOT
from dashboard.analysis import config


def _reach(*args, env=None, cwd=None):
    base = {k: v for k, v in os.environ.items() if not k.startswith("REACH_")}
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=120, env={**base, "PYTHONPATH": str(ROOT), **(env or {})})


def test_beat_without_redis_says_it_needs_redis_and_exits_2(tmp_path):
    r = _reach("beat", "--db", str(tmp_path / "r.db"))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error: reach beat sends schedules to Celery workers, which need REACH_REDIS")
    assert "Traceback" not in r.stderr


def test_the_loops_flags_and_the_celery_workers_are_not_mixed(tmp_path):
    r = _reach("worker", "--once", "--concurrency", "2", "--db", str(tmp_path / "r.db"))
    assert r.returncode == 2 and "--concurrency is a Celery worker's" in r.stderr
    r = _reach("worker", "--every", "2s", "--db", str(tmp_path / "r.db"), env={"REACH_REDIS": "redis://127.0.0.1:1/0"})
    assert r.returncode == 2 and "`reach beat --every`" in r.stderr


def test_without_redis_the_worker_is_the_loop_it_was(tmp_path):
    r = _reach("worker", "--once", "--db", str(tmp_path / "r.db"), cwd=tmp_path)
    assert r.returncode == 0 and "nothing to do" in r.stderr, r.stderr


def test_the_celery_app_acknowledges_late_and_takes_json_only(tmp_path):
    (tmp_path / "ops_settings.py").write_text("import os\nbroker_transport_options = {'visibility_timeout': 7200}\n"
                                              "reach_key_prefix = 'campaign-a:'\nworker_concurrency = 3\n")
    code = ("import json; from dashboard import tasks; c = tasks.app.conf; print(json.dumps({k: c[k] for k in ("
            "'task_acks_late', 'task_reject_on_worker_lost', 'worker_prefetch_multiplier', 'task_serializer',"
            "'accept_content', 'broker_url', 'result_backend', 'broker_transport_options', 'worker_concurrency')}))")
    base = {k: v for k, v in os.environ.items() if not k.startswith("REACH_")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                       env={**base, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
                            "REACH_REDIS": "redis://127.0.0.1:6379/5", "REACH_CELERY_CONFIG": "ops_settings"})
    assert r.returncode == 0, r.stderr
    conf = json.loads(r.stdout)
    assert conf == dict(task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
                        task_serializer="json", accept_content=["json"], broker_url="redis://127.0.0.1:6379/5",
                        result_backend="redis://127.0.0.1:6379/5", worker_concurrency=3,
                        # the operator's timeout, merged with ours rather than replacing the prefix
                        broker_transport_options={"visibility_timeout": 7200, "global_keyprefix": "campaign-a:"})


def test_beat_sends_alerts_and_reports_every_round_and_collects_only_when_configured():
    from dashboard import tasks

    plain = tasks.beat_schedule(config.Campaign(), 60)
    assert {k: (v["task"], v["schedule"].run_every.total_seconds()) for k, v in plain.items()} == {
        "alerts": ("reach.alerts", 60), "reports": ("reach.reports", 60), "refresh": ("reach.refresh", 300)}
    hourly = tasks.beat_schedule(config.from_dict({"collect": {"every": "1h", "batch": 10}}), 60)
    assert hourly["collect"]["task"] == "reach.collect_all" and hourly["collect"]["schedule"].run_every.total_seconds() == 3600


@pytest.mark.parametrize("collect, words", [({"every": "10s"}, "shorter than a minute"),
                                             ({"batch": 0}, "batch must be a whole number"),
                                             ({"rate": {"x": "lots"}}, "rate x: 'lots' is not a budget"),
                                             ({"evry": "1h"}, "unknown key 'evry'")])
def test_a_collect_section_that_cannot_be_meant_is_refused_by_key(collect, words):
    with pytest.raises(ReachError, match=words):
        config.from_dict({"collect": collect}, "campaign.toml")

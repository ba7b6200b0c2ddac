"""Two web processes, one campaign (issue 15, part 3): two `reach serve --workers 1` (gunicorn) on
two loopback ports, against one scratch PostgreSQL database and the Redis on 127.0.0.1:6379, each
with a users file and a data folder of its own, so that what they share can only come through
PostgreSQL, Redis, REACH_SECRET_KEY and the archive folder. Over HTTP, as the browser would:

* a session made on web 1 is accepted by web 2, and a logout on web 2 ends it on web 1;
* an upload through web 1's Data page (its upload callback) is archived in the shared archive and
  sent to a real `reach worker` (Celery): the page says it is queued, then, polled through web 2,
  shows the worker's result; it is on web 2's Live page at its next refresh; the same bytes
  uploaded again are "already imported" and stored once (docs/workers.md: uploads run in the workers);
* web 2 serves the Live numbers web 1 computed and put in Redis under the campaign's prefix: the
  test changes that entry in Redis, and web 2 shows the changed number, which nothing computes.
"""
from __future__ import annotations

import contextlib
import json
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from browser import chromium, require_chromium, wait_for
from collectors.store import database
from dashboard import deployment
from dashboard.analysis import config, exports
from dashboard.web import auth
from test_auth import PASSWORDS, clean_env, csrf_of, free_port
from test_celery import Deployment, redis_prefix  # noqa: F401 - a fixture: the workers' keys, removed after
from conftest import redis_or_skip
from test_hosts import REDIS_DB, SECRET
from test_page_data import as_upload, unknown_posts
from test_store import x_content

pytestmark = pytest.mark.postgres

X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"
REDIS = f"redis://127.0.0.1:6379/{REDIS_DB}"
LIVE = "..live-body.children...live-version.data.."


@pytest.fixture
def scratch_db(pg_database):
    """A PostgreSQL database of its own, dropped afterwards (conftest.py)."""
    return pg_database


@contextlib.contextmanager
def two_webs(tmp_path: Path, db_url: str, **extra):
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    archive = tmp_path / "shared-archive"
    procs, urls, logs = [], [], []
    try:
        for n in (1, 2):
            home = tmp_path / f"web{n}"
            home.mkdir()
            (home / "users.toml").write_bytes(users.read_bytes())  # the same file, deployed to each host
            port = free_port("127.0.0.1")
            log = home / "serve.log"
            env = clean_env(REACH_DB=db_url, REACH_REDIS=REDIS, REACH_SECRET_KEY=SECRET,
                            REACH_ARCHIVE=str(archive), REACH_USERS=str(home / "users.toml"), **extra)
            with open(log, "w") as out:
                procs.append(subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--port", str(port),
                                               "--workers", "1"], cwd=home, env=env, stdout=out,
                                              stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
            logs.append(log)
        deadline = time.time() + 90
        for url, proc, log in zip(urls, procs, logs):
            while True:
                try:
                    if requests.get(url + "/login", timeout=5).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(f"the dashboard did not come up at {url}; log:\n{log.read_text()}")
                time.sleep(0.3)
        yield urls, archive
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def login(url: str) -> requests.Session:
    s = requests.Session()
    token = csrf_of(s.get(f"{url}/login").text)
    r = s.post(f"{url}/login", allow_redirects=False,
               data={"csrf_token": token, "name": "alice", "password": PASSWORDS["alice"]})
    assert r.status_code == 302, r.text
    return s


def live_refresh(s: requests.Session, url: str, search: str = "", seen=None) -> dict:
    """The Live page's auto-refresh callback, as the browser posts it every 30 seconds."""
    body = {"output": LIVE,
            "outputs": [{"id": "live-body", "property": "children"}, {"id": "live-version", "property": "data"}],
            "inputs": [{"id": "live-interval", "property": "n_intervals", "value": 1}],
            "state": [{"id": "url", "property": "search", "value": search},
                      {"id": "live-version", "property": "data", "value": seen}],
            "changedPropIds": ["live-interval.n_intervals"]}
    r = s.post(f"{url}/_dash-update-component", json=body)
    assert r.status_code == 200, r.text[:500]
    return r.json()["response"]


def upload(s: requests.Session, url: str, name: str, data: bytes) -> str:
    """The Data page's upload callback, as dcc.Upload posts a dropped file."""
    body = {"output": "..data-upload-result.children...data-upload.contents...data-stamp.data..",
            "outputs": [{"id": "data-upload-result", "property": "children"},
                        {"id": "data-upload", "property": "contents"}, {"id": "data-stamp", "property": "data"}],
            "inputs": [{"id": "data-upload", "property": "contents", "value": [as_upload(data)]}],
            "state": [{"id": "data-upload", "property": "filename", "value": [name]},
                      {"id": "url", "property": "search", "value": ""},
                      {"id": "data-stamp", "property": "data", "value": 0},
                      {"id": "data-account", "property": "value", "value": ""}],
            "changedPropIds": ["data-upload.contents"]}
    r = s.post(f"{url}/_dash-update-component", json=body)
    assert r.status_code == 200, r.text[:500]
    return r.text


def find(component, id_):
    """The props of the component ``id_`` in a callback's JSON answer (a tree of components)."""
    if isinstance(component, dict):
        if component.get("props", {}).get("id") == id_:
            return component["props"]
        component = list(component.values())
    if isinstance(component, list):
        for c in component:
            found = find(c, id_)
            if found is not None:
                return found
    return None


def poll(s: requests.Session, url: str, tasks: dict, timeout: float = 60) -> str:
    """The Data page's poll of files sent to the workers (its dcc.Interval), until it has an answer."""
    deps = s.get(f"{url}/_dash-dependencies").json()
    dep = next(d for d in deps if any(i["id"] == "data-upload-poll" for i in d["inputs"]))
    result_out, stamp_out = dep["output"].strip(".").split("...")
    body = {"output": dep["output"],
            "outputs": [{"id": "data-upload-result", "property": result_out.split(".", 1)[1]},
                        {"id": "data-stamp", "property": stamp_out.split(".", 1)[1]}],
            "inputs": [{"id": "data-upload-poll", "property": "n_intervals", "value": 1}],
            "state": [{"id": "data-upload-tasks", "property": "data", "value": tasks},
                      {"id": "url", "property": "search", "value": ""},
                      {"id": "data-stamp", "property": "data", "value": 0}],
            "changedPropIds": ["data-upload-poll.n_intervals"]}
    deadline = time.monotonic() + timeout
    while True:
        r = s.post(f"{url}/_dash-update-component", json=body)
        assert r.status_code in (200, 204), r.text[:500]
        if r.status_code == 200:  # 204: nothing finished since the last look
            return r.text
        assert time.monotonic() < deadline, "no worker result reached the page"
        time.sleep(0.3)


def map_import(s: requests.Session, url: str, pid: str, report: str, fields: list[str]) -> str:
    """The mapping form's "Import with this mapping" callback, as the browser posts it."""
    deps = s.get(f"{url}/_dash-dependencies").json()
    dep = next(d for d in deps if any(i["id"] == "data-map-import" for i in d["inputs"]))
    outs = [o.split(".", 1) for o in dep["output"].strip(".").split("...")]
    cols = range(len(fields))
    body = {"output": dep["output"],
            "outputs": [{"id": i.split("@")[0], "property": p} for i, p in outs],
            "inputs": [{"id": "data-map-import", "property": "n_clicks", "value": 1}],
            "state": [{"id": "data-map-id", "property": "data", "value": pid},
                      {"id": "data-map-report", "property": "value", "value": report},
                      [{"id": {"type": "data-map-field", "col": i}, "property": "value", "value": f}
                       for i, f in zip(cols, fields)],
                      [{"id": {"type": "data-map-field", "col": i}, "property": "id",
                        "value": {"type": "data-map-field", "col": i}} for i in cols],
                      {"id": "data-map-date-order", "property": "value", "value": "auto"},
                      {"id": "url", "property": "search", "value": ""},
                      {"id": "data-stamp", "property": "data", "value": 0}],
            "changedPropIds": ["data-map-import.n_clicks"]}
    r = s.post(f"{url}/_dash-update-component", json=body)
    assert r.status_code == 200, r.text[:500]
    return r.text


def kpis(response: dict) -> dict[str, str]:
    """The Live KPI cards' label -> number, from the callback's JSON."""
    text = str(response["live-body"]["children"])
    return dict(re.findall(r"'children': '([^']+)', 'className': 'kpi-label'.*?'children': '([^']+)'", text))


def test_two_web_processes_share_sessions_uploads_and_the_cache(tmp_path, scratch_db, redis_prefix):
    redis = redis_or_skip(REDIS)
    prefix = deployment.key_prefix(scratch_db)
    database.connect(scratch_db).dispose()  # the schema made once, before two processes open it
    # One Celery worker, whose queue and results are under a prefix of this test's own (the webs
    # send to it through the same REACH_CELERY_CONFIG module), sharing the archive with the webs.
    (tmp_path / "workers").mkdir()
    workers = Deployment(tmp_path / "workers", scratch_db, redis_prefix)
    workers.env["REACH_ARCHIVE"] = str(tmp_path / "shared-archive")
    try:
        workers.worker()
        celery_env = dict(REACH_CELERY_CONFIG=workers.env["REACH_CELERY_CONFIG"],
                          PYTHONPATH=workers.env["PYTHONPATH"])
        with two_webs(tmp_path, scratch_db, **celery_env) as ((web1, web2), archive):
            # A session made on web 1 is accepted by web 2.
            one = login(web1)
            two = requests.Session()
            two.cookies.update(one.cookies)
            assert requests.get(web2 + "/_dash-layout").status_code == 401
            assert two.get(web2 + "/_dash-layout").status_code == 200

            # Web 2's Live page before the upload: nothing yet.
            before = live_refresh(two, web2)
            seen = before["live-version"]["data"]
            assert "live-empty" in str(before["live-body"])

            # An upload through web 1 ...
            data = x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 34, 5)])
            said = upload(one, web1, X_NAME, data)
            assert "Queued" in said and X_NAME in said and "Imported" not in said
            assert any(p.is_file() for p in archive.rglob("*")), "the upload's bytes are not in the shared archive"
            tasks = find(json.loads(said), "data-upload-tasks")["data"]
            # ... is imported by the worker, and its result reaches the page through either host.
            shown = poll(two, web2, tasks)
            # The words an import in the request gives (tests/test_page_data.py), only later.
            assert "Imported: " in shown and (f"{X_NAME}: x x.content: 2 posts, 2 snapshots; 0 rows rejected; "
                                              "snapshot time 2024-12-23 00:00 UTC+08:00 from file name") in shown, shown[:2000]
            assert "data-upload-poll" not in shown  # nothing left to wait for: the polling stops
            # ... is on web 2 at its next refresh: a new version, and its numbers.
            after = live_refresh(two, web2, seen=seen)
            assert after["live-version"]["data"] != seen
            shown = kpis(after)
            assert shown.get("Posts published") == "2", shown

            # Web 1 computes the X-only view and keeps it in Redis under the campaign's prefix ...
            before_keys = {k.decode() for k in redis.scan_iter(match=prefix + "live.view:*")}
            assert before_keys, "web 2's Live numbers were not kept in Redis under the campaign's prefix"
            mine = live_refresh(one, web1, search="?platform=x", seen=seen)
            assert kpis(mine).get("Posts published") == "2"
            new = {k.decode() for k in redis.scan_iter(match=prefix + "live.view:*")} - before_keys
            assert len(new) == 1
            key = new.pop()
            raw = redis.get(key)
            assert raw.startswith(b"!")  # cachelib's mark of a pickled value
            tag, (daily, total, published, reach) = pickle.loads(raw[1:])
            published = published.copy()
            published["posts"] = 777
            redis.set(key, b"!" + pickle.dumps((tag, (daily, total, published, reach))), keepttl=True)
            # ... and web 2 serves that entry rather than computing its own: 777 posts exist nowhere else.
            assert kpis(live_refresh(two, web2, search="?platform=x", seen=seen)).get("Posts published") == "777"

            # The same bytes again: queued, then "already imported", and stored once.
            again = find(json.loads(upload(one, web1, X_NAME, data)), "data-upload-tasks")["data"]
            assert "Already imported" in poll(one, web1, again)
            with sa.create_engine(scratch_db).connect() as c:
                assert c.execute(sa.text("SELECT count(*) FROM imports")).scalar_one() == 1
                assert c.execute(sa.text("SELECT count(*) FROM posts")).scalar_one() == 2
            assert workers.logs().count("reach.ingest[") >= 2, workers.logs()[-2000:]

            # A file no report recognises: the worker says so, and the page offers the mapping form
            # (its table read again from the archived bytes), with the proposal prefilled.
            sent = find(json.loads(upload(one, web1, "tool_export.csv", unknown_posts())), "data-upload-tasks")["data"]
            form = json.loads(poll(two, web2, sent))
            assert find(form, "data-map-form") is not None and find(form, "data-map-report")["value"] == "tiktok.content"
            assert "Not imported" in json.dumps(form)

            # "Import with this mapping" goes to the workers too (docs/workers.md). A mapping that
            # reads every row wrong: queued, then the form again with that mapping chosen and why.
            pid, pending = find(form, "data-map-id")["data"], tmp_path / "shared-archive-pending"
            wrong = ["title", "published_at", "url", "views", "likes", ""]
            said = map_import(one, web1, pid, "tiktok.content", wrong)
            assert "Queued" in said and "Imported" not in said, said[:1000]
            back = json.loads(poll(two, web2, find(json.loads(said), "data-upload-tasks")["data"]))
            assert "Not imported" in json.dumps(back) and "change the fields above and try again" in json.dumps(back)
            assert find(back, {"type": "data-map-field", "col": 1})["value"] == "published_at"  # as tried
            assert sorted(p.name for p in pending.iterdir()) == [pid, pid + ".json"]  # still waiting
            # The right mapping: imported by the worker, the mapping saved, the file no longer waiting.
            said = map_import(one, web1, pid, "tiktok.content", ["title", "url", "published_at", "views", "likes", ""])
            done = poll(two, web2, find(json.loads(said), "data-upload-tasks")["data"])
            assert "Imported: " in done and "tool_export.csv: tiktok tiktok.content: 2 posts, 2 snapshots" in done, done[:2000]
            assert "The mapping was saved" in done and find(json.loads(done), "data-map-form") is None
            assert list(pending.iterdir()) == []
            with sa.create_engine(scratch_db).connect() as c:
                assert c.execute(sa.text("SELECT count(*) FROM imports")).scalar_one() == 2

            # A whole-campaign export prepared from web 1's Data page in a real browser: a Dash
            # background callback that the worker runs (CeleryManager), its link downloaded through web 2.
            require_chromium()
            with chromium(1280, 900) as d:
                d.get(web1 + "/login")
                for name, value in one.cookies.items():
                    d.add_cookie({"name": name, "value": value, "path": "/"})
                d.get(web1 + "/data")
                wait_for(d, "#data-prep-go").pop().click()
                link = wait_for(d, "#data-prep-link", timeout=60).pop()
                href = link.get_attribute("href").replace(web1, web2)
            assert "background_callback_" in workers.logs() and "succeeded" in workers.logs()
            eng = database.connect(scratch_db)
            try:
                want = b"".join(exports.csv_export(eng, "posts", config.load(workers.config)))
            finally:
                eng.dispose()
            assert want.count(b"\r\n") == 5 and two.get(href).content == want  # 4 posts and the header

            # A logout on web 2 ends the session on web 1 as well.
            token = csrf_of(two.get(web2 + "/logout").text)
            assert two.post(web2 + "/logout", data={"csrf_token": token}, allow_redirects=False).status_code == 302
            assert one.get(web1 + "/_dash-layout").status_code == 401
    finally:
        workers.close()
        for k in redis.scan_iter(match=prefix + "*"):
            redis.delete(k)
        redis.close()

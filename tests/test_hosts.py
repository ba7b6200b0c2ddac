"""Several web hosts, one campaign (issue 15): with REACH_REDIS set, the page cache and the login
state live in the real Redis on 127.0.0.1:6379 under the campaign's key prefix, a Redis that does
not answer costs time and never a page, and `reach serve` refuses to start without what every host
must share (REACH_SECRET_KEY, a named archive folder). Without REACH_REDIS nothing changes
(tests/test_cache.py and tests/test_auth.py hold the default).

Every test uses Redis database 13 and deletes the keys of the prefixes it made; the campaigns are
SQLite files in the test's own folder, so no two tests share a prefix.
"""
from __future__ import annotations

import socket
import subprocess
import time

import flask
import pytest

from collectors.errors import ReachError
from collectors.pipeline import Importer
from collectors.store import database
from dashboard import deployment
from dashboard.analysis import shared
from dashboard.web import auth, cache
from dashboard.web.app import create_app
from dashboard.web.pages import influencers
from conftest import redis_or_skip
from test_auth import PASSWORDS, csrf_of, free_port, reach
from test_cache import CAMPAIGN, X_NAME, Counting, memo
from test_store import x_content

REDIS_DB = 13
SECRET = "s" * 40


@pytest.fixture
def redis_url(monkeypatch):
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    client = redis_or_skip(url)
    monkeypatch.setenv("REACH_REDIS", url)
    monkeypatch.setenv("REACH_SECRET_KEY", SECRET)
    monkeypatch.delenv("REACH_BROKER", raising=False)
    monkeypatch.delenv(cache.ENV, raising=False)
    made: list[str] = []
    yield url, client, made
    for prefix in made:
        for k in client.scan_iter(match=prefix + "*"):
            client.delete(k)
    client.close()


def campaign(tmp_path, name: str, made: list[str]):
    eng = database.connect(f"sqlite:///{tmp_path / name / 'reach.db'}")
    Importer(eng, None).import_bytes(X_NAME, x_content([("1870000000000000001", 1200, 30)]))
    made.append(deployment.key_prefix(eng.url.render_as_string(hide_password=False)))
    return eng


def test_with_reach_redis_two_apps_compute_once_and_the_entry_is_in_redis_under_the_campaigns_prefix(
        redis_url, tmp_path):
    _, client, made = redis_url
    eng = campaign(tmp_path, "one", made)
    one, two = create_app(eng), create_app(eng)
    prefix = one.server.config["REACH_CACHE_PREFIX"]
    assert prefix == made[0] and prefix.startswith("reach:")
    assert one.server.config["REACH_CACHE_DIR"] is None and not (tmp_path / "one" / "cache").exists()
    compute = Counting(eng)
    first, second = memo(one, eng, compute), memo(two, eng, compute)
    assert compute.runs == 1 and first.equals(second)
    keys = [k.decode() for k in client.scan_iter(match=prefix + "*")]
    assert len(keys) == 1 and keys[0].startswith(prefix + "test.posts:")
    # An import moves the data version: the next call computes again, for every app.
    Importer(eng, None).import_bytes("account_analytics_content_2024-12-23_2024-12-29.csv",
                                     x_content([("1870000000000000002", 10, 1)]))
    assert memo(two, eng, compute)["post_id"].tolist() == ["1870000000000000001", "1870000000000000002"]
    assert memo(one, eng, compute)["run"].tolist() == [2, 2] and compute.runs == 2
    eng.dispose()


def test_two_campaigns_on_one_redis_never_read_each_others_entries(redis_url, tmp_path):
    _, client, made = redis_url
    a, b = campaign(tmp_path, "a", made), campaign(tmp_path, "b", made)
    Importer(b, None).import_bytes("account_analytics_content_2024-12-23_2024-12-29.csv",
                                   x_content([("1870000000000000009", 10, 1)]))
    app_a, app_b = create_app(a), create_app(b)
    assert app_a.server.config["REACH_CACHE_PREFIX"] != app_b.server.config["REACH_CACHE_PREFIX"]
    assert memo(app_a, a, Counting(a))["post_id"].tolist() == ["1870000000000000001"]
    assert memo(app_b, b, Counting(b))["post_id"].tolist() == ["1870000000000000001", "1870000000000000009"]
    for prefix in made:
        assert len(list(client.scan_iter(match=prefix + "test.posts:*"))) == 1
    a.dispose(), b.dispose()


def test_the_prefix_is_a_hash_of_the_database_url_that_never_holds_its_password():
    one = deployment.key_prefix("postgresql+psycopg://reach:first-secret@db.internal:5432/reach")
    again = deployment.key_prefix("postgresql+psycopg://reach:other-secret@db.internal:5432/reach")
    other_db = deployment.key_prefix("postgresql+psycopg://reach:first-secret@db.internal:5432/ministry")
    assert one == again != other_db  # a new password keeps the entries; another database does not share them
    assert "secret" not in one and "reach@" not in one and len(one) == len("reach:") + 16 + 1


def test_a_redis_that_does_not_answer_at_start_is_a_warning_and_the_pages_still_work(
        redis_url, tmp_path, monkeypatch, caplog):
    _, _, made = redis_url
    eng = campaign(tmp_path, "down", made)
    port = free_port("127.0.0.1")  # nothing listens there
    monkeypatch.setenv("REACH_REDIS", f"redis://:hunter2-password@127.0.0.1:{port}/0")
    app = create_app(eng)
    assert app.server.config["REACH_CACHE_PREFIX"] is None and app.server.config["REACH_CACHE_DIR"] is None
    assert "cannot be used" in caplog.text and f"127.0.0.1:{port}" in caplog.text
    assert "hunter2" not in caplog.text  # the URL's password never reaches the log
    compute = Counting(eng)
    assert memo(app, eng, compute)["run"].tolist() == [1]
    assert memo(app, eng, compute)["run"].tolist() == [2]  # computed every time, never an error
    with app.server.test_request_context("/influencers"):
        page = influencers.layout()
    assert "inf-grid" in repr(page) and "jinhub_yiwu (unassigned)" in repr(page)
    eng.dispose()


def test_a_redis_that_stops_answering_later_makes_each_read_a_miss_not_an_error(redis_url, tmp_path, monkeypatch):
    _, _, made = redis_url
    eng = campaign(tmp_path, "later", made)
    port = free_port("127.0.0.1")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port)
        monkeypatch.setenv("REACH_REDIS", f"redis://127.0.0.1:{port}/0")
        app, compute = create_app(eng), Counting(eng)
        assert app.server.config["REACH_CACHE_PREFIX"]
        assert memo(app, eng, compute)["run"].tolist() == [1]
        assert memo(app, eng, compute)["run"].tolist() == [1]  # a hit
    finally:
        proc.kill()
        proc.wait(10)
    errors = shared.stats["read_errors"]
    assert memo(app, eng, compute)["run"].tolist() == [2]
    assert shared.stats["read_errors"] == errors + 1
    eng.dispose()


def _wait_listening(port: int) -> None:
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"redis-server did not listen on {port}")


# --- the login state: shared by every host through Redis ---------------------------------------

def login_app(tmp_path, folder: str, db_url: str = "sqlite:///unused.db") -> flask.Flask:
    """A Flask app behind the login, with a copy of one users file in a folder of its own: what two
    hosts share can only come through Redis and the secret, not through files. (A copy: a user
    added on each host separately gets another password hash, which ends the other host's sessions.)"""
    original = tmp_path / "users.toml"
    if not original.exists():
        auth.add_user(original, "alice", "editor", PASSWORDS["alice"])
    users = tmp_path / folder / "users.toml"
    users.parent.mkdir(parents=True, exist_ok=True)
    users.write_bytes(original.read_bytes())
    app = flask.Flask(folder)
    app.config["REACH_DB_URL"] = db_url
    app.add_url_rule("/data", "data", lambda: "the data")
    auth.install(app, auth.Settings(users=users, anonymous=False))
    return app


def log_in(client, password=PASSWORDS["alice"]):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "name": "alice", "password": password})


def test_a_session_made_on_one_host_is_accepted_by_another_and_a_logout_on_either_ends_it_on_both(
        redis_url, tmp_path):
    _, client, made = redis_url
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    made.append(deployment.key_prefix(db))
    one, two = login_app(tmp_path, "host1", db).test_client(), login_app(tmp_path, "host2", db).test_client()
    assert log_in(one).status_code == 302
    two.set_cookie("reach_session", one.get_cookie("reach_session").value)
    assert two.get("/data").text == "the data"
    assert client.hgetall(made[-1] + "session-generations")  # kept in Redis ...
    assert not (tmp_path / "host1" / auth.GENERATIONS_FILE).exists()  # ... not beside the users file
    token = csrf_of(two.get("/logout").text)
    assert two.post("/logout", data={"csrf_token": token}).status_code == 302
    assert one.get("/data").status_code == 302  # logged out on host 2: the cookie is dead on host 1 too


def test_failed_logins_count_across_hosts(redis_url, tmp_path, monkeypatch):
    _, _, made = redis_url
    monkeypatch.setenv("REACH_LOGIN_NAME_LIMIT", "3")
    monkeypatch.setattr(auth, "FAIL_DELAY_S", 0)
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    made.append(deployment.key_prefix(db))
    hosts = [login_app(tmp_path, f"host{i}", db).test_client() for i in (1, 2, 3)]
    assert [log_in(h, "wrong-password").status_code for h in hosts] == [401, 401, 401]
    # The name's budget is spent on three hosts together: the right password is refused on a fourth try.
    assert log_in(hosts[0]).status_code == 429


def test_a_redis_that_does_not_answer_closes_the_door_instead_of_dropping_the_limit(redis_url, tmp_path,
                                                                                    monkeypatch):
    _, _, made = redis_url
    monkeypatch.setenv("REACH_REDIS", f"redis://127.0.0.1:{free_port('127.0.0.1')}/0")
    c = login_app(tmp_path, "host1").test_client()
    r = log_in(c)
    assert r.status_code == 503 and "Logins are paused" in r.text


# --- refusals at start ----------------------------------------------------------------------------

def test_distributed_serving_without_reach_secret_key_or_a_named_archive_is_refused_in_one_line(tmp_path):
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    args = ("serve", "--port", str(free_port("127.0.0.1")), "--db", str(tmp_path / "r.db"))
    r = reach(*args, cwd=tmp_path, REACH_REDIS=url, REACH_ARCHIVE=str(tmp_path / "archive"))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "REACH_SECRET_KEY" in lines[0], r.stderr
    assert not (tmp_path / "data" / auth.KEY_FILE).exists()  # no key file made for this host alone
    r = reach(*args, cwd=tmp_path, REACH_REDIS=url, REACH_SECRET_KEY=SECRET)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "REACH_ARCHIVE" in lines[0], r.stderr
    assert not (tmp_path / "r.db").exists()  # refused before the database was opened
    # A mistyped REACH_REDIS stops it too, rather than serving as one machine.
    r = reach(*args, cwd=tmp_path, REACH_REDIS="127.0.0.1:6379", REACH_SECRET_KEY=SECRET)
    assert r.returncode == 1 and "REACH_REDIS" in r.stderr


def test_archive_given_on_the_command_line_satisfies_distributed_serving(tmp_path):
    with socket.socket() as busy:  # the checks pass, and serve goes on to find the port taken
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = reach("serve", "--port", str(busy.getsockname()[1]), "--db", str(tmp_path / "r.db"),
                  "--archive", str(tmp_path / "shared"), cwd=tmp_path,
                  REACH_REDIS=f"redis://127.0.0.1:6379/{REDIS_DB}", REACH_SECRET_KEY=SECRET)
    assert r.returncode == 2 and "REACH_ARCHIVE" not in r.stderr and "taken" in r.stderr, r.stderr


def test_the_secret_key_rule_holds_for_gunicorn_started_by_hand_too(monkeypatch, tmp_path):
    monkeypatch.setenv("REACH_REDIS", f"redis://127.0.0.1:6379/{REDIS_DB}")
    monkeypatch.delenv("REACH_SECRET_KEY", raising=False)
    with pytest.raises(ReachError, match="REACH_SECRET_KEY"):
        auth.secret_key(tmp_path / "users.toml")
    assert not (tmp_path / auth.KEY_FILE).exists()
    monkeypatch.delenv("REACH_REDIS")
    assert len(auth.secret_key(tmp_path / "users.toml")) >= 32  # one machine: the key file, as before

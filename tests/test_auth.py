"""Login, roles and multi-worker serving, against real `reach serve` processes over real HTTP.

Each server runs in a temporary folder with its own users file, session key and SQLite database,
binds a loopback address on a free port, and is stopped by the test that started it.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from collectors.errors import ReachError
from dashboard import auth

ROOT = Path(__file__).resolve().parents[1]
PASSWORDS = {"alice": "alice-editor-pw", "vic": "vic-viewer-pw1"}


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    # The developer's own REACH_* settings (users, secret, database) must not leak into a test server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACH_") and k != "GUNICORN_CMD_ARGS"}
    env["REACH_CONFIG"] = str(ROOT / "campaign.toml")
    env.update(extra)
    return env


def reach(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], cwd=cwd, env=clean_env(**env),
                          capture_output=True, text=True, timeout=120)


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def served(folder: Path, *args: str, host: str = "127.0.0.1", **env: str):
    port = free_port(host)
    log = folder / f"serve-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--db", str(folder / "reach.db"),
                                 "--host", host, "--port", str(port), *args],
                                cwd=folder, env=clean_env(**env), stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://{host}:{port}", proc, log)
    try:
        deadline = time.time() + 60
        while True:
            try:
                # /login answers 200 whether or not a login is needed: a sign the app is up.
                if requests.get(server.url + "/login", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or gunicorn's workers are still importing
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"the dashboard did not come up at {server.url}; log:\n{server.log_text()}")
            time.sleep(0.3)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(url: str, name: str, password: str, next_: str = "/") -> tuple[requests.Session, requests.Response]:
    s = requests.Session()
    token = csrf_of(s.get(f"{url}/login", params={"next": next_}).text)
    r = s.post(f"{url}/login", params={"next": next_}, allow_redirects=False,
               data={"csrf_token": token, "name": name, "password": password})
    return s, r


def pages_callback(client, url: str, deps: list) -> requests.Response:
    """The Dash pages callback that renders "/", built from what /_dash-dependencies declared."""
    cb = next(d for d in deps if {"id": "_pages_location", "property": "pathname"} in d["inputs"])
    values = {"pathname": "/", "search": ""}
    body = {
        "output": cb["output"],
        "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]}
                    for o in cb["output"].strip(".").split("...")],
        "inputs": [dict(i, value=values.get(i["property"])) for i in cb["inputs"]],
        "state": [dict(st, value=None) for st in cb["state"]],
        "changedPropIds": ["_pages_location.pathname"],
    }
    return client.post(f"{url}/_dash-update-component", json=body)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("auth")
    users = folder / "conf" / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    auth.add_user(users, "vic", "viewer", PASSWORDS["vic"])
    with served(folder, "--users", str(users)) as server:
        yield server


PAGES = ["/", "/weekly", "/assets/reach.css", "/_favicon.ico"]
API_GETS = ["/_dash-layout", "/_dash-dependencies", "/_reload-hash", "/download/posts.csv",
            "/_dash-component-suites/dash/dcc/dash_core_components.js"]


def test_without_a_login_pages_redirect_to_the_login_and_dash_endpoints_downloads_and_uploads_answer_401(site):
    for path in PAGES:
        r = requests.get(site.url + path, allow_redirects=False)
        assert r.status_code == 302, path
        assert r.headers["Location"].endswith("/login?next=" + path), (path, r.headers["Location"])
    for path in API_GETS:
        r = requests.get(site.url + path, allow_redirects=False)
        assert (r.status_code, r.json()["error"]) == (401, "login required"), path
    for path in ("/_dash-update-component", "/upload/roster.csv"):
        r = requests.post(site.url + path, json={"output": "x.children"}, allow_redirects=False)
        assert r.status_code == 401, path
    editor, _ = login(site.url, "alice", PASSWORDS["alice"])
    deps = editor.get(site.url + "/_dash-dependencies").json()
    assert pages_callback(requests, site.url, deps).status_code == 401


def test_after_login_pages_layout_dependencies_and_callbacks_answer_200(site):
    s, r = login(site.url, "alice", PASSWORDS["alice"], next_="/weekly")
    assert r.status_code == 302 and r.headers["Location"].endswith("/weekly")
    assert s.get(site.url + "/").status_code == 200
    assert s.get(site.url + "/weekly").status_code == 200
    assert "_pages_location" in s.get(site.url + "/_dash-layout").text
    assert s.get(site.url + "/_dash-dependencies").status_code == 200
    r = pages_callback(s, site.url, s.get(site.url + "/_dash-dependencies").json())
    assert r.status_code == 200, r.text[:500]
    assert "_pages_content" in r.json()["response"]


def test_the_session_cookie_is_httponly_samesite_lax_and_carries_no_password(site):
    _, r = login(site.url, "vic", PASSWORDS["vic"])
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert PASSWORDS["vic"] not in cookie and "scrypt" not in cookie


def test_a_wrong_password_and_an_unknown_name_get_the_same_401_and_no_session(site):
    s1, wrong = login(site.url, "alice", "not-her-password")
    s2, unknown = login(site.url, "mallory", "not-her-password")
    assert wrong.status_code == unknown.status_code == 401
    same = [re.sub(r'(name="csrf_token" value=")[^"]+', r"\1", r.text).replace("mallory", "alice")
            for r in (wrong, unknown)]
    assert same[0] == same[1]
    assert "Wrong name or password" in wrong.text
    for s in (s1, s2):
        assert s.get(site.url + "/_dash-layout").status_code == 401


def test_a_login_post_without_the_forms_csrf_token_is_refused_even_with_the_right_password(site):
    s = requests.Session()
    s.get(site.url + "/login")
    r = s.post(site.url + "/login", data={"name": "alice", "password": PASSWORDS["alice"], "csrf_token": "forged"},
               allow_redirects=False)
    assert r.status_code == 400
    assert s.get(site.url + "/_dash-layout").status_code == 401


def test_the_login_page_escapes_what_it_echoes_and_never_redirects_off_the_site(site):
    r = requests.get(site.url + "/login", params={"next": '/"><script>alert(1)</script>'})
    assert "<script" not in r.text and "%3Cscript%3E" in r.text
    _, r = login(site.url, '"><b>bold</b>', "whatever-pw")
    assert "<b>bold" not in r.text and "&#34;&gt;&lt;b&gt;bold" in r.text.replace("&quot;", "&#34;")
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        _, r = login(site.url, "vic", PASSWORDS["vic"], next_=evil)
        assert r.status_code == 302
        assert r.headers["Location"] in ("/", site.url + "/"), (evil, r.headers["Location"])


def test_a_viewer_reads_and_downloads_but_gets_403_on_upload_where_an_editor_passes(site):
    viewer, _ = login(site.url, "vic", PASSWORDS["vic"])
    editor, _ = login(site.url, "alice", PASSWORDS["alice"])
    assert viewer.get(site.url + "/_dash-layout").status_code == 200
    # Whatever the routes behind them answer (none may exist yet), the guard lets these through.
    assert viewer.get(site.url + "/download/posts.csv").status_code not in (401, 403)
    assert editor.post(site.url + "/upload/roster.csv", data=b"x").status_code not in (401, 403)
    for path in ("/upload/roster.csv", "/upload", "//upload/roster.csv", "/upload/../upload/x"):
        r = viewer.post(site.url + path, data=b"x")
        assert (r.status_code, r.json()["error"]) == (403, "editors only"), path


def test_logout_ends_the_session(site):
    s, _ = login(site.url, "alice", PASSWORDS["alice"])
    assert s.get(site.url + "/_dash-layout").status_code == 200
    r = s.get(site.url + "/logout", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert s.get(site.url + "/_dash-layout").status_code == 401


def test_the_session_key_file_beside_the_users_file_is_private_to_its_owner(site):
    key = site.proc.args[site.proc.args.index("--users") + 1]
    mode = stat.S_IMODE((Path(key).parent / auth.KEY_FILE).stat().st_mode)
    assert mode == 0o600


def test_users_add_stores_only_a_hash_in_a_private_file_and_never_prints_the_password(tmp_path):
    r = reach("users", "add", "chen.wei", "--role", "editor", "--users", "u.toml", cwd=tmp_path,
              REACH_PASSWORD="s3cret-phrase")
    assert r.returncode == 0, r.stderr
    assert "added chen.wei (editor)" in r.stdout
    text = (tmp_path / "u.toml").read_text()
    assert "s3cret-phrase" not in text + r.stdout + r.stderr
    assert stat.S_IMODE((tmp_path / "u.toml").stat().st_mode) == 0o600
    user = auth.load_users(tmp_path / "u.toml")["chen.wei"]
    assert user.role == "editor" and user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    r = reach("users", "add", "chen.wei", "--role", "viewer", "--users", "u.toml", cwd=tmp_path,
              REACH_PASSWORD="another-phrase")
    assert "updated chen.wei (viewer)" in r.stdout
    assert auth.load_users(tmp_path / "u.toml")["chen.wei"].role == "viewer"
    r = reach("users", "add", "bob", "--users", "u.toml", cwd=tmp_path, REACH_PASSWORD="short")
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "short" in r.stderr
    r = reach("users", "add", "bob", "--users", "u.toml", cwd=tmp_path)  # no terminal, no REACH_PASSWORD
    assert r.returncode == 1 and "REACH_PASSWORD" in r.stderr


def test_a_users_file_with_a_clear_text_password_or_an_unknown_role_is_refused(tmp_path):
    f = tmp_path / "users.toml"
    f.write_text('[alice]\nrole = "editor"\npassword = "hunter22"\n')
    with pytest.raises(ReachError, match="clear-text") as e:
        auth.load_users(f)
    assert "hunter22" not in str(e.value)
    f.write_text('[alice]\nrole = "admin"\npassword_hash = "scrypt:1:1:1$a$b"\n')
    with pytest.raises(ReachError, match="viewer or editor"):
        auth.load_users(f)


def test_serve_on_0_0_0_0_without_users_exits_non_zero_with_a_one_line_error(tmp_path):
    r = reach("serve", "--host", "0.0.0.0", "--port", str(free_port("127.0.0.1")), "--db", str(tmp_path / "r.db"),
              "--users", str(tmp_path / "none.toml"), cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to serve on 0.0.0.0"), r.stderr
    assert "reach users add" in lines[0]


def test_a_bind_other_than_127_0_0_1_needs_users_and_with_them_serves_behind_a_login(tmp_path):
    users = tmp_path / "users.toml"
    r = reach("serve", "--host", "127.0.0.2", "--port", str(free_port("127.0.0.2")), "--db", str(tmp_path / "r.db"),
              "--users", str(users), cwd=tmp_path)
    assert r.returncode == 1 and "refusing to serve on 127.0.0.2" in r.stderr
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    with served(tmp_path, "--users", str(users), host="127.0.0.2") as server:
        assert requests.get(server.url + "/_dash-layout").status_code == 401
        s, _ = login(server.url, "alice", PASSWORDS["alice"])
        assert s.get(server.url + "/_dash-layout").status_code == 200
        assert "login required (1 user" in server.log_text()


def test_with_no_users_on_127_0_0_1_the_one_local_user_needs_no_login_and_may_edit(tmp_path):
    with served(tmp_path, "--users", str(tmp_path / "none.toml")) as server:
        assert requests.get(server.url + "/_dash-layout").status_code == 200
        assert pages_callback(requests, server.url, requests.get(server.url + "/_dash-dependencies").json()).status_code == 200
        assert requests.post(server.url + "/upload/roster.csv", data=b"x").status_code not in (401, 403)


def test_users_added_while_serving_take_effect_without_a_restart_and_removal_ends_their_session(tmp_path):
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    with served(tmp_path, "--users", str(users)) as server:
        assert login(server.url, "vic", PASSWORDS["vic"])[1].status_code == 401
        auth.add_user(users, "vic", "viewer", PASSWORDS["vic"])
        s, r = login(server.url, "vic", PASSWORDS["vic"])
        assert r.status_code == 302 and s.get(server.url + "/_dash-layout").status_code == 200
        auth.remove_user(users, "vic")
        assert s.get(server.url + "/_dash-layout").status_code == 401


def test_failed_logins_past_the_limit_are_refused_even_with_the_right_password(tmp_path):
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    with served(tmp_path, "--users", str(users), REACH_LOGIN_LIMIT="2") as server:
        assert login(server.url, "alice", "guess-one")[1].status_code == 401
        assert login(server.url, "alice", "guess-two")[1].status_code == 401
        s, r = login(server.url, "alice", PASSWORDS["alice"])
        assert r.status_code == 429
        assert s.get(server.url + "/_dash-layout").status_code == 401
        # Counted on disk, not in the process: all workers and restarts see the same count.
        assert (tmp_path / auth.FAILURES_FILE).exists()


def test_gunicorn_with_two_workers_serves_the_dashboard_and_both_accept_the_same_login(tmp_path):
    pytest.importorskip("gunicorn")
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    fmt = "--access-logformat 'ACCESS %(p)s %(m)s %(U)s %(s)s'"
    with served(tmp_path, "--users", str(users), "--workers", "2", GUNICORN_CMD_ARGS=fmt) as server:
        s, r = login(server.url, "alice", PASSWORDS["alice"])
        assert r.status_code == 302
        cookies = s.cookies.get_dict()
        assert requests.get(server.url + "/_dash-layout").status_code == 401

        def fetch(_):
            return requests.get(server.url + "/_dash-layout", cookies=cookies).status_code

        pids: set[str] = set()
        for _ in range(10):
            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(fetch, range(16))) == {200}
            pids = set(re.findall(r"ACCESS <?(\d+)>? GET /_dash-layout 200", server.log_text()))
            if len(pids) >= 2:
                break
        booted = set(re.findall(r"Booting worker with pid: (\d+)", server.log_text()))
        assert len(booted) == 2, server.log_text()
        assert len(pids) == 2 and pids <= booted, server.log_text()
        assert pages_callback(s, server.url, s.get(server.url + "/_dash-dependencies").json()).status_code == 200


def test_require_editor_in_a_dash_callback_answers_403_to_a_viewer_and_runs_for_an_editor(tmp_path, monkeypatch):
    import dash
    from dash import Input, Output, dcc, html

    monkeypatch.setenv("REACH_SECRET_KEY", "k" * 40)
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    auth.add_user(users, "vic", "viewer", PASSWORDS["vic"])
    app = dash.Dash(__name__)
    app.layout = html.Div([dcc.Input(id="roster-name"), html.Div(id="roster-saved")])

    @app.callback(Output("roster-saved", "children"), Input("roster-name", "value"))
    def save(value):
        auth.require_editor()
        return f"saved {value} as {auth.current_user()} ({auth.current_role()})"

    auth.install(app.server, auth.Settings(users=users, anonymous=False))
    client = app.server.test_client()
    body = {"output": "roster-saved.children", "outputs": {"id": "roster-saved", "property": "children"},
            "inputs": [{"id": "roster-name", "property": "value", "value": "Chen"}],
            "changedPropIds": ["roster-name.value"], "state": []}
    answers = {}
    for name in ("vic", "alice"):
        client.get("/logout")
        token = csrf_of(client.get("/login").text)
        assert client.post("/login", data={"csrf_token": token, "name": name, "password": PASSWORDS[name]}).status_code == 302
        answers[name] = client.post("/_dash-update-component", json=body)
    assert answers["vic"].status_code == 403
    assert answers["alice"].status_code == 200
    assert answers["alice"].json["response"]["roster-saved"]["children"] == "saved Chen as alice (editor)"

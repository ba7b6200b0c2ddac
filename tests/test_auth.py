"""Login, roles and multi-worker serving, against real `reach serve` processes over real HTTP.

Each server runs in a temporary folder with its own users file, session key and SQLite database,
binds a loopback address on a free port, and is stopped by the test that started it.
"""
from __future__ import annotations

import contextlib
import json
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
from dashboard.web import auth

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


class _FromAddress(requests.adapters.HTTPAdapter):
    """Connections from one local address (127.0.0.2, ...), so a server on 0.0.0.0 sees distinct clients."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(address: str | None = None) -> requests.Session:
    s = requests.Session()
    if address:
        s.mount("http://", _FromAddress(address))
    return s


def login(url: str, name: str, password: str, next_: str = "/", *,
          address: str | None = None) -> tuple[requests.Session, requests.Response]:
    s = client(address)
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


def logout(s, url):
    """Log out as the confirmation form does: the page's token, then POST."""
    token = csrf_of(s.get(url + "/logout").text)
    return s.post(url + "/logout", data={"csrf_token": token}, allow_redirects=False)


def test_logout_ends_the_session(site):
    s, _ = login(site.url, "alice", PASSWORDS["alice"])
    assert s.get(site.url + "/_dash-layout").status_code == 200
    r = logout(s, site.url)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert s.get(site.url + "/_dash-layout").status_code == 401


def test_a_forged_logout_link_asks_instead_of_ending_every_session(site):
    # Logout ends all of a user's sessions: another site's <img src="/logout"> must not do that.
    s, _ = login(site.url, "alice", PASSWORDS["alice"])
    for forged in ("/logout", "/logout?t=", "/logout?t=guess"):
        r = s.get(site.url + forged, allow_redirects=False)
        assert r.status_code == 200 and "Log out of every browser" in r.text
        assert s.get(site.url + "/_dash-layout").status_code == 200
    assert s.post(site.url + "/logout", data={"csrf_token": "guess"}, allow_redirects=False).status_code == 400
    assert s.get(site.url + "/_dash-layout").status_code == 200
    # The header's link carries the session's token and logs out at once.
    token = csrf_of(s.get(site.url + "/logout").text)
    r = s.get(site.url + "/logout", params={"t": token}, allow_redirects=False)
    assert r.status_code == 302 and s.get(site.url + "/_dash-layout").status_code == 401


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


# --- issue 10: the limit is atomic and per name and address, the CSRF token cannot be empty,
# --- sessions end at a fixed time and at logout, and every response carries the browser's guards

def test_forty_parallel_wrong_passwords_are_checked_at_most_limit_times_and_the_rest_get_429(tmp_path):
    # The limit used to be read, then the failure written, in two steps: 40 guesses sent at once
    # all passed the read, and each cost a scrypt check (~32 MB).
    from collections import Counter

    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    with served(tmp_path, "--users", str(users), REACH_LOGIN_LIMIT="5") as server:
        forms = []
        for _ in range(40):
            s = requests.Session()
            forms.append((s, csrf_of(s.get(server.url + "/login").text)))

        def guess(form):
            s, token = form
            return s.post(server.url + "/login", allow_redirects=False,
                          data={"csrf_token": token, "name": "alice", "password": "wrong-guess"}).status_code

        with ThreadPoolExecutor(40) as pool:
            statuses = Counter(pool.map(guess, forms))
        assert statuses == Counter({401: 5, 429: 35}), statuses
        assert login(server.url, "alice", PASSWORDS["alice"])[1].status_code == 429


def test_the_limit_holds_per_name_across_addresses_and_per_address_across_names(tmp_path):
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    auth.add_user(users, "vic", "viewer", PASSWORDS["vic"])
    with served(tmp_path, "--users", str(users), host="0.0.0.0", REACH_LOGIN_LIMIT="3",
                REACH_LOGIN_NAME_LIMIT="3") as server:
        url = server.url.replace("0.0.0.0", "127.0.0.1")
        # One name guessed from many addresses: the name is shut, the other name is not.
        for n in range(3):
            assert login(url, "alice", f"guess-{n}", address=f"127.0.1.{n + 1}")[1].status_code == 401
        assert login(url, "alice", PASSWORDS["alice"], address="127.0.1.9")[1].status_code == 429
        assert login(url, "vic", PASSWORDS["vic"], address="127.0.1.9")[1].status_code == 302
        # One address guessing many names: the address is shut, whatever name it tries next.
        for name in ("bob", "carol", "dave"):
            assert login(url, name, "guess", address="127.0.2.1")[1].status_code == 401
        assert login(url, "vic", PASSWORDS["vic"], address="127.0.2.1")[1].status_code == 429
        # A right password does not wipe the address's count: an attacker with an account of their
        # own cannot interleave logins to keep guessing someone else's.
        # (A new name each time, so only the address's count can refuse.)
        for name in ("erin", "frank"):
            assert login(url, name, "guess", address="127.0.3.1")[1].status_code == 401
        assert login(url, "vic", PASSWORDS["vic"], address="127.0.3.1")[1].status_code == 302
        assert login(url, "gina", "guess", address="127.0.3.1")[1].status_code == 401
        assert login(url, "hank", "guess", address="127.0.3.1")[1].status_code == 429
        assert "REACH_LOGIN_LIMIT" in server.log_text()  # the log names the knob


def test_password_checks_run_at_most_reach_login_concurrency_at_once_in_a_process(tmp_path, monkeypatch):
    import threading

    import flask
    import werkzeug.security

    monkeypatch.setenv("REACH_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("REACH_LOGIN_CONCURRENCY", "2")
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    running, peak, lock, two = [0], [0], threading.Lock(), threading.Event()
    real = werkzeug.security.check_password_hash

    def slow_check(h, pw):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            if running[0] >= 2:
                two.set()
        # Held until a second check runs beside it, so a loaded machine that starts the threads
        # slowly cannot make them run one at a time by chance (peak 1); a bound of 1 still gives 1.
        two.wait(5)
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return real(h, pw)

    monkeypatch.setattr(werkzeug.security, "check_password_hash", slow_check)
    app = flask.Flask(__name__)
    auth.install(app, auth.Settings(users=users, anonymous=False))

    def attempt(n):
        # Distinct addresses and names: only the bound on concurrent checks can hold them back.
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = f"10.0.{n}.1"
        token = csrf_of(c.get("/login").text)
        return c.post("/login", data={"csrf_token": token, "name": f"user{n}", "password": "wrong-guess"}).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(attempt, range(12)))
    assert set(statuses) == {401}
    assert peak[0] == 2


def test_a_bare_login_post_with_no_cookie_and_no_token_is_refused(site):
    # compare_digest("", "") is true: a form with no token against a session with none used to pass.
    for data in ({"name": "alice", "password": PASSWORDS["alice"]},
                 {"name": "alice", "password": PASSWORDS["alice"], "csrf_token": ""},
                 {"name": "alice", "password": PASSWORDS["alice"], "csrf_token": "é-non-ascii"}):
        s = requests.Session()
        r = s.post(site.url + "/login", data=data, allow_redirects=False)
        assert r.status_code == 400, (data, r.status_code)
        assert "form expired" in r.text
        assert s.get(site.url + "/_dash-layout").status_code == 401


def test_a_session_ends_at_its_absolute_lifetime_however_busy_it_is(tmp_path):
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    with served(tmp_path, "--users", str(users), REACH_SESSION_HOURS="0.0005") as server:  # 1.8 s
        s, r = login(server.url, "alice", PASSWORDS["alice"])
        started = time.time()
        assert r.status_code == 302
        # Busy all along: every answer may re-sign the cookie, and still the session ends (and
        # stays ended for the next few requests).
        codes = []
        while time.time() - started < 12 and codes[-4:] != [401] * 4:
            codes.append(s.get(server.url + "/_dash-layout").status_code)
            time.sleep(0.3)
        assert codes[0] == 200 and codes[-1] == 401, codes
        assert codes == sorted(codes), codes  # once ended, it stays ended


def _signed_session(key: str, data: dict) -> str:
    import flask
    from flask.sessions import SecureCookieSessionInterface

    app = flask.Flask(__name__)
    app.secret_key = key
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps(data)


def test_a_cookie_freshly_signed_but_issued_more_than_12_hours_ago_or_with_no_issue_time_is_refused(site):
    folder = Path(site.proc.args[site.proc.args.index("--users") + 1]).parent
    key = (folder / auth.KEY_FILE).read_text().strip()
    fp = auth._fingerprint(auth.load_users(folder / "users.toml")["alice"].password_hash)
    s, _ = login(site.url, "alice", PASSWORDS["alice"])
    assert s.get(site.url + "/_dash-layout").status_code == 200
    gen = json.loads((folder / auth.GENERATIONS_FILE).read_text())["alice"]
    now = time.time()
    # The forgery is right in all but the issue time: with a fresh one it is let in.
    for iat, status in ((now - 60, 200), (now - 12 * 3600 - 60, 401), (now + 3600, 401), (None, 401),
                        ("yesterday", 401), (True, 401)):
        data = {"user": "alice", "pw": fp, "csrf": "t" * 32, "gen": gen}
        if iat is not None:
            data["iat"] = iat
        cookie = _signed_session(key, data)
        r = requests.get(site.url + "/_dash-layout", cookies={"reach_session": cookie})
        assert r.status_code == status, iat


def test_logout_ends_a_copied_cookie_too_in_every_worker(tmp_path):
    pytest.importorskip("gunicorn")
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    with served(tmp_path, "--users", str(users), "--workers", "2") as server:
        s, _ = login(server.url, "alice", PASSWORDS["alice"])
        stolen = dict(s.cookies.get_dict())

        def fetch(_):
            return requests.get(server.url + "/_dash-layout", cookies=stolen).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(fetch, range(16))) == {200}
        assert logout(s, server.url).status_code == 302
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(fetch, range(16))) == {401}
        again, r = login(server.url, "alice", PASSWORDS["alice"])
        assert r.status_code == 302 and again.get(server.url + "/_dash-layout").status_code == 200


def test_every_response_carries_csp_frame_referrer_and_nosniff_headers(site):
    s, _ = login(site.url, "alice", PASSWORDS["alice"])
    for who, path in ((s, "/"), (s, "/weekly"), (s, "/_dash-layout"), (s, "/assets/reach.css"),
                      (requests, "/"), (requests, "/_dash-layout"), (requests, "/login")):
        r = who.get(site.url + path, allow_redirects=False)
        h = r.headers
        assert h.get("X-Frame-Options") == "DENY", path
        assert h.get("Referrer-Policy") == "same-origin", path
        assert h.get("X-Content-Type-Options") == "nosniff", path
        csp = dict((d.strip().split(" ", 1) + [""])[:2] for d in h["Content-Security-Policy"].split(";") if d.strip())
        assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'", path
        assert "'unsafe-inline'" not in csp.get("script-src", "") and "'unsafe-eval'" not in csp.get("script-src", "")
        assert "*" not in h["Content-Security-Policy"] and "http" not in h["Content-Security-Policy"], path
    page = re.sub(r"<!--.*?-->", "", s.get(site.url + "/").text, flags=re.S)  # IE's comment: never run
    # Dash's one inline script is allowed by its hash, nothing else inline is.
    scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", page, re.S)
    import base64
    import hashlib
    csp = s.get(site.url + "/").headers["Content-Security-Policy"]
    for body in scripts:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp, body[:80]


def test_a_mistyped_login_setting_stops_serve_with_a_one_line_error(tmp_path):
    for var, value, words in (("REACH_SESSION_HOURS", "twelve", "number of hours"),
                              ("REACH_LOGIN_LIMIT", "0", "at least 1"),
                              ("REACH_LOGIN_NAME_LIMIT", "ten", "whole number"),
                              ("REACH_LOGIN_CONCURRENCY", "-2", "at least 1")):
        r = reach("serve", "--port", str(free_port("127.0.0.1")), "--db", str(tmp_path / "r.db"),
                  "--users", str(tmp_path / "none.toml"), cwd=tmp_path, **{var: value})
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1, r.stderr
        assert lines[0].startswith(f"error: {var}='{value}'") and words in lines[0]


def test_login_state_that_cannot_be_kept_closes_the_door_instead_of_dropping_the_limit(tmp_path, monkeypatch):
    import flask

    monkeypatch.setenv("REACH_SECRET_KEY", "k" * 40)
    users = tmp_path / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    app = flask.Flask(__name__)
    app.add_url_rule("/data", "data", lambda: "the data")
    auth.install(app, auth.Settings(users=users, anonymous=False))
    c = app.test_client()

    def log_in():
        token = csrf_of(c.get("/login").text)
        return c.post("/login", data={"csrf_token": token, "name": "alice", "password": PASSWORDS["alice"]})

    (tmp_path / auth.FAILURES_FILE).mkdir()  # attempts cannot be recorded: no login, not an unlimited one
    r = log_in()
    assert r.status_code == 503 and "Logins are paused" in r.text
    (tmp_path / auth.FAILURES_FILE).rmdir()
    assert log_in().status_code == 302 and c.get("/data").text == "the data"
    # A damaged generations file: sessions cannot be checked against logouts, so none is accepted.
    (tmp_path / auth.GENERATIONS_FILE).write_text("{not json")
    assert c.get("/data").status_code == 503
    # Deleted: everyone is logged out; a logged-out session is never revived.
    (tmp_path / auth.GENERATIONS_FILE).unlink()
    assert c.get("/data").status_code == 302
    assert log_in().status_code == 302 and c.get("/data").text == "the data"

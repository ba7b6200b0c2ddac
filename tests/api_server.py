"""A real HTTP server on 127.0.0.1 for the API collector tests, scripted per path.

Each route answers from a list of responses in order (the last one repeats), or from a function
of the request, so a test can say "first 429 with Retry-After: 2, then 200", or serve pages by
their cursor. Every request is recorded (method, path, query, headers, JSON body). ``DROP`` closes
the connection without an answer (a connection error for the client).

    with ApiServer() as srv:
        srv.route("GET", "/youtube/v3/channels", reply(json={...}))
"""
from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

DROP = object()


def reply(status: int = 200, json_body=None, *, body: bytes | None = None, headers: dict | None = None,
          json=None) -> dict:  # noqa: A002 - "json=" reads best in tests
    payload = json if json is not None else json_body
    return {"status": status, "json": payload, "body": body, "headers": dict(headers or {})}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict  # name -> value (the last one when repeated)
    headers: dict
    body: object = None
    raw_url: str = ""


@dataclass
class _Routes:
    table: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: _Routes  # set per server class

    def log_message(self, *args):  # quiet: the tests assert on recorded requests instead
        pass

    def date_time_string(self, timestamp=None):
        return getattr(self, "_date", None) or super().date_time_string(timestamp)

    def _handle(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        req = Recorded(self.command, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                       {k: v for k, v in self.headers.items()}, body, self.path)
        with self.routes.lock:
            self.routes.requests.append(req)
            route = self.routes.table.get((self.command, parts.path))
            if route is None:
                spec = reply(404, {"error": {"message": f"no route for {self.command} {parts.path}", "code": 404}})
            elif callable(route):
                spec = None
            else:
                spec = route[0] if len(route) == 1 else route.pop(0)
        if route is not None and callable(route):
            spec = route(req)
        if spec is DROP:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        data = spec["body"] if spec["body"] is not None else json.dumps(spec["json"]).encode()
        headers = dict(spec["headers"])
        self._date = headers.pop("Date", None)
        self.send_response(spec["status"])
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json; charset=UTF-8"))
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (its read timeout) leaves a broken pipe behind: expected here.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class ApiServer:
    """A ThreadingHTTPServer on 127.0.0.1 (a random free port unless given), in a thread."""

    def __init__(self, port: int = 0):
        self._routes = _Routes()
        handler = type("Handler", (_Handler,), {"routes": self._routes})
        self.httpd = _Server(("127.0.0.1", port), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> "ApiServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def url(self, prefix: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{prefix}"

    def route(self, method: str, path: str, *responses) -> None:
        """Answer ``method path`` with these responses in turn (the last repeats), or with
        ``responses[0](request)`` when it is a function."""
        with self._routes.lock:
            if len(responses) == 1 and callable(responses[0]):
                self._routes.table[(method, path)] = responses[0]
            else:
                self._routes.table[(method, path)] = list(responses)

    @property
    def requests(self) -> list[Recorded]:
        with self._routes.lock:
            return list(self._routes.requests)

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]


def free_port() -> int:
    """A port nothing listens on (for "connection refused")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def api_server():
    with ApiServer() as srv:
        yield srv


class Sleeper:
    """An injected ``sleep`` that records the waits asked for and never waits."""

    def __init__(self, then=None):
        self.waits: list[float] = []
        self.then = then  # called on the first wait (e.g. to start a server that was down)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.then is not None:
            then, self.then = self.then, None
            then()


# --- a store and a runner for the collector tests ------------------------------------------------

def roster_csv(rows) -> bytes:
    """A roster file: rows of (name, platform, handle, account_id)."""
    lines = ["name,category,platform,handle,account_id"]
    lines += [f"{n},journalist,{p},{h or ''},{a or ''}" for n, p, h, a in rows]
    return ("\n".join(lines) + "\n").encode()


def make_store(url: str, archive_dir, roster=()):
    from collectors.archive import Archive
    from collectors.roster import import_roster
    from collectors.store import database

    engine = database.connect(url)
    archive = Archive(archive_dir)
    if roster:
        import_roster(engine, archive, "roster.csv", roster_csv(roster))
    return engine, archive


def make_runner(engine, archive, values: dict, base_urls: dict, *, sleeper=None, clock=None, **options):
    from collectors.api.credentials import Credentials
    from collectors.api.run import Runner

    creds = Credentials(values={k: dict(v) for k, v in values.items()})
    kw = {"clock": clock} if clock else {}
    return Runner(engine, archive, creds, base_urls=base_urls, sleep=sleeper or Sleeper(),
                  random=lambda: 0.5, **kw, **options)


def stored_posts(engine, platform: str) -> dict:
    """post id -> the latest snapshot's metrics, as `reach export posts` writes them."""
    from dashboard.analysis import exports

    df = exports.posts_frame(engine)
    df = df[df["platform"] == platform]
    return {r["post_id"]: r for r in df.to_dict("records")}


def snapshot_counts(engine, platform: str) -> dict:
    """post id -> how many snapshots the store holds for it."""
    import sqlalchemy as sa

    from collectors.store import schema

    s, p = schema.post_snapshots, schema.posts
    with engine.connect() as conn:
        rows = conn.execute(sa.select(p.c.post_id, sa.func.count()).select_from(s.join(p, s.c.post_pk == p.c.id))
                            .where(p.c.platform == platform).group_by(p.c.post_id)).all()
    return {r[0]: r[1] for r in rows}

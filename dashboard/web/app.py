"""The Dash app factory and the server entry point.

Pages (dashboard/web/pages) are layout functions of the URL, so every page load reads the database
afresh, or the results of its expensive computations from the cache all workers share under the
data version (dashboard/web/cache.py); nothing but a connection pool is kept per process, so several
workers show the same data. With REACH_REDIS set, several hosts may serve one campaign
(docs/deploy.md): ``check_hosts`` refuses to start unless what a user sees through any host is
shared (the session secret, the archive folder), and the cache and the login state go to Redis.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
from pathlib import Path

import dash
from dash import dcc, html

from collectors import messages
from collectors.errors import ReachError, UsageError
from collectors.store import database

from .. import deployment
from ..analysis import queries, rollups


def create_app(engine=None, auth_settings=None) -> dash.Dash:
    """The dashboard: the pages of dashboard/web/pages behind one header; filters live in the URL.

    With no arguments this is the WSGI factory that `reach serve --workers` hands gunicorn
    (`dashboard.web.app:create_app()`): the database comes from REACH_DB and the login settings from
    the environment. Called in-process without settings, it behaves as on 127.0.0.1: no login
    unless users are configured.
    """
    from . import auth, cache, downloads, pages

    if engine is None:
        check_hosts()  # gunicorn started by hand on a host: the same refusals as `reach serve`
        engine = database.connect(None)
        auth_settings = auth_settings or auth.Settings.from_env()

    app = dash.Dash(__name__, title="Campaign Reach", serve_locally=True, update_title=None,
                    use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    app.server.config["REACH_DB_URL"] = engine.url.render_as_string(hide_password=False)
    from . import jobs

    jobs.configure(app.server.config["REACH_DB_URL"])  # what the pages' background jobs read
    # Uploads arrive base64-encoded in callback bodies: 50 MB files need about 67 MB; refuse more
    # before Flask reads it.
    app.server.config["MAX_CONTENT_LENGTH"] = 80 * 1024 * 1024
    # Beside the database (or REACH_CACHE_DIR), so gunicorn's workers, each of which runs this
    # factory, find one another's results; an unusable folder only means no cache.
    cache.install(app.server, engine)
    for page in pages.all_pages():
        dash.register_page(page.SLUG, path=page.PATH, name=page.SLUG, layout=page.layout, order=page.ORDER)
        if hasattr(page, "register"):
            page.register(app)
    # Dash routes an unknown address to the page registered as "not_found_404": ours draws the
    # app's frame in the chosen language instead of a bare English "404 - Page not found".
    from . import layout as frame

    dash.register_page("not_found_404", path="/not-found", name="not_found_404", layout=frame.not_found,
                       title="Campaign Reach")
    frame.register(app)
    app.layout = html.Div([dcc.Location(id="url", refresh="callback-nav"), dash.page_container])
    auth.install(app.server, auth_settings or auth.Settings.for_host("127.0.0.1"))
    # CSP, framing, referrer and sniffing headers on every answer, the guard's redirects included;
    # the Weekly report's frame runs one script of its own (its height), allowed by its hash.
    from .pages import weekly

    auth.security_headers(app, weekly.FRAME_SCRIPT_HASHES)
    downloads.install(app.server)
    app.server.after_request(_mark)
    reads_as_it_stands(app.server)
    # The first plotly figure a process builds costs about 0.3 s (plotly loads its validators on
    # first use): pay it here, when the server starts, not in the first visitor's page.
    import plotly.graph_objects as go

    go.Figure(go.Scatter(x=[0], y=[0])).to_plotly_json()
    return app


def declare_background_jobs() -> None:
    """Make the pages' background callbacks Celery tasks of this process (`reach worker`,
    dashboard/web/jobs.py): declared on a bare Dash app as ``create_app`` declares them, so that Dash
    names their tasks as the web hosts do; the manager then registers them on the Celery app."""
    from . import jobs, pages

    jobs.configure(os.environ.get("REACH_DB"))
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    for page in pages.all_pages():
        if hasattr(page, "callbacks"):
            page.callbacks.register(app, background_only=True)
    jobs.manager()


def reads_as_it_stands(server) -> None:
    """Every request of ``server`` reads the rollup as it stands (dashboard/analysis/rollups.py,
    ``as_it_stands``): the importer that committed an import refreshes it, not the page that
    happens to come next (issue 15). The command line keeps reading it exact."""
    inner = server.wsgi_app

    def wsgi_app(environ, start_response):
        # A ContextVar: each request's own, in gunicorn's threads as in its processes.
        with rollups.as_it_stands():
            return inner(environ, start_response)

    server.wsgi_app = wsgi_app


# Every answer says it comes from this dashboard, so a second `reach serve` on a busy port can
# tell "already running: open it" from "another program holds the port" (``check_port``). It
# names the program, not its version, as the login page's title already does.
MARKER = "X-Campaign-Reach"


def _mark(resp):
    resp.headers.setdefault(MARKER, "dashboard")
    return resp


def url_of(host: str, port: int) -> str:
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def check_port(host: str, port: int) -> None:
    """Raise UsageError unless the server can listen on (host, port): said before anything is
    printed or built, instead of the URL followed by "Address already in use". Bound the way
    werkzeug and gunicorn bind (SO_REUSEADDR: a port left in TIME_WAIT by a server just stopped
    is free), then released at once."""
    if not 0 < port < 65536:
        raise UsageError(f"--port {port}: choose a port from 1 to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return
        except OSError as e:
            error = e
    if error.errno == errno.EADDRINUSE:
        ours = _answers_as_dashboard("127.0.0.1" if host == "0.0.0.0" else "::1" if host == "::" else host, port)
        raise UsageError(messages.already_running(url_of(host, port)) if ours else messages.port_taken(port))
    if error.errno == errno.EACCES:
        raise UsageError(messages.port_forbidden(port))
    raise UsageError(messages.host_unusable(host, error.strerror or str(error)))


def _answers_as_dashboard(host: str, port: int, timeout: float = 3.0) -> bool:
    """Whether GET / on the port answers with our marker (a login redirect carries it too); a
    program that does not speak HTTP, or not in time, is not ours."""
    import http.client

    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        return conn.getresponse().getheader(MARKER) is not None
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ARCHIVE_ENV = "REACH_ARCHIVE"


def check_hosts(archive: str | None = None) -> None:
    """With REACH_REDIS (the distributed deployment) a request may reach any host, so refuse to
    serve unless what it needs from the one before is shared: the session secret (REACH_SECRET_KEY,
    not a key file per host) and the archive folder, named explicitly (``archive`` or
    REACH_ARCHIVE), where uploads are kept and files wait for their mapping between two requests.
    Whether that folder is really shared storage cannot be seen from here: docs/deploy.md says so.
    On one machine nothing is asked."""
    from . import auth

    if not deployment.current().distributed:
        return
    auth.secret_key()  # REACH_SECRET_KEY, or a ReachError that says how to set it
    if not (archive or os.environ.get(ARCHIVE_ENV)):
        raise ReachError(f"{deployment.REDIS_ENV} is set, so the web processes may run on several hosts: set "
                         f"{ARCHIVE_ENV} (or --archive) to a folder every host and worker shares; uploads are "
                         "archived there and a file waiting for its column mapping waits there (docs/deploy.md)")


# gunicorn threads per worker (``--threads``) when not given. On PostgreSQL a request spends much
# of its time waiting on the server (the network, a query, the write lock of an upload): the
# worker's other threads serve meanwhile (gunicorn's gthread worker). On SQLite a request is
# Python and SQLite computing in this process, under one GIL: threads would only take turns, so
# processes (--workers) are the way to use cores there. Every piece of process state the pages
# keep is safe to share between threads (docs/deploy.md).
THREADS_POSTGRESQL, THREADS_SQLITE = 4, 1


def default_threads(engine) -> int:
    return THREADS_POSTGRESQL if engine.dialect.name == "postgresql" else THREADS_SQLITE


def serve(args, fill_if_empty=None) -> int:
    """Serve the dashboard as `reach serve` was told (``args``). ``fill_if_empty``: what to run,
    once the login and the port are checked, when the database holds no data yet, returning an
    exit status (`--demo-if-empty`: the command line hands in its `reach demo`, so that the web
    layer never imports the commands)."""
    from . import auth

    archive = getattr(args, "archive", None)
    check_hosts(archive)
    if archive:
        # Uploads on the Data page archive where `reach import --archive` would: the environment
        # carries the choice to this process's app and to gunicorn's workers alike.
        os.environ[ARCHIVE_ENV] = str(Path(archive).expanduser().resolve())
    users_file = auth.users_path(getattr(args, "users", None))
    users = auth.check_serve(args.host, users_file)
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise ReachError(f"--workers {workers}: give at least 1")
    threads = getattr(args, "threads", None)
    if threads is not None and (threads < 1 or workers is None):
        raise ReachError(f"--threads {threads}: give at least 1, with --workers" if threads < 1 else
                         "--threads needs --workers: Flask's own server already serves each request in a thread")
    check_port(args.host, args.port)
    engine = database.connect(args.db)
    filled = fill_if_empty is not None and queries.counts.overview(engine).empty
    if filled and fill_if_empty() != 0:
        print("the demo campaign did not import cleanly; serving what there is", file=sys.stderr)
    # Made here, before any worker starts, so workers find one key rather than race to make it.
    auth.secret_key(users_file)
    who = (f"login required ({len(users)} user{'s' * (len(users) != 1)})" if users
           else "no login: only this machine's user can reach it")
    url = url_of(args.host, args.port)
    if filled:
        check_port(args.host, args.port)  # again: building the demo took long enough for another server to start
    if workers is None:
        app = create_app(engine, auth.Settings.for_host(args.host, users_file))
        print(f"Campaign Reach on {url}  ({who}; Ctrl+C to stop)", flush=True)
        app.run(host=args.host, port=args.port, debug=False)
        return 0
    import importlib.util

    if importlib.util.find_spec("gunicorn") is None:
        raise ReachError("--workers needs gunicorn, which is not installed: pip install gunicorn")
    engine.dispose()
    # Everything a worker needs travels in the environment; the workers share no memory.
    env = dict(os.environ, REACH_DB=database.resolve_url(args.db), REACH_USERS=str(users_file.resolve()),
               REACH_SERVE_HOST=args.host)
    bind = f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
    threads = threads or default_threads(engine)
    argv = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads), "--bind", bind,
            # An upload may wait up to database.WRITE_WAIT_S for another writer's import to finish:
            # the worker must outlive that wait, or it would be killed mid-upload.
            "--timeout", str(int(database.WRITE_WAIT_S) + 120), "--access-logfile", "-",
            # Each answer closes its connection. With threads, gunicorn keeps a connection open for
            # 2 s and then closes it, and a client that sends its next request on it just then (a
            # Dash callback, which a browser does not retry) gets "connection reset": 8 of 1,410
            # requests in bench/load.py --pg. Behind nginx, nginx keeps its own connections.
            "--keep-alive", "0",
            # Its control socket sits at one path in $HOME: a second dashboard would fight over it.
            "--no-control-socket", "dashboard.web.app:create_app()"]
    print(f"Campaign Reach on {url}  ({who}; gunicorn, {workers} workers of {threads} thread{'s' * (threads != 1)}; "
          "Ctrl+C to stop)", flush=True)
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)
    return 0  # not reached: exec replaced this process

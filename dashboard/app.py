"""The Dash app factory and the server entry point.

Pages (dashboard/pages) are layout functions of the URL, so every page load reads the database
afresh, or the results of its expensive computations from the cache all workers share under the
data version (dashboard/cache.py); nothing but a connection pool is kept per process, so several
workers show the same data.
"""
from __future__ import annotations

import ipaddress
import sys

import dash
from dash import dcc, html

from collectors import store
from collectors.errors import ReachError

from . import queries


def create_app(engine=None, auth_settings=None) -> dash.Dash:
    """The dashboard: the pages of dashboard/pages behind one header; filters live in the URL.

    With no arguments this is the WSGI factory that `reach serve --workers` hands gunicorn
    (`dashboard.app:create_app()`): the database comes from REACH_DB and the login settings from
    the environment. Called in-process without settings, it behaves as on 127.0.0.1: no login
    unless users are configured.
    """
    from . import auth, cache, downloads, pages

    if engine is None:
        engine = store.connect(None)
        auth_settings = auth_settings or auth.Settings.from_env()

    app = dash.Dash(__name__, title="Campaign Reach", serve_locally=True, update_title=None,
                    use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    app.server.config["REACH_DB_URL"] = engine.url.render_as_string(hide_password=False)
    # Uploads arrive base64-encoded in callback bodies: 50 MB files need about 67 MB; refuse more
    # before Flask reads it.
    app.server.config["MAX_CONTENT_LENGTH"] = 80 * 1024 * 1024
    # Beside the database (or REACH_CACHE_DIR), so gunicorn's workers, each of which runs this
    # factory, find one another's results; an unusable folder only means no cache.
    cache.install(app.server, engine)
    for page in pages.all_pages():
        dash.register_page(page.SLUG, path=page.PATH, name=page.SLUG, layout=page.layout, order=page.ORDER)
    pages.restore_callbacks()
    app.layout = html.Div([dcc.Location(id="url", refresh="callback-nav"), dash.page_container])
    auth.install(app.server, auth_settings or auth.Settings.for_host("127.0.0.1"))
    # CSP, framing, referrer and sniffing headers on every answer, the guard's redirects included.
    auth.security_headers(app)
    downloads.install(app.server)
    # The first plotly figure a process builds costs about 0.3 s (plotly loads its validators on
    # first use): pay it here, when the server starts, not in the first visitor's page.
    import plotly.graph_objects as go

    go.Figure(go.Scatter(x=[0], y=[0])).to_plotly_json()
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args) -> int:
    from . import auth

    users_file = auth.users_path(getattr(args, "users", None))
    users = auth.check_serve(args.host, users_file)
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise ReachError(f"--workers {workers}: give at least 1")
    engine = store.connect(args.db)
    if args.demo_if_empty and queries.overview(engine).empty:
        from .cli import main as cli_main

        demo_args = ["demo"] + (["--db", args.db] if args.db else [])
        if cli_main(demo_args) != 0:
            print("the demo campaign did not import cleanly; serving what there is", file=sys.stderr)
    # Made here, before any worker starts, so workers find one key rather than race to make it.
    auth.secret_key(users_file)
    who = (f"login required ({len(users)} user{'s' * (len(users) != 1)})" if users
           else "no login: only this machine's user can reach it")
    url = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/"
    if workers is None:
        app = create_app(engine, auth.Settings.for_host(args.host, users_file))
        print(f"Campaign Reach on {url}  ({who}; Ctrl+C to stop)", flush=True)
        app.run(host=args.host, port=args.port, debug=False)
        return 0
    import importlib.util
    import os

    if importlib.util.find_spec("gunicorn") is None:
        raise ReachError("--workers needs gunicorn, which is not installed: pip install gunicorn")
    engine.dispose()
    # Everything a worker needs travels in the environment; the workers share no memory.
    env = dict(os.environ, REACH_DB=store.resolve_url(args.db), REACH_USERS=str(users_file.resolve()),
               REACH_SERVE_HOST=args.host)
    bind = f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
    argv = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", bind,
            # An upload may wait up to store.WRITE_WAIT_S for another writer's import to finish:
            # the worker must outlive that wait, or it would be killed mid-upload.
            "--timeout", str(int(store.WRITE_WAIT_S) + 120), "--access-logfile", "-",
            # Its control socket sits at one path in $HOME: a second dashboard would fight over it.
            "--no-control-socket", "dashboard.app:create_app()"]
    print(f"Campaign Reach on {url}  ({who}; gunicorn, {workers} workers; Ctrl+C to stop)", flush=True)
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)
    return 0  # not reached: exec replaced this process

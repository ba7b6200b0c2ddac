"""The Dash app factory and the server entry point.

The foundation page: platforms, influencers, post counts and reach over time. The layout is a
function, so every page load reads the database afresh; nothing is kept in process globals,
so several workers show the same data.
"""
from __future__ import annotations

import ipaddress
import sys

import dash
from dash import dcc, html

from collectors import store
from collectors.errors import ReachError

from . import config, figures, metrics, queries


def _table(df, columns: dict[str, str], id_: str):
    head = html.Tr([html.Th(label) for label in columns.values()])
    body = [html.Tr([html.Td(f"{row[c]:,}" if isinstance(row[c], int) else str(row[c])) for c in columns])
            for row in df.to_dict("records")]
    return html.Table([html.Thead(head), html.Tbody(body)], id=id_, className="table")


def layout_for(engine):
    def layout():
        ov = queries.overview(engine)
        inf = queries.influencer_table(engine)
        campaign = config.load()
        frames = queries.load_frames(engine)
        inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
        series = metrics.cumulative_by_platform(metrics.daily_table(inc, frames.posts, campaign, by=["platform"]))
        if ov.empty:
            body = [html.P("No data yet: import export files with `reach import PATH` or run `reach demo`.",
                           className="empty")]
        else:
            body = [
                html.H2("Platforms"),
                _table(ov, {"label": "Platform", "accounts": "Accounts", "influencers": "Influencers",
                            "posts": "Posts"}, "platforms"),
                dcc.Graph(id="reach-over-time", figure=figures.cumulative_views_figure(series, campaign.events),
                          config={"displaylogo": False}),
                html.H2(f"Influencers ({len(inf)})"),
                _table(inf, {"influencer": "Influencer", "category": "Category", "platforms": "Platforms",
                             "accounts": "Accounts", "posts": "Posts"}, "influencers"),
            ]
        return html.Div([html.H1("Campaign Reach"), *body], className="page")
    return layout


def create_app(engine) -> dash.Dash:
    app = dash.Dash(__name__, title="Campaign Reach", serve_locally=True, update_title=None)
    app.layout = layout_for(engine)
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args) -> int:
    if not is_loopback(args.host):
        raise ReachError(
            f"refusing to serve on {args.host}: this version has no login yet, so it only binds to a "
            "loopback address (127.0.0.1). Put it behind an authenticating proxy, or wait for the login"
        )
    engine = store.connect(args.db)
    if args.demo_if_empty and queries.overview(engine).empty:
        from .cli import main as cli_main

        demo_args = ["demo"] + (["--db", args.db] if args.db else [])
        if cli_main(demo_args) != 0:
            print("the demo campaign did not import cleanly; serving what there is", file=sys.stderr)
    app = create_app(engine)
    print(f"Campaign Reach on http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    app.run(host=args.host, port=args.port, debug=False)
    return 0

"""Influencers: the leaderboard, and one influencer's days, posts and anomalies beside it.

The page lays out what dashboard/analysis/leaderboard.py computes: the leaderboard (``leaderboard_db``,
the table ``/download/influencers.csv`` writes too) and one influencer's days, posts and flags
(``focus_*``). Clicking a row selects an influencer and draws their panel below the grid; the
selection is kept in a ``dcc.Store``, not written to the URL, because a URL change redraws the
whole page and would recompute the leaderboard for nothing. ``?focus=<name>`` opens the page with
that influencer selected, and the panel carries that link, so a selected view can still be shared.
Without dates in the URL the view is the campaign window of campaign.toml, as on the Live page.
The leaderboard and each influencer's posts and flags are kept in the cache all workers share
(dashboard/web/cache.py).
"""
from __future__ import annotations

from urllib.parse import urlencode

import dash_ag_grid as dag
import pandas as pd
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from ...analysis import annotations, anomalies, leaderboard, metrics, queries, shared
from ...text import i18n
from ...text.i18n import category_name, fmt_datetime, fmt_number, fmt_range, metric_help, metric_name, platform_name, t
from ...text.links import safe_link
from .. import coverage, data, figures, grids, layout as L
from .. import filters as F
from . import Callbacks

SLUG, PATH, ORDER = "influencers", "/influencers", 20
# Registered on each app the factory builds (dashboard/web/pages/__init__.py says why not dash.callback).
callbacks = Callbacks()
register = callbacks.register


COUNTS = ("posts_published", "views_or_impressions", "views", "impressions", "engagements", "followers")
RATES = ("er_views", "er_impressions", "er_followers")
POSTS_SHOWN = 50
ANOMALIES_SHOWN = 30
TITLE_CHARS = 120
MIN_WIDTH = 96  # px: a number column, whatever its header


# --- pure functions: frames in, rows, columns and links out ---------------------------------------

def _num(x):
    # JSON for the grid: NaN and pd.NA become null (an empty, unsortable-to-the-top cell), never 0.
    return None if i18n._missing(x) else float(x)


def grid_rows(board: pd.DataFrame, lang: str) -> list[dict]:
    """Rows for the grid: numbers to sort and filter on, and beside each its text in ``lang``.

    Rates are given in percent so that a number filter reads as the cell does (5 means 5%)."""
    rows = []
    for r in board.to_dict("records"):
        row = {"influencer": r["influencer"], "category": category_name(r["category"], lang),
               "platforms": t("punct.list", lang).join(platform_name(p, lang) for p in str(r["platforms"] or "").split(", ") if p)}
        for c in COUNTS:
            row[c], row[c + "_text"] = _num(r[c]), fmt_number(r[c], lang)
        for c in RATES:
            v = _num(r[c])
            row[c], row[c + "_text"] = (None if v is None else v * 100), fmt_number(v, lang, kind="rate")
        row["emv_usd"], row["emv_usd_text"] = _num(r["emv_usd"]), fmt_number(r["emv_usd"], lang, kind="money")
        # Sorted by the upper bound; shown as the range from the largest post to the sum.
        row["reach_range"] = _num(r["reach_sum"])
        row["reach_range_text"] = fmt_range(r["reach_max_post"], r["reach_sum"], lang)
        rows.append(row)
    return rows


def column_defs(lang: str) -> list[dict]:
    """Grid columns in ``LEADERBOARD_COLUMNS`` order; numbers show their ``*_text`` twin."""
    def text(col, name, width, **kw):
        return dict(field=col, headerName=name, filter="agTextColumnFilter", tooltipField=col,
                    minWidth=max(width, grids.header_width(name, filterable=True)), **kw)

    def number(col, metric, hint=None):
        help_, name = metric_help(metric, lang), metric_name(metric, lang)
        # Never narrower than the header's longest word: the header wraps between words only.
        return dict(field=col, headerName=name, minWidth=max(MIN_WIDTH, grids.header_width(name, filterable=True)),
                    headerTooltip=help_ + (f" ({hint})" if hint else ""), filter="agNumberColumnFilter",
                    type="rightAligned", valueFormatter={"function": f"params.data ? params.data.{col}_text : ''"})

    return [
        text("influencer", t("col.influencer", lang), 190, pinned="left"),
        text("category", t("col.category", lang), 150),
        text("platforms", t("col.platforms", lang), 160),
        number("posts_published", "posts"),
        *[number(c, c) for c in ("views_or_impressions", "views", "impressions", "engagements")],
        *[number(c, c, t("influencers.rate_filter", lang)) for c in RATES],
        number("followers", "followers"),
        number("emv_usd", "emv_usd"),
        number("reach_range", "reach_range"),
    ]


def focus_from_rows(rows) -> str | None:
    """The influencer of the grid's selected row, if any."""
    if rows and isinstance(rows, list) and isinstance(rows[0], dict):
        name = rows[0].get("influencer")
        return name if isinstance(name, str) and name else None
    return None


def focus_href(f: F.Filters, name: str) -> str:
    query = F.to_query(f)
    return PATH + query + ("&" if query else "?") + urlencode({"focus": name})


def download_hrefs(f: F.Filters) -> dict[str, str]:
    """The two download links of the page, carrying its filters (dashboard/web/downloads.py)."""
    query = F.to_query(f)
    tidy = query + ("&" if query else "?") + "by=influencer,platform"
    return {"csv": "/download/influencers.csv" + query, "tidy": "/download/daily.csv" + tidy}


# --- components -----------------------------------------------------------------------------------

def _posts_table(posts: pd.DataFrame, campaign, lang: str):
    if posts.empty:
        return html.P(t("empty.no_posts", lang), className="muted")
    head = html.Tr([html.Th(t(k, lang)) for k in ("col.title", "col.url", "col.platform", "col.published_at")]
                   + [html.Th(t("influencers.latest", lang, metric=metric_name(m, lang)))
                      for m in (metrics.BASIS_METRIC, "engagements")])
    body = []
    for r in posts.head(POSTS_SHOWN).itertuples():
        title = r.title if isinstance(r.title, str) and r.title.strip() else t("empty.untitled", lang)
        short = title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS - 1] + "…"
        href = safe_link(r.url)
        link = html.A(t("col.url", lang), href=href, target="_blank", rel="noopener noreferrer") if href else "—"
        # A platform without views (X, LinkedIn) is counted by impressions, and says so.
        by_impressions = metrics.views_basis(r.platform) == "impressions"
        platform = platform_name(r.platform, lang)
        body.append(html.Tr([html.Td(short, title=title), html.Td(link, style={"whiteSpace": "nowrap"}),
                             html.Td(t("label.impressions_basis", lang, platform=platform) if by_impressions
                                     else platform),
                             html.Td(fmt_datetime(r.published_at, lang, campaign.tz), className="date"),
                             html.Td(fmt_number(r.impressions if by_impressions else r.views, lang)),
                             html.Td(fmt_number(r.engagements, lang))]))
    table = html.Div(html.Table([html.Thead(head), html.Tbody(body)], className="table", id="inf-posts"),
                     className="table-wrap")
    if len(posts) <= POSTS_SHOWN:
        return table
    return html.Div([table, html.P(t("influencers.more", lang, n=len(posts) - POSTS_SHOWN), className="muted")])


def _anomaly_list(flags: pd.DataFrame, lang: str):
    # The (cached) flags are language-free: their reasons are written here, in the page's language.
    items = [html.Li([html.Strong(f"{r.day:%Y-%m-%d} · {platform_name(r.platform, lang)}: "), r.reason])
             for r in anomalies.localise(flags.head(ANOMALIES_SHOWN), lang).itertuples()]
    if len(flags) > ANOMALIES_SHOWN:
        items.append(html.Li(t("influencers.more", lang, n=len(flags) - ANOMALIES_SHOWN), className="muted"))
    return html.Ul(items or [html.Li(t("empty.none", lang))], id="inf-anomalies")


def focus_panel(eng, campaign, f: F.Filters, name: str | None, posts=None, flags=None) -> list:
    """Everything about one influencer below the grid (a pure function of the database and filters);
    ``posts`` (posts_frame rows) and ``flags`` (anomalies rows) may be passed in, else they are
    ``focus_data``, from the shared cache when the app has one."""
    lang = f.lang
    if not name:
        return [html.P(t("influencers.pick", lang), className="muted", id="inf-pick")]
    # One influencer's rows and chart are of their accounts alone: kept across others' imports.
    scope = leaderboard.accounts_of(eng, name)
    sel = F.view_selection(f, campaign)
    daily = shared.memo(eng, campaign, "influencers.focus_daily", (name, sel),
                        lambda: leaderboard.focus_daily(eng, campaign, f, name), scope=scope)
    series = leaderboard.focus_series(eng, campaign, f, name, daily)
    if posts is None or flags is None:
        # Kept across imports of other influencers' accounts (a file every few seconds, of a few).
        got_posts, got_flags = shared.memo(eng, campaign, "influencers.focus_data", (name,),
                                          lambda: leaderboard.focus_data(eng, campaign, name), scope=scope)
        posts = got_posts if posts is None else posts
        flags = got_flags if flags is None else flags
    posts = leaderboard.focus_posts(posts, campaign, f, name)
    mine = leaderboard.focus_anomalies(flags, f, campaign, name, queries.names.flag_pairs(eng, F.view_selection(f, campaign)))
    if series.empty and posts.empty and mine.empty:
        return [html.P(t("influencers.unknown", lang, name=name), className="empty", id="inf-unknown")]
    # The influencer's platforms that lack the metric (X: no views) are named, with a switch to the
    # metric they report; with none that has it, the note stands in for the chart.
    note = coverage.note(coverage.gaps(daily["platform"].unique() if len(daily) else (), f.metric,
                                       campaign.engagement),
                         lang, lambda m: focus_href(F.with_changes(f, metric=m), name), id="inf-metric-note",
                         empty=series.empty)
    if series.empty:
        chart = [note if note is not None else html.Div(t("empty.no_match", lang), className="empty",
                                                        id="inf-metric-note")]
    else:
        def build():
            marks = annotations.events(eng, campaign, metrics.Selection(platforms=sel.platforms, influencers=(name,),
                                                                        categories=sel.categories))
            fig = figures.metric_over_time(series, f.metric, f.cumulative, marks, lang=lang)
            return fig.update_layout(title=t("influencers.series_cumulative" if f.cumulative else "influencers.series",
                                             lang, name=name, metric=metric_name(f.metric, lang)))

        fig = figures.kept(eng, campaign, "influencers.chart", (name, sel, f.metric, f.cumulative, lang), build,
                           scope=scope)
        chart = [*([note] if note is not None else []),
                 dcc.Graph(id="inf-chart", figure=fig, config=figures.graph_config(lang), className="chart")]
    return [
        html.Div([html.H2(name, id="inf-focus-name"),
                  html.A(t("influencers.permalink", lang), href=focus_href(f, name), id="inf-permalink",
                         className="nav-link")], className="toolbar"),
        *chart,
        # One above the other: titles and reasons are sentences, too long for half a page.
        html.Div([html.H3(t("influencers.posts", lang)), _posts_table(posts, campaign, lang)],
                 className="panel", style={"marginTop": "12px"}),
        html.Div([html.H3(t("label.anomalies", lang)), _anomaly_list(mine, lang)], className="panel",
                 style={"marginTop": "12px"}),
    ]


@data.reads  # one data version per view: each cached piece asks for it
def layout(**query):
    f = F.parse("?" + urlencode(query, doseq=True))
    focus = query.get("focus") if isinstance(query.get("focus"), str) else None
    eng, campaign = data.engine(), data.campaign()
    sel = F.view_selection(f, campaign)
    board, names, any_posts = shared.memo(eng, campaign, "influencers.board_view", (sel,),
                                         lambda: leaderboard.board_view(eng, campaign, sel))
    head = [L.header(f, PATH), L.filter_bar(f, names, queries.names.category_names(eng))]
    if board.empty:
        empty = "empty.no_match" if any_posts else "empty.no_data"
        return html.Div(head + [html.Div(t(empty, f.lang), className="empty", id="inf-empty")], className="page")
    # The roster's accounts are listed whatever the dates; when none did anything in the view and the
    # stored days lie outside the campaign's, say so above the zeros (as the other pages do).
    idle = not (board["posts_published"].fillna(0) > 0).any() and board["engagements"].isna().all()
    if idle and L.empty_reason(eng, campaign, f)[0] == "outside":
        head.append(L.empty_view(eng, campaign, f, "inf-outside", PATH))
    links = download_hrefs(f)
    plain = {"textDecoration": "none", "color": "inherit"}
    toolbar = html.Div([
        html.A(t("button.download_csv", f.lang), href=links["csv"], id="inf-download-csv", className="btn",
               download="", style=plain),
        html.A(t("button.download_tidy", f.lang), href=links["tidy"], id="inf-download-tidy", className="btn",
               download="", style=plain),
    ], className="toolbar")
    focus = focus if focus in set(board["influencer"]) else None
    grid = dag.AgGrid(
        id="inf-grid", rowData=grid_rows(board, f.lang), columnDefs=column_defs(f.lang),
        # Headers wrap between words rather than widen the columns (each column is at least as
        # wide as its header's longest word); the thirteen columns are wider than the page, so the
        # grid scrolls sideways inside itself with the names pinned. All columns stay rendered
        # (43 rows is nothing), so find-in-page sees the whole table.
        defaultColDef={"sortable": True, "resizable": True, "minWidth": MIN_WIDTH, "wrapHeaderText": True,
                       "autoHeaderHeight": True},
        getRowId="params.data.influencer", columnSize="responsiveSizeToFit",
        dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "tooltipShowDelay": 300, "animateRows": False, "suppressColumnVirtualisation": True},
        selectedRows=[{"influencer": focus}] if focus else [], style={"height": "520px"}, className="inf-grid",
    )
    detail = dcc.Loading(html.Div(kept_panel(eng, campaign, f, focus), id="inf-detail"), type="dot")
    return html.Div(head + [toolbar, grid, dcc.Store(id="inf-focus", data=focus), detail], className="page")


def kept_panel(eng, campaign, f: F.Filters, name: str | None) -> list:
    """``focus_panel``, kept whole for every viewer of this influencer, view and language: it is of
    their accounts, the roster and the annotations alone (the flags' pairs too, since the panel
    keeps only this influencer's), so it is kept across other accounts' imports as its pieces are.
    A row click built it anew at each click (issue 15's load test: the slowest request)."""
    if not name:
        return focus_panel(eng, campaign, f, name)
    return shared.memo(eng, campaign, "influencers.panel", (name, f), lambda: focus_panel(eng, campaign, f, name),
                       scope=leaderboard.accounts_of(eng, name))


@callbacks(Output("inf-detail", "children"), Output("inf-focus", "data"),
           Input("inf-grid", "selectedRows"), State("url", "search"), State("inf-focus", "data"),
           prevent_initial_call=True)
@data.reads  # one data version for the panel's cached pieces
def select(rows, search, shown):
    """A click on a row draws that influencer's panel; the same row again sends nothing."""
    name = focus_from_rows(rows)
    if name == shown or name is None:
        raise PreventUpdate
    return kept_panel(data.engine(), data.campaign(), F.parse(search), name), name

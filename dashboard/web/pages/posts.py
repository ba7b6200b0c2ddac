"""Posts: the campaign's top posts for the filters in the URL, searchable and sortable.

The posts published in the date range are listed with their latest lifetime values in a
dash-ag-grid that asks the server for rows as it scrolls, so sorting applies to every matching
post, not to the rows already sent. Which posts, in which order, and each block of them, is
dashboard/analysis/listing.py's (``Listing``: SQL for what SQL can order exactly, the shared cache for the
rest); this page turns a block into the grid's rows (``grid_rows``) and the URL into a listing.
The search text lives in the URL as ``q=`` so a link reproduces the list. Titles are shown as text
(the grid's default renderer, never HTML); only http(s) URLs become links. The callbacks only
call pure functions (``listing.Listing``, ``grid_rows``, ``with_search``).
"""
from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode

import dash_ag_grid as dag
import pandas as pd
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from ...analysis import listing, queries, shared
from ...text.i18n import column_name, fmt_datetime, fmt_number, metric_help, platform_name, t
from ...text.links import safe_link
from .. import data, grids, layout as L
from .. import filters as F
from . import Callbacks

SLUG, PATH, ORDER = "posts", "/posts", 40
# Registered on each app the factory builds (dashboard/web/pages/__init__.py says why not dash.callback).
callbacks = Callbacks()
register = callbacks.register
MAX_QUERY = 200  # characters of search text kept from a URL
BLOCK = 100  # rows per request of the grid


def search_text(search: str | None) -> str:
    """The ``q=`` of a query string, whitespace-trimmed and cut to MAX_QUERY characters."""
    q = parse_qs((search or "").lstrip("?")).get("q") or [""]
    return " ".join(q[0].split())[:MAX_QUERY]


def with_search(search: str | None, q: str | None) -> str:
    """The query string ``search`` with its ``q=`` set to ``q`` (removed when blank); the other
    filters are kept as filters.py writes them."""
    q = " ".join((q or "").split())[:MAX_QUERY]
    return F.to_query(F.with_changes(F.parse(search), q=q))


def link_markdown(url, lang: str) -> str:
    """A markdown link for the grid's markdown renderer, or "—" (as any other missing value in the
    grid) when there is no address or it is not safe: a blank cell read as not loaded yet.

    Characters that could end the link's target early are percent-encoded."""
    u = safe_link(url)
    if u is None:
        return "—"
    return f"[{t('posts.open', lang)}]({quote(u, safe=':/?#@!$&*+,;=%~._-')})"


def grid_rows(posts: pd.DataFrame, lang: str, tz) -> list[dict]:
    """Rows for the grid: every cell is display text (the server sorts, so the grid needs no
    numbers), titles unchanged so the grid shows them as text."""
    rows = []
    for r in posts.itertuples(index=False):
        row = {"title": r.title if isinstance(r.title, str) and r.title.strip() else t("empty.untitled", lang),
               "platform": platform_name(r.platform, lang), "influencer": r.influencer,
               "published_at": fmt_datetime(r.published_at, lang, tz), "url": link_markdown(r.url, lang)}
        for col, kind in listing.COLUMNS:
            if kind in ("count", "rate"):
                row[col] = fmt_number(getattr(r, col), lang, kind=kind)
        rows.append(row)
    return rows


def page_of(posts: pd.DataFrame, request: dict, lang: str, tz) -> dict:
    """The grid's answer to a getRowsRequest: the requested block in the requested order."""
    start = max(int(request.get("startRow") or 0), 0)
    end = max(int(request.get("endRow") or start + BLOCK), start)
    block = listing.sort_posts(posts, request.get("sortModel"), lang).iloc[start:end]
    return {"rowData": grid_rows(block, lang, tz), "rowCount": len(posts)}


def column_defs(lang: str, tz) -> list[dict]:
    """Column definitions: no column renders HTML; the link column renders markdown (links only,
    since the grid's ``dangerously_allow_code`` stays off). No column is narrower than its
    header's longest word (the header would break inside it) and the published column holds a
    whole date and time (dashboard/web/grids.py)."""
    defs = []
    for col, kind in listing.COLUMNS:
        name = column_name(col, lang)
        d = {"field": col, "headerName": name, "sortable": kind != "link"}
        if metric_help(col, lang):  # the definition, as on the Influencers page
            d["headerTooltip"] = metric_help(col, lang)
        if col == "title":
            d.update(flex=3, minWidth=140, tooltipField="title")
        elif kind in ("count", "rate"):
            d.update(type="rightAligned", flex=1, minWidth=90, sortingOrder=["desc", "asc", None])
        elif kind == "link":
            d.update(cellRenderer="markdown", linkTarget="_blank", flex=0.8,
                     minWidth=grids.cell_width(t("posts.open", lang)))
        elif kind == "time":
            d.update(flex=1.4, minWidth=grids.date_width(lang, tz))
        else:
            d.update(flex=1.2, minWidth=95 if col == "platform" else 120, tooltipField=col)
        d["minWidth"] = max(d["minWidth"], grids.header_width(name) if d["sortable"] else 0)
        defs.append(d)
    return defs


def _listing(search_str: str | None, sort_model=None):
    eng, campaign = data.engine(), data.campaign()
    f = F.parse(search_str)
    return f, campaign, listing.Listing(eng, campaign, F.view_selection(f, campaign), search_text(search_str),
                                        sort_model, f.lang)


@data.reads  # one data version per view: each cached piece asks for it
def layout(**query):
    search_str = "?" + urlencode(query, doseq=True)
    f, campaign, found = _listing(search_str)
    lang, q = f.lang, search_text(search_str)
    n = found.total
    total = listing.selection_count(found.eng, campaign, found.sel) if q else n
    influencers = queries.names.influencer_names(data.engine())
    box = html.Div([
        html.Label(t("posts.search_label", lang), htmlFor="posts-q"),
        dcc.Input(id="posts-q", type="search", value=q, debounce=True, placeholder=t("posts.search", lang),
                  maxLength=MAX_QUERY, className="search", style={"flex": "1", "padding": "6px 10px"}),
    ], className="toolbar")
    count = (t("posts.count_q", lang, n=fmt_number(n, lang), total=fmt_number(total, lang), q=q) if q
             else t("posts.count", lang, n=fmt_number(n, lang)))
    if not n:
        body = L.empty_view(found.eng, campaign, f, "posts-empty", "/posts", "empty.no_match" if q else "empty.no_posts")
    else:
        body = dag.AgGrid(
            id="posts-grid", columnDefs=column_defs(lang, campaign.tz), rowModelType="infinite",
            defaultColDef={"resizable": True, "suppressHeaderMenuButton": True, "wrapHeaderText": True,
                           "autoHeaderHeight": True},
            dashGridOptions={"cacheBlockSize": BLOCK, "maxBlocksInCache": 20, "infiniteInitialRowCount": BLOCK,
                             "rowBuffer": 10, "tooltipShowDelay": 400, "enableCellTextSelection": True},
            # No taller than its rows: the infinite row model cannot size itself to them.
            style={"height": f"{min(640, 70 + 42 * n)}px", "width": "100%"}, className="posts-grid")
    download, = L.download_links(f, [("posts-download-csv", "button.download_csv", "/download/posts.csv", "")])
    return html.Div([L.header(f, PATH), L.filter_bar(f, influencers, queries.names.category_names(found.eng)), box,
                     html.Div([html.P(count, className="muted", id="posts-count"), download], className="toolbar"), body,
                     html.P(t("posts.note", lang, tz=campaign.timezone), className="muted")], className="page")


@callbacks(Output("posts-grid", "getRowsResponse"), Input("posts-grid", "getRowsRequest"), State("url", "search"),
           prevent_initial_call=True)
@data.reads  # one data version for the block's cached pieces
def rows(request, search_str):
    if not request:
        raise PreventUpdate
    f, campaign, found = _listing(search_str, request.get("sortModel"))
    start = max(int(request.get("startRow") or 0), 0)
    end = max(int(request.get("endRow") or start + BLOCK), start)
    # A block of rows is the same for every viewer of this data, list and language: kept (the first
    # block of the default list is what every visit asks for).
    block = shared.memo(found.eng, campaign, "posts.grid_rows", (found.key, start, end),
                        lambda: grid_rows(found.block(start, end), f.lang, campaign.tz))
    return {"rowData": block, "rowCount": found.total}


@callbacks(Output("url", "search", allow_duplicate=True), Input("posts-q", "value"), State("url", "search"),
           prevent_initial_call=True)
def search_to_url(q, search_str):
    """The search text goes into the URL; the page redraws from the URL alone."""
    new = with_search(search_str, q)
    if new == with_search(search_str, search_text(search_str)):
        raise PreventUpdate
    return new

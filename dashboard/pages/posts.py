"""Posts: the campaign's top posts for the filters in the URL, searchable and sortable.

The posts published in the date range are listed with their latest lifetime values (the posts
export, ``exports.posts_frame``) in a dash-ag-grid that asks the server for rows as it scrolls, so
sorting applies to every matching post, not to the rows already sent. The search text lives in
the URL as ``q=`` so a link reproduces the list. Titles are shown as text (the grid's default
renderer, never HTML); only http(s) URLs become links. The callbacks only call the pure functions
here (``post_table``, ``search``, ``sort_posts``, ``grid_rows``, ``with_search``).
"""
from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode, urlsplit

import dash_ag_grid as dag
import numpy as np
import pandas as pd
import sqlalchemy as sa
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from collectors import store

from .. import data, exports, layout as L, metrics, queries
from .. import filters as F
from ..i18n import add_strings, column_name, fmt_datetime, fmt_number, platform_name, t
from .platforms import window

SLUG, PATH, ORDER = "posts", "/posts", 40
MAX_QUERY = 200  # characters of search text kept from a URL
BLOCK = 100  # rows per request of the grid

add_strings({
    "en": {
        "posts.search": "Search titles, influencers and accounts",
        "posts.search_label": "Search",
        "posts.count": "{n} posts published in this period",
        "posts.count_q": "{n} of {total} posts published in this period match “{q}”",
        "posts.open": "Open ↗",
        "posts.note": ("Each post's latest lifetime values (its latest snapshot, or the sum of its daily rows); "
                       "published times in the campaign timezone ({tz}). Listed by views (impressions where a "
                       "platform reports no views) until a column header is clicked."),
    },
    "zh": {
        "posts.search": "搜索标题、达人和账号",
        "posts.search_label": "搜索",
        "posts.count": "本期发布 {n} 条帖子",
        "posts.count_q": "本期发布的 {total} 条帖子中有 {n} 条符合“{q}”",
        "posts.open": "打开 ↗",
        "posts.note": ("每条帖子的最新累计数据（最新快照，或每日数据之和）；发布时间按活动时区（{tz}）显示。"
                       "默认按浏览量排序（不提供浏览量的平台按展示次数），点击列标题可改变排序。"),
    },
})

# Grid columns: (field, kind); kind says how a value is shown and sorted.
COLUMNS = (("title", "text"), ("platform", "text"), ("influencer", "text"), ("published_at", "time"),
           ("views", "count"), ("impressions", "count"), ("engagements", "count"), ("er_views", "rate"),
           ("er_impressions", "rate"), ("url", "link"))
SEARCHED = ("title", "influencer", "account", "post_id")


# --- the query string ---------------------------------------------------------------------------

def search_text(search: str | None) -> str:
    """The ``q=`` of a query string, whitespace-trimmed and cut to MAX_QUERY characters."""
    q = parse_qs((search or "").lstrip("?")).get("q") or [""]
    return " ".join(q[0].split())[:MAX_QUERY]


def with_search(search: str | None, q: str | None) -> str:
    """The query string ``search`` with its ``q=`` set to ``q`` (removed when blank); the other
    filters are kept as filters.py writes them."""
    q = " ".join((q or "").split())[:MAX_QUERY]
    return F.to_query(F.with_changes(F.parse(search), q=q))


# --- the rows -------------------------------------------------------------------------------------

def _categories(eng) -> dict[str, str]:
    i = store.influencers
    with eng.connect() as conn:
        return {name: cat for name, cat in conn.execute(sa.select(i.c.name, i.c.category)) if cat}


def post_table(posts: pd.DataFrame, campaign, sel: metrics.Selection,
               categories: dict[str, str] | None = None) -> pd.DataFrame:
    """The posts of ``exports.posts_frame`` published in the selection, with
    engagements, per-post ER and the sort basis, largest first.

    Unassigned accounts are named "<handle> (unassigned)" in category "unassigned", as in the
    filter bar, so that every filter the bar offers selects something here."""
    p = posts.copy()
    lone = p["influencer"].isna()
    p.loc[lone, "influencer"] = p.loc[lone, "account"].astype(str) + " (unassigned)"
    p["category"] = p["influencer"].map(categories or {}).where(~lone, "unassigned").fillna("unassigned")
    p = exports.filter_posts(p, campaign, sel)
    if sel.categories:
        p = p[p["category"].isin(sel.categories)].reset_index(drop=True)
    for m in ("views", "impressions", *campaign.engagement):
        p[m] = pd.to_numeric(p[m]).astype("float64")
    p["engagements"] = metrics.engagements(p, campaign)
    # A post's own ratio; the numerator only where the post reports the denominator.
    p["er_views"] = p["engagements"] / p["views"].where(p["views"] > 0)
    p["er_impressions"] = p["engagements"] / p["impressions"].where(p["impressions"] > 0)
    p["basis"] = p["views"].where(p["views"].notna(), p["impressions"])
    return (p.sort_values(["basis", "published_at", "post_id"], ascending=[False, True, True], na_position="last",
                          kind="stable").reset_index(drop=True))


def search(posts: pd.DataFrame, q: str) -> pd.DataFrame:
    """Posts whose title, influencer, account or post id contain every word of ``q``
    (case-insensitive, as plain text: no pattern syntax)."""
    words = (q or "").casefold().split()
    if not words or posts.empty:
        return posts
    hay = posts[list(SEARCHED)].fillna("").astype(str).agg(" ".join, axis=1).str.casefold()
    keep = np.ones(len(posts), dtype=bool)
    for w in words:
        keep &= hay.str.contains(w, regex=False).to_numpy()
    return posts[keep].reset_index(drop=True)


def sort_posts(posts: pd.DataFrame, sort_model: list | None, lang: str = "en") -> pd.DataFrame:
    """Posts in the order of the grid's sort model (the first sorted column decides; ties keep the
    default order). Unknown values are last in both directions, and text sorts by what is shown."""
    kinds = dict(COLUMNS)
    for s in sort_model or []:
        col, desc = s.get("colId"), s.get("sort") == "desc"
        if col not in kinds or kinds[col] == "link":
            continue
        if col == "platform":
            key = posts["platform"].map(lambda p: platform_name(p, lang).casefold())
        elif kinds[col] == "text":
            key = posts[col].fillna("").astype(str).str.casefold().where(posts[col].notna())
        else:
            key = posts[col]
        order = key.sort_values(ascending=not desc, na_position="last", kind="stable").index
        return posts.loc[order].reset_index(drop=True)
    return posts


def safe_url(url) -> str | None:
    """``url`` if it is an http(s) URL with a host, else None (javascript:, data:, relative …)."""
    if not isinstance(url, str):
        return None
    u = url.strip()
    parts = urlsplit(u)
    return u if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def link_markdown(url, lang: str) -> str:
    """A markdown link for the grid's markdown renderer, or "" when ``url`` is not safe.

    Characters that could end the link's target early are percent-encoded."""
    u = safe_url(url)
    if u is None:
        return ""
    return f"[{t('posts.open', lang)}]({quote(u, safe=':/?#@!$&*+,;=%~._-')})"


def grid_rows(posts: pd.DataFrame, lang: str, tz) -> list[dict]:
    """Rows for the grid: every cell is display text (the server sorts, so the grid needs no
    numbers), titles unchanged so the grid shows them as text."""
    rows = []
    for r in posts.itertuples(index=False):
        row = {"title": r.title if isinstance(r.title, str) and r.title.strip() else t("empty.untitled", lang),
               "platform": platform_name(r.platform, lang), "influencer": r.influencer,
               "published_at": fmt_datetime(r.published_at, lang, tz), "url": link_markdown(r.url, lang)}
        for col, kind in COLUMNS:
            if kind in ("count", "rate"):
                row[col] = fmt_number(getattr(r, col), lang, kind=kind)
        rows.append(row)
    return rows


def page_of(posts: pd.DataFrame, request: dict, lang: str, tz) -> dict:
    """The grid's answer to a getRowsRequest: the requested block in the requested order."""
    start = max(int(request.get("startRow") or 0), 0)
    end = max(int(request.get("endRow") or start + BLOCK), start)
    block = sort_posts(posts, request.get("sortModel"), lang).iloc[start:end]
    return {"rowData": grid_rows(block, lang, tz), "rowCount": len(posts)}


def column_defs(lang: str) -> list[dict]:
    """Column definitions: no column renders HTML; the link column renders markdown (links only,
    since the grid's ``dangerously_allow_code`` stays off)."""
    defs = []
    for col, kind in COLUMNS:
        d = {"field": col, "headerName": column_name(col, lang), "sortable": kind != "link"}
        if col == "title":
            d.update(flex=3, minWidth=180, tooltipField="title")
        elif kind in ("count", "rate"):
            d.update(type="rightAligned", flex=1, minWidth=100, sortingOrder=["desc", "asc", None])
        elif kind == "link":
            d.update(cellRenderer="markdown", linkTarget="_blank", flex=0.8, minWidth=80)
        elif kind == "time":
            d.update(flex=1.4, minWidth=140)
        else:
            d.update(flex=1.2, minWidth=95 if col == "platform" else 120)
        defs.append(d)
    return defs


def _posts_for(search_str: str | None):
    """The filters, the campaign and the posts published in the selection (before the search)."""
    eng, campaign = data.engine(), data.campaign()
    f = F.parse(search_str)
    return f, campaign, post_table(exports.posts_frame(eng), campaign, window(f, campaign), _categories(eng))


def layout(**query):
    search_str = "?" + urlencode(query, doseq=True)
    f, campaign, published = _posts_for(search_str)
    lang, q = f.lang, search_text(search_str)
    found = search(published, q)
    influencers = sorted(queries.load_frames(data.engine()).posts["influencer"].dropna().unique())
    box = html.Div([
        html.Label(t("posts.search_label", lang), htmlFor="posts-q"),
        dcc.Input(id="posts-q", type="search", value=q, debounce=True, placeholder=t("posts.search", lang),
                  maxLength=MAX_QUERY, className="search", style={"flex": "1", "padding": "6px 10px"}),
    ], className="toolbar")
    count = (t("posts.count_q", lang, n=fmt_number(len(found), lang), total=fmt_number(len(published), lang), q=q) if q
             else t("posts.count", lang, n=fmt_number(len(found), lang)))
    if found.empty:
        body = html.Div(t("empty.no_match" if q else "empty.no_posts", lang), className="empty", id="posts-empty")
    else:
        body = dag.AgGrid(
            id="posts-grid", columnDefs=column_defs(lang), rowModelType="infinite",
            defaultColDef={"resizable": True, "suppressHeaderMenuButton": True, "wrapHeaderText": True,
                           "autoHeaderHeight": True},
            dashGridOptions={"cacheBlockSize": BLOCK, "maxBlocksInCache": 20, "infiniteInitialRowCount": BLOCK,
                             "rowBuffer": 10, "tooltipShowDelay": 400, "enableCellTextSelection": True},
            # No taller than its rows: the infinite row model cannot size itself to them.
            style={"height": f"{min(640, 70 + 42 * len(found))}px", "width": "100%"})
    download, = L.download_links(f, [("posts-download-csv", "button.download_csv", "/download/posts.csv", "")])
    return html.Div([L.header(f, PATH), L.filter_bar(f, influencers), box,
                     html.Div([html.P(count, className="muted", id="posts-count"), download], className="toolbar"), body,
                     html.P(t("posts.note", lang, tz=campaign.timezone), className="muted")], className="page")


@callback(Output("posts-grid", "getRowsResponse"), Input("posts-grid", "getRowsRequest"), State("url", "search"),
          prevent_initial_call=True)
def rows(request, search_str):
    if not request:
        raise PreventUpdate
    f, campaign, published = _posts_for(search_str)
    return page_of(search(published, search_text(search_str)), request, f.lang, campaign.tz)


@callback(Output("url", "search", allow_duplicate=True), Input("posts-q", "value"), State("url", "search"),
          prevent_initial_call=True)
def search_to_url(q, search_str):
    """The search text goes into the URL; the page redraws from the URL alone."""
    new = with_search(search_str, q)
    if new == with_search(search_str, search_text(search_str)):
        raise PreventUpdate
    return new

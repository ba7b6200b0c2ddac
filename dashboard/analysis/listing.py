"""The posts listing: which posts the Posts page lists for a selection, a search and a sort, in
which order, and any block of them; and the same search for ``/download/posts.csv``.

The rows are the posts export's (``exports.posts_frame``): each post's latest lifetime values, with
engagements, per-post ER and the sort basis (``post_table``); ``search`` keeps the posts whose
title, influencer, account or post id contain every word of the search, ``sort_posts`` puts them
in the grid's order.

At scale (issue 11) a listing reads only what it shows (``Listing``). The filters are SQL
(``queries.post_list.page_select``: the posts export's statement, ``exports.posts_select``, with
the same day ranges as the streaming export), the count is a SQL count, and a block is one statement with ORDER BY and
LIMIT/OFFSET for the orders SQL can give exactly (the default order, numbers, times, platforms).
A text search or a sort by a text column follows Python's ``str.casefold``, which no SQL engine
has: there the matching posts of the selection are read once, put in order by ``search`` and
``sort_posts`` themselves, and their ids kept in the shared cache (dashboard/analysis/shared.py), so the
next blocks of the same list are read by id. Either way each block goes through ``post_table``,
so a row shows exactly what it showed before.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from ..text.i18n import platform_name
from . import exports, metrics, queries, shared

# The grid's columns: (field, kind); kind says how a value is shown and sorted.
COLUMNS = (("title", "text"), ("platform", "text"), ("influencer", "text"), ("published_at", "time"),
           ("views", "count"), ("impressions", "count"), ("engagements", "count"), ("er_views", "rate"),
           ("er_impressions", "rate"), ("url", "link"))
SEARCHED = ("title", "influencer", "account", "post_id")


def _categories(eng) -> dict[str, str]:
    return exports.roster_categories(eng)


def post_table(posts: pd.DataFrame, campaign, sel: metrics.Selection,
               categories: dict[str, str] | None = None) -> pd.DataFrame:
    """The posts of ``exports.posts_frame`` published in the selection, with
    engagements, per-post ER and the sort basis, largest first.

    Unassigned accounts are named "<handle> (unassigned)" in category "unassigned", as in the
    filter bar, so that every filter the bar offers selects something here."""
    p = posts.copy()
    lone = p["influencer"].isna()
    p.loc[lone, "influencer"] = p.loc[lone, "account"].astype(str) + " (unassigned)"
    # object first: with no categories the mapped column is all-NaN float, which a text fill would not fit
    p["category"] = p["influencer"].map(categories or {}).astype(object).where(~lone, "unassigned").fillna("unassigned")
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
    # Row by row in plain Python (``exports.matches``): pandas' join across columns per row took
    # most of a first search's second at 20,000 posts.
    cols = [posts[c].fillna("").astype(str).tolist() for c in SEARCHED]
    keep = np.fromiter((exports.matches(words, *row) for row in zip(*cols)), dtype=bool, count=len(posts))
    return posts[keep].reset_index(drop=True)


def sorted_column(sort_model: list | None) -> tuple[str, str, bool] | None:
    """The grid's sort model read once for both sorts (pandas and SQL): the first column it sorts
    that the grid can sort by, as (column, its kind, descending); None for the default order."""
    kinds = dict(COLUMNS)
    for s in sort_model or []:
        col = s.get("colId")
        if col in kinds and kinds[col] != "link":
            return col, kinds[col], s.get("sort") == "desc"
    return None


def sort_posts(posts: pd.DataFrame, sort_model: list | None, lang: str = "en") -> pd.DataFrame:
    """Posts in the order of the grid's sort model (the first sorted column decides; ties keep the
    default order). Unknown values are last in both directions, and text sorts by what is shown."""
    sorted_by = sorted_column(sort_model)
    if sorted_by is None:
        return posts
    col, kind, desc = sorted_by
    if col == "platform":
        key = posts["platform"].map(lambda p: platform_name(p, lang).casefold())
    elif kind == "text":
        key = posts[col].fillna("").astype(str).str.casefold().where(posts[col].notna())
    else:
        key = posts[col]
    order = key.sort_values(ascending=not desc, na_position="last", kind="stable").index
    return posts.loc[order].reset_index(drop=True)


# --- in SQL: the same rows and orders, reading only what a block shows -----------------------------
# The statements: dashboard/analysis/queries/post_list.py.

def count_posts(eng, campaign, sel: metrics.Selection) -> int:
    """How many posts the selection lists, without reading a metric (posts, accounts, influencers)."""
    return queries.post_list.count(eng, campaign, sel)


def selection_count(eng, campaign, sel: metrics.Selection) -> int:
    """``count_posts``, the same for every viewer of this data and selection: kept per version."""
    return shared.memo(eng, campaign, "posts.count", (sel,), lambda: count_posts(eng, campaign, sel))


def _frame(conn, q) -> pd.DataFrame:
    """Rows of ``page_select`` as the posts export's frame (plus ``post_pk`` and ``category``),
    the influencer named as the page names it."""
    # From the rows' tuples: building a frame from a dict per row took half the first search's time.
    df = pd.DataFrame(queries.post_list.rows(conn, q),
                      columns=[*exports.POST_COLUMNS, "post_pk", "shown_influencer", "category"])
    df["influencer"] = df.pop("shown_influencer")
    df["published_at"] = pd.to_datetime(df["published_at"]).dt.tz_localize("UTC")
    return exports._int_metrics(df)


def _table(df: pd.DataFrame, campaign) -> pd.DataFrame:
    """``post_table`` of rows already selected: its engagements, rates and basis, nothing dropped."""
    cats = dict(zip(df["influencer"], df["category"]))
    return post_table(df.drop(columns=["category"]), campaign, metrics.Selection(), cats)


SEARCH_CHUNK = 900  # post ids per statement when reading the matching posts' rows (a driver's variable limit)


def _order_columns(campaign) -> tuple[str, ...]:
    return ("views", "impressions", *campaign.engagement)


def sql_order(conn, campaign, sel, sort_model, lang: str) -> tuple:
    """``queries.post_list.order_select`` for the selection and its ORDER BY terms for
    ``sort_model`` (None: a text sort)."""
    dialect = conn.engine.dialect.name
    q = queries.post_list.order_select(campaign, sel, _order_columns(campaign))
    names = {pl: platform_name(pl, lang).casefold() for pl in queries.post_list.platforms(conn)}
    return q, queries.post_list.order_terms(q, sorted_column(sort_model), names, dialect, tuple(campaign.engagement))


def matching_pks(conn, campaign, sel, words: list[str]) -> set[int]:
    """The selection's posts whose title, influencer (as the page names it), account or post id
    contain every word: ``search``'s rule on those four texts alone, read without a metric."""
    return {pk for pk, *texts in queries.post_list.searched_texts(conn, campaign, sel) if exports.matches(words, *texts)}


def _ordered_pks(eng, campaign, sel, q: str, sort_model, lang: str) -> list[int]:
    """The ids of the posts the grid lists for a search or a sort, in its order.

    A search reads the four searched texts of the selection's posts (no metric) and keeps the
    matching ids; an order SQL can give (``queries.post_list.order_terms``) is then taken over the selection and
    narrowed to them, which keeps it: the order of a stable sort does not depend on which other
    rows are there. Only a text sort (casefolded: Python's rule) reads the rows themselves, of
    the matching posts only, and puts them through ``search`` and ``sort_posts``."""
    words = search_words(q)
    with eng.connect() as conn:
        keep = matching_pks(conn, campaign, sel, words) if words else None
        if keep is not None and not keep:
            return []
        query, order = sql_order(conn, campaign, sel, sort_model, lang)
        if order is not None:
            ids = queries.post_list.ordered_ids(conn, query, order)
            return [int(x) for x in ids if keep is None or x in keep]
        if keep is None:
            df = _frame(conn, queries.post_list.page_select(campaign, sel))
        else:
            pks = sorted(keep)
            df = pd.concat([_frame(conn, queries.post_list.page_select(campaign, sel, pks[k:k + SEARCH_CHUNK]))
                            for k in range(0, len(pks), SEARCH_CHUNK)], ignore_index=True)
    table = sort_posts(search(_table(df, campaign), q), sort_model, lang)
    return [int(x) for x in table["post_pk"]]


class Listing:
    """What the grid lists for the filters, the search and the sort: how many posts, and any block."""

    def __init__(self, eng, campaign, sel, q: str = "", sort_model=None, lang: str = "en"):
        self.eng, self.campaign, self.sel, self.q, self.lang = eng, campaign, sel, q, lang
        self.sort_model = sort_model
        self.key = (sel, " ".join(search_words(q)), repr(sort_model or []), lang)
        self.pks = None
        # Nothing is read or built here that the list's count does not need: the page's layout
        # asks only for the count, and each request builds its Listing anew (issue 15's load test).
        if search_words(q) or queries.post_list.text_sorted(sorted_column(sort_model)):
            self.pks = shared.memo(eng, campaign, "posts.order", self.key,
                                  lambda: _ordered_pks(eng, campaign, sel, q, sort_model, lang))
        # The count needs no metric (posts, accounts and influencers only), and is the same for
        # every viewer of this data and selection.
        self.total = len(self.pks) if self.pks is not None else selection_count(eng, campaign, sel)
        self._order = None

    @property
    def query(self):
        return queries.post_list.page_select(self.campaign, self.sel)

    def _ids(self, start, end) -> list[int]:
        with self.eng.connect() as conn:
            if self._order is None:
                self._order = sql_order(conn, self.campaign, self.sel, self.sort_model, self.lang)
            return queries.post_list.ordered_ids(conn, *self._order, start, end)

    def block(self, start: int, end: int) -> pd.DataFrame:
        """Rows ``start`` to ``end`` of the list, as ``post_table`` rows, in the list's order."""
        if self.pks is None and shared.cache() is not None:
            # With a shared cache, the order of the whole list is computed once (the latest values
            # of every post in the selection: seconds at 200,000 posts) and each further block of a
            # scroll is a lookup by id; without one, each block is its own LIMIT/OFFSET.
            self.pks = shared.memo(self.eng, self.campaign, "posts.sql_order", self.key, lambda: self._ids(None, None))
        order = self.pks[start:end] if self.pks is not None else self._ids(start, end)
        with self.eng.connect() as conn:
            # Only these posts, also inside the daily sums (which would otherwise group every post).
            df = _frame(conn, queries.post_list.page_select(self.campaign, self.sel, list(order)) if order
                        else queries.post_list.none_of(self.query))
        table = _table(df, self.campaign)
        return table.set_index("post_pk").loc[order].reset_index() if len(table) else table


def search_words(q: str | None) -> list[str]:
    return exports.search_words(q)



"""The posts listing: which posts the Posts page lists for a selection, a search and a sort, in
which order, and any block of them; and the same search for ``/download/posts.csv``.

The rows are the posts export's (``exports.posts_frame``): each post's latest lifetime values, with
engagements, per-post ER and the sort basis (``post_table``); ``search`` keeps the posts whose
title, influencer, account or post id contain every word of the search, ``sort_posts`` puts them
in the grid's order.

At scale (issue 11) a listing reads only what it shows (``Listing``). The filters are SQL
(``page_select``: the posts export's statement, ``exports.posts_select``, with the same day ranges
as the streaming export), the count is a SQL count, and a block is one statement with ORDER BY and
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
import sqlalchemy as sa

from collectors.store import schema

from ..text.i18n import platform_name
from . import exports, metrics, shared

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

def page_select(campaign, sel: metrics.Selection, post_pks: list[int] | None = None) -> sa.Select:
    """The posts of the selection as ``post_table`` selects them, in SQL: ``exports.posts_select``
    plus the post's key, the influencer as the page names it ("<account> (unassigned)" for an
    account without one) and its category ("unassigned" without one), filtered by platform,
    that influencer name, publish day in the campaign timezone and category."""
    p = schema.posts
    shown, category = _shown()
    q = exports.posts_select(post_pks=post_pks).add_columns(p.c.id.label("post_pk"), shown.label("shown_influencer"),
                                           category.label("category"))
    return q.where(*_conditions(campaign, sel))


def _shown():
    """The influencer as the page names it, and its category, from posts' accounts and influencers."""
    a, i = schema.accounts, schema.influencers
    lone = i.c.name.is_(None)
    shown = sa.case((lone, sa.func.coalesce(a.c.handle, a.c.name, a.c.account_key).op("||")(" (unassigned)")),
                    else_=i.c.name)
    category = sa.case((lone, "unassigned"), (sa.func.coalesce(i.c.category, "") == "", "unassigned"),
                       else_=i.c.category)
    return shown, category


def _conditions(campaign, sel: metrics.Selection) -> list:
    """The selection as conditions on posts, their accounts and influencers (``filter_posts`` on
    the page's names, then the categories)."""
    p = schema.posts
    shown, category = _shown()
    out = []
    if sel.platforms:
        out.append(p.c.platform.in_(list(sel.platforms)))
    if sel.influencers:
        out.append(shown.in_(list(sel.influencers)))
    days = exports.published_in(p.c.published_at, campaign, sel)
    if days is not None:
        out.append(days)
    if sel.categories:
        out.append(category.in_(list(sel.categories)))
    return out


def count_posts(eng, campaign, sel: metrics.Selection) -> int:
    """How many posts the selection lists, without reading a metric (posts, accounts, influencers)."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    q = (sa.select(sa.func.count()).select_from(p.join(a, p.c.account_pk == a.c.id)
                                                .outerjoin(i, a.c.influencer_id == i.c.id))
         .where(*_conditions(campaign, sel)))
    with eng.connect() as conn:
        return conn.execute(q).scalar_one()


def _frame(conn, q) -> pd.DataFrame:
    """Rows of ``page_select`` as the posts export's frame (plus ``post_pk`` and ``category``),
    the influencer named as the page names it."""
    # From the rows' tuples: building a frame from a dict per row took half the first search's time.
    df = pd.DataFrame([tuple(r) for r in conn.execute(q)],
                      columns=[*exports.POST_COLUMNS, "post_pk", "shown_influencer", "category"])
    df["influencer"] = df.pop("shown_influencer")
    df["published_at"] = pd.to_datetime(df["published_at"]).dt.tz_localize("UTC")
    return exports._int_metrics(df)


def _table(df: pd.DataFrame, campaign) -> pd.DataFrame:
    """``post_table`` of rows already selected: its engagements, rates and basis, nothing dropped."""
    cats = dict(zip(df["influencer"], df["category"]))
    return post_table(df.drop(columns=["category"]), campaign, metrics.Selection(), cats)


def _sql_order(q: sa.Select, sort_model: list | None, lang: str, dialect: str, platforms,
               engagement: tuple[str, ...]) -> list | None:
    """ORDER BY terms giving ``post_table``'s order then ``sort_posts``' for ``sort_model``, or None
    when the sort is by a text column (casefolded: only Python has the exact rule)."""
    c = q.selected_columns

    def text(x):  # Python compares code points: SQLite's binary order of UTF-8 is the same; PostgreSQL's "C"
        return x.collate("C") if dialect == "postgresql" else x

    def last_if_null(x, desc=False):
        return [x.is_(None), x.desc() if desc else x.asc()]

    if dialect == "sqlite":  # stored with and without microseconds: compare seconds, then fractions
        pub = [sa.func.substr(c.published_at, 1, 19),
               sa.case((sa.func.length(c.published_at) > 19, sa.func.substr(c.published_at, 20)), else_=".000000")]
        pub_terms = [c.published_at.is_(None), *pub]
    else:
        pub_terms = [c.published_at.is_(None), c.published_at]
    basis = sa.case((c.views.is_not(None), c.views), else_=c.impressions)
    # The platform last: ``post_table`` sorts stably a frame in export order (platform first), so
    # two posts equal in everything else keep their platforms' order.
    default = [*last_if_null(basis, desc=True), *pub_terms, text(c.post_id), text(c.platform)]
    sorted_by = sorted_column(sort_model)
    if sorted_by is None:
        return default
    col, kind, desc = sorted_by
    if col == "platform":
        names = {pl: platform_name(pl, lang).casefold() for pl in platforms}
        key = text(sa.case(*[(c.platform == pl, n) for pl, n in names.items()], else_=c.platform)) if names else c.platform
        return [key.desc() if desc else key.asc(), *default]
    if kind == "text":
        return None
    if col == "published_at":
        keys = pub_terms[1:]
        return [pub_terms[0], *[k.desc() if desc else k.asc() for k in keys], *default]
    key = _number(c, col, engagement)
    return [*last_if_null(key, desc), *default]


def _number(c, col: str, engagement: tuple[str, ...]):
    """A count or rate column of the grid as SQL, computed in floating point as pandas does."""
    if col in ("views", "impressions"):
        return c[col]
    parts = [c[m] for m in engagement if m in c]
    engagements = (sa.case((sa.and_(*[x.is_(None) for x in parts]), sa.null()),
                           else_=sum(sa.func.coalesce(x, 0) for x in parts)) if parts else sa.null())
    if col == "engagements":
        return engagements
    den = c.views if col == "er_views" else c.impressions
    return sa.case((den > 0, sa.cast(engagements, sa.Float) / sa.cast(den, sa.Float)), else_=sa.null())


def _platforms(conn) -> list[str]:
    return list(conn.execute(sa.select(schema.accounts.c.platform).distinct()).scalars())


SEARCH_CHUNK = 900  # post ids per statement when reading the matching posts' rows (a driver's variable limit)


def order_select(campaign, sel: metrics.Selection, columns, dialect: str = "sqlite") -> sa.Select:
    """The selection's posts (as ``page_select`` selects them) with only what an order reads: the
    post's key, platform, post id, publish time and these metric ``columns``, each the latest
    snapshot's value, else the sum of the post's daily rows, as ``exports.posts_select`` gives it.

    Narrow on purpose: the daily sums are correlated probes of the (post_pk, day) key taken only
    for a post without a snapshot, where ``posts_select`` groups every daily row of the campaign
    (0.3 s of a first Posts grid block at 20,000 posts, seconds at 200,000)."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    s, d = schema.post_snapshots, schema.post_days
    snap = exports.latest_snapshot_on(p, by_rowid=dialect == "sqlite")

    def value(m):
        if m in exports.NOT_SUMMED_OVER_DAYS:
            return s.c[m]
        daily = sa.select(sa.func.sum(d.c[m])).where(d.c.post_pk == p.c.id).correlate(p).scalar_subquery()
        return sa.case((s.c.post_pk.is_not(None), s.c[m]), else_=daily)

    return (sa.select(p.c.id.label("post_pk"), p.c.platform, p.c.post_id, p.c.published_at,
                      *[value(m).label(m) for m in dict.fromkeys(columns)])
            .select_from(p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id)
                         .outerjoin(s, snap))
            .where(*_conditions(campaign, sel)))


def _order_columns(campaign) -> tuple[str, ...]:
    return ("views", "impressions", *campaign.engagement)


def sql_order(conn, campaign, sel, sort_model, lang: str) -> tuple[sa.Select, list | None]:
    """``order_select`` for the selection and its ORDER BY terms for ``sort_model`` (None: a text sort)."""
    dialect = conn.engine.dialect.name
    q = order_select(campaign, sel, _order_columns(campaign), dialect)
    return q, _sql_order(q, sort_model, lang, dialect, _platforms(conn), tuple(campaign.engagement))


def matching_pks(conn, campaign, sel, words: list[str]) -> set[int]:
    """The selection's posts whose title, influencer (as the page names it), account or post id
    contain every word: ``search``'s rule on those four texts alone, read without a metric."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    shown, _ = _shown()
    q = (sa.select(p.c.id, p.c.title, shown, exports._account_label(), p.c.post_id)
         .select_from(p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id))
         .where(*_conditions(campaign, sel)))
    return {pk for pk, *texts in conn.execute(q) if exports.matches(words, *texts)}


def _ordered_pks(eng, campaign, sel, q: str, sort_model, lang: str) -> list[int]:
    """The ids of the posts the grid lists for a search or a sort, in its order.

    A search reads the four searched texts of the selection's posts (no metric) and keeps the
    matching ids; an order SQL can give (``_sql_order``) is then taken over the selection and
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
            ids = conn.execute(query.with_only_columns(schema.posts.c.id).order_by(*order)).scalars()
            return [int(x) for x in ids if keep is None or x in keep]
        if keep is None:
            df = _frame(conn, page_select(campaign, sel))
        else:
            pks = sorted(keep)
            df = pd.concat([_frame(conn, page_select(campaign, sel, pks[k:k + SEARCH_CHUNK]))
                            for k in range(0, len(pks), SEARCH_CHUNK)], ignore_index=True)
    table = sort_posts(search(_table(df, campaign), q), sort_model, lang)
    return [int(x) for x in table["post_pk"]]


class Listing:
    """What the grid lists for the filters, the search and the sort: how many posts, and any block."""

    def __init__(self, eng, campaign, sel, q: str = "", sort_model=None, lang: str = "en"):
        self.eng, self.campaign, self.sel, self.q, self.lang = eng, campaign, sel, q, lang
        self.sort_model = sort_model
        self.query = page_select(campaign, sel)
        self.order_query, self.order = None, None
        if not search_words(q):
            with eng.connect() as conn:
                self.order_query, self.order = sql_order(conn, campaign, sel, sort_model, lang)
        self.key = (sel, " ".join(search_words(q)), repr(sort_model or []), lang)
        self.pks = None
        if self.order is None:
            self.pks = shared.memo(eng, campaign, "posts.order", self.key,
                                  lambda: _ordered_pks(eng, campaign, sel, q, sort_model, lang))
        # The count needs no metric: posts, accounts and influencers only.
        self.total = len(self.pks) if self.pks is not None else count_posts(eng, campaign, sel)

    def _ids(self, start, end) -> list[int]:
        q = self.order_query.with_only_columns(schema.posts.c.id).order_by(*self.order)
        if start is not None:
            q = q.limit(max(end - start, 0)).offset(start)
        with self.eng.connect() as conn:
            return list(conn.execute(q).scalars())

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
            df = _frame(conn, page_select(self.campaign, self.sel, list(order)) if order
                        else self.query.where(sa.false()))
        table = _table(df, self.campaign)
        return table.set_index("post_pk").loc[order].reset_index() if len(table) else table


def search_words(q: str | None) -> list[str]:
    return exports.search_words(q)



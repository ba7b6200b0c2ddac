"""The Posts page's listing in SQL (dashboard/analysis/listing.py): the posts of a selection as
``listing.post_table`` selects them, how many, the ORDER BY terms of the orders SQL can give
exactly, and the texts a search reads. Built on the posts export's statement (``exports.posts_select``)."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema

from .exports import NOT_SUMMED_OVER_DAYS, account_column, posts_select, published_in


def page_select(campaign, sel, post_pks: list[int] | None = None) -> sa.Select:
    """The posts of the selection as ``post_table`` selects them, in SQL: ``exports.posts_select``
    plus the post's key, the influencer as the page names it ("<account> (unassigned)" for an
    account without one) and its category ("unassigned" without one), filtered by platform,
    that influencer name, publish day in the campaign timezone and category."""
    p = schema.posts
    shown, category = _shown()
    q = posts_select(post_pks=post_pks).add_columns(p.c.id.label("post_pk"), shown.label("shown_influencer"),
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


def _conditions(campaign, sel) -> list:
    """The selection as conditions on posts, their accounts and influencers (``filter_posts`` on
    the page's names, then the categories)."""
    p = schema.posts
    shown, category = _shown()
    out = []
    if sel.platforms:
        out.append(p.c.platform.in_(list(sel.platforms)))
    if sel.influencers:
        out.append(shown.in_(list(sel.influencers)))
    days = published_in(p.c.published_at, campaign, sel)
    if days is not None:
        out.append(days)
    if sel.categories:
        out.append(category.in_(list(sel.categories)))
    return out


def count(eng, campaign, sel) -> int:
    """How many posts the selection lists, without reading a metric (posts, accounts, influencers)."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    q = (sa.select(sa.func.count()).select_from(p.join(a, p.c.account_pk == a.c.id)
                                                .outerjoin(i, a.c.influencer_id == i.c.id))
         .where(*_conditions(campaign, sel)))
    with eng.connect() as conn:
        return conn.execute(q).scalar_one()


def rows(conn, q) -> list[tuple]:
    """The rows of ``page_select`` (or of ``none_of``) as the driver's tuples."""
    return [tuple(r) for r in conn.execute(q)]


def none_of(q: sa.Select) -> sa.Select:
    """``q`` selecting no row (an empty block, with the columns of any other)."""
    return q.where(sa.false())


def order_terms(q: sa.Select, sorted_by, platform_keys: dict[str, str], dialect: str,
                engagement: tuple[str, ...]) -> list | None:
    """ORDER BY terms giving ``post_table``'s order then ``sort_posts``' for ``sorted_by``
    (``listing.sorted_column``: column, kind, descending; None for the default order), or None
    when the sort is by a text column (casefolded: only Python has the exact rule).
    ``platform_keys``: each stored platform's name as the grid sorts it."""
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
    if sorted_by is None:
        return default
    col, kind, desc = sorted_by
    if col == "platform":
        names = platform_keys
        key = text(sa.case(*[(c.platform == pl, n) for pl, n in names.items()], else_=c.platform)) if names else c.platform
        return [key.desc() if desc else key.asc(), *default]
    if text_sorted(sorted_by):
        return None
    if col == "published_at":
        keys = pub_terms[1:]
        return [pub_terms[0], *[k.desc() if desc else k.asc() for k in keys], *default]
    key = _number(c, col, engagement)
    return [*last_if_null(key, desc), *default]


def text_sorted(sorted_by) -> bool:
    """Whether ``sorted_by`` (``listing.sorted_column``) is a sort by a text column other than the
    platform: casefolded, which only Python does exactly, so ``order_terms`` has none."""
    return sorted_by is not None and sorted_by[1] == "text" and sorted_by[0] != "platform"


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


def platforms(conn) -> list[str]:
    """Every platform with an account."""
    return list(conn.execute(sa.select(schema.accounts.c.platform).distinct()).scalars())


def order_select(campaign, sel, columns) -> sa.Select:
    """The selection's posts (as ``page_select`` selects them) with only what an order reads: the
    post's key, platform, post id, publish time and these metric ``columns``, each the latest
    snapshot's value, else the sum of the post's daily rows, as ``exports.posts_select`` gives it.

    Narrow on purpose: the daily sums are correlated probes of the (post_pk, day) key taken only
    for a post without a snapshot, where ``posts_select`` groups every daily row of the campaign
    (0.3 s of a first Posts grid block at 20,000 posts, seconds at 200,000)."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    s, d = schema.post_latest, schema.post_days

    def value(m):
        if m in NOT_SUMMED_OVER_DAYS:
            return s.c[m]
        daily = sa.select(sa.func.sum(d.c[m])).where(d.c.post_pk == p.c.id).correlate(p).scalar_subquery()
        return sa.case((s.c.post_pk.is_not(None), s.c[m]), else_=daily)

    return (sa.select(p.c.id.label("post_pk"), p.c.platform, p.c.post_id, p.c.published_at,
                      *[value(m).label(m) for m in dict.fromkeys(columns)])
            .select_from(p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id)
                         .outerjoin(s, s.c.post_pk == p.c.id))
            .where(*_conditions(campaign, sel)))


def ordered_ids(conn, order_query: sa.Select, order: list, start: int | None = None,
                end: int | None = None) -> list[int]:
    """The ids of ``order_select``'s posts in the order of ``order`` (``order_terms``), all of them
    or rows ``start`` to ``end``."""
    q = order_query.with_only_columns(schema.posts.c.id).order_by(*order)
    if start is not None:
        q = q.limit(max(end - start, 0)).offset(start)
    return list(conn.execute(q).scalars())


def searched_texts(conn, campaign, sel):
    """The selection's posts with the four texts a search reads, no metric: (post_pk, title,
    influencer as the page names it, account label, post id)."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    shown, _ = _shown()
    q = (sa.select(p.c.id, p.c.title, shown, account_column(), p.c.post_id)
         .select_from(p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id))
         .where(*_conditions(campaign, sel)))
    return conn.execute(q)

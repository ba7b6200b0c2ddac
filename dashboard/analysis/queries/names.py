"""Who a selection names: the influencers, categories and platforms the filters offer, and the
accounts behind a name or a view."""
from __future__ import annotations

import sqlalchemy as sa

from collectors.store import schema

from .parts import account_filters, account_label, category_expr, influencer_expr


def accounts_named(engine: sa.Engine, name: str) -> list[int]:
    """The accounts behind a leaderboard name: the influencer's, or the one unassigned account
    shown as "<account> (unassigned)" (named as ``load_frames`` names it)."""
    a, i = schema.accounts, schema.influencers
    with engine.connect() as conn:
        rows = conn.execute(sa.select(a.c.id, account_label(), i.c.name).outerjoin(i, a.c.influencer_id == i.c.id)).all()
    return sorted(pk for pk, account, person in rows
                  if (person == name if person is not None else f"{account} (unassigned)" == name))


def influencer_names(engine: sa.Engine) -> list[str]:
    """Every influencer with a post, sorted: the filter bar's list (the names ``load_frames`` gives
    its posts), from the accounts table and one index probe per account."""
    a, p = schema.accounts, schema.posts
    has_post = sa.exists().where(p.c.account_pk == a.c.id)
    q = (sa.select(influencer_expr()).select_from(a.outerjoin(schema.influencers, a.c.influencer_id == schema.influencers.c.id))
         .where(has_post).distinct())
    with engine.connect() as conn:
        return sorted(n for n in conn.execute(q).scalars().all() if n is not None)


def category_names(engine: sa.Engine) -> list[str]:
    """Every category of an influencer with a post, as the filters compare them (``category_expr``:
    "unassigned" for an account no roster row names or an influencer without one), sorted: the filter
    bar's categories, whatever the roster calls them. Read like ``influencer_names``."""
    a, i, p = schema.accounts, schema.influencers, schema.posts
    has_post = sa.exists().where(p.c.account_pk == a.c.id)
    q = (sa.select(category_expr()).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
         .where(has_post).distinct())
    with engine.connect() as conn:
        return sorted(c for c in conn.execute(q).scalars().all() if c is not None)


def stored_names(engine: sa.Engine) -> dict[str, list[str]]:
    """What a filter of `reach export` can name: every platform with an account, and every
    influencer as the exports name them (the roster's names, with or without data yet, and
    "<account> (unassigned)" for the rest), sorted. One narrow read of the accounts table."""
    a, i = schema.accounts, schema.influencers
    with engine.connect() as conn:
        platforms = conn.execute(sa.select(a.c.platform).distinct()).scalars().all()
        named = conn.execute(sa.select(influencer_expr()).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
                             .distinct()).scalars().all()
        roster = conn.execute(sa.select(i.c.name)).scalars().all()
    return {"platform": sorted(p for p in platforms if p),
            "influencer": sorted({n for n in [*named, *roster] if n is not None})}


def influencers_in(engine: sa.Engine, sel) -> list[str]:
    """Every influencer with a post among the selection's platforms, categories and influencers,
    sorted (named as ``influencer_names`` names them)."""
    a, p = schema.accounts, schema.posts
    has_post = sa.exists().where(p.c.account_pk == a.c.id)
    q = (sa.select(influencer_expr()).select_from(a.outerjoin(schema.influencers, a.c.influencer_id == schema.influencers.c.id))
         .where(has_post, *account_filters(sel)).distinct())
    with engine.connect() as conn:
        return sorted(n for n in conn.execute(q).scalars().all() if n is not None)


def flag_pairs(engine: sa.Engine, sel) -> list[tuple[str, str]] | None:
    """The (influencer, platform) pairs the anomaly flags of a view may name: those of the accounts
    its influencers and categories (and platforms) select; None when it selects no influencer and no
    category (then only its days and platforms filter the flags)."""
    if not sel.influencers and not sel.categories:
        return None
    a, i = schema.accounts, schema.influencers
    q = (sa.select(influencer_expr(), a.c.platform).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
         .where(*account_filters(sel)).distinct())
    with engine.connect() as conn:
        return sorted({(name, platform) for name, platform in conn.execute(q)})


def accounts_of_influencers(engine: sa.Engine, sel, names) -> list[int]:
    """The accounts of these influencers (as the pages name them) that the selection's filters keep."""
    a, i = schema.accounts, schema.influencers
    q = (sa.select(a.c.id).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
         .where(influencer_expr().in_(list(names) or [""]), *account_filters(sel)))
    with engine.connect() as conn:
        return sorted(conn.execute(q).scalars().all())



def account_names(conn) -> list:
    """(id, platform, label, roster name or None) of every account: what the stored account times
    were named with (dashboard/analysis/flag_store.py compares them)."""
    a, i = schema.accounts, schema.influencers
    return conn.execute(sa.select(a.c.id, a.c.platform, account_label(),
                                  i.c.name).outerjoin(i, i.c.id == a.c.influencer_id)).all()

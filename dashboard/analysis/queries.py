"""Frames the dashboard shows, read from the store (pure functions of the database).

Reads only: every number derived from these frames comes from dashboard/analysis/metrics.py.
"""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from collectors.model import PLATFORM_LABELS
from collectors.store import schema


def overview(engine: sa.Engine) -> pd.DataFrame:
    """Per platform: accounts, influencers, posts (platforms with no data are left out)."""
    a, p = schema.accounts, schema.posts
    q = (sa.select(a.c.platform,
                   sa.func.count(sa.distinct(a.c.id)).label("accounts"),
                   sa.func.count(sa.distinct(a.c.influencer_id)).label("influencers"))
         .group_by(a.c.platform))
    qp = sa.select(p.c.platform, sa.func.count().label("posts")).group_by(p.c.platform)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=["platform", "accounts", "influencers"])
        posts = pd.DataFrame(conn.execute(qp).all(), columns=["platform", "posts"])
    df = df.merge(posts, on="platform", how="left").fillna({"posts": 0})
    df["posts"] = df["posts"].astype(int)
    df["label"] = df["platform"].map(PLATFORM_LABELS).fillna(df["platform"])
    return df.sort_values("posts", ascending=False, kind="stable").reset_index(drop=True)


# --- frames for the metrics engine ------------------------------------------------------------

class Frames:
    """Everything the metrics engine needs, read once: posts with their account and influencer,
    lifetime snapshots, daily post rows and account-day rows. Times are UTC (tz-aware); days are
    naive midnights."""

    def __init__(self, posts, snapshots, post_days, account_days, accounts=None):
        self.posts, self.snapshots, self.post_days, self.account_days = posts, snapshots, post_days, account_days
        # account_pk, platform, account, influencer, category, followers (the roster's figure)
        self.accounts = accounts if accounts is not None else pd.DataFrame(
            columns=["account_pk", "platform", "account", "influencer", "category", "followers"])


def _fetch(conn, query, columns: list[str]) -> pd.DataFrame:
    """The rows of ``query`` as a frame, built from the driver's tuples: three times faster than
    through SQLAlchemy's row objects, and the callers convert the types anyway (times and days
    arrive as ISO text from SQLite, as datetimes from PostgreSQL)."""
    return pd.DataFrame.from_records(conn.execute(query).cursor.fetchall(), columns=columns)


def _times(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601")


def load_frames(engine: sa.Engine, account_pks: list[int] | None = None, *,
                post_range: tuple[int, int] | None = None, post_pks: list[int] | None = None) -> Frames:
    """Everything, or only what belongs to these accounts (a rollup refresh after an import reads
    the accounts it touched, not the whole database); with ``post_range`` (first, last post id)
    only those accounts' posts in that range (the refresh cuts a very large account into pieces,
    so its memory is bounded: dashboard/analysis/rollups.py); with ``post_pks`` only those posts."""
    from collectors.model import METRICS

    p, a, i = schema.posts, schema.accounts, schema.influencers
    s, d, ad = schema.post_snapshots, schema.post_days, schema.account_days
    label = sa.func.coalesce(a.c.handle, a.c.name, a.c.account_key)

    def only(q, col):
        return q if account_pks is None else q.where(col.in_(account_pks))

    def only_posts(q):
        q = only(q, p.c.account_pk)
        if post_pks is not None:
            q = q.where(p.c.id.in_(post_pks))
        return q if post_range is None else q.where(p.c.id.between(*post_range))

    with engine.connect() as conn:
        posts = _fetch(conn, only_posts(
            sa.select(p.c.id.label("post_pk"), p.c.platform, p.c.post_id, label.label("account"),
                      a.c.id.label("account_pk"), i.c.name.label("influencer"), i.c.category,
                      p.c.published_at, p.c.url, p.c.title, p.c.post_type)
            .select_from(p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id))),
            ["post_pk", "platform", "post_id", "account", "account_pk", "influencer",
             "category", "published_at", "url", "title", "post_type"])
        snaps = _fetch(conn, only_posts(
            sa.select(s.c.post_pk, p.c.platform, p.c.published_at, s.c.captured_at, *[s.c[m] for m in METRICS])
            .join(p, p.c.id == s.c.post_pk)),
            ["post_pk", "platform", "published_at", "captured_at", *METRICS])
        days = _fetch(conn, only_posts(
            sa.select(d.c.post_pk, d.c.day, *[d.c[m] for m in METRICS]).join(p, p.c.id == d.c.post_pk)),
            ["post_pk", "day", *METRICS])
        if post_range is None and post_pks is None:
            adays = _fetch(conn, only(
                sa.select(a.c.platform, label.label("account"), a.c.id.label("account_pk"), ad.c.day,
                          *[ad.c[m] for m in METRICS], ad.c.followers).join(a, a.c.id == ad.c.account_pk), a.c.id),
                ["platform", "account", "account_pk", "day", *METRICS, "followers"])
        else:  # account-level rows belong to no post range or list
            adays = pd.DataFrame(columns=["platform", "account", "account_pk", "day", *METRICS, "followers"])
        accts = _fetch(conn, only(
            sa.select(a.c.id.label("account_pk"), a.c.platform, label.label("account"), i.c.name.label("influencer"),
                      i.c.category, a.c.followers).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id)), a.c.id),
            ["account_pk", "platform", "account", "influencer", "category", "followers"])
    unassigned = posts["influencer"].isna()
    posts.loc[unassigned, "influencer"] = posts.loc[unassigned, "account"] + " (unassigned)"
    posts.loc[unassigned, "category"] = "unassigned"
    lone = accts["influencer"].isna()
    accts.loc[lone, "influencer"] = accts.loc[lone, "account"] + " (unassigned)"
    accts.loc[lone, "category"] = "unassigned"
    accts["followers"] = pd.to_numeric(accts["followers"]).astype("float64")
    adays["followers"] = pd.to_numeric(adays["followers"]).astype("float64")
    for f in (posts, snaps, days, adays, accts):
        if "account_pk" in f:
            f["account_pk"] = f["account_pk"].astype("int64")
        if "post_pk" in f:
            f["post_pk"] = f["post_pk"].astype("int64")
    posts["published_at"] = _times(posts["published_at"]).dt.tz_localize("UTC")
    for f in (snaps,):
        f["published_at"] = _times(f["published_at"]).dt.tz_localize("UTC")
        f["captured_at"] = _times(f["captured_at"]).dt.tz_localize("UTC")
    for f in (days, adays):
        f["day"] = _times(f["day"])
    for f in (snaps, days, adays):
        for m in METRICS:
            f[m] = pd.to_numeric(f[m]).astype("float64")
    return Frames(posts, snaps, days, adays, accts)


# --- narrow reads for the pages (issue 11) ------------------------------------------------------
# What a page shows that the daily rollup cannot answer, read by SQL that touches only what the
# view needs: names for the filter bar, posts published in the view's days, reach of those posts
# (each post's latest snapshot by a primary-key probe), one week's top posts. Each is equal to what
# the metrics engine computes from ``load_frames`` (tests/test_pages_scale.py).

def _label():
    a = schema.accounts
    return sa.func.coalesce(a.c.handle, a.c.name, a.c.account_key)


def influencer_expr():
    """An account's influencer as the pages name it: the roster's name, else "<account> (unassigned)"."""
    return sa.func.coalesce(schema.influencers.c.name, _label() + " (unassigned)")


def category_expr():
    return sa.func.coalesce(schema.influencers.c.category, "unassigned")


def account_filters(sel) -> list:
    """WHERE clauses on accounts (joined with influencers) for a selection's platforms, influencers
    and categories."""
    a = schema.accounts
    out = []
    if sel.platforms:
        out.append(a.c.platform.in_(sel.platforms))
    if sel.influencers:
        out.append(influencer_expr().in_(sel.influencers))
    if sel.categories:
        out.append(category_expr().in_(sel.categories))
    return out


def utc_bounds(campaign, start, end):
    """The UTC instants (naive, as stored) where local day ``start`` begins and the day after
    ``end`` begins, in the campaign timezone; None for an open end."""
    def midnight(day):
        if day is None:
            return None
        ts = pd.Series([pd.Timestamp(day)])
        ts = ts.dt.tz_localize(campaign.tz, ambiguous=False, nonexistent="shift_forward").dt.tz_convert("UTC")
        return ts.iloc[0].tz_localize(None).to_pydatetime()

    return midnight(start), midnight(None if end is None else pd.Timestamp(end) + pd.Timedelta(days=1))


def time_bound(dialect: str, moment, after: bool = False):
    """A stored time to compare with: SQLite keeps times as text, some with microseconds
    ("…16:00:00.000000") and some without ("…16:00:00"), and compares text. Against the shorter
    form a time equal to ``moment`` sorts after it with either spelling (so ``>=`` and ``<``
    treat both alike); with ``after`` the bound is one microsecond later, for ``<`` meaning
    "on or before ``moment``". PostgreSQL compares times."""
    if after:
        moment = moment + timedelta(microseconds=1)
    if dialect != "sqlite":
        return moment
    text = moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{moment.microsecond:06d}" if moment.microsecond else "")
    return sa.literal(text, sa.String)


def _published_in(q, campaign, start, end, dialect: str):
    """Posts published on the local days ``start``..``end`` (a post without a publish time only
    when neither is given, as metrics._days keeps NaT only without dates)."""
    p = schema.posts
    lo, hi = utc_bounds(campaign, start, end)
    if lo is not None:
        q = q.where(p.c.published_at >= time_bound(dialect, lo))
    if hi is not None:
        q = q.where(p.c.published_at < time_bound(dialect, hi))
    return q


def _from_posts():
    p, a, i = schema.posts, schema.accounts, schema.influencers
    return p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id)


GROUP_KEYS = ("platform", "influencer")


def _keys(by):
    bad = [b for b in by if b not in GROUP_KEYS]
    if bad:
        raise ValueError(f"cannot group published posts by {bad}: choose from {GROUP_KEYS}")
    return {"platform": schema.accounts.c.platform, "influencer": influencer_expr()}


def accounts_named(engine: sa.Engine, name: str) -> list[int]:
    """The accounts behind a leaderboard name: the influencer's, or the one unassigned account
    shown as "<account> (unassigned)" (named as ``load_frames`` names it)."""
    a, i = schema.accounts, schema.influencers
    with engine.connect() as conn:
        rows = conn.execute(sa.select(a.c.id, _label(), i.c.name).outerjoin(i, a.c.influencer_id == i.c.id)).all()
    return sorted(pk for pk, account, person in rows
                  if (person == name if person is not None else f"{account} (unassigned)" == name))


def status(engine: sa.Engine) -> tuple[list, int, object]:
    """What `reach status` prints: per platform the accounts, posts, snapshots, post-days and
    account-days stored; how many files were imported and the last import's time (UTC)."""
    q = sa.text("""
        SELECT a.platform,
               COUNT(DISTINCT a.id) AS accounts,
               (SELECT COUNT(*) FROM posts p WHERE p.platform = a.platform) AS posts,
               (SELECT COUNT(*) FROM post_snapshots s JOIN posts p ON p.id = s.post_pk WHERE p.platform = a.platform) AS snapshots,
               (SELECT COUNT(*) FROM post_days d JOIN posts p ON p.id = d.post_pk WHERE p.platform = a.platform) AS post_days,
               (SELECT COUNT(*) FROM account_days d JOIN accounts b ON b.id = d.account_pk WHERE b.platform = a.platform) AS account_days
        FROM accounts a GROUP BY a.platform ORDER BY a.platform""")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(q)]
        n_imports = conn.execute(sa.select(sa.func.count()).select_from(schema.imports)).scalar()
        last = conn.execute(sa.select(sa.func.max(schema.imports.c.imported_at))).scalar()
    return rows, n_imports, last


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


def published_counts(engine: sa.Engine, campaign, sel, by=()) -> pd.DataFrame:
    """Posts published in the selection's days (campaign timezone) and its filters: ``posts`` and
    ``active_influencers`` (distinct influencers who published) per ``by`` (platform and/or
    influencer; none: one row)."""
    by = list(by)
    keys = _keys(by)
    q = sa.select(*[keys[k].label(k) for k in by], sa.func.count().label("posts"),
                  sa.func.count(sa.distinct(influencer_expr())).label("active_influencers")).select_from(_from_posts())
    q = _published_in(q, campaign, sel.start, sel.end, engine.dialect.name).where(*account_filters(sel))
    if by:
        q = q.group_by(*[keys[k] for k in by])
    with engine.connect() as conn:
        df = pd.DataFrame([tuple(r) for r in conn.execute(q)], columns=by + ["posts", "active_influencers"])
    df[["posts", "active_influencers"]] = df[["posts", "active_influencers"]].astype("int64")
    return df


def published_days(engine: sa.Engine, campaign, sel, by=()) -> pd.DataFrame:
    """Posts published per local day (campaign timezone) of the selection, and per ``by``
    (platform and/or influencer): ``day``, *by, ``posts``; what a goal on posts counts
    (dashboard/analysis/goals.py). Counted per quarter hour in SQL (every timezone's offset is whole
    quarter hours, so a quarter hour's local day is its posts'), then per day here."""
    from . import metrics

    by = list(by)
    keys = _keys(by)
    quarter = _quarter_hour(schema.posts.c.published_at, engine.dialect.name)
    q = (sa.select(*[keys[k].label(k) for k in by], quarter.label("quarter"), sa.func.count().label("posts"))
         .select_from(_from_posts()).where(schema.posts.c.published_at.is_not(None), *account_filters(sel)))
    q = _published_in(q, campaign, sel.start, sel.end, engine.dialect.name).group_by(*[keys[k] for k in by], quarter)
    with engine.connect() as conn:
        df = pd.DataFrame([tuple(r) for r in conn.execute(q)], columns=[*by, "quarter", "posts"])
    if df.empty:
        return pd.DataFrame({"day": pd.Series(dtype="datetime64[ns]"), **{b: pd.Series(dtype=object) for b in by},
                             "posts": pd.Series(dtype="int64")})
    df["day"] = metrics._local_day(pd.to_datetime(df["quarter"], format="ISO8601").dt.tz_localize("UTC"), campaign.tz)
    return df.groupby(["day", *by], as_index=False)["posts"].sum().astype({"posts": "int64"})


def posts_observed_since(engine: sa.Engine, campaign, sel, day) -> list[int]:
    """The posts of the selection's accounts with a snapshot captured, or a daily row, on or after
    the local ``day``: the only posts whose gains on that day or later can be above zero."""
    p, s, d = schema.posts, schema.post_snapshots, schema.post_days
    lo, _ = utc_bounds(campaign, day, None)
    snap = sa.exists().where(s.c.post_pk == p.c.id, s.c.captured_at >= time_bound(engine.dialect.name, lo))
    daily = sa.exists().where(d.c.post_pk == p.c.id, d.c.day >= day)
    q = sa.select(p.c.id).select_from(_from_posts()).where(sa.or_(snap, daily), *account_filters(sel))
    with engine.connect() as conn:
        return [int(x) for x in conn.execute(q).scalars()]


def posts_reaching(engine: sa.Engine, campaign, sel, metric: str, above: float, post_ids=()) -> list[dict]:
    """Posts of the selection's accounts whose lifetime ``metric`` is at least ``above``: by the
    latest snapshot, or for posts with daily rows only, the sum of those (what an alert on a viral
    post looks for, dashboard/alerts.py). ``metric`` may be a stored metric, ``views_or_impressions``
    (views, else impressions) or ``engagements`` (campaign.toml's engagement metrics summed).
    Rows: platform, post_id, title, url, influencer, value; largest first."""
    from collectors.model import METRICS

    from . import metrics

    platforms = sorted(set(campaign.cpm) | set(PLATFORM_LABELS))
    on_views = [x for x in platforms if metrics.views_basis(x) == "views"]
    on_impressions = [x for x in platforms if metrics.views_basis(x) == "impressions"]

    def value_of(t):
        if metric == "views_or_impressions":  # the platform's basis, never a per-row choice (metrics.py)
            return sa.case((p.c.platform.in_(on_views), t.c.views), (p.c.platform.in_(on_impressions), t.c.impressions),
                           else_=sa.null())
        if metric == "engagements":
            return sum((sa.func.coalesce(t.c[m], 0) for m in campaign.engagement), sa.literal(0))
        if metric not in METRICS:
            raise ValueError(f"a post has no {metric!r}")
        return t.c[metric]

    p, d = schema.posts, schema.post_days
    everything = type(sel)(platforms=sel.platforms, influencers=sel.influencers, categories=sel.categories)
    joined, snap = latest_before(campaign, everything, engine.dialect.name)
    cols = [p.c.platform, p.c.post_id, p.c.title, p.c.url, influencer_expr().label("influencer")]
    only = [p.c.post_id.in_(list(post_ids))] if post_ids else []
    a = sa.select(*cols, value_of(snap).label("value")).select_from(joined).where(
        value_of(snap) >= above, *account_filters(sel), *only)
    has_snap = sa.exists().where(schema.post_snapshots.c.post_pk == p.c.id)
    daily = (sa.select(p.c.id.label("pk"), sa.func.sum(value_of(d)).label("value")).select_from(p.join(d, d.c.post_pk == p.c.id))
             .where(~has_snap, *only).group_by(p.c.id).having(sa.func.sum(value_of(d)) >= above).subquery())
    b = sa.select(*cols, daily.c.value).select_from(_from_posts().join(daily, daily.c.pk == p.c.id)).where(
        *account_filters(sel))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(a)] + [dict(r._mapping) for r in conn.execute(b)]
    return sorted(rows, key=lambda r: (-float(r["value"]), r["platform"], r["post_id"]))


def influencers_in(engine: sa.Engine, sel) -> list[str]:
    """Every influencer with a post among the selection's platforms, categories and influencers,
    sorted (named as ``influencer_names`` names them)."""
    a, p = schema.accounts, schema.posts
    has_post = sa.exists().where(p.c.account_pk == a.c.id)
    q = (sa.select(influencer_expr()).select_from(a.outerjoin(schema.influencers, a.c.influencer_id == schema.influencers.c.id))
         .where(has_post, *account_filters(sel)).distinct())
    with engine.connect() as conn:
        return sorted(n for n in conn.execute(q).scalars().all() if n is not None)


def latest_before(campaign, sel, dialect: str):
    """(the posts (``_from_posts``) joined to each one's latest snapshot captured before the end of
    the selection's last day (as metrics.latest_lifetime), that snapshot: what its columns are
    read from, ``.c.reach`` and the other metrics). Posts without one are left out."""
    p, s = schema.posts, schema.post_snapshots
    s2 = s.alias("s_before")
    _, until = utc_bounds(campaign, None, sel.end)
    before = [] if until is None else [s2.c.captured_at < time_bound(dialect, until, after=True)]
    if dialect == "sqlite":
        # One walk of the primary key (post_pk, captured_at) per post: its last entry for the post
        # names the row by rowid (max() then an equality probe walked the key twice, 2.6 times
        # slower at 20,000 posts; SQLite would scan a grouped subquery once per post).
        latest = (sa.select(sa.literal_column("s_before.rowid")).select_from(s2).where(s2.c.post_pk == p.c.id, *before)
                  .order_by(s2.c.captured_at.desc()).limit(1).correlate(p).scalar_subquery())
        return _from_posts().join(s, sa.literal_column("post_snapshots.rowid") == latest), s
    # PostgreSQL: each post's latest snapshot by one backward walk of the primary key (LATERAL), its
    # values taken from there. A grouped subquery of every snapshot before the end, hashed, took
    # 0.6 s for a week's 19,000 posts at 100x the demo (built once per parallel worker); joined
    # back to the table by capture time, the planner expected one row and looped over the rest.
    from collectors.model import METRICS

    last = (sa.select(*[s2.c[m] for m in METRICS]).where(s2.c.post_pk == p.c.id, *before)
            .order_by(s2.c.captured_at.desc()).limit(1).lateral("latest"))
    return _from_posts().join(last, sa.true()), last


def reach_range(engine: sa.Engine, campaign, sel, by=()) -> pd.DataFrame:
    """``metrics.reach_table``'s ``reach_max_post`` and ``reach_sum`` (and ``reach_posts``) per
    ``by``: the posts published in the selection, each by its latest snapshot captured before the
    end of the selection's last day, when that snapshot has a reach. Groups without a reach are
    left out, as reach_table leaves them out."""
    by = list(by)
    keys = _keys(by)
    joined, s = latest_before(campaign, sel, engine.dialect.name)
    q = (sa.select(*[keys[k].label(k) for k in by], sa.func.max(s.c.reach).label("reach_max_post"),
                   sa.func.sum(s.c.reach).label("reach_sum"), sa.func.count(s.c.reach).label("reach_posts"))
         .select_from(joined).where(s.c.reach.is_not(None)))
    q = _published_in(q, campaign, sel.start, sel.end, engine.dialect.name).where(*account_filters(sel))
    if by:
        q = q.group_by(*[keys[k] for k in by])
    with engine.connect() as conn:
        df = pd.DataFrame([tuple(r) for r in conn.execute(q)], columns=by + ["reach_max_post", "reach_sum", "reach_posts"])
    if not by:
        df = df[df["reach_posts"] > 0]
    for c in ("reach_max_post", "reach_sum"):
        df[c] = pd.to_numeric(df[c]).astype("float64")
    return df.reset_index(drop=True)


def _impossible_where(t, engagement) -> sa.ColumnElement:
    """Rows where engagements, shares or likes exceed views (else impressions): the rows
    ``anomalies.impossible_values`` reports, chosen in SQL (it checks them again exactly)."""
    bound = sa.case((t.c.views > 0, t.c.views), (t.c.impressions > 0, t.c.impressions), else_=None)
    eng = sum((sa.func.coalesce(t.c[m], 0) for m in engagement if m in t.c), sa.literal(0))
    return sa.or_(eng > bound, t.c.shares > bound, t.c.likes > bound)


ROWS_CHUNK = 50_000  # rows of the driver's tuples turned into a frame at a time (_rows)


def _rows(conn, q, columns, chunk: int | None = None) -> pd.DataFrame:
    """The driver's tuples straight into a frame (row objects cost more than the query here), a
    chunk of rows at a time: a whole read held every row as Python objects at once, 400 MB for
    the 691,219 rollup rows of 100x the demo, for a frame of 91 MB. The frame is the one a single
    read makes (``_same_dtypes``)."""
    chunk = chunk or ROWS_CHUNK
    cursor = conn.execute(q).cursor
    parts = []
    while True:
        rows = cursor.fetchmany(chunk)
        if rows or not parts:
            parts.append(pd.DataFrame.from_records(rows, columns=columns))
        if len(rows) < chunk:
            break
    return parts[0] if len(parts) == 1 else pd.concat(_same_dtypes(parts, columns), ignore_index=True)


def _same_dtypes(parts: list[pd.DataFrame], columns) -> list[pd.DataFrame]:
    """A chunk whose column holds only None has it as object, where read with the other rows the
    column is numbers (None becoming NaN) or times (NaT): give such chunks the others' type, so
    the concatenation has the dtype a single read gives."""
    for c in columns:
        typed = next((p[c].dtype for p in parts if p[c].dtype != object), None)
        if typed is None:
            continue
        if typed.kind == "b":
            continue  # True/False beside None: object in a single read too
        to = "float64" if typed.kind in "iu" else typed  # ints beside None: floats with NaN
        for k, p in enumerate(parts):
            if p[c].dtype == object and p[c].isna().all():
                parts[k] = p.assign(**{c: p[c].astype(to)})
    return parts


def anomaly_inputs(engine: sa.Engine, campaign):
    """What ``anomalies.scan`` reads, from the rollup and narrow SQL instead of ``load_frames`` and
    the engine: the daily series' figures per influencer, platform and day (the rollup, equal to
    the engine's, and the account days) with posts published; the account days with
    followers_gained; the post-day rows and latest snapshots that break a bound; the posts those
    name; every post's latest lifetime totals (``anomalies.post_lifetimes``).
    Returns (daily, followers, checks, posts, lifetimes) for ``anomalies._stacked`` and ``anomalies.scan``."""
    from . import rollups

    if not rollups.is_current(engine, campaign):
        rollups.refresh(engine, campaign, [])  # as rollups.query would: the pending imports' accounts
    owners = flag_owners(engine)
    daily, fol, lifetimes = series_inputs(engine, campaign, owners)
    checks, posts = impossible_inputs(engine, campaign)
    return daily, fol, checks, posts, lifetimes


def flag_owners(engine: sa.Engine) -> pd.DataFrame:
    """Every account as the anomaly series name it, indexed by account_pk: platform, influencer
    (``influencer_expr``), account (its label), has_post and posts (how many: the flags are
    computed a batch of accounts at a time, the batch bounded by their posts too)."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    n_posts = sa.select(sa.func.count()).where(p.c.account_pk == a.c.id).scalar_subquery()
    with engine.connect() as conn:
        owners = _rows(conn, sa.select(a.c.id, a.c.platform, influencer_expr(), _label(), n_posts)
                       .select_from(a.outerjoin(i, a.c.influencer_id == i.c.id)).order_by(a.c.id),
                       ["account_pk", "platform", "influencer", "account", "posts"])
    owners["posts"] = owners["posts"].astype("int64")
    owners["has_post"] = owners["posts"] > 0
    return owners.set_index("account_pk")


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


def series_inputs(engine: sa.Engine, campaign, owners: pd.DataFrame, accounts=None, followed=None):
    """The series of ``anomaly_inputs`` (daily, followers, lifetimes) for some accounts only:
    ``daily`` and ``lifetimes`` of ``accounts`` (whole influencer-platform series: every account of
    each), the followers of ``followed`` (default: the same accounts); every account when None.
    ``owners`` is ``flag_owners``."""
    from . import anomalies, metrics

    p, ad, r = schema.posts, schema.account_days, schema.daily_rollup
    # The series need views, impressions and the engagement metrics, nothing else of the rollup.
    wanted = anomalies.daily_metrics(campaign)
    summed = [m for m in wanted if m in r.c]
    own = [m for m in wanted if m in ad.c]
    followed = accounts if followed is None else followed

    def only(q, column, pks):
        return q if pks is None else q.where(column.in_(list(pks) or [-1]))

    with engine.connect() as conn:
        # Posts published per account and quarter hour, not one row per post: a million posts
        # held 220 MB here. Every timezone's offset is a whole number of quarter hours, so the
        # local day of a quarter hour is the local day of each post in it.
        quarter = _quarter_hour(p.c.published_at, engine.dialect.name)
        both = None if accounts is None or followed is None else sorted(set(accounts) | set(followed))
        pub = _rows(conn, only(sa.select(p.c.account_pk, quarter.label("quarter"), sa.func.count().label("n"))
                               .where(p.c.published_at.is_not(None)), p.c.account_pk, both)
                    .group_by(p.c.account_pk, quarter), ["account_pk", "published_at", "n"])
        fol = _rows(conn, only(sa.select(ad.c.account_pk, ad.c.day, ad.c.followers_gained)
                               .where(ad.c.followers_gained.is_not(None)), ad.c.account_pk, followed)
                    .order_by(ad.c.account_pk, ad.c.day), ["account_pk", "day", "followers_gained"])
        days = _rows(conn, only(sa.select(ad.c.account_pk, ad.c.day, *[ad.c[m] for m in own]), ad.c.account_pk,
                                accounts), ["account_pk", "day", *own])
        raw = _rows(conn, only(sa.select(r.c.account_pk, r.c.day, *[r.c[m] for m in summed], r.c.interpolated,
                                         r.c.corrected), r.c.account_pk, accounts),
                    ["account_pk", "day", *summed, "interpolated", "corrected"])
        snaps, posts = _lifetime_rows(conn, campaign, accounts)
    pub["day"] = metrics._local_day(pd.to_datetime(pub["published_at"], format="ISO8601").dt.tz_localize("UTC"),
                                    campaign.tz)
    pub = pub.groupby(["account_pk", "day"], as_index=False)["n"].sum()
    for f in (raw, days):
        f["day"] = pd.to_datetime(f["day"], format="ISO8601")
    raw["interpolated"] = raw["interpolated"].astype(bool)
    raw["corrected"] = raw["corrected"].astype(bool)
    daily = anomalies.daily_series(raw, days, owners, pub, campaign)
    fol["day"] = pd.to_datetime(fol["day"], format="ISO8601")
    followers = anomalies.follower_series(fol, owners, pub)
    return daily, followers, anomalies.post_lifetimes(snaps, posts, campaign)


def _lifetime_rows(conn, campaign, accounts=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What ``anomalies.post_lifetimes`` reads for the posts of ``accounts`` (every post when None):
    each post's latest snapshot, and every snapshot of the posts whose latest one has neither views
    nor impressions above 0 (a post that may have been deleted); and the posts, named."""
    from . import anomalies

    p, a, s = schema.posts, schema.accounts, schema.post_snapshots
    s2 = s.alias("s_later")
    latest = sa.select(sa.func.max(s2.c.captured_at)).where(s2.c.post_pk == p.c.id).correlate(p).scalar_subquery()
    kept = [*anomalies.BASIS, *[m for m in campaign.engagement if m in s.c and m not in anomalies.BASIS]]
    info = [p.c.post_id, p.c.account_pk, influencer_expr(), a.c.platform, _label(), p.c.published_at]
    info_cols = ["post_id", "account_pk", "influencer", "platform", "account", "published_at"]
    q = (sa.select(s.c.post_pk, s.c.captured_at, *[s.c[m] for m in kept], *info)
         .select_from(_from_posts().join(s, sa.and_(s.c.post_pk == p.c.id, s.c.captured_at == latest))))
    if accounts is not None:
        q = q.where(p.c.account_pk.in_(list(accounts) or [-1]))
    last = _rows(conn, q.order_by(s.c.post_pk), ["post_pk", "captured_at", *kept, *info_cols])
    for m in kept:
        last[m] = pd.to_numeric(last[m]).astype("float64")
    basis = last["views"].where(last["views"].notna(), last["impressions"])
    gone = last.loc[~(basis > 0).to_numpy(), "post_pk"].tolist()
    history = [last[~last["post_pk"].isin(gone)][["post_pk", "captured_at", *kept]]]
    for k in range(0, len(gone), 10_000):
        chunk = gone[k:k + 10_000]
        h = _rows(conn, sa.select(s.c.post_pk, s.c.captured_at, *[s.c[m] for m in kept])
                  .where(s.c.post_pk.in_(chunk)).order_by(s.c.post_pk, s.c.captured_at), ["post_pk", "captured_at", *kept])
        for m in kept:
            h[m] = pd.to_numeric(h[m]).astype("float64")
        history.append(h)
    snaps = pd.concat(history, ignore_index=True) if len(history) > 1 else history[0]
    snaps["captured_at"] = _times(snaps["captured_at"]).dt.tz_localize("UTC")
    posts = last[["post_pk", *info_cols]].copy()
    posts["published_at"] = _times(posts["published_at"]).dt.tz_localize("UTC")
    return snaps, posts


def impossible_inputs(engine: sa.Engine, campaign, accounts=None, post_range=None):
    """The checks of ``anomaly_inputs`` (post-day rows and latest snapshots that break a bound)
    and the posts they name (with their account_pk), for the posts of ``accounts`` (every account
    when None) whose id is within ``post_range`` (first, last) when given."""
    from collectors.model import METRICS

    from . import metrics

    p, a, s, d = schema.posts, schema.accounts, schema.post_snapshots, schema.post_days
    s2 = s.alias("s_later")
    latest = sa.select(sa.func.max(s2.c.captured_at)).where(s2.c.post_pk == p.c.id).correlate(p).scalar_subquery()
    info = [p.c.post_id, influencer_expr(), a.c.platform, _label(), p.c.account_pk]
    info_cols = ["post_id", "influencer", "platform", "account", "account_pk"]

    def only(q, post_pk):
        if accounts is not None:
            q = q.where(p.c.account_pk.in_(list(accounts) or [-1]))
        if post_range is not None:  # on the observations' own key too: a range of their primary key
            q = q.where(p.c.id.between(*post_range), post_pk.between(*post_range))
        return q

    with engine.connect() as conn:
        bad_days = _rows(conn, only(sa.select(d.c.post_pk, d.c.day, *[d.c[m] for m in METRICS], *info)
                                    .select_from(d.join(p, p.c.id == d.c.post_pk).join(a, p.c.account_pk == a.c.id)
                                                 .outerjoin(schema.influencers, a.c.influencer_id == schema.influencers.c.id))
                                    .where(_impossible_where(d, campaign.engagement)), d.c.post_pk)
                         .order_by(d.c.post_pk, d.c.day), ["post_pk", "day", *METRICS, *info_cols])
        bad_last = _rows(conn, only(sa.select(s.c.post_pk, s.c.captured_at, *[s.c[m] for m in METRICS], *info)
                                    .select_from(_from_posts().join(s, sa.and_(s.c.post_pk == p.c.id,
                                                                               s.c.captured_at == latest)))
                                    .where(_impossible_where(s, campaign.engagement)), s.c.post_pk)
                         .order_by(s.c.post_pk), ["post_pk", "captured_at", *METRICS, *info_cols])
    posts = pd.concat([bad_days[["post_pk", *info_cols]], bad_last[["post_pk", *info_cols]]]).drop_duplicates("post_pk")
    checks = []
    for f in (bad_days, bad_last):
        for m in METRICS:
            f[m] = pd.to_numeric(f[m]).astype("float64")
    if len(bad_days):
        bad_days["day"] = pd.to_datetime(bad_days["day"], format="ISO8601")
        checks.append(("daily", bad_days[["post_pk", "day", *METRICS]].assign(at=bad_days["day"])))
    if len(bad_last):
        at = pd.to_datetime(bad_last["captured_at"], format="ISO8601").dt.tz_localize("UTC")
        checks.append(("lifetime", bad_last[["post_pk", *METRICS]].assign(
            captured_at=at, day=metrics._local_day(at, campaign.tz), at=at)))
    return checks, posts


def _quarter_hour(t, dialect: str):
    """The quarter hour a stored UTC time falls in (its start), in SQL."""
    if dialect == "sqlite":  # stored as text: "2025-03-03 10:37:12[.000000]" -> "2025-03-03 10:30"
        minute = sa.cast(sa.func.substr(t, 15, 2), sa.Integer)
        return sa.func.substr(t, 1, 14).op("||")(sa.func.printf("%02d", minute / 15 * 15))
    return sa.func.date_trunc("hour", t) + sa.func.make_interval(
        0, 0, 0, 0, 0, sa.cast(sa.func.floor(sa.extract("minute", t) / 15) * 15, sa.Integer))


def rollup_sums(engine: sa.Engine, sel, by, columns) -> pd.DataFrame:
    """Sums of stored rollup ``columns`` (daily_rollup's own, ``emv_basis`` included: views, else
    impressions, per post and day) per ``by`` (platform and/or influencer) over the selection's
    days and filters; a sum over only unknown values stays unknown (NaN)."""
    by = list(by)
    keys = _keys(by)
    r, a, i = schema.daily_rollup, schema.accounts, schema.influencers
    q = (sa.select(*[keys[k].label(k) for k in by], *[sa.func.sum(r.c[c]).label(c) for c in columns])
         .select_from(r.join(a, a.c.id == r.c.account_pk).outerjoin(i, a.c.influencer_id == i.c.id))
         .where(*account_filters(sel)))
    if sel.start is not None:
        q = q.where(r.c.day >= sel.start)
    if sel.end is not None:
        q = q.where(r.c.day <= sel.end)
    if by:
        q = q.group_by(*[keys[k] for k in by])
    with engine.connect() as conn:
        df = pd.DataFrame([tuple(x) for x in conn.execute(q)], columns=by + list(columns))
    for c in columns:
        df[c] = pd.to_numeric(df[c]).astype("float64")
    return df


def accounts_of_influencers(engine: sa.Engine, sel, names) -> list[int]:
    """The accounts of these influencers (as the pages name them) that the selection's filters keep."""
    a, i = schema.accounts, schema.influencers
    q = (sa.select(a.c.id).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
         .where(influencer_expr().in_(list(names) or [""]), *account_filters(sel)))
    with engine.connect() as conn:
        return sorted(conn.execute(q).scalars().all())


def post_bounds(engine: sa.Engine, campaign, sel) -> pd.DataFrame:
    """The posts published in the selection's days and filters (``post_pk``), each with ``bound``:
    no running total of its views or impressions (metrics.views_basis of its platform: the
    summary's figure of a post) up to the end of the selection's last day can exceed it. Largest
    first: the candidates for a "top posts" list.

    The bound, of views on a platform counted by views, of impressions on one counted by
    impressions (0 on one with neither: its posts count nothing), is what metrics.increments can
    count by then: the positive daily values of the days up to the last day, plus the largest
    lifetime value of the snapshots that can count before its end (those captured before it and
    the first one at or after it: a snapshot's growth is spread over the days since the one
    before, running totals never exceed the largest value seen, later snapshots only take growth
    back), of those only the ones captured from the post's last daily row of that metric on when
    it has daily rows (the engine counts a snapshot's growth after the daily rows only; from that
    day's UTC midnight, which is never after the local one). A post observed at the end of the week
    is bounded by its value then: the summary's candidates are a handful of posts, not the
    thousands whose lifetime totals (twice counted where daily rows and snapshots both describe
    them) once were larger."""
    from . import metrics
    p, s, d = schema.posts, schema.post_snapshots, schema.post_days
    dialect = engine.dialect.name
    _, end = utc_bounds(campaign, None, sel.end)
    s3, d3 = s.alias("s_after"), d.alias("d_last")

    def positive(c):
        return sa.case((c > 0, c), else_=0)

    # Daily rows up to the day after the last: the sum counts those up to the last day, and the
    # last daily day that decides which snapshots count may be taken among these only (a daily row
    # after them would only make that day later: fewer snapshots counted, a bound no lower).
    days_upto = [] if sel.end is None else [d.c.day <= sel.end]
    days_read = [] if sel.end is None else [d.c.day <= sel.end + timedelta(days=1)]
    upto = sa.and_(*days_upto) if days_upto else sa.true()
    if dialect == "sqlite":
        # One probe of the primary keys per post and value (SQLite would scan a grouped subquery per post).
        snaps_upto = []
        if end is not None:
            # The first capture at or after the end, as text: any spelling of that second (with or
            # without microseconds) is taken, which can only raise the bound.
            first_after = (sa.select(sa.func.substr(sa.func.min(s3.c.captured_at), 1, 19).op("||")(".999999"))
                           .where(s3.c.post_pk == p.c.id, s3.c.captured_at >= time_bound(dialect, end))
                           .correlate(p).scalar_subquery())
            snaps_upto = [sa.or_(s.c.captured_at < time_bound(dialect, end), s.c.captured_at <= first_after)]

        def last_daily(m):
            return (sa.select(sa.func.max(d3.c.day))
                    .where(d3.c.post_pk == p.c.id, d3.c[m].is_not(None),
                           *([] if sel.end is None else [d3.c.day <= sel.end + timedelta(days=1)]))
                    .correlate(p).scalar_subquery())

        def snap(m):
            last = last_daily(m)
            return (sa.select(sa.func.max(positive(s.c[m])))
                    .where(s.c.post_pk == p.c.id, *snaps_upto, sa.or_(last.is_(None), s.c.captured_at >= last))
                    .correlate(p).scalar_subquery())

        def day(m):
            return (sa.select(sa.func.sum(positive(d.c[m]))).where(d.c.post_pk == p.c.id, *days_upto)
                    .correlate(p).scalar_subquery())

        joined = _from_posts()
    else:
        # Per post, through the primary keys (LATERAL): the week's posts' daily rows are a few
        # percent of the table, and grouping them by hash read all of it, twice (the daily part
        # is used by the snapshots' too): 2.2 s at 100x the demo, 0.3 s by key.
        dg = (sa.select(*[sa.func.sum(sa.case((upto, positive(d.c[m])), else_=0)).label(f"d_{m}")
                          for m in ("views", "impressions")],
                        *[sa.func.max(sa.case((d.c[m].is_not(None), d.c.day))).label(f"last_{m}")
                          for m in ("views", "impressions")])
              .where(d.c.post_pk == p.c.id, *days_read).lateral("dg"))
        snaps_upto = []
        joined = _from_posts().outerjoin(dg, sa.true())
        if end is not None:
            fa = (sa.select(sa.func.min(s3.c.captured_at).label("at"))
                  .where(s3.c.post_pk == p.c.id, s3.c.captured_at >= end).lateral("fa"))
            joined = joined.outerjoin(fa, sa.true())
            snaps_upto = [sa.or_(s.c.captured_at < end, s.c.captured_at <= fa.c.at)]

        def counted(m):
            last = dg.c[f"last_{m}"]
            return sa.case((sa.or_(last.is_(None), s.c.captured_at >= last), positive(s.c[m])), else_=0)

        sg = (sa.select(*[sa.func.max(counted(m)).label(f"s_{m}") for m in ("views", "impressions")])
              .where(s.c.post_pk == p.c.id, *snaps_upto).lateral("sg"))
        joined = joined.outerjoin(sg, sa.true())

        def snap(m):
            return sg.c[f"s_{m}"]

        def day(m):
            return dg.c[f"d_{m}"]

    views = sa.func.coalesce(snap("views"), 0) + sa.func.coalesce(day("views"), 0)
    impressions = sa.func.coalesce(snap("impressions"), 0) + sa.func.coalesce(day("impressions"), 0)
    from collectors import registry

    known = sorted(registry.platform_metrics())
    by_views = [pl for pl in known if metrics.views_basis(pl) == "views"]
    by_impressions = [pl for pl in known if metrics.views_basis(pl) == "impressions"]
    bound = sa.case((p.c.platform.in_(by_views), views), (p.c.platform.in_(by_impressions), impressions),
                    else_=sa.literal(0)).label("bound")
    q = sa.select(p.c.id, bound).select_from(joined).where(*account_filters(sel))
    q = _published_in(q, campaign, sel.start, sel.end, dialect)
    with engine.connect() as conn:
        if dialect == "postgresql" and (conn.dialect.server_version_info or (0,)) >= (11,):
            # The planner prices the probes per post far above their cost (39 daily rows each where
            # a week's posts have 7), so it would compile the statement first: 0.26 s of JIT for
            # 0.24 s of work at 100x the demo. For this transaction only (PostgreSQL 11 has JIT).
            conn.exec_driver_sql("SET LOCAL jit = off")
        df = _rows(conn, q, ["post_pk", "bound"])
    df["bound"] = pd.to_numeric(df["bound"]).astype("float64")
    return df.sort_values(["bound", "post_pk"], ascending=[False, True], kind="stable").reset_index(drop=True)


def frames_of_posts(engine: sa.Engine, post_pks) -> Frames:
    """``load_frames``' posts, snapshots and daily rows of these posts only (no account rows):
    enough for the engine's increments of a handful of posts."""
    from collectors.model import METRICS

    p, a, s, d = schema.posts, schema.accounts, schema.post_snapshots, schema.post_days
    pks = sorted(int(x) for x in post_pks) or [-1]
    with engine.connect() as conn:
        posts = _rows(conn, sa.select(p.c.id, p.c.platform, p.c.post_id, _label(), a.c.id, influencer_expr(),
                                      category_expr(), p.c.published_at, p.c.url, p.c.title, p.c.post_type)
                      .select_from(_from_posts()).where(p.c.id.in_(pks)),
                      ["post_pk", "platform", "post_id", "account", "account_pk", "influencer", "category",
                       "published_at", "url", "title", "post_type"])
        snaps = _rows(conn, sa.select(s.c.post_pk, p.c.platform, p.c.published_at, s.c.captured_at,
                                      *[s.c[m] for m in METRICS]).join(p, p.c.id == s.c.post_pk)
                      .where(s.c.post_pk.in_(pks)), ["post_pk", "platform", "published_at", "captured_at", *METRICS])
        days = _rows(conn, sa.select(d.c.post_pk, d.c.day, *[d.c[m] for m in METRICS]).where(d.c.post_pk.in_(pks)),
                     ["post_pk", "day", *METRICS])
    posts["published_at"] = pd.to_datetime(posts["published_at"], format="ISO8601").dt.tz_localize("UTC")
    snaps["published_at"] = pd.to_datetime(snaps["published_at"], format="ISO8601").dt.tz_localize("UTC")
    snaps["captured_at"] = pd.to_datetime(snaps["captured_at"], format="ISO8601").dt.tz_localize("UTC")
    days["day"] = pd.to_datetime(days["day"], format="ISO8601")
    for f in (snaps, days):
        for m in METRICS:
            f[m] = pd.to_numeric(f[m]).astype("float64")
    return Frames(posts, snaps, days, pd.DataFrame(columns=["platform", "account", "account_pk", "day", *METRICS,
                                                            "followers"]))


def stored_days(engine: sa.Engine) -> tuple[date | None, date | None]:
    """The first and last day of the stored daily rollup (None, None when nothing is stored): what
    an empty view says when the campaign's dates hold nothing and the data lie elsewhere."""
    r = schema.daily_rollup
    with engine.connect() as conn:
        first, last = conn.execute(sa.select(sa.func.min(r.c.day), sa.func.max(r.c.day))).one()
    return _as_date(first), _as_date(last)


def _as_date(v) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])

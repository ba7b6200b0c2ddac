"""The exports' statements (dashboard/analysis/exports.py, docs/exports.md): the posts export's
(one row per post, its latest lifetime snapshot or the sum of its daily rows, in export order) and
the account-days', the selection's filters on them, the influencers export's narrow reads, and the
posts export's CSV lines built by the database itself (SQLite and PostgreSQL). The exports stream:
``stream`` reads one statement through a server-side cursor, a batch at a time."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache

import numpy as np
import pandas as pd
import sqlalchemy as sa

from collectors.model import METRICS
from collectors.store import schema

from .parts import account_filters, category_expr, influencer_expr, published_in as published_between

# Reach counts unique people: a sum of daily reach over days is not the post's reach, so a
# post known only from daily rows gets no reach figure rather than a wrong one.
NOT_SUMMED_OVER_DAYS = {"reach"}


def account_column():
    """The account as the exports name it (handle, else name, else key), as their ``account`` column."""
    a = schema.accounts.c
    return sa.func.coalesce(a.handle, a.name, a.account_key).label("account")


def posts_select(account_pks: list[int] | None = None, post_pks: list[int] | None = None,
                 lateral: bool = False) -> sa.Select:
    """The posts export's statement: one row per post (``POST_COLUMNS``), its latest lifetime
    snapshot or the sum of its daily rows, in export order; only the posts of these accounts when
    ``account_pks`` is given (one influencer's panel), only these posts with ``post_pks`` (a block
    of the Posts page). The selection's filters are added by ``where_selection``.
    The latest snapshot is the post's row of ``post_latest`` (schema 9), joined on its key: no
    probe of post_snapshots per post (issue 11: 4.2 s of PostgreSQL's CPU per 1 M posts).
    ``lateral`` (PostgreSQL only) sums a post's daily rows by a LATERAL probe taken only for a post
    without a snapshot, where the grouped subquery would sum every daily row of the campaign."""
    p, a, i = schema.posts, schema.accounts, schema.influencers
    s, d = schema.post_latest, schema.post_days

    def only(q, post_pk):
        # Also inside the subquery, so one influencer's posts never group the whole table.
        if post_pks is not None:
            q = q.where(post_pk.in_(post_pks))
        return q if account_pks is None else q.where(
            post_pk.in_(sa.select(p.c.id).where(p.c.account_pk.in_(account_pks))))

    summed = [m for m in METRICS if m not in NOT_SUMMED_OVER_DAYS]
    with_latest = p.join(a, p.c.account_pk == a.c.id).outerjoin(i, a.c.influencer_id == i.c.id) \
        .outerjoin(s, s.c.post_pk == p.c.id)
    if lateral:
        # Asked only for a post without a snapshot (its daily rows are not shown otherwise): the
        # condition on the snapshot's row is a gate PostgreSQL checks before probing post_days.
        daily = (sa.select(*[sa.func.sum(d.c[m]).label(m) for m in summed])
                 .where(d.c.post_pk == p.c.id, s.c.post_pk.is_(None)).lateral("daily"))
        joined = with_latest.outerjoin(daily, sa.true())
    else:
        daily = (only(sa.select(d.c.post_pk, *[sa.func.sum(d.c[m]).label(m) for m in summed]), d.c.post_pk)
                 .group_by(d.c.post_pk).subquery())
        joined = with_latest.outerjoin(daily, daily.c.post_pk == p.c.id)
    cols = []
    for m in METRICS:
        if m in NOT_SUMMED_OVER_DAYS:
            cols.append(s.c[m].label(m))
        else:
            cols.append(sa.case((s.c.post_pk.is_not(None), s.c[m]), else_=daily.c[m]).label(m))
    q = (sa.select(p.c.platform, p.c.post_id, account_column(), i.c.name.label("influencer"),
                   p.c.published_at, p.c.url, p.c.title, *cols)
         .select_from(joined)
         .order_by(p.c.platform, p.c.published_at, p.c.post_id))
    if account_pks is not None:
        q = q.where(p.c.account_pk.in_(account_pks))
    if post_pks is not None:
        q = q.where(p.c.id.in_(post_pks))
    return q


def account_days_select() -> sa.Select:
    a, ad = schema.accounts, schema.account_days
    return (sa.select(a.c.platform, account_column(), ad.c.day.label("date"), *[ad.c[m] for m in METRICS])
            .select_from(ad.join(a, ad.c.account_pk == a.c.id))
            .order_by(a.c.platform, sa.text("account"), ad.c.day))


@lru_cache(maxsize=256)
def _utc_ranges(start, end, tzname: str) -> tuple:
    """The instants whose day in the timezone ``tzname`` lies in [start, end] (either may be
    None), as half-open ranges of naive UTC times like the stored ``published_at`` (None:
    unbounded). Usually one range, from the first local midnight of ``start`` to that of the day
    after ``end``. Near those midnights a daylight-saving change can make the local day step back
    (Brazil's clocks went from 00:00 back to 23:00), so there each minute is looked at, as
    ``filter_posts`` would see it: an offset changes on whole minutes, and so does the local day."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tzname)

    def midnight(day):  # fold=0: the first of a repeated midnight; a skipped one is the change itself
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc).replace(tzinfo=None)

    def inside(u):
        d = u.replace(tzinfo=timezone.utc).astimezone(tz).date()
        return (start is None or d >= start) and (end is None or d <= end)

    edges = sorted(e for e in (midnight(start) if start else None,
                               midnight(end + timedelta(days=1)) if end else None) if e is not None)
    zones: list[list[datetime]] = []
    for e in edges:  # two days either side: more than any offset or change of offset
        z0, z1 = e.replace(second=0, microsecond=0) - timedelta(days=2), e + timedelta(days=2)
        if zones and z0 <= zones[-1][1]:
            zones[-1][1] = z1
        else:
            zones.append([z0, z1])
    ranges, state, begin = [], start is None, None  # before every zone: inside only without a start
    minute = timedelta(minutes=1)
    for z0, z1 in zones:
        u = z0
        while u < z1:
            now = inside(u)
            if now != state:
                if now:
                    begin = u
                else:
                    ranges.append((begin, u))
                state = now
            u += minute
    if state:
        ranges.append((begin, None))
    return tuple(ranges)


class _Instant(sa.types.TypeDecorator):
    """A UTC time bound compared with a stored ``published_at``. SQLite keeps times as text, some
    rows with microseconds ("2024-12-31 16:00:00.000000", written through SQLAlchemy) and some
    without ("2024-12-31 16:00:00", an update of a known post through an untyped parameter, which
    sqlite3's own datetime adapter writes): a bound on a whole second
    written without them sorts right against both, where one with ".000000" would sort after a
    stored "16:00:00" of the same instant."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.String() if dialect.name == "sqlite" else sa.DateTime())

    def process_bind_param(self, value, dialect):
        if dialect.name == "sqlite" and value is not None:
            assert not value.microsecond  # the bounds are local midnights: whole minutes
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return value


def published_in(column, campaign, sel) -> sa.ColumnElement | None:
    """SQL for "published on a day of the selection, in the campaign timezone" (None: no dates)."""
    if sel is None or (not sel.start and not sel.end):
        return None
    ranges = _utc_ranges(sel.start or None, sel.end or None, campaign.timezone)
    if not ranges:
        return sa.false()
    def at(t):
        return sa.bindparam(None, t, type_=_Instant())

    return sa.or_(*[sa.and_(*([column >= at(a)] if a else []), *([column < at(b)] if b else [])) for a, b in ranges])


def where_selection(q: sa.Select, campaign, sel) -> sa.Select:
    """``q`` (``posts_select``) narrowed as ``filter_posts`` narrows the frame: platforms,
    influencers and categories as the pages and the daily rows name them (``parts.account_filters``)
    and publish days."""
    if sel is None:
        return q
    p = schema.posts
    if sel.platforms:  # the post's platform (its account's), which leads the export's index
        q = q.where(p.c.platform.in_(list(sel.platforms)))
    if sel.influencers:
        q = q.where(influencer_expr().in_(list(sel.influencers)))
    if sel.categories:
        q = q.where(category_expr().in_(list(sel.categories)))
    days = published_in(p.c.published_at, campaign, sel)
    return q if days is None else q.where(days)


def _sum_sql(terms):
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


# The database builds most of each line itself (SQLite, and PostgreSQL since issue 11's last step:
# 7.9 s for 205,233 posts there, half of it Python formatting cells). Turning 17 columns of a million rows into Python
# objects and back into text costs more than the query (issue 11: 2.3 s of CPU per 100,000 posts,
# 1.1 s of it in the driver); with the text cells, the integers and the commas joined in SQL the
# driver hands over five strings per row. The cells follow the csv module's rules, which pandas'
# to_csv uses: a cell is quoted when it holds a comma, a double quote, CR or LF, and its quotes are
# doubled. Times and the one float column are formatted here, where Python's and numpy's rules live.

def _sql_text(x, pg: bool = False):
    """The CSV cell of a text value, neutralised like ``neutralise`` and quoted like csv.writer."""
    from ..exports import FORMULA_START

    n = sa.case((sa.func.substr(x, 1, 1).in_(list(FORMULA_START)), sa.literal("'").op("||")(x)), else_=x)
    # The leading apostrophe never decides the quoting: look at the value itself, evaluated once less.
    find = sa.func.strpos if pg else sa.func.instr  # the same question: where the character first is (0: nowhere)
    quote = sa.or_(*[find(x, ch) > 0 for ch in (",", '"', "\n", "\r")])
    cell = sa.case((quote, sa.literal('"').op("||")(sa.func.replace(n, '"', '""')).op("||")('"')), else_=n)
    return sa.func.coalesce(cell, "")


def _sql_int(x):
    return sa.func.coalesce(sa.cast(x, sa.Text), "")


def _sql_join(*cells):
    out = cells[0]
    for c in cells[1:]:
        out = out.op("||")(c)
    return out


# Times are written in the campaign's timezone (issue 12). SQLite moves each stored UTC time by its
# offset itself (strftime with a "+28800 seconds" modifier costs what the old text rewrite did),
# the offset found by a balanced CASE over the zone's changes of offset between the earliest and
# the latest stored time: none for most campaigns, a handful of comparisons per row for years of
# summer times. Python's rules stay the reference: a time outside those bounds (or the years
# spanned), or stored in another shape, is left to Python (``_fill_lines``).
SQL_TIME_YEARS = (1970, 2100)


@lru_cache(maxsize=16)
def _offset_spans(tzname: str) -> tuple:
    """The zone's UTC offsets over ``SQL_TIME_YEARS``: ((first UTC instant, naive; None for the
    first span), offset in seconds), in order. The hours where the offset changes are found at
    once by pandas, then each change is bisected to its second (zones change at whole minutes,
    never twice in an hour); a few milliseconds, once per zone and process."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tzname)

    def offset(u: datetime) -> int:
        return int(u.replace(tzinfo=timezone.utc).astimezone(tz).utcoffset().total_seconds())

    hours = pd.date_range(f"{SQL_TIME_YEARS[0]}-01-01", f"{SQL_TIME_YEARS[1]}-01-01", freq="h", unit="s")
    local = hours.tz_localize("UTC").tz_convert(tz).tz_localize(None)
    offsets = (local - hours).total_seconds().astype("int64")
    spans = [(None, int(offsets[0]))]
    for k in np.flatnonzero(np.diff(offsets)) + 1:
        lo, hi = hours[k - 1].to_pydatetime(), hours[k].to_pydatetime()  # offset(lo) the old one, offset(hi) the new
        while hi - lo > timedelta(seconds=1):
            mid = (lo + (hi - lo) / 2).replace(microsecond=0)
            lo, hi = (mid, hi) if offset(mid) == spans[-1][1] else (lo, mid)
        spans.append((hi, int(offsets[k])))
    return tuple(spans)


def _offset_text(seconds: int) -> str:
    """An offset as ``datetime.isoformat`` writes it: +08:00, -03:30, +00:00 (+HH:MM:SS with seconds)."""
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    hh, rest = divmod(seconds, 3600)
    mm, ss = divmod(rest, 60)
    return f"{sign}{hh:02d}:{mm:02d}" + (f":{ss:02d}" if ss else "")


def _sql_local_time(stored, tzname: str, lo: datetime, hi: datetime, pg: bool = False):
    """SQL for a stored time (naive UTC) between ``lo`` and ``hi`` as ``isoformat`` writes it in
    ``tzname``: "2025-03-03T18:30:00+08:00", microseconds only when there are some. SQLite's stored
    shape is SQLAlchemy's text ("2025-03-03 10:30:00.000000"): only whole seconds go through
    strftime, since SQLite rounds a time to milliseconds, which would turn 10:30:59.9999 into
    10:31:00; the fraction is copied as stored. PostgreSQL's is a timestamp, moved by the offset as
    an interval and written by to_char. Either way the offset comes from Python's zone rules
    (``_offset_spans``), never the server's copy of the zone database, which may be older."""
    every = _offset_spans(tzname)
    first = max(k for k, (t, _) in enumerate(every) if t is None or t <= lo)  # the span holding lo
    spans = [(None, every[first][1])] + [x for x in every[first + 1:] if x[0] <= hi]

    def tree(part, leaf):  # a balanced CASE: log2(spans) comparisons per row
        if len(part) == 1:
            return leaf(part[0][1])
        mid = len(part) // 2
        start = (sa.literal(part[mid][0], sa.DateTime) if pg  # text compares like the _Instant bounds
                 else sa.literal(part[mid][0].strftime("%Y-%m-%d %H:%M:%S")))
        return sa.case((stored >= start, tree(part[mid:], leaf)), else_=tree(part[:mid], leaf))

    offset = tree(spans, lambda o: sa.literal(_offset_text(o)))
    if pg:
        local = stored + sa.func.make_interval(0, 0, 0, 0, 0, 0, tree(spans, lambda o: sa.literal(o)))
        fraction = sa.case((sa.func.date_trunc("second", stored) == stored, ""), else_=sa.func.to_char(stored, ".US"))
        return _sql_join(sa.func.to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS'), fraction, offset)
    modifier = tree(spans, lambda o: sa.literal(f"{o:+d} seconds"))
    fraction = sa.case((sa.func.substr(stored, 20) == ".000000", ""), else_=sa.func.substr(stored, 20))
    return _sql_join(sa.func.strftime("%Y-%m-%dT%H:%M:%S", sa.func.substr(stored, 1, 19), modifier),
                     fraction, offset)


_TIME_SHAPE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?")


def stored_time_bounds(conn) -> tuple | None:
    """The earliest and latest publish times as the database stores them (SQLite: text;
    PostgreSQL: naive datetimes), None without any."""
    p = schema.posts
    col = p.c.published_at if conn.dialect.name == "postgresql" else sa.type_coerce(p.c.published_at, sa.String)
    lo, hi = conn.execute(sa.select(sa.func.min(col), sa.func.max(col))).one()
    return None if lo is None else (lo, hi)


def post_lines(stmt: sa.Select, tzname: str, bounds: tuple | None, pg: bool = False) -> sa.Select:
    """``stmt`` (``posts_select`` and its filters) giving each row as (its CSV line, with the
    watch time's cell empty and, for a time in another shape or outside ``bounds`` (the stored
    times' as they were when asked, ``stored_time_bounds``) or ``SQL_TIME_YEARS``, the time's
    cell too; where that time's cell starts; that time as stored; the watch time): ``_fill_lines``
    finishes them. ``pg``: the statement is for PostgreSQL (its string functions and timestamps)."""
    c = stmt.selected_columns
    comma = sa.literal(",")
    a, i = schema.accounts, schema.influencers

    def text(x):
        return _sql_text(x, pg)

    # An account's two cells (account, influencer) are the same for each of its posts: built once
    # per account in a materialised CTE rather than per post (1.2 s of 7 per 1 M posts).
    cells = (sa.select(a.c.id.label("account_pk"),
                       _sql_join(text(account_column().element), comma, text(i.c.name), comma).label("cells"))
             .select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
             .cte("account_cells").prefix_with("MATERIALIZED"))
    on_cells = cells.c.account_pk == schema.posts.c.account_pk
    account_cells = cells.c.cells
    if pg:
        # PostgreSQL sorts what it carries: the lines carried through the sort cost 2 s of its 6.6 s
        # of CPU per 1 M posts. So the values are sorted, then the lines built from them, ordered
        # again by the same keys outside, which the planner knows the subquery gives (no second sort).
        inner = stmt.add_columns(cells.c.cells).join(cells, on_cells).subquery("sorted")
        c, account_cells = inner.c, inner.c.cells
    # The platform is a registered code ("x", "youtube"), never text from a file: no cell rules needed.
    head = _sql_join(c.platform, comma, text(c.post_id), comma, account_cells)
    from ..exports import POST_COLUMNS

    metrics = POST_COLUMNS[7:]
    wt = metrics.index("watch_time_s")
    mid = _sql_join(comma, text(c.url), comma, text(c.title), comma,
                    *[x for m in metrics[:wt] for x in (_sql_int(c[m]), comma)])
    tail = _sql_join(*[x for m in metrics[wt + 1:] for x in (comma, _sql_int(c[m]))]) if metrics[wt + 1:] else sa.literal("")
    # The whole line is built here: joining pieces per row in Python cost as much as the database's
    # work on them. Two cells are left empty for Python to fill in the rows that need it: a watch time
    # (numpy's rounding and Python's float repr live there), and a time not in the shape SQLAlchemy
    # stores ("2025-03-03 10:30:00.000000", SQLite) or outside the years whose offsets the SQL
    # knows; for those rows the database also says where the time goes.
    # A post stored since the bounds were read is outside them: Python writes it, never a wrong offset.
    if pg:
        stored = c.published_at
        lo = max(bounds[0], datetime(SQL_TIME_YEARS[0], 1, 1)) if bounds else None
        hi = min(bounds[1], datetime(SQL_TIME_YEARS[1] - 1, 12, 31, 23, 59, 59, 999999)) if bounds else None
        fits = lo is not None and lo <= hi
        usual = sa.and_(stored >= sa.literal(lo, sa.DateTime), stored <= sa.literal(hi, sa.DateTime)) if fits else None
        first, last = lo, hi
    else:
        stored = sa.type_coerce(c.published_at, sa.String)
        lo = max(bounds[0], f"{SQL_TIME_YEARS[0]}-01-01 00:00:00") if bounds else None
        hi = min(bounds[1], f"{SQL_TIME_YEARS[1] - 1}-12-31 23:59:59.999999") if bounds else None
        fits = lo is not None and lo <= hi and all(_TIME_SHAPE.fullmatch(x) for x in (lo, hi))
        usual = sa.and_(sa.func.length(stored) == 26, stored >= sa.literal(lo), stored <= sa.literal(hi)) if fits else None
        first, last = (datetime.fromisoformat(x[:19]) for x in (lo, hi)) if fits else (None, None)
    if fits:
        iso = sa.case((usual, _sql_local_time(stored, tzname, first, last, pg)), else_="")
    else:  # no posts, or bounds in a shape SQLite's text compare cannot be trusted with: all in Python
        usual, iso = sa.false(), sa.literal("")
    odd = sa.and_(stored.is_not(None), sa.not_(usual))
    line = _sql_join(head, iso, mid, tail)
    out = (line.label("line"), sa.case((odd, sa.func.length(head))).label("time_at"),
           sa.case((odd, stored)).label("published_at"), c.watch_time_s)
    if pg:
        return sa.select(*out).select_from(inner).order_by(c.platform, c.published_at, c.post_id)
    return stmt.with_only_columns(*out, maintain_column_froms=True).join(cells, on_cells)


def iso_times(values, dialect, tz) -> list[str]:
    """Stored UTC times as the frame's timestamps print in the timezone ``tz``:
    "2025-03-03T18:30:00+08:00", with microseconds only when there are some. SQLite hands over
    its text ("2025-03-03 10:30:00" or another shape), read as SQLAlchemy reads it. Only the rows
    the SQL could not write come here: a few, one by one."""
    parse = dialect.type_descriptor(sa.DateTime()).result_processor(dialect, None)
    out = []
    for v in values:
        if isinstance(v, str) and parse is not None:
            v = parse(v)
        out.append("" if v is None else v.replace(tzinfo=timezone.utc).astimezone(tz).isoformat())
    return out


# --- reads -------------------------------------------------------------------------------------------

def post_rows(conn, account_pks: list[int] | None = None) -> list:
    """The posts export's rows (``posts_select``), by column name; only these accounts' posts when given."""
    return conn.execute(posts_select(account_pks)).mappings().all()


def account_day_rows(conn) -> list:
    """The account-days export's rows (``account_days_select``), by column name."""
    return conn.execute(account_days_select()).mappings().all()


def roster_categories(conn) -> list:
    """(name, category) of every influencer of the roster."""
    i = schema.influencers
    return conn.execute(sa.select(i.c.name, i.c.category)).all()


def selected_accounts(engine: sa.Engine, sel) -> list[int] | None:
    """The accounts the selection's platforms, influencers and categories name; None without such
    filters (then nothing is read)."""
    where = account_filters(sel)
    if not where:
        return None
    a, i = schema.accounts, schema.influencers
    with engine.connect() as conn:
        return conn.execute(sa.select(a.c.id).select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))
                            .where(*where)).scalars().all()


def reach_by_influencer(engine: sa.Engine, campaign, sel) -> list[tuple]:
    """Per influencer (as the pages name them): ``posts.reach_range``'s figures (each post published in
    the selection by its latest snapshot before the selection's end, when it has a reach: largest,
    sum, count) with the sum of those posts' engagements (unknown for a post that reports none) and
    the mean of each post's engagements over its reach."""
    from .posts import latest_before

    dialect = engine.dialect.name
    joined, s = latest_before(campaign, sel, dialect)
    # A post's engagements: the sum of the metrics it reports, unknown when it reports none.
    known = [s.c[m] for m in campaign.engagement]
    eng = sa.case((sa.or_(*[c.is_not(None) for c in known]),
                   sa.cast(_sum_sql([sa.func.coalesce(c, 0) for c in known]), sa.Float)), else_=None) \
        if known else sa.null()
    reach = sa.cast(s.c.reach, sa.Float)
    post_er = sa.case((s.c.reach > 0, eng / reach), else_=None)
    who = influencer_expr()
    q = (sa.select(who.label("influencer"), sa.func.max(s.c.reach), sa.func.sum(s.c.reach), sa.func.count(s.c.reach),
                   sa.func.sum(eng), sa.func.avg(post_er))
         .select_from(joined).where(s.c.reach.is_not(None)))
    q = published_between(q, campaign, sel.start, sel.end, dialect).where(*account_filters(sel))
    q = q.group_by(who)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q)]


def influencer_accounts(conn, sel) -> list[tuple]:
    """The accounts the selection's filters keep: (account_pk, platform, influencer, category, has a
    post, followers: the latest account-day level on or before the selection's end, else the roster's)."""
    a, i, ad, p = schema.accounts, schema.influencers, schema.account_days, schema.posts
    level = sa.select(ad.c.followers).where(ad.c.account_pk == a.c.id, ad.c.followers.is_not(None))
    if sel.end is not None:
        level = level.where(ad.c.day <= sel.end)
    level = level.order_by(ad.c.day.desc()).limit(1).correlate(a).scalar_subquery()
    return [tuple(x) for x in conn.execute(
        sa.select(a.c.id, a.c.platform, influencer_expr(), category_expr(),
                  sa.exists().where(p.c.account_pk == a.c.id), sa.func.coalesce(level, a.c.followers))
        .select_from(a.outerjoin(i, a.c.influencer_id == i.c.id)).where(*account_filters(sel)))]


def engagement_per_account(conn, campaign, sel, account_pks: list[int]) -> list[tuple]:
    """(account_pk, the rollup's sum of each engagement metric) of these accounts over the selection's days."""
    r = schema.daily_rollup
    q = (sa.select(r.c.account_pk, *[sa.func.sum(r.c[m]) for m in campaign.engagement])
         .where(r.c.account_pk.in_(account_pks or [-1])).group_by(r.c.account_pk))
    if sel.start is not None:
        q = q.where(r.c.day >= sel.start)
    if sel.end is not None:
        q = q.where(r.c.day <= sel.end)
    return [tuple(x) for x in conn.execute(q)]


def stream(conn, stmt: sa.Select, batch: int):
    """The rows of ``stmt`` as lists of at most ``batch`` rows, read through one server-side cursor
    (``stream_results``): memory holds one batch however many rows there are."""
    result = conn.execute(stmt, execution_options=dict(stream_results=True, yield_per=batch))
    yield from result.partitions(batch)


def stream_plain(conn, stmt: sa.Select, batch: int):
    """PostgreSQL: the rows of ``stmt`` as lists of at most ``batch`` plain tuples, fetched from the
    server-side cursor by the driver itself. SQLAlchemy's result (a Row per row, its buffer) cost 2
    of the 3.3 s of the client's CPU per 1 M posts (issue 11) where the driver's own fetch costs
    1.2 s. The statement still goes through SQLAlchemy's execute (its events, its parameters);
    only the rows are read past it. The columns are text, numbers and times, which psycopg hands
    over as SQLAlchemy would."""
    result = conn.execute(stmt, execution_options=dict(stream_results=True))
    try:
        # SQLAlchemy has read the first row(s) into its buffer at execute: those come first. Should
        # a later SQLAlchemy keep them elsewhere, its own (slower) way is taken, never a row lost.
        buffered = getattr(result.cursor_strategy, "_rowbuffer", None)
        if buffered is None:
            yield from result.partitions(batch)
            return
        first = [tuple(r) for r in buffered]
        buffered.clear()
        rows = first + (result.cursor.fetchmany(batch - len(first)) if len(first) < batch else [])
        while rows:
            yield rows
            rows = result.cursor.fetchmany(batch)
    finally:
        result.close()


def plan_for_every_row(conn) -> None:
    """PostgreSQL: plan this transaction's cursors for all their rows, not the first 10% (the default
    cursor_tuple_fraction), as an export reads every row. And without JIT: planned for every row,
    the statement's cost passes jit_above_cost, and the server compiles each node's expressions
    before the first row; with post_days partitioned by month (`reach doctor --partition-by-month`) the LATERAL daily probe
    has a node per month, and the compiling took 1.1 s of a 13,000-post export that runs in 0.1 s
    (bench/pg_scale.py, docs/scaling.md). The probes are index lookups: nothing there to compile."""
    conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
    conn.exec_driver_sql("SET LOCAL jit = off")


def count(conn, stmt: sa.Select) -> int:
    """How many rows ``stmt`` gives (its order left out)."""
    return conn.execute(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()


def posts_in_export_order(conn, sel, keys: list[str], campaign=None):
    """The post_pks of the selection's accounts in the order of a daily or weekly export grouped
    by post (``keys``: ``exports.by_columns``, the post's platform id for ``post``), as a result to
    fetch from: Python's string order (code points) whatever the database's collation, then the
    post's key. The export computes a run of posts at a time in this order and writes it.

    With the selection's days (and ``campaign``, for their midnights), only the posts that can have
    an increment in them: one observed since the first day began (an increment is spread back from
    its snapshot, never forward; a daily row of that day or later), and whose first increment (its
    publication, or its first capture, or its first daily row) is not after the last day. Each test
    is a probe of a primary key per post."""
    from .parts import account_label, posts_joined, utc_bounds

    p, s, d = schema.posts, schema.post_snapshots, schema.post_days
    where = list(account_filters(sel))
    if campaign is not None and (sel.start is not None or sel.end is not None):
        first, after = utc_bounds(campaign, sel.start, sel.end)
        if first is not None:
            where.append(sa.or_(sa.exists().where(s.c.post_pk == p.c.id, s.c.captured_at >= first),
                                sa.exists().where(d.c.post_pk == p.c.id, d.c.day >= sel.start)))
        if after is not None:
            where.append(sa.or_(p.c.published_at.is_(None), p.c.published_at < after,
                                sa.exists().where(s.c.post_pk == p.c.id, s.c.captured_at < after),
                                sa.exists().where(d.c.post_pk == p.c.id, d.c.day <= sel.end)))
    exprs = {"influencer": influencer_expr(), "category": category_expr(), "account": account_label(),
             "platform": p.c.platform, "post": p.c.post_id}
    order = [exprs[k] for k in keys]
    if conn.dialect.name != "sqlite":  # SQLite's BINARY order of UTF-8 is Python's already
        order = [o.collate("C") for o in order]
    q = sa.select(p.c.id).select_from(posts_joined()).where(*where).order_by(*order, p.c.id)
    return conn.execute(q, execution_options=dict(stream_results=True))


"""The Weekly page's default reports, computed at the end of a rollup refresh and kept in a table,
so the manager's first view after an import (Monday, after the weekend's files) and `reach summary`
read one row instead of building the summary (the rollup, narrow SQL, the engine on the top posts'
observations: seconds in a big campaign).

What is stored: for the page without filters, the summary of the latest complete week and of the
week before it (the one a manager compares with), in English; another language is the same
summary with its narrative written in that language, as ``summary.build_summary_db`` writes it.
A summary depends on the day it is built only through its last covered day (``metrics._coverage``:
the campaign's end, the latest data, yesterday), so each row is kept under that day, and the
refresh stores the rows for today and for tomorrow: an import on Sunday still serves Monday's page.

Like dashboard/analysis/flag_store.py, the rows are stamped with what they were computed from
(``flag_store.stamp``: data version, campaign settings, code); the page uses them only when the
stamp is the one it would compute now, else it builds the summary as before (and the shared cache
keeps it). The rows are JSON, not pickles: reading the database never runs code. Derived data
only: dropping the tables costs one computation.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from collectors.errors import ReachError
from collectors.store import database

from ..text.weeks import week_start
from . import clock, queries, stamps
from .config import Event
from .metrics import Selection

# The tables (week_reports, week_reports_state) and every statement on them:
# dashboard/analysis/queries/week_reports.py.
STAMP_KEY, BOUND_KEY = "stamp", "bound"  # the stamp; the last day the data allow, before "yesterday"
# What a stored report can be kept across refreshes by (``_kept``): the refresh generation the
# reports are of, and what besides the data they depend on (settings, code, roster).
GENERATION_KEY, BASIS_KEY = "generation", "basis"


# --- the summary as JSON --------------------------------------------------------------------------

def encode(s) -> str:
    """``s`` (a ``summary.Summary``) as JSON; ``decode`` gives an equal one back."""
    def default(x):
        if isinstance(x, date):
            return {"__date__": x.isoformat()}
        raise TypeError(f"cannot store {type(x).__name__} in a weekly report")

    return json.dumps(dataclasses.asdict(s), default=default, ensure_ascii=False)


def decode(text: str):
    from . import summary as S

    def hook(d):
        return date.fromisoformat(d["__date__"]) if set(d) == {"__date__"} else d

    d = json.loads(text, object_hook=hook)

    def rows(cls, items):
        return tuple(cls(**x) for x in items)

    d.update(kpis=rows(S.Kpi, d["kpis"]), top_influencers=rows(S.InfluencerRow, d["top_influencers"]),
             top_posts=rows(S.PostRow, d["top_posts"]), platform_mix=rows(S.PlatformShare, d["platform_mix"]),
             events=rows(Event, d["events"]), weeks=tuple(d["weeks"]), notes=tuple(d["notes"]),
             previous_days=None if d["previous_days"] is None else tuple(d["previous_days"]))
    return S.Summary(**d)


def in_language(s, lang: str):
    """The English summary ``s`` as ``build_summary_db`` builds it in ``lang``: only its language
    and narrative differ (every other text of it is English by design)."""
    from ..text.i18n import normalise_lang
    from . import summary as S

    if normalise_lang(lang) == s.lang:
        return s
    s = dataclasses.replace(s, lang=normalise_lang(lang), narrative="")
    return dataclasses.replace(s, narrative=S.narrative(s, s.drivers, lang))


# --- storing --------------------------------------------------------------------------------------

def _bound(daily: pd.DataFrame, campaign) -> date:
    """The last day a summary can cover whatever the day (``metrics._coverage`` without a
    selection and without "yesterday")."""
    return min(x for x in (campaign.end, daily["day"].max().date()) if x is not None)


def _previous(week: str) -> str:
    from . import metrics

    ws = week_start(week)
    return metrics.iso_week(pd.Series([pd.Timestamp(ws - timedelta(days=7))])).iloc[0]


def _ended(week: str, last_day: date) -> bool:
    return week_start(week) + timedelta(days=6) <= last_day


def _state(conn) -> dict[str, str]:
    return queries.week_reports.state(conn)


def save(engine: sa.Engine, campaign, today: date | None = None) -> int | None:
    """Build and store the default Weekly reports for the data now in the database (the latest
    complete week and the one before, for today and for tomorrow); returns the rows stored, 0
    when they were stored already or there is nothing to summarise, None when the data changed
    while they were built (the next refresh stores them). The call at the end of a refresh."""
    from . import flag_store, summary

    today = today or clock.today(engine, campaign.tz)  # the day the Weekly page asks for, demo or real
    before = flag_store.stamp(engine, campaign)
    daily = summary._daily_db(engine, campaign, Selection())
    if daily.empty or "_num_er_views" not in daily:
        return 0
    bound = _bound(daily, campaign)
    days = {min(bound, d - timedelta(days=1)): d for d in (today + timedelta(days=1), today)}  # today's wins
    basis = _basis(engine, campaign)
    with engine.connect() as conn:
        state = _state(conn)
        if state.get(STAMP_KEY) == before and _has(conn, days):
            return 0
        gen, kept = _kept(conn, state, basis)
    rows, built = [], {}  # built: week -> (its weeks list, its JSON, the last day it was built for)
    for last_day, day in days.items():
        # One weekly table per day gives both the default week and the list of weeks (it was
        # built twice: a third of this step's time on a small campaign).
        weekly = summary._weekly_from_daily(daily, campaign, Selection(), day, compare=())
        try:
            default = summary.latest_complete_week_of(engine, campaign, weekly)
        except ReachError:
            continue
        weeks = tuple(weekly["week"])
        for week in (default, _previous(default)):
            if week not in weeks:
                continue
            # A week that ended by both last days, with the same list of weeks, is the same
            # report for both (the day enters a summary only through its last covered day):
            # built once, so a refresh in a running campaign builds two summaries, not four.
            same = built.get(week)
            old = kept.get((last_day.isoformat(), week))
            if same and same[0] == weeks and _ended(week, min(last_day, same[2])):
                text = same[1]
            elif old is not None and tuple(json.loads(old)["weeks"]) == weeks:
                text = old  # no refresh since changed a day of this week or the week before
                built[week] = (weeks, text, last_day)
            else:
                text = encode(summary.build_summary_db(engine, campaign, week, today=day, daily=daily))
                built[week] = (weeks, text, last_day)
            rows.append(dict(last_day=last_day.isoformat(), week=week, is_default=week == default, summary=text))
    with database.write_transaction(engine) as conn:
        # Under the write lock no import commits: the stamp read here is the one the rows are of.
        if flag_store.stamp(engine, campaign) != before:
            return None
        queries.week_reports.replace(conn, rows, [dict(key=STAMP_KEY, value=before),
                                                  dict(key=BOUND_KEY, value=bound.isoformat()),
                                                  dict(key=GENERATION_KEY, value=str(gen)),
                                                  dict(key=BASIS_KEY, value=basis)])
    return len(rows)


def _basis(engine: sa.Engine, campaign) -> str:
    """What a report depends on besides the observations: settings, code and the roster (names,
    categories, whose account is whose, roster followers)."""
    import hashlib

    with engine.connect() as conn:
        parts = (repr(campaign), stamps.code_stamp(), stamps.roster(conn))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def _kept(conn, state: dict, basis: str) -> tuple[int, dict]:
    """(the current refresh generation, the stored reports still true: {(last_day, week): JSON}).
    A report reads its week and the week before (and the list of weeks, compared by the caller),
    so it stays true when every refresh since changed only later days: the first day they can
    have changed (``rollups.first_day_since``) is after the week's end. A new roster, settings or
    code keep none."""
    from . import rollups

    since = state.get(GENERATION_KEY) if state.get(BASIS_KEY) == basis else None
    gen, first = rollups.first_day_since(conn, None if since is None else int(since))
    if first is None or not queries.week_reports.exist(conn):
        return gen, {}
    kept = {}
    for last_day, week, text in queries.week_reports.stored(conn):
        if first == "none" or first > week_start(week) + timedelta(days=6):
            kept[(last_day, week)] = text
    return gen, kept


def _has(conn, days) -> bool:
    found = set(queries.week_reports.default_days(conn))
    return {d.isoformat() for d in days} <= found


# --- reading --------------------------------------------------------------------------------------

def _standing(conn, state: dict, engine: sa.Engine, campaign) -> bool:
    """Stored reports a page reading the rollup as it stands may show while imports wait for
    their refresh (rollups.standing): built from a generation pages show, with these
    settings, code and roster (flag_store._standing says why)."""
    from . import flag_store, rollups

    shown = rollups.standing(conn)
    return shown is not None and flag_store._of(state.get(GENERATION_KEY), shown) and \
        state.get(BASIS_KEY) == _basis(engine, campaign)


def report(engine: sa.Engine, campaign, week: str | None, today: date, sel: Selection, lang: str = "en"):
    """The stored summary ``summary.build_summary_db(engine, campaign, week, today, sel, lang)``
    would build, or None when none is stored for it (filters, another week, other data)."""
    from . import flag_store

    if sel != Selection():
        return None
    with engine.connect() as conn:
        state = _state(conn)
        if not state or (state.get(STAMP_KEY) != flag_store.stamp(engine, campaign) and not _standing(conn, state, engine,
                                                                                                     campaign)):
            return None
        last_day = min(date.fromisoformat(state[BOUND_KEY]), today - timedelta(days=1))
        text = queries.week_reports.summary(conn, last_day.isoformat(),
                                            None if week is None else str(week).strip().upper())
    if text is None:
        return None
    s = decode(text)
    # Annotations change without a refresh: the week's events are read now, not stored.
    from . import summary

    s = dataclasses.replace(s, events=summary.week_events(engine, campaign, sel, s.week_start, s.covered_end),
                            goals=summary.week_goals(engine, campaign, s.covered_end))
    return in_language(s, lang)

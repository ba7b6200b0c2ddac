"""The weekly summary managers open on Monday: one ISO week of a campaign on one page.

``build_summary`` turns the stored frames into a ``Summary`` (KPIs with week-over-week change,
top influencers and posts, platform mix, the campaign's events that week and a short narrative
written by fixed rules); ``render_text`` prints it for a terminal and ``render_html`` writes it as
one self-contained, printable HTML page. Every number comes from the metrics engine
(dashboard/analysis/metrics.py) with its conventions: ISO weeks cut in the campaign timezone, rates as
ratios of totals, counts compared in percent and rates in percentage points, a partial week
compared with the same weekdays of the week before, reach only as the honest range.

A ``Summary`` holds data (labels in English, as the exports and downloads read them); the words
are written when it is rendered, in English or Simplified Chinese (``lang``: the narrative and both
renderings take it, through dashboard/text/i18n.py), so one summary can be shown in either language.
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import pandas as pd

from collectors.errors import ReachError
from collectors.model import PLATFORM_LABELS

from ..text import templating
from ..text.i18n import (emv_formula, fmt_date, fmt_number, metric_in_sentence, metric_name, normalise_lang, platform_from_label,
                         platform_name, t, week_label)
from ..text.links import safe_link
from ..text.weeks import week_start
from . import metrics
from .config import EMV_FORMULA_VERSION, Campaign, Event
from .metrics import Selection

TOP_N = 5
# Below these the narrative says "held steady": a rounding-sized move is not news.
FLAT_PERCENT = 0.5
FLAT_PP = 0.05
VIEWS_NOTE = ("Views or impressions, in the rankings and the platform mix: views, or impressions for a platform "
              "that reports no views (X, LinkedIn), as in EMV; an influencer's ER divides engagements by these.")
REACH_NOTE = ("Reach of the posts published in the week, as of its last day: from the largest "
              "single post (a lower bound) to the sum over posts (not deduplicated, an upper bound).")
ACTIVE_NOTE = "Active influencers: influencers who published at least one post in the week."


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | None
    previous: float | None
    # Percent for counts, percentage points for rates ("pp"); "new" when last week was zero;
    # None when there is no week before to compare with.
    change: float | str | None
    unit: str  # "count", "rate" (a fraction), "usd" or "range"
    change_unit: str = "%"
    upper: float | None = None  # the top of a range (reach)
    previous_upper: float | None = None
    note: str = ""


@dataclass(frozen=True)
class InfluencerRow:
    name: str
    platforms: str
    views: float  # views, impressions where a platform reports none (VIEWS_NOTE)
    engagements: float
    er: float | None  # engagements ÷ those views, a fraction


@dataclass(frozen=True)
class PostRow:
    published: date
    platform: str
    influencer: str
    title: str
    url: str
    views: float  # lifetime as of the week's last covered day (VIEWS_NOTE)
    engagements: float


@dataclass(frozen=True)
class PlatformShare:
    platform: str
    label: str
    views: float
    share: float  # percent of the week's views
    basis: str  # "views" or "impressions"


@dataclass(frozen=True)
class Summary:
    campaign: str
    timezone: str
    week: str
    week_start: date
    week_end: date
    covered_start: date  # the days actually summarised (a partial week covers fewer than 7)
    covered_end: date
    days_covered: int
    partial: bool
    partial_label: str  # "partial (3/7 days)" or ""
    compared_with: str  # what the changes compare against, in words
    kpis: tuple[Kpi, ...]
    top_influencers: tuple[InfluencerRow, ...]
    top_posts: tuple[PostRow, ...]
    platform_mix: tuple[PlatformShare, ...]
    events: tuple[Event, ...]
    narrative: str
    emv_formula: str
    weeks: tuple[str, ...]  # every week with data, for navigation
    notes: tuple[str, ...] = (VIEWS_NOTE, REACH_NOTE, ACTIVE_NOTE)
    # What the changes compare against, as data, for ``compared_with`` in another language: the
    # ISO week before (None in the first week) and, when only some of its days count, those days.
    previous_week: str | None = None
    previous_days: tuple[date, date] | None = None
    # Per metric and platform, the change from the week before: what the narrative names.
    drivers: dict = field(default_factory=dict, compare=False)
    lang: str = "en"  # the language of ``narrative``, and of the renderings by default
    campaign_zh: str = ""  # campaign.toml's name_zh: the title in Chinese, when given
    # campaign.toml's goals as of the week's last day (goals.Progress / WeekProgress): read when
    # the summary is shown, like ``events``, since goals are settings, not data (week_goals).
    goals: tuple = field(default=(), compare=False)

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)

    def title(self, lang: str) -> str:
        """The campaign's name in ``lang`` (as ``config.Campaign.title``)."""
        return self.campaign_zh if lang == "zh" and self.campaign_zh else self.campaign


# --- building ---------------------------------------------------------------------------------

def _parse_week(week: str, valid: list[str]) -> str:
    label = str(week).strip().upper()
    try:
        week_start(label)  # the one reading of an ISO week label
        ok = True
    except ValueError:
        ok = False
    known = ", ".join(valid) if valid else "none (the database holds no activity)"
    if not ok:
        raise ReachError(f"week {week!r} is not an ISO week like 2025-W01; weeks with data: {known}")
    if label not in valid:
        raise ReachError(f"week {label} has no campaign data; weeks with data: {known}")
    return label


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x) else float(x)


def _change(this, last):
    if last is None or this is None:
        return None
    c = metrics.wow_change(this, last)
    return c if isinstance(c, str) else _num(c)


@dataclass(frozen=True)
class _Week:
    """The week a summary is of, in days: its ISO label and weekly-table row, its covered days
    (``lo`` to ``hi``: a partial week, a campaign that starts or ends within it) and the same days a
    week before (``plo`` to ``phi``, kept inside the campaign's covered days, as ``weekly_table``
    does), when there is a week before (``has_prev``)."""

    label: str
    row: pd.Series
    start: date
    lo: date
    hi: date
    plo: date
    phi: date
    has_prev: bool

    @property
    def days(self) -> int:
        return int(self.row["days_covered"])

    @property
    def partial(self) -> bool:
        return bool(self.row["partial"])

    @property
    def previous_week(self) -> str | None:
        if not self.has_prev:
            return None
        return metrics.iso_week(pd.Series([pd.Timestamp(self.start - timedelta(days=7))])).iloc[0]

    @property
    def previous_days(self) -> tuple[date, date] | None:
        """The days of the week before that count, when not all of them do."""
        some = self.partial or self.plo > self.start - timedelta(days=7)
        return (self.plo, self.phi) if self.has_prev and some else None


def _week(weekly: pd.DataFrame, week: str, daily: pd.DataFrame, campaign: Campaign, sel: Selection,
          today: date | None) -> _Week:
    """``week`` of the ``weekly`` table, its days cut to those ``daily`` covers."""
    label = _parse_week(week, list(weekly["week"]))
    first_day, last_day = metrics._coverage(daily, campaign, sel, today)
    ws = week_start(label)
    lo, hi = max(ws, first_day), min(ws + timedelta(days=6), last_day)
    plo, phi = lo - timedelta(days=7), hi - timedelta(days=7)
    return _Week(label, weekly[weekly["week"] == label].iloc[0], ws, lo, hi, max(plo, first_day), phi,
                 has_prev=phi >= first_day)


def _kpis(w: _Week, emv_prev: float | None, n_posts: int, n_prev: int | None, n_inf: int, n_inf_prev: int | None,
          reach: pd.DataFrame, prev_reach: pd.DataFrame | None) -> tuple[Kpi, ...]:
    """The KPIs of week ``w`` against the week before: the weekly row's sums and rates, then posts
    published, active influencers, EMV and the reach range, however the caller counted them."""
    row, has_prev = w.row, w.has_prev

    def prev(col):
        return _num(row.get(f"prev_{col}")) if has_prev else None

    def count_kpi(key, label_):
        v, p = _num(row.get(key)), prev(key)
        return Kpi(key, label_, v, p, _change(v, p), "count")

    def rate_kpi(key, label_):
        v, p = _num(row.get(key)), prev(key)
        pp = _num(row.get(f"wow_{key}_pp")) if has_prev else None
        return Kpi(key, label_, v, p, pp, "rate", change_unit="pp")

    r = reach.iloc[0] if len(reach) else None
    pr = prev_reach.iloc[0] if prev_reach is not None and len(prev_reach) else None
    return (
        count_kpi("views", "Views"),
        count_kpi("impressions", "Impressions"),
        count_kpi("engagements", "Engagements"),
        rate_kpi("er_views", "ER by views"),
        rate_kpi("er_impressions", "ER by impressions"),
        Kpi("posts", "Posts published", float(n_posts), _num(n_prev), _change(n_posts, n_prev), "count"),
        Kpi("active_influencers", "Active influencers", float(n_inf), _num(n_inf_prev),
            _change(n_inf, n_inf_prev), "count", note=ACTIVE_NOTE),
        Kpi("emv_usd", "EMV (USD)", _num(row.get("emv_usd")), emv_prev, _change(_num(row.get("emv_usd")), emv_prev),
            "usd", note=EMV_FORMULA_VERSION),
        # A range has no honest single change: last week's range is shown beside it instead.
        Kpi("reach", "Reach (not deduplicated)", _num(r["reach_max_post"]) if r is not None else None,
            _num(pr["reach_max_post"]) if pr is not None else None, None, "range",
            upper=_num(r["reach_sum"]) if r is not None else None,
            previous_upper=_num(pr["reach_sum"]) if pr is not None else None, note=REACH_NOTE),
    )


def _summary(campaign: Campaign, w: _Week, weekly: pd.DataFrame, lang: str, drivers: dict, **parts) -> Summary:
    """The ``Summary`` of week ``w`` from its ``parts`` (kpis, top_influencers, top_posts,
    platform_mix, events; goals from the database), with its narrative in ``lang``."""
    s = Summary(
        campaign=campaign.name, campaign_zh=campaign.name_zh, timezone=campaign.timezone, week=w.label,
        week_start=w.start, week_end=w.start + timedelta(days=6), covered_start=w.lo, covered_end=w.hi,
        days_covered=w.days, partial=w.partial,
        partial_label=t("week.partial", "en", days=w.days) if w.partial else "",
        compared_with=_compared(w.previous_week, w.previous_days, "en"), narrative="",
        emv_formula=EMV_FORMULA_VERSION, weeks=tuple(weekly["week"]), previous_week=w.previous_week,
        previous_days=w.previous_days, drivers=drivers, lang=normalise_lang(lang), **parts,
    )
    return replace(s, narrative=narrative(s, drivers, lang))


def _filter_posts(posts: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    for col, values in (("platform", sel.platforms), ("influencer", sel.influencers), ("category", sel.categories)):
        if values:
            posts = posts[posts[col].isin(values)]
    return posts


def _published_between(posts: pd.DataFrame, tz, lo: date, hi: date) -> pd.DataFrame:
    # Assigned before filtering: a Series assigned to an empty frame would bring its whole index.
    posts = posts.assign(pub_day=posts["published_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize())
    return posts[(posts["pub_day"] >= pd.Timestamp(lo)) & (posts["pub_day"] <= pd.Timestamp(hi))]


def build_summary(frames, campaign: Campaign, week: str, today: date | None = None,
                  sel: Selection = Selection(), lang: str = "en") -> Summary:
    """The summary of one ISO week (``2025-W01``) of ``frames`` (queries.frames.load_frames).

    ``today`` makes the week containing it partial (data up to yesterday); ``sel`` narrows the
    summary to platforms, influencers or categories like a dashboard filter; ``lang`` is the
    language of the narrative and of the renderings ("en" or "zh")."""
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    posts = frames.posts
    weekly = metrics.weekly_table(inc, posts, campaign, sel=sel, today=today)
    w = _week(weekly, week, metrics.daily_table(inc, posts, campaign, by=(), sel=sel), campaign, sel, today)
    lo, hi, plo, phi, has_prev = w.lo, w.hi, w.plo, w.phi, w.has_prev

    # Per post and day over both weeks: the mix, the rankings and EMV last week come from here.
    per = metrics.daily_table(inc, posts, campaign, by=("platform", "influencer", "post"),
                              sel=replace(sel, start=plo if has_prev else lo, end=hi))
    if len(per):
        per["basis"] = metrics.views_or_impressions(per)
        per["basis_name"] = metrics.basis_of(per["platform"])
        this = per[per["day"] >= pd.Timestamp(lo)]
        last = per[per["day"] <= pd.Timestamp(phi)] if has_prev else per.iloc[0:0]
    else:
        this = last = per

    sel_posts = _filter_posts(posts, sel)
    pub = _published_between(sel_posts, campaign.tz, lo, hi)
    prev_pub = _published_between(sel_posts, campaign.tz, plo, phi) if has_prev else None

    reach = metrics.reach_table(frames.snapshots, posts, campaign, by=(), sel=replace(sel, start=lo, end=hi))
    prev_reach = (metrics.reach_table(frames.snapshots, posts, campaign, by=(), sel=replace(sel, start=plo, end=phi))
                  if has_prev else None)

    emv_prev = _num(last["emv_usd"].sum()) if has_prev and len(last) else (0.0 if has_prev else None)
    kpis = _kpis(w, emv_prev, len(pub), len(prev_pub) if prev_pub is not None else None,
                 int(pub["influencer"].nunique()),
                 int(prev_pub["influencer"].nunique()) if prev_pub is not None else None, reach, prev_reach)

    mix = _platform_mix(this)
    drivers = _drivers(this, last) if has_prev else {}
    top_inf = _top_influencers(this)
    top_posts = _top_posts(inc, pub, hi, campaign.engagement)
    events = tuple(e for e in campaign.events if lo <= e.day <= hi)
    return _summary(campaign, w, weekly, lang, drivers, kpis=kpis, top_influencers=top_inf, top_posts=top_posts,
                    platform_mix=mix, events=events)


# --- building from the database: the week and the week before, not everything ------------------

def _weekly_from_daily(d: pd.DataFrame, campaign: Campaign, sel: Selection, today: date | None,
                       compare: tuple[str, ...] | None = None) -> pd.DataFrame:
    """``metrics.weekly_table`` (no grouping) from its daily rows ``d`` (``rollups.query`` by day,
    which equals ``metrics.daily_table``); the week before's figures only for ``compare``."""
    return metrics.weekly_from_daily(d, campaign, [], sel, today, compare)


def _daily_db(engine, campaign: Campaign, sel: Selection) -> pd.DataFrame:
    from . import rollups

    return rollups.query(engine, campaign, by=["day"], sel=sel)


def latest_complete_week_db(engine, campaign: Campaign, today: date | None = None,
                            daily: pd.DataFrame | None = None) -> str:
    """``latest_complete_week`` from the daily rollup (``daily``: its rows by day for the whole
    campaign, ``_daily_db`` with no selection, when the caller has them)."""
    d = _daily_db(engine, campaign, Selection()) if daily is None else daily
    return latest_complete_week_of(engine, campaign, _weekly_from_daily(d, campaign, Selection(), today, compare=()))


def latest_complete_week_of(engine, campaign: Campaign, weekly: pd.DataFrame) -> str:
    """The latest complete week of ``weekly`` (``_weekly_from_daily`` of the whole campaign, no
    comparison), else its latest week; ReachError saying why when it has none."""
    if weekly.empty:
        raise ReachError(_no_weeks(engine, campaign))
    whole = weekly[~weekly["partial"]]
    return str((whole if len(whole) else weekly)["week"].iloc[-1])


def _no_weeks(engine, campaign: Campaign) -> str:
    """Why there is no week to summarise: nothing stored, or data only outside the campaign's
    dates (a campaign.toml of another campaign: "no data yet" would send the user to import
    files that are already there)."""
    from . import queries

    first, last = queries.rollup.stored_days(engine)
    if first is None:
        return "no data yet: import export files with `reach import` or run `reach demo`"
    window = f"{campaign.start or 'the start'} to {campaign.end or 'today'}"
    return (f"no data in the campaign's dates ({window}, campaign.toml): the stored data run from "
            f"{first} to {last}; give --config the campaign they belong to")


def _top_influencers_db(by_inf: pd.DataFrame, campaign: Campaign) -> tuple[InfluencerRow, ...]:
    """``_top_influencers`` from the rollup's sums per platform and influencer (``by_inf``:
    ``emv_basis``, the engagement metrics and ``num_er_views`` / ``num_er_impressions``), no
    engine pass: an influencer's views are the sum of "views or impressions", their engagements
    the sum of each row's, and the engagements matched to those views are, per platform, the
    rollup's numerator of ER by its basis (the engagements of post-days that report it). The
    values are sums of whole counts, so the same floats whatever the order of summing."""
    if by_inf.empty:
        return ()
    # Only the rows of the TOP_N influencers go on (their sums are whole; the list of platforms,
    # a join per influencer, took 0.1 s for the 3,750 of a 100x week): ranked as _top_influencers ranks.
    views = by_inf.groupby("influencer")["emv_basis"].sum().rename("views").reset_index()
    top = views.sort_values(["views", "influencer"], ascending=[False, True], kind="stable").head(TOP_N)
    by_inf = by_inf[by_inf["influencer"].isin(set(top["influencer"]))]
    t = by_inf.assign(
        engagements=metrics.engagements(by_inf, campaign),
        basis=by_inf["emv_basis"],
        e_matched=by_inf["num_er_views"].where(metrics.basis_of(by_inf["platform"]) == "views",
                                               by_inf["num_er_impressions"].where(
                                                   metrics.basis_of(by_inf["platform"]) == "impressions")))
    return _top_influencers(t, matched="e_matched")


def _top_posts_db(engine, campaign: Campaign, sel: Selection, lo: date, hi: date) -> tuple[PostRow, ...]:
    """``_top_posts`` of the posts published in lo..hi, computed for a few candidates only: posts
    are taken largest bound first (queries.posts.post_bounds: no running total of a post up to the end
    of ``hi`` can exceed it) until the TOP_N-th exact value beats every bound not yet taken."""
    from . import queries

    cand = queries.posts.post_bounds(engine, campaign, replace(sel, start=lo, end=hi))
    # A definition change restarts a post's baseline, so its increments can add up to more than
    # its largest value: then every post is a candidate.
    k = len(cand) if campaign.definition_changes else 4 * TOP_N
    # Each round reads and runs through the engine only the candidates it adds: a post's
    # increments depend on its own observations alone, and ``_top_posts`` orders by values.
    incs, pubs, done = [], [], 0
    while True:
        taken, rest = cand.iloc[done:k], cand.iloc[k:]
        frames = queries.frames.frames_of_posts(engine, taken["post_pk"])
        incs.append(metrics.increments(frames.snapshots, frames.post_days, campaign))
        pubs.append(_published_between(frames.posts, campaign.tz, lo, hi))
        done = k
        inc = incs[0] if len(incs) == 1 else pd.concat([x for x in incs if len(x)] or incs[:1], ignore_index=True)
        pub = pubs[0] if len(pubs) == 1 else pd.concat([x for x in pubs if len(x)] or pubs[:1], ignore_index=True)
        rows = _top_posts(inc, pub, hi, campaign.engagement) if len(inc) else _top_posts_without(pub)
        if rest.empty or (len(rows) == TOP_N and rows[-1].views > rest["bound"].iloc[0]):
            return rows
        k *= 4


def _top_posts_without(pub: pd.DataFrame) -> tuple[PostRow, ...]:
    # Posts without any increment: all at 0, in the order _top_posts gives ties.
    rows = pub.sort_values(["published_at", "post_pk"], kind="stable").head(TOP_N)
    return tuple(PostRow(r.pub_day.date(), r.platform, r.influencer, "" if pd.isna(r.title) else str(r.title),
                         "" if pd.isna(r.url) else str(r.url), 0.0, 0.0) for r in rows.itertuples())


def week_goals(engine, campaign: Campaign, hi: date) -> tuple:
    """Each goal of campaign.toml as of the day ``hi`` (the summarised week's last day)."""
    from . import goals

    return tuple(goals.all_progress(engine, campaign, hi)) if campaign.goals else ()


def goal_lines(s: Summary, lang: str) -> list[tuple[str, str, str]]:
    """(name, verdict, detail) of each goal, in ``lang``: what the summary's Goals section says."""
    from . import goals

    out = []
    for p in s.goals:
        g = p.goal
        name = g.text(lang) or f"{metric_name(g.metric, lang)} {fmt_number(g.target, lang)}"

        def num(x):
            return fmt_number(x, lang, compact=True)

        if isinstance(p, goals.WeekProgress):
            verdict = t("goal.on_track", lang) if not p.behind else t("goal.week_behind", lang, n=p.behind)
            detail = t("goal.week", lang, week=p.week, met=p.met, n=len(p.influencers), behind=p.behind,
                       share=fmt_number(p.time_gone, lang, kind="rate"))
        else:
            verdict = (t("goal.met", lang) if p.status == "met" else t("goal.on_track", lang) if p.status == "on track"
                       else t("goal.behind", lang, n=num(p.behind_by), metric=metric_in_sentence(g.metric, lang)))
            detail = t("goal.value", lang, value=num(p.value), target=num(p.target),
                       share=fmt_number(p.share, lang, kind="rate")) + " · " + t(
                "goal.time_gone", lang, share=fmt_number(p.time_gone, lang, kind="rate"))
            if p.forecast is not None:
                detail += " · " + t("goal.forecast", lang, deadline=fmt_date(g.deadline, lang), value=num(p.forecast.total),
                                    low=num(p.forecast.low), high=num(p.forecast.high))
        out.append((name, verdict, detail))
    return out


def week_events(engine, campaign: Campaign, sel: Selection, lo: date, hi: date) -> tuple:
    """campaign.toml's events and the editors' annotations that concern the view, of days lo..hi."""
    from . import annotations

    return tuple(e for e in annotations.events(engine, campaign, sel) if lo <= e.day <= hi)


def build_summary_db(engine, campaign: Campaign, week: str | None, today: date | None = None,
                     sel: Selection = Selection(), lang: str = "en", daily: pd.DataFrame | None = None) -> Summary:
    """``build_summary`` read from the database for one week and the week before: the weekly
    table from the daily rollup, the platform mix, its drivers, EMV and the top influencers with
    their engagement rate from rollup sums, posts published and reach by narrow SQL, the top
    posts from a few candidates (``_top_posts_db``).
    The same summary (tests/test_pages_scale.py), without reading every observation. No ``week``:
    the latest complete week (``latest_complete_week_db``), from the same daily rows when ``sel``
    selects everything. ``daily``: ``_daily_db`` of ``sel``, when the caller has it (the refresh
    builds several reports of one data: 0.5 s each at 100x the demo)."""
    from . import queries, rollups

    d = _daily_db(engine, campaign, sel) if daily is None else daily
    if week is None:
        week = latest_complete_week_db(engine, campaign, today, daily=d if sel == Selection() else None)
    weekly = _weekly_from_daily(d, campaign, sel, today, compare=(str(week).strip().upper(),))
    w = _week(weekly, week, d, campaign, sel, today)
    lo, hi, plo, phi, has_prev = w.lo, w.hi, w.plo, w.phi, w.has_prev
    this_sel, last_sel = replace(sel, start=lo, end=hi), replace(sel, start=plo, end=phi)

    pub = queries.posts.published_counts(engine, campaign, this_sel).iloc[0]
    prev_pub = queries.posts.published_counts(engine, campaign, last_sel).iloc[0] if has_prev else None
    reach = queries.posts.reach_range(engine, campaign, this_sel)
    prev_reach = queries.posts.reach_range(engine, campaign, last_sel) if has_prev else None

    if has_prev:
        last_emv = rollups.query(engine, campaign, by=[], sel=last_sel)
        emv_prev = _num(last_emv["emv_usd"].iloc[0]) if len(last_emv) else 0.0
    else:
        emv_prev = None
    kpis = _kpis(w, emv_prev, int(pub["posts"]), int(prev_pub["posts"]) if prev_pub is not None else None,
                 int(pub["active_influencers"]),
                 int(prev_pub["active_influencers"]) if prev_pub is not None else None, reach, prev_reach)

    # The top influencers, their engagement rate and the platform mix from the rollup's sums per
    # platform and influencer (no engine pass: issue 11, 1.9 s at half of 100x on PostgreSQL).
    by_inf = queries.rollup.rollup_sums(engine, this_sel, ["platform", "influencer"],
                                 ["emv_basis", "views", "impressions", "num_er_views", "num_er_impressions",
                                  *[m for m in campaign.engagement if m in rollups.SUMMED]])
    top_inf = _top_influencers_db(by_inf, campaign)
    mix = _platform_mix_db(by_inf)
    drivers = {}
    if has_prev:
        a = queries.rollup.rollup_sums(engine, this_sel, ["platform"], ["views", "impressions"]).set_index("platform")
        b = queries.rollup.rollup_sums(engine, last_sel, ["platform"], ["views", "impressions"]).set_index("platform")
        for m in ("views", "impressions"):
            diff = a[m].sub(b[m], fill_value=0).dropna()
            drivers[m] = {p: float(v) for p, v in diff.items()}
    top_posts = _top_posts_db(engine, campaign, sel, lo, hi)
    events = week_events(engine, campaign, sel, lo, hi)
    return _summary(campaign, w, weekly, lang, drivers, kpis=kpis, top_influencers=top_inf, top_posts=top_posts,
                    platform_mix=mix, events=events, goals=week_goals(engine, campaign, hi))


def _platform_mix_db(by_inf: pd.DataFrame) -> tuple[PlatformShare, ...]:
    """``_platform_mix`` from the rollup sums: each platform's views (impressions standing in) and
    its basis, which is the platform's (``metrics.views_basis``), as every row of it names it."""
    if by_inf.empty:
        return ()
    g = by_inf.groupby("platform")["emv_basis"].sum().rename("views").to_frame()
    g["basis"] = metrics.basis_of(g.index.to_series())
    g = g[g["views"] > 0]
    total = g["views"].sum()
    g = g.sort_values("views", ascending=False, kind="stable")
    return tuple(PlatformShare(p, PLATFORM_LABELS.get(p, p), float(v), float(v / total * 100), b)
                 for p, v, b in zip(g.index, g["views"], g["basis"]))


def _dates(lo: date, hi: date, lang: str) -> str:
    return t("summary.dates", lang, start=lo.isoformat(), end=hi.isoformat())


def _compared(previous_week: str | None, previous_days: tuple[date, date] | None, lang: str) -> str:
    """What the changes compare against: the week before, only some of its days, or nothing."""
    if previous_week is None:
        return t("summary.compared_first", lang)
    week = week_label(previous_week, None, lang)
    if previous_days is None:
        return week
    return t("summary.compared_same_days", lang, week=week, dates=_dates(*previous_days, lang))


def _platform_mix(this: pd.DataFrame) -> tuple[PlatformShare, ...]:
    if this.empty:
        return ()
    g = this.groupby("platform").agg(views=("basis", "sum"), basis=("basis_name", "first"))
    g = g[g["views"] > 0]
    total = g["views"].sum()
    g = g.sort_values("views", ascending=False, kind="stable")
    return tuple(PlatformShare(p, PLATFORM_LABELS.get(p, p), float(v), float(v / total * 100), b)
                 for p, v, b in zip(g.index, g["views"], g["basis"]))


def _drivers(this: pd.DataFrame, last: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per metric (views, impressions): each platform's change from the week before."""
    out = {}
    for m in ("views", "impressions"):
        a = this.groupby("platform")[m].sum(min_count=1) if len(this) else pd.Series(dtype=float)
        b = last.groupby("platform")[m].sum(min_count=1) if len(last) else pd.Series(dtype=float)
        diff = a.sub(b, fill_value=0).dropna()
        out[m] = {p: float(v) for p, v in diff.items()}
    return out


def _top_influencers(this: pd.DataFrame, matched: str | None = None) -> tuple[InfluencerRow, ...]:
    """The TOP_N influencers by "views or impressions" over the rows of ``this`` (per post and day,
    or with ``matched`` already summed per platform: the column of the engagements that count
    for ER, ``_top_influencers_db``)."""
    if this.empty:
        return ()
    t = this if matched else this.assign(e_matched=this["engagements"].where(this["basis"].notna()))
    g = t.groupby("influencer").agg(views=("basis", "sum"), engagements=("engagements", "sum"),
                                    e_matched=("e_matched", "sum"),
                                    platforms=("platform", lambda s: ", ".join(sorted({PLATFORM_LABELS.get(p, p) for p in s}))))
    g = g.reset_index().sort_values(["views", "influencer"], ascending=[False, True], kind="stable").head(TOP_N)
    return tuple(InfluencerRow(r.influencer, r.platforms, float(r.views), float(r.engagements),
                               float(r.e_matched / r.views) if r.views > 0 else None) for r in g.itertuples())


def _top_posts(inc: pd.DataFrame, pub: pd.DataFrame, hi: date, engagement) -> tuple[PostRow, ...]:
    """Posts published in the week, by lifetime views (sum of increments) up to its last day."""
    if pub.empty or inc.empty:
        return ()
    mine = inc[inc["post_pk"].isin(pub["post_pk"])]
    upto = mine[mine["day"] <= pd.Timestamp(hi)]
    wide = upto.pivot_table(index="post_pk", columns="metric", values="value", aggfunc="sum")
    wide = wide.reindex(columns=sorted(set(wide.columns) | {"views", "impressions", *metrics.ADDITIVE}))
    wide["platform"] = pub.set_index("post_pk")["platform"].reindex(wide.index)
    basis = metrics.views_or_impressions(wide).fillna(0.0)
    eng = wide[[m for m in engagement if m in wide]].sum(axis=1, min_count=1)
    rows = pub.set_index("post_pk").join(basis.rename("basis")).join(eng.rename("eng"))
    rows["basis"] = rows["basis"].fillna(0.0)
    rows = rows.reset_index().sort_values(["basis", "published_at", "post_pk"], ascending=[False, True, True],
                                          kind="stable").head(TOP_N)
    return tuple(PostRow(r.pub_day.date(), r.platform, r.influencer, "" if pd.isna(r.title) else str(r.title),
                         "" if pd.isna(r.url) else str(r.url), float(r.basis),
                         0.0 if pd.isna(r.eng) else float(r.eng)) for r in rows.itertuples())


# --- narrative --------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{abs(x):.0f}%" if abs(x) >= 10 else f"{abs(x):.1f}%"


def narrative(s: Summary, drivers: dict | None = None, lang: str = "en") -> str:
    """A few sentences by fixed rules, in ``lang``: the headline count's change and which platform
    drove it, engagement rate by views in pp, what was published, the events, and a partial week
    said so. Platform and metric names are the UI's (dashboard/text/i18n.py)."""
    drivers = drivers or {}
    stop, semi = t("punct.stop", lang), t("punct.semicolon", lang)
    out = []
    if s.partial:
        out.append(t("narrative.partial", lang, days=s.days_covered))
    head = s.kpi("views") if s.kpi("views").value is not None else s.kpi("impressions")
    name = metric_name(head.key, lang)
    if head.value is None:
        out.append(t("narrative.no_views", lang))
    elif head.change is None:
        out.append(t("narrative.no_before", lang, name=name, value=f"{head.value:,.0f}"))
    elif head.change == "new":
        out.append(t("narrative.new", lang, name=name, value=f"{head.value:,.0f}"))
    elif abs(head.change) < FLAT_PERCENT:
        out.append(t("narrative.steady", lang, name=name, value=f"{head.value:,.0f}"))
    else:
        rose = head.change > 0
        sentence = t("narrative.rose" if rose else "narrative.fell", lang, name=name, pct=_pct(head.change))
        diffs = {p: d for p, d in drivers.get(head.key, {}).items() if (d > 0) == rose and d != 0}
        if diffs:
            top = max(diffs, key=lambda p: (abs(diffs[p]), p))
            sentence += t("narrative.led_by" if rose else "narrative.most_on", lang, platform=platform_name(top, lang))
        out.append(sentence)
    er = s.kpi("er_views")
    if er.value is not None and isinstance(er.change, float):
        value = f"{er.value * 100:.1f}%"
        if abs(er.change) < FLAT_PP:
            clause = t("narrative.er_held", lang, value=value)
        else:
            clause = t("narrative.er_rose" if er.change > 0 else "narrative.er_fell", lang,
                       pp=f"{abs(er.change):.1f}", value=value)
        if out and not out[-1].endswith(stop):
            out[-1] += semi + clause + stop
        else:
            out.append(clause[0].upper() + clause[1:] + stop)
    elif out and not out[-1].endswith(stop):
        out[-1] += stop
    posts, inf = s.kpi("posts"), s.kpi("active_influencers")
    out.append(t("narrative.published", lang, posts=f"{posts.value:,.0f}", influencers=f"{inf.value:,.0f}")
               + (semi + t("narrative.top_influencer", lang, name=s.top_influencers[0].name) if s.top_influencers
                  else "") + stop)
    if s.events:
        out.append(t("narrative.events", lang, events=semi.join(
            t("narrative.event", lang, label=e.text(lang), day=_day(e.day, lang)) for e in s.events)))
    # Chinese runs sentences together; English separates them with a space.
    return ("" if normalise_lang(lang) == "zh" else " ").join(out)


def _day(d: date, lang: str) -> str:
    """An event's day: ISO in English (as the report always wrote it), 2025年1月15日 in Chinese."""
    return fmt_date(d, lang) if normalise_lang(lang) == "zh" else d.isoformat()


# --- formatting -------------------------------------------------------------------------------
# Numbers read the same in both languages (1,234 and 6.05%), except the words around them: "new" /
# 新增, "pp" / 个百分点, "$" / US$ (dashboard/text/i18n.py).

def _fmt_value(k: Kpi, v: float | None, upper: float | None = None, lang: str = "en") -> str:
    if v is None:
        return "—"
    if k.unit == "rate":
        return f"{v * 100:.2f}%"
    if k.unit == "usd":
        return t("num.money", lang, value=f"{v:,.0f}")
    if k.unit == "range":
        return t("num.range", lang, low=f"{v:,.0f}", high=f"{upper:,.0f}") if upper is not None else f"{v:,.0f}"
    return f"{v:,.0f}"


def _fmt_change(k: Kpi, lang: str = "en") -> str:
    c = k.change
    if c is None:
        return "—"
    if c == "new":
        return t("num.new", lang)
    if k.change_unit == "pp":
        return t("num.pp", lang, value=f"{c:+.2f}")
    return f"{c:+.1f}%"


def _num_cell(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def _er_cell(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.2f}%"


def _kpi_label(k: Kpi, lang: str) -> str:
    # The KPI's key names it in the UI's tables; reach is shown as its range.
    return metric_name("reach_range" if k.key == "reach" else k.key, lang)


def _platforms(labels: str, lang: str) -> str:
    """An influencer's platforms ("TikTok, YouTube", English labels in the data) in ``lang``."""
    names = [platform_name(platform_from_label(p) or p, lang) for p in labels.split(", ") if p]
    return t("punct.list", lang).join(names)


def _counted_as(basis: str, lang: str) -> str:
    return t(f"summary.counted_{basis}", lang) if basis in ("views", "impressions") else basis


def _lang(s: Summary, lang: str | None) -> str:
    return normalise_lang(lang if lang is not None else s.lang)


def _narrative(s: Summary, lang: str) -> str:
    return s.narrative if lang == s.lang else narrative(s, s.drivers, lang)


def _width(text: str) -> int:
    # Chinese names and titles take two terminal columns per character.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(_pad(c, w, i in right) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def _short(text: str, n: int) -> str:
    """At most ``n`` terminal columns."""
    text = " ".join(text.split())
    if _width(text) <= n:
        return text
    while _width(text) > n - 1:
        text = text[:-1]
    return text + "…"


def render_text(s: Summary, lang: str | None = None) -> str:
    """The summary for a terminal: aligned columns, thousands separators, ISO dates; in ``lang``
    (default: the summary's)."""
    lang = _lang(s, lang)

    def low(key: str) -> str:
        # A terminal table's headers are lower case, as they always were (Chinese has no case).
        return t(key, lang).lower()

    none = t("empty.none", lang)
    head = f"{s.title(lang)}\n" + t("summary.text_head", lang, week=s.week, dates=_dates(s.week_start, s.week_end, lang))
    if s.partial:
        head += t("summary.text_partial", lang, partial=t("week.partial", lang, days=s.days_covered),
                  dates=_dates(s.covered_start, s.covered_end, lang))
    compared = _compared(s.previous_week, s.previous_days, lang) if lang != "en" else s.compared_with
    out = [head, t("summary.text_compared", lang, what=compared, tz=s.timezone), "", _narrative(s, lang), "",
           t("summary.kpis", lang)]
    out += _table(["", low("col.this_week"), low("col.last_week"), low("col.change")],
                  [[_kpi_label(k, lang), _fmt_value(k, k.value, k.upper, lang),
                    _fmt_value(k, k.previous, k.previous_upper, lang), _fmt_change(k, lang)]
                   for k in s.kpis], right={1, 2, 3})
    out += ["", t("summary.text_top_influencers", lang, n=TOP_N)]
    out += _table(["#", low("col.influencer"), low("col.platforms"), metric_name(metrics.BASIS_METRIC, lang).lower(),
                   metric_name("engagements", lang).lower(), t("summary.er", lang)],
                  [[str(i), _short(r.name, 32), _platforms(r.platforms, lang), _num_cell(r.views),
                    _num_cell(r.engagements), _er_cell(r.er)]
                   for i, r in enumerate(s.top_influencers, 1)], right={0, 3, 4, 5}) if s.top_influencers else [none]
    out += ["", t("summary.text_top_posts", lang, n=TOP_N, day=s.covered_end.isoformat())]
    out += _table(["#", low("col.published_at"), low("col.platform"), low("col.influencer"),
                   metric_name(metrics.BASIS_METRIC, lang).lower(), low("col.title"), low("col.url")],
                  [[str(i), p.published.isoformat(), platform_name(p.platform, lang), _short(p.influencer, 24),
                    _num_cell(p.views), _short(p.title, 40), p.url] for i, p in enumerate(s.top_posts, 1)],
                  right={0, 4}) if s.top_posts else [none]
    out += ["", t("summary.platform_mix", lang)]
    out += _table([low("col.platform"), metric_name(metrics.BASIS_METRIC, lang).lower(), low("col.share"), low("col.basis")],
                  [[platform_name(m.platform, lang), _num_cell(m.views), f"{m.share:.1f}%", _counted_as(m.basis, lang)]
                   for m in s.platform_mix], right={1, 2}) if s.platform_mix else [none]
    if s.goals:
        colon = "：" if lang == "zh" else ": "
        out += ["", t("summary.goals", lang)] + [f"{n}{colon}{v} ({d})" for n, v, d in goal_lines(s, lang)]
    if s.events:
        out += ["", t("summary.events", lang)] + [f"{e.day.isoformat()}  {e.text(lang)}" for e in s.events]
    out += ["", *_notes(s, lang), t("summary.emv_formula", lang, formula=emv_formula(s.emv_formula, lang)),
            t("summary.text_days", lang, tz=s.timezone)]
    return "\n".join(out) + "\n"


_NOTE_KEYS = {VIEWS_NOTE: "note.views", REACH_NOTE: "note.reach", ACTIVE_NOTE: "note.active"}


def _note(text: str, lang: str) -> str:
    """A note of the summary (English, as built) in ``lang``: the standard ones and the EMV formula
    version have translations; any other (a note set by hand) is shown as it is."""
    if lang != "en" and text in _NOTE_KEYS:
        return t(_NOTE_KEYS[text], lang)
    return emv_formula(text, lang)


def _notes(s: Summary, lang: str) -> tuple[str, ...]:
    return tuple(_note(n, lang) for n in s.notes)


# --- HTML -------------------------------------------------------------------------------------
# The markup is dashboard/text/templates/weekly.html and its style weekly.css (dashboard/text/templating.py);
# here the summary becomes the words and numbers the template prints, in the report's language.

def _headers(*cols: str | tuple[str, bool]) -> list[tuple[str, bool]]:
    """A table's header cells as (text, is a number column)."""
    return [c if isinstance(c, tuple) else (c, False) for c in cols]


def render_html(s: Summary, lang: str | None = None) -> str:
    """One self-contained page: inline CSS, no scripts, fonts, images or stylesheets from anywhere,
    an A4 print stylesheet; every text from the data or the config is escaped (the template's
    autoescaping). In ``lang`` (default: the summary's)."""
    from ..text.colours import PLATFORM_COLOURS

    lang = _lang(s, lang)

    def tr(key: str, **params) -> str:
        return t(key, lang, **params)

    def trend(k: Kpi) -> str:
        return "up" if isinstance(k.change, float) and k.change > 0 else (
            "down" if isinstance(k.change, float) and k.change < 0 else "")

    views, engagements = metric_name(metrics.BASIS_METRIC, lang), metric_name("engagements", lang)
    top_share = max((m.share for m in s.platform_mix), default=0)
    return templating.render(
        "weekly.html", t=tr, ui_html=lambda key, **pieces: templating.ui_html(key, lang, **pieces),
        html_lang="zh-CN" if lang == "zh" else "en", title=s.title(lang), week=s.week,
        dates=_dates(s.week_start, s.week_end, lang), partial=s.partial,
        partial_label=t("week.partial", lang, days=s.days_covered), covered=_dates(s.covered_start, s.covered_end, lang),
        compared=_compared(s.previous_week, s.previous_days, lang) if lang != "en" else s.compared_with,
        narrative=_narrative(s, lang), top_n=TOP_N, posts_day=s.covered_end.isoformat(), timezone=s.timezone,
        emv_formula=emv_formula(s.emv_formula, lang), notes=_notes(s, lang),
        events=[dict(day=e.day.isoformat(), text=e.text(lang)) for e in s.events],
        goals=[dict(name=n, verdict=v, detail=d) for n, v, d in goal_lines(s, lang)],
        kpis=[dict(note=_note(k.note, lang), label=_kpi_label(k, lang), value=_fmt_value(k, k.value, k.upper, lang),
                   change=_fmt_change(k, lang), trend=trend(k), last=_fmt_value(k, k.previous, k.previous_upper, lang))
              for k in s.kpis],
        influencer_headers=_headers(("#", True), tr("col.influencer"), tr("col.platforms"), (views, True),
                                    (engagements, True), (tr("summary.er"), True)),
        influencers=[dict(name=r.name, platforms=_platforms(r.platforms, lang), views=_num_cell(r.views),
                          engagements=_num_cell(r.engagements), er=_er_cell(r.er)) for r in s.top_influencers],
        post_headers=_headers(("#", True), (tr("col.published_at"), True), tr("col.platform"), tr("col.influencer"),
                              tr("col.post"), (views, True), (engagements, True)),
        posts=[dict(published=p.published.isoformat(), platform=platform_name(p.platform, lang), influencer=p.influencer,
                    title=_short(p.title, 90) or tr("empty.untitled"), url=safe_link(p.url),
                    views=_num_cell(p.views), engagements=_num_cell(p.engagements)) for p in s.top_posts],
        mix_headers=_headers(tr("col.platform"), (views, True), (tr("col.share"), True), "", tr("col.basis")),
        # The bar's width: the share against the largest one, which fills its cell.
        mix=[dict(platform=platform_name(m.platform, lang), views=_num_cell(m.views), share=f"{m.share:.1f}%",
                  width=f"{max(0.5, 100 * m.share / (top_share or 1)):.1f}",
                  colour=PLATFORM_COLOURS.get(m.platform, "#888888"), basis=_counted_as(m.basis, lang))
             for m in s.platform_mix],
    )




def _refuse_fetch(url: str, *args, **kwargs):
    # The report is self-contained: a PDF of it reads no file and no URL, whatever the data says.
    raise ValueError(f"the weekly report loads nothing: {url[:60]!r} was not fetched")


def render_pdf(s: Summary, lang: str | None = None) -> bytes:
    """The page ``render_html`` writes, laid out as a PDF by WeasyPrint through its A4 print
    stylesheet: one document whether it is seen, downloaded or printed. Raises ReachError, in one
    line, when WeasyPrint (or the Pango library under it) cannot be loaded."""
    lang = _lang(s, lang)
    try:
        import weasyprint
    except (ImportError, OSError) as e:  # OSError: the Python package without Pango/HarfBuzz
        why = (str(e).strip().splitlines() or [type(e).__name__])[0][:120]
        raise ReachError(t("summary.pdf_missing", lang, why=why)) from None
    doc = weasyprint.HTML(string=render_html(s, lang), url_fetcher=_refuse_fetch)
    return doc.write_pdf()


def latest_complete_week(frames, campaign: Campaign, today: date | None = None) -> str:
    """The default week of a summary: the latest whole ISO week with data, else the latest week."""
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    weekly = metrics.weekly_table(inc, frames.posts, campaign, today=today)
    if weekly.empty:
        raise ReachError("no data yet: import export files with `reach import` or run `reach demo`")
    whole = weekly[~weekly["partial"]]
    return str((whole if len(whole) else weekly)["week"].iloc[-1])

"""Filters: what a view is about, as it lives in the URL query string.

A link reproduces a view: date range, platforms, categories, influencers, the metric charted, the
language and kiosk mode are all in the query string, parsed and written here by pure functions
(the page callbacks only call these). Unknown or malformed values are dropped, never trusted,
and each one dropped is kept in ``Filters.ignored`` so the page can say what it ignored and why.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import parse_qs, urlencode

from collectors.model import PLATFORMS

from ..analysis.metrics import Selection, in_window

CHART_METRICS = ("views", "impressions", "views_or_impressions", "engagements", "likes", "comments", "shares", "saves", "clicks", "emv_usd")
LANGS = ("en", "zh")


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    platforms: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    influencers: tuple[str, ...] = ()
    metric: str = "views"
    lang: str = "en"
    kiosk: bool = False
    cumulative: bool = False
    q: str = ""  # a text search (the Posts page), kept when other filters change
    # (parameter, value, reason) for each value of the query string that was dropped; reason is
    # one of IGNORED_REASONS (an i18n key "url.ignored.<reason>"). Not part of the view.
    ignored: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)

    def selection(self) -> Selection:
        return Selection(start=self.start, end=self.end, platforms=self.platforms,
                         influencers=self.influencers, categories=self.categories)


def view_selection(f: Filters, campaign) -> Selection:
    """The filters' selection as a page shows it: without dates, the campaign window
    (``metrics.in_window``)."""
    return in_window(f.selection(), campaign)


IGNORED_REASONS = ("date", "platform", "metric")


def _date(values, key: str, ignored: list) -> date | None:
    if not values:
        return None
    try:
        return date.fromisoformat(values[0].strip())
    except ValueError:
        ignored.append((key, values[0], "date"))
        return None


def _many(q: dict, key: str, split: bool = True) -> tuple[str, ...]:
    out: list[str] = []
    for v in q.get(key, []):
        out += [x for x in v.split(",") if x] if split else [v]
    return tuple(dict.fromkeys(out))  # unique, in the order given


def parse(search: str | None) -> Filters:
    """Filters from a query string like ``?from=2024-12-16&platform=x,tiktok&lang=zh``."""
    q = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    ignored: list[tuple[str, str, str]] = []
    start, end = _date(q.get("from"), "from", ignored), _date(q.get("to"), "to", ignored)
    if start and end and start > end:
        start, end = end, start
    metric = (q.get("metric") or ["views"])[0]
    if metric not in CHART_METRICS:
        ignored.append(("metric", metric, "metric"))
    platforms = _many(q, "platform")
    ignored += [("platform", p, "platform") for p in platforms if p not in PLATFORMS]
    lang = (q.get("lang") or ["en"])[0].lower()
    lang = "zh" if lang.startswith(("zh", "cn")) else "en"
    return Filters(
        start=start, end=end,
        platforms=tuple(p for p in platforms if p in PLATFORMS),
        categories=_many(q, "category")[:50],
        influencers=_many(q, "influencer", split=False)[:200],  # names may contain commas
        metric=metric if metric in CHART_METRICS else "views",
        lang=lang,
        kiosk=(q.get("kiosk") or ["0"])[0] in ("1", "true", "yes"),
        cumulative=(q.get("view") or ["daily"])[0] == "cumulative",
        q=(q.get("q") or [""])[0].strip()[:200],
        ignored=tuple(ignored),
    )


def to_query(f: Filters) -> str:
    """The query string for ``f``, with defaults left out so links stay short."""
    q: list[tuple[str, str]] = []
    if f.start:
        q.append(("from", f.start.isoformat()))
    if f.end:
        q.append(("to", f.end.isoformat()))
    for key, values in (("platform", f.platforms), ("category", f.categories)):
        if values:
            q.append((key, ",".join(values)))
    q += [("influencer", name) for name in f.influencers]
    if f.metric != "views":
        q.append(("metric", f.metric))
    if f.cumulative:
        q.append(("view", "cumulative"))
    if f.q:
        q.append(("q", f.q))
    if f.lang != "en":
        q.append(("lang", f.lang))
    if f.kiosk:
        q.append(("kiosk", "1"))
    return ("?" + urlencode(q)) if q else ""


def with_changes(f: Filters, **changes) -> Filters:
    return replace(f, **changes)

"""Which platform reports which chart metric, and the note a chart carries when one does not.

X reports impressions but no views, Weibo neither: a chart of views filtered to X is empty, which
looks like a broken page or like zero views, while the cards above it count 643 posts. So a chart
names each platform of the view that lacks the chosen metric, the counterpart it reports instead
(views ↔ impressions) and offers a link that switches the chart to it. What a platform reports is
the registry's (``collectors.registry.platform_metrics``): a new report changes the note without
touching the pages. Pure functions, except ``note``, which builds the component.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from dash import dcc, html

from collectors import registry
from collectors.model import PLATFORMS

from ..analysis.config import ENGAGEMENT_METRICS
from ..text.i18n import metric_name, platform_name, t


# The metric a platform reports in place of another: both count how often a post was shown.
COUNTERPARTS = {"views": "impressions", "impressions": "views"}


def reports(platform: str, metric: str, engagement: Iterable[str] = ENGAGEMENT_METRICS,
            known: dict[str, frozenset[str]] | None = None) -> bool:
    """Whether ``platform`` can report the chart metric ``metric``. Canonical metrics are the
    registry's; engagements are the sum of ``engagement`` (campaign.toml), so any one of them
    will do; EMV is priced on views, else impressions."""
    has = (registry.platform_metrics() if known is None else known).get(platform, frozenset())
    if metric == "engagements":
        return any(m in has for m in engagement)
    if metric in ("emv_usd", "views_or_impressions"):
        return "views" in has or "impressions" in has
    return metric in has


@dataclass(frozen=True)
class Gap:
    """Platforms of the view that report no ``metric``; ``counterpart`` is what they report instead
    (None when there is no such metric), ``has_counterpart`` whether they do report it."""
    platforms: tuple[str, ...]
    metric: str
    counterpart: str | None
    has_counterpart: bool


def gaps(platforms: Iterable[str], metric: str, engagement: Iterable[str] = ENGAGEMENT_METRICS,
         known: dict[str, frozenset[str]] | None = None) -> list[Gap]:
    """The platforms among ``platforms`` that lack ``metric``, grouped by what they report instead:
    first those that report the counterpart (they get a switch), then those that do not. Platforms
    in the dashboard's order (model.PLATFORMS)."""
    known = registry.platform_metrics() if known is None else known
    engagement = tuple(engagement)
    order = {p: i for i, p in enumerate(PLATFORMS)}
    lacking = sorted({p for p in platforms if not reports(p, metric, engagement, known)},
                     key=lambda p: (order.get(p, len(order)), p))
    other = COUNTERPARTS.get(metric)
    if not lacking:
        return []
    if other is None:
        return [Gap(tuple(lacking), metric, None, False)]
    with_other = tuple(p for p in lacking if reports(p, other, engagement, known))
    without = tuple(p for p in lacking if p not in with_other)
    return [g for g in (Gap(with_other, metric, other, True), Gap(without, metric, other, False)) if g.platforms]


def fmt_list(items: list[str], lang: str) -> str:
    """"X", "X and LinkedIn", "X, LinkedIn and Weibo" / "X、LinkedIn和微博"."""
    if len(items) <= 1:
        return "".join(items)
    return t("list.and", lang, rest=t("list.sep", lang).join(items[:-1]), last=items[-1])


def sentence(gap: Gap, lang: str) -> str:
    """What the note says about one group of platforms."""
    kind = "none" if gap.counterpart is None else "counterpart" if gap.has_counterpart else "neither"
    number = "one" if len(gap.platforms) == 1 else "many"
    return t(f"coverage.{kind}.{number}", lang, platforms=fmt_list([platform_name(p, lang) for p in gap.platforms], lang),
             metric=metric_name(gap.metric, lang),
             counterpart=metric_name(gap.counterpart, lang) if gap.counterpart else "")


def note(found: list[Gap], lang: str, href: Callable[[str], str], id: str, empty: bool = False):
    """The note above a chart (or, with ``empty``, in its place: no platform of the view has the
    metric): one sentence per group of platforms and a link that switches the chart to the
    counterpart; ``href(metric)`` is the page's address with that metric. None when nothing lacks."""
    if not found:
        return None
    parts: list = []
    for g in found:
        parts.append(html.Span(sentence(g, lang)))
        if g.has_counterpart:  # the switch beside the platforms it is for (one group at most has it)
            parts.append(dcc.Link(t("coverage.switch", lang, metric=metric_name(g.counterpart, lang)),
                                  href=href(g.counterpart), id=f"{id}-switch", className="btn metric-switch"))
    return html.Div(parts, id=id, role="status", className="metric-note" + (" empty" if empty else ""))

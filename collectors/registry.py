"""The registry of reports: how a platform module tells the importer what it can read.

A platform module (collectors/platforms/<name>.py) declares one ``Report`` per export format
and calls ``register``; nothing else in the code names a platform. Detection compares a
table's header row with each report's column aliases, which are data (every UI language the
platform exports in), so a new language is a new alias, not new code.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from . import catalog
from .read import header_key

if TYPE_CHECKING:  # pragma: no cover
    from .parse import Cells
    from .read import Table


@dataclass(frozen=True)
class Report:
    platform: str  # one of model.PLATFORMS
    name: str  # stable slug, stored with each import: "x.tweet_activity"
    title: str  # for people: "X legacy analytics, per tweet"
    grain: str  # model.POST_LIFETIME | POST_DAILY | ACCOUNT_DAY
    # field -> header aliases in any language. Fields are canonical metrics, model.POST_FIELDS,
    # model.ACCOUNT_FIELDS, model.TIME_FIELDS, or private names starting with "_".
    columns: Mapping[str, Sequence[str]]
    # Fields whose columns must all be present for a table to be this report.
    required: tuple[str, ...]
    # Turns the table's cells into canonical rows; see parse.Cells for the helpers.
    parse: Callable[["Cells"], None]
    # Extra test on the table's shape, for reports whose headers alone are ambiguous
    # (Facebook lifetime vs per-day exports differ only in the Date column's values).
    accepts: Callable[["Table"], bool] | None = None
    # Columns that, when present, mean the table is NOT this report (e.g. a story column).
    excludes: tuple[str, ...] = ()
    notes: str = ""  # what the platform means by its columns, for docs/platforms.md
    # Lifetime reports only: the platform stops updating a post's totals this long after it was
    # published (WeChat articles: 7 days), so a row's snapshot time is capped at published_at
    # plus this; a later export then repeats the same snapshot instead of inventing idle days.
    frozen_after: timedelta | None = None
    # The report's entry in the header catalogs ("x:content", collectors/catalogs/x.toml): its
    # aliases in every language are added to ``columns``; its layouts and value kinds are what
    # structural detection (collectors/detect.py) compares a table with.
    catalog: str | None = None
    # Which list of the catalog entry holds this report's layouts: reports that share one entry's
    # names may have column orders of their own (Meta's per-day content export: "daily_layouts").
    layouts_key: str = "layouts"
    keys: Mapping[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    # header key -> the catalog languages it belongs to ("en", "vi", ...)
    languages: Mapping[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        columns = {f: list(al) for f, al in self.columns.items()}
        langs: dict[str, set[str]] = {}
        if self.catalog:
            e = catalog.entry(self.catalog)
            for lang, fields in e.aliases.items():
                for f, names in fields.items():
                    bucket = columns.setdefault(f, [])
                    for n in names:
                        if n not in bucket:
                            bucket.append(n)
                        langs.setdefault(header_key(n), set()).add(lang)
            # English first: messages name a column by its first alias.
            for f, names in columns.items():
                en = [n for n in names if "en" in langs.get(header_key(n), ())]
                columns[f] = en + [n for n in names if n not in en]
        object.__setattr__(self, "columns", columns)
        object.__setattr__(
            self, "keys", {f: frozenset(header_key(a) for a in al) for f, al in columns.items()}
        )
        object.__setattr__(self, "languages", {k: frozenset(v) for k, v in langs.items()})

    @property
    def layouts(self) -> list[list[str]]:
        """English column orders of this report seen in real files (fields, in file order)."""
        if not self.catalog:
            return []
        e = catalog.entry(self.catalog)
        return e.layouts if self.layouts_key == "layouts" else [list(x) for x in e.extra.get(self.layouts_key, [])]

    @property
    def kinds(self) -> Mapping[str, str]:
        return catalog.entry(self.catalog).kinds if self.catalog else {}


_REPORTS: dict[str, Report] = {}
_loaded = False


def register(*reports: Report) -> None:
    for r in reports:
        if r.name in _REPORTS and _REPORTS[r.name] is not r:
            raise ValueError(f"report {r.name!r} is registered twice")
        missing = [f for f in r.required if f not in r.columns]
        if missing:
            raise ValueError(f"report {r.name!r} requires fields it has no aliases for: {missing}")
        _REPORTS[r.name] = r
    global _PLATFORM_METRICS
    _PLATFORM_METRICS = None  # a new report can change what its platform reports


def reports() -> list[Report]:
    """All registered reports; importing this loads every module in collectors.platforms."""
    global _loaded
    if not _loaded:
        from . import platforms

        for mod in pkgutil.iter_modules(platforms.__path__):
            if not mod.name.startswith("_"):
                importlib.import_module(f"{platforms.__name__}.{mod.name}")
        _loaded = True
    return list(_REPORTS.values())


def platform_metrics() -> dict[str, frozenset[str]]:
    """Per platform, the canonical metrics (model.METRICS) that any of its registered reports
    carries: what the platform can report at all. X has a report with impressions and none with
    views, Weibo neither. The pages ask this, not a list of their own, so a new report (or a new
    platform module) changes what they say about a metric without touching them."""
    from .model import METRICS

    global _PLATFORM_METRICS
    if _PLATFORM_METRICS is None:  # charts and the basis ask on every render: walk the reports once
        out: dict[str, set[str]] = {}
        for r in reports():
            out.setdefault(r.platform, set()).update(f for f in r.columns if f in METRICS)
        _PLATFORM_METRICS = {p: frozenset(m) for p, m in out.items()}
    return _PLATFORM_METRICS


_PLATFORM_METRICS: dict[str, frozenset[str]] | None = None


def get(name: str) -> Report:
    reports()
    return _REPORTS[name]

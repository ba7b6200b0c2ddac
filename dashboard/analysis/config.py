"""Campaign configuration: the campaign.toml a team keeps beside its database.

Everything the numbers depend on and a team may reasonably disagree on lives here, written down,
rather than in code: the timezone days and ISO weeks are cut in, the campaign window, what counts
as an engagement, CPMs for earned media value, events to annotate, and how a post's first
snapshot is attributed.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collectors.errors import ReachError
from collectors.model import DEFAULT_TIMEZONE

DEFAULT_PATH = Path("campaign.toml")
ENGAGEMENT_METRICS = ("likes", "comments", "shares", "saves")  # the one place to change it
EMV_FORMULA_VERSION = "emv-v1: views x CPM / 1000 (impressions where a platform reports no views)"


@dataclass(frozen=True)
class Event:
    day: date
    label: str
    label_zh: str = ""  # optional `label_zh` in campaign.toml: shown when the page is in Chinese

    def text(self, lang: str) -> str:
        return self.label_zh if lang == "zh" and self.label_zh else self.label


@dataclass(frozen=True)
class DefinitionChange:
    platform: str
    metric: str
    day: date  # the first day the platform counted the metric the new way
    note: str = ""


@dataclass(frozen=True)
class Campaign:
    name: str = "Campaign"
    name_zh: str = ""  # optional `name_zh` in campaign.toml: the name on the Chinese pages and summary
    timezone: str = DEFAULT_TIMEZONE
    start: date | None = None
    end: date | None = None
    hashtags: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    cpm: dict = field(default_factory=dict)  # platform -> USD per 1,000 views
    engagement: tuple[str, ...] = ENGAGEMENT_METRICS
    # How the value of a post's first snapshot is spread: "publish" spreads it from the publish
    # time; "baseline" does the same for posts published in the campaign but treats the first
    # value of a post published before the campaign start as a baseline that is not counted.
    first_snapshot: str = "baseline"
    definition_changes: tuple[DefinitionChange, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def title(self, lang: str) -> str:
        """The campaign's name in ``lang``: ``name_zh`` in Chinese when there is one, else ``name``."""
        return self.name_zh if lang == "zh" and self.name_zh else self.name


def _date(value, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ReachError(f"{where}: {value!r} is not a date like 2024-12-22") from None


def found(path: str | Path | None = None) -> Path | None:
    """The campaign.toml ``load`` reads (--config, REACH_CONFIG or the current folder), or None
    when it takes the defaults."""
    p = Path(path or os.environ.get("REACH_CONFIG") or DEFAULT_PATH)
    return p if p.exists() else None


DEFAULTED_NOTE = ("note: no campaign.toml (none in this folder, no --config or REACH_CONFIG): default settings, "
                  f"{DEFAULT_TIMEZONE} days and no CPM, so EMV is 0 for every platform")


def load(path: str | Path | None = None) -> Campaign:
    """campaign.toml from --config, REACH_CONFIG or the current folder; defaults when absent."""
    p = Path(path or os.environ.get("REACH_CONFIG") or DEFAULT_PATH)
    if not p.exists():
        if path:
            raise ReachError(f"no campaign config at {p}")
        return Campaign()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ReachError(f"{p}: not valid TOML ({e})") from None
    return from_dict(raw, str(p))


def from_dict(raw: dict, where: str = "campaign config") -> Campaign:
    c = raw.get("campaign", raw)
    tz = c.get("timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReachError(f"{where}: timezone {tz!r} is not a name like {DEFAULT_TIMEZONE}") from None
    events = tuple(Event(_date(e["date"], f"{where}, events"), str(e.get("label", "")), str(e.get("label_zh", "")))
                   for e in raw.get("events", []))
    changes = tuple(DefinitionChange(d["platform"], d["metric"], _date(d["date"], f"{where}, definition_changes"),
                                     d.get("note", "")) for d in raw.get("definition_changes", []))
    engagement = tuple(raw.get("engagement", {}).get("metrics", ENGAGEMENT_METRICS))
    from collectors.model import METRICS

    bad = [m for m in engagement if m not in METRICS]
    if bad:
        raise ReachError(f"{where}: engagement metrics {bad} are not canonical metrics ({', '.join(METRICS)})")
    first = c.get("first_snapshot", "baseline")
    if first not in ("publish", "baseline"):
        raise ReachError(f"{where}: first_snapshot must be \"publish\" or \"baseline\", not {first!r}")
    return Campaign(
        name=c.get("name", "Campaign"), name_zh=str(c.get("name_zh", "")), timezone=tz,
        start=_date(c["start"], f"{where}, start") if c.get("start") else None,
        end=_date(c["end"], f"{where}, end") if c.get("end") else None,
        hashtags=tuple(c.get("hashtags", ())), events=events,
        cpm={k: float(v) for k, v in raw.get("cpm", {}).items()},
        engagement=engagement, first_snapshot=first, definition_changes=changes,
    )

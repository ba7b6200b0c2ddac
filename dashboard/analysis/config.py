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


# What a goal can count: the additive metrics of the daily rollup (a sum over days and accounts is
# the campaign's total), and posts published. Rates are ratios of totals and reach is not additive,
# so neither can be summed towards a target; they are not goals.
GOAL_METRICS = ("views", "impressions", "views_or_impressions", "engagements", "likes", "comments", "shares", "saves",
                "clicks", "video_views", "watch_time_s", "followers_gained", "emv_usd", "posts")
GOAL_PER = ("", "influencer-week")  # a campaign total by the deadline, or each influencer in each ISO week


@dataclass(frozen=True)
class Goal:
    """``[[goals]]`` in campaign.toml: a target for a metric over a selection (dashboard/analysis/goals.py)."""
    metric: str
    target: float
    name: str = ""
    name_zh: str = ""
    deadline: date | None = None  # the campaign's end when not given
    platforms: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    influencers: tuple[str, ...] = ()
    per: str = ""  # "" a total by the deadline; "influencer-week": each influencer in each ISO week

    def text(self, lang: str) -> str:
        return self.name_zh if lang == "zh" and self.name_zh else self.name


ALERT_KINDS = ("threshold", "change", "anomaly", "stale", "failure", "goal")
# A threshold on a local day's total, the campaign to date, a post's lifetime value, or what a post
# gained on a local day (the viral post of the day).
ALERT_SCOPES = ("day", "total", "post", "post-day")


@dataclass(frozen=True)
class AlertRule:
    """``[[alerts]]`` in campaign.toml: when to tell people (dashboard/alerts.py, docs/alerts.md)."""
    name: str
    kind: str
    metric: str = "views"
    scope: str = "day"
    above: float | None = None
    below: float | None = None
    change_pct: float | None = None  # change: the size of the change, in percent, either way unless direction
    direction: str = "both"  # change: "up", "down" or "both"
    period: str = "day"  # change: "day" (yesterday against the day before) or "week" (ISO weeks)
    hours: float = 36.0  # stale: a platform's data older than this
    goal: str = ""  # goal: the name of a [[goals]] entry
    detectors: tuple[str, ...] = ()  # anomaly: only these detectors (all when empty)
    platforms: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    influencers: tuple[str, ...] = ()
    posts: tuple[str, ...] = ()  # threshold per post: only these post ids
    channels: tuple[str, ...] = ()
    cooldown_hours: float = 6.0
    muted: bool = False


DEFAULT_REPORT_SCHEDULE = "0 9 * * mon"  # Monday 09:00, campaign time


@dataclass(frozen=True)
class Report:
    """``[[reports]]`` in campaign.toml: the weekly summary sent on a schedule (dashboard/schedules.py)."""
    name: str
    schedule: str = DEFAULT_REPORT_SCHEDULE  # cron: minute hour day-of-month month day-of-week, campaign time
    channels: tuple[str, ...] = ()
    pdf: bool = True  # the e-mail's PDF attachment


@dataclass(frozen=True)
class Collect:
    """``[collect]``: how the Celery workers poll the APIs (docs/workers.md). ``every``: seconds
    between `reach beat`'s collect rounds (None: beat does not collect); ``batch``: accounts per
    task; ``rate``: each platform's request budget (collectors.api.limits.Rate), shared by every
    worker through Redis."""

    every: float | None = None
    batch: int = 25
    rate: dict = field(default_factory=dict)


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
    goals: tuple[Goal, ...] = ()
    alerts: tuple[AlertRule, ...] = ()
    reports: tuple[Report, ...] = ()
    # [[channels]] as written (dashboard/notify/config.py builds them, secrets from the environment
    # or the credentials file, when something is sent: a missing secret fails that delivery, not
    # every command that reads campaign.toml).
    channels: tuple = ()
    url: str = "http://127.0.0.1:8050"  # [dashboard] url: where links in alerts and reports point
    collect: Collect = field(default_factory=Collect)

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
    start = _date(c["start"], f"{where}, start") if c.get("start") else None
    end = _date(c["end"], f"{where}, end") if c.get("end") else None
    goals = tuple(_goal(g, f"{where}, goals[{n}]", end) for n, g in enumerate(raw.get("goals", []), start=1))
    alerts = tuple(alert_rule(r, f"{where}, alerts[{n}]", goals) for n, r in enumerate(raw.get("alerts", []), start=1))
    reports = tuple(_report(r, f"{where}, reports[{n}]") for n, r in enumerate(raw.get("reports", []), start=1))
    url = str(raw.get("dashboard", {}).get("url", Campaign.url)).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ReachError(f"{where}: [dashboard] url {url!r} is not an address like https://reach.example.org")
    channels = tuple(raw.get("channels", []))
    known = {str(ch.get("name", "")) for ch in channels if isinstance(ch, dict)}
    for r in (*alerts, *reports):
        missing = [n for n in r.channels if n not in known]
        if missing:
            raise ReachError(f"{where}: {r.name!r} sends to channel {missing[0]!r}, which no [[channels]] table names "
                             f"({', '.join(sorted(known)) or 'none yet: docs/alerts.md says how to add one'})")
    names = [r.name for r in alerts] + [r.name for r in reports]
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ReachError(f"{where}: two alerts or reports are named {twice!r}; each needs its own name")
    return Campaign(
        name=c.get("name", "Campaign"), name_zh=str(c.get("name_zh", "")), timezone=tz, start=start, end=end,
        hashtags=tuple(c.get("hashtags", ())), events=events,
        cpm={k: float(v) for k, v in raw.get("cpm", {}).items()},
        engagement=engagement, first_snapshot=first, definition_changes=changes, goals=goals, alerts=alerts, reports=reports, channels=channels, url=url,
        collect=_collect(raw.get("collect", {}), f"{where}, [collect]"),
    )


def _collect(c, where: str) -> Collect:
    if c == {}:
        return Collect()  # most campaigns: no need to import the API collectors to say so
    from collectors.api.limits import parse_rates
    from collectors.api.run import parse_every
    from collectors.errors import UsageError

    if not isinstance(c, dict):
        raise ReachError(f"{where}: a table with every, batch and rate, not {c!r}")
    unknown = sorted(set(c) - {"every", "batch", "rate"})
    if unknown:
        raise ReachError(f"{where}: unknown key {unknown[0]!r}; [collect] has every, batch and rate")
    try:
        every = parse_every(str(c["every"])) if c.get("every") else None
    except UsageError as e:
        raise ReachError(f"{where}: every: {str(e).replace('--every ', '')}") from None
    batch = c.get("batch", Collect.batch)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ReachError(f"{where}: batch must be a whole number of accounts per task, 1 or more, not {batch!r}")
    rate = c.get("rate", {})
    if not isinstance(rate, dict):
        raise ReachError(f"{where}: rate is a table of platform = \"requests/window\", like x = \"300/15m\"")
    return Collect(every=every, batch=batch, rate=parse_rates(rate, f"{where} rate"))


def _names(value, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ReachError(f"{where}: {key} must be a list of names like [\"x\", \"youtube\"], not {value!r}")
    return tuple(value)


def _goal(g, where: str, end: date | None) -> Goal:
    """One ``[[goals]]`` table, checked: each mistake named with the goal's place and what was expected."""
    if not isinstance(g, dict):
        raise ReachError(f"{where}: a goal is a table with metric and target, not {g!r}")
    unknown = sorted(set(g) - {"name", "name_zh", "metric", "target", "deadline", "platforms", "categories",
                               "influencers", "per"})
    if unknown:
        raise ReachError(f"{where}: unknown key {unknown[0]!r}; a goal has metric, target, deadline, name, name_zh, "
                         "platforms, categories, influencers and per")
    metric = g.get("metric")
    if metric not in GOAL_METRICS:
        raise ReachError(f"{where}: metric {metric!r} cannot be a goal; expected one of {', '.join(GOAL_METRICS)} "
                         "(rates and reach are not sums)")
    target = g.get("target")
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not target > 0:
        raise ReachError(f"{where}: target {target!r} is not a positive number like 20000000")
    per = str(g.get("per", ""))
    if per not in GOAL_PER:
        raise ReachError(f"{where}: per {per!r} is not \"influencer-week\" (or absent, for a campaign total)")
    deadline = _date(g["deadline"], f"{where}, deadline") if g.get("deadline") else None
    if deadline is None and end is None and not per:
        raise ReachError(f"{where}: no deadline, and the campaign has no end to take as one: set deadline = 2025-01-26")
    return Goal(metric=metric, target=float(target), name=str(g.get("name", "")), name_zh=str(g.get("name_zh", "")),
                deadline=deadline or end, platforms=_names(g.get("platforms", []), "platforms", where),
                categories=_names(g.get("categories", []), "categories", where),
                influencers=_names(g.get("influencers", []), "influencers", where), per=per)


def hours(value, where: str) -> float:
    """A duration like "30m", "6h", "2d" or a number of hours."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    text = str(value).strip().lower()
    units = {"m": 1 / 60, "h": 1.0, "d": 24.0}
    try:
        if text and text[-1] in units and float(text[:-1]) >= 0:
            return float(text[:-1]) * units[text[-1]]
    except ValueError:
        pass
    raise ReachError(f"{where}: {value!r} is not a duration like \"30m\", \"6h\" or \"2d\"")


ALERT_KEYS = {"name", "kind", "metric", "scope", "above", "below", "change_pct", "direction", "period", "hours", "goal",
              "detectors", "platforms", "categories", "influencers", "posts", "channels", "cooldown", "muted"}


def alert_rule(r, where: str, goals: tuple[Goal, ...] = ()) -> AlertRule:
    """One ``[[alerts]]`` table, checked: each mistake named with the rule's place and what was expected."""
    if not isinstance(r, dict):
        raise ReachError(f"{where}: an alert is a table with name and kind, not {r!r}")
    unknown = sorted(set(r) - ALERT_KEYS)
    if unknown:
        raise ReachError(f"{where}: unknown key {unknown[0]!r}; an alert has {', '.join(sorted(ALERT_KEYS))}")
    name = str(r.get("name", "")).strip()
    if not name:
        raise ReachError(f"{where}: name is missing: every alert needs a name, for example \"Viral post\"")
    where = f"{where} ({name})"
    kind = r.get("kind")
    if kind not in ALERT_KINDS:
        raise ReachError(f"{where}: kind {kind!r} is not one of {', '.join(ALERT_KINDS)}")

    def number(key, positive=False):
        v = r.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (positive and not v > 0):
            raise ReachError(f"{where}: {key} {v!r} is not a {'positive ' if positive else ''}number")
        return float(v)

    metric = str(r.get("metric", "views"))
    if kind in ("threshold", "change") and metric not in GOAL_METRICS:
        raise ReachError(f"{where}: metric {metric!r} is not one of {', '.join(GOAL_METRICS)}")
    scope = str(r.get("scope", "day"))
    if scope not in ALERT_SCOPES:
        raise ReachError(f"{where}: scope {scope!r} is not one of {', '.join(ALERT_SCOPES)}")
    if kind == "threshold" and scope in ("post", "post-day") and metric == "posts":
        raise ReachError(f"{where}: a post has no count of posts: choose a metric like views for scope \"post\"")
    above, below = number("above"), number("below")
    if kind == "threshold" and (above is None) == (below is None):
        raise ReachError(f"{where}: a threshold needs one of above = N or below = N")
    if kind == "threshold" and scope in ("post", "post-day") and below is not None:
        raise ReachError(f"{where}: a post alert looks for posts that take off: use above for scope \"{scope}\"")
    change = number("change_pct", positive=True)
    if kind == "change" and change is None:
        raise ReachError(f"{where}: a change alert needs change_pct = N (percent)")
    direction = str(r.get("direction", "both"))
    if direction not in ("up", "down", "both"):
        raise ReachError(f"{where}: direction {direction!r} is not up, down or both")
    period = str(r.get("period", "day"))
    if period not in ("day", "week"):
        raise ReachError(f"{where}: period {period!r} is not day or week")
    goal = str(r.get("goal", ""))
    if kind == "goal" and goal not in {g.name for g in goals}:
        known = ", ".join(repr(g.name) for g in goals if g.name) or "none: give the goal a name"
        raise ReachError(f"{where}: goal {goal!r} is not the name of a [[goals]] entry ({known})")
    muted = r.get("muted", False)
    if not isinstance(muted, bool):
        raise ReachError(f"{where}: muted must be true or false, not {muted!r}")
    return AlertRule(
        name=name, kind=kind, metric=metric, scope=scope, above=above, below=below, change_pct=change,
        direction=direction, period=period,
        hours=hours(r.get("hours", 36), f"{where}, hours") if "hours" in r else 36.0, goal=goal,
        detectors=_names(r.get("detectors", []), "detectors", where),
        platforms=_names(r.get("platforms", []), "platforms", where),
        categories=_names(r.get("categories", []), "categories", where),
        influencers=_names(r.get("influencers", []), "influencers", where),
        posts=_names(r.get("posts", []), "posts", where), channels=_names(r.get("channels", []), "channels", where),
        cooldown_hours=hours(r.get("cooldown", 6), f"{where}, cooldown"), muted=muted)


def _report(r, where: str) -> Report:
    from croniter import croniter

    if not isinstance(r, dict):
        raise ReachError(f"{where}: a report is a table with name, schedule and channels, not {r!r}")
    unknown = sorted(set(r) - {"name", "schedule", "channels", "pdf"})
    if unknown:
        raise ReachError(f"{where}: unknown key {unknown[0]!r}; a report has name, schedule, channels and pdf")
    name = str(r.get("name", "")).strip()
    if not name:
        raise ReachError(f"{where}: name is missing: every report needs a name, for example \"Monday summary\"")
    schedule = str(r.get("schedule", DEFAULT_REPORT_SCHEDULE)).strip()
    if len(schedule.split()) != 5 or not croniter.is_valid(schedule):
        raise ReachError(f"{where} ({name}): schedule {schedule!r} is not a cron expression of five fields like "
                         f"\"{DEFAULT_REPORT_SCHEDULE}\" (minute hour day month weekday, campaign time)")
    pdf = r.get("pdf", True)
    if not isinstance(pdf, bool):
        raise ReachError(f"{where} ({name}): pdf must be true or false, not {pdf!r}")
    return Report(name=name, schedule=schedule, channels=_names(r.get("channels", []), "channels", f"{where} ({name})"),
                  pdf=pdf)

"""Alerts: the rules of campaign.toml's ``[[alerts]]`` evaluated against the data, each event they
find stored once and told to the rule's channels once (docs/alerts.md).

Evaluation runs after every ingest (dashboard/ingest.py) and on a schedule (``reach worker``).
Each kind looks at what it is about:

* ``threshold``: the metric of the rule's selection on a local day (``scope = "day"``: today and
  yesterday, so a late import that pushes yesterday over still counts), the campaign to date
  (``"total"``), or each post's lifetime value (``"post"``: the viral post), ``above`` or ``below`` N;
* ``change``: yesterday against the day before, or the last complete ISO week against the one
  before (``period``), by at least ``change_pct`` percent (``direction`` up, down or both);
* ``anomaly``: a flag of the anomaly scan (dashboard/analysis/anomalies.py) in the selection, from the
  last two days;
* ``stale``: a platform whose newest data is older than ``hours``;
* ``failure``: a file or API answer that failed to import (each failure once);
* ``goal``: a goal that is behind (dashboard/analysis/goals.py), at most once a day.

An event is named by its rule and a key (the post, the day, the week, the failure), stored in
``alert_events`` with a unique (rule, key): an event found again by a later evaluation is not
stored or told twice, and a rebuild keeps the table. A rule's **cooldown** (6 hours unless set)
holds back further notices of that rule after one went out: those events are stored with status
``cooldown`` and listed on the Alerts page, not sent. A muted rule's events are stored as
``muted``. Sending is the caller's (``send``: dashboard/notify), so this module stays a pure
function of the database, the rules and the clock.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

import pandas as pd
import sqlalchemy as sa

from collectors.store import database, ledger

from .analysis import goals as G
from .analysis import metrics, queries
from .analysis.config import AlertRule, Campaign

RECENT_DAYS = 2  # threshold per day and anomaly rules look at today and yesterday


@dataclass(frozen=True)
class Firing:
    """One event a rule found: ``key`` names it within the rule (what makes it the same event
    when found again), ``params`` what its message says."""
    rule: str
    key: str
    kind: str
    value: float | None = None
    threshold: float | None = None
    params: dict = field(default_factory=dict)


def _sel(rule: AlertRule, start: date | None = None, end: date | None = None) -> metrics.Selection:
    return metrics.Selection(start=start, end=end, platforms=rule.platforms, categories=rule.categories,
                             influencers=rule.influencers)


def link(rule: AlertRule, path: str = "/", **extra) -> str:
    """The dashboard view the event is about, as a path and query string the pages read
    (dashboard/web/filters.py's names): the rule's selection, its metric, and ``extra``."""
    q: list[tuple[str, str]] = []
    for key, values in (("platform", rule.platforms), ("category", rule.categories)):
        if values:
            q.append((key, ",".join(values)))
    q += [("influencer", name) for name in rule.influencers]
    if rule.metric not in ("views", "posts") and path == "/":
        q.append(("metric", rule.metric))
    q += [(k, str(v)) for k, v in extra.items() if v not in (None, "")]
    return path + (("?" + urlencode(q)) if q else "")


def _crossed(rule: AlertRule, value: float) -> bool:
    if rule.above is not None:
        return value >= rule.above
    return value <= rule.below


def _daily(eng, campaign: Campaign, rule: AlertRule, start: date, end: date) -> pd.Series:
    goal = G.Goal(rule.metric, 1.0, platforms=rule.platforms, categories=rule.categories,
                  influencers=rule.influencers)
    rows = G.daily(eng, campaign, goal, start, end)
    days = pd.date_range(start, end)
    return rows.groupby("day")["value"].sum().reindex(days, fill_value=0.0)


def _threshold(eng, campaign: Campaign, rule: AlertRule, today: date) -> list[Firing]:
    limit = rule.above if rule.above is not None else rule.below
    sel_params = dict(metric=rule.metric, platforms=list(rule.platforms), categories=list(rule.categories),
                      influencers=list(rule.influencers))
    if rule.scope == "total":
        s = _daily(eng, campaign, rule, campaign.start or today - timedelta(days=365), today)
        value = float(s.sum())
        if _crossed(rule, value):
            return [Firing(rule.name, "total", rule.kind, value, limit, dict(sel_params, scope="total", link=link(rule)))]
        return []
    if rule.scope == "day":
        s = _daily(eng, campaign, rule, today - timedelta(days=RECENT_DAYS - 1), today)
        # "below" on today's partial day would fire every morning: only complete days can be low.
        return [Firing(rule.name, f"day:{d.date()}", rule.kind, float(v), limit,
                       dict(sel_params, scope="day", day=str(d.date()), link=link(rule, start=d.date(), end=d.date())))
                for d, v in s.items() if _crossed(rule, float(v)) and (rule.above is not None or d.date() < today)]
    if rule.scope == "post-day":
        return _post_days(eng, campaign, rule, today, sel_params)
    rows = queries.posts.posts_reaching(eng, campaign, _sel(rule), rule.metric, rule.above, rule.posts)
    return [Firing(rule.name, f"post:{r['platform']}:{r['post_id']}", rule.kind, float(r["value"]), limit,
                   dict(sel_params, scope="post", platform=r["platform"], post_id=r["post_id"], title=r["title"],
                        influencer=r["influencer"], url=r["url"], link=link(rule, "/posts", q=r["post_id"])))
            for r in rows]


def _post_days(eng, campaign: Campaign, rule: AlertRule, today: date, sel_params: dict) -> list[Firing]:
    """Posts whose gain of the metric on today or yesterday (local days) is at least ``above``:
    the metrics engine's daily increments of the posts observed since yesterday, so "gained on a
    day" is exactly what the charts count for that post and day."""
    start = today - timedelta(days=RECENT_DAYS - 1)
    pks = queries.posts.posts_observed_since(eng, campaign, _sel(rule), start)
    if not pks:
        return []
    fr = queries.frames.load_frames(eng, post_pks=pks)
    if rule.posts:
        fr.posts = fr.posts[fr.posts["post_id"].isin(rule.posts)]
    # A group of posts at a time (metrics.in_parts): a post published years ago spreads its first
    # snapshot over every day since, and only the last two days are kept.
    sel = _sel(rule, start, today)
    aggs = [metrics.aggregate(metrics.increments(s, d, campaign), fr.posts, campaign, by=["post", "day"], sel=sel)
            for s, d in metrics.in_parts(fr.snapshots, fr.post_days)]
    aggs = [a for a in aggs if len(a)]
    agg = pd.concat(aggs, ignore_index=True) if aggs else pd.DataFrame()
    if agg.empty or rule.metric not in agg:
        return []
    hits = agg[agg[rule.metric] >= rule.above].merge(fr.posts, left_on="post", right_on="post_pk")
    hits = hits.sort_values(["day", rule.metric, "post_id"], ascending=[True, False, True])
    return [Firing(rule.name, f"post-day:{r['platform']}:{r['post_id']}:{pd.Timestamp(r['day']).date()}", rule.kind,
                   float(r[rule.metric]), rule.above,
                   dict(sel_params, scope="post-day", day=str(pd.Timestamp(r["day"]).date()), platform=r["platform"],
                        post_id=r["post_id"], title=r["title"] if pd.notna(r["title"]) else "",
                        influencer=r["influencer"], url=r["url"] if pd.notna(r["url"]) else "",
                        link=link(rule, "/posts", q=r["post_id"])))
            for _, r in hits.iterrows()]


def _change(eng, campaign: Campaign, rule: AlertRule, today: date) -> list[Firing]:
    if rule.period == "day":
        last = today - timedelta(days=1)
        a, b = (last - timedelta(days=1), last - timedelta(days=1)), (last, last)
        label = str(last)
    else:
        monday = today - timedelta(days=today.weekday())
        last_monday = monday - timedelta(days=7)
        a, b = (last_monday - timedelta(days=7), last_monday - timedelta(days=1)), (last_monday, monday - timedelta(days=1))
        label = metrics.iso_week(pd.Series([pd.Timestamp(last_monday)])).iloc[0]
    s = _daily(eng, campaign, rule, a[0], b[1])
    before = float(s[(s.index >= pd.Timestamp(a[0])) & (s.index <= pd.Timestamp(a[1]))].sum())
    after = float(s[(s.index >= pd.Timestamp(b[0])) & (s.index <= pd.Timestamp(b[1]))].sum())
    if before <= 0:
        return []  # "new" is not a percentage change
    pct = (after - before) / before * 100
    if (rule.direction == "up" and pct < rule.change_pct) or (rule.direction == "down" and -pct < rule.change_pct) \
            or abs(pct) < rule.change_pct:
        return []
    return [Firing(rule.name, f"{rule.period}:{label}", rule.kind, pct, rule.change_pct,
                   dict(metric=rule.metric, period=rule.period, label=label, before=before, after=after,
                        platforms=list(rule.platforms), link=link(rule, start=b[0], end=b[1])))]


def _anomaly(eng, campaign: Campaign, rule: AlertRule, today: date) -> list[Firing]:
    from .analysis.flag_store import live_flags  # the stored scan of the last refresh

    flags = live_flags(eng, campaign)
    if flags is None or flags.empty:
        return []
    f = flags[pd.to_datetime(flags["day"]).dt.date >= today - timedelta(days=RECENT_DAYS - 1)]
    if rule.detectors:
        f = f[f["detector"].isin(rule.detectors)]
    if rule.platforms:
        f = f[f["platform"].isin(rule.platforms)]
    if rule.influencers:
        f = f[f["influencer"].isin(rule.influencers)]
    out = []
    for _, r in f.iterrows():
        subject = r["post_id"] if pd.notna(r.get("post_id")) else r["account"] if pd.notna(r.get("account")) \
            else r["influencer"]
        day = str(pd.Timestamp(r["day"]).date())
        out.append(Firing(rule.name, f"{r['detector']}:{r['platform']}:{subject}:{day}", rule.kind,
                          None if pd.isna(r["value"]) else float(r["value"]), None,
                          dict(detector=r["detector"], day=day, platform=r["platform"], influencer=r["influencer"],
                               subject=str(subject), metric=r["metric"], reason=str(r["reason"]),
                               link=link(rule, "/influencers", influencer=r["influencer"]))))
    return out


def _stale(eng, campaign: Campaign, rule: AlertRule, now: datetime) -> list[Firing]:
    from .analysis.clock import freshness

    fr = freshness(eng, now)
    out = []
    for _, r in fr.iterrows():
        if rule.platforms and r["platform"] not in rule.platforms:
            continue
        if r["age_hours"] > rule.hours:
            # Keyed by the data's own time: new data then stale again is a new event.
            out.append(Firing(rule.name, f"stale:{r['platform']}:{pd.Timestamp(r['as_of']).isoformat()}", rule.kind,
                              float(r["age_hours"]), rule.hours,
                              dict(platform=r["platform"], as_of=pd.Timestamp(r["as_of"]).isoformat(), link="/data")))
    return out


def _failure(eng, campaign: Campaign, rule: AlertRule, now: datetime) -> list[Firing]:
    since = now.replace(tzinfo=None) - timedelta(days=RECENT_DAYS)
    with eng.connect() as conn:
        rows = queries.imports.failures_since(conn, since)
    return [Firing(rule.name, f"failure:{r.id}", rule.kind, None, None,
                   dict(file=r.file_name, error=r.error, platform=r.platform or "", source=r.source,
                        failed_at=pd.Timestamp(r.failed_at, tz="UTC").isoformat(), link="/data"))
            for r in rows if not rule.platforms or (r.platform or "") in rule.platforms]


def _goal(eng, campaign: Campaign, rule: AlertRule, today: date) -> list[Firing]:
    goal = next((g for g in campaign.goals if g.name == rule.goal), None)
    if goal is None:
        return []
    p = G.week_progress(eng, campaign, goal, today) if goal.per else G.progress(eng, campaign, goal, today)
    if p.status != "behind":
        return []
    behind = float(p.behind) if goal.per else float(p.behind_by)
    return [Firing(rule.name, f"goal:{goal.name}:{today}", rule.kind, behind, goal.target,
                   dict(goal=goal.name, goal_zh=goal.name_zh, metric=goal.metric, per=goal.per, target=goal.target,
                        behind=behind, day=str(today), link="/"))]


_BY_DAY = {"threshold": _threshold, "change": _change, "anomaly": _anomaly, "goal": _goal}
_BY_TIME = {"stale": _stale, "failure": _failure}


def evaluate(eng: sa.Engine, campaign: Campaign, now: datetime, rules=None) -> list[Firing]:
    """Every event the rules (campaign.toml's by default) find in the data at ``now``."""
    rules = campaign.alerts if rules is None else rules
    today = now.astimezone(campaign.tz).date()
    out: list[Firing] = []
    for rule in rules:
        # Kinds about days are judged on the local day; stale sources and failures on the instant.
        if rule.kind in _BY_DAY:
            out += _BY_DAY[rule.kind](eng, campaign, rule, today)
        else:
            out += _BY_TIME[rule.kind](eng, campaign, rule, now)
    return out


# --- storing and telling -----------------------------------------------------------------------

def _naive(t: datetime) -> datetime:
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def record(eng: sa.Engine, campaign: Campaign, firings: list[Firing], now: datetime, rules=None,
           stored: list | None = None) -> list[int]:
    """Store the firings not stored before (by rule and key); returns the ids of those to send
    (status ``pending``). The rest of the new ones are ``muted``, ``quiet`` (no channel) or
    ``cooldown``: a notice of the rule went out within its cooldown, or earlier in this batch."""
    rules = {r.name: r for r in (campaign.alerts if rules is None else rules)}
    ids = []
    with database.write_transaction(eng) as conn:
        for f in firings:
            rule = rules.get(f.rule)
            if rule is None:
                continue
            if queries.events.recorded(conn, f.rule, f.key):
                continue  # told once already (or held back): never twice
            if rule.muted:
                status = "muted"
            elif not rule.channels:
                status = "quiet"
            else:
                since = _naive(now) - timedelta(hours=rule.cooldown_hours)
                recent = queries.events.notice_since(conn, f.rule, since)
                status = "cooldown" if recent and rule.cooldown_hours > 0 else "pending"
            new = queries.events.add(conn, rule=f.rule, key=f.key[:400], kind=f.kind, fired_at=_naive(now),
                                     value=f.value, threshold=f.threshold,
                                     params=json.dumps(f.params, ensure_ascii=False, default=str), status=status)
            if stored is not None:
                stored.append(new)
            if status == "pending":
                ids.append(new)
    return ids


@dataclass(frozen=True)
class Event:
    id: int
    rule: str
    key: str
    kind: str
    fired_at: datetime
    value: float | None
    threshold: float | None
    params: dict
    status: str
    deliveries: list
    acknowledged_by: str | None
    acknowledged_at: datetime | None


def _event(r) -> Event:
    return Event(r.id, r.rule, r.key, r.kind, r.fired_at.replace(tzinfo=timezone.utc), r.value, r.threshold,
                 json.loads(r.params or "{}"), r.status, json.loads(r.deliveries or "[]"), r.acknowledged_by,
                 r.acknowledged_at.replace(tzinfo=timezone.utc) if r.acknowledged_at else None)


def events(eng: sa.Engine, limit: int = 200, ids=None) -> list[Event]:
    """The newest events first (or those of ``ids``)."""
    with eng.connect() as conn:
        return [_event(r) for r in queries.events.newest(conn, limit, ids)]


def deliver(eng: sa.Engine, ids: list[int], send) -> list[Event]:
    """Tell each pending event through ``send(event) -> list of dicts`` (one per channel, each with
    ``ok``), then store the results: ``sent`` when every channel took it, else ``failed``."""
    out = []
    for ev in events(eng, ids=ids):
        if ev.status != "pending":
            continue
        results = list(send(ev))
        status = "sent" if results and all(r.get("ok") for r in results) else "failed"
        with database.write_transaction(eng) as conn:
            queries.events.set_outcome(conn, ev.id, status, json.dumps(results, ensure_ascii=False, default=str))
        out.append(ev)
    return events(eng, ids=[e.id for e in out]) if out else []


def run(eng: sa.Engine, campaign: Campaign, now: datetime, send=None, rules=None) -> dict:
    """Evaluate, store what is new and tell it (when ``send`` is given; else the new events stay
    ``pending`` for the next run that can send). Returns counts: found (events the rules see now),
    stored (of them, new: also those held by cooldown or muting), new (to send), sent, failed."""
    found = evaluate(eng, campaign, now, rules)
    stored: list[int] = []
    ids = record(eng, campaign, found, now, rules, stored=stored)
    if send is not None:
        with eng.connect() as conn:  # pending from a run that could not send (no channels configured then)
            ids = sorted(set(ids) | set(queries.events.pending_ids(conn)))
        done = deliver(eng, ids, send)
    else:
        done = []
    return dict(found=len(found), new=len(ids), sent=sum(e.status == "sent" for e in done),
                failed=sum(e.status == "failed" for e in done), stored=len(stored))


def acknowledge(eng: sa.Engine, event_id: int, user: str, now: datetime | None = None) -> bool:
    """Mark an event seen by ``user`` (a viewer may); False when it does not exist."""
    with database.write_transaction(eng) as conn:
        return bool(queries.events.acknowledge(conn, event_id, user, _naive(now or datetime.now(timezone.utc))))


def last_failure(eng: sa.Engine, unresolved: bool = False) -> Event | None:
    """The newest event whose delivery failed (the freshness line and the Alerts page say so);
    with ``unresolved``, only when no notice went out after it (the channel works again)."""
    with eng.connect() as conn:
        r = queries.events.last_failed(conn, unresolved)
    return _event(r) if r else None


# --- what a notice says ------------------------------------------------------------------------

TEXT = {
    "post": ("{rule}: {platform} post by {influencer} reached {value} {metric} (threshold {threshold})",
             "{rule}：{influencer} 的{platform}帖子{metric}达到 {value}（阈值 {threshold}）"),
    "post_day": ("{rule}: {platform} post by {influencer} gained {value} {metric} on {day} (threshold {threshold})",
                 "{rule}：{influencer} 的{platform}帖子在 {day} 新增{metric} {value}（阈值 {threshold}）"),
    "day_above": ("{rule}: {metric} on {day} reached {value} (threshold {threshold})",
                  "{rule}：{day} 的{metric}达到 {value}（阈值 {threshold}）"),
    "day_below": ("{rule}: {metric} on {day} was only {value} (threshold {threshold})",
                  "{rule}：{day} 的{metric}仅为 {value}（阈值 {threshold}）"),
    "total": ("{rule}: {metric} to date reached {value} (threshold {threshold})",
              "{rule}：累计{metric}达到 {value}（阈值 {threshold}）"),
    "change_up": ("{rule}: {metric} rose {pct} on {label} ({before} → {after})",
                  "{rule}：{label} 的{metric}上升 {pct}（{before} → {after}）"),
    "change_down": ("{rule}: {metric} fell {pct} on {label} ({before} → {after})",
                    "{rule}：{label} 的{metric}下降 {pct}（{before} → {after}）"),
    "anomaly": ("{rule}: {platform}, {influencer}, {day}: {reason}", "{rule}：{platform}，{influencer}，{day}：{reason}"),
    "stale": ("{rule}: no new {platform} data for {hours} hours (newest: {as_of})",
              "{rule}：{platform} 已 {hours} 小时没有新数据（最新：{as_of}）"),
    "failure": ("{rule}: {file} could not be imported: {error}", "{rule}：{file} 导入失败：{error}"),
    "goal": ("{rule}: the goal {goal} is behind by {behind} {metric} (target {target})",
             "{rule}：目标「{goal}」落后 {behind} {metric}（目标 {target}）"),
    "goal_week": ("{rule}: the goal {goal} is behind: {behind} influencers below the week's pace (target {target} "
                  "{metric} each)", "{rule}：目标「{goal}」落后：{behind} 位达人低于本周进度（每人目标 {target} {metric}）"),
    "report": ("Weekly summary {week}: {title}", "周报 {week}：{title}"),
    "subject": ("Campaign Reach alert: {rule}", "Campaign Reach 提醒：{rule}"),
}


def message(ev: Event, lang: str, campaign: Campaign) -> tuple[str, str]:
    """(subject, text) of an event's notice in ``lang`` ("en" or "zh"), numbers and names as the
    dashboard writes them in that language."""
    from collectors.model import PLATFORM_LABELS

    from .text.i18n import fmt_date, fmt_datetime, fmt_number, metric_in_sentence

    k = 1 if lang == "zh" else 0
    p = dict(ev.params)
    if p.get("day"):
        p["day"] = fmt_date(p["day"], lang)  # as the pages write a day: 27 Jan 2025, 2025年1月27日

    def num(x, kind="count"):
        return fmt_number(x, lang, kind=kind) if x is not None else "—"

    def platform(code):
        return PLATFORM_LABELS.get(code, code or "?")

    metric = metric_in_sentence(p["metric"], lang) if p.get("metric") else ""
    if ev.kind == "threshold":
        key = {"post": "post", "post-day": "post_day", "total": "total"}.get(p.get("scope")) or (
            "day_above" if ev.value is not None and ev.threshold is not None and ev.value >= ev.threshold else "day_below")
        text = TEXT[key][k].format(rule=ev.rule, platform=platform(p.get("platform")), influencer=p.get("influencer", ""),
                                   value=num(ev.value), threshold=num(ev.threshold), metric=metric, day=p.get("day", ""))
        if key in ("post", "post_day") and p.get("title"):
            text += "\n" + str(p["title"])[:200] + (f"\n{p['url']}" if p.get("url") else "")
    elif ev.kind == "change":
        text = TEXT["change_up" if ev.value >= 0 else "change_down"][k].format(
            rule=ev.rule, metric=metric, pct=fmt_number(abs(ev.value) / 100, lang, kind="rate"), label=p["label"],
            before=num(p["before"]), after=num(p["after"]))
    elif ev.kind == "anomaly":
        text = TEXT["anomaly"][k].format(rule=ev.rule, platform=platform(p.get("platform")),
                                         influencer=p.get("influencer", ""), day=p.get("day", ""), reason=p.get("reason", ""))
    elif ev.kind == "stale":
        text = TEXT["stale"][k].format(rule=ev.rule, platform=platform(p.get("platform")), hours=num(round(ev.value)),
                                       as_of=fmt_datetime(pd.Timestamp(p["as_of"]), lang, campaign.tz))
    elif ev.kind == "failure":
        text = TEXT["failure"][k].format(rule=ev.rule, file=p.get("file", ""), error=p.get("error", ""))
    elif ev.kind == "goal":
        name = p.get("goal_zh") if lang == "zh" and p.get("goal_zh") else p.get("goal", "")
        text = TEXT["goal_week" if p.get("per") else "goal"][k].format(
            rule=ev.rule, goal=name, behind=num(ev.value), metric=metric, target=num(p.get("target")))
    else:
        text = ev.rule
    return TEXT["subject"][k].format(rule=ev.rule), text


# --- sending -----------------------------------------------------------------------------------

def view_url(campaign: Campaign, path: str, lang: str) -> str:
    """The absolute address of a dashboard view for a reader of ``lang`` ([dashboard] url)."""
    if lang == "zh":
        path += ("&" if "?" in path else "?") + "lang=zh"
    return campaign.url + path


def build(campaign: Campaign, **options) -> dict:
    """The channels of campaign.toml by name, each built alone: a channel whose secret is missing
    is its ``ChannelConfigError`` (that channel's deliveries fail and say why), not a failure of
    all. ``options``: session, sleep, clock for every channel (tests)."""
    from .notify import ChannelConfigError, build_channels

    out = {}
    for cfg in campaign.channels:
        name = str(cfg.get("name", "")) if isinstance(cfg, dict) else ""
        try:
            (ch,) = build_channels([cfg], **options)
            out[ch.name] = ch
        except ChannelConfigError as e:
            out[name] = e
    return out


def sender(campaign: Campaign, channels: dict | None = None, **options):
    """``send(event)`` for ``deliver``: the event's notice in each channel's language, to each
    channel its rule names (a report's: its ``[[reports]]`` entry), one result per channel."""
    from .notify import Message

    built = build(campaign, **options) if channels is None else channels
    names = {r.name: r.channels for r in campaign.alerts}

    def send(ev: Event) -> list[dict]:
        out = []
        for name in names.get(ev.rule, ()):
            ch = built.get(name)
            if ch is None or isinstance(ch, Exception):
                out.append(dict(channel=name, ok=False, attempts=0,
                                status=str(ch) if ch is not None else "no such channel in campaign.toml"))
                continue
            subject, text = message(ev, ch.lang, campaign)
            facts = dict(rule=ev.rule, value=ev.value, threshold=ev.threshold, at=ev.fired_at.isoformat(),
                         selection={k: ev.params[k] for k in ("platforms", "categories", "influencers")
                                    if ev.params.get(k)})
            # A rule's own facts beside the event's, never in their place (nor a TypeError).
            facts.update({k: v for k, v in ev.params.items()
                          if k not in facts and k not in ("platforms", "categories", "influencers", "link")})
            d = ch.send(Message(subject, text, link=view_url(campaign, ev.params.get("link", "/"), ch.lang),
                                lang=ch.lang, facts=facts))
            out.append(dict(channel=d.channel, kind=d.kind, ok=d.ok, attempts=d.attempts, status=d.status,
                            at=d.at.isoformat()))
        return out
    return send


def now_of(eng: sa.Engine) -> datetime:
    """The moment rules are judged at: the demo's own clock on a demo database (as the pages'
    "today"), else the wall clock."""
    return ledger.demo_clock(eng) or datetime.now(timezone.utc)


def after_ingest(eng: sa.Engine, campaign: Campaign, **options) -> dict | None:
    """Evaluate and send after an ingest (and on `reach worker`'s schedule); never raises (an import
    has already succeeded): a failure is logged and returned as ``{"error": ...}``."""
    import logging

    if not campaign.alerts:
        return None
    try:
        return run(eng, campaign, now_of(eng), sender(campaign, **options))
    except Exception as e:  # noqa: BLE001 - alerts must never undo or break an import
        logging.getLogger(__name__).warning("alerts not evaluated after the import: %s", e)
        return {"error": str(e)}

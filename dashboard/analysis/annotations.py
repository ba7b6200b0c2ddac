"""Annotations: events editors add from the Live page (a date and time, a label, an optional
Chinese label, an optional selection), stored with their author and time (``schema.annotations``,
kept by ``reach rebuild``), drawn on every time chart beside campaign.toml's ``[[events]]``,
listed in the weekly summary and written by ``reach export events``.

An annotation with a selection (platforms, influencers, categories) shows only on views that
overlap it: one about a TikTok live stream shows when the view includes TikTok (or all
platforms), not on a view of YouTube alone. campaign.toml's events have no selection: every view.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

import sqlalchemy as sa

from collectors.errors import ReachError
from collectors.store import database

from . import metrics, queries
from .config import Campaign, Event

MAX_LABEL = 200  # a label is a line on a chart, not a paragraph
SELECTION_KEYS = ("platforms", "influencers", "categories")


@dataclass(frozen=True)
class Annotation:
    id: int | None
    at: datetime  # aware, UTC
    label: str
    label_zh: str = ""
    platforms: tuple[str, ...] = ()
    influencers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    author: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str = ""

    def text(self, lang: str) -> str:
        return self.label_zh if lang == "zh" and self.label_zh else self.label

    def shows_in(self, sel: metrics.Selection) -> bool:
        """Whether a view of ``sel`` shows it: each of its lists, when it has one, meets the view's
        (a view without that filter shows everything)."""
        for mine, view in ((self.platforms, sel.platforms), (self.influencers, sel.influencers),
                           (self.categories, sel.categories)):
            if mine and view and not set(mine) & set(view):
                return False
        return True

    def local_day(self, campaign: Campaign) -> date:
        return self.at.astimezone(campaign.tz).date()


@dataclass(frozen=True)
class Draft:
    """What an editor typed: checked by ``check`` before anything is stored."""
    day: str
    time: str = ""
    label: str = ""
    label_zh: str = ""
    selection: dict = field(default_factory=dict)


def check(d: Draft, campaign: Campaign) -> tuple[datetime, str, str, dict]:
    """(the instant in UTC, label, Chinese label, selection) of a draft, or ReachError saying which
    field is wrong and what it should be. The date and time are in the campaign timezone."""
    try:
        day = date.fromisoformat(str(d.day).strip())
    except ValueError:
        raise ReachError(f"date {d.day!r} is not a date like 2024-12-22") from None
    hhmm = str(d.time or "").strip()
    try:
        at = time.fromisoformat(hhmm) if hhmm else time(0, 0)
    except ValueError:
        raise ReachError(f"time {d.time!r} is not a time like 14:30") from None
    label, label_zh = str(d.label or "").strip(), str(d.label_zh or "").strip()
    if not label:
        raise ReachError("label is empty: write what happened, for example \"Livestream with the market tour\"")
    for name, value in (("label", label), ("Chinese label", label_zh)):
        if len(value) > MAX_LABEL:
            raise ReachError(f"{name} has {len(value)} characters; at most {MAX_LABEL}")
        if any(ord(ch) < 32 for ch in value):
            raise ReachError(f"{name} has a line break or control character; write it on one line")
    sel = {}
    for key in SELECTION_KEYS:
        v = (d.selection or {}).get(key) or []
        if isinstance(v, str):
            v = [v]
        if not all(isinstance(x, str) for x in v):
            raise ReachError(f"{key} must be names, not {v!r}")
        if v:
            sel[key] = sorted(set(v))
    local = datetime.combine(day, at.replace(tzinfo=None), campaign.tz)
    return local.astimezone(timezone.utc), label, label_zh, sel


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def add(eng: sa.Engine, campaign: Campaign, d: Draft, author: str) -> int:
    at, label, label_zh, sel = check(d, campaign)
    now = _now()
    with database.write_transaction(eng) as conn:
        return queries.annotation_rows.add(conn, at=at.replace(tzinfo=None), label=label, label_zh=label_zh,
                                       selection=json.dumps(sel, ensure_ascii=False), author=author,
                                       created_at=now, updated_at=now, updated_by=author)


def edit(eng: sa.Engine, campaign: Campaign, annotation_id: int, d: Draft, editor: str) -> None:
    at, label, label_zh, sel = check(d, campaign)
    with database.write_transaction(eng) as conn:
        n = queries.annotation_rows.change(
            conn, annotation_id, at=at.replace(tzinfo=None), label=label, label_zh=label_zh,
            selection=json.dumps(sel, ensure_ascii=False), updated_at=_now(), updated_by=editor)
    if not n:
        raise ReachError(f"annotation {annotation_id} does not exist (deleted meanwhile?)")


def delete(eng: sa.Engine, annotation_id: int) -> None:
    with database.write_transaction(eng) as conn:
        n = queries.annotation_rows.remove(conn, annotation_id)
    if not n:
        raise ReachError(f"annotation {annotation_id} does not exist (deleted meanwhile?)")


def _utc(v) -> datetime | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)


def stored(eng: sa.Engine) -> list[Annotation]:
    """Every annotation, oldest first (a database made before schema 8 is migrated on connect)."""
    with eng.connect() as conn:
        rows = queries.annotation_rows.all_by_time(conn)
    out = []
    for r in rows:
        try:
            sel = json.loads(r["selection"] or "{}")
        except ValueError:
            sel = {}
        out.append(Annotation(r["id"], _utc(r["at"]), r["label"], r["label_zh"] or "",
                              tuple(sel.get("platforms", ())), tuple(sel.get("influencers", ())),
                              tuple(sel.get("categories", ())), r["author"], _utc(r["created_at"]),
                              _utc(r["updated_at"]), r["updated_by"]))
    return out


def events(eng: sa.Engine | None, campaign: Campaign, sel: metrics.Selection = metrics.Selection()) -> tuple[Event, ...]:
    """What a time chart of the view ``sel`` marks: campaign.toml's events and the annotations that
    show in the view, by local day, in day order."""
    extra = [] if eng is None else [Event(a.local_day(campaign), a.label, a.label_zh)
                                    for a in stored(eng) if a.shows_in(sel)]
    return tuple(sorted([*campaign.events, *extra], key=lambda e: e.day))


def in_days(eng: sa.Engine, campaign: Campaign, start: date, end: date) -> list[Annotation]:
    """The annotations of the local days start..end (the weekly summary's week)."""
    return [a for a in stored(eng) if start <= a.local_day(campaign) <= end]


EXPORT_COLUMNS = ["date", "time", "label", "label_zh", "source", "platforms", "influencers", "categories", "author",
                  "created_at", "updated_at", "updated_by"]


def export_rows(eng: sa.Engine, campaign: Campaign) -> list[dict]:
    """``reach export events``: campaign.toml's events and the annotations, by date; times in the
    campaign timezone (ISO 8601 with offset for the record times), lists joined with "|"."""
    tz = campaign.tz
    rows = [dict(date=e.day.isoformat(), time="", label=e.label, label_zh=e.label_zh, source="campaign.toml",
                 platforms="", influencers="", categories="", author="", created_at="", updated_at="",
                 updated_by="") for e in campaign.events]
    for a in stored(eng):
        local = a.at.astimezone(tz)
        rows.append(dict(date=local.date().isoformat(), time=local.strftime("%H:%M"), label=a.label,
                         label_zh=a.label_zh, source="annotation", platforms="|".join(a.platforms),
                         influencers="|".join(a.influencers), categories="|".join(a.categories), author=a.author,
                         created_at=a.created_at.astimezone(tz).isoformat(timespec="seconds") if a.created_at else "",
                         updated_at=a.updated_at.astimezone(tz).isoformat(timespec="seconds") if a.updated_at else "",
                         updated_by=a.updated_by))
    return sorted(rows, key=lambda r: (r["date"], r["time"]))

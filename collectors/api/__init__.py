"""API collectors: poll the platforms' APIs and store what they say as snapshot files.

One module per platform (youtube, meta, x, tiktok, bilibili) registers a ``Collector``: the
credentials it needs, the targets it polls (the roster's accounts, a token's own account, a list
of videos) and ``pages(ctx, target, cursor)``, an iterator of pages of canonical rows. ``run.py``
turns each page into a snapshot file (collectors/platforms/api_snapshots.py) and imports it through
the same pipeline as an export file, then remembers where the next page starts, so an interrupted
run resumes without storing a page twice. docs/collectors.md describes the setup per platform.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterator

import sqlalchemy as sa

from ..messages import Message
from ..store import schema
from .credentials import Credentials
from .http import Classifier, Client

MODULES = ("youtube", "meta", "x", "tiktok", "bilibili")


@dataclass
class Target:
    """One thing a collector polls: an account, a token's own account, a list of videos."""

    key: str  # stable, for the saved cursor and the snapshot file name: a channel id, "me", ...
    label: str  # for people: "@handle", "UC123 (@handle)"
    account_id: str | None = None
    handle: str | None = None
    name: str | None = None
    token: str | None = None  # a per-target credential (TikTok: one token per creator)
    token_key: tuple[str, str] | None = None  # where that token is configured, for messages
    items: tuple[str, ...] = ()  # ids to poll when the target is a list (Bilibili)


@dataclass
class Page:
    rows: list[dict]  # canonical rows: post_id, account_*, published_at, url, title, metrics, captured_at
    next_cursor: str | None  # where the next page starts; None when this target is done


@dataclass
class Context:
    platform: str
    client: Client
    credentials: Credentials
    engine: sa.Engine
    since: datetime | None = None  # posts published before this are not polled
    clock: Callable[[], float] = None  # type: ignore[assignment]
    notes: list[str] = field(default_factory=list)  # said under the platform's result line
    cache: dict = field(default_factory=dict)  # what a collector asks once per run (X: the user token's id)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    def note(self, text: str) -> None:
        self.notes.append(text)


@dataclass(frozen=True)
class Collector:
    platform: str  # as stored: youtube, instagram, facebook, x, tiktok, bilibili
    label: str  # "YouTube"
    base_url: str
    # Alternatives, any one of which is enough: (("x", "bearer_token"), ("x", "user_token")).
    credentials: tuple[tuple[str, str], ...]
    targets: Callable[[Context], list[Target]]
    pages: Callable[[Context, Target, "str | None"], Iterator[Page]]
    classify: Classifier | None = None
    # How to renew a refused credential, naming where it is configured (the target's own token, if any).
    renew: Callable[[Credentials, "Target | None"], str] = lambda creds, target=None: Message("api.renew.default")
    target_noun: str = "accounts"
    post_noun: str = "posts"
    setup: str = ""  # what to configure, for the "no credentials" message


_COLLECTORS: dict[str, Collector] = {}


def register(*collectors: Collector) -> None:
    for c in collectors:
        _COLLECTORS[c.platform] = c


def collectors() -> dict[str, Collector]:
    for m in MODULES:
        importlib.import_module(f"{__name__}.{m}")
    return dict(_COLLECTORS)


def roster_accounts(engine: sa.Engine, platform: str) -> list[dict]:
    """The platform's accounts that the roster assigns to an influencer, in a stable order."""
    a = schema.accounts
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(a.c.account_key, a.c.account_id, a.c.handle, a.c.name)
            .where(a.c.platform == platform, a.c.influencer_id.is_not(None))
            .order_by(a.c.account_key)).mappings().all()
    return [dict(r) for r in rows]


def roster_targets(ctx: "Context", platform: str, id_pattern: "re.Pattern", hint: str,
                   extra: Callable[[str], dict] | None = None) -> list[Target]:
    """One target per roster account whose account_id matches ``id_pattern``; any other account is
    skipped with a note naming the roster column to fill (``hint`` says what goes in it).
    ``extra(account_id)`` adds per-target fields (Meta's per-Page tokens)."""
    out = []
    for acc in roster_accounts(ctx.engine, platform):
        aid = (acc["account_id"] or "").strip()
        if not id_pattern.fullmatch(aid):
            ctx.note(f"{account_label(acc)} skipped: fill the roster's account_id column with the {hint}")
            continue
        out.append(Target(key=aid, label=account_label(acc), account_id=aid, handle=acc["handle"],
                          name=acc["name"], **(extra(aid) if extra else {})))
    return out


def account_label(acc: dict) -> str:
    if acc.get("handle") and acc.get("account_id"):
        return f"@{acc['handle']} ({acc['account_id']})"
    if acc.get("handle"):
        return f"@{acc['handle']}"
    return acc.get("account_id") or acc.get("name") or acc.get("account_key") or "?"


def parse_time(text: str | None) -> datetime | None:
    """An API timestamp (ISO 8601 with Z or +0000, as Graph writes it) as an aware UTC datetime."""
    if not text:
        return None
    t = str(text).strip().replace("Z", "+00:00")
    if len(t) >= 5 and t[-5] in "+-" and t[-4:].isdigit():  # +0000 -> +00:00
        t = t[:-2] + ":" + t[-2:]
    try:
        d = datetime.fromisoformat(t)
    except ValueError:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def from_epoch(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def count(value) -> int | None:
    """A counter as the APIs give it (YouTube writes numbers as strings); None when absent or not a
    whole number, so a missing metric stays NULL instead of becoming 0."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return int(f) if f.is_integer() and f >= 0 else None

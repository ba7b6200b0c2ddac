"""The roster: which accounts belong to which influencer, from a CSV the campaign team keeps.

Columns (header names case-insensitive, Chinese accepted): ``name`` (the influencer), ``category``,
``platform``, ``handle`` and/or ``account_id``, and optionally ``followers`` (the account's follower
count, used for engagement rate by followers when no export gives it). An account named in the roster but not yet seen
in any export is created, so later imports attach to it. Accounts that no roster row names keep
their own handle and show as unassigned. Importing a roster is idempotent and all-or-nothing.
"""
from __future__ import annotations

import sqlalchemy as sa

from .errors import RowProblem, StructureError
from .messages import Message
from .model import PLATFORMS
from .read import header_key, read_bytes
from .store import bulk, database, schema

COLUMNS = {
    "name": ("name", "influencer", "姓名", "名称", "达人"),
    "category": ("category", "类别", "分类"),
    "platform": ("platform", "平台"),
    "handle": ("handle", "username", "账号", "用户名"),
    "account_id": ("account_id", "account id", "账号id", "账号 id"),
    "followers": ("followers", "粉丝数", "关注者"),  # optional: the account's follower count
}
CATEGORIES = ("official", "merchant", "entrepreneur", "foreign resident", "journalist", "media",
              "international influencer")
PLATFORM_ALIASES = {"twitter": "x", "x/twitter": "x", "fb": "facebook", "ig": "instagram", "yt": "youtube"}


def load_roster(name: str, data: bytes) -> list[dict]:
    table = read_bytes(name, data)[0]
    keys = table.keys
    pos = {}
    for field, aliases in COLUMNS.items():
        for i, k in enumerate(keys):
            if k in {header_key(a) for a in aliases}:
                pos[field] = i
                break
    missing = [f for f in ("name", "platform") if f not in pos]
    if missing or ("handle" not in pos and "account_id" not in pos):
        raise StructureError(Message("roster.columns", source=name, header=", ".join(table.header)))
    problems, rows = [], []
    for i in range(len(table)):
        cell = {f: str(table.cells.iat[i, j]).strip() for f, j in pos.items()}
        line = table.lines[i]
        platform = cell["platform"].lower()
        platform = PLATFORM_ALIASES.get(platform, platform)
        if platform not in PLATFORMS:
            problems.append(RowProblem(name, line, table.header[pos["platform"]], cell["platform"],
                                       Message("expected.one_of", choices=", ".join(PLATFORMS))))
            continue
        if not cell["name"]:
            problems.append(RowProblem(name, line, table.header[pos["name"]], "", Message("expected.influencer_name")))
            continue
        if not cell.get("handle") and not cell.get("account_id"):
            problems.append(RowProblem(name, line, "handle", "", Message("expected.handle_or_id")))
            continue
        followers = None
        if cell.get("followers"):
            try:
                followers = int(float(cell["followers"].replace(",", "")))
            except ValueError:
                problems.append(RowProblem(name, line, table.header[pos["followers"]], cell["followers"],
                                           Message("expected.whole_followers")))
                continue
        rows.append(dict(name=cell["name"], category=cell.get("category") or None, platform=platform,
                         followers=followers,
                         handle=(cell.get("handle") or "").lstrip("@") or None,
                         account_id=cell.get("account_id") or None))
    if problems:
        raise StructureError(Message("roster.not_imported", source=name, problems=Message.join(
            [str(p) for p in problems[:10]], Message("sep.list"))))
    return rows


def apply_roster(engine: sa.Engine, rows: list[dict]) -> dict:
    """Upsert influencers and attach accounts; returns counts."""
    counts = dict(influencers=0, accounts_linked=0, accounts_created=0)
    # The write lock before the reads: an import creating one of these accounts meanwhile would
    # otherwise make the roster insert it a second time (database.write_transaction).
    with database.write_transaction(engine) as conn:
        known = dict(conn.execute(sa.select(schema.influencers.c.name, schema.influencers.c.id)).all())
        for r in rows:
            if r["name"] not in known:
                known[r["name"]] = conn.execute(
                    schema.influencers.insert().values(name=r["name"], category=r["category"])
                ).inserted_primary_key[0]
                counts["influencers"] += 1
            elif r["category"]:
                conn.execute(schema.influencers.update().where(schema.influencers.c.id == known[r["name"]])
                             .values(category=r["category"]))
        by_platform: dict[str, bulk.AccountResolver] = {}
        for r in rows:
            # Not setdefault(..., AccountResolver(...)): its default is built on every call, and a
            # resolver reads all the platform's accounts (a 6,800-row roster took 90 s on PostgreSQL).
            res = by_platform.get(r["platform"])
            if res is None:
                res = by_platform[r["platform"]] = bulk.AccountResolver(conn, r["platform"])
            before = len(res.by_key)
            pk = res.resolve(r["account_id"], r["handle"], None)
            counts["accounts_created"] += len(res.by_key) > before
            values = dict(influencer_id=known[r["name"]])
            if r.get("followers") is not None:
                values["followers"] = r["followers"]
            conn.execute(schema.accounts.update().where(schema.accounts.c.id == pk).values(**values))
            counts["accounts_linked"] += 1
    return counts


def import_roster(engine: sa.Engine, archive, name: str, data: bytes, *, record: bool = True) -> tuple[int, dict]:
    """Load, apply and archive a roster, so that `reach rebuild` replays it in its place."""
    from datetime import datetime, timezone

    from .archive import Entry, sha256

    rows = load_roster(name, data)
    # Archived and recorded before it is applied: a process killed in between leaves a roster in
    # the manifest that `reach rebuild` applies (what the user asked for), never an applied roster
    # that a rebuild would lose. Applying the same roster twice changes nothing.
    if archive is not None and record:
        digest = sha256(data)
        archive.put(data, digest)
        archive.record(Entry(digest, name, datetime.now(timezone.utc).isoformat(), {"kind": "roster"}))
    counts = apply_roster(engine, rows)
    return len(rows), counts

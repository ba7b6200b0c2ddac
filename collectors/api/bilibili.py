"""Bilibili public view API: the lifetime counters of known videos, no credentials needed.

The videos are the Bilibili posts already in the store plus the ``bvids`` listed under
``[bilibili]`` in the credentials file. ``GET https://api.bilibili.com/x/web-interface/view?bvid=``
answers ``{"code": 0, "message": "0", "data": {...}}`` with ``data.stat`` (view, like, reply,
share, favorite, coin, danmaku), ``data.owner`` (mid, name) and ``data.pubdate`` (epoch seconds).
Errors are a non-zero ``code``: -404 and 62002/62004/62012 (gone, hidden, under review) skip that
video; -412 and -509/-799 (the request was blocked as too frequent) back off. Coins and danmaku
have no canonical metric and are not stored. Videos are polled 50 to a snapshot file.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from ..store import schema
from . import Collector, Context, Page, Target, count, from_epoch, register
from .http import Verdict

BASE_URL = "https://api.bilibili.com"
_BVID = re.compile(r"BV[0-9A-Za-z]{10}")
GONE = {-404, 62002, 62004, 62012}
BLOCKED = {-412, -509, -799}
BATCH = 50


def classify(status: int, data, headers) -> Verdict | None:
    if status == 412:
        return Verdict("throttle", "HTTP 412: the request was blocked as too frequent", None)
    if not isinstance(data, dict) or status >= 300:
        return None
    code = data.get("code")
    if code == 0 or code in GONE:
        return Verdict("ok")
    if code in BLOCKED:
        return Verdict("throttle", f"code {code}: {data.get('message')}", None)
    if code is not None:
        return Verdict("fail", f"{data.get('message')} (code {code})")
    return None


def targets(ctx: Context) -> list[Target]:
    with ctx.engine.connect() as conn:
        stored = [r[0] for r in conn.execute(sa.select(schema.posts.c.post_id).where(schema.posts.c.platform == "bilibili"))]
    listed = ctx.credentials.get("bilibili", "bvids") or []
    if isinstance(listed, str):
        listed = [listed]
    bad = [b for b in listed if not _BVID.fullmatch(str(b))]
    if bad:
        ctx.note(f"left out of bilibili.bvids, not video ids like BV1xx411c7mD: {', '.join(map(str, bad[:5]))}")
    ids = sorted({str(b) for b in [*stored, *listed] if _BVID.fullmatch(str(b))})
    if not ids:
        return []
    return [Target(key="videos", label=f"{len(ids)} videos", items=tuple(ids))]


def pages(ctx: Context, target: Target, cursor: str | None):
    start = int(cursor) if cursor and cursor.isdigit() else 0
    gone = []
    for i in range(start, len(target.items), BATCH):
        rows = []
        for bvid in target.items[i:i + BATCH]:
            r = ctx.client.get("x/web-interface/view", {"bvid": bvid})
            if r.data.get("code") in GONE:
                gone.append(bvid)
                continue
            d = r.data.get("data") or {}
            st, owner = d.get("stat") or {}, d.get("owner") or {}
            rows.append(dict(
                post_id=d.get("bvid") or bvid, account_id=str(owner["mid"]) if owner.get("mid") else None,
                account_name=owner.get("name"), published_at=from_epoch(d.get("pubdate")),
                url=f"https://www.bilibili.com/video/{d.get('bvid') or bvid}", title=d.get("title"),
                post_type="video", captured_at=r.received_at,
                views=count(st.get("view")), likes=count(st.get("like")), comments=count(st.get("reply")),
                shares=count(st.get("share")), saves=count(st.get("favorite")),
            ))
        nxt = str(i + BATCH) if i + BATCH < len(target.items) else None
        yield Page(rows, nxt)
    if gone:
        ctx.note(f"{len(gone)} videos are gone, hidden or under review: {', '.join(gone[:5])}")


register(Collector(
    platform="bilibili", label="Bilibili", base_url=BASE_URL, credentials=(), targets=targets, pages=pages,
    classify=classify, target_noun="lists", post_noun="videos",
))

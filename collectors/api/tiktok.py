"""TikTok Display API: the lifetime counts of a creator's own videos, with that creator's token.

The Display API shows a user token's own account only, so the targets are tokens, not roster
rows: ``tiktok.access_token`` (or REACH_TIKTOK_ACCESS_TOKEN) and one per creator in
``[tiktok.tokens]`` (handle = token). ``POST /v2/video/list/`` pages 20 videos at a time
(``cursor``/``has_more``) and, asked for them in ``fields``, already carries ``view_count``,
``like_count``, ``comment_count`` and ``share_count``: a ``/v2/video/query/`` call per page would
return the same numbers again, so it is not made. The account is the handle in ``share_url``
(``tiktok.com/@handle/video/<id>``), matched to the roster like an export's.

Errors come in the body as ``error.code``: ``access_token_invalid`` (tokens last 24 hours),
``scope_not_authorized`` (the token lacks ``video.list``), ``rate_limit_exceeded`` (HTTP 429).
"""
from __future__ import annotations

import re

from . import Collector, Context, Page, Target, count, from_epoch, register
from ..messages import Message
from .http import Verdict

BASE_URL = "https://open.tiktokapis.com/v2"
FIELDS = "id,create_time,title,video_description,share_url,duration,view_count,like_count,comment_count,share_count"
_HANDLE = re.compile(r"tiktok\.com/@([A-Za-z0-9_.]+)/", re.I)


def classify(status: int, data, headers) -> Verdict | None:
    err = data.get("error") if isinstance(data, dict) else None
    code = err.get("code") if isinstance(err, dict) else None
    message = err.get("message", "") if isinstance(err, dict) else ""
    if code == "access_token_invalid" or (status == 401 and code not in ("ok",)):
        return Verdict("auth", message or str(code or ""))
    if status == 429:
        return None  # the client's own 429 rule: Retry-After when given, else backoff
    if code == "rate_limit_exceeded":
        return Verdict("throttle", f"rate_limit_exceeded: {message}", None)
    if code == "scope_not_authorized":
        return Verdict("fail", "the TikTok token lacks the video.list scope: authorize the app again with "
                               "scopes user.info.basic and video.list")
    if code not in (None, "ok"):
        return Verdict("fail", f"{message} (error.code {code})")
    return None


def renew(creds, target: Target | None = None) -> str:
    where = creds.where(*target.token_key) if target and target.token_key else creds.where("tiktok", "access_token")
    return Message("api.renew.tiktok", where=where)


def targets(ctx: Context) -> list[Target]:
    creds, out = ctx.credentials, []
    single = creds.get("tiktok", "access_token")
    if single:
        out.append(Target(key="token", label="the access_token's account", token=single,
                          token_key=("tiktok", "access_token")))
    tokens = creds.get("tiktok", "tokens") or {}
    if not isinstance(tokens, dict):
        ctx.note("tiktok.tokens in the credentials file should be a table of handle = \"token\"; left out")
        tokens = {}
    for handle, token in sorted(tokens.items()):
        if token:
            h = str(handle).lstrip("@")
            out.append(Target(key=h.lower(), label=f"@{h}", handle=h, token=str(token),
                              token_key=("tiktok", f"tokens.{handle}")))
    return out


def pages(ctx: Context, target: Target, cursor: str | None):
    c = ctx.client
    headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    while True:
        body = {"max_count": 20}
        if cursor:
            body["cursor"] = int(cursor)
        r = c.post("video/list/", {"fields": FIELDS}, body, headers, auth_message=renew(ctx.credentials, target))
        data = (r.data or {}).get("data") or {}
        rows, older = [], False
        for v in data.get("videos") or []:
            if not isinstance(v, dict) or not v.get("id"):
                continue
            published = from_epoch(v.get("create_time"))
            if ctx.since and published and published < ctx.since:
                older = True  # video/list runs newest first
                continue
            m = _HANDLE.search(v.get("share_url") or "")
            rows.append(dict(
                post_id=str(v["id"]), account_handle=m.group(1) if m else target.handle,
                published_at=published, url=v.get("share_url"), title=v.get("title") or v.get("video_description"),
                post_type="video", captured_at=r.received_at,
                views=count(v.get("view_count")), likes=count(v.get("like_count")),
                comments=count(v.get("comment_count")), shares=count(v.get("share_count")),
            ))
        more = bool(data.get("has_more")) and data.get("cursor") is not None and not older
        nxt = str(int(data["cursor"])) if more else None
        yield Page(rows, nxt)
        if not nxt:
            return
        cursor = nxt


register(Collector(
    platform="tiktok", label="TikTok", base_url=BASE_URL,
    credentials=(("tiktok", "access_token"), ("tiktok", "tokens")), targets=targets, pages=pages,
    classify=classify, renew=renew, target_noun="accounts", post_noun="videos",
))

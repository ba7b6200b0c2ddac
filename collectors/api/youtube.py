"""YouTube Data API v3: lifetime statistics of every upload of the roster's channels.

Per channel (the roster's ``account_id``, ``UC...``): ``channels.list(part=contentDetails,snippet)``
gives the uploads playlist; ``playlistItems.list`` pages through it (50 per page, newest first)
and each page's videos get ``videos.list(part=statistics,snippet)`` in one call of up to 50 ids.
One page = one snapshot file. Every call costs 1 quota unit of the default 10,000 a day; quota
exhaustion (HTTP 403, reason ``quotaExceeded``) pauses YouTube until the next midnight Pacific time.
The API key travels in the ``X-Goog-Api-Key`` header (a Google API system parameter), never in a
URL, so no request line or log can show it.
"""
from __future__ import annotations

import re

from . import Collector, Context, Page, Target, count, parse_time, register, roster_targets
from ..messages import Message
from .http import ApiError, Verdict

BASE_URL = "https://www.googleapis.com/youtube/v3"
_CHANNEL_ID = re.compile(r"UC[0-9A-Za-z_-]{22}")
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
KEY_REASONS = {"keyInvalid", "keyExpired", "API_KEY_INVALID", "authError", "API_KEY_SERVICE_BLOCKED"}


def _reasons(data) -> set[str]:
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return set()
    out = {e.get("reason") for e in err.get("errors") or [] if isinstance(e, dict)}
    out |= {d.get("reason") for d in err.get("details") or [] if isinstance(d, dict)}
    return {r for r in out if r}


def classify(status: int, data, headers) -> Verdict | None:
    reasons = _reasons(data)
    message = (data.get("error") or {}).get("message", "") if isinstance(data, dict) else ""
    if status == 403 and reasons & QUOTA_REASONS:
        return Verdict("quota", "daily quota used up")
    if status == 403 and reasons & RATE_REASONS:
        return Verdict("throttle", "rateLimitExceeded", None)
    if status == 401 or (status in (400, 403) and (reasons & KEY_REASONS or "API key not valid" in message)):
        return Verdict("auth", message)
    return None


def renew(creds, target: Target | None = None) -> str:
    return Message("api.renew.youtube", where=creds.where("youtube", "api_key"))


def targets(ctx: Context) -> list[Target]:
    return roster_targets(ctx, "youtube", _CHANNEL_ID, "channel id (UC followed by 22 characters; YouTube "
                          "Studio → Settings → Channel → Advanced settings)")


def pages(ctx: Context, target: Target, cursor: str | None):
    c = ctx.client
    headers = {"X-Goog-Api-Key": ctx.credentials.get("youtube", "api_key")}
    r = c.get("channels", {"part": "contentDetails,snippet", "id": target.account_id}, headers)
    items = (r.data or {}).get("items") or []
    if not items:
        ctx.note(f"{target.label}: YouTube knows no channel with this id; check the roster's account_id")
        yield Page([], None)
        return
    ch = items[0]
    uploads = ((ch.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
    snippet = ch.get("snippet") or {}
    handle = (snippet.get("customUrl") or "").lstrip("@") or target.handle
    name = snippet.get("title") or target.name
    if not uploads:
        yield Page([], None)
        return
    while True:
        params = {"part": "contentDetails", "playlistId": uploads, "maxResults": 50}
        if cursor:
            params["pageToken"] = cursor
        try:
            r = c.get("playlistItems", params, headers)
        except ApiError as e:
            if type(e) is ApiError and e.status == 404 and not cursor:
                # A channel that never uploaded has no uploads playlist to list (playlistNotFound).
                yield Page([], None)
                return
            raise
        listed = (r.data or {}).get("items") or []
        ids, older = [], False
        for it in listed:
            cd = it.get("contentDetails") or {}
            vid = cd.get("videoId")
            published = parse_time(cd.get("videoPublishedAt"))
            if ctx.since and published and published < ctx.since:
                older = True  # the uploads playlist runs newest first: nothing later is newer
                continue
            if vid:
                ids.append(vid)
        rows = []
        if ids:
            v = c.get("videos", {"part": "statistics,snippet", "id": ",".join(ids), "maxResults": 50}, headers)
            for it in (v.data or {}).get("items") or []:
                st, sn = it.get("statistics") or {}, it.get("snippet") or {}
                rows.append(dict(
                    post_id=it.get("id"), account_id=target.account_id, account_handle=handle, account_name=name,
                    published_at=parse_time(sn.get("publishedAt")), url=f"https://www.youtube.com/watch?v={it.get('id')}",
                    title=sn.get("title"), post_type="video", captured_at=v.received_at,
                    views=count(st.get("viewCount")), likes=count(st.get("likeCount")),
                    comments=count(st.get("commentCount")),
                ))
        nxt = None if older else (r.data or {}).get("nextPageToken")
        yield Page(rows, nxt)
        if not nxt:
            return
        cursor = nxt


register(Collector(
    platform="youtube", label="YouTube", base_url=BASE_URL,
    credentials=(("youtube", "api_key"),), targets=targets, pages=pages, classify=classify, renew=renew,
    target_noun="channels", post_noun="videos",
))

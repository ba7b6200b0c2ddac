"""Meta Graph API: Instagram media insights and Facebook Page post insights.

Instagram (the roster's ``account_id`` = the Instagram professional account's id): ``/{id}/media``
pages (cursor ``after``), then ``/{media-id}/insights?metric=views,reach,likes,comments,shares,
saved,total_interactions`` per media. ``views`` replaced ``impressions``/``plays`` in 2025; media
below Meta's minimum audience (error 10) or of a type without insights (error 100) keep the likes
and comments the media list gives.

Facebook (the roster's ``account_id`` = the Page id): ``/{page-id}/posts`` pages with reactions,
comments and shares, then ``/{post-id}/insights?metric=post_total_media_view_unique,post_media_view``
per post: the unique viewers metric that replaced ``post_impressions_unique`` (reach) and the views
that replaced impressions. If Meta refuses ``post_media_view`` (its name is unconfirmed, error 100)
the run keeps reach alone and says so.

Throttling comes as Graph errors 4, 17, 32 or 613 (or 80001-80014), usually in an HTTP 400, not a
429: the wait is the ``estimated_time_to_regain_access`` (minutes) of ``X-Business-Use-Case-Usage``
when present, else exponential backoff. Error 190 is an expired or invalid token.
"""
from __future__ import annotations

import json
import re

from . import Collector, Context, Page, Target, count, parse_time, register, roster_targets
from ..messages import Message
from .http import ApiError, Verdict

BASE_URL = "https://graph.facebook.com/v24.0"
THROTTLE_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
IG_METRICS = "views,reach,likes,comments,shares,saved,total_interactions"
FB_REACH, FB_VIEWS = "post_total_media_view_unique", "post_media_view"
_NUMERIC_ID = re.compile(r"\d{5,25}")
PAGE_SIZE = 25


def graph_error(data) -> tuple[int | None, int | None, str]:
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return None, None, ""
    def _int(v):
        try:
            return int(v)
        except (TypeError, ValueError):
            return None
    return _int(err.get("code")), _int(err.get("error_subcode")), str(err.get("message") or "")


def regain_seconds(headers) -> float | None:
    """The longest ``estimated_time_to_regain_access`` (minutes) in X-Business-Use-Case-Usage, in
    seconds; None when the header is absent, unreadable or says 0."""
    raw = headers.get("X-Business-Use-Case-Usage") or headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [float(e.get("estimated_time_to_regain_access") or 0)
               for entries in (usage.values() if isinstance(usage, dict) else [])
               for e in (entries if isinstance(entries, list) else []) if isinstance(e, dict)]
    best = max(minutes, default=0.0)
    return best * 60 if best > 0 else None


def classify(status: int, data, headers) -> Verdict | None:
    code, sub, message = graph_error(data)
    if code == 190 or (code == 102 and status in (400, 401)):
        return Verdict("auth", message)
    if code in THROTTLE_CODES:
        return Verdict("throttle", f"Graph error {code}: {message}", regain_seconds(headers))
    if code in (1, 2) and status >= 400:  # "unknown" / "service temporarily unavailable": transient
        return Verdict("retry", f"Graph error {code}: {message}")
    if code is not None and status >= 400:
        return Verdict("fail", f"{message} (Graph error {code}" + (f", subcode {sub}" if sub else "") + ")")
    return None


def renew(creds, target: Target | None = None) -> str:
    where = creds.where(*target.token_key) if target and target.token_key else creds.where("meta", "access_token")
    return Message("api.renew.meta", where=where)


def _token(ctx: Context, target: Target) -> str:
    return target.token or ctx.credentials.get("meta", "access_token")


def _targets(ctx: Context, platform: str, what: str) -> list[Target]:
    page_tokens = ctx.credentials.get("meta", "page_tokens") or {}

    def page_token(aid: str) -> dict:
        token = page_tokens.get(aid) if isinstance(page_tokens, dict) else None
        return dict(token=token, token_key=("meta", f"page_tokens.{aid}") if token else None)

    return roster_targets(ctx, platform, _NUMERIC_ID, what, extra=page_token)


def _insight_values(data) -> dict[str, int | None]:
    out = {}
    for m in (data or {}).get("data") or []:
        if not isinstance(m, dict):
            continue
        values = m.get("values") or []
        if values and isinstance(values[0], dict):
            out[m.get("name")] = count(values[0].get("value"))
        elif isinstance(m.get("total_value"), dict):
            out[m.get("name")] = count(m["total_value"].get("value"))
    return out


def _soft_refusal(e: ApiError) -> int | None:
    """The Graph code of an insights call that failed for this media alone (too few viewers, a
    metric the media type lacks), as opposed to a failure of the whole run."""
    if type(e) is not ApiError or e.status not in (400, 403):
        return None
    code, _, _ = graph_error(e.data)
    return code if code in (10, 100) else None


def _next(data) -> str | None:
    paging = (data or {}).get("paging") or {}
    if not paging.get("next"):
        return None
    return (paging.get("cursors") or {}).get("after")


def _listing(ctx: Context, target: Target, token: str, edge: str, fields: str, time_field: str, cursor: str | None):
    """The pages of an account's Graph edge that lists newest first (IG /media, FB /posts), from
    ``cursor``: (response, [(item, published)], next cursor or None). Items older than --since are
    left out, and the listing stops at the page where they begin."""
    while True:
        params = {"fields": fields, "limit": PAGE_SIZE, "access_token": token}
        if cursor:
            params["after"] = cursor
        r = ctx.client.get(f"{target.account_id}/{edge}", params)
        items, older = [], False
        for item in (r.data or {}).get("data") or []:
            published = parse_time(item.get(time_field))
            if ctx.since and published and published < ctx.since:
                older = True
                continue
            items.append((item, published))
        nxt = None if older else _next(r.data)
        yield r, items, nxt
        if not nxt:
            return
        cursor = nxt


# --- Instagram ----------------------------------------------------------------------------------

def ig_targets(ctx: Context) -> list[Target]:
    return _targets(ctx, "instagram", "Instagram professional account's id (digits; GET "
                                      "/{page-id}?fields=instagram_business_account shows it)")


def ig_pages(ctx: Context, target: Target, cursor: str | None):
    c, token = ctx.client, _token(ctx, target)
    skipped = 0
    fields = "id,caption,media_type,media_product_type,permalink,timestamp,username,like_count,comments_count"
    for r, items, nxt in _listing(ctx, target, token, "media", fields, "timestamp", cursor):
        rows = []
        for m, published in items:
            row = dict(post_id=str(m.get("id")), account_id=target.account_id,
                       account_handle=m.get("username") or target.handle, account_name=target.name,
                       published_at=published, url=m.get("permalink"), title=m.get("caption"),
                       post_type=(m.get("media_product_type") or m.get("media_type") or "").lower() or None,
                       captured_at=r.received_at, likes=count(m.get("like_count")),
                       comments=count(m.get("comments_count")))
            try:
                ins = c.get(f"{m.get('id')}/insights", {"metric": IG_METRICS, "access_token": token})
            except ApiError as e:
                if _soft_refusal(e) is None:
                    raise
                skipped += 1
            else:
                v = _insight_values(ins.data)
                row.update(captured_at=ins.received_at, views=v.get("views"), reach=v.get("reach"),
                           shares=v.get("shares"), saves=v.get("saved"))
                for k in ("likes", "comments"):
                    if v.get(k) is not None:
                        row[k] = v[k]
            rows.append(row)
        yield Page(rows, nxt)
    if skipped:
        ctx.note(f"{target.label}: {skipped} media without insights (too few viewers, or a type Meta gives "
                 "no insights for); their likes and comments are stored")


# --- Facebook -----------------------------------------------------------------------------------

def fb_targets(ctx: Context) -> list[Target]:
    return _targets(ctx, "facebook", "Page id (digits; the Page's About → Page transparency, or GET /me/accounts)")


def fb_pages(ctx: Context, target: Target, cursor: str | None):
    c, token = ctx.client, _token(ctx, target)
    metrics = [FB_REACH, FB_VIEWS]
    skipped = 0
    fields = ("id,created_time,message,permalink_url,shares,"
              "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)")
    for r, items, nxt in _listing(ctx, target, token, "posts", fields, "created_time", cursor):
        rows = []
        for p, published in items:
            row = dict(post_id=str(p.get("id")), account_id=target.account_id, account_handle=target.handle,
                       account_name=target.name, published_at=published, url=p.get("permalink_url"),
                       title=p.get("message"), captured_at=r.received_at,
                       likes=count(((p.get("reactions") or {}).get("summary") or {}).get("total_count")),
                       comments=count(((p.get("comments") or {}).get("summary") or {}).get("total_count")),
                       # Graph leaves "shares" out of a post nobody shared (unverified): NULL, not 0.
                       shares=count((p.get("shares") or {}).get("count")))
            while True:
                try:
                    ins = c.get(f"{p.get('id')}/insights", {"metric": ",".join(metrics), "access_token": token})
                except ApiError as e:
                    code = _soft_refusal(e)
                    if code == 100 and FB_VIEWS in metrics:
                        # One unknown metric fails the whole call; keep reach, say so once.
                        metrics = [FB_REACH]
                        ctx.note(f"Facebook refused the views metric {FB_VIEWS} (its name is unconfirmed): "
                                 "stored reach without views")
                        continue
                    if code is None:
                        raise
                    skipped += 1
                else:
                    v = _insight_values(ins.data)
                    row.update(captured_at=ins.received_at, reach=v.get(FB_REACH), views=v.get(FB_VIEWS))
                break
            rows.append(row)
        yield Page(rows, nxt)
    if skipped:
        ctx.note(f"{target.label}: {skipped} posts without insights; their reactions, comments and shares are stored")


register(
    Collector(platform="instagram", label="Instagram", base_url=BASE_URL,
              credentials=(("meta", "access_token"),), targets=ig_targets, pages=ig_pages, classify=classify,
              renew=renew, target_noun="accounts", post_noun="media"),
    Collector(platform="facebook", label="Facebook", base_url=BASE_URL,
              credentials=(("meta", "access_token"),), targets=fb_targets, pages=fb_pages, classify=classify,
              renew=renew, target_noun="Pages", post_noun="posts"),
)

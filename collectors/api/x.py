"""X API v2: public metrics of the roster's accounts' posts, and non-public ones with a user token.

Per account (the roster's ``account_id``, the numeric user id): ``GET /2/users/:id/tweets`` pages
(``max_results=100``, ``tweet.fields=created_at,public_metrics``, retweets left out, ``start_time``
from ``--since``), following ``meta.next_token`` as ``pagination_token``. App-only Bearer tokens
see ``public_metrics``. With a user token (OAuth 2.0 user context), the posts of the token's own
account that are younger than 30 days are looked up again with ``non_public_metrics`` (X gives
them for that window only), which adds link clicks; older posts are not asked for them.

429 answers carry ``x-rate-limit-reset`` (epoch seconds): the client waits until then, or stops
the run when that is further away than it waits.
"""
from __future__ import annotations

import re
from datetime import timedelta

from . import Collector, Context, Page, Target, count, parse_time, register, roster_targets
from ..messages import Message
from .http import Verdict

BASE_URL = "https://api.x.com/2"
_USER_ID = re.compile(r"\d{1,20}")
NON_PUBLIC_DAYS = 30


def classify(status: int, data, headers) -> Verdict | None:
    if status == 401:
        detail = data.get("detail") or data.get("title") if isinstance(data, dict) else ""
        return Verdict("auth", str(detail or ""))
    return None


def renew(creds, target: Target | None = None) -> str:
    if creds.get("x", "bearer_token"):
        return Message("api.renew.x_app", where=creds.where("x", "bearer_token"))
    return _renew_user(creds)


def _renew_user(creds) -> str:
    return Message("api.renew.x_user", where=creds.where("x", "user_token"))


def targets(ctx: Context) -> list[Target]:
    return roster_targets(ctx, "x", _USER_ID, "X user id (digits; GET /2/users/by/username/<handle> shows it)")


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _me(ctx: Context) -> str | None:
    """The user id the user token belongs to (asked once per run)."""
    if "me" not in ctx.cache:
        token = ctx.credentials.get("x", "user_token")
        r = ctx.client.get("users/me", None, _auth(token), auth_message=_renew_user(ctx.credentials))
        ctx.cache["me"] = str(((r.data or {}).get("data") or {}).get("id") or "") or None
    return ctx.cache["me"]


def _row(t: dict, target: Target, handle: str | None, captured_at) -> dict:
    pm = t.get("public_metrics") or {}
    npm = t.get("non_public_metrics") or {}
    return dict(
        post_id=str(t.get("id")), account_id=target.account_id, account_handle=handle, account_name=target.name,
        published_at=parse_time(t.get("created_at")), title=t.get("text"), captured_at=captured_at,
        url=f"https://x.com/{handle or 'i/web'}/status/{t.get('id')}",
        impressions=count(pm.get("impression_count", npm.get("impression_count"))),
        likes=count(pm.get("like_count")), comments=count(pm.get("reply_count")),
        shares=count(pm.get("retweet_count")), saves=count(pm.get("bookmark_count")),
        clicks=count(npm.get("url_link_clicks")),
    )


def pages(ctx: Context, target: Target, cursor: str | None):
    c, creds = ctx.client, ctx.credentials
    bearer, user = creds.get("x", "bearer_token"), creds.get("x", "user_token")
    app_token = bearer or user
    app_renew = renew(creds) if bearer else _renew_user(creds)
    mine = bool(user) and _me(ctx) == target.account_id
    handle = target.handle
    while True:
        params = {"max_results": 100, "tweet.fields": "created_at,public_metrics", "exclude": "retweets"}
        if ctx.since:
            params["start_time"] = ctx.since.strftime("%Y-%m-%dT%H:%M:%SZ")
        if cursor:
            params["pagination_token"] = cursor
        r = c.get(f"users/{target.account_id}/tweets", params, _auth(app_token), auth_message=app_renew)
        data = r.data or {}
        tweets = [t for t in data.get("data") or [] if isinstance(t, dict) and t.get("id")]
        if not tweets and data.get("errors") and not data.get("meta"):
            e = data["errors"][0] if isinstance(data["errors"][0], dict) else {}
            ctx.note(f"{target.label}: X says {e.get('detail') or e.get('title') or 'no such user'}; "
                     "check the roster's account_id")
            yield Page([], None)
            return
        rows = {t["id"]: _row(t, target, handle, r.received_at) for t in tweets}
        if mine:
            cutoff = ctx.now() - timedelta(days=NON_PUBLIC_DAYS)
            recent = [t["id"] for t in tweets if (parse_time(t.get("created_at")) or cutoff) > cutoff]
            if recent:
                # Only these are asked for non-public metrics: X refuses them for older posts.
                lr = c.get("tweets", {"ids": ",".join(recent), "tweet.fields": "created_at,public_metrics,non_public_metrics"},
                           _auth(user), auth_message=_renew_user(creds))
                for t in (lr.data or {}).get("data") or []:
                    if isinstance(t, dict) and t.get("id") in rows:
                        rows[t["id"]] = _row(t, target, handle, lr.received_at)
        nxt = (data.get("meta") or {}).get("next_token")
        yield Page(list(rows.values()), nxt)
        if not nxt:
            return
        cursor = nxt


register(Collector(
    platform="x", label="X", base_url=BASE_URL,
    credentials=(("x", "bearer_token"), ("x", "user_token")), targets=targets, pages=pages, classify=classify,
    renew=renew, target_noun="accounts", post_noun="posts",
))

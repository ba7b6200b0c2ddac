"""X API v2 collector against a real HTTP server in the documented shapes: ``data[]`` with
``public_metrics``, ``meta.next_token`` paging, 429 with ``x-rate-limit-reset``, problem+json 401."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from api_server import api_server, make_runner, make_store, reply, stored_posts  # noqa: F401

BEARER = "AAAAAAAAAAAAAAAAAAAAAFAKEBEARER%2Fxyz0123456789"
USER = "dXNlci10b2tlbi1mYWtlLTAxMjM0NTY3ODk"
UID = "1456000000000000001"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
ROSTER = [("Ahmed Musa", "x", "ahmed_yiwu", UID)]


def tweets(n):
    out = []
    for i in range(n):
        created = NOW - timedelta(days=3 + 9 * i)  # 3, 12, 21, 30, 39 ... days old
        out.append({"id": str(1870000000000000000 + i), "text": f"Tweet {i} #JinHub",
                    "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "edit_history_tweet_ids": [str(1870000000000000000 + i)],
                    "public_metrics": {"retweet_count": i, "reply_count": 2 * i, "like_count": 10 + 3 * i,
                                       "quote_count": 1, "bookmark_count": i % 2, "impression_count": 500 + 41 * i * i},
                    "_non_public": {"impression_count": 500 + 41 * i * i, "url_link_clicks": 7 + i,
                                    "user_profile_clicks": 3}})
    return out


def timeline(items, per_page):
    def answer(req):
        start = int(req.query.get("pagination_token", "p0")[1:])
        chunk = items[start:start + per_page]
        meta = {"result_count": len(chunk), "newest_id": chunk[0]["id"], "oldest_id": chunk[-1]["id"]}
        if start + per_page < len(items):
            meta["next_token"] = f"p{start + per_page}"
        return reply(json={"data": [{k: v for k, v in t.items() if not k.startswith("_")} for t in chunk], "meta": meta})
    return answer


def lookup(items):
    by_id = {t["id"]: t for t in items}

    def answer(req):
        assert req.headers["Authorization"] == f"Bearer {USER}"
        return reply(json={"data": [{"id": i, "text": by_id[i]["text"], "created_at": by_id[i]["created_at"],
                                     "public_metrics": by_id[i]["public_metrics"],
                                     "non_public_metrics": by_id[i]["_non_public"]} for i in req.query["ids"].split(",")]})
    return answer


def _runner(engine, archive, srv, values, **kw):
    return make_runner(engine, archive, {"x": values}, {"x": srv.url("/2")}, clock=lambda: NOW.timestamp(), **kw)


def test_public_metrics_pages_and_non_public_metrics_for_the_last_30_days_only(tmp_path, api_server):
    items = tweets(5)
    api_server.route("GET", f"/2/users/{UID}/tweets", timeline(items, 2))
    api_server.route("GET", "/2/users/me", reply(json={"data": {"id": UID, "name": "Ahmed", "username": "ahmed_yiwu"}}))
    api_server.route("GET", "/2/tweets", lookup(items))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    [res] = _runner(engine, archive, api_server, {"bearer_token": BEARER, "user_token": USER}).run(["x"])
    assert res.status == "ok", res.line()
    assert res.line() == "x: 1 account, 5 posts, 5 snapshots"
    pages = api_server.calls(f"/2/users/{UID}/tweets")
    assert [r.query.get("pagination_token") for r in pages] == [None, "p2", "p4"]
    assert all(r.headers["Authorization"] == f"Bearer {BEARER}" for r in pages)
    # Non-public metrics asked only for posts younger than 30 days (0, 1, 2, 3 are 3-30 days old; 3 is
    # exactly 30 days: not younger), and only with the user token.
    asked = [i for r in api_server.calls("/2/tweets") for i in r.query["ids"].split(",")]
    assert asked == [t["id"] for t in items[:3]]
    got = stored_posts(engine, "x")
    for i, t in enumerate(items):
        row, pm = got[t["id"]], t["public_metrics"]
        assert (row["impressions"], row["likes"], row["comments"], row["shares"], row["saves"]) == (
            pm["impression_count"], pm["like_count"], pm["reply_count"], pm["retweet_count"], pm["bookmark_count"])
        assert row["clicks"] == t["_non_public"]["url_link_clicks"] if i < 3 else pd.isna(row["clicks"])
        assert row["url"] == f"https://x.com/ahmed_yiwu/status/{t['id']}"


def test_an_app_only_token_stores_public_metrics_without_asking_for_non_public_ones(tmp_path, api_server):
    items = tweets(2)
    api_server.route("GET", f"/2/users/{UID}/tweets", timeline(items, 10))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    [res] = _runner(engine, archive, api_server, {"bearer_token": BEARER}).run(["x"])
    assert res.status == "ok" and res.snapshots == 2
    assert api_server.calls("/2/tweets") == [] and api_server.calls("/2/users/me") == []


def test_429_waits_until_x_rate_limit_reset(tmp_path, api_server):
    items = tweets(1)
    page = timeline(items, 10)
    answers = iter([reply(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                                "status": 429}, headers={"x-rate-limit-limit": "1500", "x-rate-limit-remaining": "0",
                                                         "x-rate-limit-reset": str(int(NOW.timestamp()) + 97)})])
    api_server.route("GET", f"/2/users/{UID}/tweets", lambda req: next(answers, None) or page(req))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    runner = _runner(engine, archive, api_server, {"bearer_token": BEARER})
    [res] = runner.run(["x"])
    assert res.status == "ok" and res.snapshots == 1
    assert runner.sleep.waits == [97.0]


def test_a_refused_bearer_token_names_where_to_renew_it(tmp_path, api_server, monkeypatch):
    api_server.route("GET", f"/2/users/{UID}/tweets",
                     reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    runner = _runner(engine, archive, api_server, {"bearer_token": BEARER})
    runner.credentials.sources[("x", "bearer_token")] = "REACH_X_BEARER_TOKEN"
    [res] = runner.run(["x"])
    assert res.status == "failed"
    assert "REACH_X_BEARER_TOKEN" in res.message and "Keys and tokens" in res.message
    assert BEARER not in res.message


def test_an_unknown_user_id_is_a_note_not_a_failure(tmp_path, api_server):
    api_server.route("GET", f"/2/users/{UID}/tweets", reply(json={"errors": [{
        "value": UID, "detail": f"Could not find user with id: [{UID}].", "title": "Not Found Error",
        "resource_type": "user", "parameter": "id", "type": "https://api.twitter.com/2/problems/resource-not-found"}]}))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    [res] = _runner(engine, archive, api_server, {"bearer_token": BEARER}).run(["x"])
    assert res.status == "ok" and res.snapshots == 0
    assert any("Could not find user" in n for n in res.notes)


def test_a_reset_further_away_than_the_cap_stops_x_and_later_runs_wait_for_it(tmp_path, api_server):
    reset = int(NOW.timestamp()) + 2 * 3600
    api_server.route("GET", f"/2/users/{UID}/tweets", reply(429, {"title": "Too Many Requests", "status": 429},
                                                           headers={"x-rate-limit-reset": str(reset)}))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    runner = _runner(engine, archive, api_server, {"bearer_token": BEARER})
    [res] = runner.run(["x"])
    assert res.status == "stopped" and res.failed and runner.sleep.waits == []
    assert "until 2026-11-30 10:00 UTC" in res.message
    calls = len(api_server.requests)
    [later] = _runner(engine, archive, api_server, {"bearer_token": BEARER}).run(["x"])
    assert later.line() == "x: paused: rate limited; next try after 2026-11-30 10:00 UTC"
    assert len(api_server.requests) == calls

"""TikTok Display API and Bilibili public view API collectors against a real HTTP server.

TikTok: ``POST /v2/video/list/`` answering ``{"data": {"videos", "cursor", "has_more"}, "error":
{"code": "ok", "message", "log_id"}}``. Bilibili: ``{"code": 0, "message": "0", "ttl": 1, "data": {...}}``."""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from collectors.store import schema

from api_server import api_server, make_runner, make_store, reply, snapshot_counts, stored_posts  # noqa: F401

TT_TOKEN = "act.FAKEtiktokTOKEN0123456789abcdef"
TT_TOKEN_2 = "act.SECONDtiktokTOKEN0123456789xyz"
OK = {"code": "ok", "message": "", "log_id": "202611300800000000000000000000"}


def tt_videos(n, handle="jinhub.market"):
    return [{"id": str(7440000000000000000 + i), "create_time": 1795000000 - 86400 * i, "title": f"Market tour {i}",
             "video_description": f"Market tour {i} #JinHub", "duration": 30 + i,
             "share_url": f"https://www.tiktok.com/@{handle}/video/{7440000000000000000 + i}",
             "view_count": 10000 + 997 * i * i, "like_count": 300 + 5 * i, "comment_count": 20 + i, "share_count": 4 * i}
            for i in range(n)]


def video_list(items, per_page, token=TT_TOKEN):
    def answer(req):
        assert req.headers["Authorization"] == f"Bearer {token}"
        assert "view_count" in req.query["fields"]
        start = (req.body or {}).get("cursor") or 0
        start = 0 if start == 0 else [i for i, v in enumerate(items) if v["create_time"] * 1000 == start][0] + 1
        chunk = items[start:start + per_page]
        more = start + per_page < len(items)
        return reply(json={"data": {"videos": chunk, "cursor": chunk[-1]["create_time"] * 1000, "has_more": more},
                           "error": OK})
    return answer


def test_tiktok_video_list_pages_are_stored_per_token(tmp_path, api_server):
    mine, theirs = tt_videos(5), tt_videos(2, "yiwu_foodie")
    for v in theirs:
        v["id"] = str(int(v["id"]) + 500)
    tokens = {TT_TOKEN: video_list(mine, 2, TT_TOKEN), TT_TOKEN_2: video_list(theirs, 20, TT_TOKEN_2)}
    api_server.route("POST", "/v2/video/list/", lambda req: tokens[req.headers["Authorization"][7:]](req))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive",
                                 [("Zhou Min", "tiktok", "jinhub.market", None)])
    runner = make_runner(engine, archive, {"tiktok": {"access_token": TT_TOKEN, "tokens": {"yiwu_foodie": TT_TOKEN_2}}},
                         {"tiktok": api_server.url("/v2")})
    [res] = runner.run(["tiktok"])
    assert res.status == "ok", res.line()
    assert res.line() == "tiktok: 2 accounts, 7 videos, 7 snapshots"
    assert [r.body.get("cursor") for r in api_server.calls("/v2/video/list/")
            if r.headers["Authorization"].endswith(TT_TOKEN)] == [None, mine[1]["create_time"] * 1000,
                                                                 mine[3]["create_time"] * 1000]
    got = stored_posts(engine, "tiktok")
    for v in mine + theirs:
        row = got[v["id"]]
        assert (row["views"], row["likes"], row["comments"], row["shares"]) == (
            v["view_count"], v["like_count"], v["comment_count"], v["share_count"])
        assert row["published_at"] == datetime.fromtimestamp(v["create_time"], timezone.utc)
    assert got[mine[0]["id"]]["influencer"] == "Zhou Min"  # the share_url's handle matches the roster
    assert pd.isna(got[theirs[0]["id"]]["influencer"])  # not in the roster: unassigned, still stored


def test_tiktok_access_token_invalid_says_how_to_refresh_it(tmp_path, api_server):
    api_server.route("POST", "/v2/video/list/", reply(401, {"data": {}, "error": {
        "code": "access_token_invalid", "message": "The access token is invalid or not found in the request.",
        "log_id": "20261130080000"}}))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive")
    runner = make_runner(engine, archive, {"tiktok": {"access_token": TT_TOKEN}}, {"tiktok": api_server.url("/v2")})
    [res] = runner.run(["tiktok"])
    assert res.status == "failed"
    assert "refresh token" in res.message and "tiktok.access_token" in res.message and TT_TOKEN not in res.message


BVIDS = ["BV1GJ411x7h7", "BV1xx411c7mD", "BV17x411w7KC"]


def bili_view(bvid, i):
    return {"code": 0, "message": "0", "ttl": 1, "data": {
        "bvid": bvid, "aid": 170001 + i, "title": f"义乌小商品城 {i}", "pubdate": 1795000000 + 3600 * i,
        "owner": {"mid": 2000 + i % 2, "name": f"UP主{i % 2}", "face": "https://i0.hdslb.com/x.jpg"},
        "stat": {"aid": 170001 + i, "view": 5000 + 331 * i, "danmaku": 12, "reply": 40 + i, "favorite": 60 + 2 * i,
                 "coin": 9, "share": 7 + i, "now_rank": 0, "his_rank": 0, "like": 250 + 3 * i, "dislike": 0}}}


def test_bilibili_polls_stored_and_listed_videos_and_skips_gone_ones(tmp_path, api_server):
    answers = {b: bili_view(b, i) for i, b in enumerate(BVIDS)}
    answers["BV1AB411c7zz"] = {"code": -404, "message": "啥都木有", "ttl": 1}
    blocked = iter([{"code": -412, "message": "请求被拦截", "ttl": 1}])

    def view(req):
        if req.query["bvid"] == BVIDS[1]:
            b = next(blocked, None)
            if b:
                return reply(json=b)
        return reply(json=answers[req.query["bvid"]])

    api_server.route("GET", "/x/web-interface/view", view)
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive")
    runner = make_runner(engine, archive, {"bilibili": {"bvids": [*BVIDS, "BV1AB411c7zz", "not-a-bvid"]}},
                         {"bilibili": api_server.url("")})
    [res] = runner.run(["bilibili"])
    assert res.status == "ok", res.line()
    assert res.snapshots == 3 and len(runner.sleep.waits) == 1  # -412: backed off once
    got = stored_posts(engine, "bilibili")
    for i, b in enumerate(BVIDS):
        st = answers[b]["data"]["stat"]
        assert (got[b]["views"], got[b]["likes"], got[b]["comments"], got[b]["shares"], got[b]["saves"]) == (
            st["view"], st["like"], st["reply"], st["share"], st["favorite"])
    assert any("BV1AB411c7zz" in n for n in res.notes) and any("not-a-bvid" in n for n in res.notes)
    # The next run polls the stored videos without being told again.
    runner2 = make_runner(engine, archive, {}, {"bilibili": api_server.url("")})
    before = len(api_server.requests)
    [again] = runner2.run(["bilibili"])
    assert again.status == "ok" and len(api_server.requests) - before == 3
    assert set(snapshot_counts(engine, "bilibili")) == set(BVIDS)


def test_platforms_without_credentials_are_skipped_and_say_what_to_set(tmp_path):
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive")
    results = make_runner(engine, archive, {}, {}).run(["youtube", "instagram", "x", "tiktok", "bilibili"])
    lines = [r.line() for r in results]
    assert lines[0].startswith("youtube: skipped: no credentials: set REACH_YOUTUBE_API_KEY or youtube.api_key")
    assert "REACH_META_ACCESS_TOKEN" in lines[1]
    assert "REACH_X_BEARER_TOKEN" in lines[2] and "REACH_X_USER_TOKEN" in lines[2]
    assert lines[4].startswith("bilibili: skipped: nothing to poll")
    assert not any(r.failed for r in results)
    with engine.connect() as conn:
        assert conn.execute(schema.import_failures.select()).first() is None


def test_a_platform_asked_for_by_name_without_credentials_is_a_failure(tmp_path):
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive")
    [res] = make_runner(engine, archive, {}, {}, explicit=True).run(["tiktok"])
    assert res.failed and res.line().startswith("tiktok: failed: no credentials: set REACH_TIKTOK_ACCESS_TOKEN")

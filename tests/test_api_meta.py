"""Meta Graph API collectors (Instagram media insights, Facebook Page post insights) against a real
HTTP server answering in the Graph API's documented shapes: cursor paging, insights ``data[]``
with ``values[{value}]``, and errors ``{"error": {message, type, code, error_subcode, fbtrace_id}}``."""
from __future__ import annotations

import json

import pandas as pd

from collectors.store import schema

from api_server import api_server, make_runner, make_store, reply, snapshot_counts, stored_posts  # noqa: F401

TOKEN = "EAAGm0PX4ZCpsBAFAKEFAKEFAKE0123456789"
IG_ID = "17841400000000001"
PAGE_ID = "102030405060708"
V = "/v24.0"
ROSTER = [("Chen Jing", "instagram", "jinhub_chen", IG_ID), ("Yiwu Media", "facebook", "yiwumedia", PAGE_ID)]


def graph_error(code, message, subcode=None, type_="OAuthException"):
    err = {"message": message, "type": type_, "code": code, "fbtrace_id": "AbCdEfGh123"}
    if subcode:
        err["error_subcode"] = subcode
    return {"error": err}


def ig_media(n):
    return [{"id": f"179000000000{i:05d}", "caption": f"Jin Hub day {i}", "media_type": "VIDEO" if i % 2 else "IMAGE",
             "media_product_type": "REELS" if i % 2 else "FEED",
             "permalink": f"https://www.instagram.com/p/code{i}/", "timestamp": f"2026-11-{10 + i:02d}T07:56:32+0000",
             "username": "jinhub_chen", "like_count": 40 + i, "comments_count": i,
             "_insights": {"views": 900 + 13 * i * i, "reach": 600 + 7 * i, "likes": 41 + i, "comments": i,
                           "shares": i % 3, "saved": 2 * i, "total_interactions": 50 + 4 * i}} for i in range(n)]


def paged(items, per_page, edge_url, strip=("_insights",)):
    """A Graph edge answered page by page on ``after`` (paging.next carries the token, as Graph's does)."""
    def answer(req):
        start = int(req.query.get("after", "c0")[1:])
        chunk = items[start:start + per_page]
        body = {"data": [{k: v for k, v in it.items() if k not in strip} for it in chunk],
                "paging": {"cursors": {"before": f"c{start}", "after": f"c{start + per_page}"}}}
        if start + per_page < len(items):
            body["paging"]["next"] = f"https://graph.facebook.com{edge_url}?access_token={req.query['access_token']}&after=c{start + per_page}"
        return reply(json=body)
    return answer


def insights_of(items, names_key="_insights", soft=()):
    by_id = {it["id"]: it[names_key] for it in items}

    def answer(req):
        media = req.path.split("/")[-2]
        if media in soft:
            return reply(400, graph_error(10, "(#10) Not enough viewers for the media to show insights",
                                          type_="OAuthException"))
        wanted = req.query["metric"].split(",")
        return reply(json={"data": [{"name": m, "period": "lifetime", "values": [{"value": by_id[media][m]}],
                                     "title": m.title(), "description": "...", "id": f"{media}/insights/{m}/lifetime"}
                                    for m in wanted if m in by_id[media]]})
    return answer


def _runner(engine, archive, srv, **kw):
    return make_runner(engine, archive, {"meta": {"access_token": TOKEN}},
                       {"instagram": srv.url(V), "facebook": srv.url(V)}, **kw)


def test_instagram_media_pages_and_insights_are_stored_with_views_and_reach(db_url, tmp_path, api_server):
    media = ig_media(5)
    api_server.route("GET", f"{V}/{IG_ID}/media", paged(media, 2, f"{V}/{IG_ID}/media"))
    for m in media:
        api_server.route("GET", f"{V}/{m['id']}/insights", insights_of(media, soft={media[3]["id"]}))
    engine, archive = make_store(db_url, tmp_path / "archive", ROSTER)
    [res] = _runner(engine, archive, api_server).run(["instagram"])
    assert res.status == "ok", res.line()
    assert res.line() == "instagram: 1 account, 5 media, 5 snapshots"
    assert [r.query.get("after") for r in api_server.calls(f"{V}/{IG_ID}/media")] == [None, "c2", "c4"]
    assert all(r.query["access_token"] == TOKEN for r in api_server.requests)
    got = stored_posts(engine, "instagram")
    for i, m in enumerate(media):
        row = got[m["id"]]
        if i == 3:  # "Not enough viewers": the media list's likes and comments, no views or reach
            assert (row["likes"], row["comments"]) == (m["like_count"], m["comments_count"])
            assert pd.isna(row["views"]) and pd.isna(row["reach"])
            continue
        ins = m["_insights"]
        assert (row["views"], row["reach"], row["likes"], row["comments"], row["shares"], row["saves"]) == (
            ins["views"], ins["reach"], ins["likes"], ins["comments"], ins["shares"], ins["saved"])
        assert row["url"] == m["permalink"] and row["influencer"] == "Chen Jing"
    assert any("1 media without insights" in n for n in res.notes)


def test_facebook_posts_get_reactions_comments_shares_and_views_insights(tmp_path, api_server):
    posts = [{"id": f"{PAGE_ID}_90000{i}", "created_time": f"2026-11-2{i}T10:00:00+0000", "message": f"Post {i}",
              "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/90000{i}",
              "reactions": {"data": [], "summary": {"total_count": 30 + i}},
              "comments": {"data": [], "summary": {"order": "ranked", "total_count": 2 * i}},
              **({"shares": {"count": i}} if i else {}),
              "_insights": {"post_total_media_view_unique": 500 + 9 * i, "post_media_view": 800 + 17 * i}}
             for i in range(3)]
    api_server.route("GET", f"{V}/{PAGE_ID}/posts", paged(posts, 2, f"{V}/{PAGE_ID}/posts"))
    for p in posts:
        api_server.route("GET", f"{V}/{p['id']}/insights", insights_of(posts))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    page_token = "EAAPAGEtokenFAKE9876543210"
    runner = make_runner(engine, archive, {"meta": {"access_token": TOKEN, "page_tokens": {PAGE_ID: page_token}}},
                         {"facebook": api_server.url(V)})
    [res] = runner.run(["facebook"])
    assert res.status == "ok", res.line()
    # The Page's own token, where one is configured, for its posts and their insights.
    assert {r.query["access_token"] for r in api_server.requests} == {page_token}
    got = stored_posts(engine, "facebook")
    for i, p in enumerate(posts):
        row = got[p["id"]]
        assert row["likes"] == 30 + i and row["comments"] == 2 * i
        assert row["reach"] == p["_insights"]["post_total_media_view_unique"]
        assert row["views"] == p["_insights"]["post_media_view"]
        assert (row["shares"] == i) if i else pd.isna(row["shares"])  # left out by Graph: NULL, not 0


def test_facebook_keeps_reach_when_meta_refuses_the_views_metric(tmp_path, api_server):
    posts = [{"id": f"{PAGE_ID}_1", "created_time": "2026-11-21T10:00:00+0000", "_insights": {"post_total_media_view_unique": 77}}]
    api_server.route("GET", f"{V}/{PAGE_ID}/posts", paged(posts, 5, f"{V}/{PAGE_ID}/posts"))

    def insights(req):
        if "post_media_view" in req.query["metric"].split(","):
            return reply(400, graph_error(100, "(#100) The value must be a valid insights metric", type_="OAuthException"))
        return insights_of(posts)(req)

    api_server.route("GET", f"{V}/{PAGE_ID}_1/insights", insights)
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    [res] = _runner(engine, archive, api_server).run(["facebook"])
    assert res.status == "ok"
    assert stored_posts(engine, "facebook")[f"{PAGE_ID}_1"]["reach"] == 77
    assert any("post_media_view" in n for n in res.notes)


def test_throttling_error_codes_back_off_for_the_time_meta_estimates(tmp_path, api_server):
    media = ig_media(1)
    usage = {IG_ID: [{"type": "instagram", "call_count": 100, "total_cputime": 40, "total_time": 60,
                      "estimated_time_to_regain_access": 3}]}
    # Two throttling answers, then the page.
    answers = iter([reply(400, graph_error(4, "(#4) Application request limit reached"),
                          headers={"X-Business-Use-Case-Usage": json.dumps(usage)}),
                    reply(403, graph_error(613, "Calls to this api have exceeded the rate limit."))])
    page = paged(media, 5, f"{V}/{IG_ID}/media")
    api_server.route("GET", f"{V}/{IG_ID}/media", lambda req: next(answers, None) or page(req))
    api_server.route("GET", f"{V}/{media[0]['id']}/insights", insights_of(media))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    runner = _runner(engine, archive, api_server)
    [res] = runner.run(["instagram"])
    assert res.status == "ok" and res.snapshots == 1
    # Code 4 with the usage header: its 3 minutes; code 613 without: jittered backoff.
    assert runner.sleep.waits[0] == 180.0
    assert len(runner.sleep.waits) == 2 and runner.sleep.waits[1] < 180


def test_an_expired_token_stops_meta_with_how_to_renew_it_and_records_the_failure(tmp_path, api_server):
    expired = graph_error(190, "Error validating access token: Session has expired on Friday, 27-Nov-26 09:00:00 PST. "
                               "The current time is Monday, 30-Nov-26 00:10:00 PST.", subcode=463)
    api_server.route("GET", f"{V}/{IG_ID}/media", reply(400, expired))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    [res] = _runner(engine, archive, api_server).run(["instagram"])
    assert res.status == "failed" and res.failed
    assert "REACH_META_ACCESS_TOKEN" in res.message or "meta.access_token" in res.message
    assert "long-lived" in res.message and "Session has expired" in res.message and TOKEN not in res.message
    assert len(api_server.calls(f"{V}/{IG_ID}/media")) == 1  # not retried
    with engine.connect() as conn:
        [fail] = conn.execute(schema.import_failures.select()).mappings().all()
    assert (fail["platform"], fail["source"], fail["file_name"]) == ("instagram", "api", "Instagram API")
    assert snapshot_counts(engine, "instagram") == {}


def test_an_answer_that_is_not_json_twice_fails_instagram_naming_the_path(tmp_path, api_server):
    api_server.route("GET", f"{V}/{IG_ID}/media", reply(body=b"<!DOCTYPE html><html>Sorry, something went wrong",
                                                        headers={"Content-Type": "text/html"}))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    runner = _runner(engine, archive, api_server)
    [res] = runner.run(["instagram"])
    assert res.status == "failed"
    assert f"GET {V}/{IG_ID}/media" in res.message and "<!DOCTYPE html>" in res.message
    assert TOKEN not in res.message and "access_token" not in res.message
    assert len(api_server.calls(f"{V}/{IG_ID}/media")) == 2 and len(runner.sleep.waits) == 1
    with engine.connect() as conn:
        [fail] = conn.execute(schema.import_failures.select()).mappings().all()
    assert fail["platform"] == "instagram" and "not JSON" in fail["error"]

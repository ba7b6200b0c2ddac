"""YouTube Data API collector against a real HTTP server that answers in the API's documented shape."""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from collectors.api.run import next_pacific_midnight
from collectors.store import ledger, schema

from api_server import ApiServer, api_server, make_runner, make_store, snapshot_counts, stored_posts  # noqa: F401

KEY = "AIzaSyFAKE-youtube-key-0123456789abcd"
CHANNEL = "UC" + "a" * 22
OTHER = "UC" + "b" * 22
UPLOADS = "UU" + "a" * 22
DATE = "Mon, 30 Nov 2026 08:15:00 GMT"


def videos(n: int, start: int = 0) -> list[dict]:
    """n videos with different, irregular numbers (a hidden like count on every fifth)."""
    out = []
    for i in range(start, start + n):
        stats = {"viewCount": str(1000 + 37 * i * i), "commentCount": str(i * 3), "favoriteCount": "0"}
        if i % 5 != 4:
            stats["likeCount"] = str(50 + 11 * i)
        out.append({"id": f"vid{i:08d}", "published": f"2026-11-{(i % 27) + 1:02d}T10:00:00Z", "statistics": stats,
                    "title": f"Video {i}, \"quoted\"\n\nsecond paragraph"})
    return out


class FakeYouTube:
    """channels.list, playlistItems.list (pages of ``per_page``) and videos.list, as documented."""

    def __init__(self, srv: ApiServer, vids: list[dict], per_page: int = 3, date: str | None = DATE):
        self.srv, self.vids, self.per_page, self.date = srv, vids, per_page, date
        base = "/youtube/v3"
        srv.route("GET", f"{base}/channels", self.channels)
        srv.route("GET", f"{base}/playlistItems", self.playlist_items)
        srv.route("GET", f"{base}/videos", self.videos)

    def _reply(self, body):
        return {"status": 200, "json": body, "body": None, "headers": {"Date": self.date} if self.date else {}}

    def channels(self, req):
        if req.query.get("id") != CHANNEL:
            return self._reply({"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 0}, "items": []})
        return self._reply({"kind": "youtube#channelListResponse", "items": [{
            "kind": "youtube#channel", "id": CHANNEL,
            "snippet": {"title": "Yiwu Market Daily", "customUrl": "@yiwudaily"},
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": UPLOADS}}}]})

    def playlist_items(self, req):
        assert req.query["playlistId"] == UPLOADS
        page = int(req.query.get("pageToken", "tok0")[3:])
        chunk = self.vids[page * self.per_page:(page + 1) * self.per_page]
        body = {"kind": "youtube#playlistItemListResponse", "pageInfo": {"totalResults": len(self.vids), "resultsPerPage": 50},
                "items": [{"kind": "youtube#playlistItem", "id": f"pl{v['id']}",
                           "contentDetails": {"videoId": v["id"], "videoPublishedAt": v["published"]}} for v in chunk]}
        if (page + 1) * self.per_page < len(self.vids):
            body["nextPageToken"] = f"tok{page + 1}"
        return self._reply(body)

    def videos(self, req):
        ids = req.query["id"].split(",")
        assert len(ids) <= 50
        by_id = {v["id"]: v for v in self.vids}
        return self._reply({"kind": "youtube#videoListResponse", "items": [{
            "kind": "youtube#video", "id": i,
            "snippet": {"publishedAt": by_id[i]["published"], "title": by_id[i]["title"], "channelId": CHANNEL},
            "statistics": by_id[i]["statistics"]} for i in ids]})


ROSTER = [("Li Wei", "youtube", "yiwudaily", CHANNEL)]


def _runner(engine, archive, srv, **kw):
    return make_runner(engine, archive, {"youtube": {"api_key": KEY}}, {"youtube": srv.url("/youtube/v3")}, **kw)


def test_happy_path_pages_through_uploads_and_stores_every_video_once(db_url, tmp_path, api_server):
    vids = videos(8)
    FakeYouTube(api_server, vids)
    engine, archive = make_store(db_url, tmp_path / "archive", ROSTER)
    [res] = _runner(engine, archive, api_server).run(["youtube"])
    assert res.status == "ok", res.line()
    assert res.line() == "youtube: 1 channel, 8 videos, 8 snapshots"
    # Three playlist pages (3 + 3 + 2), each followed by one videos.list call for that page's ids.
    assert [r.query.get("pageToken") for r in api_server.calls("/youtube/v3/playlistItems")] == [None, "tok1", "tok2"]
    assert len(api_server.calls("/youtube/v3/videos")) == 3
    # The key travels in a header, never in a URL.
    assert all(r.headers.get("X-Goog-Api-Key") == KEY and KEY not in r.raw_url for r in api_server.requests)
    got = stored_posts(engine, "youtube")
    assert set(got) == {v["id"] for v in vids}
    for v in vids:
        row, st = got[v["id"]], v["statistics"]
        assert row["views"] == int(st["viewCount"])
        assert row["comments"] == int(st["commentCount"])
        if "likeCount" in st:
            assert row["likes"] == int(st["likeCount"])
        else:  # hidden: NULL, never 0
            assert pd.isna(row["likes"])
        assert row["published_at"] == datetime.fromisoformat(v["published"].replace("Z", "+00:00"))
        assert row["influencer"] == "Li Wei"  # attached to the roster's account
    assert set(snapshot_counts(engine, "youtube").values()) == {1}
    # Three snapshot files, archived and recorded as API imports with the answer's time.
    with engine.connect() as conn:
        imps = conn.execute(schema.imports.select()).mappings().all()
    api = [i for i in imps if i["source"] == "api"]
    assert len(api) == 3 and {i["reports"] for i in api} == {"youtube.api_snapshot"}
    assert {i["captured_at"] for i in api} == {datetime(2026, 11, 30, 8, 15)}
    assert all(archive.path(i["sha256"]).exists() for i in api)
    assert ledger.get_state(engine, "youtube", f"cursor:{CHANNEL}") is None  # done: no cursor left


def test_a_second_identical_answer_changes_nothing(tmp_path, api_server):
    FakeYouTube(api_server, videos(4))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    _runner(engine, archive, api_server).run(["youtube"])
    [again] = _runner(engine, archive, api_server).run(["youtube"])  # same Date header, same numbers
    assert again.status == "ok" and again.snapshots == 0
    assert set(snapshot_counts(engine, "youtube").values()) == {1}


def test_quota_exceeded_pauses_youtube_until_the_next_pacific_midnight(tmp_path, api_server):
    FakeYouTube(api_server, videos(6))
    quota = {"error": {"code": 403, "message": "The request cannot be completed because you have exceeded your "
                                                "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
                       "errors": [{"message": "quota", "domain": "youtube.quota", "reason": "quotaExceeded"}]}}
    api_server.route("GET", "/youtube/v3/videos", {"status": 403, "json": quota, "body": None, "headers": {}})
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    now = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc).timestamp()  # 29 Nov 19:00 in California
    [res] = _runner(engine, archive, api_server, clock=lambda: now).run(["youtube"])
    assert res.status == "stopped" and res.failed
    assert res.line() == "youtube: stopped: daily quota used up; next try after 2026-11-30 08:00 UTC"
    assert ledger.get_state(engine, "youtube", "paused_until") == "2026-11-30T08:00:00+00:00"
    calls = len(api_server.requests)
    # Before midnight Pacific: skipped without a single request.
    [later] = _runner(engine, archive, api_server, clock=lambda: now + 4 * 3600).run(["youtube"])
    assert later.status == "paused" and not later.failed and len(api_server.requests) == calls
    assert "2026-11-30 08:00 UTC" in later.line()
    # The failure is in the import history for the freshness line.
    with engine.connect() as conn:
        fails = conn.execute(schema.import_failures.select()).mappings().all()
    assert [(f["platform"], f["source"]) for f in fails] == [("youtube", "api")]
    assert "quota" in fails[0]["error"]


@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 7, 1, 6, 59, tzinfo=timezone.utc), datetime(2026, 7, 1, 7, 0, tzinfo=timezone.utc)),  # PDT
    (datetime(2026, 7, 1, 7, 0, tzinfo=timezone.utc), datetime(2026, 7, 2, 7, 0, tzinfo=timezone.utc)),
    (datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc), datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)),  # PST
])
def test_next_pacific_midnight_follows_daylight_saving(now, expected):
    assert next_pacific_midnight(now) == expected


def test_an_invalid_key_stops_youtube_with_how_to_renew_it(tmp_path, api_server):
    bad = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                     "errors": [{"message": "API key not valid. Please pass a valid API key.", "domain": "global",
                                 "reason": "badRequest"}], "status": "INVALID_ARGUMENT",
                     "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}
    api_server.route("GET", "/youtube/v3/channels", {"status": 400, "json": bad, "body": None, "headers": {}})
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    [res] = _runner(engine, archive, api_server).run(["youtube"])
    assert res.status == "failed"
    assert "youtube.api_key" in res.message and "Google Cloud Console" in res.message
    assert KEY not in res.message


def test_an_interrupted_run_resumes_from_the_saved_cursor_without_duplicates(tmp_path, api_server):
    vids = videos(9)
    fake = FakeYouTube(api_server, vids)
    broken = {"n": 0}

    def playlist(req):  # fails hard from the third page on, until repaired
        if req.query.get("pageToken") == "tok2" and broken["n"] == 0:
            return {"status": 503, "json": {"error": {"code": 503, "message": "backend error"}}, "body": None, "headers": {}}
        return fake.playlist_items(req)

    api_server.route("GET", "/youtube/v3/playlistItems", playlist)
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    [first] = _runner(engine, archive, api_server).run(["youtube"])
    assert first.status == "failed" and "503" in first.message
    assert first.snapshots == 6
    assert ledger.get_state(engine, "youtube", f"cursor:{CHANNEL}") == "tok2"
    broken["n"] = 1
    fake.date = "Mon, 30 Nov 2026 09:00:00 GMT"
    before = len(api_server.calls("/youtube/v3/playlistItems"))
    [second] = _runner(engine, archive, api_server).run(["youtube"])
    assert second.status == "ok" and second.snapshots == 3
    assert [r.query.get("pageToken") for r in api_server.calls("/youtube/v3/playlistItems")[before:]] == ["tok2"]
    counts = snapshot_counts(engine, "youtube")
    assert set(counts) == {v["id"] for v in vids} and set(counts.values()) == {1}
    assert ledger.get_state(engine, "youtube", f"cursor:{CHANNEL}") is None


def test_roster_accounts_without_a_channel_id_are_skipped_with_the_column_to_fill(tmp_path, api_server):
    FakeYouTube(api_server, videos(2))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive",
                                 ROSTER + [("Anna", "youtube", "annavlogs", None)])
    [res] = _runner(engine, archive, api_server).run(["youtube"])
    assert res.status == "ok" and res.targets == 1
    assert any("@annavlogs skipped" in n and "account_id" in n for n in res.notes)


def test_an_answer_in_an_undocumented_shape_fails_youtube_not_the_run(tmp_path, api_server):
    api_server.route("GET", "/youtube/v3/channels", {"status": 200, "json": ["not", "an", "object"], "body": None,
                                                    "headers": {}})
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    results = _runner(engine, archive, api_server, explicit=True).run(["youtube", "bilibili"])
    assert [r.status for r in results] == ["failed", "skipped"]
    assert "did not have the shape the API documents" in results[0].message

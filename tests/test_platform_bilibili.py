"""Bilibili importer: video statistics CSVs written by community scripts from the public view API.

Bilibili has no creator-center file export; the fixtures are the two header styles such scripts
write (the API's field names with epoch ``pubdate``, and Chinese headers with a date and time).
Expected values are recomputed here from the rows written, never with the code under test.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from collectors.pipeline import Importer
from collectors.store import database, schema

AS_OF = datetime(2025, 1, 3, 12, 0, tzinfo=timezone.utc)
API_HEADER = ["bvid", "aid", "title", "pubdate", "view", "danmaku", "reply", "favorite", "coin", "share", "like",
              "mid", "owner_name"]
API_ROWS = [
    ["BV1Jx4y1A7aB", "113712345678901", "义乌小商品城一日游", "1734861900", "15230", "320", "96", "410", "388", "57", "1203",
     "3493123456789012", "金枢传播"],
    ["BV1Gk4y1B8cD", "113712345678902", "Yiwu night market vlog", "1735030800", "4021", "12", "17", "88", "40", "9", "266",
     "3493123456789012", "金枢传播"],
]
ZH_HEADER = ["BV号", "标题", "发布时间", "时长", "播放量", "点赞", "投币", "收藏", "分享", "评论", "弹幕"]
ZH_ROWS = [["BV1Jx4y1A7aB", "义乌小商品城一日游", "2024-12-22 18:05:00", "05:12", "1.6万", "1300", "401", "450", "60", "101", "333"]]


@pytest.fixture
def engine(db_url):
    e = database.connect(db_url)
    yield e
    e.dispose()


def csv_bytes(header, rows, bom=True) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def stored(engine) -> list[dict]:
    p, a, s = schema.posts, schema.accounts, schema.post_snapshots
    q = (sa.select(p.c.post_id, p.c.url, p.c.title, p.c.published_at, a.c.account_id, a.c.name, a.c.handle,
                   s.c.captured_at, *[s.c[m] for m in ("views", "likes", "comments", "shares", "saves")])
         .select_from(p.join(a, p.c.account_pk == a.c.id).join(s, s.c.post_pk == p.c.id))
         .where(p.c.platform == "bilibili").order_by(p.c.post_id, s.c.captured_at))
    with engine.connect() as c:
        return [dict(r) for r in c.execute(q).mappings()]


def test_api_field_names_map_to_canonical_metrics_and_coins_and_danmaku_are_not_stored(engine):
    r = Importer(engine, None, as_of=AS_OF).import_bytes("bilibili_stats.csv", csv_bytes(API_HEADER, API_ROWS))
    assert r.ok and r.reports == ["bilibili.video_stats"] and r.rejected == 0, r.line()
    got = {g["post_id"]: g for g in stored(engine)}
    for row in API_ROWS:
        d = dict(zip(API_HEADER, row))
        g = got[d["bvid"]]
        assert (g["views"], g["likes"], g["comments"], g["shares"], g["saves"]) == (
            int(d["view"]), int(d["like"]), int(d["reply"]), int(d["share"]), int(d["favorite"]))
        assert g["url"] == f"https://www.bilibili.com/video/{d['bvid']}"
        assert g["published_at"] == datetime.fromtimestamp(int(d["pubdate"]), timezone.utc).replace(tzinfo=None)
        assert (g["account_id"], g["name"]) == (d["mid"], d["owner_name"])
    stored_numbers = {v for g in got.values() for k, v in g.items() if isinstance(v, int)}
    assert not {int(dict(zip(API_HEADER, r))["coin"]) for r in API_ROWS} & stored_numbers
    assert not {int(dict(zip(API_HEADER, r))["danmaku"]) for r in API_ROWS} & stored_numbers


def test_chinese_headers_with_a_local_time_and_wan_numbers_update_the_same_video(engine):
    Importer(engine, None, as_of=AS_OF).import_bytes("bilibili_stats.csv", csv_bytes(API_HEADER, API_ROWS))
    later = datetime(2025, 1, 10, 12, 0, tzinfo=timezone.utc)
    r = Importer(engine, None, as_of=later, account="3493123456789012").import_bytes(
        "up_data.csv", csv_bytes(ZH_HEADER, ZH_ROWS))
    assert r.ok and r.rejected == 0, r.line()
    snaps = [g for g in stored(engine) if g["post_id"] == "BV1Jx4y1A7aB"]
    assert [g["captured_at"] for g in snaps] == [AS_OF.replace(tzinfo=None), later.replace(tzinfo=None)]
    d = dict(zip(ZH_HEADER, ZH_ROWS[0]))
    assert (snaps[1]["views"], snaps[1]["likes"], snaps[1]["comments"], snaps[1]["shares"], snaps[1]["saves"]) == (
        16000, int(d["点赞"]), int(d["评论"]), int(d["分享"]), int(d["收藏"]))
    # Both files name the same uploader: the mid column, and --account given as that mid.
    assert {g["account_id"] for g in snaps} == {"3493123456789012"}
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(schema.accounts)).scalar() == 1
    # The publish time the second file writes is Beijing time: the same instant as the epoch.
    local = datetime.fromisoformat(d["发布时间"]).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert snaps[0]["published_at"] == local.astimezone(timezone.utc).replace(tzinfo=None)


def test_a_row_without_a_bv_id_or_with_a_bad_count_is_rejected_with_where_and_what(engine):
    rows = [API_ROWS[0], ["av170001", *API_ROWS[1][1:]], [*API_ROWS[1][:4], "十万", *API_ROWS[1][5:]]]
    rows[2][0] = "BV1Zz4y1C9eF"
    r = Importer(engine, None, as_of=AS_OF).import_bytes("stats.csv", csv_bytes(API_HEADER, rows))
    assert r.ok and r.rejected == 2
    first, second = sorted(r.problems, key=lambda p: p.line)
    assert (first.source, first.line, first.column, first.value) == ("stats.csv", 3, "bvid", "av170001")
    assert "BV id" in first.expected
    assert (second.line, second.column, second.value, second.expected) == (4, "view", "十万", "a whole number")
    assert [g["post_id"] for g in stored(engine)] == ["BV1Jx4y1A7aB"]


def test_a_publish_time_that_is_neither_a_date_nor_epoch_seconds_is_rejected(engine):
    rows = [API_ROWS[0], [*API_ROWS[1][:3], "yesterday", *API_ROWS[1][4:]]]
    r = Importer(engine, None, as_of=AS_OF).import_bytes("stats.csv", csv_bytes(API_HEADER, rows))
    (p,) = r.problems
    assert (p.line, p.column, p.value) == (3, "pubdate", "yesterday") and "epoch seconds" in p.expected

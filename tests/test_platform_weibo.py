"""Weibo importer: the dataabc weibo-crawler and weiboSpider CSVs, through the whole pipeline.

The fixture tests/fixtures/weibo/1669879400.csv is written the way weibo-crawler writes (UTF-8
with a BOM, the id followed by a tab, retweet columns, a caption with a newline inside quotes).
Expected values are read from the fixture with the csv module, never with the code under test;
the one link code conversion checked is a publicly known pair (z0JH2lOMb = 3501756485200075).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from collectors.pipeline import Importer
from collectors.store import database, schema

FIXTURE = Path(__file__).parent / "fixtures" / "weibo" / "1669879400.csv"
AS_OF = datetime(2024, 12, 27, 14, 0, tzinfo=timezone.utc)
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def engine(db_url):
    e = database.connect(db_url)
    yield e
    e.dispose()


def fixture_rows() -> list[dict]:
    return list(csv.DictReader(io.StringIO(FIXTURE.read_bytes().decode("utf-8-sig"), newline="")))


def stored(engine) -> dict[str, dict]:
    p, a, s = schema.posts, schema.accounts, schema.post_snapshots
    q = (sa.select(p.c.post_id, p.c.url, p.c.title, p.c.published_at, p.c.post_type, a.c.account_id, a.c.handle,
                   s.c.captured_at, s.c.views, s.c.likes, s.c.comments, s.c.shares)
         .select_from(p.join(a, p.c.account_pk == a.c.id).join(s, s.c.post_pk == p.c.id))
         .where(p.c.platform == "weibo"))
    with engine.connect() as c:
        return {r["post_id"]: dict(r) for r in c.execute(q).mappings()}


def utc_naive(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=SH).astimezone(timezone.utc).replace(tzinfo=None)


def crawler_csv(rows: list[list[str]], header: list[str], encoding="utf-8-sig") -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def test_the_crawler_file_stores_each_post_with_its_own_counts_not_the_retweeted_originals(engine):
    r = Importer(engine, None, as_of=AS_OF).import_bytes(FIXTURE.name, FIXTURE.read_bytes())
    assert r.ok and r.reports == ["weibo.crawler"] and r.rejected == 0, r.line()
    rows = fixture_rows()
    got = stored(engine)
    assert len(got) == len(rows) == 3
    for row in rows:
        post = got[row["id"].strip()]  # the crawler writes "5113580000000001\t"
        assert (post["likes"], post["comments"], post["shares"]) == (
            int(row["点赞数"]), int(row["评论数"]), int(row["转发数"]))
        assert post["views"] is None  # Weibo shows no view count: unknown, not zero
        assert post["url"] == f"https://weibo.com/1669879400/{row['bid']}"
        assert post["title"] == row["正文"]
        assert post["published_at"] == utc_naive(row["完整日期"])
        assert post["account_id"] == "1669879400"  # from the file name the crawler gives
        assert post["captured_at"] == AS_OF.replace(tzinfo=None)
    retweet = got["5113700000000003"]
    assert retweet["post_type"] == "repost" and retweet["likes"] == 6
    # The retweeted original's 150000 likes belong to someone else.
    assert max(p["likes"] for p in got.values()) < int(rows[2]["源微博点赞数"])


def test_importing_the_same_bytes_again_changes_nothing(engine):
    imp = Importer(engine, None, as_of=AS_OF)
    first = imp.import_bytes(FIXTURE.name, FIXTURE.read_bytes())
    before = stored(engine)
    again = imp.import_bytes(FIXTURE.name, FIXTURE.read_bytes())
    assert first.ok and again.status == "already imported"
    assert stored(engine) == before


def test_a_copy_resaved_by_excel_in_gb18030_imports_the_same_posts(engine):
    data = FIXTURE.read_bytes().decode("utf-8-sig").encode("gb18030")  # no BOM, as Excel saves it
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really not UTF-8
    r = Importer(engine, None, as_of=AS_OF).import_bytes("1669879400.csv", data)
    assert r.ok and r.rejected == 0, r.line()
    got = stored(engine)
    assert {k: (v["likes"], v["title"]) for k, v in got.items()} == {
        row["id"].strip(): (int(row["点赞数"]), row["正文"]) for row in fixture_rows()}


def test_a_bad_count_rejects_its_row_naming_file_line_column_value_and_expectation(engine):
    text = FIXTURE.read_bytes().decode("utf-8-sig")
    bad = text.replace(",88,9,12,", ",八十八,9,12,")
    assert bad != text
    r = Importer(engine, None, as_of=AS_OF).import_bytes("1669879400.csv", bad.encode("utf-8-sig"))
    assert r.ok and r.rejected == 1
    (problem,) = r.problems
    # The second post starts on line 3 (its caption runs over two lines).
    assert (problem.source, problem.line, problem.column, problem.value) == ("1669879400.csv", 3, "点赞数", "八十八")
    assert "whole number" in problem.expected
    assert "1669879400.csv, line 3" in str(problem)
    assert set(stored(engine)) == {"5113580000000001", "5113700000000003"}


def test_an_id_excel_turned_into_a_float_is_recovered_from_the_bid(engine):
    head = ["id", "bid", "正文", "日期", "点赞数", "评论数", "转发数", "完整日期"]
    data = crawler_csv([["3.50176E+15", "z0JH2lOMb", "老微博", "2012-12-03", "5", "6", "7", "2012-12-03 10:00:00"]], head)
    r = Importer(engine, None, as_of=AS_OF).import_bytes("1642591402.csv", data)
    assert r.ok and r.rejected == 0, r.line()
    (post,) = stored(engine).values()
    assert post["post_id"] == "3501756485200075"
    assert post["url"] == "https://weibo.com/1642591402/z0JH2lOMb"


def test_an_older_crawler_file_without_bid_or_full_date_builds_the_link_and_takes_the_day(engine):
    head = ["id", "正文", "原始图片url", "视频url", "位置", "日期", "工具", "点赞数", "评论数", "转发数", "话题", "@用户"]
    data = crawler_csv([["3501756485200075", "老微博", "", "", "", "2012-12-03", "", "5", "6", "7", "", ""]], head)
    r = Importer(engine, None, as_of=AS_OF).import_bytes("1642591402.csv", data)
    assert r.ok, r.line()
    (post,) = stored(engine).values()
    assert post["url"] == "https://weibo.com/1642591402/z0JH2lOMb"
    assert post["published_at"] == utc_naive("2012-12-03 00:00:00")


def test_a_weibospider_file_keys_posts_by_number_from_its_link_code(engine):
    head = ["微博id", "微博正文", "头条文章url", "原始图片url", "微博视频url", "发布位置", "发布时间", "发布工具",
            "点赞数", "转发数", "评论数"]
    data = crawler_csv([["z0JH2lOMb", "老微博", "", "无", "无", "无", "2012-12-03 10:00", "iPhone客户端", "15", "3", "4"]],
                       head, encoding="utf-8")
    r = Importer(engine, None, as_of=AS_OF).import_bytes("1642591402.csv", data)
    assert r.ok and r.reports == ["weibo.spider"], r.line()
    (post,) = stored(engine).values()
    assert (post["post_id"], post["likes"], post["shares"], post["comments"]) == ("3501756485200075", 15, 3, 4)
    assert post["published_at"] == utc_naive("2012-12-03 10:00:00")


def test_a_file_not_named_by_user_id_takes_the_account_given_or_says_it_has_none(engine):
    data = FIXTURE.read_bytes()
    r = Importer(engine, None, as_of=AS_OF).import_bytes("weibo_export.csv", data)
    assert r.ok and r.unknown_account and "stored under 'unknown'" in r.line()
    got = stored(engine)
    assert {p["url"] for p in got.values()} == {f"https://m.weibo.cn/detail/{i}" for i in got}
    r2 = Importer(engine, None, as_of=AS_OF, account="jinhub_weibo").import_bytes("weibo_export (1).csv", data + b"\r\n")
    assert r2.ok and not r2.unknown_account
    with engine.connect() as c:
        handles = {h for (h,) in c.execute(sa.select(schema.accounts.c.handle).where(schema.accounts.c.platform == "weibo"))}
    assert "jinhub_weibo" in handles

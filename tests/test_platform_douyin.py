"""Douyin importer: the creator center's 作品数据 export, as CSV saved by Excel (GB18030) and xlsx.

tests/fixtures/douyin/works_gb18030.csv is written as Excel on a Chinese Windows saves a CSV
(GB18030, CRLF, no BOM) in the first column order of EXPORTS.md 8; the xlsx tests build the second
order with openpyxl. Expected counts are computed here from the raw cells with Decimal (1.2万 =
12,000), never with the code under test.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from collectors.pipeline import Importer
from collectors.store import database, schema
from conftest import workbook as xlsx

FIXTURE = Path(__file__).parent / "fixtures" / "douyin" / "works_gb18030.csv"
SH = ZoneInfo("Asia/Shanghai")
T1 = datetime(2024, 12, 26, 14, 0, tzinfo=timezone.utc)
T2 = datetime(2024, 12, 30, 14, 0, tzinfo=timezone.utc)
SECOND_ORDER = ["作品名称", "发布时间", "体裁", "审核状态", "播放量", "完播率", "5s完播率", "封面点击率", "2s跳出率",
                "平均播放时长", "点赞量", "评论量", "收藏量", "分享量", "主页访问量", "粉丝增量"]


@pytest.fixture
def engine(db_url):
    e = database.connect(db_url)
    yield e
    e.dispose()


def count(cell: str) -> int:
    """A Douyin count as written: "1.2万", "2,104", "9876"."""
    cell = cell.replace(",", "")
    if cell.endswith("万"):
        return int(Decimal(cell[:-1]) * 10000)
    return int(cell)


def fixture_rows() -> list[dict]:
    data = FIXTURE.read_bytes()
    return list(csv.DictReader(io.StringIO(data.decode("gb18030"), newline="")))


def published(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["发布状态"] == "已发布"]


def stored(engine) -> list[dict]:
    p, a, s = schema.posts, schema.accounts, schema.post_snapshots
    q = (sa.select(p.c.post_id, p.c.title, p.c.published_at, p.c.post_type, a.c.handle, s.c.captured_at, s.c.views,
                   s.c.likes, s.c.comments, s.c.shares, s.c.saves, s.c.followers_gained, s.c.watch_time_s)
         .select_from(p.join(a, p.c.account_pk == a.c.id).join(s, s.c.post_pk == p.c.id))
         .where(p.c.platform == "douyin").order_by(p.c.published_at, s.c.captured_at))
    with engine.connect() as c:
        return [dict(r) for r in c.execute(q).mappings()]


def workbook(header: list[str], rows: list[list]) -> bytes:
    return xlsx(header, rows, sheet="作品数据")


def reordered(row: dict, header: list[str]) -> list[str]:
    """A fixture row in another column order (审核状态 instead of 发布状态, no 作品时长)."""
    same = {**row, "审核状态": "公开" if row["发布状态"] == "已发布" else row["发布状态"], "封面点击率": "-"}
    return [same[h] for h in header]


def test_the_gb18030_csv_imports_every_published_work_with_its_counts(engine):
    data = FIXTURE.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    r = Importer(engine, None, as_of=T1, account="jinhub_douyin").import_bytes(FIXTURE.name, data)
    assert r.ok and r.reports == ["douyin.works"], r.line()
    # Rates written as 12.3%, 0.052 or "-" and durations like 20.4s never reject a row.
    assert r.rejected == 0
    rows = published(fixture_rows())
    got = stored(engine)
    assert len(got) == len(rows) == 4
    by_title = {g["title"]: g for g in got}
    for row in rows:
        g = by_title[row["作品名称"]]
        assert (g["views"], g["likes"], g["comments"], g["shares"], g["saves"], g["followers_gained"]) == (
            count(row["播放量"]), count(row["点赞量"]), count(row["评论量"]), count(row["分享量"]),
            count(row["收藏量"]), int(row["粉丝增量"]))
        local = datetime.fromisoformat(row["发布时间"]).replace(tzinfo=SH)
        assert g["published_at"] == local.astimezone(timezone.utc).replace(tzinfo=None)
        assert g["post_type"] == row["体裁"] and g["handle"] == "jinhub_douyin"
        assert g["watch_time_s"] is None  # not derived from 平均播放时长 (not confirmed per play)
    assert by_title["义乌国际商贸城探店，围巾卖到全世界 #义乌小商品"]["views"] == 12000
    assert by_title["夜市美食合集\n第二集"]["views"] == 700  # 0.07万, exactly


def test_works_not_published_are_left_out_and_counted_by_status(engine):
    r = Importer(engine, None, as_of=T1, account="jinhub_douyin").import_bytes(FIXTURE.name, FIXTURE.read_bytes())
    statuses = [row["发布状态"] for row in fixture_rows() if row["发布状态"] != "已发布"]
    assert sorted(statuses) == ["审核中", "私密"]
    assert dict(r.skipped) == {f"works not published (发布状态 {s})": 1 for s in statuses}
    assert "left out: " in r.line()
    assert not any("审核" in g["title"] or "自己可见" in g["title"] for g in stored(engine))


def test_a_later_xlsx_in_the_other_column_order_lands_on_the_same_works(engine):
    Importer(engine, None, as_of=T1, account="jinhub_douyin").import_bytes(FIXTURE.name, FIXTURE.read_bytes())
    rows = fixture_rows()
    later = []
    for row in rows:
        grown = dict(row, 点赞量=str(count(row["点赞量"]) + 5), 分享量="1.5万" if row["分享量"] == "66" else row["分享量"])
        later.append(reordered(grown, SECOND_ORDER))
    r = Importer(engine, None, as_of=T2, account="jinhub_douyin").import_bytes("作品数据.xlsx", workbook(SECOND_ORDER, later))
    assert r.ok and r.rejected == 0, r.line()
    got = stored(engine)
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(schema.posts)).scalar() == 4
    second = {g["title"]: g for g in got if g["captured_at"] == T2.replace(tzinfo=None)}
    first = {g["title"]: g for g in got if g["captured_at"] == T1.replace(tzinfo=None)}
    assert set(second) == set(first) and len(second) == 4
    for title, g in second.items():
        assert g["likes"] == first[title]["likes"] + 5
        assert g["post_id"] == first[title]["post_id"]
    # 收藏量 before 分享量 in this order: each read from its own column.
    scarf = second["义乌国际商贸城探店，围巾卖到全世界 #义乌小商品"]
    assert (scarf["shares"], scarf["saves"]) == (15000, 120)


def test_a_renamed_work_becomes_a_new_post(engine):
    header = SECOND_ORDER
    row = ["原标题", "2024-12-22 10:31:00", "短视频", "公开", "100", "0.1", "0.4", "0.05", "0.3", "10", "5", "1", "2", "3", "0", "1"]
    Importer(engine, None, as_of=T1, account="a").import_bytes("a.xlsx", workbook(header, [row]))
    Importer(engine, None, as_of=T2, account="a").import_bytes("b.xlsx", workbook(header, [["新标题", *row[1:]]]))
    assert len({g["post_id"] for g in stored(engine)}) == 2


def test_a_bad_count_rejects_its_row_naming_file_line_column_value_and_expectation(engine):
    text = FIXTURE.read_bytes().decode("gb18030").replace(",9876,", ",很多,")
    r = Importer(engine, None, as_of=T1, account="a").import_bytes("works.csv", text.encode("gb18030"))
    assert r.ok and r.rejected == 1, r.line()
    (p,) = r.problems
    # The fourth data row holds a quoted two-line title, so the row with 9876 is on line 8.
    assert (p.source, p.line, p.column, p.value) == ("works.csv", 8, "播放量", "很多")
    assert p.expected == "a whole number"
    assert len(stored(engine)) == 3


def test_a_work_without_a_publish_time_is_rejected_rather_than_given_a_made_up_id(engine):
    row = ["无时间", "", "短视频", "公开", "100", "0.1", "0.4", "0.05", "0.3", "10", "5", "1", "2", "3", "0", "1"]
    ok = ["有时间", "2024-12-22 10:31:00", *row[2:]]
    r = Importer(engine, None, as_of=T1, account="a").import_bytes("w.xlsx", workbook(SECOND_ORDER, [row, ok]))
    assert r.ok and r.rejected == 1
    (p,) = r.problems
    assert (p.line, p.column) == (2, "发布时间") and "date and time" in p.expected
    assert [g["title"] for g in stored(engine)] == ["有时间"]

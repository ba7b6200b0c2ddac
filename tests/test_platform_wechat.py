"""WeChat Official Account importer: the 内容分析 per-article and traffic downloads (xlsx).

Workbooks are built here with openpyxl in the layout of the real download quoted in EXPORTS.md 10
(16 columns, 发表时间 as a YYYYMMDD number, rates as fractions). The 7-day freeze is checked with
the metrics engine itself: an article exported long after publishing has all of its reads within
its first seven days, and later exports add no snapshot and no idle days. Expected values come
from the rows written here, never from the code under test.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from collectors.pipeline import Importer
from collectors.store import database, schema
from conftest import workbook
from dashboard.analysis import metrics, queries
from dashboard.analysis.config import Campaign

SH = ZoneInfo("Asia/Shanghai")
NOTIFIED = ["内容标题", "发表时间", "总阅读人数", "总阅读次数", "总分享人数", "总分享次数", "阅读后关注人数", "送达人数",
            "公众号消息阅读次数", "送达阅读率", "首次分享次数", "分享产生阅读次数", "首次分享率", "每次分享带来阅读次数",
            "阅读完成率", "内容url"]
UNNOTIFIED = [h for h in NOTIFIED if h not in ("送达人数", "送达阅读率")]
TRAFFIC = ["日期", "阅读次数", "阅读人数", "分享次数", "分享人数", "阅读原文次数", "阅读原文人数", "收藏次数", "收藏人数",
           "群发篇", "渠道"]
BIZ = "MzU5NjQ4MDYxMw=="


def link(mid: int, idx: int) -> str:
    return (f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid={mid}&idx={idx}&sn=5f1c0a9e8d7b6c5a&chksm=fd1a2b3c#rd")


ARTICLES = [
    # title, 发表时间, 总阅读人数, 总阅读次数, 总分享人数, 总分享次数, 阅读后关注人数, 送达人数, 公众号消息阅读次数,
    # 送达阅读率, 首次分享次数, 分享产生阅读次数, 首次分享率, 每次分享带来阅读次数, 阅读完成率, 内容url
    ["金枢传播活动在义乌启动", 20241216, 1840, 2675, 96, 131, 22, 15230, 1211, 0.0795, 57, 802, 0.0471, 6.1221, 0.6312,
     link(2247483661, 1)],
    ["义乌小商品的海外之路", 20241216, 640, 803, 21, 25, 3, 15230, 402, 0.0264, 11, 140, 0.0274, 5.6, 0.7021,
     link(2247483661, 2)],
    ["中欧班列：十八天到马德里", 20241220, 955, 1302, 40, 52, 9, 15301, 688, 0.045, 30, 380, 0.0436, 7.3077, 0.5918,
     link(2247483667, 1)],
]


@pytest.fixture
def engine(db_url):
    e = database.connect(db_url)
    yield e
    e.dispose()


def utc(d: date, days: int = 0) -> datetime:
    """00:00 of day ``d`` (+ days) in Asia/Shanghai, as naive UTC like the store keeps it."""
    local = datetime.combine(d + timedelta(days=days), datetime.min.time()).replace(tzinfo=SH)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def pub_day(cell: int) -> date:
    return datetime.strptime(str(cell), "%Y%m%d").date()


def snapshots(engine) -> list[dict]:
    p, s = schema.posts, schema.post_snapshots
    q = (sa.select(p.c.post_id, p.c.url, p.c.title, p.c.published_at, p.c.post_type, s.c.captured_at,
                   *[s.c[m] for m in ("views", "reach", "shares", "followers_gained", "likes", "saves")])
         .select_from(p.join(s, s.c.post_pk == p.c.id)).where(p.c.platform == "wechat")
         .order_by(p.c.post_id, s.c.captured_at))
    with engine.connect() as c:
        return [dict(r) for r in c.execute(q).mappings()]


def daily_views(engine) -> pd.DataFrame:
    """The metrics engine's daily views per article title, in the campaign timezone."""
    frames = queries.frames.load_frames(engine)
    campaign = Campaign(start=date(2024, 12, 16), end=date(2025, 1, 26))
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    inc = inc[inc["metric"] == "views"].merge(frames.posts[["post_pk", "title"]], on="post_pk")
    return inc[["title", "day", "value"]]


# --- per-article downloads ----------------------------------------------------------------------

def test_the_notified_download_stores_reads_readers_shares_and_follows_per_article(engine):
    exported = datetime(2024, 12, 21, 14, 0, tzinfo=timezone.utc)  # within 7 days of every article
    r = Importer(engine, None, as_of=exported, account="jinhub_wechat").import_bytes(
        "已通知内容.xlsx", workbook(NOTIFIED, ARTICLES))
    assert r.ok and r.reports == ["wechat.articles_notified"] and r.rejected == 0, r.line()
    got = {g["title"]: g for g in snapshots(engine)}
    assert len(got) == 3
    for row in ARTICLES:
        d = dict(zip(NOTIFIED, row))
        g = got[d["内容标题"]]
        assert (g["views"], g["reach"], g["shares"], g["followers_gained"]) == (
            d["总阅读次数"], d["总阅读人数"], d["总分享次数"], d["阅读后关注人数"])
        assert g["likes"] is None and g["saves"] is None  # not in this download: unknown
        assert g["post_id"] == f"{BIZ}_{d['内容url'].split('mid=')[1].split('&')[0]}_{d['内容url'].split('idx=')[1][0]}"
        assert g["url"] == d["内容url"] and g["post_type"] == "article"
        # A day without a time: 00:00 that day in the campaign timezone.
        assert g["published_at"] == utc(pub_day(d["发表时间"]))
        assert g["captured_at"] == exported.replace(tzinfo=None)
    with engine.connect() as c:
        assert {h for (h,) in c.execute(sa.select(schema.accounts.c.handle))} == {"jinhub_wechat"}


def test_the_unnotified_download_without_delivery_columns_is_its_own_report(engine):
    rows = [[v for h, v in zip(NOTIFIED, r) if h in UNNOTIFIED] for r in ARTICLES[:1]]
    r = Importer(engine, None, as_of=datetime(2024, 12, 18, tzinfo=timezone.utc), account="a").import_bytes(
        "未开启通知内容.xlsx", workbook(UNNOTIFIED, rows))
    assert r.ok and r.reports == ["wechat.articles_unnotified"], r.line()
    (g,) = snapshots(engine)
    assert (g["views"], g["reach"]) == (ARTICLES[0][3], ARTICLES[0][2])


def test_short_links_and_links_with_other_tracking_parameters_key_the_same_way_each_time(engine):
    rows = [list(ARTICLES[0]), list(ARTICLES[1])]
    rows[0][-1] = "https://mp.weixin.qq.com/s/Xc9_pQ2rT5uVw8yZ1a2b3c"
    first = Importer(engine, None, as_of=datetime(2024, 12, 18, tzinfo=timezone.utc), account="a")
    first.import_bytes("a.xlsx", workbook(NOTIFIED, rows))
    rows[1][-1] = rows[1][-1].replace("chksm=fd1a2b3c", "chksm=00ff&scene=21")
    Importer(engine, None, as_of=datetime(2024, 12, 19, tzinfo=timezone.utc), account="a").import_bytes(
        "b.xlsx", workbook(NOTIFIED, rows))
    ids = [g["post_id"] for g in snapshots(engine)]
    assert sorted(set(ids)) == sorted([f"{BIZ}_2247483661_2", "s/Xc9_pQ2rT5uVw8yZ1a2b3c"]) and len(ids) == 4


def test_a_bad_count_or_a_row_without_an_article_link_is_rejected_with_where_and_what(engine):
    rows = [list(r) for r in ARTICLES]
    rows[1][3] = "八百"
    rows[2][-1] = "xxx"
    r = Importer(engine, None, as_of=datetime(2024, 12, 21, tzinfo=timezone.utc), account="a").import_bytes(
        "已通知内容.xlsx", workbook(NOTIFIED, rows))
    assert r.ok and r.rejected == 2
    bad_count, bad_link = sorted(r.problems, key=lambda p: p.line)
    assert (bad_count.source, bad_count.line, bad_count.column, bad_count.value, bad_count.expected) == (
        "已通知内容.xlsx!Sheet", 3, "总阅读次数", "八百", "a whole number")
    assert (bad_link.line, bad_link.column, bad_link.value) == (4, "内容url", "xxx")
    assert "mp.weixin.qq.com" in bad_link.expected
    assert [g["title"] for g in snapshots(engine)] == [ARTICLES[0][0]]


# --- the 7-day freeze ---------------------------------------------------------------------------

def test_an_article_exported_on_day_30_has_all_its_reads_within_its_first_seven_days(engine):
    published = pub_day(ARTICLES[0][1])
    exported = datetime.combine(published + timedelta(days=30), datetime.min.time()).replace(tzinfo=SH)
    r = Importer(engine, None, as_of=exported, account="a").import_bytes("a.xlsx", workbook(NOTIFIED, ARTICLES[:1]))
    assert r.ok, r.line()
    (g,) = snapshots(engine)
    assert g["captured_at"] == utc(published, 7)  # as of the freeze, not the export
    views = daily_views(engine)
    days = sorted(views["day"].dt.date)
    assert days == [published + timedelta(days=i) for i in range(7)]
    assert views["value"].sum() == pytest.approx(ARTICLES[0][3])


def test_exports_after_the_freeze_give_one_snapshot_and_no_idle_days(engine):
    published = pub_day(ARTICLES[0][1])
    data = workbook(NOTIFIED, ARTICLES[:1])
    for day in (10, 30):
        at = datetime.combine(published + timedelta(days=day), datetime.min.time()).replace(tzinfo=SH)
        # A later download is new bytes (its name and dates differ) but the same frozen totals.
        r = Importer(engine, None, as_of=at, account="a").import_bytes(f"export_day{day}.xlsx", data + bytes(day))
        assert r.ok, r.line()
    assert len(snapshots(engine)) == 1
    views = daily_views(engine)
    assert views["day"].max().date() == published + timedelta(days=6)
    assert (views["value"] > 0).all()  # no zero days dragging rates down after day 7


def test_an_export_inside_the_week_then_one_after_it_split_the_reads_at_the_first_export(engine):
    published = pub_day(ARTICLES[0][1])
    early = [list(ARTICLES[0])]
    early[0][3] = 2000  # reads after three days
    at3 = datetime.combine(published + timedelta(days=3), datetime.min.time()).replace(tzinfo=SH)
    at20 = at3 + timedelta(days=17)
    Importer(engine, None, as_of=at3, account="a").import_bytes("d3.xlsx", workbook(NOTIFIED, early))
    Importer(engine, None, as_of=at20, account="a").import_bytes("d20.xlsx", workbook(NOTIFIED, ARTICLES[:1]))
    assert [g["captured_at"] for g in snapshots(engine)] == [utc(published, 3), utc(published, 7)]
    views = daily_views(engine).set_index("day")["value"]
    first3 = views[views.index.date < published + timedelta(days=3)].sum()
    last4 = views[views.index.date >= published + timedelta(days=3)].sum()
    assert first3 == pytest.approx(2000) and last4 == pytest.approx(ARTICLES[0][3] - 2000)
    assert views.index.max().date() == published + timedelta(days=6)


# --- traffic per day ----------------------------------------------------------------------------

def traffic_rows() -> list[list]:
    return [
        ["2024-12-20", 1500, 1100, 60, 41, 12, 10, 30, 25, 1, "全部"],
        ["2024-12-20", 1000, 800, 40, 30, 10, 8, 20, 18, 1, "公众号消息"],
        ["2024-12-20", 500, 420, 20, 15, 2, 2, 10, 9, 1, "朋友圈"],
        ["2024-12-21", 300, 260, 8, 7, 1, 1, 5, 5, 0, "公众号消息"],
        ["2024-12-21", 200, 170, 6, 5, 0, 0, 3, 3, 0, "聊天会话"],
        ["2024-12-21", 50, 45, 1, 1, 0, 0, 1, 1, 0, "推荐"],
    ]


def account_days(engine) -> dict[date, dict]:
    ad = schema.account_days
    with engine.connect() as c:
        return {r["day"]: dict(r) for r in c.execute(
            sa.select(ad.c.day, ad.c.views, ad.c.reach, ad.c.shares, ad.c.saves).order_by(ad.c.day)).mappings()}


def test_traffic_takes_the_all_channels_row_or_sums_the_channels_and_leaves_reach_unknown(engine):
    rows = traffic_rows()
    r = Importer(engine, None, account="jinhub_wechat").import_bytes(
        "流量分析.xlsx", workbook(TRAFFIC, rows, preamble=[["公众号：金枢传播"], [], ["时间范围：2024-12-20 至 2024-12-21"]]))
    assert r.ok and r.reports == ["wechat.traffic"] and r.rejected == 0, r.line()
    got = account_days(engine)
    assert set(got) == {date(2024, 12, 20), date(2024, 12, 21)}
    whole = dict(zip(TRAFFIC, rows[0]))
    assert (got[date(2024, 12, 20)]["views"], got[date(2024, 12, 20)]["reach"],
            got[date(2024, 12, 20)]["shares"], got[date(2024, 12, 20)]["saves"]) == (
        whole["阅读次数"], whole["阅读人数"], whole["分享次数"], whole["收藏次数"])
    channels = [dict(zip(TRAFFIC, x)) for x in rows if x[0] == "2024-12-21"]
    d21 = got[date(2024, 12, 21)]
    assert (d21["views"], d21["shares"], d21["saves"]) == (
        sum(c["阅读次数"] for c in channels), sum(c["分享次数"] for c in channels), sum(c["收藏次数"] for c in channels))
    assert d21["reach"] is None  # readers of two channels would be counted twice
    assert sum(r.skipped.values()) == 4  # 2 breakdown rows of the 20th, 2 channel rows summed on the 21st


def test_a_day_without_an_all_channels_row_and_a_broken_channel_row_is_refused_whole(engine):
    rows = traffic_rows()
    rows[4][1] = "两百"
    r = Importer(engine, None, account="a").import_bytes("流量分析.xlsx", workbook(TRAFFIC, rows))
    assert r.ok
    by_line = {p.line: p for p in r.problems}
    assert sorted(by_line) == [5, 6, 7]
    assert (by_line[6].column, by_line[6].value, by_line[6].expected) == ("阅读次数", "两百", "a whole number")
    # The other channel rows of the 21st cannot be summed without it: refused, pointing at line 6.
    assert all(by_line[n].column == "日期" and "line 6 of the same day" in by_line[n].expected for n in (5, 7))
    assert set(account_days(engine)) == {date(2024, 12, 20)}

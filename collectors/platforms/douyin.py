"""Douyin (抖音): the creator center's work list export (抖音创作者中心 → 数据中心 → 作品数据 → 导出).

One row per work (作品: a video or an image post), totals at export time. Two column orders are
known (EXPORTS.md 8): one with 发布状态 and 作品时长, one with 审核状态 and 封面点击率; columns are
found by name, so either order and either set reads. The export is an ``.xlsx`` workbook; copies
saved as CSV by Excel on a Chinese Windows are GB18030, which the reader decodes.

The file has no work id and no link. A work is identified by its name and publish time: the id
is a hash of the name (whitespace collapsed) and the publish minute, so the same work exported
again lands on the same post, and a work renamed after publishing becomes a new post. The files
name no account either: the import's ``--account`` names it.

Counts can be written in 万 (``1.2万`` = 12,000, as the app shows them; the reader takes the
digits as written, so such a count is only as exact as its rounding). Rates (完播率, 5s完播率,
2s跳出率, 封面点击率) come as fractions or percent strings and are not stored: they are ratios the
dashboard derives from counts, and a rate cell never rejects a row.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

import pandas as pd

from ..messages import Message
from ..model import POST_LIFETIME
from ..registry import Report, register

WORK_COLUMNS = {
    "title": ["作品名称", "作品标题", "视频标题"],
    "published_at": ["发布时间"],
    "post_type": ["体裁", "作品类型"],
    "_status": ["发布状态", "审核状态", "作品状态"],
    "views": ["播放量"],
    "_completion_rate": ["完播率"],
    "_completion_5s": ["5s完播率", "5秒完播率"],
    "_duration": ["作品时长", "视频时长"],
    "_cover_ctr": ["封面点击率"],
    "_bounce_2s": ["2s跳出率", "2秒跳出率"],
    "_avg_play": ["平均播放时长"],
    "likes": ["点赞量"],
    "comments": ["评论量"],
    "shares": ["分享量"],
    "saves": ["收藏量"],
    "_profile_visits": ["主页访问量"],
    "followers_gained": ["粉丝增量"],
}

TIME_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y年%m月%d日 %H:%M", "%Y-%m-%d", "ISO8601"]

# A status meaning the work is not (or no longer) out in public: its row is left out, counted.
# 公开 / 已发布 / 审核通过 and any status not listed here are kept (好友可见 works are published to
# the creator's friends and do collect plays).
NOT_PUBLISHED = ("审核中", "未通过", "不通过", "审核失败", "私密", "仅自己可见", "自己可见", "已删除",
                 "删除", "下架", "待发布", "定时发布", "草稿", "发布失败", "转码中")

_SPACE = re.compile(r"\s+")


def work_id(title: str, published_utc: pd.Timestamp) -> str:
    """The post id of a work: its name and publish minute (UTC), hashed."""
    name = _SPACE.sub(" ", unicodedata.normalize("NFKC", title)).strip()
    stamp = published_utc.strftime("%Y-%m-%dT%H:%MZ")
    return "dy-" + hashlib.sha256(f"{name}\x1f{stamp}".encode("utf-8")).hexdigest()[:20]


def parse_works(c) -> None:
    if c.has("_status"):
        status = c.text("_status")
        out = status.map(lambda s: any(w in s for w in NOT_PUBLISHED)).to_numpy(dtype=bool)
        for value in sorted(set(status[out])):
            c.skip(out & (status == value).to_numpy(), Message("skip.douyin_unpublished", column=c.header("_status"), value=value))
    titles = c.text("title")
    c.reject((titles == "").to_numpy(), "title", Message("expected.douyin_title"))
    published = c.timestamp("published_at", TIME_FORMATS, required=True)
    ids = [work_id(t, p) if isinstance(t, str) and t and not pd.isna(p) else None
           for t, p in zip(titles, published)]
    c.set("post_id", pd.Series(ids, dtype=object))
    c.set("title", titles)
    c.set("published_at", published)
    c.set("post_type", c.text("post_type").replace("", None))
    # 平均播放时长 × 播放量 would be the watch time only if the average is per play and unrounded;
    # neither is confirmed, so no watch time is derived (docs/platforms/douyin.md).
    c.set_metrics({m: {"minimum": 0} for m in ("views", "likes", "comments", "shares", "saves")})
    if c.has("followers_gained"):
        c.set("followers_gained", c.number("followers_gained"))  # net: unfollows can make it negative


register(
    Report(
        platform="douyin",
        name="douyin.works",
        title="Douyin creator center 作品数据 export, per work",
        grain=POST_LIFETIME,
        columns=WORK_COLUMNS,
        required=("title", "published_at", "views", "likes"),
        parse=parse_works,
        notes="Totals per work at export time; no work id in the file (derived from name and time).",
    ),
)

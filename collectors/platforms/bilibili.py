"""Bilibili (哔哩哔哩): video statistics CSVs as community tools write them from the public API.

Bilibili's creator center has no per-video file export (EXPORTS.md 9). What teams have are CSV
(or xlsx) files written by scripts that call the public view API
(``api.bilibili.com/x/web-interface/view?bvid=…`` → ``data.stat``) or read a creator's video list,
one row per video with lifetime counters at the moment of the call. Two header styles are read:

- the API's own field names: ``bvid,aid,title,pubdate,view,danmaku,reply,favorite,coin,share,like``
  (``pubdate`` in epoch seconds, or as a date and time),
- Chinese headers as such scripts write them: ``BV号,标题,发布时间,播放量,弹幕数,评论数,收藏数,投币数,
  分享数,点赞数`` (also without the 数/量 suffix: 播放, 弹幕, 评论, 收藏, 投币, 分享, 点赞).

A video is identified by its BV id, with the link https://www.bilibili.com/video/<BV id>. Coins
(投币) and danmaku (弹幕, on-screen comments) have no canonical metric and are not stored. The
account is the uploader's ``mid`` (UP主ID) when the file has that column, else the import's
``--account``.
"""
from __future__ import annotations

import re

import pandas as pd

from ..messages import Message
from ..model import POST_LIFETIME
from ..registry import Report, register

STAT_COLUMNS = {
    "post_id": ["bvid", "BV号", "BV", "bv号", "BV ID"],
    "_aid": ["aid", "av号", "AV号"],
    "title": ["title", "标题", "视频标题"],
    "published_at": ["pubdate", "发布时间", "上传时间", "投稿时间", "上传日期", "created"],
    "views": ["view", "播放量", "播放", "播放数", "play"],
    "_danmaku": ["danmaku", "弹幕", "弹幕数", "弹幕量"],
    "comments": ["reply", "评论", "评论数", "评论量"],
    "saves": ["favorite", "收藏", "收藏数", "收藏量"],
    "_coins": ["coin", "投币", "投币数", "硬币数"],
    "shares": ["share", "分享", "分享数", "分享量"],
    "likes": ["like", "点赞", "点赞数", "点赞量"],
    "account_id": ["mid", "UP主ID", "up主id", "作者id", "owner_mid"],
    "account_name": ["UP主", "作者", "owner_name", "up主名称"],
    "_duration": ["duration", "时长"],
}

TIME_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S"]

_BVID = re.compile(r"(BV1[0-9A-Za-z]{9})")


def _publish_times(c) -> pd.Series:
    """pubdate as epoch seconds (the API's form; milliseconds from JavaScript tools) or as a date
    and time, which scripts print in the machine's local time: taken in the campaign timezone,
    like every naive time."""
    raw = c.text("published_at")
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    seconds = raw.str.fullmatch(r"\d{9,10}").to_numpy()
    millis = raw.str.fullmatch(r"\d{12,13}").to_numpy()
    for mask, unit in ((seconds, "s"), (millis, "ms")):
        if mask.any():
            out[mask] = pd.to_datetime(pd.to_numeric(raw[mask]), unit=unit, utc=True).astype("datetime64[us, UTC]")
    todo = ~(seconds | millis) & (raw != "").to_numpy()
    for fmt in TIME_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(raw[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        if ok.any():
            local = parsed[ok].dt.tz_localize(c.ctx.tz, ambiguous="NaT", nonexistent="shift_forward")
            out[ok[ok].index] = local.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
            todo[ok[ok].index] = False
    c.reject(todo, "published_at", Message("expected.bilibili_time"))
    return out


def parse_stats(c) -> None:
    raw = c.text("post_id")
    found = raw.str.extract(_BVID, expand=False)
    c.reject(found.isna().to_numpy(), "post_id", Message("expected.bilibili_bvid"), raw)
    c.set("post_id", found.astype(object))
    c.set("url", found.map(lambda b: f"https://www.bilibili.com/video/{b}" if isinstance(b, str) else None))
    c.set("title", c.text("title"))
    c.set("post_type", "video")
    if c.has("published_at"):
        c.set("published_at", _publish_times(c))
    c.set_metrics({m: {"minimum": 0} for m in ("views", "likes", "comments", "shares", "saves")})
    for f in ("account_id", "account_name"):
        if c.has(f):
            values = c.text(f)
            c.set(f, values.where(values != "", None))


register(
    Report(
        platform="bilibili",
        name="bilibili.video_stats",
        title="Bilibili video statistics CSV (public view API fields), per video",
        grain=POST_LIFETIME,
        columns=STAT_COLUMNS,
        required=("post_id", "title", "views"),
        # Douyin's work export has 作品名称 and 播放量: never a Bilibili file.
        excludes=("作品名称",),
        parse=parse_stats,
        notes="Lifetime counters at the moment the script called the API.",
    ),
)

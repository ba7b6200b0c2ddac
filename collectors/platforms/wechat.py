"""WeChat Official Account (微信公众号): the 内容分析 downloads from mp.weixin.qq.com.

数据分析 → 内容分析 → 下载数据明细 gives ``.xlsx`` workbooks. Two of them are read here:

- the per-article downloads of the 已通知内容 tab (16 columns, with 送达人数, the followers the
  article was pushed to) and of the 未开启通知内容 tab (the same without the two delivery columns):
  one row per article, totals of the first 7 days after publishing. WeChat stops updating an
  article's figures 7 days after it was published, so ``frozen_after`` caps each row's snapshot
  time at the publish day + 7 days: a download made on day 30 is a snapshot as of day 7, and two
  downloads after day 7 are the same snapshot. ``发表时间`` is a day (``20220329``) without a time;
  it is taken as 00:00 of that day in the campaign timezone, so the freeze falls at the end of the
  sixth day after the publish day: the publish day and the six days after it, the seven daily
  details WeChat's own article statistics list.
- the account-level per-day traffic download of the 流量分析 view: one row per day and channel
  (渠道), with a ``全部`` (all channels) row per day. Counts are additive across channels; readers
  (阅读人数) are people and are not, so reach comes only from a whole-account row.

The files name no account (no account name, no id column): the import's ``--account`` names it,
as for LinkedIn. The ``__biz`` parameter of an article link does identify the account, but the
traffic download has no links, so using it would split one account in two.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

from ..messages import Message
from ..model import ACCOUNT_DAY, POST_LIFETIME
from ..registry import Report, register

FROZEN_AFTER = timedelta(days=7)
DAY_FORMATS = ["%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%Y年%m月%d日"]

# Column names from a real 已通知内容 file (EXPORTS.md 10) and a scraper's description of the
# download; the second spelling of some columns is that description's.
ARTICLE_COLUMNS = {
    "title": ["内容标题", "标题", "文章标题"],
    "published_at": ["发表时间", "发布时间", "群发时间"],
    "reach": ["总阅读人数"],
    "views": ["总阅读次数"],
    "_share_users": ["总分享人数"],
    "shares": ["总分享次数", "分享次数"],
    "followers_gained": ["阅读后关注人数"],
    "_delivered": ["送达人数"],
    "_message_reads": ["公众号消息阅读次数"],
    "_delivery_read_rate": ["送达阅读率"],
    "_first_shares": ["首次分享次数"],
    "_reads_from_shares": ["分享产生阅读次数"],
    "_first_share_rate": ["首次分享率"],
    "_reads_per_share": ["每次分享带来阅读次数", "首次分享带来阅读次数"],
    "_completion_rate": ["阅读完成率"],
    "url": ["内容url", "内容链接", "文章链接", "原文链接"],
}

TRAFFIC_COLUMNS = {
    "day": ["日期", "时间"],
    "views": ["阅读次数"],
    "reach": ["阅读人数"],
    "shares": ["分享次数"],
    "_share_users": ["分享人数"],
    "_original_reads": ["阅读原文次数", "跳转阅读原文次数"],
    "_original_readers": ["阅读原文人数", "跳转阅读原文人数"],
    "saves": ["收藏次数", "微信收藏次数"],
    "_save_users": ["收藏人数", "微信收藏人数"],
    "_articles_sent": ["群发篇", "群发篇数", "发表篇数"],
    "_channel": ["渠道", "传播渠道"],
}

# The value of 渠道 on a day's whole-account row. "全部" is what readers of real files test for.
ALL_CHANNELS = frozenset({"全部", "全部渠道", "所有渠道", "合计", "总计", "汇总", "all", "total"})

_TRACKING = {"chksm", "scene", "sessionid", "subscene", "clicktime", "enterid", "ascene", "devicetype",
             "version", "nettype", "lang", "exportkey", "pass_ticket", "wx_header", "key", "uin", "rd"}


def article_key(url: str) -> str | None:
    """A stable id for an article link, or None when the cell is not a WeChat article link.

    ``https://mp.weixin.qq.com/s?__biz=MzA…==&mid=2651234567&idx=1&sn=…&chksm=…#rd`` is keyed by
    ``__biz`` (the account), ``mid`` (the push; numbered per account, so not unique alone) and
    ``idx`` (the article's place in the push): ``MzA…==_2651234567_1``. The short form
    ``https://mp.weixin.qq.com/s/AbCd…`` is keyed by its token: ``s/AbCd…``. Any other link on
    mp.weixin.qq.com is keyed by its path and query without the tracking parameters."""
    text = url.strip()
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not (host == "weixin.qq.com" or host.endswith(".weixin.qq.com")):
        return None
    query = parse_qs(parts.query.replace("&amp;", "&"), keep_blank_values=False)
    one = {k: v[0] for k, v in query.items() if v}
    if one.get("__biz") and one.get("mid") and one.get("idx"):
        return f"{one['__biz']}_{one['mid']}_{one['idx']}"
    path = parts.path.rstrip("/")
    if path.startswith("/s/") and len(path) > 3:
        return "s/" + path[3:]
    rest = sorted((k, v) for k, v in one.items() if k.lower() not in _TRACKING)
    if path in ("", "/s") and not rest:
        return None
    return path.lstrip("/") + ("?" + "&".join(f"{k}={v}" for k, v in rest) if rest else "")


def parse_articles(c) -> None:
    urls = c.text("url")
    keys = urls.map(article_key)
    c.reject(keys.isna().to_numpy(), "url",
             Message("expected.wechat_url"))
    c.set("post_id", keys.astype(object))
    c.set("url", urls)
    c.set("title", c.text("title"))
    # A day without a time: 00:00 of that day in the campaign timezone (see the module docstring).
    c.set("published_at", c.timestamp("published_at", DAY_FORMATS, required=True))
    c.set("post_type", "article")
    # 送达阅读率, 首次分享率, 阅读完成率 and 每次分享带来阅读次数 are ratios of the counts: not stored.
    c.set_metrics({m: {"minimum": 0} for m in ("views", "reach", "shares", "followers_gained")})


def parse_traffic(c) -> None:
    days = c.date("day", DAY_FORMATS)
    c.set("day", days)
    values = {m: c.number(m, minimum=0) for m in ("views", "reach", "shares", "saves") if c.has(m)}
    if not c.has("_channel"):
        for m, v in values.items():  # one row per day: the account's own figures
            c.set(m, v)
        return
    whole = c.text("_channel").str.casefold().isin(ALL_CHANNELS).to_numpy()
    by_day = days.to_numpy()

    def per_day(mask) -> np.ndarray:
        return pd.Series(mask).groupby(by_day, dropna=False).transform("any").to_numpy(dtype=bool)

    has_whole = per_day(whole & c.alive)
    # Days with an all-channels row: that row is the day; the channel rows are its breakdown.
    c.skip(has_whole & ~whole, Message("skip.wechat_has_whole"))
    # Days without one: the additive counts are summed over the channels and reach stays unknown
    # (a reader who came through two channels is counted in both). A channel row that was
    # rejected would leave the sum short, so the rest of its day is refused too, saying why.
    partial = ~has_whole & ~pd.isna(by_day)
    for d in pd.unique(by_day[partial & ~c.alive]):
        day_rows = partial & (by_day == d)
        bad = [c.table.lines[i] for i in np.flatnonzero(day_rows & ~c.alive)]
        c.reject(day_rows, "day", Message("expected.wechat_channel_day", line=bad[0]))
    live = partial & c.alive
    first = pd.Series(live).groupby(by_day, dropna=False).cumsum().to_numpy() == 1
    c.skip(live & ~first, Message("skip.wechat_summed"))
    for m, v in values.items():
        if m == "reach":
            c.set(m, v.where(has_whole))
        else:
            sums = v.where(live).groupby(by_day, dropna=False).transform(lambda s: s.sum(min_count=1))
            c.set(m, v.where(has_whole, sums))


register(
    Report(
        platform="wechat",
        name="wechat.articles_notified",
        title="WeChat Official Account 内容分析 已通知内容 download, per article",
        grain=POST_LIFETIME,
        columns=ARTICLE_COLUMNS,
        required=("title", "published_at", "views", "reach", "url", "_delivered"),
        parse=parse_articles,
        frozen_after=FROZEN_AFTER,
        notes="Totals of the first 7 days after publishing; frozen afterwards.",
    ),
    Report(
        platform="wechat",
        name="wechat.articles_unnotified",
        title="WeChat Official Account 内容分析 未开启通知内容 download, per article",
        grain=POST_LIFETIME,
        columns=ARTICLE_COLUMNS,
        required=("title", "published_at", "views", "reach", "url"),
        excludes=tuple(ARTICLE_COLUMNS["_delivered"]),
        parse=parse_articles,
        frozen_after=FROZEN_AFTER,
        notes="As 已通知内容 without the delivery columns (articles not pushed to followers).",
    ),
    Report(
        platform="wechat",
        name="wechat.traffic",
        title="WeChat Official Account 内容分析 流量分析 download, per account-day",
        grain=ACCOUNT_DAY,
        columns=TRAFFIC_COLUMNS,
        required=("day", "views", "reach", "_share_users", "_articles_sent"),
        parse=parse_traffic,
        notes="One row per day and channel; the 全部 row is the whole account.",
    ),
)


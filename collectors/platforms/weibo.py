"""Weibo (微博): the CSV files of the community crawlers, since Weibo offers no per-post export.

Two formats are read (EXPORTS.md 7), both one row per post with lifetime counts at crawl time:

- dataabc ``weibo-crawler`` (``weibo.py``): ``id,bid,正文,…,日期,工具,点赞数,评论数,转发数,话题,
  @用户,完整日期[,是否编辑过,编辑次数]``, UTF-8 with a BOM, saved as ``weibo/<nickname>/<user id>.csv``.
  Newer versions write ``id`` with a tab after it (``4977551011677123\\t``) so that Excel keeps the
  16 digits; older ones have no ``bid``, ``完整日期`` or tool columns. When retweets are crawled,
  ``是否原创,源用户id,源用户昵称`` and a ``源微博…`` copy of every column follow: those are the
  retweeted original's figures, not the account's, and are not read.
- dataabc ``weiboSpider``: ``微博id,微博正文,…,发布位置,发布时间,发布工具,点赞数,转发数,评论数``,
  where ``微博id`` is the short base-62 code (the ``bid``), not the number.

A post's id is its number (``mid``); a file that gives only the code has it converted (the
base-62 scheme of Weibo links, ``mid_from_bid``). The post link is ``https://weibo.com/<user
id>/<bid>``. The account is the user id in the file name (``1669879400.csv``, also with a
browser's `` (1)``); a file named otherwise gets the import's ``--account``. Weibo shows no view
count for posts (阅读数 is visible to the author only), so views are not in these files.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..messages import Message
from ..model import POST_LIFETIME
from ..registry import Report, register

CRAWLER_COLUMNS = {
    "post_id": ["id"],
    "_bid": ["bid"],
    "title": ["正文"],
    "_day": ["日期"],
    "published_at": ["完整日期"],
    "_tool": ["工具"],
    "likes": ["点赞数"],
    "comments": ["评论数"],
    "shares": ["转发数"],
    "_topics": ["话题"],
    "_mentions": ["@用户"],
    "_original": ["是否原创"],
}

SPIDER_COLUMNS = {
    "_bid": ["微博id"],
    "title": ["微博正文"],
    "published_at": ["发布时间"],
    "_tool": ["发布工具"],
    "_place": ["发布位置"],
    "likes": ["点赞数"],
    "shares": ["转发数"],
    "comments": ["评论数"],
}

TIME_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                "%Y/%m/%d"]

_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_USER_FILE = re.compile(r"^(?P<uid>\d{5,12})(?: ?\(\d+\))?\.csv$", re.I)
_BID = re.compile(r"^[0-9A-Za-z]{5,12}$")


def mid_from_bid(bid: str) -> str | None:
    """The number of a post from its link code: groups of 4 base-62 digits from the right, each
    written as 7 decimal digits (``z0JH2lOMb`` → ``3501756485200075``)."""
    if not _BID.match(bid):
        return None
    parts = []
    for end in range(len(bid), 0, -4):
        n = 0
        for ch in bid[max(0, end - 4):end]:
            n = n * 62 + _BASE62.index(ch)
        parts.append(str(n))
    head, *rest = reversed(parts)
    return head + "".join(p.zfill(7) for p in rest)


def bid_from_mid(mid: str) -> str:
    """The link code of a post number (the inverse of ``mid_from_bid``)."""
    parts = []
    for end in range(len(mid), 0, -7):
        n = int(mid[max(0, end - 7):end])
        code = ""
        while n:
            n, r = divmod(n, 62)
            code = _BASE62[r] + code
        parts.append(code or "0")
    head, *rest = reversed(parts)
    return head + "".join(p.rjust(4, "0") for p in rest)


def user_id_from_name(file_name: str) -> str | None:
    m = _USER_FILE.match(Path(file_name.replace("\\", "/")).name)
    return m.group("uid") if m else None


def _posts(c, mids: pd.Series, bids: pd.Series) -> None:
    uid = user_id_from_name(c.table.file_name)
    if uid:
        c.set("account_id", uid)
    c.set("post_id", mids.astype(object))
    base = f"https://weibo.com/{uid}/" if uid else None
    urls = [(base + b if base else f"https://m.weibo.cn/detail/{m}") if isinstance(m, str) else None
            for m, b in zip(mids, bids)]
    c.set("url", pd.Series(urls, dtype=object))
    c.set("title", c.text("title"))
    c.set_metrics({m: {"minimum": 0} for m in ("likes", "comments", "shares")})


def parse_crawler(c) -> None:
    ids = c.text("post_id").str.replace("\t", "", regex=False).str.strip()
    bids = c.text("_bid")
    numeric = ids.str.fullmatch(r"\d{6,20}")
    # Excel turns a 16-digit id into 4.97755E+15; the code in bid still names the post exactly.
    from_bid = bids.map(lambda b: mid_from_bid(b) if b else None)
    mids = ids.where(numeric, from_bid)
    c.reject(mids.isna().to_numpy(), "post_id", Message("expected.weibo_mid"), ids)
    bids = bids.where(bids != "", mids.map(lambda m: bid_from_mid(m) if isinstance(m, str) else None))
    _posts(c, mids, bids)
    if not c.has("published_at") and c.has("_day"):
        c.bind("published_at", c.pos["_day"])  # older crawler versions: 日期 only, a day
    if c.has("published_at"):
        c.set("published_at", c.timestamp("published_at", TIME_FORMATS, required=True))
    if c.has("_original"):
        original = c.text("_original").str.casefold()
        c.set("post_type", original.map({"true": "original", "false": "repost"}))


def parse_spider(c) -> None:
    bids = c.text("_bid")
    mids = bids.map(lambda b: mid_from_bid(b) if b else None)
    c.reject(mids.isna().to_numpy(), "_bid", Message("expected.weibo_bid"), bids)
    _posts(c, mids, bids)
    c.set("published_at", c.timestamp("published_at", TIME_FORMATS, required=True))


register(
    Report(
        platform="weibo",
        name="weibo.crawler",
        title="Weibo posts CSV written by dataabc weibo-crawler, per post",
        grain=POST_LIFETIME,
        columns=CRAWLER_COLUMNS,
        required=("post_id", "title", "likes", "comments", "shares"),
        parse=parse_crawler,
        notes="Lifetime counts at crawl time; the 源微博 columns of retweets are not the account's.",
    ),
    Report(
        platform="weibo",
        name="weibo.spider",
        title="Weibo posts CSV written by dataabc weiboSpider, per post",
        grain=POST_LIFETIME,
        columns=SPIDER_COLUMNS,
        required=("_bid", "title", "published_at", "likes", "shares", "comments"),
        parse=parse_spider,
        notes="Lifetime counts at crawl time; 微博id is the post's link code.",
    ),
)

"""LinkedIn: the Page analytics workbooks (Content and Followers) that a Page admin exports.

The Content workbook has a ``Metrics`` sheet (one row per day for the whole Page, organic and
sponsored counts side by side) and an ``All posts`` sheet (one row per post, totals since
publishing as of the export). The Followers workbook's ``New followers`` sheet is one row per day
of followers gained. Each sheet has a note on row 1 and its header on row 2, which the reader
already takes as a title line; CSV copies of the same tables read the same way. LinkedIn files
name no Page id, so no account is set here: the import assigns one. Headers come in the Page
admin's UI language: English (current and older naming), Brazilian Portuguese (from importers of
real files) and Simplified Chinese (terms from LinkedIn's zh-CN help, not yet seen in a file).
"""
from __future__ import annotations

import re
from urllib.parse import unquote

from ..model import ACCOUNT_DAY, POST_LIFETIME
from ..registry import Report, register

# LinkedIn writes US-style dates as text; a cell Excel kept as a real date reaches us as ISO.
DATE_FORMATS = ["%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y"]
CREATED_FORMATS = ["%m/%d/%Y", "%Y-%m-%d", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%y"]

# activity, share and ugcPost ids are separate number spaces, so the kind stays in the id.
_URN = re.compile(r"urn:li:(activity|share|ugcPost):(\d+)", re.I)
_URN_KINDS = {"activity": "activity", "share": "share", "ugcpost": "ugcPost"}


def _zh(label: str, part: str) -> list[str]:
    """A Chinese header with its qualifier in full-width and in ASCII parentheses."""
    return [f"{label}（{part}）", f"{label} ({part})"]


METRICS_COLUMNS = {
    "day": ["Date", "Data", "日期"],
    "_impressions_organic": ["Impressions (organic)", "Impressões (orgânicas)", *_zh("展示量", "自然")],
    "_impressions_sponsored": ["Impressions (sponsored)", "Impressões (patrocinadas)", *_zh("展示量", "推广")],
    "impressions": ["Impressions (total)", "Impressões (total)", *_zh("展示量", "总计")],
    "reach": ["Unique impressions (organic)", "Impressões únicas (orgânicas)",
              *_zh("独立展示量", "自然"), *_zh("触达的会员量", "自然")],
    "_clicks_organic": ["Clicks (organic)", "Cliques (orgânicos)", *_zh("点击次数", "自然")],
    "clicks": ["Clicks (total)", "Cliques (total)", *_zh("点击次数", "总计")],
    "_reactions_organic": ["Reactions (organic)", "Reações (orgânicas)", *_zh("回应", "自然")],
    "likes": ["Reactions (total)", "Reações (total)", *_zh("回应", "总计")],
    "_comments_organic": ["Comments (organic)", "Comentários (orgânicos)", *_zh("评论", "自然")],
    "comments": ["Comments (total)", "Comentários (total)", *_zh("评论", "总计")],
    "_reposts_organic": ["Reposts (organic)", "Shares (organic)", "Compartilhamentos (orgânicos)",
                         *_zh("转发", "自然")],
    "shares": ["Reposts (total)", "Shares (total)", "Compartilhamentos (total)", *_zh("转发", "总计")],
    "_engagement_rate": ["Engagement rate (total)", "Taxa de engajamento (total)", *_zh("参与率", "总计")],
}

POSTS_COLUMNS = {
    "title": ["Post title", "Update title", "Título da publicação", "动态标题"],
    "url": ["Post link", "Update link", "Link da publicação", "动态链接"],
    "_post_kind": ["Post type", "Update type", "Tipo de publicação", "动态类型"],  # organic / sponsored
    "_posted_by": ["Posted by", "Published by", "Publicada por", "发布者"],
    # Older workbooks call the publishing day just "Date".
    "published_at": ["Created date", "Date", "Criação", "创建日期"],
    "impressions": ["Impressions", "Impressões", "展示量"],
    "video_views": ["Views (excluding off-site video views)", "Views", "Visualizações", "观看次数"],
    "_offsite_views": ["Off-site views", "Visualizações fora do site"],
    "clicks": ["Clicks", "Cliques", "点击次数"],
    "_ctr": ["Click through rate (CTR)", "Click-Through Rate (CTR)", "Taxa de cliques (CTR)", "点击率"],
    "likes": ["Likes", "Gostaram", "回应"],
    "comments": ["Comments", "Comentários", "评论"],
    "shares": ["Reposts", "Shares", "Compartilhamentos", "转发"],
    "followers_gained": ["Follows", "Followers", "Seguidores", "关注"],
    "_engagement_rate": ["Engagement rate", "Taxa de engajamento", "参与率"],
    "post_type": ["Content Type", "Tipo de conteúdo", "内容类型"],
}

NEW_FOLLOWERS_COLUMNS = {
    "day": ["Date", "Data", "日期"],
    "_sponsored_followers": ["Sponsored followers", "Followers Sponsored", "Seguidores patrocinados",
                             "推广关注者"],
    "_organic_followers": ["Organic followers", "Followers Organic", "Seguidores orgânicos", "自然关注者"],
    "_auto_invited_followers": ["Auto-invited followers", "Seguidores convidados automaticamente"],
    # New followers that day, not the running total the name suggests.
    "followers_gained": ["Total followers", "Total de seguidores", "关注者总数"],
}


def parse_metrics(c):
    c.set("day", c.date("day", DATE_FORMATS))
    # Daily counts can be negative (LinkedIn takes back reactions it later finds invalid): kept.
    c.set_metrics({m: {} for m in ("impressions", "reach", "clicks", "likes", "comments", "shares")})


def _post_ids(c):
    links = c.text("url")
    found = links.map(unquote).str.extract(_URN)
    kinds = found[0].str.lower().map(_URN_KINDS)
    ids = ("urn:li:" + kinds + ":" + found[1]).astype(object)
    missing = ids.isna().to_numpy()
    c.reject(missing, "url", "a LinkedIn post link with urn:li:activity:, urn:li:share: or urn:li:ugcPost:")
    c.set("post_id", ids.where(~missing, None))


def parse_posts(c):
    links = c.text("url")
    c.skip((links == "").to_numpy() & (c.text("title") == "").to_numpy(), "empty rows")
    _post_ids(c)
    c.set("url", links)
    c.set("title", c.text("title"))
    c.set("post_type", c.text("post_type").replace("", None))
    c.set("published_at", c.timestamp("published_at", CREATED_FORMATS))
    c.set_metrics({m: {} for m in ("impressions", "video_views", "clicks", "likes", "comments",
                                   "shares", "followers_gained")})


def parse_new_followers(c):
    c.set("day", c.date("day", DATE_FORMATS))
    # Unfollows make a day's net negative; the file states it so and so do we.
    c.set_metrics({"followers_gained": {}})


register(
    Report(
        platform="linkedin",
        name="linkedin.content_metrics",
        title="LinkedIn Page content export, Metrics sheet (per day)",
        grain=ACCOUNT_DAY,
        columns=METRICS_COLUMNS,
        required=("day", "impressions", "clicks", "likes"),
        parse=parse_metrics,
        notes="Totals are organic plus sponsored; reach is unique impressions, organic only.",
    ),
    Report(
        platform="linkedin",
        name="linkedin.content_posts",
        title="LinkedIn Page content export, All posts sheet (per post)",
        grain=POST_LIFETIME,
        columns=POSTS_COLUMNS,
        required=("title", "url", "published_at", "impressions"),
        parse=parse_posts,
        notes="Lifetime totals per post as of the export; post_id is the post's URN.",
    ),
    Report(
        platform="linkedin",
        name="linkedin.new_followers",
        title="LinkedIn Page followers export, New followers sheet (per day)",
        grain=ACCOUNT_DAY,
        columns=NEW_FOLLOWERS_COLUMNS,
        required=("day", "_organic_followers", "followers_gained"),
        parse=parse_new_followers,
        notes="Total followers is the number gained that day (sponsored + organic + auto-invited).",
    ),
)

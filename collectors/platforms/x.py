"""X (Twitter): the legacy analytics.twitter.com exports and the Premium account analytics exports.

Legacy "Tweet activity" files are one row per tweet with lifetime totals at export time, counts
written as floats ("3423.0"), "-" in promoted columns; the "by day" file is one row per account
and day. Premium "Content" exports are one row per post (lifetime), "Overview" one row per day.
Some exports contain junk rows whose permalink ends in /status/undefined: they are skipped.
"""
from __future__ import annotations

import re

from ..model import ACCOUNT_DAY, POST_LIFETIME
from ..registry import Report, register

_HANDLE = re.compile(r"(?:twitter|x)\.com/([A-Za-z0-9_]{1,30})/status/", re.I)
_ID_IN_URL = re.compile(r"/status/(\d+)")

LEGACY_POST_COLUMNS = {
    "post_id": ["Tweet id"],
    "url": ["Tweet permalink"],
    "title": ["Tweet text"],
    "published_at": ["time"],
    "impressions": ["impressions"],
    "likes": ["likes"],
    "comments": ["replies"],
    "shares": ["retweets"],
    "clicks": ["url clicks"],
    # Legacy "media views" count views of images and GIFs as well as videos: not video_views.
    "_media_views": ["media views"],
    "followers_gained": ["follows"],
    "_engagements": ["engagements"],
}

CONTENT_COLUMNS = {
    "post_id": ["Post id", "Идентификатор поста", "ポストID", "帖子 ID", "帖子ID"],
    "published_at": ["Date", "日付", "Дата", "日期"],
    "title": ["Post text", "ポスト本文", "Текст поста", "帖子文本"],
    "url": ["Post Link", "Ссылка на пост", "ポストのリンク", "帖子链接"],
    "impressions": ["Impressions", "インプレッション数", "Показы", "展示量"],
    "likes": ["Likes", "いいね", "Нравится", "喜欢次数", "喜欢"],
    "_engagements": ["Engagements", "エンゲージメント", "Взаимодействия", "互动"],
    "saves": ["Bookmarks", "ブックマーク", "Закладки", "书签"],
    "_shares_external": ["Shares", "共有された回数", "Поделились", "分享"],
    "followers_gained": ["New follows", "新しいフォロー", "Новые читатели", "新关注者"],
    "comments": ["Replies", "返信", "Ответы", "回复"],
    "shares": ["Reposts", "リポスト", "Репосты", "转帖"],
    "_profile_visits": ["Profile visits", "プロフィールへのアクセス数", "Посещения профиля", "个人资料访问量"],
    "_detail_expands": ["Detail Expands", "詳細のクリック数", "Разворачивания подробных сведений"],
    "clicks": ["URL Clicks", "URLのクリック数", "Клики по URL-адресам", "URL 点击量"],
}

X_DATE_FORMATS = ["%a, %b %d, %Y", "%Y-%m-%d", "%Y-%m-%d %H:%M %z", "%Y/%m/%d", "%m/%d/%Y", "ISO8601"]


def _account_from_urls(c):
    urls = c.text("url")
    handles = urls.str.extract(_HANDLE, expand=False)
    c.set("account_handle", handles.where(handles.notna(), None))


def _skip_junk(c):
    urls = c.text("url")
    c.skip(urls.str.contains("/status/undefined", regex=False), "junk rows with /status/undefined")


def _post_ids(c):
    ids = c.text("post_id")
    from_url = c.text("url").str.extract(_ID_IN_URL, expand=False)
    # Excel turns 19-digit ids into 1.23457E+18, or into 1245106294198900000 when the column is
    # formatted as a number (15 significant digits): the permalink keeps the real id, so it wins.
    broken = from_url.notna() & (ids != from_url)
    ids = ids.where(~broken, from_url)
    c.reject(~ids.str.fullmatch(r"\d{1,20}"), "post_id", "a numeric post id", ids)
    c.set("post_id", ids)


def parse_legacy_posts(c):
    _skip_junk(c)
    _post_ids(c)
    _account_from_urls(c)
    c.set("url", c.text("url"))
    c.set("title", c.text("title"))
    c.set("published_at", c.timestamp("published_at", ["%Y-%m-%d %H:%M %z", "ISO8601"]))
    c.set_metrics({m: {} for m in ("impressions", "likes", "comments", "shares", "clicks",
                                   "followers_gained")})


def parse_content(c):
    _skip_junk(c)
    _post_ids(c)
    _account_from_urls(c)
    c.set("url", c.text("url"))
    c.set("title", c.text("title"))
    c.set("published_at", c.timestamp("published_at", X_DATE_FORMATS))
    c.set_metrics({m: {} for m in ("impressions", "likes", "saves", "followers_gained",
                                   "comments", "shares", "clicks")})


LEGACY_DAILY_COLUMNS = {
    "day": ["Date"],
    "_tweets_published": ["Tweets published"],
    "impressions": ["impressions"],
    "likes": ["likes"],
    "comments": ["replies"],
    "shares": ["retweets"],
    "clicks": ["url clicks"],
    "_media_views": ["media views"],
    "followers_gained": ["follows"],
    "_engagements": ["engagements"],
}

OVERVIEW_COLUMNS = {
    "day": ["Date", "日付", "Дата", "日期"],
    "impressions": ["Impressions", "インプレッション数", "Показы", "展示量"],
    "likes": ["Likes", "いいね", "Нравится", "喜欢次数", "喜欢"],
    "_engagements": ["Engagements", "エンゲージメント", "Взаимодействия", "互动"],
    "saves": ["Bookmarks", "ブックマーク", "Закладки", "书签"],
    "_shares_external": ["Shares", "共有された回数", "Поделились", "分享"],
    "followers_gained": ["New follows", "新しいフォロー", "Новые читатели", "新关注者"],
    "_unfollows": ["Unfollows"],
    "comments": ["Replies", "返信", "Ответы", "回复"],
    "shares": ["Reposts", "リポスト", "Репосты", "转帖"],
    "_profile_visits": ["Profile visits", "プロフィールへのアクセス数", "Посещения профиля"],
    "_create_post": ["Create Post"],
    "video_views": ["Video views"],
    "_media_views": ["Media views"],
}


def parse_daily(c):
    c.set("day", c.date("day", X_DATE_FORMATS))
    c.set_metrics({m: {} for m in ("impressions", "likes", "comments", "shares", "clicks", "saves",
                                   "video_views", "followers_gained")})


register(
    Report(
        platform="x",
        name="x.tweet_activity",
        title="X legacy analytics, Tweet activity by tweet",
        grain=POST_LIFETIME,
        columns=LEGACY_POST_COLUMNS,
        required=("post_id", "url", "published_at", "impressions"),
        parse=parse_legacy_posts,
    ),
    Report(
        platform="x",
        name="x.tweet_activity_daily",
        title="X legacy analytics, Tweet activity by day",
        grain=ACCOUNT_DAY,
        columns=LEGACY_DAILY_COLUMNS,
        required=("day", "_tweets_published", "impressions"),
        parse=parse_daily,
    ),
    Report(
        platform="x",
        name="x.content",
        title="X account analytics, Content export",
        grain=POST_LIFETIME,
        columns=CONTENT_COLUMNS,
        required=("post_id", "published_at", "impressions", "url"),
        parse=parse_content,
    ),
    Report(
        platform="x",
        name="x.overview",
        title="X account analytics, Overview export",
        grain=ACCOUNT_DAY,
        columns=OVERVIEW_COLUMNS,
        required=("day", "impressions", "_profile_visits", "followers_gained"),
        # A content export whose "Post id" header got damaged still has its text and link
        # columns: it must not pass for an overview file.
        excludes=("Post id", "Tweets published", "Post text", "Post Link", "Tweet id", "Tweet text"),
        parse=parse_daily,
    ),
)

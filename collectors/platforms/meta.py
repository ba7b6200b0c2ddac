"""Meta (Facebook Pages and Instagram professional accounts): the Meta Business Suite content
exports, the page-level chart downloads, and the legacy Facebook Insights "Post data" export.

Business Suite content exports (Insights → Content → Export) are UTF-8 CSVs with a BOM, one row
per post, captions with quoted newlines, and a ``Date`` column that says what each row covers:
the word ``Lifetime`` for totals since publishing at export time, or a calendar day
(``01/28/2026``) for that day's activity. Facebook and Instagram files share that layout and
differ in their account columns (``Page ID``/``Page name`` against ``Account ID``/``Account
username``/``Account name``) and metrics (``Reactions`` against ``Likes``); Instagram stories
come as a separate file with story columns (``Navigation``, ``Sticker taps``). Chart downloads
(one metric per file) are UTF-16 with a ``sep=,`` line and a title line naming the metric, then
``"Date","Primary"`` or ``"Date","<metric name>"``; the title alone says which platform and which
metric the file holds, and names no account. Headers follow the UI language: English, Brazilian
Portuguese (seen in a public importer of real files) and Simplified Chinese (unconfirmed
guesses, see docs/platforms/meta.md).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..model import ACCOUNT_DAY, POST_DAILY, POST_LIFETIME
from ..read import header_key
from ..registry import Report, register

PUBLISH_FORMATS = ["%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "ISO8601"]
DAY_FORMATS = ["%m/%d/%Y", "%Y-%m-%d"]
CHART_DAY_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%m/%d/%Y"]

# Facebook post ids are digits; the legacy export writes "<page id>_<post id>".
_POST_ID = re.compile(r"\d{1,25}(?:_\d{1,25})?")
_ACCOUNT_ID = re.compile(r"\d{1,25}")

# zh-CN labels are unconfirmed: Meta's zh-CN UI terms (覆盖人数, 心情, 永久链接, ...) put into
# header form, not seen in an exported file. pt-BR labels come from a public importer that reads
# real Brazilian exports.
COMMON_POST_COLUMNS = {
    "post_id": ["Post ID", "Identificação do post", "帖子编号", "帖子 ID", "帖子ID"],
    "_description": ["Description", "Descrição", "描述", "说明"],
    "_duration": ["Duration (sec)", "Duração (s)", "时长（秒）", "时长 (秒)"],
    "published_at": ["Publish time", "Horário de publicação", "发布时间"],
    "url": ["Permalink", "Link permanente", "永久链接"],
    "post_type": ["Post type", "Tipo de post", "帖子类型"],
    "_data_comment": ["Data comment", "Comentário de dados", "数据备注"],
    # "Lifetime" or a calendar day: decides between the lifetime and the per-day report.
    "_date": ["Date", "Data", "日期"],
    "views": ["Views", "Visualizações", "浏览次数", "观看次数"],
    "reach": ["Reach", "Alcance", "覆盖人数"],
    # Files from before Meta replaced impressions with views (2025).
    "impressions": ["Impressions", "Impressões", "展示次数"],
    "comments": ["Comments", "Comentários", "评论", "评论数"],
    "shares": ["Shares", "Compartilhamentos", "分享", "分享次数"],
    "clicks": ["Link clicks", "Cliques no link", "链接点击量", "链接点击次数"],
}

FACEBOOK_POST_COLUMNS = {
    **COMMON_POST_COLUMNS,
    "account_id": ["Page ID", "Identificação da Página", "公共主页编号", "公共主页 ID"],
    "account_name": ["Page name", "Nome da Página", "公共主页名称"],
    "title": ["Title", "Título", "标题"],
    "_caption_type": ["Caption type"],
    "_is_crosspost": ["Is crosspost"],
    "_is_share": ["Is share"],
    "_interactions": ["Reactions, comments and shares", "Reações, comentários e compartilhamentos",
                      "心情、评论和分享"],
    "likes": ["Reactions", "Reações", "心情"],
    # Facebook counts seconds already; "Average Seconds viewed" is per view and not stored.
    "watch_time_s": ["Seconds viewed", "Segundos visualizados", "观看秒数"],
    "_average_seconds": ["Average Seconds viewed"],
    # All clicks on the post (photo opens, "see more", ...): "Link clicks" is the canonical one.
    "_total_clicks": ["Total clicks", "Total de cliques"],
    "_other_clicks": ["Other clicks"],
}

INSTAGRAM_POST_COLUMNS = {
    **COMMON_POST_COLUMNS,
    "account_id": ["Account ID", "Identificação da conta", "账户编号", "帐户编号", "账户 ID"],
    "account_handle": ["Account username", "Nome de usuário da conta", "账户用户名", "帐户用户名"],
    "account_name": ["Account name", "Nome da conta", "账户名称", "帐户名称"],
    "likes": ["Likes", "Curtidas", "赞", "点赞数"],
    "saves": ["Saves", "Salvamentos", "收藏", "收藏次数"],
    # Follows the account gained from this post or story.
    "followers_gained": ["Follows", "Seguimentos", "关注", "关注次数"],
    "_profile_visits": ["Profile visits", "Visitas ao perfil", "主页访问量"],
    # Story replies are private messages to the account, not public comments: not "comments".
    "_replies": ["Replies", "Respostas", "回复"],
    "_sticker_taps": ["Sticker taps", "Toques em figurinhas", "贴纸点按次数"],
    "_navigation": ["Navigation", "Navegação", "导航"],
}

# Story-only columns: a posts table that has one is a stories export.
_STORY_HEADERS = tuple(INSTAGRAM_POST_COLUMNS["_navigation"] + INSTAGRAM_POST_COLUMNS["_sticker_taps"])

POST_METRICS = {
    "views": {}, "impressions": {}, "reach": {}, "likes": {}, "comments": {}, "shares": {}, "saves": {},
    "clicks": {}, "followers_gained": {}, "watch_time_s": {"integer": False},
}


# --- lifetime or per day: the values of the Date column -------------------------------------

def _column(table, aliases) -> pd.Series | None:
    keys = {header_key(a) for a in aliases}
    for i, k in enumerate(table.keys):
        if k in keys:
            return table.cells[i].astype(object).str.strip()
    return None


def _date_cells(table) -> pd.Series:
    col = _column(table, COMMON_POST_COLUMNS["_date"])
    if col is None:
        return pd.Series([], dtype=object)
    return col[col != ""]


def _is_lifetime(table) -> bool:
    # "Lifetime" in whatever language the UI used has no digit in it; a day always has some.
    return not _date_cells(table).str.contains(r"\d", regex=True).any()


def _is_daily(table) -> bool:
    cells = _date_cells(table)
    return len(cells) > 0 and bool(cells.str.contains(r"\d", regex=True).all())


# --- posts --------------------------------------------------------------------------------------

def _skip_blank_rows(c) -> None:
    blank = (c.table.cells.astype(object).apply(lambda s: s.str.strip()) == "").all(axis=1)
    c.skip(blank.to_numpy(), "empty rows")


def _post_ids(c) -> None:
    ids = c.text("post_id")
    # Excel rewrites 16-19 digit ids as 1.36643E+15; the permalink holds a different (video or
    # shortcode) id, so the post id cannot be recovered and the row is refused.
    c.reject(~ids.str.fullmatch(_POST_ID).to_numpy(), "post_id",
             "a numeric post id (Excel writes long ids as 1.36643E+15: import the CSV as Meta exported it)", ids)
    c.set("post_id", ids)


def _text_or_none(s: pd.Series) -> pd.Series:
    return s.where(s != "", None).astype(object)


def _accounts(c) -> None:
    if c.has("account_id"):
        ids = c.text("account_id")
        c.set("account_id", ids.where(ids.str.fullmatch(_ACCOUNT_ID), None).astype(object))
    if c.has("account_handle"):
        c.set("account_handle", _text_or_none(c.text("account_handle").str.lstrip("@")))
    if c.has("account_name"):
        c.set("account_name", _text_or_none(c.text("account_name")))


def _post_fields(c) -> None:
    _skip_blank_rows(c)
    _post_ids(c)
    _accounts(c)
    c.set("url", c.text("url"))
    title, description = c.text("title"), c.text("_description")
    c.set("title", title.where(title != "", description))
    c.set("post_type", c.text("post_type"))
    c.set("published_at", c.timestamp("published_at", PUBLISH_FORMATS))
    c.set_metrics(POST_METRICS)


def parse_posts(c) -> None:
    _post_fields(c)


def parse_posts_daily(c) -> None:
    _post_fields(c)
    # Meta writes a row for every day of the range, zeros before the post existed: kept, as the
    # file states them.
    c.set("day", c.date("_date", DAY_FORMATS))


# --- legacy Facebook Insights "Post data" ------------------------------------------------------

LEGACY_POST_COLUMNS = {
    "post_id": ["Post ID"],
    "url": ["Permalink"],
    "title": ["Post Message"],
    "post_type": ["Type"],
    "published_at": ["Posted"],
    "reach": ["Lifetime Post Total Reach"],
    "impressions": ["Lifetime Post Total Impressions"],
    # "Stories by action type" count actions (each like, comment, share); the "Talking About
    # This" columns count people, so they are not used.
    "likes": ["Lifetime Post Stories by action type - like", "Lifetime Post stories by action type - like"],
    "comments": ["Lifetime Post Stories by action type - comment", "Lifetime Post stories by action type - comment"],
    "shares": ["Lifetime Post Stories by action type - share", "Lifetime Post stories by action type - share"],
    "clicks": ["Lifetime Post Consumptions by type - link clicks", "Lifetime Post consumptions by type - link clicks"],
    "_engaged_users": ["Lifetime Engaged Users"],
}

LEGACY_PUBLISH_FORMATS = ["%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "ISO8601"]


def parse_legacy_posts(c) -> None:
    # Row 2 of the file describes each column ("Lifetime: The total number of people ...") and
    # has no post id.
    described = (c.text("post_id") == "") & c.text("reach").str.contains(r"[A-Za-z]", regex=True)
    c.skip(described.to_numpy(), "the row of column descriptions under the header")
    _skip_blank_rows(c)
    _post_ids(c)
    c.set("url", c.text("url"))
    c.set("title", c.text("title"))
    c.set("post_type", c.text("post_type"))
    c.set("published_at", c.timestamp("published_at", LEGACY_PUBLISH_FORMATS))
    c.set_metrics({m: {} for m in ("reach", "impressions", "likes", "comments", "shares", "clicks")})


# --- page-level chart downloads ------------------------------------------------------------------

CHART_COLUMNS = {
    "day": ["Date", "Data", "Fecha", "日期"],
    # The value column is headed "Primary" or with the metric's own name (any text): the parse
    # function reads it by position.
    "_value": ["Primary"],
}

# What a chart measures, from its title (or value header); first match wins, so narrower
# phrases come before the words they contain ("Page views" are visits, "unfollows" contain
# "follows"). None: not a canonical metric, with the reason given to the user.
_CHART_METRICS: list[tuple[re.Pattern, str | None, str]] = [(re.compile(p, re.I), m, why) for p, m, why in [
    (r"page views|visit|visitas|访问", None, "visits to the Page or profile are not a canonical metric"),
    (r"unfollow|deixaram de seguir|取消关注", None, "unfollows are not a canonical metric"),
    (r"viewers|espectadores|观看人数|浏览人数", "reach", ""),  # Meta's 2025 name for reach
    (r"reach|alcance|覆盖", "reach", ""),
    (r"impressions|impressões|展示次数", "impressions", ""),
    (r"views|visualizações|浏览次数|观看次数|浏览量", "views", ""),
    (r"link clicks|cliques no link|链接点击", "clicks", ""),
    (r"interactions|engagement|interações|互动", None,
     "interactions add up reactions, comments, shares and more: not one canonical metric"),
    (r"new (?:facebook |instagram )?(?:page )?followers|follows|novos seguidores|新增关注|新关注", "followers_gained", ""),
    (r"page likes|curtidas da página|主页赞", None, "Page likes are not follows"),
    (r"followers|seguidores|粉丝|关注者", None,
     "a follower chart may hold the follower total rather than the day's gain"),
]]


def chart_platform(title: str | None) -> str | None:
    t = (title or "").casefold()
    fb, ig = "facebook" in t, "instagram" in t
    return "facebook" if fb and not ig else "instagram" if ig and not fb else None


def chart_metric(title: str, header: str = "") -> tuple[str | None, str]:
    """(canonical metric or None, why not) for a chart's title, else its value column header."""
    for text in (title, header):
        for rx, metric, why in _CHART_METRICS:
            if rx.search(text or ""):
                return metric, why
    return None, "the chart's title names no metric this tool knows"


def _chart_accepts(platform: str):
    day_keys = {header_key(a) for a in CHART_COLUMNS["day"]}

    def accepts(table) -> bool:
        return (len(table.header) >= 2 and table.keys[0] in day_keys and table.header[1] != ""
                and chart_platform(table.title) == platform)

    return accepts


def parse_chart(c) -> None:
    title = c.table.title or ""
    metric, why = chart_metric(title, c.table.header[1])
    if not c.has("_value"):  # a value header that is the metric's name, not "Primary"
        c.bind("_value", 1)
    if metric is None:
        c.skip(np.ones(c.n, dtype=bool), f'days of "{title}" ({why})')
        c.set("day", pd.Series(pd.NaT, index=range(c.n), dtype="datetime64[us]"))
        return
    c.set("day", c.date("day", CHART_DAY_FORMATS))
    c.set(metric, c.number("_value"))


# --- registration --------------------------------------------------------------------------------

def _post_reports(platform: str, name: str, title: str, columns: dict, required: tuple,
                  excludes: tuple, notes: str) -> list[Report]:
    common = dict(platform=platform, columns=columns, required=required, excludes=excludes)
    return [
        Report(name=name, title=f"{title}, lifetime per post", grain=POST_LIFETIME, parse=parse_posts,
               accepts=_is_lifetime, notes=f"{notes} Totals since publishing at export time.", **common),
        Report(name=f"{name}_daily", title=f"{title}, per post and day", grain=POST_DAILY,
               parse=parse_posts_daily, accepts=_is_daily,
               notes=f"{notes} One row per post and day, that day's activity.", **common),
    ]


register(
    *_post_reports(
        "facebook", "facebook.posts", "Meta Business Suite Facebook post export", FACEBOOK_POST_COLUMNS,
        ("post_id", "account_id", "published_at", "_date"),
        tuple(INSTAGRAM_POST_COLUMNS["account_handle"]), "Reactions are likes."),
    *_post_reports(
        "instagram", "instagram.posts", "Meta Business Suite Instagram post and reel export",
        INSTAGRAM_POST_COLUMNS, ("post_id", "account_handle", "published_at", "_date"),
        _STORY_HEADERS + tuple(FACEBOOK_POST_COLUMNS["account_id"]), "Posts, carousels and reels."),
    *_post_reports(
        "instagram", "instagram.stories", "Meta Business Suite Instagram stories export",
        INSTAGRAM_POST_COLUMNS, ("post_id", "account_handle", "published_at", "_date", "_navigation"),
        tuple(FACEBOOK_POST_COLUMNS["account_id"]), "Stories; replies are not comments."),
    Report(
        platform="facebook",
        name="facebook.legacy_post_data",
        title="Facebook Insights legacy Post data export (before Nov 2023)",
        grain=POST_LIFETIME,
        columns=LEGACY_POST_COLUMNS,
        required=("post_id", "published_at", "reach", "impressions"),
        parse=parse_legacy_posts,
        notes="Two header rows: the second (descriptions) is skipped.",
    ),
    Report(
        platform="facebook",
        name="facebook.page_chart",
        title="Meta Business Suite Facebook chart download (one Page metric per day)",
        grain=ACCOUNT_DAY,
        columns=CHART_COLUMNS,
        required=("day",),
        accepts=_chart_accepts("facebook"),
        parse=parse_chart,
        notes="The title line names the metric; no account in the file.",
    ),
    Report(
        platform="instagram",
        name="instagram.account_chart",
        title="Meta Business Suite Instagram chart download (one account metric per day)",
        grain=ACCOUNT_DAY,
        columns=CHART_COLUMNS,
        required=("day",),
        accepts=_chart_accepts("instagram"),
        parse=parse_chart,
        notes="The title line names the metric; no account in the file.",
    ),
)

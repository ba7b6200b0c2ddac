"""TikTok: the TikTok Studio "Download data" exports (Overview, Content, Followers) and the older
per-video export with a ``Time`` column.

Studio delivers one ZIP per analytics section: ``Overview_<first day>_<epoch s>_<handle>.zip``
(``Overview.csv``: the account's daily values), ``Content_<handle>.zip`` (``Content.csv``: one row
per post, totals at export time) and ``Followers_<handle>.zip`` (``FollowerHistory.csv``: the
follower total and its daily change; its FollowerActivity, FollowerGender and
FollowerTopTerritories members are audience breakdowns, not metrics, and are not claimed here).
Files are UTF-8 with a BOM, every field quoted, no final newline. Day columns carry no year and
are written in the UI language ("September 25", "9 July", "28 апреля"), so the year comes from the
ZIP name, else from the export moment, else from the import time. The account handle appears only
in the ZIP name and in post links, never in a column.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from ..model import ACCOUNT_DAY, POST_LIFETIME
from ..registry import Report, register

_POST_LINK = re.compile(r"tiktok\.com/@(?P<handle>[A-Za-z0-9_.]+)/(?P<kind>video|photo)/(?P<id>\d+)", re.I)
_BARE_ID = re.compile(r"/(?:video|photo)/(\d+)")
# Overview_2025-08-28_1787841428_hopihari.zip; Content_<handle>.zip; browsers may add " (1)".
_OVERVIEW_ZIP = re.compile(r"^Overview_(?P<first>\d{4}-\d{2}-\d{2})_(?P<epoch>\d{9,11})_(?P<handle>.+?)(?: ?\(\d+\))?\.zip$", re.I)
_SECTION_ZIP = re.compile(r"^(?:Overview|Content|Followers|Viewers)_(?P<handle>.+?)(?: ?\(\d+\))?\.zip$", re.I)

POST_TIME_FORMATS = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y/%m/%d %H:%M", "%d/%m/%Y %H:%M",
                     "ISO8601"]

# Month names as TikTok writes them in day cells, by UI language. Russian needs the genitive
# ("28 апреля"); the nominative is there for safety. Keys are case-folded.
_MONTHS: dict[str, int] = {}
for _names in (
    "january february march april may june july august september october november december",
    "jan feb mar apr may jun jul aug sep oct nov dec",
    "januari februari mars april maj juni juli augusti september oktober november december",  # sv
    "januar februar märz april mai juni juli august september oktober november dezember",  # de
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",  # fr
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",  # es
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",  # pt
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",  # it
    "januari februari maart april mei juni juli augustus september oktober november december",  # nl
    "januari februari maret april mei juni juli agustus september oktober november desember",  # id
    "ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık",  # tr
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",  # ru
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь",
):
    for _i, _name in enumerate(_names.split(), 1):
        _MONTHS.setdefault(_name.casefold(), _i)
_MONTHS["sept"] = 9  # British English abbreviation

_CJK_DAY = re.compile(r"^(?P<m>\d{1,2})\s*[月월]\s*(?P<d>\d{1,2})\s*[日일]?$")
_VI_DAY = re.compile(r"^(?P<d>\d{1,2})\s*(?:tháng|thg)\s*(?P<m>\d{1,2})$", re.I)
_FULL_DAY = re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})$")
_WORDS = re.compile(r"[^\W\d_]+|\d+")


def month_day(text: str) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) from a TikTok day cell, or None when it is not a day."""
    s = text.strip().casefold()
    for rx in (_FULL_DAY, _CJK_DAY, _VI_DAY):
        m = rx.match(s)
        if m:
            g = m.groupdict()
            return (int(g["y"]) if g.get("y") else None, int(g["m"]), int(g["d"]))
    tokens = [t for t in _WORDS.findall(s) if t not in ("de", "del")]  # "25 de setembro"
    if len(tokens) != 2:
        return None
    nums = [t for t in tokens if t.isdigit()]
    words = [t for t in tokens if not t.isdigit()]
    if len(nums) != 1 or len(words) != 1 or words[0] not in _MONTHS:
        return None
    return (None, _MONTHS[words[0]], int(nums[0]))


def _valid(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _first_year(m: int, d: int, first: date) -> int:
    """The year that puts (m, d) nearest the first day the ZIP name states."""
    years = [y for y in (first.year - 1, first.year, first.year + 1) if _valid(y, m, d)]
    return min(years, key=lambda y: abs((_valid(y, m, d) - first).days)) if years else first.year


def _last_year(m: int, d: int, end: date) -> int:
    """The latest year in which (m, d) is not after ``end`` (the export day, plus a day of slack
    for timezones): the last row of an export is at most the day the export was made."""
    for y in (end.year + 1, end.year, end.year - 1, end.year - 2, end.year - 3, end.year - 4):
        day = _valid(y, m, d)
        if day is not None and day <= end + timedelta(days=1):
            return y
    return end.year


def infer_days(cells: list[str], file_name: str, imported_at: datetime) -> tuple[list[date | None], str]:
    """Each cell's calendar day, and where the year came from.

    Rows run forward one day at a time, so a month-day smaller than the previous row's means the
    year turned (December to January). The anchor is the first day in the Overview ZIP's name;
    otherwise the export moment in that name, or the import time, taken as the last row's day.
    """
    parts = [month_day(c) for c in cells]
    out: list[date | None] = [None] * len(cells)
    for i, p in enumerate(parts):
        if p is not None and p[0] is not None:
            out[i] = _valid(*p)
    todo = [i for i, p in enumerate(parts) if p is not None and p[0] is None]
    if not todo:
        return out, "the file"
    name = Path(file_name).name
    m = _OVERVIEW_ZIP.match(name)
    if m:
        first = date.fromisoformat(m.group("first"))
        year = _first_year(parts[todo[0]][1], parts[todo[0]][2], first)
        prev = None
        for i in todo:
            md = parts[i][1:]
            if prev is not None and md < prev:
                year += 1
            out[i], prev = _valid(year, *md), md
        return out, f"the ZIP name ({first.isoformat()})"
    if m := re.search(r"_(1[5-9]\d{8})_", name):
        end, source = datetime.fromtimestamp(int(m.group(1)), timezone.utc).date(), "the export time in the file name"
    else:
        end, source = imported_at.astimezone(timezone.utc).date() - timedelta(days=1), "the import time"
    year = _last_year(parts[todo[-1]][1], parts[todo[-1]][2], end)
    nxt = None
    for i in reversed(todo):
        md = parts[i][1:]
        if nxt is not None and md > nxt:
            year -= 1
        out[i], nxt = _valid(year, *md), md
    return out, source


def _handle_from_name(file_name: str) -> str | None:
    name = Path(file_name).name
    m = _OVERVIEW_ZIP.match(name) or _SECTION_ZIP.match(name)
    return m.group("handle").lstrip("@") if m else None


def _days(c) -> None:
    raw = c.text("day")
    found, _ = infer_days(raw.tolist(), c.table.file_name, c.ctx.imported_at)
    days = pd.Series(pd.to_datetime(pd.Series(found, dtype=object)), dtype="datetime64[us]")
    c.reject(days.isna().to_numpy(), "day",
             'a day like "September 25", "9 July", "28 апреля" or 2025-09-25', raw)
    c.set("day", days)
    handle = _handle_from_name(c.table.file_name)
    if handle:
        c.set("account_handle", handle)


# --- posts ------------------------------------------------------------------------------------

# Chinese labels are TikTok Studio zh-CN guesses, unconfirmed (see docs/platforms/tiktok.md).
CONTENT_COLUMNS = {
    "captured_at": ["Time"],
    "title": ["Video title", "Videotitel", "视频标题"],
    "url": ["Video link", "Videolänk", "视频链接"],
    "published_at": ["Post time", "Publishing time", "Publiceringstid", "发布时间"],
    "views": ["Total views", "Video views", "Videovisningar", "视频观看次数", "总观看次数"],
    "likes": ["Total likes", "Likes", "Gilla-markeringar", "点赞数"],
    "comments": ["Total comments", "Comments", "Kommentarer", "评论数"],
    "shares": ["Total shares", "Shares", "Delningar", "分享次数"],
    "saves": ["Add to favorites", "Lägg till i Favoriter", "收藏次数"],
    "_total_play_time": ["Total play time"],
    "_average_watch_time": ["Average watch time"],
    "_watched_full_video": ["Watched full video"],
    "_views_within_days": ["video_view_within_days"],
}


def parse_content(c) -> None:
    links = c.text("url")
    found = links.str.extract(_POST_LINK)
    ids = found["id"].where(found["id"].notna(), links.str.extract(_BARE_ID, expand=False))
    c.reject(ids.isna().to_numpy(), "url", "a TikTok post link like https://www.tiktok.com/@handle/video/<id>")
    c.set("post_id", ids.astype(object))
    c.set("url", links)
    c.set("title", c.text("title"))
    c.set("post_type", found["kind"].str.lower().astype(object))
    c.set("published_at", c.timestamp("published_at", POST_TIME_FORMATS))
    if c.has("captured_at"):
        # The moment the numbers were read, stated per row by the file: the snapshot time.
        c.set("captured_at", c.timestamp("captured_at", POST_TIME_FORMATS))
    handles = found["handle"].astype(object)
    fallback = _handle_from_name(c.table.file_name)
    if fallback:
        handles = handles.where(handles.notna(), fallback)
    c.set("account_handle", handles.where(handles.notna(), None))
    c.set_metrics({m: {} for m in ("views", "likes", "comments", "shares", "saves")})


# --- account per day --------------------------------------------------------------------------

DAY_ALIASES = ["Date", "Datum", "Дата", "日期", "Data", "Fecha", "Tanggal", "Ngày", "Tarih"]

OVERVIEW_COLUMNS = {
    "day": DAY_ALIASES,
    "views": ["Video Views", "Videovisningar", "Просмотры видео", "视频观看次数", "Visualizações de vídeo"],
    "_profile_views": ["Profile Views", "Profilvisningar", "Просмотры профиля", "主页访问量",
                       "Visualizações do perfil"],
    "likes": ["Likes", "Gilla-markeringar", "Отметки «Нравится»", "点赞数", "Curtidas"],
    "comments": ["Comments", "Kommentarer", "Комментарии", "评论数", "Comentários"],
    "shares": ["Shares", "Delningar", "Репосты", "分享次数", "Compartilhamentos"],
    "reach": ["Reached audience", "Målgrupp som nåtts"],
    # Current exports write one "New followers" figure that goes negative on days with more
    # unfollows: it is net. Older business exports split it into new, lost and net growth.
    "followers_gained": ["New followers", "Nya följare", "Новые подписчики", "新粉丝", "新增粉丝",
                         "Novos seguidores"],
    "_net_growth": ["Net growth", "Nettotillväxt"],
    "_lost_followers": ["Lost followers", "Tappade följare"],
}

FOLLOWER_HISTORY_COLUMNS = {
    "day": DAY_ALIASES,
    "followers": ["Followers", "Följare", "Подписчики", "粉丝", "Seguidores"],
    "followers_gained": ["Difference in followers from previous day"],
    # The 2021 "Last 60 days" export adds these to the follower columns.
    "views": ["Video views"],
    "_profile_views": ["Profile views"],
}


def parse_overview(c) -> None:
    _days(c)
    c.set_metrics({m: {} for m in ("views", "likes", "comments", "shares", "reach")})
    # Daily values: negatives are TikTok's corrections (a removed comment, an unfollow) and stay.
    if c.has("followers_gained"):
        c.set("followers_gained", c.number("followers_gained"))
    elif c.has("_net_growth"):
        c.set("followers_gained", c.number("_net_growth"))


def parse_follower_history(c) -> None:
    _days(c)
    c.set_metrics({"views": {}, "followers_gained": {}})
    if c.has("followers"):
        c.set("followers", c.number("followers", minimum=0))  # the level at the end of the day


register(
    Report(
        platform="tiktok",
        name="tiktok.content",
        title="TikTok post export (Content.csv / Video Posts), per post",
        grain=POST_LIFETIME,
        columns=CONTENT_COLUMNS,
        required=("title", "url", "published_at"),
        parse=parse_content,
        notes="Totals per post at export time; a Time column, when present, is the snapshot time.",
    ),
    Report(
        platform="tiktok",
        name="tiktok.overview",
        title="TikTok Studio Overview export, per account-day",
        grain=ACCOUNT_DAY,
        columns=OVERVIEW_COLUMNS,
        required=("day", "views", "_profile_views"),
        excludes=tuple(FOLLOWER_HISTORY_COLUMNS["followers_gained"]),
        parse=parse_overview,
        notes="Daily values (not cumulative); days carry no year.",
    ),
    Report(
        platform="tiktok",
        name="tiktok.follower_history",
        title="TikTok Studio Followers export, FollowerHistory (per account-day)",
        grain=ACCOUNT_DAY,
        columns=FOLLOWER_HISTORY_COLUMNS,
        required=("day", "followers_gained"),
        parse=parse_follower_history,
        notes="followers_gained is the day's change in the follower total.",
    ),
)

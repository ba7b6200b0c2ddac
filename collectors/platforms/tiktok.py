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

from .. import catalog, values
from ..messages import Message
from ..model import ACCOUNT_DAY, POST_LIFETIME
from ..registry import Report, register

_POST_LINK = re.compile(r"tiktok\.com/@(?P<handle>[A-Za-z0-9_.]+)/(?P<kind>video|photo)/(?P<id>\d+)", re.I)
_BARE_ID = re.compile(r"/(?:video|photo)/(\d+)")
# Overview_2025-08-28_1787841428_hopihari.zip; Content_<handle>.zip; browsers may add " (1)".
_OVERVIEW_ZIP = re.compile(r"^Overview_(?P<first>\d{4}-\d{2}-\d{2})_(?P<epoch>\d{9,11})_(?P<handle>.+?)(?: ?\(\d+\))?\.zip$", re.I)
_SECTION_ZIP = re.compile(r"^(?:Overview|Content|Followers|Viewers)_(?P<handle>.+?)(?: ?\(\d+\))?\.zip$", re.I)

POST_TIME_FORMATS = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y/%m/%d %H:%M", "%d/%m/%Y %H:%M",
                     "ISO8601"]

# Day cells are written in the UI language ("September 25", "9 July", "28 апреля", "25 thg 9",
# "9月25日", "20/6/2022"): collectors/values.py reads them in any language we support, and
# decides day-first or month-first numeric days for the column as a whole.


def month_day(text: str) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) from a TikTok day cell read alone, or None when it is not a day
    (or a numeric day whose day/month order only the whole column can tell: ``infer_days``)."""
    return values.parse_day(text)


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


def infer_days(cells: list[str], file_name: str, imported_at: datetime, *, order: str | None = None,
               column: str = "Date") -> tuple[list[date | None], str]:
    """Each cell's calendar day, and where the year came from.

    Rows run forward one day at a time, so a month-day smaller than the previous row's means the
    year turned (December to January). The anchor is the first day in the Overview ZIP's name;
    otherwise the export moment in that name, or the import time, taken as the last row's day.
    Numeric days ("20/6/2022") get one day/month order for the column (values.read_dates: a day
    above 12, else consecutive days, else ``order``); StructureError when nothing decides.
    """
    return _infer_days(cells, file_name, imported_at, order=order, column=column)[:2]


def _infer_days(cells: list[str], file_name: str, imported_at: datetime, *, order: str | None = None,
                column: str = "Date") -> tuple[list[date | None], str, list[str | None]]:
    read = values.read_dates([str(c) for c in cells], order=order, daily=True, column=column,
                             source=Path(file_name).name)
    parts = [(v[0], v[1], v[2]) if v is not None else None for v in read.values]
    reasons = read.reasons
    out, source = _place_years(parts, file_name, imported_at)
    return out, source, reasons


def _place_years(parts: list[tuple[int | None, int, int] | None], file_name: str, imported_at: datetime
                 ) -> tuple[list[date | None], str]:
    out: list[date | None] = [None] * len(parts)
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
    order = getattr(c, "date_order", None) or getattr(c.ctx, "date_order", None)
    found, _, reasons = _infer_days(raw.tolist(), c.table.file_name, c.ctx.imported_at, order=order,
                                    column=c.header("day"))
    days = pd.Series(pd.to_datetime(pd.Series(found, dtype=object)), dtype="datetime64[us]")
    bad = days.isna().to_numpy()
    for why in dict.fromkeys(r for r, b in zip(reasons, bad) if b):
        mask = bad & pd.Series([r == why for r in reasons]).to_numpy()
        c.reject(mask, "day", why or Message("expected.tiktok_day"), raw)
    c.set("day", days)
    handle = _handle_from_name(c.table.file_name)
    if handle:
        c.set("account_handle", handle)


# --- posts ------------------------------------------------------------------------------------

# Column names in every UI language: collectors/catalogs/tiktok.toml. Studio writes English
# headers whatever the UI language (only day cells are localized); older business exports
# were localized.


def parse_content(c) -> None:
    links = c.text("url")
    found = links.str.extract(_POST_LINK)
    ids = found["id"].where(found["id"].notna(), links.str.extract(_BARE_ID, expand=False))
    c.reject(ids.isna().to_numpy(), "url", Message("expected.tiktok_url"))
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

# An Overview never has FollowerHistory's change column (the two share Date and views).
_FOLLOWER_CHANGE = tuple(catalog.entry("tiktok:follower_history").columns().get("followers_gained", ()))


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
        columns={}, catalog="tiktok:content",
        required=("title", "url", "published_at"),
        parse=parse_content,
        notes="Totals per post at export time; a Time column, when present, is the snapshot time.",
    ),
    Report(
        platform="tiktok",
        name="tiktok.overview",
        title="TikTok Studio Overview export, per account-day",
        grain=ACCOUNT_DAY,
        columns={}, catalog="tiktok:overview",
        required=("day", "views", "_profile_views"),
        excludes=_FOLLOWER_CHANGE,
        parse=parse_overview,
        notes="Daily values (not cumulative); days carry no year.",
    ),
    Report(
        platform="tiktok",
        name="tiktok.follower_history",
        title="TikTok Studio Followers export, FollowerHistory (per account-day)",
        grain=ACCOUNT_DAY,
        columns={}, catalog="tiktok:follower_history",
        required=("day", "followers_gained"),
        excludes=tuple(catalog.entry("tiktok:follower_history").extra.get("excludes", ())),
        parse=parse_follower_history,
        notes="followers_gained is the day's change in the follower total.",
    ),
)

"""Meta (Facebook Pages and Instagram professional accounts): the Meta Business Suite content
exports, the page-level chart downloads, and the legacy Facebook Insights "Post data" export.

Business Suite content exports (Insights → Content → Export) are UTF-8 CSVs with a BOM, one row
per post, captions with quoted newlines, and a ``Date`` column that says what each row covers:
the word ``Lifetime`` (``Trọn đời``, ``Vitalício``, ``Sepanjang Masa``, ``Total`` ...) for totals
since publishing at export time, or a calendar day (``01/28/2026``) for that day's activity.
Facebook and Instagram files share that layout and differ in their account columns (``Page ID``/
``Page name`` against ``Account ID``/``Account username``/``Account name``), their metrics
(``Reactions`` against ``Likes``) and their permalinks (facebook.com against instagram.com);
Instagram stories come as a separate file with story columns (``Navigation``, ``Sticker taps``)
and ``/stories/`` permalinks. Chart downloads (one metric per file) are UTF-16 with a ``sep=,``
line and a title line naming the platform and the metric, then ``"<Date>","Primary"`` or
``"<Date>","<metric name>"``; the title alone says which platform and which metric the file
holds, and names no account.

Headers follow the UI language. Their names in each language are data, in
``collectors/catalogs/meta.toml`` (entries ``meta:posts``, ``meta:legacy_post_data``,
``meta:chart``, ``meta:chart_metrics``), with the source of each language in
docs/platforms/meta.md. What tells one report from another is decided here from things that do
not depend on the language: permalink domains, the values of the Date column, a chart's shape.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

from .. import catalog, values
from ..messages import Message
from ..model import ACCOUNT_DAY, POST_DAILY, POST_LIFETIME
from ..read import header_key
from ..registry import Report, register

# English exports write month-first days; which order a localized export writes is decided per
# column by the date readers (parse.Cells), not here.
PUBLISH_FORMATS = ["%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "ISO8601"]
DAY_FORMATS = ["%m/%d/%Y", "%Y-%m-%d"]
CHART_DAY_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%m/%d/%Y"]

POSTS = "meta:posts"
LEGACY = "meta:legacy_post_data"
CHART = "meta:chart"
CHART_METRICS = "meta:chart_metrics"

# Facebook post ids are digits; the legacy export writes "<page id>_<post id>".
_POST_ID = re.compile(r"\d{1,25}(?:_\d{1,25})?")
_ACCOUNT_ID = re.compile(r"\d{1,25}")

POST_METRICS = {
    "views": {}, "impressions": {}, "reach": {}, "likes": {}, "comments": {}, "shares": {}, "saves": {},
    "clicks": {}, "followers_gained": {}, "watch_time_s": {"integer": False},
}


def aliases(key: str, f: str) -> list[str]:
    """Every header name of field ``f`` in the catalog entry ``key``, in every language."""
    return catalog.entry(key).columns().get(f, [])


def _keys(key: str, *fields: str) -> frozenset[str]:
    return frozenset(header_key(a) for f in fields for a in aliases(key, f))


# Story-only columns: a posts table that has one is a stories export.
STORY_FIELDS = ("_navigation", "_sticker_taps")


# --- which platform, and posts or stories: the permalinks ------------------------------------

# A permalink cell, wherever the column is and whatever its header says.
_META_URL = re.compile(r"^\s*https?://(?:[a-z0-9-]+\.)*(facebook|instagram)\.com/(stories/)?", re.I)
_META_LINE = re.compile(_META_URL.pattern, re.I | re.M)
_SAMPLE = 500  # rows looked at


def _permalinks(table) -> tuple[str | None, bool]:
    """(the domain of the table's permalink column: "facebook", "instagram" or None, whether those
    permalinks are Instagram story links). The column with the most Meta links is taken, so a
    caption that happens to start with a link does not decide."""
    cached = getattr(table, "_meta_permalinks", None)
    if cached is not None:  # every Meta report's test asks (a dozen per file): look once
        return cached
    best: tuple[int, str | None, bool] = (0, None, False)
    for i in range(len(table.header)):
        cells = table.cells[i].iloc[:_SAMPLE].astype(object)
        # One search over the column's text first: most columns hold no Meta link at all, and a
        # regex extract per cell cost 50 ms a file. Same pattern, line by line (re.M), so a
        # column that fails here has no cell the extract would match.
        if not _META_LINE.search("\n".join(v for v in cells if isinstance(v, str))):
            continue
        found = cells.str.extract(_META_URL)
        hits = found[0].dropna()
        if len(hits) > best[0]:
            domain = hits.str.lower().mode().iloc[0]
            stories = bool(found[1].notna().sum() * 2 > len(hits)) if domain == "instagram" else False
            best = (len(hits), domain, stories)
    try:
        table._meta_permalinks = (best[1], best[2])
    except AttributeError:
        pass
    return best[1], best[2]


def _has_field(table, key: str, *fields: str) -> bool:
    keys = _keys(key, *fields)
    return any(k in keys for k in table.keys)


# --- lifetime or per day: the values of the Date column -------------------------------------

def _date_cells(table) -> pd.Series:
    """The non-empty cells of the Date column, found by its name in any catalog language (a table
    matched by structure reaches the accept tests with the English names in its header)."""
    keys = _keys(POSTS, "_date")
    for i, k in enumerate(table.keys):
        if k in keys:
            col = table.cells[i].astype(object).str.strip()
            return col[col != ""]
    return pd.Series([], dtype=object)


def _is_lifetime(table) -> bool:
    # "Lifetime" in whatever language the UI used has no digit in it; a day always has some.
    return not _date_cells(table).str.contains(r"\d", regex=True).any()


def _is_daily(table) -> bool:
    cells = _date_cells(table)
    return len(cells) > 0 and bool(cells.str.contains(r"\d", regex=True).all())


def _post_accepts(platform: str, stories: bool, daily: bool):
    """The accept test of one content report: the Date values (lifetime or per day), the
    permalinks' domain, and for Instagram whether the rows are stories."""
    when = _is_daily if daily else _is_lifetime

    def accepts(table) -> bool:
        if not when(table):
            return False
        domain, story_links = _permalinks(table)
        if platform == "facebook":
            # facebook.com permalinks, or (a file whose permalinks are empty) a Page column.
            return domain == "facebook" or domain is None and _has_field(table, POSTS, "_page_id", "_page_name")
        if domain == "facebook":
            return False
        if domain is None and not _has_field(table, POSTS, "account_handle"):
            return False
        is_story = story_links or _has_field(table, POSTS, *STORY_FIELDS)
        return is_story == stories

    return accepts


# --- posts --------------------------------------------------------------------------------------

def _skip_blank_rows(c) -> None:
    # Column by column, only the rows still blank so far: one text cell settles most rows, so
    # this reads about one column, not every cell (0.05 s of a 1,300-row file before).
    cells = c.table.cells
    blank = np.ones(len(cells), dtype=bool)
    for i in range(cells.shape[1]):
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        col = cells.iloc[rows, i].astype(object)
        blank[rows] = (col.str.strip() == "").to_numpy(dtype=bool)
    c.skip(blank, Message("skip.empty_rows"))


def _post_ids(c) -> None:
    ids = c.text("post_id")
    # Excel rewrites 16-19 digit ids as 1.36643E+15; the permalink holds a different (video or
    # shortcode) id, so the post id cannot be recovered and the row is refused.
    c.reject(~ids.str.fullmatch(_POST_ID).to_numpy(), "post_id",
             Message("expected.meta_post_id"), ids)
    c.set("post_id", ids)


def _text_or_none(s: pd.Series) -> pd.Series:
    return s.where(s != "", None).astype(object)


def _accounts(c) -> None:
    # Instagram names the account (Account ID, username, name); Facebook the Page (Page ID, name).
    id_field = "account_id" if c.has("account_id") else "_page_id" if c.has("_page_id") else None
    if id_field:
        ids = c.text(id_field)
        c.set("account_id", ids.where(ids.str.fullmatch(_ACCOUNT_ID), None).astype(object))
    if c.has("account_handle"):
        c.set("account_handle", _text_or_none(c.text("account_handle").str.lstrip("@")))
    name_field = "account_name" if c.has("account_name") else "_page_name" if c.has("_page_name") else None
    if name_field:
        c.set("account_name", _text_or_none(c.text(name_field)))


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

LEGACY_PUBLISH_FORMATS = ["%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "ISO8601"]


def parse_legacy_posts(c) -> None:
    # Row 2 of the file describes each column ("Lifetime: The total number of people ...") and
    # has no post id.
    described = (c.text("post_id") == "") & c.text("reach").str.contains(r"[A-Za-z]", regex=True)
    c.skip(described.to_numpy(), Message("skip.descriptions_row"))
    _skip_blank_rows(c)
    _post_ids(c)
    c.set("url", c.text("url"))
    c.set("title", c.text("title"))
    c.set("post_type", c.text("post_type"))
    c.set("published_at", c.timestamp("published_at", LEGACY_PUBLISH_FORMATS))
    c.set_metrics({m: {} for m in ("reach", "impressions", "likes", "comments", "shares", "clicks")})


# --- page-level chart downloads ------------------------------------------------------------------

# What each title rule of the catalog (meta.toml [chart_metrics], one word list per language)
# means: a canonical metric, or None with the reason given to the user. The words are data; what
# they measure is decided here.
CHART_RULES: dict[str, tuple[str | None, str]] = {
    "visits": (None, Message("chart.visits")),
    "unfollows": (None, Message("chart.unfollows")),
    "viewers": ("reach", ""),  # Meta's 2025 name for reach
    "reach": ("reach", ""),
    "impressions": ("impressions", ""),
    "views": ("views", ""),
    "link_clicks": ("clicks", ""),
    "interactions": (None, Message("chart.interactions")),
    "new_followers": ("followers_gained", ""),
    "page_likes": (None, Message("chart.page_likes")),
    "followers": (None, Message("chart.followers")),
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold()


@lru_cache(maxsize=None)
def _chart_words() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(rule, its words in every catalog language), in the catalog's order."""
    e = catalog.entry(CHART_METRICS)
    order = list(e.extra.get("order") or CHART_RULES)
    unknown = [r for r in order if r not in CHART_RULES]
    if unknown:
        raise ValueError(f"{', '.join(e.files)} [chart_metrics]: unknown rules {unknown} "
                         f"(known: {', '.join(CHART_RULES)})")
    words = e.columns()
    return tuple((r, tuple(_fold(w) for w in words.get(r, []) if w.strip())) for r in order)


def chart_platform(title: str | None) -> str | None:
    # Brand names stay untranslated in every UI language ("Alcance do Instagram", "Couverture de
    # la Page Facebook", "Pengikut Instagram").
    t = _fold(title or "")
    fb, ig = "facebook" in t, "instagram" in t
    return "facebook" if fb and not ig else "instagram" if ig and not fb else None


def chart_metric(title: str, header: str = "") -> tuple[str | None, str]:
    """(canonical metric or None, why not) for a chart's title, else its value column header."""
    for text in (title, header):
        t = _fold(text)
        for rule, words in _chart_words():
            if any(w in t for w in words):
                return CHART_RULES[rule]
    langs = sorted(catalog.entry(CHART_METRICS).languages(), key=lambda lang: (lang != "en", lang))
    return None, Message("chart.unknown_title", languages=", ".join(langs))


# A day in the first column, as Meta writes it in any UI language: ISO with or without a time, or
# a day with slashes, dots or dashes in either order.
_CHART_DAY = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")


def _chart_accepts(platform: str):
    """A chart is a two-column table whose title names the platform and whose first column holds
    days; the date header's language does not matter (``Date``, ``Ngày``, ``Tanggal``, ...)."""
    day_keys = _keys(CHART, "day")

    def accepts(table) -> bool:
        if len(table.header) != 2 or table.header[1] == "" or chart_platform(table.title) != platform:
            return False
        days = table.cells[0].iloc[:_SAMPLE].astype(object).str.strip()
        days = days[days != ""]
        if len(days) == 0:  # an empty chart: only its date header can say what it is
            return table.keys[0] in day_keys
        # Meta writes ISO days in every language; any other way of writing a day (a chart saved
        # again by a spreadsheet in the user's locale) is still a day.
        return bool(days.map(lambda d: bool(_CHART_DAY.match(d)) or values.is_date(d) or values.is_datetime(d)).all())

    return accepts


def parse_chart(c) -> None:
    title = c.table.title or ""
    metric, why = chart_metric(title, c.table.header[1])
    # Both columns by position: the date header is in the UI language, and the value column is
    # headed "Primary" or with the metric's own name.
    c.bind("day", 0)
    c.bind("_value", 1)
    if metric is None:
        c.skip(np.ones(c.n, dtype=bool), Message("skip.chart_days", title=title, why=why))
        c.set("day", pd.Series(pd.NaT, index=range(c.n), dtype="datetime64[us]"))
        return
    c.set("day", c.date("day", CHART_DAY_FORMATS))
    c.set(metric, c.number("_value"))


# --- registration --------------------------------------------------------------------------------

def _post_reports(platform: str, name: str, title: str, required: tuple, excludes: tuple,
                  notes: str, stories: bool = False) -> list[Report]:
    common = dict(platform=platform, columns={}, catalog=POSTS, required=required, excludes=excludes)
    return [
        Report(name=name, title=f"{title}, lifetime per post", grain=POST_LIFETIME, parse=parse_posts,
               accepts=_post_accepts(platform, stories, daily=False),
               notes=f"{notes} Totals since publishing at export time.", **common),
        # Compared by structure with the per-day column orders only: a per-day and a lifetime file
        # of the same width hold the same kinds of values in different orders, so one shared list
        # would make every such file ambiguous; which one a file is, its Date values decide.
        Report(name=f"{name}_daily", title=f"{title}, per post and day", grain=POST_DAILY,
               parse=parse_posts_daily, accepts=_post_accepts(platform, stories, daily=True),
               notes=f"{notes} One row per post and day, that day's activity.", layouts_key="daily_layouts",
               **common),
    ]


# The Page id is not required of a Facebook export: its name is the header least seen in
# localized files, and the permalinks already say Facebook. An Instagram export always names the
# account by its username.
_IG_HANDLE = tuple(aliases(POSTS, "account_handle"))
_FB_PAGE = tuple(aliases(POSTS, "_page_id") + aliases(POSTS, "_page_name"))
_STORY_HEADERS = tuple(a for f in STORY_FIELDS for a in aliases(POSTS, f))

register(
    *_post_reports(
        "facebook", "facebook.posts", "Meta Business Suite Facebook post export",
        ("post_id", "published_at", "_date"), _IG_HANDLE + _STORY_HEADERS, "Reactions are likes."),
    *_post_reports(
        "instagram", "instagram.posts", "Meta Business Suite Instagram post and reel export",
        ("post_id", "account_handle", "published_at", "_date"), _STORY_HEADERS + _FB_PAGE,
        "Posts, carousels and reels."),
    *_post_reports(
        "instagram", "instagram.stories", "Meta Business Suite Instagram stories export",
        ("post_id", "account_handle", "published_at", "_date"), _FB_PAGE,
        "Stories; replies are not comments.", stories=True),
    Report(
        platform="facebook",
        name="facebook.legacy_post_data",
        title="Facebook Insights legacy Post data export (before Nov 2023)",
        grain=POST_LIFETIME,
        columns={},
        catalog=LEGACY,
        required=("post_id", "published_at", "reach", "impressions"),
        parse=parse_legacy_posts,
        notes="Two header rows: the second (descriptions) is skipped.",
    ),
    # Charts require no header name: the accept test reads their shape and title, so a date
    # header in any language is taken.
    Report(
        platform="facebook",
        name="facebook.page_chart",
        title="Meta Business Suite Facebook chart download (one Page metric per day)",
        grain=ACCOUNT_DAY,
        columns={},
        catalog=CHART,
        required=(),
        accepts=_chart_accepts("facebook"),
        parse=parse_chart,
        notes="The title line names the metric; no account in the file.",
    ),
    Report(
        platform="instagram",
        name="instagram.account_chart",
        title="Meta Business Suite Instagram chart download (one account metric per day)",
        grain=ACCOUNT_DAY,
        columns={},
        catalog=CHART,
        required=(),
        accepts=_chart_accepts("instagram"),
        parse=parse_chart,
        notes="The title line names the metric; no account in the file.",
    ),
)

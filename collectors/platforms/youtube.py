"""YouTube Studio: the Analytics "advanced mode" CSV export (Table data, Chart data, Totals).

Studio exports one ZIP per view, named like ``Content 2024-12-16_2025-01-26 <channel name>.zip``,
holding ``Table data.csv`` (one row per video, totals over the selected range, a Total row first
and, when the table was cut at 500 rows, a "Showing top 500 results" footer), ``Chart data.csv``
(one row per plotted video per day) and ``Totals.csv`` (one row per channel-day). Columns are
whatever metrics were picked in the UI and headers come in the Studio language: German headers
carry soft hyphens (the reader removes them from headers; the Total row's "Ge­samt" keeps them, so
cells are cleaned here too). Video ids that start with "-" get a leading space as a guard against
spreadsheet formulas; when that guard was missing, Excel turned the id into "#NAME?", which is
lost for good and rejected. The files name no channel: the ZIP name is the only place it appears.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import catalog
from ..messages import Message
from ..model import ACCOUNT_DAY, POST_DAILY, POST_LIFETIME
from ..read import header_key
from ..parse import date_range_from_name
from ..registry import Report, register

_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
# "Content <start>_<end> <channel>.zip" (English), "Videos ..." (German UI); browsers add " (1)".
_ZIP_NAME = re.compile(r"^\S+ \d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2} (?P<channel>.+?)(?: \(\d+\))?\.zip$", re.I)
DATE_FORMATS = ["%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%b %d, %Y"]
PUBLISH_FORMATS = ["%b %d, %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d.%m.%Y", "%Y年%m月%d日",
                   "%Y/%m/%d", "ISO8601"]


# Column names in every UI language: collectors/catalogs/youtube.toml. The three files of one
# Studio export share their names, so all three reports read the Table data entry; each has its
# own column orders there (layouts, chart_layouts, totals_layouts).
_STUDIO = catalog.entry("youtube:table_data")
_NAMES = _STUDIO.columns()
_VIDEO_FIELDS = ("post_id", "title", "published_at", "_duration")
_NOT_METRICS = (*_VIDEO_FIELDS, "day")
VIDEO_COLUMNS = {f: _NAMES[f] for f in _VIDEO_FIELDS}
METRIC_COLUMNS = {f: names for f, names in _NAMES.items() if f not in _NOT_METRICS}
DAY_COLUMN = {"day": _NAMES["day"]}

TOTALS_COLUMNS = {**DAY_COLUMN, **METRIC_COLUMNS}
# The Total row's first cell in each language (the catalog's total_words list).
_TOTAL_WORDS = frozenset(str(w).casefold() for w in _STUDIO.extra.get("total_words", ("Total",)))

_METRIC_OPTIONS = {
    "views": {},
    "impressions": {},
    "likes": {},
    "comments": {},
    "shares": {},
    "watch_time_s": {"integer": False, "scale": 3600.0},
}


def _clean(values: pd.Series) -> pd.Series:
    """Cells without soft hyphens and zero-width characters (German exports hyphenate words)."""
    return values.str.replace("[\u00ad\u200b\u200c\u200d\u2060\ufeff]", "", regex=True).str.strip()


def _channel_from_name(c) -> None:
    m = _ZIP_NAME.match(Path(c.table.file_name).name)
    if m:
        c.set("account_name", m.group("channel").strip())


def _metrics(c) -> None:
    c.set_metrics(_METRIC_OPTIONS)
    # "Subscribers gained" counts new subscribers; "Subscribers" is net of those lost. The gross
    # figure is what followers_gained means, so the net one is the fallback, negatives and all.
    if c.has("followers_gained"):
        c.set("followers_gained", c.number("followers_gained"))
    elif c.has("_subscribers_net"):
        c.set("followers_gained", c.number("_subscribers_net"))


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each row's position among the column's distinct cells, and those cells (Chart data repeats
    every video id once per day: the string work below is done once per distinct id)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    return codes, pd.Series(uniques, dtype=object)


def _spread(codes: np.ndarray, distinct, like: pd.Series) -> pd.Series:
    return pd.Series(np.asarray(distinct, dtype=object)[codes], index=like.index, name=like.name, dtype=object)


def _skip_totals_and_footers(c) -> pd.Series:
    """Video ids, after the Total row and the "Showing top 500 results" footer are left out."""
    text = c.text("post_id")
    codes, distinct = _distinct(text)
    distinct = _clean(distinct)
    ids = _spread(codes, distinct, text)
    c.skip(distinct.str.casefold().isin(_TOTAL_WORDS).to_numpy()[codes], Message("skip.youtube_total"))
    not_id = ~distinct.str.fullmatch(_VIDEO_ID).to_numpy()[codes]
    # Only rows without a video id can be footers: test the rest of the row on those alone.
    others = [i for i in range(len(c.table.header)) if i != c.pos["post_id"]]
    rest_empty = np.zeros(c.n, dtype=bool)
    suspects = np.flatnonzero(not_id)
    if len(suspects):
        empty = np.ones(len(suspects), dtype=bool)
        for i in others:
            empty &= (c.table.cells[i].iloc[suspects].astype(object).str.strip() == "").to_numpy()
        rest_empty[suspects] = empty
    # The footer's wording is localized ("Die 500 besten Ergebnisse werden angezeigt"): it is
    # recognised by its shape, a lone text cell where a video id should be.
    c.skip(not_id & rest_empty, Message("skip.youtube_footer"))
    c.reject(not_id, "post_id",
             Message("expected.youtube_id"), ids)
    return ids


def _video_fields(c) -> None:
    ids = _skip_totals_and_footers(c)
    c.set("post_id", ids)
    c.set("url", "https://www.youtube.com/watch?v=" + ids)
    if c.has("title"):
        c.set("title", c.text("title"))
    if c.has("published_at"):
        c.set("published_at", c.timestamp("published_at", PUBLISH_FORMATS))
    _channel_from_name(c)


def parse_table(c) -> None:
    _video_fields(c)
    _leave_out_range_totals(c)
    _metrics(c)


def _leave_out_range_totals(c) -> None:
    """Table data holds totals over the range chosen in Studio. For a video published before that
    range starts they are not lifetime totals, and storing them as a snapshot would make the next
    snapshot's difference wrong; they are left out (the file stays in the archive)."""
    found = date_range_from_name(c.table.file_name)
    if found is None or "published_at" not in c.out:
        return  # no range named: Studio's "Lifetime" range, as far as anyone can tell
    start = pd.Timestamp(found[0]).tz_localize(c.ctx.tz).tz_convert("UTC")
    published = c.out["published_at"]
    c.skip((published.notna() & (published < start)).to_numpy(),
           Message("skip.youtube_before_range"))


def parse_chart(c) -> None:
    _video_fields(c)
    c.set("day", c.date("day", DATE_FORMATS))
    _metrics(c)


def parse_totals(c) -> None:
    c.set("day", c.date("day", DATE_FORMATS))
    _channel_from_name(c)
    _metrics(c)


def _looks_like_video_table(table) -> bool:
    """Some cell in the first column is a video id, or the table is empty (a header-only export)."""
    if len(table) == 0:
        return True
    keys = table.keys
    aliases = {header_key(a) for a in VIDEO_COLUMNS["post_id"]}
    col = next(i for i, k in enumerate(keys) if k in aliases)
    return bool(table.cells[col].astype(object).str.strip().str.fullmatch(_VIDEO_ID).any())


_TOTALS_KEYS = frozenset(header_key(a) for al in TOTALS_COLUMNS.values() for a in al)
_METRIC_KEYS = frozenset(header_key(a) for al in METRIC_COLUMNS.values() for a in al)


def _looks_like_totals(table) -> bool:
    """Totals.csv is a bare "Date,<metric>" table; a Date column alone says nothing about the platform."""
    keys = [k for k in table.keys if k]
    return all(k in _TOTALS_KEYS for k in keys) and any(k in _METRIC_KEYS for k in keys)


_DATE_HEADERS = tuple(DAY_COLUMN["day"])

register(
    Report(
        platform="youtube",
        name="youtube.table_data",
        title="YouTube Studio analytics export, Table data (per video, range totals)",
        grain=POST_LIFETIME,
        columns={}, catalog="youtube:table_data",
        required=("post_id", "title"),
        excludes=_DATE_HEADERS,
        accepts=_looks_like_video_table,
        parse=parse_table,
        notes="Totals per video over the export's date range (lifetime when the range is Lifetime).",
    ),
    Report(
        platform="youtube",
        name="youtube.chart_data",
        title="YouTube Studio analytics export, Chart data (per video per day)",
        grain=POST_DAILY,
        columns={}, catalog="youtube:table_data", layouts_key="chart_layouts",
        required=("day", "post_id"),
        accepts=_looks_like_video_table,
        parse=parse_chart,
        notes="One row per plotted video and day; only the videos shown in the chart.",
    ),
    Report(
        platform="youtube",
        name="youtube.totals",
        title="YouTube Studio analytics export, Totals (per channel-day)",
        grain=ACCOUNT_DAY,
        columns={}, catalog="youtube:table_data", layouts_key="totals_layouts",
        required=("day",),
        excludes=tuple(VIDEO_COLUMNS["post_id"]),
        accepts=_looks_like_totals,
        parse=parse_totals,
        notes="The channel's daily values of the metric plotted in the chart.",
    ),
)

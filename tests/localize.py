"""English export tables from the demo's writers, and the same tables put into another language.

A localized export keeps the English export's column order, count and value kinds; only the
headers are translated (and numbers and dates are written the locale's way). So a fixture in any
language is the English fixture with its headers taken from the catalog (or made up, for a
language the catalog does not have), and it must import to exactly the rows the English one does.
"""
from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import pandas as pd

from collectors import catalog
from collectors.demo import campaign as demo
from collectors.parse import Context, parse_table
from collectors.read import Table, header_key, read_bytes
from collectors.registry import Report, get

T = datetime(2025, 1, 10, 15, 30, tzinfo=timezone.utc)


def _account(platform: str, with_posts: bool = True):
    for a in demo.build_campaign(2024):
        if a.platform == platform and (not with_posts or a.posts_until(T)):
            return a
    raise LookupError(platform)


@lru_cache(maxsize=None)
def english() -> dict[str, tuple[str, bytes]]:
    """report name -> (file name, bytes) of an English export the demo writes."""
    x, fb, ig = _account("x"), _account("facebook"), _account("instagram")
    yt, tt, li = _account("youtube"), _account("tiktok"), _account("linkedin")
    out = {
        "x.content": ("account_analytics_content_2024-12-16_2025-01-10.csv", demo.write_x_content(x, T)),
        "x.overview": ("account_overview_analytics.csv", demo.write_x_overview(x, T)),
        "x.tweet_activity": ("tweet_activity_metrics_a_20241216_20250110_en.csv", demo.write_x_legacy_posts(x, T)),
        "x.tweet_activity_daily": ("daily_tweet_activity_metrics_a_20241216_20250110_en.csv",
                                   demo.write_x_legacy_daily(x, T)),
        "facebook.posts": ("Dec-16-2024_Jan-10-2025_1.csv", demo.write_meta_posts([fb], T)),
        "instagram.posts": ("Dec-16-2024_Jan-10-2025_2.csv", demo.write_meta_posts([ig], T)),
        "facebook.page_chart": ("Reach.csv", demo.write_meta_chart(fb, T, "Facebook reach")),
        "instagram.account_chart": ("Reach (1).csv", demo.write_meta_chart(ig, T, "Instagram reach")),
        "youtube": (f"Content 2024-12-16_2025-01-10 {yt.name}.zip", demo.write_youtube(yt, T)),
        "tiktok.content": ("Video Posts.csv", demo.write_tiktok_posts(tt, T)),
        "tiktok.overview": (f"Overview_2024-12-16_{int(T.timestamp())}_{tt.handle}.zip",
                            demo.write_tiktok_overview(tt, T, date(2024, 12, 16))),
        "linkedin": (f"{li.handle}_content_1736523000000.xlsx", demo.write_linkedin(li, T)),
    }
    return out


def english_tables() -> list[tuple[str, Table]]:
    """(file name, table) for every table of every English export above."""
    out = []
    for name, data in english().values():
        for t in read_bytes(name, data):
            out.append((name, t))
    return out


def ctx(name: str) -> Context:
    return Context(file_name=name, imported_at=T)


def made_up(word: str) -> str:
    """A header in a language no catalog has: the same word always gives the same nonsense."""
    h = hashlib.sha256(word.encode()).hexdigest()
    syll = ["ka", "lo", "mi", "zu", "re", "po", "sa", "ti", "vu", "ne"]
    return "".join(syll[int(c, 16) % 10] for c in h[:5]).capitalize() + " " + "".join(syll[int(c, 16) % 10] for c in h[5:8])


def field_of(report: Report, header: str) -> str | None:
    k = header_key(header)
    for f, ks in report.keys.items():
        if k in ks:
            return f
    return None


def translate(table: Table, report: Report, lang: str | None) -> tuple[Table, int]:
    """The table with its headers in ``lang`` from the report's catalog (None: made up for every
    column); a column the catalog has no word for in that language gets a made-up header, as an
    unknown word would be. Returns the table and how many headers came from the catalog."""
    names = catalog.entry(report.catalog).aliases.get(lang, {}) if lang and report.catalog else {}
    header, known = [], 0
    for h in table.header:
        f = field_of(report, h)
        if f is not None and names.get(f):
            header.append(names[f][0])
            known += 1
        else:
            header.append(made_up(h) if h else h)
    return dataclasses.replace(table, header=header), known


def rows_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


def parse(name: str, table: Table, **kw):
    return parse_table(table, ctx(name), **kw)


def languages(report_name: str) -> list[str]:
    r = get(report_name)
    return [lang for lang in catalog.entry(r.catalog).languages() if lang != "en"] if r.catalog else []


__all__ = ["english", "english_tables", "translate", "made_up", "parse", "rows_equal", "languages", "T",
           "timedelta"]

"""Column widths for the pages' AG Grids (Influencers, Posts): wide enough for a header's longest
word and for a whole date, never narrower.

A grid column has a fixed width, unlike an HTML table's, which the browser sizes to its content.
So the grid needs told how narrow a column may become: narrower than a header's longest word, the
grid's own stylesheet breaks the word across lines ("Impressio / ns"), and narrower than a date,
the date is cut ("22 Dec 2024, …"). Widths are estimated from the text, per character, with the
widths of DejaVu Sans, the widest of the usual sans-serif fonts (the one Debian's Chromium falls
back to), so the estimate holds for the narrower fonts of other systems too; reach.css keeps the
grid from breaking inside a word (``word-break: keep-all``: Chinese breaks at punctuation, not
inside a run of characters), and tests/test_browser_tables.py checks the result in a browser.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from ..text.i18n import fmt_datetime

FONT_PX = 14  # the grid's header and cell font size (AG Grid's default theme)
PADDING_PX = 20  # a cell's padding, left and right (reach.css: 10px each side)
FILTER_PX = 16  # the filter button of a filterable column's header
SLACK_PX = 4  # rounding, and a font a little wider than the estimate

# Where a header may break under ``word-break: keep-all``: at spaces, before an opening bracket
# and after a closing one or a comma (CJK punctuation included).
_BREAKS = re.compile(r"\s+|(?=[(（\[【])|(?<=[)）\]】,，、/])")


# Advance widths of the printable ASCII characters, space to tilde, in hundredths of an em
# (DejaVu Sans Book, rounded up).
_ASCII_EM100 = (32, 41, 46, 84, 64, 96, 78, 28, 40, 40, 50, 84, 32, 37, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64,
                64, 64, 34, 34, 84, 84, 84, 54, 100, 69, 69, 70, 78, 64, 58, 78, 76, 30, 30, 66, 56, 87, 75, 79,
                61, 79, 70, 64, 62, 74, 69, 99, 69, 62, 69, 40, 34, 40, 84, 50, 50, 62, 64, 55, 64, 62, 36, 64,
                64, 28, 28, 58, 28, 98, 64, 62, 64, 64, 42, 53, 40, 64, 60, 82, 60, 60, 53, 64, 34, 64, 84)


def _char_em(c: str) -> float:
    """Advance width of one character in em: CJK characters and full-width punctuation are one
    em, other characters outside ASCII (é, –, ↗) as wide as a wide capital."""
    if " " <= c <= "~":
        return _ASCII_EM100[ord(c) - 32] / 100
    return 1.0 if unicodedata.east_asian_width(c) in ("W", "F") else 0.85


def text_px(text: str, size: int = FONT_PX) -> int:
    """Estimated width of ``text`` in pixels at ``size`` px, on one line."""
    return round(sum(_char_em(c) for c in text) * size)


def words(label: str) -> list[str]:
    """The pieces of ``label`` that must stay on one line."""
    return [w for w in _BREAKS.split(label) if w and not w.isspace()]


def header_width(label: str, *, filterable: bool = False) -> int:
    """The narrowest column whose header shows ``label`` with no word broken or cut. (A sorted
    column's arrow wraps below the text where it does not fit beside it: reach.css.)"""
    longest = max((text_px(w) for w in words(label)), default=0)
    return longest + PADDING_PX + (FILTER_PX if filterable else 0) + SLACK_PX


def cell_width(text: str) -> int:
    """The narrowest column that shows ``text`` in a cell, whole."""
    return text_px(text) + PADDING_PX + SLACK_PX


def date_width(lang: str, tz) -> int:
    """The narrowest column that shows any date and time ``fmt_datetime`` writes, whole."""
    # Two-digit days and hours, each month's name: the widest a date and time can be.
    samples = (fmt_datetime(datetime(2024, m, 28, 20, 58, tzinfo=tz), lang, tz) for m in range(1, 13))
    return max(cell_width(s) for s in samples)

"""Filters round-trip through the URL, and malformed URLs are tamed, not trusted."""
from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from dashboard.filters import Filters, parse, to_query


def test_a_link_reproduces_the_view():
    f = Filters(start=date(2024, 12, 16), end=date(2025, 1, 5), platforms=("x", "tiktok"), categories=("official",),
                influencers=("Chen Wei 陈伟", "Li, Na"), metric="engagements", lang="zh", kiosk=True, cumulative=True)
    assert parse(to_query(f)) == f


def test_defaults_leave_the_query_string_empty():
    assert to_query(Filters()) == ""
    assert parse("") == Filters()


def test_malformed_values_are_dropped_or_corrected():
    f = parse("?from=2025-13-40&to=2025-01-05&platform=x,myspace,<script>&metric=DROP TABLE&lang=zh-CN&kiosk=yes")
    assert f.start is None and f.end == date(2025, 1, 5)
    assert f.platforms == ("x",) and f.metric == "views" and f.lang == "zh" and f.kiosk
    assert parse("?from=2025-01-10&to=2025-01-01") .start == date(2025, 1, 1)  # reversed range is put right


@given(st.text(max_size=200))
def test_any_query_string_parses_to_valid_filters(text):
    f = parse(text)
    assert f.metric and f.lang in ("en", "zh")
    assert parse(to_query(f)) == f

"""Column widths of the pages' grids (dashboard/web/grids.py): a header wraps between its words, so
a column needs its longest word, not the whole header; a date needs all of itself."""
from zoneinfo import ZoneInfo

from dashboard.text.i18n import fmt_datetime
from dashboard.web import grids
from dashboard.web.pages import influencers, posts

TZ = ZoneInfo("Asia/Shanghai")


def test_a_header_breaks_at_spaces_and_chinese_at_brackets_never_inside_a_run():
    assert grids.words("ER by impressions") == ["ER", "by", "impressions"]
    assert grids.words("Reach (not deduplicated)") == ["Reach", "(not", "deduplicated)"]
    assert grids.words("互动率（按展示次数）") == ["互动率", "（按展示次数）"]
    assert grids.words("媒体价值 EMV（美元）") == ["媒体价值", "EMV", "（美元）"]


def test_a_column_is_as_wide_as_its_longest_word_however_many_words_the_header_has():
    assert grids.header_width("ER by impressions") == grids.header_width("impressions")
    assert grids.header_width("Engagements") > grids.header_width("Views")
    assert grids.header_width("Views", filterable=True) == grids.header_width("Views") + grids.FILTER_PX
    # Chinese characters are a full em each: four of them are wider than four Latin letters.
    assert grids.text_px("展示次数") == 4 * grids.FONT_PX > grids.text_px("abcd")


def test_the_published_column_holds_any_date_the_page_writes_in_either_language():
    for lang in ("en", "zh"):
        cols = {d["field"]: d for d in posts.column_defs(lang, TZ)}
        widest = max(grids.text_px(fmt_datetime(f"2024-{m:02d}-28T12:58:00Z", lang, TZ)) for m in range(1, 13))
        assert cols["published_at"]["minWidth"] >= widest + grids.PADDING_PX
        # and no sortable column is narrower than its header's longest word
        for d in cols.values():
            if d["sortable"]:
                assert d["minWidth"] >= grids.header_width(d["headerName"]), d


def test_the_leaderboard_columns_hold_their_headers_longest_word_beside_the_filter_button():
    for lang in ("en", "zh"):
        for d in influencers.column_defs(lang):
            assert d["minWidth"] >= grids.header_width(d["headerName"], filterable=True), d

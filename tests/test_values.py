"""Locale-aware numbers and dates (collectors/values.py) and the Cells helpers that use them.

The rules are in docs/platforms.md, "Numbers and dates in any language". Unit tests pin each
locale, unit and ambiguity rule; Hypothesis tests format random values the way Babel (CLDR, the
data the platforms' own UIs use) writes them in a random locale and read them back.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from babel.dates import format_date, format_datetime
from babel.numbers import format_compact_decimal, format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import values
from collectors.errors import StructureError
from collectors.model import ACCOUNT_DAY, POST_LIFETIME
from collectors.parse import Cells, Context
from collectors.platforms.tiktok import infer_days, month_day
from collectors.read import Table
from collectors.registry import Report


def read(texts, **kw):
    nums, why = values.read_numbers(texts, **kw)
    return [None if w is not None else n for n, w in zip(nums, why)]


# --- numbers: grouping and decimal marks --------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("1.234.567", 1234567), ("1,234,567", 1234567), ("1 234 567", 1234567),
    ("1\u00a0234", 1234), ("1\u202f234", 1234), ("1'234'567", 1234567), ("1’234", 1234),
    ("1.234.567,5", 1234567.5), ("1,234,567.5", 1234567.5), ("1\u202f234,5", 1234.5), ("1 234.5", 1234.5),
    ("1,5", 1.5), ("0,25", 0.25), ("12.3456", 12.3456), ("1234.567", 1234.567), ("0.123", 0.123),
    ("١٬٢٣٤٫٥", 1234.5), ("٢٠", 20), ("۱۲۳", 123), ("１２３４", 1234), ("１，２３４，５６７", 1234567),
    ("-1,234,567", -1234567), ("−1.234.567", -1234567), ("(1,234,567)", -1234567), ("+12", 12),
    ("12,34,567", 1234567),  # Indian lakh grouping
])
def test_a_number_whose_marks_say_which_is_which_is_read_alone(text, expected):
    assert read([text]) == [expected]


@pytest.mark.parametrize("text, expected", [
    ("12.3%", 12.3), ("12,3 %", 12.3), ("%12", 12), ("١٢٫٥٪", 12.5), ("-0.5%", -0.5),
])
def test_percent_signs_before_or_after_and_the_arabic_percent_sign(text, expected):
    assert read([text]) == [expected]
    assert values.is_percent(text)


@pytest.mark.parametrize("text", ["abc", "1.2.3", "1,23,4", "12-3", "1..2", "K", "1.2 parsecs", "1,2,3"])
def test_what_is_not_a_number_is_refused_with_no_reason_of_its_own(text):
    nums, why = values.read_numbers([text])
    assert np.isnan(nums[0]) and why == [""]
    assert not values.is_number(text)


# --- numbers: one column, one convention ------------------------------------------------------

def test_the_column_decides_what_one_ambiguous_value_means():
    assert read(["1.234", "12,5"]) == [1234, 12.5]  # a comma decimal: the point groups
    assert read(["1.234", "12.5"]) == [1.234, 12.5]  # a point decimal
    assert read(["1,234", "1.234.567"]) == [1.234, 1234567]  # the point groups: the comma is decimal
    assert read(["1,234", "2,345,678"]) == [1234, 2345678]


def test_a_whole_number_column_reads_the_ambiguous_mark_as_grouping():
    # An integer column cannot hold 1.234, so "1.234" there is 1234 whatever the locale.
    assert read(["1.234", "5"], integer=True) == [1234, 5]
    assert read(["1,234"], integer=True) == [1234]


def test_an_ambiguous_value_alone_in_a_decimal_column_is_refused_naming_both_readings():
    nums, why = values.read_numbers(["1,234", "7"], integer=False)
    assert np.isnan(nums[0]) and why[1] is None
    assert "1234" in why[0] and "1.234" in why[0] and "no other value" in why[0]


def test_the_headers_language_decides_when_the_values_cannot():
    assert read(["1.234"], language="de") == [1234]
    assert read(["1,234"], language="de") == [1.234]
    assert read(["1,234"], language="en") == [1234]
    assert read(["1.234"], language="pt-BR") == [1234]
    assert read(["1.234"], language="zh-Hans") == [1.234]


def test_a_value_against_the_columns_convention_is_refused_with_the_reason():
    nums, why = values.read_numbers(["1.234.567", "2.345.678", "1,234.5"])
    assert nums[:2] == [1234567, 2345678] and np.isnan(nums[2])
    assert "comma as the decimal mark" in why[2]


# --- numbers: compact units ---------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("1.2K", 1200), ("1.2k", 1200), ("3M", 3_000_000), ("3m", 3_000_000), ("1.5B", 1_500_000_000),
    ("1.2万", 12_000), ("3亿", 300_000_000), ("1.2萬", 12_000), ("3億", 300_000_000), ("0.07万", 700),
    ("64.01亿", 6_401_000_000), ("1.2w", 12_000), ("1.2만", 12_000), ("3억", 300_000_000), ("5천", 5000),
    ("1,2 rb", 1200), ("3 jt", 3_000_000), ("1,2 mil", 1200), ("1,2 mi", 1_200_000), ("2 bi", 2_000_000_000),
    ("1,2 тыс.", 1200), ("3 млн", 3_000_000), ("1 млрд", 1_000_000_000), ("1,2 tys.", 1200), ("3 mln", 3_000_000),
    ("1,2 N", 1200), ("3,4 Tr", 3_400_000), ("1,2 k", 1200), ("1 Mio.", 1_000_000), ("2 Mrd.", 2_000_000_000),
    ("1,2 Tsd.", 1200), ("1.2 พัน", 1200), ("3 หมื่น", 30_000), ("2 แสน", 200_000), ("1 ล้าน", 1_000_000),
    ("1,2 B", 1200), ("3 Mn", 3_000_000), ("١٫٢ ألف", 1200), ("3 مليون", 3_000_000), ("1,5 Mln", 1_500_000),
    ("1.2 thousand", 1200), ("2,5 millones", 2_500_000),
])
def test_compact_units_in_every_language(text, expected):
    assert read([text]) == [expected]
    assert values.is_count(text)


def test_a_unit_two_locales_read_differently_follows_the_column_and_the_language():
    # "B" is a billion in English and *bin* (a thousand) in Turkish; "M" a million, or *miliar*
    # (a billion) in Indonesian.
    assert read(["1,2 B"]) == [1200]            # a comma decimal: Turkish
    assert read(["3 B"]) == [3_000_000_000]     # nothing else to go by: most locales
    assert read(["3 B"], language="tr") == [3000]
    assert read(["1,2 M"]) == [1_200_000]
    assert read(["1,2 M", "3 jt"]) == [1_200_000_000, 3_000_000]  # with "jt" the column is Indonesian
    assert read(["2 M"], language="id") == [2_000_000_000]


def test_scaled_values_stay_whole():
    assert read(["0.07万", "64.01亿", "1.1K"], integer=True) == [700, 6_401_000_000, 1100]


# --- numbers through Cells.number ---------------------------------------------------------------

def _cells(columns: dict[str, list[str]], *, grain=ACCOUNT_DAY, ctx=None, language=None, name="f.csv"):
    fields = {f: [f"{f} col"] for f in columns}
    header = [fields[f][0] for f in columns]
    frame = pd.DataFrame({i: list(v) for i, v in enumerate(columns.values())})
    n = len(frame)
    table = Table(name, name, header, frame, list(range(2, n + 2)), 1)
    report = Report(platform="x", name="test.values", title="a test report", grain=grain, columns=fields,
                    required=(), parse=lambda c: None)
    c = Cells(table, report, ctx or Context(name))
    if language:
        c.language = language
    return c


def test_cells_number_reads_a_german_column_and_rejects_what_it_cannot():
    c = _cells({"views": ["1.234.567", "1.234", "12", "n/a", "zwölf"]})
    got = c.number("views")
    assert got.iloc[:3].tolist() == [1234567, 1234, 12] and np.isnan(got.iloc[3])
    assert [(p.line, p.value) for p in c.problems] == [(6, "zwölf")]


def test_cells_number_keeps_the_fast_reading_of_a_plain_decimal_column():
    c = _cells({"watch_time_s": ["1.234", "0.5", "12.25"]})
    assert c.number("watch_time_s", integer=False).tolist() == [1.234, 0.5, 12.25]


def test_cells_number_refuses_an_undecidable_decimal_column_and_says_why():
    # "xx": a language the catalog does not have (a file matched by its structure)
    c = _cells({"watch_time_s": ["1.234", "5.678"]}, language="xx")
    got = c.number("watch_time_s", integer=False)
    assert got.isna().all() and len(c.problems) == 2
    assert "1234" in c.problems[0].expected and "1.234" in c.problems[0].expected
    c = _cells({"watch_time_s": ["1.234", "5.678"]}, language="de")
    assert c.number("watch_time_s", integer=False).tolist() == [1234, 5678]


def test_cells_number_reads_compact_and_arabic_values():
    c = _cells({"views": ["1,2 rb", "3 jt", "٤٥", "1.2K"]})
    assert c.number("views").tolist() == [1200, 3_000_000, 45, 1200]


# --- dates: one cell --------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("28 апреля", (None, 4, 28)), ("9 July", (None, 7, 9)), ("September 25", (None, 9, 25)),
    ("20 thg 6, 2022", (2022, 6, 20)), ("20 de jun. de 2022", (2022, 6, 20)), ("2022年6月20日", (2022, 6, 20)),
    ("2022. 6. 20.", (2022, 6, 20)), ("20 Haz 2022", (2022, 6, 20)), ("20 มิ.ย. 2565", (2022, 6, 20)),
    ("20 يونيو 2022", (2022, 6, 20)), ("٢٠ يونيو ٢٠٢٢", (2022, 6, 20)), ("Sun, Nov 9, 2025", (2025, 11, 9)),
    ("2025年11月9日(日)", (2025, 11, 9)), ("2025년 11월 9일 일요일", (2025, 11, 9)), ("dim. 9 nov. 2025", (2025, 11, 9)),
    ("9 Jul 25", (2025, 7, 9)), ("20-Jun-2022", (2022, 6, 20)), ("20 czerwca 2022", (2022, 6, 20)),
    ("martes, 9 de marzo de 2021", (2021, 3, 9)), ("mar, 9 mar 2021", (2021, 3, 9)), ("20. Juni 2022", (2022, 6, 20)),
    ("Thứ Hai, 20 tháng 6, 2022", (2022, 6, 20)), ("20 июн. 2022 г.", (2022, 6, 20)), ("20240620", (2024, 6, 20)),
    ("giovedì 20 giugno 2024", (2024, 6, 20)), ("Kamis, 20 Juni 2024", (2024, 6, 20)), ("20 juin 2024", (2024, 6, 20)),
    ("6月20日", (None, 6, 20)), ("25 thg 9", (None, 9, 25)), ("20/6/2022", (2022, 6, 20)), ("6-20-22", (2022, 6, 20)),
    ("24. 6. 20.", (2024, 6, 20)), ("2024-06-20", (2024, 6, 20)), ("2024/06/20", (2024, 6, 20)),
])
def test_a_day_in_any_language_is_read(text, expected):
    assert values.parse_day(text) == expected
    assert values.is_date(text) and not values.is_datetime(text)


@pytest.mark.parametrize("text", ["hello", "Total", "Lifetime", "12:30", "1.5", "2024", "32/13/2024",
                                  "31 February", "June 2022", "20.6"])
def test_what_is_not_a_day_is_not_read_as_one(text):
    assert values.parse_day(text) is None
    assert not values.is_date(text)


def test_a_numeric_day_whose_order_needs_the_column_is_not_decided_alone():
    assert values.parse_day("05/06/2024") is None
    assert values.is_date("05/06/2024")


@pytest.mark.parametrize("text, clock, offset", [
    ("Sun, Nov 9, 2025 3:15 PM", (15, 15), None), ("06/20/2024 2:30 p.m.", (14, 30), None),
    ("2024/06/20 下午 3:15", (15, 15), None), ("2024/06/20 午後3:15", (15, 15), None),
    ("2024/06/20 上午 12:05", (0, 5), None), ("2024. 6. 20. 오후 3:15", (15, 15), None),
    ("20/06/2024 3:15 CH", (15, 15), None), ("20/06/2024 3:15 SA", (3, 15), None), ("20/06/2024 3:15 م", (15, 15), None),
    ("20/06/2024 12:15 ص", (0, 15), None), ("20.06.2024 14:30", (14, 30), None), ("20 Jun 2024 15.15", (15, 15), None),
    ("2024-06-20T14:30:00Z", (14, 30), 0), ("2024-06-20 14:30:00+07:00", (14, 30), 420),
    ("2024-06-20 14:30 +0000", (14, 30), 0), ("2024-06-20 14:30 UTC", (14, 30), 0), ("20 juin 2022 à 14:30", (14, 30), None),
])
def test_clocks_with_localized_am_pm_and_offsets(text, clock, offset):
    p = values._parts(text)
    assert p is not None and p.clock[:2] == clock and p.offset == offset
    assert values.is_datetime(text)


def test_an_impossible_clock_is_not_a_time():
    assert values._parts("20/06/2024 13:15 PM") is None
    assert values._parts("2024-06-20 25:00") is None


@pytest.mark.parametrize("text, yes", [("1:02:03", True), ("12:34", True), ("0:05.5", True), ("1h 2m 3s", True),
                                       ("abc", False), ("12", False), ("2024-06-20", False)])
def test_durations(text, yes):
    assert values.is_duration(text) is yes


# --- dates: one column, one order ----------------------------------------------------------------

def _days(read):
    return [(v[0], v[1], v[2]) if v else None for v in read.values]


def test_a_day_above_12_decides_the_whole_column():
    r = values.read_dates(["05/06/2024", "20/06/2024"])
    assert r.order == "dmy" and _days(r) == [(2024, 6, 5), (2024, 6, 20)]
    r = values.read_dates(["05/06/2024", "06/20/2024"])
    assert r.order == "mdy" and _days(r) == [(2024, 5, 6), (2024, 6, 20)]


def test_values_against_the_columns_order_are_refused():
    r = values.read_dates(["05/06/2024", "13/06/2024", "14/06/2024", "06/20/2024"])
    assert r.order == "dmy" and _days(r)[:3] == [(2024, 6, 5), (2024, 6, 13), (2024, 6, 14)]
    assert r.values[3] is None and "day first" in r.reasons[3]


def test_a_daily_series_decides_by_being_consecutive_in_one_order_only():
    r = values.read_dates(["01/06/2024", "02/06/2024", "03/06/2024"], daily=True)
    assert r.order == "dmy" and r.decided_by == "consecutive days"
    r = values.read_dates(["06/01/2024", "06/02/2024", "06/03/2024"], daily=True)
    assert r.order == "mdy"


def test_the_users_date_order_decides_an_undecidable_column():
    assert values.read_dates(["05/06/2024"], order="dmy").values[0][:3] == (2024, 6, 5)
    assert values.read_dates(["05/06/2024"], order="mdy").values[0][:3] == (2024, 5, 6)
    assert values.read_dates(["24/06/05"], order="ymd").values[0][:3] == (2024, 6, 5)


def test_dotted_dates_are_day_first_and_english_headers_use_the_reports_format():
    assert values.read_dates(["05.06.2024"]).values[0][:3] == (2024, 6, 5)
    r = values.read_dates(["05/06/2024"], hint="mdy", english=True)
    assert r.values[0][:3] == (2024, 5, 6) and r.decided_by == "the report's English format"


def test_an_undecidable_column_refuses_the_file_naming_column_value_and_flag():
    with pytest.raises(StructureError) as err:
        values.read_dates(["05/06/2024", "07/08/2024"], hint="mdy", english=False, column="Ngày", source="a.csv")
    msg = str(err.value)
    assert "a.csv" in msg and "'Ngày'" in msg and "05/06/2024" in msg and "--date-order dmy|mdy" in msg


def test_format_order_reads_the_reports_strptime_formats():
    assert values.format_order(["%Y-%m-%d", "%m/%d/%Y %H:%M"]) == "mdy"
    assert values.format_order(["%d.%m.%Y"]) == "dmy"
    assert values.format_order(["%Y-%m-%d", "%b %d, %Y"]) is None
    assert values.is_ambiguous_format("%m/%d/%Y") and not values.is_ambiguous_format("%Y/%m/%d")


# --- dates through Cells ------------------------------------------------------------------------

def test_cells_date_decides_the_order_for_the_column_not_row_by_row():
    c = _cells({"day": ["05/06/2024", "20/06/2024", "7 июня 2024"]})
    got = c.date("day", ["%m/%d/%Y", "%Y-%m-%d"])
    assert got.tolist() == [pd.Timestamp("2024-06-05"), pd.Timestamp("2024-06-20"), pd.Timestamp("2024-06-07")]
    assert not c.problems


def test_cells_date_refuses_an_ambiguous_column_unless_told_or_english():
    with pytest.raises(StructureError, match="--date-order"):
        _cells({"day": ["05/06/2024", "07/06/2024"]}, grain=POST_LIFETIME, language="vi").date("day", ["%m/%d/%Y"])
    c = _cells({"day": ["05/06/2024"]}, grain=POST_LIFETIME, ctx=Context("f.csv", date_order="dmy"), language="vi")
    assert c.date("day", ["%m/%d/%Y"]).tolist() == [pd.Timestamp("2024-06-05")]
    c = _cells({"day": ["05/06/2024"]}, grain=POST_LIFETIME, language="en")
    assert c.date("day", ["%m/%d/%Y"]).tolist() == [pd.Timestamp("2024-05-06")]


def test_cells_timestamp_reads_localized_times_in_the_campaign_zone_or_the_stated_offset():
    c = _cells({"published_at": ["20/06/2024 3:15 CH", "2024年6月20日 下午3:15", "2024-06-20 15:15 +0700", ""]},
               grain=POST_LIFETIME)
    got = c.timestamp("published_at", ["%Y-%m-%d %H:%M %z", "%d/%m/%Y %H:%M"])
    # naive times are local to the campaign zone (Asia/Shanghai, UTC+8)
    assert got.iloc[0] == got.iloc[1] == pd.Timestamp("2024-06-20 07:15", tz="UTC")
    assert got.iloc[2] == pd.Timestamp("2024-06-20 08:15", tz="UTC") and pd.isna(got.iloc[3])
    assert not c.problems


def test_cells_date_names_a_bad_value_and_a_missing_year():
    c = _cells({"day": ["2024-06-20", "tomorrow", "9 July"]}, grain=POST_LIFETIME)
    c.date("day", ["%Y-%m-%d"])
    assert [(p.line, p.value) for p in c.problems] == [(3, "tomorrow"), (4, "9 July")]
    assert "year" in c.problems[1].expected


# --- TikTok Overview days ----------------------------------------------------------------------

def test_tiktok_days_in_any_language_and_day_first_numbers():
    imported = datetime(2022, 6, 25, tzinfo=timezone.utc)
    days, _ = infer_days(["20/6/2022", "21/6/2022"], "Overview.csv", imported)
    assert days == [date(2022, 6, 20), date(2022, 6, 21)]
    days, _ = infer_days(["20 มิ.ย.", "21 มิ.ย."], "Overview.csv", imported)
    assert days == [date(2022, 6, 20), date(2022, 6, 21)]
    days, _ = infer_days(["5/6/2022", "6/6/2022"], "Overview.csv", imported)  # consecutive only day-first
    assert days == [date(2022, 6, 5), date(2022, 6, 6)]
    assert month_day("28 апреля") == (None, 4, 28) and month_day("Total") is None


# --- predicates ---------------------------------------------------------------------------------

def test_predicates_for_structural_detection():
    assert values.is_count("1,234") and values.is_count("1.2K") and values.is_count("1.234")
    assert not values.is_count("12.5") and not values.is_count("12%") and values.is_number("12.5")
    assert values.is_percent("12,5 %") and not values.is_percent("12,5")
    assert values.is_datetime("2024-06-20T14:30:00Z") and not values.is_date("2024-06-20T14:30:00Z")
    assert not values.is_number("2024-06-20") and not values.is_date("1,234")


# --- Hypothesis: what a locale writes, we read back ------------------------------------------------

# (Not the Swiss locales: Babel 2.19 writes 1e9 there as "1000000'000".)
NUMBER_LOCALES = list(values.LOCALES) + ["ar_EG", "fr_CA", "es_MX", "en_IN"]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(NUMBER_LOCALES))
def test_a_whole_number_round_trips_in_any_locale(n, loc):
    text = format_decimal(n, locale=loc, numbering_system="default")
    assert read([text], integer=True) == [n], text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False), min_size=1, max_size=6),
       st.sampled_from(NUMBER_LOCALES))
def test_a_column_of_decimals_round_trips_once_one_value_decides(xs, loc):
    decider = Decimal("1234567.25")  # grouping and a decimal mark: every locale writes it unambiguously
    column = [format_decimal(x, locale=loc, numbering_system="default", decimal_quantization=False)
              for x in [*xs, decider]]
    assert read(column) == [float(x) for x in [*xs, decider]], column


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=10, max_value=99), st.integers(min_value=2, max_value=8),
       st.sampled_from(values.LOCALES))
def test_a_compact_number_round_trips_in_its_language(k, e, loc):
    n = k * 10**e  # two significant digits: the compact form is exact
    text = format_compact_decimal(n, locale=loc, fraction_digits=1)
    assert read([text], language=loc.replace("_", "-")) == [n], text


DATE_LOCALES = list(values.LOCALES) + ["ar_EG"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31)), min_size=1, max_size=6),
       st.sampled_from(DATE_LOCALES), st.sampled_from(["short", "medium", "long", "full"]))
def test_a_column_of_dates_round_trips_in_any_locale(days, loc, fmt):
    decider = date(2024, 6, 25)  # a day above 12 decides day/month order for numeric formats
    column = [format_date(d, fmt, locale=loc) for d in [*days, decider]]
    got = _days(values.read_dates(column))
    assert got == [(d.year, d.month, d.day) for d in [*days, decider]], column


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)),
       st.sampled_from(DATE_LOCALES), st.sampled_from(["short", "medium"]))
def test_a_date_and_time_round_trips_in_any_locale(moment, loc, fmt):
    moment = moment.replace(microsecond=0, second=0 if fmt == "short" else moment.second)
    decider = datetime(2024, 6, 25, 23, 59)
    column = [format_datetime(m, fmt, locale=loc) for m in (moment, decider)]
    got = [values.to_datetime(v) for v in values.read_dates(column).values]
    assert got == [moment, decider], column


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31)), min_size=1, max_size=8),
       st.sampled_from(["dmy", "mdy"]))
def test_a_numeric_column_with_one_telling_day_reads_every_day_in_that_order(days, order):
    tell = date(2024, 6, 25)
    pattern = "%d/%m/%Y" if order == "dmy" else "%m/%d/%Y"
    r = values.read_dates([d.strftime(pattern) for d in [*days, tell]])
    assert r.order == order and _days(r) == [(d.year, d.month, d.day) for d in [*days, tell]]


# --- end to end and report conventions --------------------------------------------------------

def _overview(days: list[str], name="Overview.csv", **ctx):
    from collectors.parse import parse_table
    from collectors.read import read_bytes

    header = "Date,Video Views,Profile Views,Likes,Comments,Shares"
    body = "\n".join(f'"{d}",{10 + i},{i},1,0,0' for i, d in enumerate(days))
    (table,) = read_bytes(name, (header + "\n" + body).encode())
    return parse_table(table, Context(name, imported_at=datetime(2022, 7, 1, tzinfo=timezone.utc), **ctx))


def test_a_tiktok_overview_with_day_first_numeric_days_imports_every_row():
    p = _overview(["20/6/2022", "21/6/2022", "22/6/2022"])
    assert p.report.name == "tiktok.overview" and not p.problems
    assert list(p.rows["day"]) == [pd.Timestamp("2022-06-20"), pd.Timestamp("2022-06-21"), pd.Timestamp("2022-06-22")]


def test_a_tiktok_overview_whose_days_fit_both_orders_is_decided_by_being_consecutive_or_refused():
    p = _overview(["1/6/2022", "2/6/2022", "3/6/2022"])  # June 1..3, not January 6, February 6 ...
    assert list(p.rows["day"])[0] == pd.Timestamp("2022-06-01")
    with pytest.raises(StructureError, match=r"--date-order dmy\|mdy"):
        _overview(["5/6/2022"])
    p = _overview(["5/6/2022"], date_order="mdy")
    assert list(p.rows["day"]) == [pd.Timestamp("2022-05-06")]


def test_cells_timestamp_reads_a_month_first_format_in_both_orders_and_the_column_decides():
    fmt = ["%m/%d/%Y %H:%M", "ISO8601"]
    c = _cells({"published_at": ["05/06/2024 10:00", "20/06/2024 11:00", "21/06/2024 12:00", "06/22/2024 13:00"]},
               grain=POST_LIFETIME, language="vi")
    got = c.timestamp("published_at", fmt, tz=timezone.utc)
    assert got.iloc[:3].tolist() == [pd.Timestamp(t, tz="UTC") for t in
                                     ("2024-06-05 10:00", "2024-06-20 11:00", "2024-06-21 12:00")]
    assert [(p.line, p.value) for p in c.problems] == [(5, "06/22/2024 13:00")]
    assert "day first" in c.problems[0].expected


def test_a_report_can_state_its_conventions_for_every_language():
    # Meta writes "01/17/2026 10:29" in a pt-BR export: its catalog says date_order = "mdy".
    c = _cells({"published_at": ["05/06/2024 10:00"]}, grain=POST_LIFETIME, language="pt-BR")
    object.__setattr__(c.report, "date_order", "mdy")
    assert c.timestamp("published_at", ["%m/%d/%Y %H:%M"], tz=timezone.utc).tolist() == \
        [pd.Timestamp("2024-05-06 10:00", tz="UTC")]
    c = _cells({"watch_time_s": ["1.234", "5.678"]}, language="pt-BR")
    object.__setattr__(c.report, "decimal_mark", ".")
    assert c.number("watch_time_s", integer=False).tolist() == [1.234, 5.678]


@pytest.mark.parametrize("make", [
    lambda r: f"{r.integers(0, 10**9):,}",
    lambda r: f"{r.random() * 1e6:,.2f}",
    lambda r: f"{r.integers(0, 10**9):,}".replace(",", "."),
    lambda r: f"{r.random() * 1e6:,.3f}".replace(",", "X").replace(".", ",").replace("X", "."),
    lambda r: f"{r.integers(0, 10**4):,}",  # only "1,234" shapes: nothing proves a convention
    lambda r: str(r.integers(0, 1000)) + ("" if r.random() < 0.999 else "K"),
])
@pytest.mark.parametrize("integer", [True, False])
def test_the_vectorised_path_for_large_columns_reads_what_the_per_value_path_reads(make, integer, monkeypatch):
    rng = np.random.default_rng(7)
    column = [make(rng) for _ in range(6000)]
    fast = values.read_numbers(column, integer=integer)
    monkeypatch.setattr(values, "_read_grouped_column", lambda texts: None)
    slow = values.read_numbers(column, integer=integer)
    assert fast[1] == slow[1]
    np.testing.assert_array_equal(np.array(fast[0]), np.array(slow[0]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(min_value=0, max_value=10**8),
                          st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False)),
                min_size=1, max_size=8),
       st.sampled_from(NUMBER_LOCALES))
def test_a_column_is_never_read_wrong_only_refused_when_it_cannot_decide(xs, loc):
    # Three decimals are the hard case: "1.234" is 1.234 in English and 1234 in German.
    column = [format_decimal(x, locale=loc, numbering_system="default", decimal_quantization=False) for x in xs]
    nums, why = values.read_numbers(column)
    for x, text, n, w in zip(xs, column, nums, why):
        if w is None:
            assert n == float(x), (text, column)
        else:
            assert "reads as" in w and "decides" in w, (text, w)


def test_a_german_float_column_of_thousands_is_not_taken_for_decimals_by_float_rounding():
    # 1.005 * 1000 is not 1005 in binary floating point; the column must still ask the language.
    c = _cells({"watch_time_s": ["1.005", "2.115", "3.335"]}, language="de")
    assert c.number("watch_time_s", integer=False).tolist() == [1005, 2115, 3335]


def test_a_count_longer_than_the_decimal_context_is_read_not_a_crash():
    # Hypothesis found it: a post id pasted twice into a count column, 34 digits. ``% 1`` raised
    # decimal.DivisionImpossible past 28 digits, a traceback for a user's file.
    from collectors.values import is_count

    assert is_count("1870000000000001870000000000000008")
    assert is_count("1,870,000,000,000,001,870,000,000,000,000,008")
    assert not is_count("1870000000000001870000000000000008.5")

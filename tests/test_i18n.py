"""The dashboard's English and Chinese strings and formats (dashboard/text/i18n.py).

Formats are checked as exact strings in both languages, since a dashboard that shows "6.1%" where
the summary says "6.05%" or "1.2万" for 12,345 views is wrong in a way people notice. The
translation tables are checked as data: every English string has a Chinese one with the same
placeholders, none contains HTML, and every metric the engine and docs/metrics.md name has a name
and a definition that agrees with the docs."""
from __future__ import annotations

import re
import string
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from collectors import messages
from collectors.model import METRICS, PLATFORMS
from collectors.roster import CATEGORIES
from dashboard.analysis import metrics
from dashboard.text import i18n
from dashboard.web.pages import all_pages
from dashboard.text.i18n import (fmt_ago, fmt_date, fmt_datetime, fmt_number, fmt_range, fmt_time, freshness,
                                 metric_help, metric_name, normalise_lang, platform_from_label, platform_name, t,
                                 week_label)

all_pages()  # every page imported: none may add a string of its own (the catalogs hold them all)

from conftest import ROOT

TABLES = {"STRINGS": i18n.STRINGS, "PLATFORM_NAMES": i18n.PLATFORM_NAMES, "CATEGORY_NAMES": i18n.CATEGORY_NAMES,
          "METRIC_NAMES": i18n.METRIC_NAMES, "METRIC_HELP": i18n.METRIC_HELP, "messages.CATALOG": messages.CATALOG}
EXTRA_PLATFORMS = ("weibo", "douyin", "bilibili", "wechat")
# Every column the dashboard shows as a metric (dashboard/analysis/metrics.py and the summary's KPIs).
DASHBOARD_COLUMNS = (*METRICS, "followers", "engagements", "er_views", "er_impressions", "virality_views",
                     "er_followers", "er_reach", "avg_post_er_reach", "reach_max_post", "reach_sum", "reach_posts",
                     "reach_avg_post", "reach_est_random_duplication", "reach_account", "emv_usd", "posts_active",
                     "posts", "active_influencers", "interpolated", "corrected", "days_covered", "partial")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_ui_strings_are_the_catalog_files_and_no_module_adds_one():
    import tomllib

    for lang in i18n.LANGS:
        path = i18n.CATALOGS / f"{lang}.toml"
        assert tomllib.loads(path.read_text(encoding="utf-8")) == i18n.STRINGS[lang], path
    assert set(i18n.STRINGS["en"]) == set(i18n.STRINGS["zh"])
    assert not hasattr(i18n, "add_strings")


def _all_strings():
    for table_name, table in TABLES.items():
        for lang, entries in table.items():
            for key, text in entries.items():
                yield f"{table_name}[{lang}][{key}]", text
    yield "PLATFORM_BRAND_NAMES_ZH", " ".join(i18n.PLATFORM_BRAND_NAMES_ZH.values())


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


# --- the tables -------------------------------------------------------------------------------

@pytest.mark.parametrize("table_name", TABLES)
def test_every_english_string_has_a_chinese_translation_and_nothing_only_in_chinese(table_name):
    table = TABLES[table_name]
    assert set(table) == set(i18n.LANGS)
    en, zh = set(table["en"]), set(table["zh"])
    assert not en - zh, f"{table_name}: untranslated keys {sorted(en - zh)}"
    assert not zh - en, f"{table_name}: Chinese keys with no English (typos?) {sorted(zh - en)}"
    assert all(table["zh"][k].strip() for k in en), f"{table_name}: an empty Chinese string"


def test_chinese_strings_that_are_not_names_are_actually_translated():
    # Keys whose text may legitimately be the same in both languages (symbols and language names).
    same_ok = {"lang.en", "lang.zh", "col.rank", "num.range", "fresh.source.api"}
    same = [k for k in i18n.STRINGS["en"] if k not in same_ok and i18n.STRINGS["en"][k] == i18n.STRINGS["zh"][k]]
    assert same == []
    for table in (i18n.METRIC_NAMES, i18n.METRIC_HELP, i18n.CATEGORY_NAMES):
        assert not [k for k in table["en"] if table["en"][k] == table["zh"][k]]


def test_chinese_strings_use_exactly_the_placeholders_of_the_english_ones():
    for key, en in i18n.STRINGS["en"].items():
        assert _placeholders(i18n.STRINGS["zh"][key]) == _placeholders(en), key


def test_every_string_formats_in_both_languages_with_its_placeholders_filled():
    for key, en in i18n.STRINGS["en"].items():
        params = {name: 1 for name in _placeholders(en)}
        for lang in i18n.LANGS:
            text = t(key, lang, **params)
            assert "{" not in text and "}" not in text, (lang, key, text)


def test_no_translation_contains_html_since_the_dashboard_renders_them_as_text():
    html_like = re.compile(r"<\s*/?\s*[a-z!]|&(#\d+|#x[0-9a-f]+|[a-z]+);", re.I)
    for where, text in _all_strings():
        assert not html_like.search(text), f"{where}: {text!r}"


def test_a_key_missing_in_chinese_falls_back_to_english(monkeypatch):
    zh = dict(i18n.STRINGS["zh"])
    del zh["button.download_csv"]
    monkeypatch.setitem(i18n.STRINGS, "zh", zh)
    assert t("button.download_csv", "zh") == "Download CSV"
    assert t("button.upload", "zh") == "上传"


def test_an_unknown_key_raises_instead_of_showing_an_empty_label():
    with pytest.raises(KeyError, match="page.nope"):
        t("page.nope", "zh")


def test_ui_strings_fill_their_parameters_in_each_language():
    assert t("freshness", "en", time="14:05", ago="2 h ago") == "as of 14:05, 2 h ago"
    assert t("freshness", "zh", time="14:05", ago="2小时前") == "数据截至 14:05，2小时前"
    assert t("empty.no_data", "en") == "No data yet: drop an export file on the Data page"
    assert t("page.summary", "zh") == "每周总结"
    # A parameter that looks like a placeholder is text, not a template.
    assert t("upload.done", "en", name="{rows}.csv", rows=3) == "Imported {rows}.csv: 3 rows"


# --- languages --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["zh", "zh-CN", "zh_Hans", "cn", "ZH-cn", "zh-Hans-CN", "zh-TW",
                                   "zh-CN,zh;q=0.9,en;q=0.8", "fr-FR,zh-CN;q=0.8"])
def test_chinese_language_tags_and_headers_normalise_to_zh(value):
    assert normalise_lang(value) == "zh"


@pytest.mark.parametrize("value", ["en", "en-GB", "EN_us", "fr", "de-DE", "", None, 3, "en-US,zh;q=0.5", "chz"])
def test_anything_else_normalises_to_english(value):
    assert normalise_lang(value) == "en"


def test_normalising_a_supported_language_is_a_no_op():
    assert [normalise_lang(lang) for lang in i18n.LANGS] == list(i18n.LANGS)


# --- platforms, categories --------------------------------------------------------------------

def test_every_platform_has_a_name_in_each_language_that_maps_back_to_it():
    for p in (*PLATFORMS, *EXTRA_PLATFORMS):
        for lang in i18n.LANGS:
            assert platform_from_label(platform_name(p, lang)) == p
            assert platform_from_label(platform_name(p, lang).upper()) == p


def test_chinese_uses_the_platforms_own_chinese_names_and_keeps_latin_names_for_the_rest():
    zh = {p: platform_name(p, "zh") for p in (*PLATFORMS, *EXTRA_PLATFORMS)}
    assert zh == {"x": "X", "facebook": "Facebook", "instagram": "Instagram", "youtube": "YouTube",
                  "tiktok": "TikTok", "linkedin": "LinkedIn", "weibo": "微博", "douyin": "抖音",
                  "bilibili": "哔哩哔哩", "wechat": "微信"}
    assert [platform_name(p, "en") for p in EXTRA_PLATFORMS] == ["Weibo", "Douyin", "Bilibili", "WeChat"]


def test_linkedin_is_领英_only_when_the_chinese_brand_is_asked_for_and_is_understood_either_way():
    assert platform_name("linkedin", "zh", brand=True) == "领英"
    assert platform_name("linkedin", "en", brand=True) == "LinkedIn"
    assert platform_name("youtube", "zh", brand=True) == "YouTube"
    assert platform_from_label(" 领英 ") == "linkedin"


def test_english_platform_names_agree_with_the_collectors_labels():
    from collectors.model import PLATFORM_LABELS

    assert {p: platform_name(p, "en") for p in PLATFORMS} == PLATFORM_LABELS


def test_an_unknown_platform_or_label_is_shown_as_given_and_not_guessed():
    assert platform_name("mastodon", "zh") == "mastodon"
    assert platform_from_label("Myspace") is None


def test_every_roster_category_and_unassigned_has_a_name_in_both_languages():
    for c in (*CATEGORIES, "unassigned"):
        assert c in i18n.CATEGORY_NAMES["en"], c
        assert not re.search(r"[A-Za-z]", i18n.category_name(c, "zh")), c
    assert i18n.category_name("foreign resident", "en") == "Foreign resident"
    assert i18n.category_name("foreign resident", "zh") == "在华外籍人士"


def test_a_post_without_a_category_reads_as_unassigned_and_a_free_text_category_as_written():
    assert i18n.category_name(None, "zh") == "未分配"
    assert i18n.category_name(float("nan"), "en") == i18n.category_name(pd.NA, "en") == "Unassigned"
    assert i18n.category_name("blogger", "zh") == "blogger"


# --- metrics ----------------------------------------------------------------------------------

def test_every_column_the_dashboard_shows_has_a_name_and_a_definition_in_both_languages():
    for col in DASHBOARD_COLUMNS:
        for lang in i18n.LANGS:
            assert metric_name(col, lang) != col, (col, lang)
            assert metric_help(col, lang), (col, lang)


def test_every_rate_the_engine_computes_is_named():
    for rate, num, den in metrics.RATES:
        assert rate in i18n.METRIC_NAMES["en"]
        assert metric_help(rate, "en").startswith(f"{num} ÷ {den}")


def test_every_column_documented_in_docs_metrics_md_has_a_definition():
    doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)`", doc, re.M))
    assert {"er_views", "reach_sum", "reach_max_post", "avg_post_er_reach"} <= documented
    assert sorted(documented - set(i18n.METRIC_HELP["en"])) == []


@pytest.mark.parametrize("metric, phrase", [
    ("er_views", "engagements ÷ views (ratio of totals)"),
    ("er_impressions", "engagements ÷ impressions (ratio of totals)"),
    ("virality_views", "shares ÷ views (ratio of totals)"),
    ("reach_sum", "sum of post reach, not deduplicated"),
    ("reach_max_post", "lower bound"),
    ("avg_post_er_reach", "not a ratio of totals"),
    ("er_reach", "posts published in the selection"),
    ("emv_usd", "views × CPM ÷ 1,000"),
    ("engagements", "likes + comments + shares + saves"),
])
def test_definitions_say_what_docs_metrics_md_says(metric, phrase):
    assert phrase in metric_help(metric, "en")


def test_chinese_definitions_keep_the_distinctions_that_matter():
    assert "总量之比" in metric_help("er_views", "zh")
    assert "不是总量之比" in metric_help("avg_post_er_reach", "zh")
    assert "未去重" in metric_help("reach_sum", "zh")


def test_week_over_week_columns_are_named_from_their_metric():
    assert metric_name("wow_views", "en") == "Views, week over week"
    assert metric_name("wow_views", "zh") == "浏览量周环比"
    assert metric_name("wow_er_views_pp", "en") == "ER by views, week over week (pp)"
    assert metric_name("wow_er_views_pp", "zh") == "互动率（按浏览量）周环比（百分点）"
    assert metric_name("prev_engagements", "zh") == "上周互动量"
    assert "new" in metric_help("wow_views", "en") and "percentage points" in metric_help("wow_er_views_pp", "en")


def test_an_unknown_column_keeps_its_name_and_has_no_definition():
    assert metric_name("wow_nonsense", "zh") == "wow_nonsense"
    assert metric_help("nonsense", "en") == ""


def test_table_headers_come_from_metrics_or_ui_columns():
    assert i18n.column_name("er_views", "zh") == "互动率（按浏览量）"
    assert i18n.column_name("influencer", "zh") == "达人"
    assert i18n.column_name("post_pk", "zh") == "post_pk"


# --- numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("x, kind, en, zh", [
    (1234567, "count", "1,234,567", "1,234,567"),
    (1234566.6, "count", "1,234,567", "1,234,567"),
    (0, "count", "0", "0"),
    (-1500, "count", "-1,500", "-1,500"),
    (0.0605, "rate", "6.05%", "6.05%"),
    (0.12394, "rate", "12.39%", "12.39%"),
    (16002.4, "money", "$16,002", "US$16,002"),
    (66.51, "money", "$67", "US$67"),
    (0.59, "pp", "+0.59 pp", "+0.59 个百分点"),
    (-0.5, "pp", "-0.50 pp", "-0.50 个百分点"),
    (24.94, "percent_change", "+24.9%", "+24.9%"),
    (-3.25, "percent_change", "-3.2%", "-3.2%"),
])
def test_numbers_are_formatted_exactly_in_each_language(x, kind, en, zh):
    assert fmt_number(x, "en", kind) == en
    assert fmt_number(x, "zh", kind) == zh


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT, np.float64("nan"), float("inf")])
@pytest.mark.parametrize("kind", i18n.NUMBER_KINDS)
def test_unknown_numbers_are_a_dash_in_every_kind_and_language(missing, kind):
    for lang in i18n.LANGS:
        assert fmt_number(missing, lang, kind) == "—"
        assert fmt_number(missing, lang, kind, compact=True) == "—"


def test_a_change_from_zero_reads_new():
    assert fmt_number("new", "en", "percent_change") == "new"
    assert fmt_number("new", "zh", "percent_change") == "新增"


@pytest.mark.parametrize("x, text", [(0.004, "0.00 pp"), (-0.004, "0.00 pp"), (0.005001, "+0.01 pp"),
                                     (-0.006, "-0.01 pp"), (0, "0.00 pp"), (3, "+3.00 pp")])
def test_percentage_points_carry_a_sign_except_when_they_round_to_zero(x, text):
    assert fmt_number(x, "en", "pp") == text


def test_a_percent_change_that_rounds_to_zero_is_not_shown_as_a_fall():
    assert fmt_number(-0.04, "en", "percent_change") == "0.0%"
    assert fmt_number(0.05001, "en", "percent_change") == "+0.1%"


@pytest.mark.parametrize("x, zh", [
    (9_999, "9,999"),
    (9_999.4, "9,999"),
    (9_999.6, "1万"),  # rounds to 10,000 first
    (10_000, "1万"),
    (12_345, "1.2万"),
    (1_365_000, "136.5万"),
    (99_994_999, "9999.5万"),
    (99_999_999, "1亿"),  # 9999.99995万 rounds into the next unit
    (100_000_000, "1亿"),
    (120_000_000, "1.2亿"),
    (123_456_789, "1.23亿"),
    (1_234_500_000_000, "12,345亿"),
    (-20_000, "-2万"),
])
def test_compact_chinese_counts_use_wan_from_ten_thousand_and_yi_from_a_hundred_million(x, zh):
    assert fmt_number(x, "zh", compact=True) == zh


def test_compact_is_off_by_default_so_tables_show_full_counts():
    assert fmt_number(1_365_000, "zh") == "1,365,000"


def test_compact_english_counts_use_k_m_b_above_the_same_threshold():
    assert [fmt_number(x, "en", compact=True) for x in (9_999, 12_345, 1_370_000, 2_500_000_000)] == \
        ["9,999", "12.3K", "1.37M", "2.5B"]


def test_compact_money_keeps_its_currency():
    assert fmt_number(1_365_000, "zh", "money", compact=True) == "US$136.5万"
    assert fmt_number(-20_000, "en", "money", compact=True) == "-$20K"


def test_an_unknown_number_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        fmt_number(1, "en", "percent")


def test_a_reach_range_shows_both_bounds_or_the_one_that_is_known():
    assert fmt_range(7484, 20162, "en") == "7,484 – 20,162"
    assert fmt_range(7484, None, "zh") == "7,484"
    assert fmt_range(None, None, "zh") == "—"


def test_the_grids_numbers_are_what_babel_writes_for_their_patterns_in_both_languages():
    # Counts, rates and dollars are formatted without Babel's per-call cost (i18n._grouped, _percent):
    # they must still be exactly what format_decimal, format_percent and format_currency write.
    from decimal import Decimal

    from babel.numbers import format_currency, format_decimal, format_percent

    rng = np.random.default_rng(7)
    values = np.concatenate([rng.uniform(-1, 1, 300) * 10.0 ** rng.integers(-4, 13, 300),
                             [0.0, -0.0, 0.5, -0.5, 2.5, 0.125, -0.00004, 0.0605, 1e15]])
    for lang, locale in i18n.LOCALES.items():
        for x in values:
            n = round(x)
            assert fmt_number(x, lang) == format_decimal(n, format="#,##0", locale=locale), x
            assert fmt_number(x, lang, "money") == format_currency(n, "USD", format="¤#,##0", currency_digits=False,
                                                                   locale=locale), x
            assert fmt_number(x, lang, "rate") == format_percent(Decimal(x), format="0.00%", locale=locale), x


@pytest.mark.parametrize("x, en, zh", [
    (131_450, "131.5K", "13.1万"),  # a tie in the shortened count rounds up, as people round
    (2_380_500, "2.38M", "238.1万"),
    (999_999_999_999, "1T", "10,000亿"),  # rounds to 10,000亿: Chinese stays in 亿 after rounding too
    (2_500_000_000_000, "2.5T", "25,000亿"),
])
def test_compact_ties_round_up_and_only_chinese_stops_at_yi(x, en, zh):
    assert fmt_number(x, "en", compact=True) == en
    assert fmt_number(x, "zh", compact=True) == zh


# --- dates, times, weeks ----------------------------------------------------------------------

def test_dates_are_day_month_year_in_english_and_year_month_day_in_chinese():
    assert fmt_date(date(2024, 12, 22), "en") == "22 Dec 2024"
    assert fmt_date(date(2024, 12, 22), "zh") == "2024年12月22日"
    assert fmt_date(pd.Timestamp("2025-01-05"), "en") == "5 Jan 2025"
    assert fmt_date(date(2025, 1, 5), "zh") == "2025年1月5日"
    assert fmt_date(None, "zh") == fmt_date(pd.NaT, "en") == "—"


def test_times_are_shown_in_the_campaign_timezone_not_utc():
    utc = datetime(2024, 12, 21, 17, 30, tzinfo=timezone.utc)  # 01:30 the next day in Shanghai
    assert fmt_datetime(utc, "en", SHANGHAI) == "22 Dec 2024, 01:30"
    assert fmt_datetime(utc, "zh", "Asia/Shanghai") == "2024年12月22日 01:30"
    assert fmt_time(utc, "zh", SHANGHAI) == "01:30"
    # The store keeps naive UTC: a naive time is UTC, not local.
    assert fmt_time(pd.Timestamp("2024-12-22 06:05"), "en", SHANGHAI) == "14:05"
    assert fmt_datetime(None, "en", SHANGHAI) == "—"


@pytest.mark.parametrize("seconds, en, zh", [
    (30, "just now", "刚刚"),
    (-120, "just now", "刚刚"),  # a clock running ahead
    (5 * 60 + 59, "5 min ago", "5分钟前"),
    (2 * 3600 + 1800, "2 h ago", "2小时前"),
    (23 * 3600 + 3599, "23 h ago", "23小时前"),
    (86400, "1 day ago", "1天前"),
    (3 * 86400 + 5, "3 days ago", "3天前"),
    (45 * 86400 + 5, "45 days ago", "45天前"),  # days, never rounded to "2 months"
])
def test_relative_times_count_whole_units(seconds, en, zh):
    now = pd.Timestamp("2025-01-10 12:00", tz="UTC")
    then = now - pd.Timedelta(seconds=seconds)
    assert fmt_ago(then, "en", now=now) == en
    assert fmt_ago(then, "zh", now=now) == zh


def test_freshness_gives_the_time_alone_today_and_the_date_on_an_earlier_day():
    now = pd.Timestamp("2024-12-22 08:06", tz="UTC")  # 16:06 in Shanghai
    assert freshness("2024-12-22 06:05", "en", SHANGHAI, now=now) == "as of 14:05, 2 h ago"
    assert freshness("2024-12-22 06:05", "zh", SHANGHAI, now=now) == "数据截至 14:05，2小时前"
    # 15:00 UTC on the 21st is 23:00 in Shanghai: yesterday there, though the same UTC date.
    assert freshness("2024-12-21 15:00", "en", SHANGHAI, now=now) == "as of 21 Dec 2024, 23:00, 17 h ago"
    assert freshness(None, "zh", SHANGHAI, now=now) == "尚未导入数据"


def test_week_labels_in_both_languages_with_a_partial_week_said_so():
    assert week_label("2025-W01", 7, "en") == "2025-W01"
    assert week_label("2025-W01", 7, "zh") == "2025年第1周"
    assert week_label("2025-W01", 3, "en") == "2025-W01, partial (3/7 days)"
    assert week_label("2025-W01", 3, "zh") == "2025年第1周，不完整（3/7天）"
    assert week_label("2024-W52", None, "zh") == "2024年第52周"
    assert i18n.partial_label(3, "zh") == "不完整（3/7天）"


def test_the_chinese_week_uses_the_iso_year_of_the_label():
    # 30 Dec 2024 is in ISO week 2025-W01: the Chinese label must not say 2024.
    label = metrics.iso_week(pd.Series([pd.Timestamp("2024-12-30")])).iloc[0]
    assert week_label(label, 7, "zh") == "2025年第1周"


@pytest.mark.parametrize("bad", ["2025-W54", "2025-1", "W01", "", "2025-W00"])
def test_a_malformed_week_is_refused(bad):
    with pytest.raises(ValueError):
        week_label(bad, 7, "en")


# --- templates and the plotly locale ------------------------------------------------------------

def test_a_template_is_the_string_with_its_placeholders_unfilled_falling_back_to_english(monkeypatch):
    assert i18n.template("summary.sub", "zh") == "每周总结 {week}，{dates}{badge}。变化对比：{what}。"
    zh = dict(i18n.STRINGS["zh"])
    del zh["summary.sub"]
    monkeypatch.setitem(i18n.STRINGS, "zh", zh)
    assert i18n.template("summary.sub", "zh") == i18n.STRINGS["en"]["summary.sub"]
    with pytest.raises(KeyError):
        i18n.template("summary.nope", "en")


def test_every_graph_is_configured_for_the_plotly_locale_of_its_language():
    from dashboard.web.figures import graph_config

    assert graph_config("zh")["locale"] == "zh-CN" and graph_config("zh-CN")["locale"] == "zh-CN"
    assert graph_config("en")["locale"] == "en-US"
    assert graph_config("zh", displayModeBar=False)["displayModeBar"] is False
    # No page builds a graph's config by hand (it would miss the locale).
    for page in (ROOT / "dashboard" / "web" / "pages").glob("*.py"):
        for call in re.findall(r"dcc\.Graph\((.*?)className", page.read_text(encoding="utf-8"), re.S):
            assert "config=" in call and "displaylogo" not in call, page.name


def test_the_zh_cn_plotly_locale_is_served_locally_with_chinese_months_and_its_licence():
    js = (ROOT / "dashboard" / "web" / "assets" / "plotly-locale-zh-cn.js").read_text(encoding="utf-8")
    assert "MIT License" in js and "Plotly Technologies Inc." in js
    assert "name: 'zh-CN'" in js and "moduleType: 'locale'" in js
    assert "'12月'" in js and "dayMonth: '%-m月%-d日'" in js
    # Registered with plotly.js whichever of the two loads first; nothing fetched from anywhere.
    assert "Plotly.register(locale)" in js and "window.PlotlyLocales" in js
    assert not re.search(r"https?://|import\s|fetch\(|XMLHttpRequest", js.split("*/", 1)[1])


# --- the collectors' and the pipeline's messages (collectors/messages.py) -------------------------

def test_the_messages_are_the_catalog_files_every_key_in_every_language_and_they_ship():
    import tomllib

    folder = ROOT / "collectors" / "catalogs" / "messages"
    assert messages.CATALOGS == folder
    assert sorted(p.name for p in folder.glob("*.toml")) == sorted(f"{lang}.toml" for lang in messages.LANGS)
    for lang in messages.LANGS:
        path = folder / f"{lang}.toml"
        assert tomllib.loads(path.read_text(encoding="utf-8")) == messages.CATALOG[lang], path
    assert set(messages.CATALOG) == set(messages.LANGS) == {"en", "zh"}
    assert set(messages.CATALOG["en"]) == set(messages.CATALOG["zh"])
    # The files are the one source: no template is a string literal of the module as well.
    source = (ROOT / "collectors" / "messages.py").read_text(encoding="utf-8")
    literals = [k for k, en in messages.CATALOG["en"].items()
                if len(en) > 20 and (f'"{en}"' in source or f"'{en}'" in source)]
    assert literals == []
    # Both catalogs are package data, so an installed wheel has them (the module reads them at import).
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]
    for package, folder in (("collectors", messages.CATALOGS), ("dashboard.text", i18n.CATALOGS)):
        base = ROOT.joinpath(*package.split("."))
        shipped = {path for pattern in package_data[package] for path in base.glob(pattern)}  # as setuptools globs
        for path in folder.glob("*.toml"):
            assert path in shipped, path


def test_every_message_has_chinese_with_the_placeholders_of_the_english_one():
    for key, en in messages.CATALOG["en"].items():
        assert _placeholders(messages.CATALOG["zh"][key]) == _placeholders(en), key
    # "--as-of", "; " and the like may read the same; a sentence may not.
    same = [k for k, en in messages.CATALOG["en"].items() if len(en) > 12 and messages.CATALOG["zh"][k] == en]
    assert same == []


def test_a_message_is_its_english_text_and_renders_in_chinese_from_the_same_key_and_values():
    m = messages.not_an_export("report.pdf", "pdf")
    assert m == "report.pdf: this is a PDF, not an export; export CSV or XLSX from the platform's analytics page " \
                "(docs/platforms.md lists where)"
    assert str(ValueError(m)) is m  # an exception keeps the message, key and values included
    assert messages.render(m, "zh") == "report.pdf：这是一份 PDF 文件，不是导出文件；请从平台的数据分析页面导出 CSV 或 XLSX" \
                                       "（位置见 docs/platforms.md）"
    assert messages.render(m, "en") == m
    import pickle

    assert messages.render(pickle.loads(pickle.dumps(m)), "zh") == messages.render(m, "zh")  # from a worker


# A value for each parameter of a known shape (messages.SHAPES), which a marker would not have.
SHAPED = {"api": "youtube", "request": "GET /«request»", "setting": "x.setting_1", "env": "REACH_ENV_1"}


def test_every_parameter_with_a_shape_has_a_value_of_that_shape_for_the_test_below():
    assert set(messages.SHAPES) == set(SHAPED)
    assert all(re.fullmatch(messages.SHAPES[k], v) for k, v in SHAPED.items())


def test_stored_english_text_is_written_again_in_chinese_from_the_template_that_wrote_it():
    # Every template: filled with markers, its English (as the database keeps it) translates to
    # exactly what the message renders in Chinese; the values come through untouched.
    for key in messages.CATALOG["en"]:
        names = _placeholders(messages.CATALOG["en"][key])
        m = messages.Message(key, **{n: SHAPED.get(n, f"«{n}{i}»") for i, n in enumerate(sorted(names))})
        english = str.__str__(m)
        if messages.translate(english, "zh") == english and messages.render(m, "zh") != english:
            # a template with too few fixed words to be recognised ("{name}: {message}") is not guessed at
            assert len(re.sub(r"\{\w+\}", "", messages.CATALOG["en"][key]).strip()) < 4, key
            continue
        assert messages.translate(english, "zh") == messages.render(m, "zh"), key
    # a nested message (what a rejected cell should have been) is translated inside the sentence
    row = 'posts.csv, line 3, column "Impressions": \'lots\' is not a whole number'
    assert messages.translate(row, "zh") == "posts.csv，第 3 行，“Impressions”列：'lots' 不是整数"
    # text no template wrote stays as it was
    assert messages.translate("something the catalog never said", "zh") == "something the catalog never said"


def test_stored_english_of_several_messages_in_a_row_is_read_back_sentence_by_sentence_and_item_by_item():
    # A refusal's sentences and its list of closest reports ("; " also occurs inside one item):
    # the stored English reads back exactly as the message renders, and no parameter swallows
    # the sentence or item after it.
    m = messages
    why = m.Message("detect.why.missing", fields="url, views")
    items = [m.Message("detect.candidate", title="A export (a.csv / b), per post", name="a.posts", fitted=5,
                       total=8, why=m.Message("detect.why.ambiguous")),
             m.Message("detect.candidate", title="B export", name="b.posts", fitted=4, total=8, why=why)]
    refusal = m.Message.concat(
        m.Message("detect.unknown", source="f.csv", header="Clip, Hearts"), " ",
        m.Message("detect.closest_structure", candidates=m.Message.concat(items[0], m.Message("sep.list"), items[1])),
        "\n        ", m.Message("detect.proposal", report="a.posts",
                                columns=m.Message("mapping.not_read_one", shown='"Clip" → title', n=1)))
    zh = m.render(refusal, "zh")
    assert zh == ("f.csv：不是已知的导出文件（表头：Clip, Hearts）。 按结构最接近的：A export (a.csv / b), per post [a.posts]"
                  "（8 列中有 5 列吻合；其各列有不止一种对应方式）；B export [b.posts]（8 列中有 4 列吻合；缺少 url, views 对应的列）。"
                  '\n        建议按 a.posts 映射："Clip" → title；1 列未读取')
    assert m.translate(str.__str__(refusal), "zh") == zh
    # a first sentence the catalog wrote, then text it did not: the first is translated, the rest kept
    assert m.translate("f.csv: not a known export (header: a). Something else entirely.", "zh") == \
        "f.csv：不是已知的导出文件（表头：a）。 Something else entirely."

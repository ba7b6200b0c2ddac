"""The dashboard's two UI languages, English ("en") and Simplified Chinese ("zh"), as data.

Every string a person reads on the dashboard comes from the dictionaries below through ``t``
(UI strings with ``{param}`` placeholders), ``platform_name``, ``category_name``,
``metric_name``/``metric_help`` (names and one-line definitions that follow docs/metrics.md) and
the formatters ``fmt_number``, ``fmt_date``, ``fmt_time``, ``fmt_datetime``, ``fmt_ago``,
``freshness`` and ``week_label``. Chinese falls back to English key by key, so a string added in
English only shows in English until it is translated (tests/test_i18n.py fails meanwhile). The
strings are plain text, never HTML: Dash renders them as text. Numbers, dates and relative times
are formatted here with Babel (CLDR's data for each language, ``LOCALES``) rather than with the
locale module, so that the output does not depend on the server's locale.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import math
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache
from zoneinfo import ZoneInfo

import pandas as pd
from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta, get_date_format
from babel.numbers import (format_compact_currency, format_compact_decimal, format_currency, format_decimal,
                           format_percent, get_currency_symbol, parse_pattern)

from collectors.model import PLATFORM_LABELS

LANGS = ("en", "zh")
DEFAULT_LANG = "en"
MISSING = "—"

# --- UI strings -------------------------------------------------------------------------------
# Per language, one catalog file (dashboard/text/catalogs/<lang>.toml), read once when this module
# is first imported: keys dotted by area, every key in every language (tests/test_i18n.py).
CATALOGS = Path(__file__).resolve().parent / "catalogs"


def _catalogs() -> dict[str, dict[str, str]]:
    return {lang: tomllib.loads((CATALOGS / f"{lang}.toml").read_text(encoding="utf-8")) for lang in LANGS}


STRINGS: dict[str, dict[str, str]] = _catalogs()

# --- platforms --------------------------------------------------------------------------------
# In Chinese the platforms' own Chinese names where the platform itself uses one; X, Facebook,
# Instagram, YouTube, TikTok and LinkedIn keep their Latin names (that is how Chinese media write
# them). LinkedIn's China brand 领英 is offered as an alternative label (``brand=True``) and is
# understood by ``platform_from_label``, but is not the default: the campaign posts on global
# LinkedIn, which Chinese users also call LinkedIn.
PLATFORM_NAMES: dict[str, dict[str, str]] = {
    "en": dict(PLATFORM_LABELS),  # the importers' names are the English UI's names
    "zh": {**PLATFORM_LABELS, "weibo": "微博", "douyin": "抖音", "bilibili": "哔哩哔哩", "wechat": "微信"},
}
PLATFORM_BRAND_NAMES_ZH: dict[str, str] = {"linkedin": "领英"}

# --- influencer categories (collectors/roster.py CATEGORIES, plus "unassigned") ----------------
CATEGORY_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "official": "Official",
        "merchant": "Merchant",
        "entrepreneur": "Entrepreneur",
        "foreign resident": "Foreign resident",
        "journalist": "Journalist",
        "media": "Media",
        "international influencer": "International influencer",
        "unassigned": "Unassigned",
    },
    "zh": {
        "official": "官方",
        "merchant": "商户",
        "entrepreneur": "创业者",
        "foreign resident": "在华外籍人士",
        "journalist": "记者",
        "media": "媒体",
        "international influencer": "国际网红",
        "unassigned": "未分配",
    },
}

# --- metrics: names and one-line definitions (docs/metrics.md is the reference) -----------------
METRIC_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "views": "Views",
        "impressions": "Impressions",
        "views_or_impressions": "Views or impressions",
        "reach": "Reach",
        "likes": "Likes",
        "comments": "Comments",
        "shares": "Shares",
        "saves": "Saves",
        "clicks": "Clicks",
        "video_views": "Video views",
        "watch_time_s": "Watch time (s)",
        "followers_gained": "Followers gained",
        "followers": "Followers",
        "engagements": "Engagements",
        "er_views": "ER by views",
        "er_impressions": "ER by impressions",
        "virality_views": "Virality by views",
        "er_followers": "ER by followers",
        "er_reach": "ER by reach",
        "avg_post_er_reach": "Average post ER by reach",
        "reach_max_post": "Reach, largest post",
        "reach_sum": "Reach, sum over posts",
        "reach_posts": "Posts with reach",
        "reach_avg_post": "Average post reach",
        "reach_est_random_duplication": "Reach, estimated",
        "reach_account": "Account reach",
        "reach_range": "Reach (not deduplicated)",
        "emv_usd": "EMV (USD)",
        "emv_formula": "EMV formula",
        "posts_active": "Posts with activity",
        "posts": "Posts published",
        "active_influencers": "Active influencers",
        "days_covered": "Days covered",
        "partial": "Partial week",
        "interpolated": "Interpolated",
        "corrected": "Corrected",
    },
    "zh": {
        "views": "浏览量",
        "impressions": "展示次数",
        "views_or_impressions": "浏览量或展示次数",
        "reach": "覆盖人数",
        "likes": "点赞数",
        "comments": "评论数",
        "shares": "分享数",
        "saves": "收藏数",
        "clicks": "点击次数",
        "video_views": "视频播放量",
        "watch_time_s": "观看时长（秒）",
        "followers_gained": "新增粉丝数",
        "followers": "粉丝数",
        "engagements": "互动量",
        "er_views": "互动率（按浏览量）",
        "er_impressions": "互动率（按展示次数）",
        "virality_views": "分享率（按浏览量）",
        "er_followers": "互动率（按粉丝数）",
        "er_reach": "互动率（按覆盖人数）",
        "avg_post_er_reach": "单帖平均互动率（按覆盖人数）",
        "reach_max_post": "覆盖人数（单帖最高）",
        "reach_sum": "覆盖人数（各帖之和）",
        "reach_posts": "有覆盖数据的帖子数",
        "reach_avg_post": "单帖平均覆盖人数",
        "reach_est_random_duplication": "覆盖人数（估算）",
        "reach_account": "账号覆盖人数",
        "reach_range": "覆盖人数（未去重）",
        "emv_usd": "媒体价值 EMV（美元）",
        "emv_formula": "EMV 公式",
        "posts_active": "有活动的帖子数",
        "posts": "发布帖子数",
        "active_influencers": "活跃达人数",
        "days_covered": "覆盖天数",
        "partial": "不完整周",
        "interpolated": "含插值",
        "corrected": "含平台修正",
    },
}

METRIC_HELP: dict[str, dict[str, str]] = {
    "en": {
        "views": "views as the platform counts them, summed over posts and days",
        "impressions": "times posts were shown, summed over posts and days",
        "views_or_impressions": ("views, or impressions for a platform that reports no views (X, LinkedIn): "
                                 "the volume compared across platforms, as in EMV"),
        "reach": "unique people a post reached, as the platform reports it; never summed",
        "likes": "likes, summed over posts and days",
        "comments": "comments, summed over posts and days",
        "shares": "shares, summed over posts and days",
        "saves": "saves, summed over posts and days",
        "clicks": "clicks, summed over posts and days",
        "video_views": "video views as the platform reports them, summed over posts and days",
        "watch_time_s": "watch time in seconds, summed over posts and days",
        "followers_gained": "followers gained, summed over posts and days",
        "followers": ("followers at the end of the selection, a level not summed over days: the latest "
                      "export figure, else the roster's"),
        "engagements": "likes + comments + shares + saves (the [engagement] list of campaign.toml)",
        "er_views": "engagements ÷ views (ratio of totals)",
        "er_impressions": "engagements ÷ impressions (ratio of totals)",
        "virality_views": "shares ÷ views (ratio of totals)",
        "er_followers": "engagements ÷ followers of the accounts with a follower count (ratio of totals)",
        "er_reach": "lifetime engagements ÷ reach of the posts published in the selection (ratio of totals)",
        "avg_post_er_reach": "mean of each post's engagements ÷ reach (not a ratio of totals)",
        "reach_max_post": "the largest post reach: a lower bound of unique reach",
        "reach_sum": "sum of post reach, not deduplicated: an upper bound",
        "reach_posts": "posts with a reach figure",
        "reach_avg_post": "average reach of the posts with a reach figure",
        "reach_est_random_duplication": "U·(1 − Π(1 − Rᵢ/U)): reach estimated by random duplication over a universe U",
        "reach_account": "the platform's own deduplicated reach of an account on a day; never summed",
        "reach_range": "from the largest post reach (a lower bound) to the sum of post reach (an upper bound)",
        "emv_usd": ("earned media value: views × CPM ÷ 1,000 in US dollars (impressions where a platform "
                    "reports no views)"),
        "emv_formula": "the version of the EMV formula the value was computed with",
        "posts_active": "posts with any activity in the selection",
        "posts": "posts published in the period",
        "active_influencers": "influencers who published at least one post in the period",
        "days_covered": "days of the ISO week inside the campaign, the selection and the data",
        "partial": ("fewer than 7 days covered: compared with the same weekdays of the week before"),
        "interpolated": "part of the value was spread over several days (or the publish time was unknown)",
        "corrected": "a platform correction (a lower lifetime value) was absorbed in this value",
    },
    "zh": {
        "views": "平台统计的浏览量，按帖子和日期求和",
        "impressions": "帖子被展示的次数，按帖子和日期求和",
        "views_or_impressions": "浏览量；不提供浏览量的平台（X、LinkedIn）计展示次数：跨平台比较的体量，与 EMV 相同",
        "reach": "平台报告的单帖触达的独立用户数；从不求和",
        "likes": "点赞数，按帖子和日期求和",
        "comments": "评论数，按帖子和日期求和",
        "shares": "分享数，按帖子和日期求和",
        "saves": "收藏数，按帖子和日期求和",
        "clicks": "点击次数，按帖子和日期求和",
        "video_views": "平台报告的视频播放量，按帖子和日期求和",
        "watch_time_s": "观看时长（秒），按帖子和日期求和",
        "followers_gained": "新增粉丝数，按帖子和日期求和",
        "followers": "所选期间结束时的粉丝数，为存量、不按日求和：取导出文件的最新值，否则取名单中的数值",
        "engagements": "点赞 + 评论 + 分享 + 收藏（campaign.toml 的 [engagement] 列表）",
        "er_views": "互动量 ÷ 浏览量（总量之比）",
        "er_impressions": "互动量 ÷ 展示次数（总量之比）",
        "virality_views": "分享数 ÷ 浏览量（总量之比）",
        "er_followers": "互动量 ÷ 有粉丝数的账号的粉丝数（总量之比）",
        "er_reach": "所选期间发布帖子的累计互动量 ÷ 覆盖人数（总量之比）",
        "avg_post_er_reach": "各帖互动量 ÷ 覆盖人数的平均值（不是总量之比）",
        "reach_max_post": "单帖最高覆盖人数：独立覆盖人数的下限",
        "reach_sum": "各帖覆盖人数之和，未去重：上限",
        "reach_posts": "有覆盖人数数据的帖子数",
        "reach_avg_post": "有覆盖人数数据的帖子的平均覆盖人数",
        "reach_est_random_duplication": "U·(1 − Π(1 − Rᵢ/U))：按随机重叠模型在总体 U 上估算的覆盖人数",
        "reach_account": "平台自身去重后的账号单日覆盖人数；从不求和",
        "reach_range": "从单帖最高覆盖人数（下限）到各帖覆盖人数之和（上限）",
        "emv_usd": "赢得媒体价值：浏览量 × CPM ÷ 1,000，单位美元（平台不提供浏览量时用展示次数）",
        "emv_formula": "计算该数值所用的 EMV 公式版本",
        "posts_active": "所选范围内有任何活动的帖子数",
        "posts": "该期间发布的帖子数",
        "active_influencers": "该期间至少发布一条帖子的达人",
        "days_covered": "ISO 周中位于活动期、所选范围和数据范围内的天数",
        "partial": "覆盖不足 7 天：与上周相同的星期几对比",
        "interpolated": "部分数值被分摊到多天（或发布时间未知）",
        "corrected": "该数值吸收了平台修正（累计值下降）",
    },
}

# Month abbreviations as data: strftime's %b follows the server locale.
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

NUMBER_KINDS = ("count", "rate", "money", "pp", "percent_change")
# The CLDR locale (through Babel) of each UI language.
LOCALES = {"en": "en", "zh": "zh_Hans_CN"}
# Compact counts (``fmt_number(..., compact=True)``): below COMPACT_FROM written out in full in both
# languages; from there on CLDR's short compact form, the unit chosen after rounding (99,999,999 is
# 1亿, not 10000万) and trailing zeros dropped: 1万, 136.5万, 1.23亿; 12.3K, 1.37M. One decimal in
# the first unit (K, 万) and two from the second on (COMPACT_TWO_DECIMALS_FROM): a step of 0.1亿
# (1,000万) is too coarse for a headline figure. Chinese stops at 亿 (12,345亿, as the dashboard
# always wrote it) where CLDR goes on to 万亿 (COMPACT_LARGEST); English follows CLDR (K, M, B, T).
COMPACT_FROM = 10_000
COMPACT_TWO_DECIMALS_FROM = {"en": 10**6, "zh": 10**8}
COMPACT_LARGEST = {"zh": 10**8}
# Where CLDR's default formats are not what the dashboard writes: English dates day first (CLDR's
# medium date is "Dec 22, 2024"), and times on a 24-hour clock in both languages (CLDR's English
# short time is "2:05 PM"). Chinese dates are CLDR's long date, 2024年12月22日.
DATE_FORMATS = {"en": "d MMM y", "zh": "long"}
TIME_FORMAT = "HH:mm"
_ZH_TAGS = ("zh", "cn", "chinese", "中文")


# --- language ---------------------------------------------------------------------------------

def normalise_lang(value) -> str:
    """Maps "zh", "zh-CN", "zh_Hans", "zh-TW", "cn" and the like to "zh", anything else to "en".

    Also takes a browser Accept-Language header ("fr-FR,zh-CN;q=0.8,en;q=0.5"): the first tag in
    a language we have wins. Traditional-Chinese tags get Simplified Chinese, the closer of the
    two languages we offer."""
    if not isinstance(value, str):
        return DEFAULT_LANG
    for part in value.split(","):
        tag = part.split(";")[0].strip().lower().replace("_", "-")
        primary = tag.split("-")[0]
        if tag in _ZH_TAGS or primary in _ZH_TAGS:
            return "zh"
        if primary == "en":
            return "en"
    return DEFAULT_LANG




def t(key: str, lang: str, **params) -> str:
    """The UI string ``key`` in ``lang``, with ``{param}`` placeholders filled from ``params``.

    A key missing in Chinese falls back to English; a key missing in English is a programming
    error and raises KeyError (tests catch it before a user does)."""
    text = template(key, lang)
    return text.format(**params) if params else text


def template(key: str, lang: str) -> str:
    """The UI string ``key`` in ``lang`` with its ``{param}`` placeholders unfilled (for a caller
    that fills them with something other than text, such as HTML it has escaped itself)."""
    lang = normalise_lang(lang)
    text = STRINGS[lang].get(key)
    if text is None:
        if key not in STRINGS[DEFAULT_LANG]:
            raise KeyError(f"no UI string {key!r}")
        text = STRINGS[DEFAULT_LANG][key]
    return text


# The EMV formula version every EMV output carries (config.EMV_FORMULA_VERSION, a value in the
# exports' emv_formula column, so it stays English there): its words in each language.
EMV_FORMULAS = {
    "emv-v1: views x CPM / 1000 (impressions where a platform reports no views)": {
        "zh": "emv-v1：浏览量 × CPM ÷ 1000（平台不提供浏览量时用展示次数）",
    },
}


def emv_formula(version: str, lang: str) -> str:
    """The EMV formula ``version`` as a reader of ``lang`` reads it; a version without a
    translation (a newer one, set by hand) as it is."""
    return EMV_FORMULAS.get(version, {}).get(normalise_lang(lang), version)


def _lookup(table: dict[str, dict[str, str]], key: str, lang: str) -> str | None:
    lang = normalise_lang(lang)
    return table[lang].get(key) or table[DEFAULT_LANG].get(key)


def platform_name(platform: str, lang: str, brand: bool = False) -> str:
    """The platform's display name; with ``brand`` in Chinese, LinkedIn's China brand 领英.
    A platform we have no name for is shown as its key (a new platform is still readable)."""
    if brand and normalise_lang(lang) == "zh" and platform in PLATFORM_BRAND_NAMES_ZH:
        return PLATFORM_BRAND_NAMES_ZH[platform]
    return _lookup(PLATFORM_NAMES, platform, lang) or str(platform)


def platform_from_label(label: str) -> str | None:
    """The platform key for a name in either language (or 领英), case-insensitive; None if unknown."""
    text = str(label or "").strip().casefold()
    for names in (*PLATFORM_NAMES.values(), PLATFORM_BRAND_NAMES_ZH):
        for key, name in names.items():
            if text in (name.casefold(), key):
                return key
    return None


def category_name(category, lang: str) -> str:
    """The influencer category's name; no category is "unassigned", an unknown one shows as given."""
    if _missing(category) or category == "":
        category = "unassigned"
    return _lookup(CATEGORY_NAMES, str(category), lang) or str(category)


def _derived(metric: str) -> tuple[str, str] | None:
    """("wow"|"wow_pp"|"prev", base metric) for a derived weekly column, else None."""
    if metric.startswith("wow_") and metric.endswith("_pp"):
        return "wow_pp", metric[4:-3]
    if metric.startswith("wow_"):
        return "wow", metric[4:]
    if metric.startswith("prev_"):
        return "prev", metric[5:]
    return None


def metric_name(metric: str, lang: str) -> str:
    """A metric's or rate's display name, including the derived ``wow_*``, ``wow_*_pp`` and
    ``prev_*`` columns; an unknown column shows as its key."""
    name = _lookup(METRIC_NAMES, metric, lang)
    if name:
        return name
    d = _derived(metric)
    if d and _lookup(METRIC_NAMES, d[1], lang):
        return t(f"metric.{d[0]}", lang, metric=_lookup(METRIC_NAMES, d[1], lang))
    return metric


def metric_in_sentence(metric: str, lang: str) -> str:
    """The metric's name inside a sentence: lower case in English ("reached 384,026 views"),
    acronyms kept ("EMV"); as is in Chinese."""
    name = metric_name(metric, lang)
    return name[0].lower() + name[1:] if lang != "zh" and len(name) > 1 and name[1].islower() else name


def metric_help(metric: str, lang: str) -> str:
    """A one-line definition of a metric (docs/metrics.md), or "" for an unknown column."""
    text = _lookup(METRIC_HELP, metric, lang)
    if text:
        return text
    d = _derived(metric)
    if d and _lookup(METRIC_NAMES, d[1], lang):
        return t(f"help.{d[0]}", lang)
    return ""


def column_name(column: str, lang: str) -> str:
    """A table header: a metric's name, else a UI column name (``col.<column>``), else the column."""
    if _lookup(METRIC_NAMES, column, lang) or _derived(column):
        return metric_name(column, lang)
    key = f"col.{column}"
    return t(key, lang) if key in STRINGS[DEFAULT_LANG] else column


# --- numbers ----------------------------------------------------------------------------------

def _missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[normalise_lang(lang)])


def _exact(x: float) -> Decimal:
    # The float's exact value: Babel then rounds it as Python's own formatting does (half to even
    # on the binary value), so a number reads the same here and in an f-string elsewhere.
    return Decimal(x)


@cache
def _symbols(lang: str) -> tuple[str, str, str, str, str]:
    """The locale's group and decimal separators, minus and percent signs and its US dollar sign."""
    loc = _locale(lang)
    sym = loc.number_symbols["latn"]
    return sym["group"], sym["decimal"], sym["minusSign"], sym["percentSign"], get_currency_symbol("USD", loc)


# The three formats a grid writes in every row, done here with the locale's symbols: Babel's
# format_decimal, format_percent and format_currency take about 25 µs a number, and the Influencers
# grid writes a dozen numbers per influencer (4,000 influencers at 100x the demo: 50,000 numbers, a
# second more per view).
# They equal Babel's for every value (tests/test_i18n.py compares them on random numbers).

def _grouped(n: int, lang: str, prefix: str = "") -> str:
    """``format_decimal(n, "#,##0")`` (``prefix``: the currency sign of "¤#,##0")."""
    group, _, minus, _, _ = _symbols(lang)
    text = prefix + f"{abs(n):,d}".replace(",", group)
    return minus + text if n < 0 else text


def _percent(x: float, lang: str) -> str:
    """``format_percent(x, "0.00%")``: the exact value times 100, rounded half to even."""
    _, decimal, minus, percent, _ = _symbols(lang)
    text = f"{_exact(x) * 100:.2f}"
    return (minus + text[1:] if text.startswith("-") else text).replace(".", decimal) + percent


def _compact(n: int, lang: str, money: bool = False) -> str:
    """A rounded count (or whole dollars) in CLDR's short compact form (COMPACT_FROM and the
    settings below it)."""
    loc = _locale(lang)
    if abs(n) < COMPACT_FROM:
        return _grouped(n, lang, _symbols(lang)[4] if money else "")
    digits = 1 if abs(n) < COMPACT_TWO_DECIMALS_FROM[lang] else 2
    largest = COMPACT_LARGEST.get(lang)
    if largest and (Decimal(abs(n)) / largest).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP) >= 10_000:
        # Past the largest unit: its CLDR suffix on a grouped number (12,345亿).
        unit = parse_pattern(loc.compact_decimal_formats["short"]["other"][str(largest)]).suffix[0]
        pattern = "#,##0." + "#" * digits + unit
        value = (Decimal(n) / largest).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
        return (format_currency(value, "USD", format="¤" + pattern, currency_digits=False, locale=loc) if money
                else format_decimal(value, format=pattern, locale=loc))
    # A tie in the shortened count rounds up, as people round (四舍五入: 2,380,500 is 238.1万), where
    # Babel's default context would round it to even (238万).
    with localcontext(rounding=ROUND_HALF_UP):
        if money:
            return format_compact_currency(n, "USD", locale=loc, fraction_digits=digits)
        return format_compact_decimal(n, locale=loc, fraction_digits=digits)


def _signed(x: float, places: int, lang: str, percent: bool = False) -> str:
    """``x`` with a sign and ``places`` decimals (``percent``: ``x`` is in percent already); a value
    that rounds to zero has none (-0.001 must not read as a fall)."""
    value = _exact(x)
    digits = "0." + "0" * places + ("%" if percent else "")
    if round(value, places) == 0:
        value, pattern = abs(value), digits
    else:
        pattern = f"+{digits};-{digits}"
    if percent:
        return format_percent(value / 100, format=pattern, locale=_locale(lang))
    return format_decimal(value, format=pattern, locale=_locale(lang))


def fmt_number(x, lang: str, kind: str = "count", compact: bool = False) -> str:
    """A number as people read it in ``lang``.

    ``kind``: "count" (1,234,567), "rate" (a fraction shown as percent: 0.0605 -> 6.05%),
    "money" (US dollars: $16,002 / US$16,002), "pp" (percentage points, signed: +0.59 pp /
    +0.59 个百分点) or "percent_change" (already in percent, signed: +24.9%). ``compact`` shortens
    counts and money (136.5万, 1.23亿 / 1.4M). None, NaN and infinities are "—"; "new" (a change
    from zero) is "new" / "新增". A signed value that rounds to zero is shown without a sign."""
    if kind not in NUMBER_KINDS:
        raise ValueError(f"kind must be one of {NUMBER_KINDS}, not {kind!r}")
    lang = normalise_lang(lang)
    if isinstance(x, str):
        if x.strip().lower() == "new":
            return t("num.new", lang)
        try:
            x = float(x)
        except ValueError:
            return MISSING
    if _missing(x):
        return MISSING
    x = float(x)
    if not math.isfinite(x):
        return MISSING
    if kind == "rate":
        # Ungrouped, as the tables always wrote a rate (an ER over 1,000% is a data problem to see).
        return _percent(x, lang)
    if kind == "pp":
        return t("num.pp", lang, value=_signed(x, 2, lang))
    if kind == "percent_change":
        return _signed(x, 1, lang, percent=True)
    # Whole units, rounded first: -0.4 is 0, never "-0".
    n = round(x)
    if compact:
        return _compact(n, lang, money=kind == "money")
    return _grouped(n, lang, _symbols(lang)[4] if kind == "money" else "")


def fmt_range(low, high, lang: str, kind: str = "count", compact: bool = False) -> str:
    """A range such as reach's lower and upper bound: "7,484 – 20,162"; one end alone if the
    other is unknown, "—" if both are."""
    lo, hi = fmt_number(low, lang, kind, compact), fmt_number(high, lang, kind, compact)
    if lo == MISSING or hi == MISSING or lo == hi:
        return hi if lo == MISSING else lo
    return t("num.range", lang, low=lo, high=hi)


# --- dates and times --------------------------------------------------------------------------

def _as_date(d) -> date | None:
    if _missing(d):
        return None
    if isinstance(d, str):
        d = pd.Timestamp(d)
    if isinstance(d, datetime):  # also pd.Timestamp
        return d.date()
    return d


def fmt_date(d, lang: str) -> str:
    """22 Dec 2024 / 2024年12月22日 (the day without a leading zero in both; DATE_FORMATS)."""
    d = _as_date(d)
    if d is None:
        return MISSING
    lang = normalise_lang(lang)
    return format_date(d, DATE_FORMATS[lang], locale=_locale(lang))


def _zone(tz) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _local(ts, tz) -> datetime | None:
    """``ts`` in timezone ``tz``; a naive ``ts`` is taken as UTC, as the store keeps it."""
    if _missing(ts):
        return None
    ts = pd.Timestamp(ts)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert(_zone(tz)).to_pydatetime()


def fmt_time(ts, lang: str, tz) -> str:
    """14:05 (24-hour clock in both languages) in the timezone ``tz``."""
    local = _local(ts, tz)
    return MISSING if local is None else format_time(local, TIME_FORMAT, locale=_locale(lang))


@cache
def _datetime_format(lang: str) -> str:
    # The date and the time joined as CLDR joins them: "{1}, {0}" in English, "{1} {0}" in Chinese.
    loc = _locale(lang)
    day = DATE_FORMATS[lang]
    day = get_date_format(day, locale=loc).pattern if day in ("short", "medium", "long", "full") else day
    return loc.datetime_formats["medium"].replace("{1}", day).replace("{0}", TIME_FORMAT)


def fmt_datetime(ts, lang: str, tz) -> str:
    """22 Dec 2024, 14:05 / 2024年12月22日 14:05 in the timezone ``tz`` (the campaign's: a
    required argument, so that a forgotten one does not silently show UTC)."""
    local = _local(ts, tz)
    if local is None:
        return MISSING
    lang = normalise_lang(lang)
    return format_datetime(local, _datetime_format(lang), tzinfo=local.tzinfo, locale=_locale(lang))


def _now_utc(now) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    now = pd.Timestamp(now)
    return (now.tz_localize("UTC") if now.tzinfo is None else now).to_pydatetime()


def fmt_ago(ts, lang: str, now=None) -> str:
    """How long ago ``ts`` was, in whole units: "just now" under a minute (and for a time in the
    future, a clock skew), then minutes, hours under a day, then days: "2 h ago" / "2小时前"."""
    if _missing(ts):
        return MISSING
    then = pd.Timestamp(ts)
    then = then.tz_localize("UTC") if then.tzinfo is None else then
    seconds = (_now_utc(now) - then.to_pydatetime()).total_seconds()
    if seconds < 60:
        return t("ago.just_now", lang)  # CLDR has no words for it
    # Minutes and hours in the dashboard's short words, which fit the freshness line: CLDR's
    # English says "5 min. ago" or "5 minutes ago".
    if seconds < 3600:
        return t("ago.minutes", lang, n=int(seconds // 60))
    if seconds < 86400:
        return t("ago.hours", lang, n=int(seconds // 3600))
    # Days however many (CLDR's "1 day ago", "3天前"): the whole unit, never rounded up to a week or
    # a month (an infinite threshold keeps the granularity's unit).
    return format_timedelta(-timedelta(days=int(seconds // 86400)), granularity="day", threshold=math.inf,
                            add_direction=True, format="long", locale=_locale(lang))


def freshness(ts, lang: str, tz, now=None) -> str:
    """When the data was last updated, as in "as of 14:05, 2 h ago": the time alone when ``ts``
    is today in ``tz``, else date and time."""
    if _missing(ts):
        return t("freshness.never", lang)
    local = _local(ts, tz)
    today = _now_utc(now).astimezone(_zone(tz)).date()
    when = fmt_time(ts, lang, tz) if local.date() == today else fmt_datetime(ts, lang, tz)
    return t("freshness", lang, time=when, ago=fmt_ago(ts, lang, now))


# --- weeks ------------------------------------------------------------------------------------

def partial_label(days_covered: int, lang: str) -> str:
    """The note on a week with fewer than 7 days: partial (3/7 days) / 不完整（3/7天）."""
    return t("week.partial", lang, days=int(days_covered))


def week_label(week: str, days_covered: int | None, lang: str) -> str:
    """An ISO week ("2025-W01") as "2025-W01" / "2025年第1周" (the ISO year, like the label),
    followed by the partial label when fewer than 7 days are covered."""
    from .weeks import week_start  # the one reading of an ISO week label

    year, num, _ = week_start(week).isocalendar()  # ValueError for a label, or a week, that is not one
    label = t("week.label", lang, year=year, week=num)
    if days_covered is None or _missing(days_covered) or int(days_covered) >= 7:
        return label
    return t("week.with_partial", lang, week=label, partial=partial_label(days_covered, lang))


__all__ = [
    "LANGS", "DEFAULT_LANG", "MISSING", "STRINGS", "PLATFORM_NAMES", "PLATFORM_BRAND_NAMES_ZH", "CATEGORY_NAMES",
    "METRIC_NAMES", "METRIC_HELP", "NUMBER_KINDS", "normalise_lang", "t", "platform_name", "platform_from_label",
    "category_name", "metric_name", "metric_help", "column_name", "template", "fmt_number", "fmt_range", "fmt_date",
    "fmt_time", "fmt_datetime", "fmt_ago", "freshness", "partial_label", "week_label",
]

"""Every report, in every language its catalog has (at least four per report), with its numbers and
dates written the locale's way, imports to exactly the rows the English export gives.

The fixtures are the demo's English exports (tests/localize.py) with their headers taken from the
catalog and every count, decimal and date re-written with Babel in the language's locale
("1.234", "1 234", "7807,6", "22 thg 12, 2024", "2024年12月22日", "22‏/12‏/2024"...). A report
whose catalog has fewer than four languages is also tried with English headers and a foreign
locale's values, which is what TikTok writes in every market and YouTube users with a regional
format get.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import pandas as pd
import pytest
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_decimal

from collectors import catalog
from collectors.detect import detect, kind_of
from collectors.read import Table
from collectors.registry import Report

from localize import english_tables, field_of, languages, parse, rows_equal, translate

LOCALES = {"en": "en_US", "zh-Hans": "zh_Hans_CN", "zh-Hant": "zh_Hant_TW", "ja": "ja_JP", "ko": "ko_KR",
           "vi": "vi_VN", "th": "th_TH", "id": "id_ID", "ms": "ms_MY", "es": "es_ES", "pt-BR": "pt_BR",
           "fr": "fr_FR", "de": "de_DE", "it": "it_IT", "ru": "ru_RU", "tr": "tr_TR", "ar": "ar_EG",
           "pl": "pl_PL", "sv": "sv_SE"}
# Foreign number and date formats under English headers, for reports with few catalog languages.
TOP_UP = ["de", "fr", "vi", "pt-BR"]

_MONTH_DAY = re.compile(r"^[A-Z][a-z]+ \d{1,2}$")


def _number(text: str, kind: str, locale: str) -> str:
    try:
        v = float(text.replace(",", ""))
    except ValueError:
        return text  # "-", "", "Total": as written
    if kind == "count" and v == int(v):
        return format_decimal(int(v), locale=locale)
    return format_decimal(v, locale=locale, decimal_quantization=False)


def _when(text: str, kind: str, locale: str) -> str:
    if _MONTH_DAY.match(text):  # TikTok's year-less days: "September 25"
        d = datetime.strptime(f"2000 {text}", "%Y %B %d")
        return format_skeleton("MMMMd", d, locale=locale)
    try:
        t = pd.Timestamp(text)
    except (ValueError, TypeError):
        return text
    if pd.isna(t):
        return text
    t = t.tz_localize(None) if t.tzinfo else t
    has_time = bool(re.search(r"\d:\d\d", text))
    if t.tzinfo is None and re.search(r"[+-]\d{4}$|Z$", text):
        return text  # a stated offset: keep it exact
    if has_time:
        return format_datetime(t.to_pydatetime(), "medium", locale=locale)
    return format_date(t.date(), "medium", locale=locale)


def localize_values(table: Table, report: Report, lang: str) -> Table:
    locale = LOCALES[lang]
    cells = table.cells.copy()
    for i, h in enumerate(table.header):
        f = field_of(report, h)
        if f is None:
            continue
        kind = kind_of(report, f)
        col = cells[i].astype(str)
        if kind in ("count", "number"):
            cells[i] = [_number(v.strip(), kind, locale) for v in col]
        elif kind in ("date", "datetime"):
            cells[i] = [_when(v.strip(), kind, locale) for v in col]
    return dataclasses.replace(table, cells=cells)


def _cases():
    out = []
    for name, t in english_tables():
        r = detect(t).report
        langs = [lang for lang in languages(r.name) if lang in LOCALES]
        pairs = [(lang, lang) for lang in langs]
        for lang in TOP_UP:
            if len(pairs) >= 4:
                break
            pairs.append(("en", lang))
        for headers, values in pairs:
            out.append(pytest.param(name, t, headers, values,
                                    id=f"{r.name}:{t.source.rsplit('!', 1)[-1][:18]}:{headers}/{values}"))
    return out


@pytest.mark.parametrize("name,table,headers,values", _cases())
def test_a_localized_export_imports_like_the_english_one(name, table, headers, values):
    english = parse(name, table)
    r = english.report
    local, known = translate(table, r, None if headers == "en" else headers) if headers != "en" else (table, 0)
    local = localize_values(local, r, values)
    m = detect(local)
    assert m.report.name == r.name
    names = catalog.entry(r.catalog).aliases.get(headers, {}) if r.catalog else {}
    if headers != "en" and all(names.get(f) for f in r.required):
        # The catalog names every required column in this language: known by its headers.
        assert m.method == "header" and m.language == headers, (m.method, m.language)
    got = parse(name, local)
    assert not [p for p in got.problems if p not in english.problems], got.problems[:3]
    rows_equal(got.rows, english.rows)

"""Numbers and dates as export files write them, in the UI language of whoever clicked Export.

Platforms format values for people: "1.234.567" and "1 234,5" (de, ru, fr), "١٢٫٥" (ar), "1,2 rb"
(id), "3,4 Tr" (vi), "1.2만" (ko), "1,2 B" (tr: *bin*, a thousand), "20/6/2022" (day first),
"28 апреля", "20 มิ.ย. 2565" (a Buddhist-era year), "下午 3:15". This module reads them.

Two decisions cannot be made one value at a time, so they are made per COLUMN, from all of its
values (``read_numbers``, ``read_dates``):

* the decimal mark: "1,234" is 1234 where the comma groups thousands and 1.234 where it is the
  decimal mark. Values that only one convention can read ("1,5", "1.234.567", "1,234.5") decide
  the column; a column of whole numbers cannot hold 1.234, so there the grouping reading wins;
  otherwise the headers' language decides; otherwise the value is refused, naming both readings.
* day-first or month-first: "05/06/2024". A value with a day above 12 decides the column; then a
  daily series that is consecutive days in one order only; then the user's ``--date-order``;
  then "d.m.y" (no month-first locale writes dots); then the report's own English format when the
  headers are English; otherwise the file is refused with a message naming ``--date-order``.

Month, weekday, AM/PM and compact-unit names come from the Unicode CLDR (through Babel) for the
languages the issue tracker lists, plus a few words platforms write that CLDR does not ("1.2w"
for 万, "mi" for Portuguese millions). Everything is built once, on first use.

The predicates ``is_number``, ``is_count``, ``is_percent``, ``is_date``, ``is_datetime`` and
``is_duration`` answer for one cell, without a column, for structural detection.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, localcontext, InvalidOperation
from functools import lru_cache
from typing import Iterable, NamedTuple, Sequence

from .errors import StructureError
from .messages import Message

# The UI languages we read (Babel's names), and a few more whose month names older TikTok
# exports were seen in (Swedish, Dutch). Numbers use the first list only.
LOCALES = ("en", "zh_Hans", "zh_Hant", "ja", "ko", "vi", "th", "id", "ms", "es", "pt_BR", "fr", "de",
           "it", "ru", "tr", "ar", "pl")
DATE_ONLY_LOCALES = ("sv", "nl", "pt_PT", "es_MX", "ar_SY", "ar_MA", "zh_Hant_HK")

# Digits other than ASCII that exports use: Arabic-Indic, Extended Arabic-Indic (Persian, Urdu),
# Thai. Full-width digits are folded by NFKC. The Arabic decimal separator ٫ stays (it is
# unambiguous); the Arabic thousands separator ٬ becomes an apostrophe (a grouping-only mark).
_FOLD = str.maketrans({
    **{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)},
    **{chr(0x0E50 + i): str(i) for i in range(10)},
    "\u066c": "'", "\u066a": "%", "\u2212": "-", "\u2013": "-", "\u2019": "'", "\u02bc": "'",
    # bidirectional marks that Arabic UIs put around numbers
    "\u200e": None, "\u200f": None, "\u061c": None, "\u202a": None, "\u202b": None, "\u202c": None,
    "\u202d": None, "\u202e": None, "\u2066": None, "\u2067": None, "\u2068": None, "\u2069": None,
    "\ufeff": None, "\u200b": None,
})


def fold(s: str) -> str:
    """NFKC (full-width digits and signs, every kind of space to " "), foreign digits to ASCII."""
    return unicodedata.normalize("NFKC", s).translate(_FOLD).strip()


# --- numbers ----------------------------------------------------------------------------------

_NUM = re.compile(r"""^
    (?P<sign>[-+])?\s*(?P<open>\()?\s*(?P<pct1>%)?\s*(?P<sign2>[-+])?\s*
    (?P<body>(?:\d[\d.,'\u066b ]*\d|\d|[.,\u066b]\d+))
    (?P<unit>\s*[^\W\d_][^\d%()]*?)?\s*
    (?P<pct2>%)?\s*(?P<close>\))?$""", re.X)
_TOO_BIG = 1e12  # no count a platform reports reaches a trillion: those units are left out


@lru_cache(maxsize=1)
def _units() -> dict[str, dict[str, int]]:
    """Compact unit (case-folded, no final dot) -> {locale: factor}, from CLDR's short and long
    compact decimal formats ("0K", "0 rb", "0万", "0 тыс."), plus what platforms write besides."""
    from babel import Locale

    out: dict[str, dict[str, int]] = {}

    def add(unit: str, loc: str, factor: int) -> None:
        u = _unit_key(unit)
        if u and factor < _TOO_BIG:
            out.setdefault(u, {}).setdefault(loc, factor)

    for loc in LOCALES:
        formats = Locale.parse(loc).compact_decimal_formats
        for length in ("short", "long"):
            for forms in formats.get(length, {}).values():  # plural form -> magnitude -> pattern
                for magnitude, pattern in forms.items():
                    pat = getattr(pattern, "pattern", str(pattern))
                    zeros = pat.count("0")
                    unit = pat.replace("0", "").replace("'", "").replace("¤", "")
                    if zeros and unit.strip():
                        add(unit, loc, int(magnitude) // 10 ** (zeros - 1))
    for unit, loc, factor in (
        ("k", "en", 10**3), ("m", "en", 10**6), ("b", "en", 10**9), ("bn", "en", 10**9),
        ("mm", "es", 10**6),  # Spanish "millones" in some UIs
        ("千", "zh_Hans", 10**3), ("w", "zh_Hans", 10**4), ("千", "ja", 10**3), ("千", "zh_Hant", 10**3),
        ("萬", "zh_Hans", 10**4), ("億", "zh_Hans", 10**8), ("万", "zh_Hant", 10**4), ("亿", "zh_Hant", 10**8),
        ("mi", "pt_BR", 10**6), ("mil", "pt_BR", 10**3), ("mil", "es", 10**3),
        ("tsd", "de", 10**3), ("tausend", "de", 10**3), ("mio", "de", 10**6), ("mrd", "de", 10**9),
        ("тыс", "ru", 10**3), ("млн", "ru", 10**6), ("млрд", "ru", 10**9),
        ("tys", "pl", 10**3), ("mln", "pl", 10**6), ("mld", "pl", 10**9),
        ("n", "vi", 10**3), ("tr", "vi", 10**6), ("k", "vi", 10**3),
        ("rb", "id", 10**3), ("jt", "id", 10**6), ("k", "fr", 10**3), ("k", "it", 10**3),
        ("พัน", "th", 10**3), ("หมื่น", "th", 10**4), ("แสน", "th", 10**5), ("ล้าน", "th", 10**6),
        ("b", "tr", 10**3), ("bin", "tr", 10**3), ("mn", "tr", 10**6), ("mr", "tr", 10**9),
        ("ألف", "ar", 10**3), ("آلاف", "ar", 10**3), ("مليون", "ar", 10**6),
    ):
        add(unit, loc, factor)
    return out


def _unit_key(unit: str) -> str:
    return " ".join(unit.casefold().replace(".", " ").split())


@lru_cache(maxsize=1)
def _decimal_marks() -> dict[str, str]:
    """Locale -> its decimal mark, "." or ","."""
    from babel import Locale

    return {loc: Locale.parse(loc).number_symbols["latn"]["decimal"] for loc in LOCALES}


def language_locale(language: str | None) -> str | None:
    """A catalog language tag ("pt-BR", "zh-Hans", "vi") as one of LOCALES, or None."""
    if not language:
        return None
    tag = language.replace("-", "_")
    if tag in LOCALES:
        return tag
    base = tag.split("_")[0].lower()
    if base == "zh":
        return "zh_Hant" if "hant" in tag.lower() or tag.upper().endswith(("_TW", "_HK", "_MO")) else "zh_Hans"
    if base == "pt":
        return "pt_BR"
    return base if base in LOCALES else None


def language_decimal(language: str | None) -> str | None:
    loc = language_locale(language)
    return _decimal_marks().get(loc) if loc else None


class _Num(NamedTuple):
    """One value's number, before the column decides what only the column can."""

    sign: int
    fixed: str | None        # the digits as a Python decimal literal, when only one reading exists
    dot: str | None          # the reading with "." as decimal mark (ambiguous values)
    comma: str | None        # the reading with "," as decimal mark (ambiguous values)
    evidence: str | None     # "dot" | "comma": the convention this value proves, if any
    unit: str                # compact unit key, "" for none
    percent: bool


def _groups_ok(int_part: str, marks: str) -> bool:
    """Groups of three digits after a first group of one to three (or Indian lakh grouping)."""
    parts = re.split("[" + re.escape(marks) + "]", int_part)
    if len(parts) == 1:
        return True
    if not parts[0] or any(not p.isdigit() for p in parts):
        return False
    if len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:]):
        return True
    # 12,34,567 (Indian grouping) — only with commas, and only as "x,xx,...,xxx"
    return (marks == ",'" or marks == ",") and len(parts[-1]) == 3 and len(parts[0]) <= 2 \
        and all(len(p) == 2 for p in parts[1:-1])


def _body(body: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(fixed, dot reading, comma reading, evidence) for the digits and marks of one number."""
    b = body.replace(" ", "'")  # a space only ever groups
    if "\u066b" in b:  # the Arabic decimal separator: nothing else can be the decimal mark
        int_part, _, frac = b.partition("\u066b")
        if "\u066b" in frac or not frac.isdigit() or not _groups_ok(int_part or "0", "',."):
            return None, None, None, None
        return (int_part.replace("'", "").replace(",", "").replace(".", "") or "0") + "." + frac, None, None, None
    has_dot, has_comma = "." in b, "," in b
    if has_dot and has_comma:
        dec = "." if b.rfind(".") > b.rfind(",") else ","
        grp = "," if dec == "." else "."
        int_part, _, frac = b.rpartition(dec)
        if dec in int_part or not frac.isdigit() or not _groups_ok(int_part, grp + "'"):
            return None, None, None, None
        return _clean(int_part) + "." + frac, None, None, ("dot" if dec == "." else "comma")
    if has_dot or has_comma:
        m = "." if has_dot else ","
        if b.count(m) > 1:  # only grouping repeats
            if not _groups_ok(b, m + "'") or b.endswith(m):
                return None, None, None, None
            return _clean(b), None, None, ("comma" if m == "." else "dot")
        int_part, _, frac = b.partition(m)
        if not frac.isdigit():
            return None, None, None, None
        if "'" in int_part:  # "1 234,5": the space groups, so the mark is the decimal mark
            if not _groups_ok(int_part, "'"):
                return None, None, None, None
            return _clean(int_part) + "." + frac, None, None, ("dot" if m == "." else "comma")
        if not int_part:
            int_part = "0"
        if len(frac) != 3 or len(int_part) > 3 or int_part.startswith("0"):
            return int_part + "." + frac, None, None, ("dot" if m == "." else "comma")
        grouped, decimal = int_part + frac, int_part + "." + frac
        return None, (decimal if m == "." else grouped), (grouped if m == "." else decimal), None
    if not _groups_ok(b, "'"):
        return None, None, None, None
    return _clean(b), None, None, None


def _clean(s: str) -> str:
    return s.replace("'", "").replace(",", "").replace(".", "") or "0"


_EN_GROUPED = re.compile(r"([-+]?)(\d{1,3}(?:,\d{3})+)(?:\.(\d+))?")
_DE_GROUPED = re.compile(r"([-+]?)(\d{1,3}(?:\.\d{3})+)(?:,(\d+))?")


def _number(s: str) -> _Num | None:
    # The common shapes first, without the general machinery: a large English or German file
    # with grouped numbers ("1,234,567", "1.234.567,5") is a million of these.
    if s.isascii():
        for rx, mark in ((_EN_GROUPED, ","), (_DE_GROUPED, ".")):
            m = rx.fullmatch(s)
            if m and m[2][0] != "0":
                sign = -1 if m[1] == "-" else 1
                digits = m[2].replace(mark, "")
                proves = "dot" if mark == "," else "comma"
                if m[3] is not None:
                    return _Num(sign, digits + "." + m[3], None, None, proves, "", False)
                if m[2].count(mark) > 1:
                    return _Num(sign, digits, None, None, proves, "", False)
                decimal = m[2].replace(mark, ".")
                dot, comma = (digits, decimal) if mark == "," else (decimal, digits)
                return _Num(sign, None, dot, comma, None, "", False)
    return _number_any(s)


@lru_cache(maxsize=65536)
def _number_any(s: str) -> _Num | None:
    t = fold(s)
    m = _NUM.match(t)
    if not m:
        return None
    if bool(m["open"]) != bool(m["close"]) or (m["sign"] and m["sign2"]) or (m["pct1"] and m["pct2"]):
        return None
    unit = _unit_key(m["unit"] or "")
    if unit and unit not in _units():
        return None
    fixed, dot, comma, evidence = _body(m["body"])
    if fixed is None and dot is None:
        return None
    negative = (m["sign"] or m["sign2"]) == "-" or bool(m["open"])
    return _Num(-1 if negative else 1, fixed, dot, comma, evidence, unit, bool(m["pct1"] or m["pct2"]))


def _scaled(digits: str, sign: int, factor: int) -> float:
    if factor == 1:
        return float(digits) * sign
    # "0.07万" is 700, but 0.07 * 1e4 is 700.0000000000001 in binary floating point: scale the
    # digits as written, in decimal, so whole counts stay whole.
    try:
        return float(Decimal(digits) * factor * sign)
    except InvalidOperation:
        return float("nan")


def _unit_factors(units: set[str], convention: str | None, language: str | None) -> dict[str, int]:
    """Each compact unit's factor for this column. A unit two locales read differently ("B": a
    billion in English, *bin* = a thousand in Turkish; "M": a million, or *miliar* in Indonesian)
    is read in the headers' language, else in a locale that has every unit of the column and the
    column's decimal mark, else as most of those locales read it."""
    table, marks = _units(), _decimal_marks()
    loc = language_locale(language)
    out: dict[str, int] = {}
    for u in units:
        readings = table[u]
        if len(set(readings.values())) == 1:
            out[u] = next(iter(readings.values()))
            continue
        if loc in readings:
            out[u] = readings[loc]
            continue
        cands = [lc for lc in readings if all(lc in table[v] for v in units)] or list(readings)
        if convention:
            mark = "." if convention == "dot" else ","
            cands = [lc for lc in cands if marks.get(lc) == mark] or cands
        votes = Counter(readings[lc] for lc in cands)
        best = max(votes.values())
        out[u] = next(readings[lc] for lc in LOCALES if lc in cands and votes[readings[lc]] == best)
    return out


def read_numbers(texts: Sequence[str], *, integer: bool = False, language: str | None = None,
                 decimal: str | None = None) -> tuple[list[float], list[str | None]]:
    """Each text's number (NaN when refused) and why it was refused (None when read; "" when it is
    simply not a number, for the caller's own wording). The decimal mark and the compact units
    are decided for the column as a whole (see the module docstring); ``decimal`` is the mark a
    report's exports always write, when its catalog says so, and outranks ``language``."""
    if len(texts) >= 5000:
        done = _read_grouped_column(texts)
        if done is not None:
            return done
    parsed = [_number(t) for t in texts]
    votes = Counter(p.evidence for p in parsed if p is not None and p.evidence)
    convention = None
    if votes:
        (top, n_top), *rest = votes.most_common()
        convention = top if not rest or rest[0][1] < n_top else None
    if convention is None and not votes and any(p is not None and p.fixed is None for p in parsed):
        if integer:
            convention = "int"  # a count cannot be 1.234: the mark groups
        elif decimal in (".", ","):  # the report's own word: its exports write one mark
            convention = "dot" if decimal == "." else "comma"
        elif (mark := language_decimal(language)) is not None:
            convention = "dot" if mark == "." else "comma"
    units = {p.unit for p in parsed if p is not None and p.unit}
    factors = _unit_factors(units, convention if convention in ("dot", "comma") else None, language) if units else {}
    values: list[float] = []
    reasons: list[str | None] = []
    for t, p in zip(texts, parsed):
        if p is None:
            values.append(float("nan")), reasons.append("")
            continue
        if p.evidence and convention in ("dot", "comma") and p.evidence != convention:
            n = votes[convention]
            values.append(float("nan"))
            reasons.append(Message("expected.number_like_others" if n > 1 else "expected.number_like_other", n=n,
                                   mark=Message("mark.a_point" if convention == "dot" else "mark.a_comma")))
            continue
        digits = p.fixed
        if digits is None:  # "1,234" / "1.234": the column's convention says which reading
            grouped, as_decimal = (p.dot, p.comma) if "." not in p.dot else (p.comma, p.dot)
            if convention in ("dot", "comma"):
                digits = p.dot if convention == "dot" else p.comma
            elif convention == "int":
                digits = grouped
            else:
                mark = Message("mark.comma" if "," in fold(t) else "mark.point")
                why = Message("why.both_conventions" if votes else "why.nothing_decides")
                values.append(float("nan"))
                reasons.append(Message("expected.clear_decimal_mark", text=t, grouped=int(grouped),
                                       decimal=as_decimal, mark=mark, why=why))
                continue
        values.append(_scaled(digits, p.sign, factors.get(p.unit, 1)))
        reasons.append(None)
    return values, reasons


_SHAPES = {
    # mark that groups -> (every value has this shape, values that prove the convention)
    ",": (r"[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?|[-+]?\d*\.\d+|[-+]?\d+",
          r"[-+]?[1-9]\d{0,2}(?:,\d{3}){2,}(?:\.\d+)?|[-+]?[1-9]\d{0,2}(?:,\d{3})+\.\d+"
          r"|[-+]?(?:\d*\.\d{1,2}|\d*\.\d{4,}|\d{4,}\.\d+|0\.\d+|\.\d+)"),
    ".": (r"[-+]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?|[-+]?\d*,\d+|[-+]?\d+",
          r"[-+]?[1-9]\d{0,2}(?:\.\d{3}){2,}(?:,\d+)?|[-+]?[1-9]\d{0,2}(?:\.\d{3})+,\d+"
          r"|[-+]?(?:\d*,\d{1,2}|\d*,\d{4,}|\d{4,},\d+|0,\d+|,\d+)"),
}


def _read_grouped_column(texts: Sequence[str]) -> tuple[list[float], list[str | None]] | None:
    """A large column of grouped numbers in one convention, read with vectorised pandas string
    operations (the same answers as value by value: every value has the convention's shape and
    one value proves it). None when the column is anything else."""
    import pandas as pd

    col = pd.Series(list(texts), dtype=object)
    for grp, (shape, proof) in _SHAPES.items():
        if not col.str.fullmatch(shape).fillna(False).all() or not col.str.fullmatch(proof).fillna(False).any():
            continue
        plain = col.str.replace(grp, "", regex=False)
        if grp == ".":
            plain = plain.str.replace(",", ".", regex=False)
        nums = pd.to_numeric(plain, errors="coerce")
        if nums.isna().any():
            return None
        return nums.astype("float64").tolist(), [None] * len(col)
    return None


def parse_number(text: str, *, integer: bool = False, language: str | None = None) -> float | None:
    """One number on its own (a column of one value)."""
    values, reasons = read_numbers([text], integer=integer, language=language)
    return None if reasons[0] is not None else values[0]


# --- predicates for structural detection ------------------------------------------------------

def is_number(s: str) -> bool:
    """A number in any supported writing (grouping, decimal mark, compact unit, percent sign)."""
    return _number(s) is not None


def is_count(s: str) -> bool:
    """A whole number in some reading ("1,234" and "1.234" are whole when the mark groups)."""
    p = _number(s)
    if p is None or p.percent:
        return False
    factor = max(_units()[p.unit].values()) if p.unit else 1
    for digits in (p.fixed, p.dot, p.comma):
        if digits is None:
            continue
        # Exact whatever the length: in the default context (28 digits) ``% 1`` raised
        # DivisionImpossible on a 34-digit cell of a mangled export, and a product would round.
        with localcontext() as ctx:
            ctx.prec = len(digits) + 30
            v = Decimal(digits) * factor
            if v == v.to_integral_value():
                return True
    return False


def is_percent(s: str) -> bool:
    p = _number(s)
    return p is not None and p.percent


_DURATION = re.compile(r"^-?(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d+)?$|^(?:\d+\s*h)?\s*(?:\d+\s*m(?:in)?)?\s*(?:\d+(?:[.,]\d+)?\s*s)?$")


def is_duration(s: str) -> bool:
    """h:mm:ss, m:ss (with optional fractions), or "1h 2m 3s"."""
    t = fold(s).casefold()
    return bool(t) and any(c.isdigit() for c in t) and bool(_DURATION.match(t))


def is_date(s: str) -> bool:
    """A calendar day in any supported writing, with or without a year, without a clock."""
    p = _parts(s)
    return p is not None and p.clock is None


def is_datetime(s: str) -> bool:
    """A day with a time of day."""
    p = _parts(s)
    return p is not None and p.clock is not None


# --- dates ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Parts:
    """One date cell, as far as it can be read alone.

    ``ambiguous`` numeric dates ("05/06/2024") keep their two leading numbers in ``a``/``b`` and
    wait for the column to say which is the day; otherwise ``b`` is the month and ``a`` the day."""

    year: int | None
    a: int
    b: int
    ambiguous: bool
    sep: str = ""
    raw_year: str = ""
    clock: tuple[int, int, int, int] | None = None  # hour, minute, second, microsecond
    offset: int | None = None  # minutes east of UTC, when the cell states it


def _lit(name: str) -> str:
    """A regex for a name as written: dots optional (Thai "มิ.ย.", "jun."), spaces flexible."""
    n = fold(name).casefold().rstrip(".").strip()
    out = []
    for ch in n:
        if ch == ".":
            out.append(r"\.?\s*")
        elif ch.isspace():
            out.append(r"\s*")
        else:
            out.append(re.escape(ch))
    return "".join(out) + r"\.?"


def _key(name: str) -> str:
    return re.sub(r"[.\s]", "", fold(name).casefold())


_LETTER = r"[^\W\d_]"


@lru_cache(maxsize=1)
def _names() -> dict:
    from babel import Locale

    months: dict[str, int] = {}  # key (no dots, no spaces) -> month
    month_forms: set[str] = set()  # as written, for the regex
    weekdays: set[str] = set()
    # Chinese clocks also use CLDR's flexible day periods ("午夜12:00", "凌晨2:00", "中午12:30",
    # "晚上11:59"): on a 12-hour clock each is before or after noon.
    am: set[str] = {"am", "a.m.", "午前", "上午", "오전", "sa", "ص", "öö", "pg", "vorm", "ก่อนเที่ยง",
                    "午夜", "凌晨", "清晨", "早上"}
    pm: set[str] = {"pm", "p.m.", "午後", "下午", "오후", "ch", "م", "ös", "ptg", "nachm", "หลังเที่ยง",
                    "中午", "晚上", "傍晚"}
    for loc in LOCALES + DATE_ONLY_LOCALES:
        try:
            L = Locale.parse(loc)
        except Exception:  # a locale this Babel does not have
            continue
        for ctx in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for i, name in L.months[ctx][width].items():
                    if not any(c.isdigit() for c in name):  # "6月", "thg 6": patterns below
                        months.setdefault(_key(name), i)
                        month_forms.add(fold(name).casefold())
                for name in L.days[ctx][width].values():
                    weekdays.add(fold(name).casefold())
            for name in L.days[ctx].get("short", {}).values():
                weekdays.add(fold(name).casefold())
        for ctx in ("format", "stand-alone"):
            for width in ("abbreviated", "wide"):
                periods = L.day_periods.get(ctx, {}).get(width, {})
                if "am" in periods and len(periods["am"]) > 1 or not periods.get("am", "x").isascii():
                    am.add(periods["am"].casefold()) if "am" in periods else None
                if "pm" in periods and len(periods["pm"]) > 1 or not periods.get("pm", "x").isascii():
                    pm.add(periods["pm"].casefold()) if "pm" in periods else None
    months["sept"] = 9
    month_forms.add("sept")
    am, pm = am - pm, pm - am
    # CJK weekdays ("星期日", "周日", "日曜日", "일요일") are whole words; a lone "日"/"일" is not
    # a weekday outside brackets (it is the day suffix), so those are matched in brackets only.
    weekdays = {w for w in weekdays if len(w) > 1 or not w.isascii()}
    lone = {w for w in weekdays if len(w) == 1}
    weekdays -= lone
    for prefix in ("星期", "周", "週", "礼拜", "禮拜"):
        for d in "一二三四五六日天":
            weekdays.add(prefix + d)
    both = {w for w in weekdays if _key(w) in months}  # "mar" (martes / marzo), "sab"?
    alt = lambda names: "|".join(_lit(n) for n in sorted(names, key=len, reverse=True))  # noqa: E731
    return {
        "months": months,
        "month_rx": re.compile(rf"(?<!{_LETTER})(?:{alt(month_forms)})(?!{_LETTER})"),
        "weekday_rx": re.compile(rf"(?<!{_LETTER})(?:{alt(weekdays - both)})(?!{_LETTER})"),
        "lead_weekday_rx": re.compile(rf"^(?:{alt(weekdays)})\s*[,.،]?\s+(?=\S)"),
        "bracket_weekday_rx": re.compile(rf"[(（]\s*(?:{alt(weekdays | lone)})\s*[)）]"),
        # a marker right after the clock, or right before it
        "periods": [(which, re.compile(rf"\s*(?:{alt(words)})(?!{_LETTER})"),
                     re.compile(rf"(?<!{_LETTER})(?:{alt(words)})\s*$")) for which, words in (("am", am), ("pm", pm))],
    }


_NOISE = re.compile(r"(?<![^\W\d_])(?:de|del|di|d|le|el|la|the|of|г|года|год|r|roku|ngày|năm|tháng|at|um|à|às|a\s+las|"
                    r"alle|lúc|pukul|jam|saat|o|в|kl|le|น)(?![^\W\d_])\.?"
                    r"|ค\.\s*ศ\.|พ\.\s*ศ\.|ที่")
_CJK = re.compile(r"(?:(?P<y>\d{2,4})\s*[年년]\s*)?(?P<m>\d{1,2})\s*[月월]\s*(?P<d>\d{1,2})\s*[日일号號]?")
_VI = re.compile(r"(?:ngày\s*)?(?P<d>\d{1,2})\s*(?:tháng|thg|th)\s*(?P<m>\d{1,2})(?:\s*(?:,|năm)?\s*(?:năm\s*)?(?P<y>\d{4}))?")
_NUMERIC = re.compile(r"^(?P<a>\d{1,4})\s*(?P<s>[./-])\s*(?P<b>\d{1,2})\s*(?:(?P=s)\s*(?P<c>\d{1,4}))?\s*\.?$")
_KO_SHORT = re.compile(r"^(?P<y>\d{2})\.\s+(?P<m>\d{1,2})\.\s+(?P<d>\d{1,2})\.$")
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_CLOCK = re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?(?![\d:])"
                    # "3시 15분 7초", "15 นาฬิกา 15 นาที 07 วินาที", "15時15分"
                    r"|(?<!\d)(?P<h2>\d{1,2})\s*(?:시|時|时|นาฬิกา)\s*(?P<mi2>\d{1,2})\s*(?:분|分|นาที)"
                    r"(?:\s*(?P<s2>\d{1,2})\s*(?:초|秒|วินาที))?"
                    # Indonesian "15.15" / "15.15.07", only after a date and a space
                    r"|(?<=\d\s)(?P<h3>\d{1,2})\.(?P<mi3>\d{2})(?:\.(?P<s3>\d{2}))?(?=\s*(?:utc|gmt|wib|wita|wit)?\s*$)")
_ZONE_WORDS = re.compile(r"\[?\b(?:utc|gmt)\b\]?|التوقيت العالمي")
_OFFSET = re.compile(r"\s*(?:(?P<z>z)|(?:utc|gmt)?\s*(?P<sign>[-+])(?P<oh>\d{1,2})(?::?(?P<om>\d{2}))?|(?:utc|gmt))$")


def _year(text: str) -> int:
    y = int(text)
    if len(text) <= 2:
        return 2000 + y if y < 70 else 1900 + y
    if y >= 2400:  # the Thai Buddhist era: 2565 BE is 2022 CE
        return y - 543
    return y


def _take_clock(t: str) -> tuple[str, tuple[int, int, int, int] | None, int | None] | None:
    """The text without its time of day, the time, and the stated UTC offset. None when a time
    is there but impossible."""
    names = _names()
    t = re.sub(r"(?<=\d)t(?=\d{1,2}:)", " ", t)  # ISO 8601 "2024-06-20T14:30"
    zone = None
    if _ZONE_WORDS.search(t) and not re.search(r"(?:utc|gmt)\s*[-+]\d", t):
        t, zone = " ".join(_ZONE_WORDS.sub(" ", t).split()), 0  # "UTC", "[UTC]": the offset is 0
    m = _CLOCK.search(t)
    if not m:
        return t, None, None
    h, mi = int(m["h"] or m["h2"] or m["h3"]), int(m["mi"] or m["mi2"] or m["mi3"])
    sec = int(m["s"] or m["s2"] or m["s3"] or 0)
    us = int((m["f"] or "0").ljust(6, "0")[:6])
    before, after = t[: m.start()], t[m.end():]
    offset = zone
    after = re.sub(r"^\s*น\.?", "", after)  # Thai "15:15 น." (o'clock)
    om = _OFFSET.search(after)
    if om and om.group(0).strip():
        if om["sign"]:
            offset = (int(om["oh"]) * 60 + int(om["om"] or 0)) * (1 if om["sign"] == "+" else -1)
        else:
            offset = 0
        after = after[: om.start()]
    period = None
    for which, after_rx, before_rx in names["periods"]:
        a = after_rx.match(after)
        b = before_rx.search(before)
        if a:
            period, after = which, after[a.end():]
        elif b:
            period, before = which, before[: b.start()]
        if period:
            break
    if period:
        if not 1 <= h <= 12:
            return None
        h = (0 if h == 12 else h) + (12 if period == "pm" else 0)
    if h > 23 or mi > 59 or sec > 60:
        return None
    if om is None or not om.group(0).strip():
        om2 = _OFFSET.search(after)
        if om2 and om2.group(0).strip() and om2["sign"]:
            offset = (int(om2["oh"]) * 60 + int(om2["om"] or 0)) * (1 if om2["sign"] == "+" else -1)
            after = after[: om2.start()]
    return (before + " " + after).strip(), (h, mi, min(sec, 59), us), offset


def _rest_ok(rest: str) -> bool:
    """Whatever is left besides the date must be punctuation, weekday names or filler words."""
    names = _names()
    rest = re.sub(r"ค\.\s*ศ\.|พ\.\s*ศ\.|ที่", " ", rest)  # Thai "the", "CE", "BE"
    rest = names["bracket_weekday_rx"].sub(" ", rest)
    rest = names["weekday_rx"].sub(" ", rest)
    rest = _NOISE.sub(" ", rest)
    return not re.sub(r"[\s,.\-/،()（）:]+", "", rest)


_PLAIN_NUMBER = re.compile(r"[-+]?\d{1,3}(?:,\d{3})*(?:\.\d+)?%?|[-+]?\d+(?:[.,]\d+)?%?")


@lru_cache(maxsize=65536)
def _parts(s: str) -> Parts | None:
    # Most cells structural detection asks about are text or numbers: answer those at once.
    if not any(c.isdigit() for c in s) or len(s) > 80:
        return None
    if s.isascii() and _PLAIN_NUMBER.fullmatch(s.strip()) and not _COMPACT.match(s.strip()):
        return None
    t = fold(s).casefold()
    if not t:
        return None
    taken = _take_clock(t)
    if taken is None:
        return None
    t, clock, offset = taken
    t = t.strip(" ,،")
    names = _names()
    lead = names["lead_weekday_rx"].match(t)
    candidates = [t[lead.end():], t] if lead else [t]
    for u in candidates:
        p = _day(u)
        if p is not None:
            return Parts(*p[:4], sep=p[4], raw_year=p[5], clock=clock, offset=offset)
    return None


def _day(t: str):
    """(year, a, b, ambiguous, sep, raw year) of a date without its clock, or None."""
    if not t:
        return None
    m = _KO_SHORT.match(t)
    if m:  # Korean short dates put a two-digit year first: "24. 6. 20."
        y, mo, d = _year(m["y"]), int(m["m"]), int(m["d"])
        return (y, d, mo, False, ".", m["y"]) if _valid(y, mo, d) else None
    m = _NUMERIC.match(t)
    if m:
        a, b, c = m["a"], m["b"], m["c"]
        if len(a) == 4 or (len(a) == 3):
            if c is None or len(a) == 3:
                return None
            y, mo, d = _year(a), int(b), int(c)  # y-m-d (ISO, Korean "2022. 6. 20.", Japanese)
            return (y, d, mo, False, m["s"], a) if _valid(y, mo, d) else None
        if c is not None and len(c) not in (2, 4):
            return None
        ai, bi = int(a), int(b)
        if c is None and m["s"] != "/":  # "20.6" is a decimal number more often than a day
            return None
        if not (1 <= ai <= 31 and 1 <= bi <= 31) or (ai > 12 and bi > 12):
            return None
        y = _year(c) if c else None
        if ai > 12 or bi > 12:
            d, mo = (ai, bi) if ai > 12 else (bi, ai)
            if not _valid(y or 2000, mo, d):
                return None
        return (y, ai, bi, True, m["s"], c or "")
    m = _COMPACT.match(t)
    if m:
        y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
        return (y, d, mo, False, "", m["y"]) if 1900 < y < 2200 and _valid(y, mo, d) else None
    for rx in (_CJK, _VI):
        m = rx.search(t)
        if m and _rest_ok(t[: m.start()] + " " + t[m.end():]):
            y = _year(m["y"]) if m["y"] else None
            mo, d = int(m["m"]), int(m["d"])
            return (y, d, mo, False, "", m["y"] or "") if _valid(y or 2000, mo, d) else None
    names = _names()
    found = list(names["month_rx"].finditer(t))
    if len(found) != 1:
        if len(found) == 2 and found[0].group(0).strip(". ") == t[: found[0].end()].strip(". "):
            found = found[1:]  # "mar, 9 mar 2025": the first was the weekday
        else:
            return None
    mm = found[0]
    month = names["months"].get(_key(mm.group(0)))
    if month is None:
        return None
    rest = t[: mm.start()] + " # " + t[mm.end():]
    nums = list(re.finditer(r"\d+", rest))
    if not 1 <= len(nums) <= 2:
        return None
    if not _rest_ok(re.sub(r"\d+|#", " ", rest)):
        return None
    if len(nums) == 1:
        if len(nums[0].group()) > 2:
            return None
        y_txt, d = "", int(nums[0].group())
    else:
        first, second = nums[0].group(), nums[1].group()
        if len(first) >= 3:
            y_txt, d = first, int(second)
        elif len(second) >= 3:
            y_txt, d = second, int(first)
        else:
            y_txt, d = second, int(first)  # "9 jul 25", "jul 9, 25": the year comes last
        if len(y_txt) not in (2, 4):
            return None
    y = _year(y_txt) if y_txt else None
    if not _valid(y or 2000, month, d):
        return None
    return (y, d, month, False, "", y_txt)


def _valid(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
        return True
    except ValueError:
        return False


def parse_day(text: str) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of one cell read alone; None when it is no day or the order of
    its day and month is not written in it ("05/06/2024" needs the column: ``read_dates``)."""
    p = _parts(text)
    if p is None or p.ambiguous and p.a <= 12 and p.b <= 12:
        return None
    if p.ambiguous:
        return (p.year, p.b, p.a) if p.a > 12 else (p.year, p.a, p.b)
    return (p.year, p.b, p.a)


@dataclass
class DateColumn:
    """``read_dates``'s answer: per text, (year or None, month, day, clock, offset) or a reason."""

    values: list[tuple[int | None, int, int, tuple[int, int, int, int] | None, int | None] | None]
    reasons: list[str | None]
    order: str | None  # "dmy" | "mdy" | "ymd" when numeric dates needed an order
    decided_by: str = ""


def format_order(formats: Iterable[str]) -> str | None:
    """The day order a report's strptime formats state for numeric dates ("%m/%d/%Y" -> "mdy")."""
    for fmt in formats:
        if "%b" in fmt or "%B" in fmt or "%Y" in fmt[:3] or "%y" in fmt[:3]:
            continue
        d, m = fmt.find("%d"), fmt.find("%m")
        if d >= 0 and m >= 0:
            return "dmy" if d < m else "mdy"
    return None


def is_ambiguous_format(fmt: str) -> bool:
    """A numeric format whose first field is the day or the month: the column decides instead."""
    return fmt[:2] in ("%d", "%m") and "%d" in fmt and "%m" in fmt and "%b" not in fmt and "%B" not in fmt


def _consecutive(days: list[date]) -> bool:
    distinct = sorted(set(days))
    return len(distinct) > 1 and (distinct[-1] - distinct[0]).days + 1 == len(distinct)


def read_dates(texts: Sequence[str], *, order: str | None = None, hint: str | None = None,
               english: bool = False, daily: bool = False, column: str = "", source: str = ""
               ) -> DateColumn:
    """Read a column of date cells, deciding day-first or month-first for the column as a whole.

    ``order`` is the user's ``--date-order``; ``hint`` the order of the report's English format,
    used when ``english`` (the headers are English); ``daily`` says the column is a daily series.
    Raises StructureError when the order stays undecided."""
    parts = [_parts(t) for t in texts]
    amb = [i for i, p in enumerate(parts) if p is not None and p.ambiguous]
    reasons: list[str | None] = [None if p is not None else "" for p in parts]
    chosen: str | None = None
    decided_by = ""
    if amb and order == "ymd":  # the user's word: "24/06/20" is 2024-06-20, no day/month question
        chosen, decided_by = "ymd", "--date-order"
    elif amb:
        dmy = [i for i in amb if parts[i].a > 12]
        mdy = [i for i in amb if parts[i].b > 12]
        if dmy or mdy:
            if len(dmy) != len(mdy):
                chosen = "dmy" if len(dmy) > len(mdy) else "mdy"
                win, lose = (dmy, mdy) if chosen == "dmy" else (mdy, dmy)
                ex = texts[win[0]]
                for i in lose:
                    reasons[i] = order_conflict(chosen, ex, len(win))
                decided_by = f'"{ex}"'
            else:
                for i in dmy + mdy:
                    reasons[i] = Message("expected.date_one_order", dmy=texts[dmy[0]], mdy=texts[mdy[0]])
        undecided = [i for i in amb if reasons[i] is None] if chosen is None else []
        if undecided:
            chosen, decided_by = undecided_order(
                [texts[i] for i in undecided],
                {o: [_ymd(parts[i], o) for i in undecided] for o in ("dmy", "mdy")},
                daily=daily, order=order, hint=hint, english=english,
                dotted=all(parts[i].sep == "." for i in undecided), column=column, source=source)
    values: list = []
    for i, p in enumerate(parts):
        if p is None or reasons[i] is not None:
            values.append(None)
            continue
        if p.ambiguous:
            o = chosen
            if o is None:  # decided by its own day above 12 while the column was split
                o = "dmy" if p.a > 12 else "mdy"
            ymd = _ymd(p, o)
            if ymd is None:
                reasons[i] = Message("expected.date_in_order", order=Message(f"order.{o}"))
                values.append(None)
                continue
            values.append((ymd.year if p.year or o == "ymd" else None, ymd.month, ymd.day, p.clock, p.offset))
        else:
            values.append((p.year, p.b, p.a, p.clock, p.offset))
    return DateColumn(values, reasons, chosen, decided_by)


def undecided_order(examples: Sequence[str], days: dict[str, list[date | None]], *, daily: bool = False,
                    order: str | None = None, hint: str | None = None, english: bool = False,
                    dotted: bool = False, column: str = "", source: str = "") -> tuple[str, str]:
    """The order of a column whose numeric dates all fit day/month and month/day, and what
    decided it: consecutive days (``daily``), the user's ``order``, dots, the report's English
    format. ``days``: each order's reading of the values. Raises StructureError otherwise."""
    if daily:
        fits = [o for o in ("dmy", "mdy")
                if all(d is not None for d in days[o]) and _consecutive(days[o])]
        if len(fits) == 1:
            return fits[0], "consecutive days"
    if order in ("dmy", "mdy", "ymd"):
        return order, "--date-order"
    if dotted:
        return "dmy", "d.m.y"
    if english and hint in ("dmy", "mdy"):
        return hint, "the report's English format"
    raise StructureError(Message("date.undecided" if source else "date.undecided_here", source=source,
                                 column=repr(column), example=examples[0]))


def order_conflict(order: str, example: str, n: int) -> str:
    """The reason a date written in the other order is refused."""
    return Message("expected.day_first" if order == "dmy" else "expected.month_first", example=example, more=n - 1)


def _ymd(p: Parts, order: str) -> date | None:
    if order == "ymd":
        if not p.raw_year or len(p.raw_year) > 2:
            return None
        y, m, d = _year(str(p.a).zfill(2)), p.b, int(p.raw_year)
    else:
        d, m = (p.a, p.b) if order == "dmy" else (p.b, p.a)
        y = p.year or 2000  # leap-day check against a leap year when the cell has no year
    try:
        return date(y, m, d)
    except ValueError:
        return None


def to_datetime(v, default_year: int | None = None) -> datetime | None:
    """A read_dates value as a naive datetime (its clock, or midnight)."""
    if v is None:
        return None
    y, m, d, clock, _ = v
    y = y if y is not None else default_year
    if y is None:
        return None
    h, mi, s, us = clock or (0, 0, 0, 0)
    try:
        return datetime(y, m, d, h, mi, s, us)
    except ValueError:
        return None


__all__ = ["read_numbers", "parse_number", "read_dates", "parse_day", "is_number", "is_count",
           "is_percent", "is_date", "is_datetime", "is_duration", "format_order", "is_ambiguous_format",
           "DateColumn", "fold", "language_locale", "to_datetime", "undecided_order", "order_conflict"]

"""Detect and parse: a ``Table`` to canonical rows, with every rejected row explained.

``detect.detect`` says which registered report a table is and where its fields are (by headers in
any catalog language, by structure, or by a mapping). ``parse_table`` then hands a ``Cells`` object to the
report's own parse function, which reads native columns through typed helpers (numbers,
timestamps, dates) and writes canonical columns. The helpers are vectorised (pandas) because a
single export can hold a million rows; a value that does not parse rejects its row with a
``RowProblem`` naming the file, line, column, value and what was expected.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pandas._libs import lib

from . import model, values
from .detect import Match, as_report, detect as detect_match
from .errors import RowProblem, StructureError
from .messages import Message
from .read import Table
from .registry import Report

MAX_COUNT = 2**53  # the largest count stored: every whole number up to it is exact in a float64
NA_STRINGS = frozenset({"", "-", "--", "—", "N/A", "n/a", "NA", "null", "None", "nan", "undefined"})


@dataclass
class Context:
    """What parsing needs to know beyond the bytes."""

    file_name: str
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(model.DEFAULT_TIMEZONE))  # for naive times
    imported_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # "dmy" | "mdy" | "ymd": how to read numeric dates a column cannot decide (--date-order)
    date_order: str | None = None


@dataclass
class Parsed:
    table: Table
    report: Report
    rows: pd.DataFrame  # canonical columns (see model) plus "line"
    problems: list[RowProblem]
    rows_read: int
    skipped: Counter  # reason (a Message) -> rows left out on purpose (totals, footers, junk rows)


# File names that carry the export's date range: X, Meta, YouTube Studio ZIPs.
_RANGES = [
    (re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})(?!\d)"), "%Y-%m-%d"),
    (re.compile(r"(?<!\d)(\d{8})_(\d{8})(?!\d)"), "%Y%m%d"),
    (re.compile(r"([A-Z][a-z]{2}-\d{2}-\d{4})_([A-Z][a-z]{2}-\d{2}-\d{4})"), "%b-%d-%Y"),
]


def date_range_from_name(name: str) -> tuple[date, date] | None:
    """The (first, last) day of the date range written in an export's file name, if any."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    for rx, fmt in _RANGES:
        m = rx.search(base)
        if m:
            try:
                first, last = (datetime.strptime(g, fmt).date() for g in m.groups())
            except ValueError:
                continue
            if first <= last:
                return first, last
    return None


def detect(table: Table, mappings=None) -> Report:
    """The report a table is (``detect.detect`` also says where its fields are and how it knew)."""
    return detect_match(table, mappings).report


# --- parsing ----------------------------------------------------------------------------------

class Cells:
    """A report's view of one table while it is being parsed.

    Platform parse functions call ``text``/``number``/``timestamp``/``date`` to read native
    columns (by canonical field name, through the report's aliases), ``skip`` to leave out rows
    on purpose (a Total row), ``reject`` to refuse rows with a reason, and ``set`` to write
    canonical output columns.
    """

    def __init__(self, table: Table, report: Report, ctx: Context, match: Match | None = None):
        self.table, self.report, self.ctx = table, report, ctx
        self.match = match
        # The catalog language the headers matched ("en", "vi"), None when the table was matched
        # by structure or a mapping: an English export's documented date order only applies to it.
        self.language = match.language if match is not None else None
        # A mapping's date order; else the command line's (Context.date_order) decides.
        self.date_order = (match.date_order if match is not None else None) or getattr(ctx, "date_order", None)
        self.n = len(table.cells)
        self.alive = np.ones(self.n, dtype=bool)
        self.problems: list[RowProblem] = []
        self.skipped: Counter = Counter()
        self.out: dict[str, pd.Series] = {}
        self.pos: dict[str, int] = {}
        self._stripped: dict[int, pd.Series] = {}  # column position -> its stripped cells
        if match is not None:
            self.pos.update(match.positions)
        else:
            keys = table.keys
            for f, ks in report.keys.items():
                for i, k in enumerate(keys):
                    if k in ks:
                        self.pos[f] = i
                        break

    # reading
    def bind(self, f: str, index: int) -> None:
        """Read field ``f`` from the column at ``index``, for a column whose header is free text
        (a Meta chart's value column is headed "Primary" or the chart's own title)."""
        if not 0 <= index < len(self.table.header):
            raise StructureError(f"{self.table.source}: expected a column {index + 1}, the file has {len(self.table.header)}")
        self.pos[f] = index

    def has(self, f: str) -> bool:
        return f in self.pos

    def header(self, f: str) -> str:
        """The column's header as the file writes it (for messages)."""
        if f not in self.pos:
            return self.report.columns[f][0]
        shown = self.table.shown_header if self.table.shown_header is not None else self.table.header
        return shown[self.pos[f]]

    def text(self, f: str) -> pd.Series:
        """The column's cells, stripped; "" for every row when the column is absent."""
        if f not in self.pos:
            return pd.Series([""] * self.n, dtype=object)
        # Parsers ask for the same column several times (X reads its URL column four times):
        # strip each column once. A shallow copy per call keeps callers apart (copy-on-write).
        i = self.pos[f]
        stripped = self._stripped.get(i)
        if stripped is None:
            stripped = self._stripped[i] = _stripped(self.table.cells[i])
        return stripped.copy(deep=False)

    def _distinct(self, f: str) -> tuple[np.ndarray, pd.Series]:
        """The column's distinct cells, stripped, and each row's position among them.

        Exports repeat values endlessly (dates, small counts), so the typed helpers parse each
        distinct cell once and spread the results back over the rows: the same answers as
        parsing every row, at a fraction of the work."""
        col = self.table.cells[self.pos[f]]
        codes, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=False)
        return codes, pd.Series(uniques, dtype=object).astype(object).str.strip()

    def _distinct_or_blank(self, f: str) -> tuple[np.ndarray, pd.Series]:
        """``_distinct``; for a column the table lacks, one blank cell that every row points to."""
        if f in self.pos:
            return self._distinct(f)
        raw = self.text(f)
        return np.zeros(len(raw), dtype=np.intp), (raw.iloc[:1] if len(raw) else raw)

    def _spread(self, f: str, codes: np.ndarray, distinct: pd.Series) -> pd.Series:
        """The stripped cells of every row, as ``text`` gives them (for messages)."""
        col = self.table.cells[self.pos[f]]
        return pd.Series(distinct.to_numpy(dtype=object)[codes], index=col.index, name=col.name, dtype=object)

    def number(self, f: str, *, integer: bool = True, scale: float = 1.0, percent: bool = False,
               minimum: float | None = None) -> pd.Series:
        """Numbers as float64 with NaN for n/a. Accepts "566.0", "1,234", "1.234.567", "1 234,5",
        "1.2万", "1,2 rb", "12.3%" and the rest of collectors/values.py; the decimal mark and
        compact units are decided for the column as a whole."""
        if f not in self.pos:
            raw = self.text(f)
            return pd.Series(np.nan, index=raw.index)
        codes, raw = self._distinct(f)  # parse each distinct cell once, then spread to rows
        missing = raw.isin(NA_STRINGS).to_numpy()
        num = pd.to_numeric(raw.where(~missing), errors="coerce")
        slow = num.isna().to_numpy() & ~missing
        # The fast path reads "1.234" as 1.234; in a column written "1.234.567" or "2,5", or a
        # column of whole numbers, it is 1234. Values with a point go back to the column's
        # decision only when something suggests it: a value pandas could not read, a fraction in
        # a whole-number column, or a "1.234" (one to three digits, a point, three digits) that
        # only the column can read. Plain columns (the million-row case) never get here.
        fast = ~slow & ~missing & num.notna().to_numpy()
        frac = fast & (num % 1 != 0).to_numpy()
        recheck = np.zeros(len(raw), dtype=bool)
        if slow.any() or frac.any():
            looks = frac if not slow.any() else fast
            if not slow.any() and not integer:
                # A float column is settled when one value proves the point is the decimal mark:
                # four or more decimals, a zero or four digits before the point, or "12.5".
                a = num.abs().to_numpy()
                milli = a * 1000  # "1.005" * 1000 is 1004.9999999999999: compare, do not test % 1
                shaped = frac & (np.abs(milli - np.round(milli)) < 1e-6) & (a >= 1) & (a < 1000)
                proof = frac & ~shaped
                if not proof.any() and shaped.any():
                    proof = shaped & ~raw.str.fullmatch(r"[-+]?[1-9]\d{0,2}\.\d{3}").fillna(False).to_numpy()
                looks = shaped if not proof.any() else np.zeros_like(shaped)
            if looks.any():
                recheck = fast & raw.str.contains(".", regex=False).fillna(False).to_numpy()
        reasons = np.full(len(raw), None, dtype=object)
        todo = slow | recheck
        if todo.any():
            idx = np.flatnonzero(todo)
            read, why = _slow_numbers(raw.iloc[idx], integer=integer, language=self._language(),
                                      decimal=self._report_says("decimal_mark"))
            why = np.asarray(why, dtype=object)
            keep_fast = recheck[idx] & (why == "")  # "1e5": pandas reads it, values.py does not
            use = ~keep_fast
            num.iloc[idx[use]] = read.to_numpy()[use]
            reasons[idx[use]] = why[use]
        bad = (num.isna().to_numpy() & ~missing)
        if bad.any():
            default = Message("expected.percentage" if percent else
                              "expected.whole_number" if integer else "expected.number")
            rows_raw = self._spread(f, codes, raw)
            for why in dict.fromkeys(reasons[bad]):
                sel = bad & np.array([r == why for r in reasons], dtype=bool)
                self._reject_rows(sel[codes], f, rows_raw, why or default)
        if integer:
            frac = (num.notna() & (num % 1 != 0)).to_numpy()[codes] & self.alive
            if frac.any():
                self._reject_rows(frac, f, self._spread(f, codes, raw), Message("expected.whole_number"))
            # Beyond 2**53 a count is no longer exact as a float, nor storable as an integer
            # (a 34-digit cell, two ids run together, crashed the store): a data error.
            huge = (num.abs() > MAX_COUNT).to_numpy()[codes] & self.alive
            if huge.any():
                self._reject_rows(huge, f, self._spread(f, codes, raw),
                                  Message("expected.whole_number_up_to", maximum=f"{MAX_COUNT:,}"))
        if minimum is not None:
            low = (num < minimum).to_numpy()[codes] & self.alive
            if low.any():
                self._reject_rows(low, f, self._spread(f, codes, raw),
                                  Message("expected.number_at_least", minimum=f"{minimum:g}"))
        col = self.table.cells[self.pos[f]]
        values = num.astype("float64").to_numpy()[codes]
        return pd.Series(values, index=col.index, name=col.name, dtype="float64") * scale

    def _language(self) -> str | None:
        """The headers' language ("en", "vi", ...): set by detection on the cells or the table,
        else "en" when every column was found by its English name (not a header rewritten to
        English after a structural or mapped match), else None (unknown)."""
        lang = getattr(self, "language", None) or getattr(self.table, "language", None)
        if lang:
            return lang
        if not self.pos or getattr(self.table, "shown_header", None) is not None:
            return None  # matched by structure or a mapping: the header was rewritten to English
        from .read import header_key

        keys = self.table.keys
        for f, i in self.pos.items():
            k = keys[i]
            langs = self.report.languages.get(k)
            names = self.report.columns.get(f) or [""]
            if not (("en" in langs) if langs else k == header_key(names[0])):
                return None
        return "en"

    def timestamp(self, f: str, formats: list[str], *, tz: ZoneInfo | None = None,
                  required: bool = False) -> pd.Series:
        """Datetimes in UTC. Naive values are local to ``tz`` (the campaign timezone by default).

        The report's formats are tried in order (vectorised). A numeric format that starts with
        the day or the month ("%m/%d/%Y") is tried in both orders and the column decides which
        (``_numeric_format``); cells no format reads (month names in any language, localized
        AM/PM) go to collectors/values.py (``_read_dates``)."""
        codes, raw = self._distinct_or_blank(f)  # parse each distinct cell once, then spread to rows
        out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
        missing = raw.isin(NA_STRINGS).to_numpy()
        todo = ~missing
        reasons = np.full(len(raw), None, dtype=object)  # why a cell was refused, when known
        zone = tz or self.ctx.tz
        state: dict = {}
        for fmt in formats:
            ask = todo & (reasons == None)  # noqa: E711 (element-wise)
            if not ask.any():
                break
            sub = raw[ask]
            if values.is_ambiguous_format(fmt):
                parsed, why = self._numeric_format(f, sub, fmt, formats, state, daily=False)
                reasons[np.flatnonzero(ask)] = np.where(why == None, reasons[ask], why)  # noqa: E711
                parsed = parsed.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
            elif "%z" in fmt or fmt == "ISO8601" and sub.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).all():
                parsed = pd.to_datetime(sub, format=fmt, errors="coerce", utc=True)
            else:
                parsed = pd.to_datetime(sub, format=fmt, errors="coerce")
                if parsed.dt.tz is None:
                    parsed = parsed.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
                parsed = parsed.dt.tz_convert("UTC")
            ok = parsed.notna().to_numpy()
            idx = sub.index[ok]
            out.loc[idx] = parsed[ok].astype("datetime64[us, UTC]")
            todo[idx] = False
        ask = todo & (reasons == None)  # noqa: E711
        if ask.any():
            read = self._read_dates(f, raw[ask], formats, state)
            naive, offsets, where = [], [], []
            for i, v, why in zip(np.flatnonzero(ask), read.values, read.reasons):
                moment = values.to_datetime(v)
                if moment is None:
                    reasons[i] = why or (Message("expected.date_with_year") if v is not None else None)
                    continue
                naive.append(moment)
                offsets.append(v[4])
                where.append(i)
            if where:
                stamps = pd.Series(pd.to_datetime(naive), dtype="datetime64[us]")
                offs = pd.Series(offsets, dtype="float64")
                stated = offs.notna().to_numpy()
                local = stamps.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
                fixed = (stamps - pd.to_timedelta(offs.fillna(0), unit="min")).dt.tz_localize("UTC")
                result = local.where(~stated, fixed)
                ok = result.notna().to_numpy()
                where = np.asarray(where)
                out.iloc[where[ok]] = result[ok].astype("datetime64[us, UTC]").to_numpy()
                todo[where[ok]] = False
        rows_todo, rows_missing = todo[codes], missing[codes]
        if rows_todo.any():
            self._reject_reasons(f, codes, raw, todo, reasons,
                                 Message("expected.datetime_like", example=_example(formats[0])))
        if required and rows_missing.any():
            self._reject_rows(rows_missing, f, self._spread_any(f, codes, raw), Message("expected.datetime_empty"))
        return pd.Series(out.array.take(codes), index=pd.RangeIndex(self.n) if f not in self.pos
                         else self.table.cells[self.pos[f]].index)

    def _spread_any(self, f: str, codes: np.ndarray, distinct: pd.Series) -> pd.Series:
        return self.text(f) if f not in self.pos else self._spread(f, codes, distinct)

    def _reject_reasons(self, f: str, codes: np.ndarray, raw: pd.Series, todo: np.ndarray,
                        reasons: np.ndarray, default: str) -> None:
        """Reject the rows of every distinct cell still ``todo``, each with its own reason."""
        spread = self._spread_any(f, codes, raw)
        for why in dict.fromkeys(reasons[todo]):
            sel = todo & np.array([r == why for r in reasons], dtype=bool)
            self._reject_rows(sel[codes], f, spread, why or default)

    def _order_args(self, formats: list[str], state: dict | None = None) -> dict:
        """What decides the day/month order of a column whose values all fit both (see
        values.undecided_order): the user's --date-order, the report's own format, and whether
        that format holds (the headers are English, or the report's catalog entry says its
        exports keep one order in every language: ``date_order = "mdy"``, as Meta's do —
        "01/17/2026 10:29" in a pt-BR export)."""
        order = getattr(self, "date_order", None) or getattr(self.ctx, "date_order", None)
        if state and state.get("order") in ("dmy", "mdy"):
            order = state["order"]  # decided by another format of the same column
        fixed = self._report_says("date_order")
        return dict(order=order, hint=fixed or values.format_order(formats),
                    english=bool(fixed) or self._language() == "en")

    def _report_says(self, key: str):
        """A value convention the report states for every language: an attribute of the Report,
        else a key of its catalog entry (``date_order = "mdy"``, ``decimal_mark = "."``)."""
        said = getattr(self.report, key, None)
        if said is None and self.report.catalog:
            from . import catalog

            said = catalog.entry(self.report.catalog).extra.get(key)
        return said

    def _read_dates(self, f: str, sub: pd.Series, formats: list[str], state: dict | None = None) -> values.DateColumn:
        """Cells no vectorised format read, through collectors/values.py: numeric dates get one
        day/month order for the whole column (a day above 12 decides; then a daily series that
        is consecutive in one order only; then --date-order; then "d.m.y"; then the report's
        own format when it holds; else StructureError)."""
        daily = f == "day" and self.report.grain in (model.POST_DAILY, model.ACCOUNT_DAY)
        return values.read_dates(list(sub), daily=daily, column=self.header(f), source=self.table.source,
                                 **self._order_args(formats, state))

    def _numeric_format(self, f: str, sub: pd.Series, fmt: str, formats: list[str], state: dict, *,
                        daily: bool) -> tuple[pd.Series, np.ndarray]:
        """A numeric format that starts with the day or the month, read in both orders at once
        (vectorised): cells only one order reads are the column's evidence, the majority decides
        and the others are refused; when every cell fits both, values.undecided_order decides.
        Returns naive datetimes (NaT where this format does not apply) and refusal reasons."""
        mine = values.format_order([fmt])
        other = "mdy" if mine == "dmy" else "dmy"
        why = np.full(len(sub), None, dtype=object)
        args = self._order_args(formats, state)
        if args["order"] == "ymd" and not state.get("order"):
            return pd.Series(pd.NaT, index=sub.index, dtype="datetime64[us]"), why  # values.py reads y/m/d
        swapped = fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
        by = {}
        for o, form in ((mine, fmt), (other, swapped)):
            parsed = pd.to_datetime(sub, format=form, errors="coerce")
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_localize(None)
            by[o] = parsed.astype("datetime64[us]")
        a, b = by[mine], by[other]
        only = {mine: (a.notna() & b.isna()).to_numpy(), other: (b.notna() & a.isna()).to_numpy()}
        amb = (a.notna() & b.notna() & (a != b)).to_numpy()
        same = (a.notna() & (a == b)).to_numpy()
        chosen = state.get("order")
        if chosen is None:
            n = {o: int(m.sum()) for o, m in only.items()}
            if n[mine] != n[other]:
                chosen = mine if n[mine] > n[other] else other
            elif n[mine]:  # as many each way: neither can be trusted
                ex = {o: sub[only[o]].iloc[0] for o in only}
                for o in only:
                    why[only[o]] = Message("expected.date_one_order", dmy=ex["dmy"], mdy=ex["mdy"])
            if chosen is None and amb.any():
                date_part = fmt.split(" ")[0]
                chosen, _ = values.undecided_order(
                    list(sub[amb].iloc[:1]), {o: list(by[o][amb].dt.date) for o in by}, daily=daily,
                    dotted="." in date_part and "/" not in date_part and "-" not in date_part,
                    column=self.header(f), source=self.table.source, **args)
            if chosen is not None:
                state["order"] = chosen
        if chosen in by:
            loser = other if chosen == mine else mine
            if only[loser].any():
                win = only[chosen] | amb
                example = sub[win].iloc[0] if win.any() else sub[only[loser]].iloc[0]
                why[only[loser]] = values.order_conflict(chosen, example, max(1, int(win.sum())))
            keep = pd.Series(only[chosen] | amb | same, index=sub.index)
            return by[chosen].where(keep), why
        return a.where(pd.Series(same, index=sub.index)), why

    def date(self, f: str, formats: list[str]) -> pd.Series:
        """Calendar days as datetime64 (midnight, naive): a day in the file's own terms."""
        codes, raw = self._distinct_or_blank(f)  # parse each distinct cell once, then spread to rows
        out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
        todo = np.ones(len(raw), dtype=bool)
        reasons = np.full(len(raw), None, dtype=object)
        daily = f == "day" and self.report.grain in (model.POST_DAILY, model.ACCOUNT_DAY)
        state: dict = {}
        for fmt in formats:
            ask = todo & (reasons == None)  # noqa: E711
            if not ask.any():
                break
            sub = raw[ask]
            if values.is_ambiguous_format(fmt):
                parsed, why = self._numeric_format(f, sub, fmt, formats, state, daily=daily)
                reasons[np.flatnonzero(ask)] = np.where(why == None, reasons[ask], why)  # noqa: E711
            else:
                parsed = pd.to_datetime(sub, format=fmt, errors="coerce")
                if getattr(parsed.dt, "tz", None) is not None:
                    parsed = parsed.dt.tz_localize(None)
            ok = parsed.notna().to_numpy()
            idx = sub.index[ok]
            out.loc[idx] = parsed[ok].dt.normalize().astype("datetime64[us]")
            todo[idx] = False
        ask = todo & (reasons == None) & ~raw.isin(NA_STRINGS).to_numpy()  # noqa: E711
        if ask.any():
            read = self._read_dates(f, raw[ask], formats, state)
            for i, v, why in zip(np.flatnonzero(ask), read.values, read.reasons):
                if v is None or v[0] is None:
                    reasons[i] = why or (Message("expected.date_with_year") if v is not None else None)
                    continue
                try:
                    out.iat[i] = pd.Timestamp(v[0], v[1], v[2])
                    todo[i] = False
                except ValueError:
                    pass
        if todo[codes].any():
            self._reject_reasons(f, codes, raw, todo, reasons,
                                 Message("expected.date_like", example=_example(formats[0])))
        return pd.Series(out.array.take(codes), index=pd.RangeIndex(self.n) if f not in self.pos
                         else self.table.cells[self.pos[f]].index)

    # deciding about rows
    def skip(self, mask, reason: str) -> None:
        """Leave rows out on purpose (a Total row, a footer): counted, not errors. ``reason`` is a
        ``Message`` ("skip.*"), so the result line says it in the reader's language."""
        mask = np.asarray(mask, dtype=bool) & self.alive
        if mask.any():
            self.skipped[reason] += int(mask.sum())
            self.alive &= ~mask

    def reject(self, mask, f: str, expected: str, values: pd.Series | None = None) -> None:
        mask = np.asarray(mask, dtype=bool) & self.alive
        if mask.any():
            self._reject_rows(mask, f, values if values is not None else self.text(f), expected)

    def _reject_rows(self, mask: np.ndarray, f: str, raw: pd.Series, expected: str) -> None:
        mask = mask & self.alive
        col = self.header(f) if (f in self.pos or f in self.report.columns) else f
        for i in np.flatnonzero(mask)[:10000]:
            self.problems.append(RowProblem(self.table.source, self.table.lines[i], col, str(raw.iloc[i]), expected))
        self.alive &= ~mask

    def set(self, f: str, values) -> None:
        if isinstance(values, pd.Series):
            values = values.reset_index(drop=True)
        else:
            values = pd.Series([values] * self.n, dtype=object if isinstance(values, str) or values is None else None)
        self.out[f] = values

    def set_metrics(self, mapping: dict[str, dict]) -> None:
        """Read each canonical metric that has a column: {"views": {}, "watch_time_s": {"scale": 3600, "integer": False}}."""
        for m, opts in mapping.items():
            if self.has(m):
                self.set(m, self.number(m, **opts))

    def result(self) -> Parsed:
        rows = pd.DataFrame({k: v for k, v in self.out.items()})
        # The line numbers as int64 directly: pandas' inference over a million Python ints costs
        # 0.2 s and gives the same column (an empty table keeps pandas' own choice).
        rows["line"] = np.array(self.table.lines, dtype=np.int64) if len(self.table.lines) else self.table.lines
        rows = (rows if self.alive.all() else rows[self.alive]).reset_index(drop=True)
        self._check_keys(rows)
        return Parsed(self.table, self.report, rows, self.problems, self.n, self.skipped)

    def _check_keys(self, rows: pd.DataFrame) -> None:
        grain = self.report.grain
        need = {"post_id"} if grain != model.ACCOUNT_DAY else set()
        if grain in (model.POST_DAILY, model.ACCOUNT_DAY):
            need.add("day")
        for f in need:
            if f not in rows:
                raise StructureError(f"{self.table.source}: the {self.report.name} parser wrote no {f!r} column")


def _stripped(col: pd.Series) -> pd.Series:
    """``col.astype(object).str.strip()``: the same Series, by one C-level loop of ``str.strip``
    when every cell is a str (what a Table holds), half the time of pandas' per-cell lambda."""
    values = col.to_numpy(dtype=object)
    if not lib.is_string_array(values, skipna=False):
        return col.astype(object).str.strip()
    return pd.Series(np.fromiter(map(str.strip, values), dtype=object, count=len(values)),
                     index=col.index, name=col.name, dtype=object)


def _slow_numbers(raw: pd.Series, *, integer: bool = False, language: str | None = None,
                  decimal: str | None = None) -> tuple[pd.Series, list[str | None]]:
    """The column's numbers that pandas alone cannot read, through collectors/values.py: each
    value (NaN when refused) and why it was refused (None: read; "": not a number at all)."""
    numbers, reasons = values.read_numbers(list(raw), integer=integer, language=language, decimal=decimal)
    return pd.Series(numbers, index=raw.index, dtype="float64"), reasons


def _example(fmt: str) -> str:
    if fmt == "ISO8601":
        return "2024-12-22T10:30:00"
    try:
        return datetime(2024, 12, 22, 18, 5, tzinfo=timezone.utc).strftime(fmt)
    except ValueError:
        return fmt


def parse_table(table: Table, ctx: Context, report: Report | None = None, *, match: Match | None = None,
                mappings=None) -> Parsed:
    """Detect (unless ``report`` or ``match`` says what the table is) and parse one table."""
    if report is None:
        match = match or detect_match(table, mappings)
        report = match.report
        if match.method != "header" or match.by_position:
            # Parsers and accept tests read English headers: give them the report's names.
            table = as_report(table, match)
    cells = Cells(table, report, ctx, match)
    report.parse(cells)
    parsed = cells.result()
    _reject_duplicate_keys(parsed)
    if parsed.rows_read and parsed.rows.empty and parsed.problems:
        first = Message.join([str(p) for p in parsed.problems[:3]], Message("sep.list"))
        raise StructureError(Message("parse.all_rejected", source=table.source, n=parsed.rows_read,
                                     title=report.title, first=first), platform=report.platform)
    return parsed


def _reject_duplicate_keys(parsed: Parsed) -> None:
    """Two rows for one key in one file: an exact repeat is left out, a conflicting one rejected.

    Which of two different values for the same post and moment is right cannot be known, so the
    later row is refused with a pointer to the first rather than silently overwriting it.
    """
    rows, grain = parsed.rows, parsed.report.grain
    keys = {model.POST_LIFETIME: ["post_id", "captured_at"], model.POST_DAILY: ["post_id", "day"],
            model.ACCOUNT_DAY: ["account_id", "account_handle", "account_name", "day"]}[grain]
    keys = [k for k in keys if k in rows]
    if rows.empty or not keys:
        return
    dup = rows.duplicated(subset=keys, keep="first").to_numpy()
    if not dup.any():
        return
    values = [c for c in rows.columns if c != "line"]
    exact = rows.duplicated(subset=values, keep="first").to_numpy()
    first_line = rows.groupby(keys, dropna=False, sort=False)["line"].transform("first")
    for i in np.flatnonzero(dup & ~exact):
        key = ", ".join(str(rows[k].iat[i]) for k in keys if pd.notna(rows[k].iat[i]))
        parsed.problems.append(RowProblem(
            parsed.table.source, int(rows["line"].iat[i]), parsed.table.header[0] if parsed.table.header else "",
            key, Message("expected.new_post_row" if grain != model.ACCOUNT_DAY else "expected.new_day_row",
                         line=int(first_line.iat[i]), found=key)))
    n_exact = int((dup & exact).sum())
    if n_exact:
        parsed.skipped[Message("skip.exact_repeats")] += n_exact
    parsed.rows = rows[~dup].reset_index(drop=True)

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
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from . import model
from .detect import Match, as_report, detect as detect_match
from .errors import RowProblem, StructureError
from .read import Table
from .registry import Report

NA_STRINGS = frozenset({"", "-", "--", "—", "N/A", "n/a", "NA", "null", "None", "nan", "undefined"})


@dataclass
class Context:
    """What parsing needs to know beyond the bytes."""

    file_name: str
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))  # for naive times
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
    skipped: Counter  # reason -> rows left out on purpose (totals, footers, junk rows)


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
            stripped = self._stripped[i] = self.table.cells[i].astype(object).str.strip()
        return stripped.copy(deep=False)

    def _distinct(self, f: str) -> tuple[np.ndarray, pd.Series]:
        """The column's distinct cells, stripped, and each row's position among them.

        Exports repeat values endlessly (dates, small counts), so the typed helpers parse each
        distinct cell once and spread the results back over the rows: the same answers as
        parsing every row, at a fraction of the work."""
        col = self.table.cells[self.pos[f]]
        codes, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=False)
        return codes, pd.Series(uniques, dtype=object).astype(object).str.strip()

    def _spread(self, f: str, codes: np.ndarray, distinct: pd.Series) -> pd.Series:
        """The stripped cells of every row, as ``text`` gives them (for messages)."""
        col = self.table.cells[self.pos[f]]
        return pd.Series(distinct.to_numpy(dtype=object)[codes], index=col.index, name=col.name, dtype=object)

    def number(self, f: str, *, integer: bool = True, scale: float = 1.0, percent: bool = False,
               minimum: float | None = None) -> pd.Series:
        """Numbers as float64 with NaN for n/a. Accepts "566.0", "1,234", "1.2万", "12.3%"."""
        if f not in self.pos:
            raw = self.text(f)
            return pd.Series(np.nan, index=raw.index)
        codes, raw = self._distinct(f)  # parse each distinct cell once, then spread to rows
        missing = raw.isin(NA_STRINGS).to_numpy()
        num = pd.to_numeric(raw.where(~missing), errors="coerce")
        slow = num.isna().to_numpy() & ~missing
        if slow.any():
            num.loc[slow] = _slow_numbers(raw[slow])
        bad = (num.isna().to_numpy() & ~missing)[codes]
        if bad.any():
            self._reject_rows(bad, f, self._spread(f, codes, raw),
                              "a percentage" if percent else ("a whole number" if integer else "a number"))
        if integer:
            frac = (num.notna() & (num % 1 != 0)).to_numpy()[codes] & self.alive
            if frac.any():
                self._reject_rows(frac, f, self._spread(f, codes, raw), "a whole number")
        if minimum is not None:
            low = (num < minimum).to_numpy()[codes] & self.alive
            if low.any():
                self._reject_rows(low, f, self._spread(f, codes, raw), f"a number of at least {minimum:g}")
        col = self.table.cells[self.pos[f]]
        values = num.astype("float64").to_numpy()[codes]
        return pd.Series(values, index=col.index, name=col.name, dtype="float64") * scale

    def timestamp(self, f: str, formats: list[str], *, tz: ZoneInfo | None = None,
                  required: bool = False) -> pd.Series:
        """Datetimes in UTC. Naive values are local to ``tz`` (the campaign timezone by default)."""
        if f not in self.pos:
            raw = self.text(f)
            codes = np.zeros(len(raw), dtype=np.intp)
            raw = raw.iloc[:1] if len(raw) else raw
        else:
            codes, raw = self._distinct(f)  # parse each distinct cell once, then spread to rows
        out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
        missing = raw.isin(NA_STRINGS).to_numpy()
        todo = ~missing
        zone = tz or self.ctx.tz
        for fmt in formats:
            if not todo.any():
                break
            sub = raw[todo]
            if "%z" in fmt or fmt == "ISO8601" and sub.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).all():
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
        rows_todo, rows_missing = todo[codes], missing[codes]
        if rows_todo.any():
            self._reject_rows(rows_todo, f, self._spread_any(f, codes, raw), "a date and time like " + _example(formats[0]))
        if required and rows_missing.any():
            self._reject_rows(rows_missing, f, self._spread_any(f, codes, raw), "a date and time (the cell is empty)")
        return pd.Series(out.array.take(codes), index=pd.RangeIndex(self.n) if f not in self.pos
                         else self.table.cells[self.pos[f]].index)

    def _spread_any(self, f: str, codes: np.ndarray, distinct: pd.Series) -> pd.Series:
        return self.text(f) if f not in self.pos else self._spread(f, codes, distinct)

    def date(self, f: str, formats: list[str]) -> pd.Series:
        """Calendar days as datetime64 (midnight, naive): a day in the file's own terms."""
        if f not in self.pos:
            raw = self.text(f)
            codes = np.zeros(len(raw), dtype=np.intp)
            raw = raw.iloc[:1] if len(raw) else raw
        else:
            codes, raw = self._distinct(f)  # parse each distinct cell once, then spread to rows
        out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
        todo = np.ones(len(raw), dtype=bool)
        for fmt in formats:
            if not todo.any():
                break
            sub = raw[todo]
            parsed = pd.to_datetime(sub, format=fmt, errors="coerce")
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_localize(None)
            ok = parsed.notna().to_numpy()
            idx = sub.index[ok]
            out.loc[idx] = parsed[ok].dt.normalize().astype("datetime64[us]")
            todo[idx] = False
        rows_todo = todo[codes]
        if rows_todo.any():
            self._reject_rows(rows_todo, f, self._spread_any(f, codes, raw), "a date like " + _example(formats[0]))
        return pd.Series(out.array.take(codes), index=pd.RangeIndex(self.n) if f not in self.pos
                         else self.table.cells[self.pos[f]].index)

    # deciding about rows
    def skip(self, mask, reason: str) -> None:
        """Leave rows out on purpose (a Total row, a footer): counted, not errors."""
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
        rows["line"] = self.table.lines
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


def _slow_numbers(raw: pd.Series) -> pd.Series:
    s = raw.str.replace(r"[,\s\u00a0\u202f'’]", "", regex=True)
    mult = pd.Series(1.0, index=s.index)
    for suffix, factor in (("%", 1.0), ("万", 1e4), ("亿", 1e8), ("K", 1e3), ("k", 1e3), ("M", 1e6)):
        hit = s.str.endswith(suffix)
        mult[hit] = factor
        s = s.where(~hit, s.str[: -len(suffix)])
    out = pd.to_numeric(s, errors="coerce") * mult
    # "0.07万" is 700, but 0.07 * 1e4 is 700.0000000000001 in binary floating point (and "64.01亿"
    # is 6400999999.999999): scale the digits as written, in decimal, so whole counts stay whole.
    scaled = (mult != 1.0) & out.notna()
    if scaled.any():
        out[scaled] = [float(Decimal(v) * Decimal(int(m))) for v, m in zip(s[scaled], mult[scaled])]
    return out


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
        if match.method != "header":
            # Parsers and accept tests read English headers: give them the report's names.
            table = as_report(table, match)
    cells = Cells(table, report, ctx, match)
    report.parse(cells)
    parsed = cells.result()
    _reject_duplicate_keys(parsed)
    if parsed.rows_read and parsed.rows.empty and parsed.problems:
        first = "; ".join(str(p) for p in parsed.problems[:3])
        raise StructureError(
            f"{table.source}: every one of {parsed.rows_read} rows was rejected as a {report.title}; "
            f"nothing imported. First problems: {first}"
        )
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
            key, f"a row for a new {'post' if grain != model.ACCOUNT_DAY else 'day'} "
                 f"(line {int(first_line.iat[i])} already has {key} with other values)"))
    n_exact = int((dup & exact).sum())
    if n_exact:
        parsed.skipped["exact repeats of an earlier row"] += n_exact
    parsed.rows = rows[~dup].reset_index(drop=True)

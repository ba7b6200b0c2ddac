"""Read: bytes of an export file to tables of text cells.

This is the only module that knows about encodings, delimiters, preamble lines, workbook sheets
and ZIP members. It decides nothing about platforms: it hands every section of every file or
sheet to detection as a ``Table`` whose cells are all strings ("" when empty), with each row's
physical line number so that a rejected row can be pointed at in the original file.

Quirks handled here because real files have them: UTF-8 with and without BOM, UTF-16 with a
BOM (Meta page-level downloads), a ``sep=,`` first line, a title line above the header, several
blank-line-separated sections in one file, CRLF, no final newline, quoted newlines, XLSX sheets
whose first row is a note, and ZIP files of CSVs (YouTube, TikTok).

Memory is bounded for any input, because files come from strangers (uploads, an inbox): text is
decoded and split into rows as a stream, a section's header is found from its first rows before
any column is built, blank lines and rows of empty cells are never stored, and each of ``Limits``
(rows, columns, line length, cells, a ZIP member's size and compression ratio) ends the read with
a one-line ``ReadError`` that names the limit and the environment variable that raises it.
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
import unicodedata
import xml.parsers.expat
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time

import pandas as pd

from . import kinds, messages
from .messages import Message
from .errors import ReadError

# Candidates tried, in order, for a file without a byte-order mark. GB18030 is a superset of
# GBK/GB2312, which is what Excel on a Chinese Windows writes; it comes after UTF-8 because a
# valid UTF-8 file is almost never valid GB18030 text by accident, while the reverse is common.
ENCODINGS_WITHOUT_BOM = ("utf-8", "gb18030")

_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError,
            UnicodeDecodeError, KeyError, RuntimeError, IndexError)

MAX_MEMBER_BYTES = 1 << 30  # a ZIP member that inflates past 1 GiB is refused (ZIP bombs)


# --- limits -----------------------------------------------------------------------------------
# Real exports are far inside these (the largest seen: 1,000,000 rows of 17 columns, lines under
# 5 KB, ZIP members compressed 3-15 times); each bounds what a small hostile file can make us
# allocate. They are read from the environment at every read, so a server can be given other
# values without a code change, and a refusal says which variable to set.

@dataclass(frozen=True)
class Limits:
    rows: int = 5_000_000  # data rows in one file, all its tables together
    tables: int = 1_000  # tables in one file: blank-line sections, sheets, ZIP members
    columns: int = 10_000  # cells in one row (header or data) / the last column of a sheet row
    line_length: int = 1 << 20  # characters in one physical line of a text file
    cells: int = 30_000_000  # stored cells (rows x header width), and real cells of a workbook
    member_bytes: int = MAX_MEMBER_BYTES  # what one ZIP member (or workbook part) inflates to
    zip_ratio: int = 100  # inflated / compressed size of a ZIP member or a whole archive ...
    zip_ratio_floor: int = 8 << 20  # ... above this many inflated bytes (small files may compress well)


_ENV = {
    "rows": ("REACH_MAX_ROWS", "data rows"),
    "tables": ("REACH_MAX_TABLES", "tables (sections, sheets and ZIP members)"),
    "columns": ("REACH_MAX_COLUMNS", "columns"),
    "line_length": ("REACH_MAX_LINE_LENGTH", "characters in one line"),
    "cells": ("REACH_MAX_CELLS", "cells"),
    "member_bytes": ("REACH_MAX_MEMBER_BYTES", "bytes inflated"),
    "zip_ratio": ("REACH_MAX_ZIP_RATIO", "times compression"),
}


def limits() -> Limits:
    """The limits in force: the defaults, or the REACH_MAX_* environment variables."""
    values = {}
    for name, (env, _) in _ENV.items():
        raw = os.environ.get(env)
        if raw is None or not raw.strip():
            continue
        try:
            values[name] = int(raw.replace("_", "").replace(",", ""))
            if values[name] <= 0:
                raise ValueError
        except ValueError:
            raise ReadError(f"the environment variable {env}={raw!r} is not a positive whole number") from None
    return Limits(**values)


def over_limit(source: str, name: str, limit: int, found: str) -> ReadError:
    """The one-line refusal of a file that passes a limit: which, by how much, how to raise it."""
    env, unit = _ENV[name]
    return ReadError(f"{source}: {found}, over the limit of {limit:,} {unit}; if the file is genuine, "
                     f"raise the limit with the environment variable {env} (e.g. {env}={limit * 4})")


class _Budget:
    """What one file has stored so far, against the limits (all its tables and members count)."""

    def __init__(self, lim: Limits):
        self.lim, self.rows, self.cells, self.tables = lim, 0, 0, 0

    def table(self, source: str) -> None:
        self.tables += 1
        if self.tables > self.lim.tables:
            raise over_limit(source, "tables", self.lim.tables, f"more than {self.lim.tables:,} tables")

    def take(self, source: str, rows: int, width: int) -> None:
        self.rows += rows
        self.cells += rows * width
        if self.rows > self.lim.rows:
            raise over_limit(source, "rows", self.lim.rows, f"more than {self.lim.rows:,} data rows")
        if self.cells > self.lim.cells:
            raise over_limit(source, "cells", self.lim.cells, f"more than {self.lim.cells:,} cells")

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_SPACES = re.compile(r"[\s\u00a0\u202f\u2007]+")


def clean_header(cell: str) -> str:
    """A header cell as it should be displayed: no soft hyphens, no odd spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", cell).translate(_INVISIBLE)).strip()


def header_key(cell: str) -> str:
    """The form header cells are compared in: cleaned and case-folded."""
    return clean_header(cell).casefold()


@dataclass
class Table:
    """One table found in a file: a CSV section, a sheet, or a CSV inside a ZIP."""

    file_name: str  # the name of the file the user gave (the ZIP, not its member)
    source: str  # what to show in messages: "a.zip!Table data.csv", "b.xlsx!All posts"
    header: list[str]  # cleaned header cells, in file order
    cells: pd.DataFrame  # one column per header cell (positional labels 0..n-1), str values
    lines: list[int]  # physical 1-based line (or sheet row) of each data row
    header_line: int
    title: str | None = None  # a title line above the header, e.g. "Facebook Page reach"
    member: str | None = None  # ZIP member name
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)
    # The file's own header, when ``header`` was rewritten to a report's English names by a
    # structural or mapped match (collectors/detect.py): messages show what the file says.
    shown_header: list[str] | None = None

    @property
    def keys(self) -> list[str]:
        return [header_key(h) for h in self.header]

    def __len__(self) -> int:
        return len(self.cells)


def read_bytes(file_name: str, data: bytes) -> list[Table]:
    """Every table in the file. Raises ReadError when the bytes cannot be read at all, or when
    the file passes one of the ``limits()``."""
    lim = limits()
    budget = _Budget(lim)
    try:
        return _read_any(file_name, data, lim, budget)
    except MemoryError:
        # The last line of defence, after the limits: a refusal, never a traceback.
        raise ReadError(f"{file_name}: not enough memory to read this file; lower the REACH_MAX_* limits "
                        "(REACH_MAX_ROWS, REACH_MAX_CELLS) or give the process more memory") from None


def _read_any(file_name: str, data: bytes, lim: Limits, budget: _Budget) -> list[Table]:
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        try:
            kind = _zip_kind(data)
            if kind == "xlsx":
                return _read_xlsx(file_name, file_name, data, lim, budget)
            if kind is not None:
                raise ReadError(messages.not_an_export(file_name, kind))
            return _read_zip(file_name, data, lim, budget)
        except _DAMAGED as e:
            # A damaged archive fails deep inside zipfile/zlib/openpyxl with many error types.
            kind = "workbook" if b"xl/" in data[:2000] else "zip"
            raise ReadError(Message("read.damaged", source=file_name, what=Message(f"read.damaged.{kind}"),
                                    detail=f"{type(e).__name__}: {e}")) from None
    kind = kinds.of_bytes(data)
    if kind is not None:
        # A PDF, an image, a Word file: said as such, with where an export comes from, rather
        # than "the file has no table" after reading it as text.
        raise ReadError(messages.not_an_export(file_name, kind))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReadError(Message("read.old_xls", source=file_name))
    return _read_text(file_name, file_name, data, lim=lim, budget=budget)


# --- text files -------------------------------------------------------------------------------

def decode(source: str, data: bytes) -> str:
    """The whole text (for small files: a roster); the reader itself decodes as a stream."""
    encoding, offset = text_encoding(source, data)
    return data[offset:].decode(encoding)


def text_encoding(source: str, data: bytes) -> tuple[str, int]:
    """(encoding, bytes of BOM to skip) of a text file, checked over the whole file without
    keeping a decoded copy. Raises ReadError naming the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _checked(source, data, 3, "utf-8"), 3
    if data.startswith(b"\xff\xfe"):
        return _checked(source, data, 2, "utf-16-le"), 2
    if data.startswith(b"\xfe\xff"):
        return _checked(source, data, 2, "utf-16-be"), 2
    head = data[:4000]
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if len(data) % 2 == 0 and len(head) >= 8 and max(odd, even) >= 0.3 * len(head) / 2 \
            and min(odd, even) < 0.1 * max(odd, even):
        # UTF-16 without a BOM: ASCII text leaves a NUL in every other byte, all on one side.
        return _checked(source, data, 0, "utf-16-le" if odd > even else "utf-16-be"), 0
    if b"\x00" in head:
        raise ReadError(messages.binary_file(source))
    tried = []
    for enc in ENCODINGS_WITHOUT_BOM:
        bad = _first_bad_byte(data, 0, enc)
        if bad is None:
            return enc, 0
        tried.append(f"{enc} (byte {bad}: {data[bad:bad + 4]!r})")
    raise ReadError(Message("read.encoding", source=source, tried=", ".join(tried)))


_DECODE_CHUNK = 1 << 20


def _first_bad_byte(data: bytes, offset: int, encoding: str) -> int | None:
    """Offset (from ``offset``) of the first byte that is not valid ``encoding``, else None;
    decoded in chunks whose text is dropped at once (a 100 MB file never exists as a str)."""
    dec = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    i = offset
    try:
        while i < len(data):
            pending = len(dec.getstate()[0])
            dec.decode(view[i:i + _DECODE_CHUNK])
            i += _DECODE_CHUNK
        i, pending = len(data), len(dec.getstate()[0])
        dec.decode(b"", final=True)
    except UnicodeDecodeError as e:
        return max(0, i - pending + e.start - offset)
    return None


def _checked(source: str, data: bytes, offset: int, encoding: str) -> str:
    bad = _first_bad_byte(data, offset, encoding)
    if bad is not None:
        raise ReadError(Message("read.bad_bytes", source=source, encoding=encoding, byte=bad,
                                bytes=repr(data[offset + bad:offset + bad + 4])))
    return encoding


def _lines(stream, source: str, lim: Limits, first_line: int):
    """The physical lines of a text stream (terminators kept, as csv wants them), refusing a line
    longer than the limit before it is ever held whole."""
    n = first_line
    while True:
        line = stream.readline(lim.line_length + 2)
        if not line:
            return
        if len(line) > lim.line_length and len(line.rstrip("\r\n")) > lim.line_length:
            raise over_limit(f"{source}, line {n}", "line_length", lim.line_length,
                             f"a line longer than {lim.line_length:,} characters")
        n += 1
        yield line


def _read_text(file_name: str, source: str, data: bytes, member: str | None = None,
               lim: Limits | None = None, budget: _Budget | None = None) -> list[Table]:
    lim = lim or limits()
    budget = budget or _Budget(lim)
    fast = _read_text_fast(file_name, source, data, member, lim, budget)
    if fast is not None:
        return fast
    encoding, offset = text_encoding(source, data)
    raw = io.BytesIO(data)  # shares the bytes (no copy until written)
    raw.seek(offset)
    stream = io.TextIOWrapper(raw, encoding=encoding, newline="")
    lines = _lines(stream, source, lim, 1)
    first = next(lines, "")
    delimiter = None
    skipped = 0
    mark = first.strip().strip('"')
    if mark.lower().startswith("sep=") and len(mark) >= 5:
        delimiter = mark[4]
        skipped = 1
        first = next(lines, "")
    if delimiter is None:
        delimiter = _sniff_delimiter(first)
    reader = csv.reader(itertools.chain([first] if first else [], lines), delimiter=delimiter, strict=False)
    out = _Sections(file_name, source, member, None, lim, budget)
    try:
        start = 1
        for row in reader:
            out.add(row, start + skipped)
            start = reader.line_num + 1
    except csv.Error as e:
        raise ReadError(Message("read.csv", source=source, line=reader.line_num + skipped, detail=str(e))) from None
    return out.finish()


# The fast path reads a plain UTF-8 (or ASCII) file with pandas' C parser straight from the bytes:
# no decoded copy of the whole text, no list per row. It gives exactly what the csv-module path
# above gives, and steps aside (returns None) whenever it cannot prove that: other encodings, NUL
# bytes, a lone CR, a record spanning lines (a quoted newline) or a line of spaces (the row count
# then differs from the non-empty lines counted), a line longer than csv.field_size_limit() or the
# line limit, anything pandas refuses. It also steps aside where its cost is not proportional to
# the data: lines of under 8 bytes on average (blank lines, padding, lone cells: 8 bytes of arrays
# per line here, nothing in the csv path), a line that may hold more cells than the column limit,
# more lines than the row limit, thousands of sections or of title-like lines. The csv path then
# refuses exactly, naming the line.

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 24


class _NotFast(Exception):
    """The fast path cannot be sure of giving the csv module's result: use the csv module."""


def _utf8_valid(data: bytes) -> bool:
    if data.isascii():
        return True
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for i in range(0, len(data), _DECODE_CHUNK):
            dec.decode(view[i:i + _DECODE_CHUNK])  # its text (4 bytes a character with an emoji) is dropped at once
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _newlines(data: bytes, start: int):
    """Offsets of every b"\\n" at or after ``start``, and the longest line in bytes."""
    import numpy as np

    found, longest, prev = [], 0, start - 1
    for i in range(start, len(data), _CHUNK):
        chunk = np.frombuffer(data, dtype=np.uint8, count=min(_CHUNK, len(data) - i), offset=i)
        pos = np.flatnonzero(chunk == 10).astype(np.int64) + i
        if len(pos):
            longest = max(longest, int(pos[0] - prev - 1), int(np.diff(pos).max(initial=0)) - 1)
            prev = int(pos[-1])
            found.append(pos)
    longest = max(longest, len(data) - prev - 1)
    return (np.concatenate(found) if found else np.zeros(0, dtype=np.int64)), longest


def _lines_with(data: bytes, start: int, nl, byte: int):
    """A bool per line: does it hold ``byte``? (chunked: no array as large as the file)."""
    import numpy as np

    has = np.zeros(len(nl) + 1, dtype=bool)
    for i in range(start, len(data), _CHUNK):
        chunk = np.frombuffer(data, dtype=np.uint8, count=min(_CHUNK, len(data) - i), offset=i)
        pos = np.flatnonzero(chunk == byte) + i
        has[np.searchsorted(nl, pos)] = True
    return has


def _most_cells(data: bytes, start: int, nl, delimiter: str) -> int:
    """An upper bound of the cells in any one line (quoted delimiters count too)."""
    import numpy as np

    counts = np.zeros(len(nl) + 1, dtype=np.int64)
    d = ord(delimiter)
    for i in range(start, len(data), _CHUNK):
        chunk = np.frombuffer(data, dtype=np.uint8, count=min(_CHUNK, len(data) - i), offset=i)
        pos = np.flatnonzero(chunk == d) + i
        counts += np.bincount(np.searchsorted(nl, pos), minlength=len(counts))
    return int(counts.max(initial=0)) + 1


def _read_text_fast(file_name: str, source: str, data: bytes, member: str | None,
                    lim: Limits | None = None, budget: _Budget | None = None) -> list[Table] | None:
    import numpy as np

    lim = lim or limits()
    budget = budget or _Budget(lim)
    if len(data) < 2 or data.startswith((b"\xff\xfe", b"\xfe\xff", _BOM + _BOM)) or b"\x00" in data \
            or b"\r" in data and data.count(b"\r") != data.count(b"\r\n") or not _utf8_valid(data):
        return None
    start = 3 if data.startswith(_BOM) else 0
    n_nl = data.count(b"\n")
    if n_nl > 4096 and n_nl * 8 > len(data):
        # Lines shorter than 8 bytes on average (blank lines, padding, lone cells): the arrays
        # below and pandas' frame cost 8 bytes and more per line, the csv path nothing for them.
        return None
    nl, longest = _newlines(data, start)
    if longest > min(csv.field_size_limit(), lim.line_length) or not len(nl) and len(data) - start > 1 << 16:
        return None
    first_end = int(nl[0]) if len(nl) else len(data)
    first = data[start:first_end].decode("utf-8")
    if first.strip().strip('"').lower().startswith("sep="):
        return None  # Excel's "sep=" line: rare, and only in small files
    delimiter = _sniff_delimiter(first)
    n_lines = len(nl) + (0 if data.endswith(b"\n") else 1)
    # Empty lines (section breaks) are skipped by pandas itself and never become rows: their
    # number is known from the newline offsets, so each row's line is still known exactly.
    ends = np.append(nl, len(data))[:n_lines]
    begins = np.concatenate(([start], nl + 1))[:n_lines]
    length = ends - begins
    cr = np.zeros(n_lines, dtype=bool)
    if b"\r" in data:
        ok = length > 0
        cr[ok] = np.frombuffer(data, dtype=np.uint8)[ends[ok] - 1] == 13
    empty = (length == 0) | ((length == 1) & cr)
    kept = np.flatnonzero(~empty)
    del ends, begins, length, cr, empty  # 40 bytes a line, not needed while the cells are read
    if len(kept) > lim.rows + 1000:
        return None  # the csv path counts exactly and refuses
    if longest + 1 > lim.columns and _most_cells(data, start, nl, delimiter) > lim.columns:
        return None  # a row too wide: the csv path says which line
    columns = _cells_by_column(data, delimiter, len(kept))
    if columns is None:
        return None
    if not len(kept):
        raise ReadError(Message("read.no_table", source=source))
    try:
        return _tables_from_columns(file_name, source, data, start, nl, columns, delimiter, member,
                                    kept, lim, budget)
    except _NotFast:
        return None


_ROWS_PER_CHUNK = 1 << 17  # a multiple of the C parser's own buffer of rows (32,768 at 17 columns)


def _cells_by_column(data: bytes, delimiter: str, rows: int) -> list | None:
    """Every cell, as the rows of one object block (one row of it per column), or None when
    pandas refuses the file or does not make one row per non-empty line (a quoted newline: a
    record over several lines; a line of spaces): line numbers then need the csv module.

    The rows are known before parsing, so the block is allocated once and pandas' frames come
    a chunk of rows at a time: its frame of the whole file (17 object columns at a million rows,
    and its concatenation of internal chunks) never exists next to the block."""
    import numpy as np

    block = None
    done = 0
    try:
        with pd.read_csv(io.BytesIO(data), sep=delimiter, header=None, dtype=object, na_filter=False,
                         skip_blank_lines=True, engine="c", encoding="utf-8", quotechar='"',
                         doublequote=True, skipinitialspace=False, chunksize=_ROWS_PER_CHUNK) as chunks:
            for chunk in chunks:
                m, width = chunk.shape
                if block is None:
                    if width < 1:
                        return None
                    block = np.empty((width, rows), dtype=object)
                if width != len(block) or done + m > rows:
                    return None  # cannot happen with one parser, but then the csv module decides
                for j in range(width):
                    block[j, done:done + m] = chunk[j].to_numpy(dtype=object)
                done += m
                del chunk
    except Exception:  # pandas refuses what the csv module may accept: let the csv module decide
        return None
    if block is None or done != rows:
        return None
    return list(block)


def _exact_row(data: bytes, start: int, nl, i: int, delimiter: str) -> list[str]:
    """Line i as the csv module reads it (the fast path has one record per line)."""
    a = start if i == 0 else int(nl[i - 1]) + 1
    b = int(nl[i]) if i < len(nl) else len(data)
    line = data[a:b].decode("utf-8")
    return next(csv.reader([line], delimiter=delimiter, strict=False), [])


def _tables_from_columns(file_name, source, data, start, nl, columns, delimiter, member, kept,
                         lim, budget) -> list[Table]:
    """``_Sections`` for cells held column-wise, rows padded with "" to a common width: row r
    is line kept[r]; the lines between are empty."""
    import numpy as np

    n, width_all = len(columns[0]), len(columns)
    # Rows whose cells past the first are all "" (padding hides a row's length; one comparison
    # over the whole file, the rest over the few rows left). Of those, a row whose first cell is
    # blank too is a blank line (at most one cell: no delimiter on its line, e.g. " " or '""'),
    # padding after a header when every cell is "" (dropped), or data such as " ,".
    lone = np.arange(n)
    for c in columns[1:]:
        if not len(lone):
            break
        lone = lone[c[lone] == ""]
    allempty = np.zeros(n, dtype=bool)
    if len(lone):
        first = columns[0][lone]
        allempty[lone[first == ""]] = True
        lone = lone[pd.Series(first, dtype=object).str.strip().to_numpy() == ""]
    idx = lone
    breaks = np.zeros(n + 1, dtype=bool)
    breaks[n] = True
    cand = idx
    if len(cand):
        if width_all == 1:
            breaks[cand] = True
        else:
            has_delim = _lines_with(data, start, nl, ord(delimiter))
            breaks[cand] = ~has_delim[kept[cand]]
    # The empty lines pandas skipped: a break before the row that follows them.
    gap = np.zeros(n + 1, dtype=bool)
    if n:
        gap[1:n] = np.diff(kept) > 1
    row = lambda i: [c[i] for c in columns]  # noqa: E731  (padded: "" past the row's end)
    filled = lambda i: sum(1 for c in columns if c[i].strip())  # noqa: E731  (padding never counts)
    padding = allempty & ~breaks[:n]
    tables: list[Table] = []
    # Section bounds in rows: [a, b) with no break inside; a break row belongs to no section.
    bounds = []
    a = 0
    for i in np.flatnonzero(breaks | gap).tolist():
        if breaks[i]:
            if i > a:
                bounds.append((a, i))
            a = i + 1
        else:  # gap before row i: the section ends before it, and row i opens the next
            if i > a:
                bounds.append((a, i))
            a = i
        if len(bounds) > 10_000:
            raise _NotFast  # thousands of sections: the csv path does each in constant work
    for a, b in bounds:
        t = _table_from_columns(file_name, source, data, start, nl, columns, delimiter, member,
                                a, b, row, filled, kept, padding, lim, budget)
        if t is not None:
            tables.append(t)
    if not tables:
        raise ReadError(Message("read.no_table", source=source))
    return tables


def _table_from_columns(file_name, source, data, start, nl, columns, delimiter, member, a, b, row, filled,
                        kept, padding, lim, budget):
    """A section of rows a..b-1 (rows of the frame; row r is line kept[r] + 1)."""
    import numpy as np

    title = None
    k = a
    while k < b - 1 and filled(k) <= 1:
        text = next((c.strip() for c in row(k) if c.strip()), "")
        title = text if title is None else title
        k += 1
        if k - a > 1000:
            raise _NotFast  # a long run of title-like lines: the csv path does it in constant memory
    if filled(k) <= 1 and k == b - 1 and len(_exact_row(data, start, nl, int(kept[k]), delimiter)) <= 1:
        return None  # a lone line, e.g. a footer after a blank line
    header_row = row(k)
    if len(_exact_row(data, start, nl, int(kept[k]), delimiter)) > lim.columns:
        raise _NotFast
    while header_row and not header_row[-1].strip():
        header_row = header_row[:-1]  # trailing empty header cells (Excel-saved CSVs)
    width = len(header_row)
    budget.table(source)
    use = np.arange(k + 1, b)
    use = use[~padding[k + 1:b]]
    budget.take(source, len(use), width)
    lines = (kept[use] + 1).tolist()
    extra = np.zeros(len(use), dtype=bool)
    for c in columns[width:]:
        part = c[use]
        nonempty = part != ""
        if nonempty.any():
            extra[nonempty] |= pd.Series(part[nonempty], dtype=object).str.strip().to_numpy() != ""
    extra_lines = [lines[i] for i in np.flatnonzero(extra)[:5]]
    whole = len(use) == b - k - 1
    block = getattr(columns[0], "base", None)
    if whole and block is not None and block.ndim == 2 and all(c.base is block for c in columns[:width]):
        # The whole section, in the reader's block (_cells_by_column): the frame is a view of
        # it, so the cells' pointers exist once, not twice.
        cells = pd.DataFrame(block[:width, k + 1:b].T, copy=False)
    else:
        cells = _frame([columns[j][k + 1:b] if whole else columns[j][use] for j in range(width)], len(use))
    t = Table(
        file_name=file_name,
        source=source,
        header=[clean_header(h) for h in header_row],
        cells=cells,
        lines=lines,
        header_line=int(kept[k]) + 1,
        title=title,
        member=member,
        sheet=None,
    )
    if extra_lines:
        t.notes.append(Message("read.extra_cells", lines=str(extra_lines)))
    return t


def _sniff_delimiter(text: str) -> str:
    """Comma unless the header line plainly uses tabs or semicolons (Excel in some locales)."""
    head = text[: text.find("\n")] if "\n" in text else text
    counts = {d: head.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


# --- workbooks --------------------------------------------------------------------------------

def _zip_kind(data: bytes) -> str | None:
    """"xlsx", another kind of ZIP-based file (DOCX, PPTX, OpenDocument: collectors/kinds.py),
    or None for a plain ZIP (or one too damaged to tell: _read_zip says so)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
            mimetype = None
            if "mimetype" in names and z.getinfo("mimetype").file_size <= 200:
                try:
                    mimetype = z.read("mimetype")
                except _DAMAGED:
                    pass
            return kinds.of_zip(names, mimetype)
    except zipfile.BadZipFile:
        return None


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, datetime):
        return v.isoformat(sep=" ") if (v.hour, v.minute, v.second) != (0, 0, 0) else v.date().isoformat()
    if isinstance(v, (date, time)):
        return v.isoformat()
    return str(v)


def _col_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            n = n * 26 + ord(ch) - 96
        else:
            break
    return n


class _SheetScan:
    """One streaming pass over a sheet's XML before openpyxl reads it: the cells really there
    (``<dimension>`` is the writer's claim and is never believed), how far right and down rows
    reach, and formula cells with no saved value (openpyxl would give them as empty)."""

    MAX_ROW = 1_048_576  # Excel's last row: a larger row number is a damaged or hostile sheet

    def __init__(self, source: str, lim: Limits):
        self.source, self.lim = source, lim
        self.cells = self.padded = self.row_cells = self.col = self.row = 0
        self.in_c = self.has_f = self.has_v = self.in_v = self.is_str = False
        self.ref = ""
        self.no_value: list[str] = []
        self.n_no_value = 0

    def start(self, name, attrs):
        tag = name.rpartition(" ")[2]
        if tag == "c":
            self.cells += 1
            if self.cells > self.lim.cells:
                raise over_limit(self.source, "cells", self.lim.cells, f"more than {self.lim.cells:,} cells in the sheet")
            ref = attrs.get("r")
            self.col = _col_index(ref) if ref else self.col + 1
            self.ref = ref or f"column {self.col} of row {self.row}"
            if self.col > self.lim.columns:
                raise over_limit(self.source, "columns", self.lim.columns,
                                 f"cell {self.ref} is in column {self.col:,}")
            self.row_cells = max(self.row_cells, self.col)
            self.in_c, self.has_f, self.has_v = True, False, False
            self.is_str = attrs.get("t") == "str"
        elif tag == "row":
            self._end_row()
            r = attrs.get("r")
            self.row = int(r) if r and r.isdigit() else self.row + 1
            if self.row > self.MAX_ROW:
                raise ReadError(f"{self.source}: row {self.row:,} is past the last row a workbook can have "
                                f"({self.MAX_ROW:,}); the workbook is damaged")
            self.col = 0
        elif self.in_c and tag == "f":
            self.has_f = True
        elif self.in_c and tag in ("v", "t"):
            # A value, or an inline string's text. An empty <v></v> is a value only for a text
            # result (t="str", a formula giving ""); openpyxl writes one for formulas it never ran.
            self.in_v = True
            self.has_v = self.has_v or (tag == "v" and self.is_str)

    def text(self, data):
        if self.in_v and not self.has_v and data.strip():
            self.has_v = True

    def end(self, name):
        tag = name.rpartition(" ")[2]
        if tag in ("v", "t"):
            self.in_v = False
        elif tag == "c":
            if self.has_f and not self.has_v:
                self.n_no_value += 1
                if len(self.no_value) < 5:
                    self.no_value.append(self.ref)
            self.in_c = False

    def _end_row(self):
        # openpyxl pads each row with empty cells up to its last cell: those cost too.
        self.padded += self.row_cells
        self.row_cells = 0
        if self.padded > self.lim.cells:
            raise over_limit(self.source, "cells", self.lim.cells,
                             f"more than {self.lim.cells:,} cells in the sheet's rows")

    def run(self, stream) -> "_SheetScan":
        p = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = self.start, self.end, self.text

        def no_dtd(*_):
            raise ReadError(f"{self.source}: the sheet declares a DTD, which no workbook does; refusing it")

        p.StartDoctypeDeclHandler = no_dtd
        p.EntityDeclHandler = no_dtd
        try:
            p.ParseFile(stream)
        except xml.parsers.expat.ExpatError as e:
            raise ReadError(f"{self.source}: the sheet is damaged ({e})") from None
        self._end_row()
        return self


def _check_members(source: str, z: zipfile.ZipFile, infos, size: int, lim: Limits) -> None:
    """Refuse a ZIP (or workbook) whose members would inflate past the limits, before inflating.
    zipfile never returns more than a member's declared size (it stops there and then checks
    the CRC), so the declared sizes bound what reading can allocate."""
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > lim.member_bytes:
            raise over_limit(source, "member_bytes", lim.member_bytes,
                             f"ZIP entry {info.filename!r} inflates to {info.file_size:,} bytes")
        if info.file_size > lim.zip_ratio_floor and info.file_size > lim.zip_ratio * max(info.compress_size, 1):
            raise over_limit(source, "zip_ratio", lim.zip_ratio,
                             f"ZIP entry {info.filename!r} inflates {info.file_size // max(info.compress_size, 1):,} "
                             f"times (to {info.file_size:,} bytes)")
    if total > lim.member_bytes:
        raise over_limit(source, "member_bytes", lim.member_bytes, f"the entries inflate to {total:,} bytes")
    if total > lim.zip_ratio_floor and total > lim.zip_ratio * max(size, 1):
        raise over_limit(source, "zip_ratio", lim.zip_ratio,
                         f"the entries inflate {total // max(size, 1):,} times (to {total:,} bytes)")


def _read_xlsx(file_name: str, source: str, data: bytes, lim: Limits | None = None,
               budget: _Budget | None = None) -> list[Table]:
    import openpyxl  # imported here: only workbooks need it

    lim = lim or limits()
    budget = budget or _Budget(lim)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
        _check_members(source, z, infos, len(data), lim)
        for info in infos:
            if info.filename.endswith((".xml", ".rels")):
                with z.open(info) as f:
                    head = f.read(2048)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise ReadError(f"{source}: the workbook part {info.filename!r} declares a DTD, which no "
                                    "workbook does; refusing it")
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except ReadError:
            raise
        except Exception as e:  # openpyxl raises many types for a broken workbook
            raise ReadError(Message("read.not_xlsx", source=source, detail=str(e))) from None
        tables: list[Table] = []
        try:
            for ws in wb.worksheets:
                where = f"{source}!{ws.title}"
                path = (getattr(ws, "_worksheet_path", None) or "").lstrip("/") or None
                scan = None
                if path is not None and path in z.namelist():
                    with z.open(path) as f:
                        scan = _SheetScan(where, lim).run(f)
                elif hasattr(ws, "reset_dimensions"):
                    raise ReadError(f"{where}: the sheet's part is missing from the workbook")
                if hasattr(ws, "reset_dimensions"):
                    ws.reset_dimensions()  # never believe <dimension>: rows are as long as their cells
                out = _Sections(file_name, where, None, ws.title, lim, budget)
                # A sheet has no physical blank lines; an all-empty row separates sections.
                for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
                    row = [_cell_text(v) for v in values]
                    out.add(row if any(c.strip() for c in row) else [], r)
                out.end()
                if scan is not None and scan.n_no_value:
                    cells = ", ".join(scan.no_value) + (", ..." if scan.n_no_value > len(scan.no_value) else "")
                    note = Message("read.formulas", n=f"{scan.n_no_value:,}", cells=cells)
                    for t in out.tables:
                        t.notes.append(note)
                tables += out.tables
        finally:
            wb.close()
    if not tables:
        raise ReadError(Message("read.no_table", source=source))
    return tables


# --- ZIP files --------------------------------------------------------------------------------

def _read_zip(file_name: str, data: bytes, lim: Limits | None = None, budget: _Budget | None = None) -> list[Table]:
    lim = lim or limits()
    budget = budget or _Budget(lim)
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise ReadError(Message("read.not_zip", source=file_name, detail=str(e))) from None
    tables: list[Table] = []
    nested = []
    with z:
        wanted = []
        for info in z.infolist():
            name = info.filename
            if info.is_dir() or name.startswith("__MACOSX/") or name.rsplit("/", 1)[-1].startswith("."):
                continue
            if name.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", name) or re.match(r"^[A-Za-z]:", name):
                raise ReadError(f"{file_name}: refusing ZIP entry {name!r}: absolute path or '..'")
            lower = name.lower()
            if lower.endswith(".zip"):
                nested.append(name)
            if lower.endswith((".xlsx", ".csv", ".tsv", ".txt")):
                wanted.append(info)  # images, PDFs, READMEs: not data, and not worth inflating
        _check_members(file_name, z, wanted, len(data), lim)
        for info in wanted:
            name, lower = info.filename, info.filename.lower()
            try:
                inner = z.read(info)
            except _DAMAGED as e:
                raise ReadError(f"{file_name}: cannot read ZIP entry {name!r} ({type(e).__name__}: {e})") from None
            source = f"{file_name}!{name}"
            if lower.endswith(".xlsx"):
                tables += _read_xlsx(file_name, source, inner, lim, budget)
            else:
                tables += _read_text(file_name, source, inner, member=name, lim=lim, budget=budget)
            del inner
    if not tables:
        hint = (f" (ZIP files inside it, such as {nested[0]!r}, are not opened: unzip it and import what it holds)"
                if nested else "")
        raise ReadError(Message("read.zip_empty", source=file_name, hint=hint))
    for t in tables:
        t.member = t.member or t.source.split("!", 1)[1]
    return tables


# --- rows to tables ---------------------------------------------------------------------------

def _frame(cols: list, n: int) -> pd.DataFrame:
    """A frame of the columns (positional labels), filled into one block that pandas keeps as
    it is: each column list is dropped as soon as it is copied, so the cells' pointers exist
    about once, not three times (lists, Series, the frame's consolidated copy)."""
    import numpy as np

    block = np.empty((len(cols), n), dtype=object)
    for j in range(len(cols)):
        block[j] = cols[j]
        cols[j] = None
    return pd.DataFrame(block.T, copy=False)


def _filled(row: list[str]) -> int:
    return sum(1 for c in row if c.strip())


_SHARE_SAMPLE = 1024  # data rows seen before deciding which columns repeat their values
_SHARE_MAX = 1 << 16  # distinct values a shared column may have before it stops sharing


class _Sections:
    """Rows in, one at a time; tables out. A blank line (a row of at most one cell, blank) ends a
    section; in each section, lines with at most one filled cell above the header are titles or
    notes (Meta's "Facebook Page reach", LinkedIn's note on row 1 of each sheet), the first row
    with two filled cells is the header, and its width is fixed before any column is built: cells
    past it are never stored, nor are blank lines or data rows whose cells are all empty (Excel's
    padding), so neither costs memory however many there are."""

    def __init__(self, file_name, source, member, sheet, lim: Limits, budget: _Budget):
        self.file_name, self.source, self.member, self.sheet = file_name, source, member, sheet
        self.lim, self.budget = lim, budget
        self.tables: list[Table] = []
        self._open()

    def _open(self) -> None:
        self.title = None
        self.pre: list[str] | None = None  # the last line above a header: a title, or the header
        self.pre_line = 0
        self.header: list[str] | None = None
        self.header_line = 0
        self.cols: list[list[str]] = []
        self.lines: list[int] = []
        self.extra: list[int] = []
        self.shared: list[tuple[int, dict[str, str]]] = []  # (column, its distinct values)

    def add(self, row: list[str], line: int) -> None:
        n = len(row)
        if n > self.lim.columns:
            raise over_limit(f"{self.source}, line {line}", "columns", self.lim.columns, f"a row of {n:,} cells")
        if n <= 1 and not (row and row[0].strip()):
            self.end()
            return
        if self.header is None:
            if self.pre is not None and self.title is None:
                self.title = next((c.strip() for c in self.pre if c.strip()), "")
            if _filled(row) <= 1:
                self.pre, self.pre_line = row, line
                return
            self.pre = None
            self._start(row, line)
            return
        width = len(self.cols)
        if not any(row):
            return  # padding: a row of empty cells
        if n > width and len(self.extra) < 5 and any(c.strip() for c in row[width:]):
            self.extra.append(line)
        if n >= width:
            for j in range(width):
                self.cols[j].append(row[j])
        else:
            for j in range(width):
                self.cols[j].append(row[j] if j < n else "")
        for j, memo in self.shared:
            col = self.cols[j]
            v = col[-1]
            col[-1] = memo.setdefault(v, v)
            if len(memo) > _SHARE_MAX:
                self.shared = [(k, m) for k, m in self.shared if k != j]  # not repetitive after all
        self.lines.append(line)
        if len(self.lines) & 0xFFF == 0:
            self.budget.take(self.source, 0x1000, width)
        elif len(self.lines) == _SHARE_SAMPLE:
            self._share()

    def _share(self) -> None:
        """Columns that repeat a few values (counts, dates, a handle) keep one string object per
        value instead of one per cell: a count column of a million rows costs 8 MB, not 58 MB."""
        self.shared = []
        for j, col in enumerate(self.cols):
            memo: dict[str, str] = {}
            for v in col:
                memo.setdefault(v, v)
            if len(memo) <= _SHARE_SAMPLE // 4:
                col[:] = [memo[v] for v in col]
                self.shared.append((j, memo))

    def _start(self, row: list[str], line: int) -> None:
        header_row = row
        while header_row and not header_row[-1].strip():
            header_row = header_row[:-1]  # trailing empty header cells (Excel-saved CSVs)
        self.header, self.header_line = header_row, line
        self.cols = [[] for _ in header_row]

    def end(self) -> None:
        if self.header is None and self.pre is None and self.title is None:
            return  # nothing open (a run of blank lines): no state to reset, millions of times
        if self.header is None and self.pre is not None and len(self.pre) > 1:
            self._start(self.pre, self.pre_line)  # a header without data rows
        if self.header is not None:
            self.budget.table(self.source)
            width = len(self.cols)
            self.budget.take(self.source, len(self.lines) & 0xFFF, width)
            cells = _frame(self.cols, len(self.lines))
            t = Table(file_name=self.file_name, source=self.source,
                      header=[clean_header(h) for h in self.header], cells=cells, lines=self.lines,
                      header_line=self.header_line, title=self.title, member=self.member, sheet=self.sheet)
            if self.extra:
                t.notes.append(Message("read.extra_cells", lines=str(self.extra[:5])))
            self.tables.append(t)
        self._open()

    def finish(self) -> list[Table]:
        self.end()
        if not self.tables:
            raise ReadError(Message("read.no_table", source=self.source))
        return self.tables

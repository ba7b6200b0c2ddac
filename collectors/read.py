"""Read: bytes of an export file to tables of text cells.

This is the only module that knows about encodings, delimiters, preamble lines, workbook sheets
and ZIP members. It decides nothing about platforms: it hands every section of every file or
sheet to detection as a ``Table`` whose cells are all strings ("" when empty), with each row's
physical line number so that a rejected row can be pointed at in the original file.

Quirks handled here because real files have them: UTF-8 with and without BOM, UTF-16 with a
BOM (Meta page-level downloads), a ``sep=,`` first line, a title line above the header, several
blank-line-separated sections in one file, CRLF, no final newline, quoted newlines, XLSX sheets
whose first row is a note, and ZIP files of CSVs (YouTube, TikTok).
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time

import pandas as pd

from .errors import ReadError

# Candidates tried, in order, for a file without a byte-order mark. GB18030 is a superset of
# GBK/GB2312, which is what Excel on a Chinese Windows writes; it comes after UTF-8 because a
# valid UTF-8 file is almost never valid GB18030 text by accident, while the reverse is common.
ENCODINGS_WITHOUT_BOM = ("utf-8", "gb18030")

_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError,
            UnicodeDecodeError, KeyError, RuntimeError, IndexError)

MAX_MEMBER_BYTES = 1 << 30  # a ZIP member that inflates past 1 GiB is refused (ZIP bombs)

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
    """Every table in the file. Raises ReadError when the bytes cannot be read at all."""
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        try:
            if _is_xlsx(data):
                return _read_xlsx(file_name, file_name, data)
            return _read_zip(file_name, data)
        except _DAMAGED as e:
            # A damaged archive fails deep inside zipfile/zlib/openpyxl with many error types.
            kind = "workbook" if b"xl/" in data[:2000] else "ZIP file"
            raise ReadError(f"{file_name}: the {kind} is damaged and cannot be read ({type(e).__name__}: {e})") from None
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReadError(
            f"{file_name}: this is an old Excel 97-2003 workbook (.xls); open it in Excel or "
            "LibreOffice and save it as .xlsx or .csv, then import that"
        )
    return _read_text(file_name, file_name, data)


# --- text files -------------------------------------------------------------------------------

def decode(source: str, data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return _decode(source, data[3:], "utf-8")
    if data.startswith(b"\xff\xfe"):
        return _decode(source, data[2:], "utf-16-le")
    if data.startswith(b"\xfe\xff"):
        return _decode(source, data[2:], "utf-16-be")
    head = data[:4000]
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if len(data) % 2 == 0 and len(head) >= 8 and max(odd, even) >= 0.3 * len(head) / 2 \
            and min(odd, even) < 0.1 * max(odd, even):
        # UTF-16 without a BOM: ASCII text leaves a NUL in every other byte, all on one side.
        return _decode(source, data, "utf-16-le" if odd > even else "utf-16-be")
    if b"\x00" in head:
        raise ReadError(f"{source}: this is a binary file, not a CSV export or a workbook")
    tried = []
    for enc in ENCODINGS_WITHOUT_BOM:
        try:
            return data.decode(enc)
        except UnicodeDecodeError as e:
            tried.append(f"{enc} (byte {e.start}: {data[e.start:e.start + 4]!r})")
    raise ReadError(
        f"{source}: cannot tell the text encoding; tried " + ", ".join(tried)
        + " (GB18030 includes GBK and GB2312, what Excel on a Chinese Windows saves; UTF-16 is "
        "recognised by its byte-order mark). Save the file as UTF-8 CSV and import it again"
    )


def _decode(source: str, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise ReadError(
            f"{source}: the file starts like {encoding} but byte {e.start} "
            f"({data[e.start:e.start + 4]!r}) is not valid {encoding}"
        ) from None


def _read_text(file_name: str, source: str, data: bytes, member: str | None = None) -> list[Table]:
    fast = _read_text_fast(file_name, source, data, member)
    if fast is not None:
        return fast
    text = decode(source, data)
    delimiter = None
    first_line_end = text.find("\n")
    first = text[: first_line_end if first_line_end >= 0 else len(text)].strip().strip('"')
    skipped = 0
    if first.lower().startswith("sep=") and len(first) >= 5:
        delimiter = first[4]
        text = text[first_line_end + 1 :] if first_line_end >= 0 else ""
        skipped = 1
    if delimiter is None:
        delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        start = 1
        for row in reader:
            rows.append(row)
            lines.append(start + skipped)
            start = reader.line_num + 1
    except csv.Error as e:
        raise ReadError(f"{source}, line {reader.line_num + skipped}: cannot read as CSV: {e}") from None
    return _tables_from_rows(file_name, source, rows, lines, member=member)


# The fast path reads a plain UTF-8 (or ASCII) file with pandas' C parser straight from the bytes:
# no decoded copy of the whole text, no list per row, equal cells shared within a chunk. It gives
# exactly what the csv-module path above gives, and steps aside (returns None) whenever it cannot
# prove that: other encodings, NUL bytes, a lone CR, a record spanning lines (a quoted newline),
# a line longer than csv.field_size_limit(), anything pandas refuses, and the rare rows whose
# true cell count matters (a lone cell closing a section).

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
        for i in range(0, len(data), _CHUNK):
            dec.decode(view[i:i + _CHUNK])
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


def _read_text_fast(file_name: str, source: str, data: bytes, member: str | None) -> list[Table] | None:
    if len(data) < 2 or data.startswith((b"\xff\xfe", b"\xfe\xff", _BOM + _BOM)) or b"\x00" in data \
            or b"\r" in data and data.count(b"\r") != data.count(b"\r\n") or not _utf8_valid(data):
        return None
    start = 3 if data.startswith(_BOM) else 0
    nl, longest = _newlines(data, start)
    if longest > csv.field_size_limit() or not len(nl) and len(data) - start > 1 << 16:
        return None
    first_end = int(nl[0]) if len(nl) else len(data)
    first = data[start:first_end].decode("utf-8")
    if first.strip().strip('"').lower().startswith("sep="):
        return None  # Excel's "sep=" line: rare, and only in small files
    delimiter = _sniff_delimiter(first)
    n_lines = len(nl) + (0 if data.endswith(b"\n") else 1)
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=delimiter, header=None, dtype=object, na_filter=False,
                            skip_blank_lines=False, engine="c", encoding="utf-8", quotechar='"',
                            doublequote=True, skipinitialspace=False)
    except Exception:  # pandas refuses what the csv module may accept: let the csv module decide
        return None
    if len(frame) != n_lines or frame.shape[1] < 1:
        return None  # a quoted newline somewhere: line numbers need the csv module
    columns = [frame[j].to_numpy(dtype=object) for j in range(frame.shape[1])]
    del frame
    try:
        return _tables_from_columns(file_name, source, data, start, nl, columns, delimiter, member)
    except _NotFast:
        return None


def _exact_row(data: bytes, start: int, nl, i: int, delimiter: str) -> list[str]:
    """Row i as the csv module reads it (the fast path has one record per line)."""
    a = start if i == 0 else int(nl[i - 1]) + 1
    b = int(nl[i]) if i < len(nl) else len(data)
    line = data[a:b].decode("utf-8")
    return next(csv.reader([line], delimiter=delimiter, strict=False), [])


def _tables_from_columns(file_name, source, data, start, nl, columns, delimiter, member) -> list[Table]:
    """``_tables_from_rows`` for cells held column-wise, rows padded with "" to a common width."""
    import numpy as np

    n, width_all = len(columns[0]), len(columns)
    row = lambda i: [c[i] for c in columns]  # noqa: E731  (padded: "" past the row's end)
    filled = lambda i: sum(1 for c in columns if c[i].strip())  # noqa: E731  (padding never counts)
    # A section break is a row of at most one cell, and that cell blank. Padding hides a row's
    # length, so rows that look like one (all cells blank) are read again exactly.
    idx = np.arange(n)
    for c in columns[1:]:
        if not len(idx):
            break
        idx = idx[c[idx] == ""]
    breaks = np.zeros(n + 1, dtype=bool)
    breaks[n] = True
    for i in idx:
        if not columns[0][i].strip():
            if width_all == 1:
                breaks[i] = True
            else:
                r = _exact_row(data, start, nl, int(i), delimiter)
                breaks[i] = not (len(r) > 1 or (r and r[0].strip()))
    tables: list[Table] = []
    stops = np.flatnonzero(breaks)
    a = 0
    for b in stops.tolist():
        if b > a:
            t = _table_from_columns(file_name, source, data, start, nl, columns, delimiter, member,
                                    a, b, row, filled)
            if t is not None:
                tables.append(t)
        a = b + 1
    if not tables:
        raise ReadError(f"{source}: the file has no table (it is empty or has only a title)")
    return tables


def _table_from_columns(file_name, source, data, start, nl, columns, delimiter, member, a, b, row, filled):
    """``_table_from_block`` for rows a..b-1 (0-based rows of the file, one per line)."""
    import numpy as np

    title = None
    k = a
    while k < b - 1 and filled(k) <= 1:
        text = next((c.strip() for c in row(k) if c.strip()), "")
        title = text if title is None else title
        k += 1
    if filled(k) <= 1 and k == b - 1 and len(_exact_row(data, start, nl, k, delimiter)) <= 1:
        return None  # a lone line, e.g. a footer after a blank line
    header_row = row(k)
    while header_row and not header_row[-1].strip():
        header_row = header_row[:-1]  # trailing empty header cells (Excel-saved CSVs)
    width = len(header_row)
    lines = list(range(k + 2, b + 1))  # row i is line i + 1: one record per line here
    extra = np.zeros(b - k - 1, dtype=bool)
    for c in columns[width:]:
        part = c[k + 1:b]
        extra |= np.fromiter((bool(v.strip()) for v in part), dtype=bool, count=len(part)) \
            if (part != "").any() else False
    extra_lines = [lines[i] for i in np.flatnonzero(extra)]
    cells = pd.DataFrame({j: pd.Series(columns[j][k + 1:b], dtype=object) for j in range(width)})
    t = Table(
        file_name=file_name,
        source=source,
        header=[clean_header(h) for h in header_row],
        cells=cells,
        lines=lines,
        header_line=k + 1,
        title=title,
        member=member,
        sheet=None,
    )
    if extra_lines:
        t.notes.append(f"rows with more cells than the header at lines {extra_lines[:5]}")
    return t


def _sniff_delimiter(text: str) -> str:
    """Comma unless the header line plainly uses tabs or semicolons (Excel in some locales)."""
    head = text[: text.find("\n")] if "\n" in text else text
    counts = {d: head.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


# --- workbooks --------------------------------------------------------------------------------

def _is_xlsx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "xl/workbook.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False


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


def _read_xlsx(file_name: str, source: str, data: bytes) -> list[Table]:
    import openpyxl  # imported here: only workbooks need it

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken workbook
        raise ReadError(f"{source}: not a readable .xlsx workbook ({e})") from None
    tables: list[Table] = []
    try:
        for ws in wb.worksheets:
            rows = [[_cell_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
            lines = list(range(1, len(rows) + 1))
            # A sheet has no physical blank lines; an all-empty row separates sections.
            rows = [r if any(c.strip() for c in r) else [] for r in rows]
            tables += _tables_from_rows(file_name, f"{source}!{ws.title}", rows, lines, sheet=ws.title)
    finally:
        wb.close()
    return tables


# --- ZIP files --------------------------------------------------------------------------------

def _read_zip(file_name: str, data: bytes) -> list[Table]:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise ReadError(f"{file_name}: not a readable ZIP file ({e})") from None
    tables: list[Table] = []
    with z:
        for info in z.infolist():
            name = info.filename
            if info.is_dir() or name.startswith("__MACOSX/") or name.rsplit("/", 1)[-1].startswith("."):
                continue
            if name.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", name) or re.match(r"^[A-Za-z]:", name):
                raise ReadError(f"{file_name}: refusing ZIP entry {name!r}: absolute path or '..'")
            if info.file_size > MAX_MEMBER_BYTES:
                raise ReadError(f"{file_name}: ZIP entry {name!r} inflates to {info.file_size} bytes (limit 1 GiB)")
            lower = name.lower()
            if not lower.endswith((".xlsx", ".csv", ".tsv", ".txt")):
                continue  # images, PDFs, READMEs: not data, and not worth inflating
            try:
                inner = z.read(info)
            except _DAMAGED as e:
                raise ReadError(f"{file_name}: cannot read ZIP entry {name!r} ({type(e).__name__}: {e})") from None
            source = f"{file_name}!{name}"
            if lower.endswith(".xlsx"):
                tables += _read_xlsx(file_name, source, inner)
            elif lower.endswith((".csv", ".tsv", ".txt")):
                tables += _read_text(file_name, source, inner, member=name)
            # Other members (images, PDFs, README files) are not data: leave them.
    if not tables:
        raise ReadError(f"{file_name}: the ZIP file holds no CSV or XLSX export")
    for t in tables:
        t.member = t.member or t.source.split("!", 1)[1]
    return tables


# --- rows to tables ---------------------------------------------------------------------------

def _filled(row: list[str]) -> int:
    return sum(1 for c in row if c.strip())


def _tables_from_rows(file_name, source, rows, lines, member=None, sheet=None) -> list[Table]:
    """Split rows into sections at blank lines; in each, lines above the header are titles."""
    tables: list[Table] = []
    block: list[int] = []
    for i, row in enumerate(rows + [[]]):
        if len(row) > 1 or (row and row[0].strip()):
            block.append(i)  # a row of empty cells (",,,") is data, not a section break
        elif block:
            t = _table_from_block(file_name, source, rows, lines, block, member, sheet)
            if t is not None:
                tables.append(t)
            block = []
    if not tables:
        raise ReadError(f"{source}: the file has no table (it is empty or has only a title)")
    return tables


def _table_from_block(file_name, source, rows, lines, block, member, sheet) -> Table | None:
    title = None
    k = 0
    # Lines with a single filled cell above the header are titles or notes (Meta's
    # "Facebook Page reach", LinkedIn's note on row 1 of each sheet).
    while k < len(block) - 1 and _filled(rows[block[k]]) <= 1:
        text = next((c.strip() for c in rows[block[k]] if c.strip()), "")
        title = text if title is None else title
        k += 1
    if _filled(rows[block[k]]) <= 1 and k == len(block) - 1 and len(rows[block[k]]) <= 1:
        return None  # a lone line, e.g. a footer after a blank line
    header_row = rows[block[k]]
    while header_row and not header_row[-1].strip():
        header_row = header_row[:-1]  # trailing empty header cells (Excel-saved CSVs)
    width = len(header_row)
    data_idx = block[k + 1 :]
    cols: list[list[str]] = [[] for _ in range(width)]
    extra_lines: list[int] = []
    for i in data_idx:
        row = rows[i]
        n = len(row)
        if n > width and any(c.strip() for c in row[width:]):
            extra_lines.append(lines[i])
        for j in range(width):
            cols[j].append(row[j] if j < n else "")
    cells = pd.DataFrame({j: pd.Series(cols[j], dtype=object) for j in range(width)})
    t = Table(
        file_name=file_name,
        source=source,
        header=[clean_header(h) for h in header_row],
        cells=cells,
        lines=[lines[i] for i in data_idx],
        header_line=lines[block[k]],
        title=title,
        member=member,
        sheet=sheet,
    )
    if extra_lines:
        t.notes.append(f"rows with more cells than the header at lines {extra_lines[:5]}")
    return t

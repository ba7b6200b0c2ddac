"""A corpus of hostile file shapes for the reader: small files that a careless reader turns into
gigabytes, minutes or a traceback.

Each entry is built in memory by a function (nothing is stored in the repository) and is at
most a few megabytes on disk, so that the whole corpus runs in seconds; the ZIP entries are built
by streaming the compressor, so a 100 MB member never exists uncompressed here either.
tests/test_hostile_inputs.py reads every entry in a subprocess under an address-space cap.

    .venv/bin/python tests/hostile_corpus.py DIR     # writes the corpus into DIR, to try by hand
"""
from __future__ import annotations

import io
import struct
import sys
import zipfile
from pathlib import Path

X_HEADER = b"Post id,Date,Post text,Post Link,Impressions,Likes\n"
X_ROW = b'1987315260559167965,"Sun, Nov 9, 2025",hello,https://x.com/a/status/1987315260559167965,1351,5\n'


def _zip(members: dict[str, bytes | tuple[bytes, int]], level: int = 9) -> bytes:
    """A ZIP; a member given as (chunk, times) is written by streaming the compressor."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, body in members.items():
            if isinstance(body, tuple):
                chunk, times = body
                with z.open(name, "w", force_zip64=True) as f:
                    for _ in range(times):
                        f.write(chunk)
            else:
                z.writestr(name, body)
    return buf.getvalue()


def _lying_sizes(data: bytes, claimed: int) -> bytes:
    """A ZIP whose headers claim each member inflates to ``claimed`` bytes (a size lie)."""
    b = bytearray(data)
    i = 0
    while (i := b.find(b"PK\x03\x04", i)) >= 0:
        struct.pack_into("<I", b, i + 22, claimed)
        i += 4
    i = 0
    while (i := b.find(b"PK\x01\x02", i)) >= 0:
        struct.pack_into("<I", b, i + 24, claimed)
        i += 4
    return bytes(b)


def _xlsx(sheet_xml: bytes, shared: bytes | tuple[bytes, int] | None = None, extra: dict | None = None) -> bytes:
    """A minimal workbook around one sheet's XML (and a sharedStrings part when given)."""
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rels_ns = b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    ct = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          b'<Default Extension="xml" ContentType="application/xml"/>'
          b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          + (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
             if shared is not None else b"") + b"</Types>")
    root_rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                 b"</Relationships>")
    wb = (b'<?xml version="1.0" encoding="UTF-8"?><workbook ' + ns + b" " + rels_ns + b">"
          b'<sheets><sheet name="Posts" sheetId="1" r:id="rId1"/></sheets></workbook>')
    wb_rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
               + (b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                  if shared is not None else b"") + b"</Relationships>")
    members: dict = {"[Content_Types].xml": ct, "_rels/.rels": root_rels, "xl/workbook.xml": wb,
                     "xl/_rels/workbook.xml.rels": wb_rels, "xl/worksheets/sheet1.xml": sheet_xml}
    if shared is not None:
        members["xl/sharedStrings.xml"] = shared
    members.update(extra or {})
    return _zip(members)


def sheet(rows: bytes, dimension: bytes | None = None) -> bytes:
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    dim = b'<dimension ref="' + dimension + b'"/>' if dimension else b""
    return b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + ns + b">" + dim + b"<sheetData>" + rows + b"</sheetData></worksheet>"


def _is(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


HEADER_ROW = b'<row r="1">' + _is("A1", "Post id") + _is("B1", "Impressions") + b"</row>"
DATA_ROW = b'<row r="2">' + _is("A2", "1987315260559167965") + b'<c r="B2"><v>1351</v></c></row>'


def corpus() -> dict[str, bytes]:
    """name -> bytes of every hostile shape (a file's extension is part of its name)."""
    c: dict[str, bytes] = {}
    # --- blank and padding lines: must cost nothing
    c["blank_lines.csv"] = X_HEADER + X_ROW + b"\n" * 3_000_000
    c["blank_crlf_lines.csv"] = X_HEADER.replace(b"\n", b"\r\n") + b"\r\n" * 1_500_000
    c["padding_rows.csv"] = X_HEADER + X_ROW + b",,,,,\n" * 500_000
    c["space_lines.csv"] = X_HEADER + X_ROW + b" \n" * 1_500_000
    c["blank_lines_first.csv"] = b"\n" * 2_000_000 + X_HEADER + X_ROW
    c["lone_cells.csv"] = b"x\n" * 1_500_000
    c["title_lines_then_header.csv"] = b"note,\n" * 500_000 + X_HEADER + X_ROW
    c["many_sections.csv"] = b"a,b\n1,2\n\n" * 200_000
    c["bom_then_blank.csv"] = b"\xef\xbb\xbf" + b"\r\n" * 1_000_000
    # --- long lines, endless quotes, many columns
    c["huge_line.csv"] = X_HEADER + b"a" * 3_000_000
    c["huge_line_after_rows.csv"] = X_HEADER + X_ROW * 10 + b"9," * 1_500_000
    c["endless_quote.csv"] = X_HEADER + b'1,"' + b"a" * 3_000_000
    c["endless_quote_lines.csv"] = X_HEADER + b'1,"' + b"ab\n" * 1_000_000
    c["quote_storm.csv"] = b'"' * 3_000_000
    c["many_columns.csv"] = b"c," * 1_000_000 + b"\n"
    c["many_columns_short_cells.csv"] = X_HEADER + b"," * 400_000 + b"\n"
    c["wide_rows.csv"] = b"a,b\n" + (b"," * 20_000 + b"\n") * 100
    c["many_tab_columns.tsv"] = b"\t".join([b"h"] * 200_000) + b"\n"
    c["sep_line_then_blanks.csv"] = b"sep=;\n" + b"\n" * 1_000_000
    # --- encodings and bytes
    c["utf16_odd_length.csv"] = b"\xff\xfe" + "Post id,Impressions\n1,2\n".encode("utf-16-le") + b"\x00"
    c["utf16_odd_huge.csv"] = b"\xff\xfe" + ("a,b\n" + "1,2\n" * 300_000).encode("utf-16-le") + b"x"
    c["utf16_no_bom.csv"] = ("Post id,Impressions\n" + "1,2\n" * 200_000).encode("utf-16-le")
    c["utf16_blank_lines.csv"] = b"\xff\xfe" + ("a,b\n1,2\n" + "\n" * 1_000_000).encode("utf-16-le")
    c["nul_bytes.csv"] = X_HEADER + X_ROW + b"\x00" * 1_000_000
    c["nul_after_head.csv"] = X_HEADER + X_ROW * 100 + b"1,\x00,\x00\n" * 200_000
    c["bad_utf8_at_end.csv"] = X_HEADER + X_ROW * 20_000 + b"\x80\xff\n"
    c["one_emoji_widens_text.csv"] = X_HEADER + X_ROW * 20_000 + "\U0001f35c\n".encode()
    c["gb18030_half_char_at_end.csv"] = "作品名称,播放量\n".encode("gb18030") + "义乌,1\n".encode("gb18030") * 100_000 + b"\x81"
    c["lone_cr_lines.csv"] = b"a,b\r" + b"1,2\r" * 500_000
    c["double_bom.csv"] = b"\xef\xbb\xbf\xef\xbb\xbf" + X_HEADER + X_ROW
    c["binary_noise.csv"] = bytes((i * 7919 + 13) % 256 for i in range(300_000))
    # --- ZIP files
    c["zip_bomb_newlines.zip"] = _zip({"content.csv": (X_HEADER, 1), "more.csv": (b"\n" * (1 << 20), 200)})
    c["zip_bomb_padding.zip"] = _zip({"content.csv": (b",,,,,\n" * 100_000, 300)})
    c["zip_many_small_bombs.zip"] = _zip({f"part{i}.csv": (b"\n" * (1 << 20), 7) for i in range(40)})
    c["zip_size_lie.zip"] = _lying_sizes(_zip({"content.csv": (X_HEADER + X_ROW * 1000, 20)}), 100)
    inner = _zip({"content.csv": (X_HEADER + b"\n" * (1 << 20), 60)})
    c["zip_nested.zip"] = _zip({"inner.zip": _zip({"inner2.zip": inner})})
    c["zip_xlsx_bomb_inside.zip"] = _zip({"book.xlsx": _xlsx(sheet(HEADER_ROW + b"<row r=\"2\"/>" * 10,),
                                                             extra={"xl/media/pad.bin": b"\0" * 50_000_000})})
    c["zip_many_members.zip"] = _zip({f"m{i}.csv": b"a,b\n1,2\n" for i in range(3000)})
    c["zip_slip.zip"] = _zip({"../../evil.csv": b"a,b\n1,2\n"})
    c["zip_truncated.zip"] = _zip({"content.csv": X_HEADER + X_ROW * 5000})[:-300]
    # --- workbooks
    c["xlsx_dimension_lie.xlsx"] = _xlsx(sheet(HEADER_ROW + DATA_ROW, b"A1:XFD1048576"))
    rows = HEADER_ROW + b"".join(
        f'<row r="{r}">'.encode() + _is(f"A{r}", str(r)) + f'<c r="B{r}"><v>{r}</v></c></row>'.encode() for r in range(2, 3000))
    c["xlsx_dimension_lie_many_rows.xlsx"] = _xlsx(sheet(rows, b"A1:XFD1048576"))
    c["xlsx_far_column.xlsx"] = _xlsx(sheet(HEADER_ROW + b'<row r="2"><c r="XFD2"><v>1</v></c></row>'))
    c["xlsx_far_row.xlsx"] = _xlsx(sheet(HEADER_ROW + DATA_ROW + b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>'))
    c["xlsx_row_past_excel.xlsx"] = _xlsx(sheet(HEADER_ROW + b'<row r="999999999"><c r="A999999999"><v>1</v></c></row>'))
    c["xlsx_many_empty_rows.xlsx"] = _xlsx(sheet(HEADER_ROW + b"".join(
        f'<row r="{r}"/>'.encode() for r in range(2, 200_000))))
    many = b"".join(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="B{r}" t="s"><v>0</v></c></row>'.encode()
                    for r in range(2, 60_000))
    c["xlsx_shared_string_many_refs.xlsx"] = _xlsx(
        sheet(HEADER_ROW + many),
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>' + b"a" * 100_000 + b"</t></si></sst>")
    c["xlsx_shared_strings_bomb.xlsx"] = _xlsx(
        sheet(HEADER_ROW + DATA_ROW),
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + (b"<si><t>" + b"b" * 1000 + b"</t></si>") * 60_000 + b"</sst>")
    c["xlsx_billion_laughs.xlsx"] = _xlsx(sheet(HEADER_ROW + DATA_ROW), b'<?xml version="1.0"?><!DOCTYPE lolz ['
                                          b'<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                                          b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                                          b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol3;</t></si></sst>')
    c["xlsx_formula_no_value.xlsx"] = _xlsx(sheet(HEADER_ROW + b'<row r="2">' + _is("A2", "1")
                                                  + b'<c r="B2"><f>SUM(1,2)</f></c></row>'))
    c["xlsx_damaged_sheet.xlsx"] = _xlsx(sheet(HEADER_ROW + b"<row r='2'><c r="))
    whole = zipfile.ZipFile(io.BytesIO(c["xlsx_dimension_lie.xlsx"]))
    c["xlsx_missing_sheet.xlsx"] = _zip({n: whole.read(n) for n in whole.namelist() if "worksheets" not in n})
    return c


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    for name, data in corpus().items():
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
        print(f"{len(data):>10,}  {name}")

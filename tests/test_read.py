"""The reader on its own: bytes of real-shaped exports in, tables of text cells and line numbers out.

Each test builds the bytes the way a platform writes them (encoding, BOM, line endings, preamble)
and checks what detection and error messages depend on: the header, the cells, the title and the
physical line of each row.
"""
from __future__ import annotations

import csv
import io
import random
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.errors import ReadError
from collectors.read import Table, clean_header, header_key, read_bytes

X_CONTENT = (
    'Post id,Date,Post text,Post Link,Impressions,Likes\n'
    '1987315260559167965,"Sun, Nov 9, 2025","WATCH: footage\nof the pursuit",'
    'https://x.com/newsnoteworthy/status/1987315260559167965,1351,5\n'
    '1987273397387030810,"Sat, Nov 8, 2025",BREAKING: the FAA,'
    'https://x.com/newsnoteworthy/status/1987273397387030810,525,7\n'
)


def only(tables: list[Table]) -> Table:
    assert len(tables) == 1, [t.source for t in tables]
    return tables[0]


def rows(t: Table) -> list[list[str]]:
    return t.cells.values.tolist()


# --- encodings and line endings -----------------------------------------------------------------

def test_utf8_with_and_without_a_bom_read_the_same():
    plain = only(read_bytes("a.csv", X_CONTENT.encode()))
    bom = only(read_bytes("a.csv", b"\xef\xbb\xbf" + X_CONTENT.encode()))
    assert plain.header == bom.header == ["Post id", "Date", "Post text", "Post Link", "Impressions", "Likes"]
    assert rows(plain) == rows(bom)
    assert plain.lines == bom.lines == [2, 4]


def test_a_meta_page_file_in_utf16_with_sep_line_and_title_is_read():
    text = 'sep=,\r\n"Facebook follows"\r\n"Date","Primary"\r\n"2025-08-01T00:00:00","20"\r\n"2025-08-02T00:00:00","3"\r\n'
    t = only(read_bytes("Follows (1).csv", b"\xff\xfe" + text.encode("utf-16-le")))
    assert t.title == "Facebook follows"
    assert t.header == ["Date", "Primary"]
    assert rows(t) == [["2025-08-01T00:00:00", "20"], ["2025-08-02T00:00:00", "3"]]
    assert (t.header_line, t.lines) == (3, [4, 5])


def test_crlf_line_endings_leave_no_carriage_returns_in_cells():
    t = only(read_bytes("a.csv", X_CONTENT.replace("\n", "\r\n").encode()))
    assert t.header[-1] == "Likes" and [r[-1] for r in rows(t)] == ["5", "7"]
    assert rows(t)[0][2] == "WATCH: footage\r\nof the pursuit"  # inside quotes the file's own bytes stay
    assert t.lines == [2, 4]


def test_a_file_without_a_final_newline_keeps_its_last_row():
    data = '"Date","Video Views","Likes"\n"September 25","118","5"\n"September 26","7","0"'.encode()
    t = only(read_bytes("Overview.csv", b"\xef\xbb\xbf" + data))
    assert rows(t)[-1] == ["September 26", "7", "0"] and t.lines == [2, 3]


def test_a_chinese_excel_csv_in_gb18030_is_decoded():
    text = "作品名称,发布时间,播放量\n义乌小商品市场,2024-12-22 10:00,1.2万\n"
    t = only(read_bytes("douyin.csv", text.encode("gb18030")))
    assert t.header == ["作品名称", "发布时间", "播放量"] and rows(t) == [["义乌小商品市场", "2024-12-22 10:00", "1.2万"]]


def test_a_gbk_csv_from_excel_with_crlf_and_quoted_cells_is_decoded_as_gb18030():
    # GBK (code page 936) is what Excel on a Chinese Windows writes; GB18030 reads it unchanged.
    text = '作品名称,发布时间,播放量\r\n"探店，义乌",2024-12-22 10:00,3.4万\r\n微博正文,2024-12-23 11:00,"1,024"\r\n'
    data = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    t = only(read_bytes("作品数据.csv", data))
    assert rows(t) == [["探店，义乌", "2024-12-22 10:00", "3.4万"], ["微博正文", "2024-12-23 11:00", "1,024"]]
    assert t.lines == [2, 3]


def test_an_undecidable_encoding_names_the_file_and_every_candidate_tried():
    # 0x80 and 0xFF start no character in UTF-8 and none in GB18030.
    with pytest.raises(ReadError) as e:
        read_bytes("weibo/1669879400.csv", "id,正文\n1,".encode("utf-8") + b"\x80\xff\n")
    msg = str(e.value)
    assert msg.startswith("weibo/1669879400.csv: cannot tell the text encoding")
    assert "utf-8 (byte 12" in msg and "gb18030 (byte" in msg and "GBK" in msg and "UTF-16" in msg
    assert "Save the file as UTF-8" in msg


def test_quoted_newlines_do_not_shift_the_line_numbers_of_later_rows():
    body = ['"id","text","n"']
    expected = []
    line = 2
    for i, text in enumerate(["one line", "two\nlines", "three\n\nlines", "x"]):
        body.append(f'"{i}","{text}","{i}"')
        expected.append(line)
        line += text.count("\n") + 1
    t = only(read_bytes("a.csv", ("\n".join(body) + "\n").encode()))
    assert t.lines == expected == [2, 3, 5, 8]
    assert rows(t)[2][1] == "three\n\nlines"


def test_blank_lines_split_a_file_into_sections_each_with_its_own_header():
    text = ("Audience\nAge,Women,Men\n18-24,10,12\n25-34,20,25\n\n"
            "Top cities\nCity,Share\nJinhua,0.4\nYiwu,0.3\nHangzhou,0.1\n")
    first, second = read_bytes("Audience.csv", text.encode())
    assert (first.title, first.header, first.lines) == ("Audience", ["Age", "Women", "Men"], [3, 4])
    assert (second.title, second.header, second.lines) == ("Top cities", ["City", "Share"], [8, 9, 10])
    assert rows(second)[-1] == ["Hangzhou", "0.1"]


def test_soft_hyphens_and_no_break_spaces_are_cleaned_from_headers():
    text = "Post\u00a0id,Im\u00adpressions,\u200bLikes\u202f\n1,2,3\n"
    t = only(read_bytes("a.csv", text.encode()))
    assert t.header == ["Post id", "Impressions", "Likes"]
    assert t.keys == ["post id", "impressions", "likes"]
    assert clean_header("Ｐｏｓｔ　ｉｄ") == "Post id" and header_key("URL CLICKS") == "url clicks"


def test_a_semicolon_delimited_excel_csv_is_sniffed():
    t = only(read_bytes("a.csv", "Date;Impressions;Likes\n2024-12-22;1,5;3\n".encode()))
    assert t.header == ["Date", "Impressions", "Likes"] and rows(t) == [["2024-12-22", "1,5", "3"]]


# --- workbooks and archives ---------------------------------------------------------------------

def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, sheet_rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in sheet_rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_an_xlsx_sheet_with_a_note_on_row_1_has_its_header_on_row_2():
    from datetime import datetime

    data = xlsx_bytes({
        "Metrics": [["Aggregated metrics for the selected period."], ["Date", "Impressions (total)", "Rate"],
                    [datetime(2024, 12, 22), 1200, 0.5], [datetime(2024, 12, 23, 9, 30), 1e3, 0.125]],
        "All posts": [["One row per post."], ["Post title", "Post link"], ["Hi", "urn:li:activity:1"]],
    })
    metrics, posts = read_bytes("content.xlsx", data)
    assert (metrics.sheet, metrics.source, metrics.title) == ("Metrics", "content.xlsx!Metrics",
                                                              "Aggregated metrics for the selected period.")
    assert (metrics.header_line, metrics.lines) == (2, [3, 4])
    assert rows(metrics) == [["2024-12-22", "1200", "0.5"], ["2024-12-23 09:30:00", "1000", "0.125"]]
    assert (posts.sheet, posts.header, rows(posts)) == ("All posts", ["Post title", "Post link"],
                                                        [["Hi", "urn:li:activity:1"]])


def zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_a_zip_of_csvs_gives_one_table_per_member_and_ignores_other_files():
    overview = b'\xef\xbb\xbf"Date","Video Views"\n"September 25","118"'
    history = b'\xef\xbb\xbf"Date","Followers","Difference in followers from previous day"\n"September 25","900","4"'
    data = zip_bytes({"Overview.csv": overview, "FollowerHistory.csv": history, "__MACOSX/._Overview.csv": b"\0\1",
                      "readme.pdf": b"%PDF-1.4"})
    tables = read_bytes("Overview_2025-09-25_1758000000_jinhub.zip", data)
    assert [(t.member, t.source) for t in tables] == [
        ("Overview.csv", "Overview_2025-09-25_1758000000_jinhub.zip!Overview.csv"),
        ("FollowerHistory.csv", "Overview_2025-09-25_1758000000_jinhub.zip!FollowerHistory.csv"),
    ]
    assert {t.file_name for t in tables} == {"Overview_2025-09-25_1758000000_jinhub.zip"}
    assert rows(tables[1]) == [["September 25", "900", "4"]]


def test_a_zip_entry_that_climbs_out_with_dotdot_is_refused():
    data = zip_bytes({"Overview.csv": b"a,b\n1,2\n", "../../etc/cron.d/x.csv": b"a,b\n1,2\n"})
    with pytest.raises(ReadError, match=r"refusing ZIP entry '\.\./\.\./etc/cron\.d/x\.csv'"):
        read_bytes("evil.zip", data)


def test_an_old_xls_workbook_is_refused_with_what_to_do_instead():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    with pytest.raises(ReadError, match=r"content\.xls: .*Excel 97-2003.*save it as \.xlsx or \.csv"):
        read_bytes("content.xls", ole)


def test_a_binary_file_is_refused_as_what_it_is():
    # A PNG: header chunk, then compressed data in which NUL is as rare as any other byte.
    body = bytes(random.Random(7).randrange(256) for _ in range(3000))
    png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x02\x00\0\0\x01\x80\x08\x06\0\0\0" + body
    with pytest.raises(ReadError, match=r"chart\.png: this is a PNG image, not an export"):
        read_bytes("chart.png", png)
    # The same bytes without a signature this reader knows: binary, still not read as text.
    with pytest.raises(ReadError, match=r"chart\.dat: this is a binary file"):
        read_bytes("chart.dat", b"\x00\x01" + png[8:])


def test_an_empty_file_or_a_title_alone_is_no_table():
    for data in (b"", b"\xef\xbb\xbf", b'"Facebook follows"\n'):
        with pytest.raises(ReadError, match="no table"):
            read_bytes("empty.csv", data)


def test_text_that_is_neither_utf8_nor_gb18030_says_which_bytes_failed():
    with pytest.raises(ReadError, match=r"cannot tell the text encoding.*utf-8 \(byte 2"):
        read_bytes("a.csv", b"a,\x80\xff,b\n")


# --- robustness ---------------------------------------------------------------------------------

def _legacy_x_export() -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow(["Tweet id", "Tweet permalink", "Tweet text", "time", "impressions", "promoted impressions"])
    for i in range(6):
        w.writerow([f"12451062941989068{i:02d}", f"https://twitter.com/rOpenSci/status/12451062941989068{i:02d}",
                    f'Line one "quoted" &amp; more\n\nline {i}', "2020-03-31 21:50 +0000", f"{5213 + i}.0", "-"])
    return buf.getvalue().encode()


VALID_CSV = _legacy_x_export()


@st.composite
def mangled(draw, base: bytes):
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.sampled_from([b'"', b"\n", b"\r", b'""', b",", b"\0", b"\xff\xfe", b'"\n"']))
        elif data:
            del data[pos]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _tables_or_read_error(name: str, data: bytes) -> None:
    try:
        tables = read_bytes(name, data)
    except ReadError:
        return
    assert tables and all(isinstance(t, Table) for t in tables)
    for t in tables:
        assert len(t.lines) == len(t.cells) and len(t.header) == t.cells.shape[1]
        assert all(isinstance(v, str) for v in t.cells.to_numpy().ravel())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled(VALID_CSV))
def test_mangled_csv_bytes_give_tables_or_a_read_error_and_nothing_else(data):
    _tables_or_read_error("tweet_activity_metrics.csv", data)


VALID_ZIP = zip_bytes({"Overview.csv": b'\xef\xbb\xbf"Date","Video Views"\n' + b'"September 25","118"\n' * 40},
                      zipfile.ZIP_DEFLATED)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(mangled(VALID_ZIP))
def test_mangled_zip_bytes_give_tables_or_a_read_error_and_nothing_else(data):
    _tables_or_read_error("Overview_2025-09-25_1758000000_jinhub.zip", data)


# --- bounded memory: limits, blank lines, padding, workbooks that lie -------------------------------

def test_blank_lines_and_padding_rows_are_not_stored_and_later_lines_keep_their_numbers():
    # Both paths (pandas for plain UTF-8, the csv module for the rest) must agree on this: a
    # CRLF file with a lone CR goes through the csv module.
    body = "Post id,Impressions\n1,10\n,,\n , \n2,20\n,\n\n\n\nTitle\nCity,Share\nYiwu,0.3\n,\n"
    for data in (body.encode(), body.replace("\n", "\r\n").encode() + b"\r"):
        first, second = read_bytes("a.csv", data)
        assert rows(first) == [["1", "10"], [" ", " "], ["2", "20"]]  # spaces are data, not padding
        assert first.lines == [2, 4, 5]
        assert (second.title, second.header, rows(second), second.lines) == ("Title", ["City", "Share"], [["Yiwu", "0.3"]], [12])


def test_many_blank_lines_read_through_the_streaming_path_give_the_same_table():
    data = X_CONTENT.encode() + b"\n" * 100_000 + b"\r\n" * 3
    t = only(read_bytes("a.csv", data))
    assert t.lines == [2, 4] and rows(t)[1][0] == "1987273397387030810"


def test_each_limit_refuses_in_one_line_naming_the_file_the_limit_and_its_variable(monkeypatch):
    data = ("Post id,Impressions\n" + "".join(f"{i},{i}\n" for i in range(50))).encode()
    cases = {
        "REACH_MAX_ROWS": ("40", "more than 40 data rows"),
        "REACH_MAX_CELLS": ("60", "more than 60 cells"),
        "REACH_MAX_COLUMNS": ("1", "a row of 2 cells"),
        "REACH_MAX_LINE_LENGTH": ("10", "a line longer than 10 characters"),
    }
    for env, (value, found) in cases.items():
        monkeypatch.setenv(env, value)
        with pytest.raises(ReadError) as e:
            read_bytes("big.csv", data)
        msg = str(e.value)
        assert msg.startswith("big.csv") and found in msg and f"environment variable {env}" in msg, msg
        assert "\n" not in msg
        monkeypatch.delenv(env)
    monkeypatch.setenv("REACH_MAX_ROWS", "50")  # exactly at the limit is allowed
    assert len(only(read_bytes("big.csv", data))) == 50
    monkeypatch.setenv("REACH_MAX_ROWS", "lots")
    with pytest.raises(ReadError, match=r"REACH_MAX_ROWS='lots' is not a positive whole number"):
        read_bytes("big.csv", data)


def test_a_row_limit_counts_every_table_and_member_of_a_file(monkeypatch):
    monkeypatch.setenv("REACH_MAX_ROWS", "5")
    member = b"a,b\n1,2\n3,4\n5,6\n"
    with pytest.raises(ReadError, match=r"^two\.zip!b\.csv: more than 5 data rows.*REACH_MAX_ROWS"):
        read_bytes("two.zip", zip_bytes({"a.csv": member, "b.csv": member}))


def test_a_million_columns_are_refused_before_any_column_is_built():
    data = ",".join("c" for _ in range(1_000_000)).encode() + b"\n1,2\n"
    with pytest.raises(ReadError, match=r"^wide\.csv, line 1: .*REACH_MAX_LINE_LENGTH"):
        read_bytes("wide.csv", data)
    data = (",".join("c" for _ in range(20_000)) + "\n").encode()
    with pytest.raises(ReadError, match=r"^wide\.csv, line 1: a row of 20,000 cells, over the limit of 10,000 columns.*REACH_MAX_COLUMNS"):
        read_bytes("wide.csv", data)


def test_a_zip_member_that_inflates_too_many_times_is_refused_before_it_is_inflated():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("Table data.csv", "w") as f:
            f.write(b"Post id,Impressions\n")
            for _ in range(20):
                f.write(b"\n" * (1 << 20))
    data = buf.getvalue()
    assert len(data) < 100_000
    with pytest.raises(ReadError, match=r"^bomb\.zip: ZIP entry 'Table data\.csv' inflates 1,0\d\d times .*REACH_MAX_ZIP_RATIO"):
        read_bytes("bomb.zip", data)


def test_a_zip_holding_only_a_zip_says_nested_archives_are_not_opened():
    inner = zip_bytes({"Overview.csv": b"a,b\n1,2\n"})
    with pytest.raises(ReadError, match=r"holds no CSV or XLSX export \(ZIP files inside it, such as 'inner\.zip'"):
        read_bytes("outer.zip", zip_bytes({"inner.zip": inner}))


def _patched_sheet(data: bytes, fix) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info)
            zout.writestr(info, fix(body) if info.filename == "xl/worksheets/sheet1.xml" else body)
    return out.getvalue()


def test_an_xlsx_that_claims_the_whole_grid_in_dimension_gives_only_its_real_cells():
    import re

    data = xlsx_bytes({"Posts": [["Post id", "Impressions"], ["1", 5], ["2", 6]]})
    lie = _patched_sheet(data, lambda b: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', b))
    assert b"XFD1048576" in zipfile.ZipFile(io.BytesIO(lie)).read("xl/worksheets/sheet1.xml")
    t = only(read_bytes("posts.xlsx", lie))
    assert t.cells.shape == (2, 2) and rows(t) == [["1", "5"], ["2", "6"]]
    # A stray cell at the last row makes a gap of empty rows: streamed, never stored.
    far = _patched_sheet(data, lambda b: b.replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576"><v>9</v></c></row></sheetData>'))
    assert [rows(t) for t in read_bytes("posts.xlsx", far)][0] == [["1", "5"], ["2", "6"]]


def test_an_xlsx_cell_far_to_the_right_or_past_the_last_row_is_refused_in_one_line():
    data = xlsx_bytes({"Posts": [["Post id", "Impressions"], ["1", 5]]})
    right = _patched_sheet(data, lambda b: b.replace(b"</sheetData>", b'<row r="9"><c r="XFD9"><v>1</v></c></row></sheetData>'))
    with pytest.raises(ReadError, match=r"^posts\.xlsx!Posts: cell XFD9 is in column 16,384, over the limit of 10,000 columns"):
        read_bytes("posts.xlsx", right)
    down = _patched_sheet(data, lambda b: b.replace(b"</sheetData>", b'<row r="99999999"><c r="A99999999"><v>1</v></c></row></sheetData>'))
    with pytest.raises(ReadError, match=r"row 99,999,999 is past the last row"):
        read_bytes("posts.xlsx", down)


def test_an_xlsx_cell_count_limit_counts_the_cells_really_in_the_sheet(monkeypatch):
    data = xlsx_bytes({"Posts": [["Post id", "Impressions"]] + [[str(i), i] for i in range(30)]})
    monkeypatch.setenv("REACH_MAX_CELLS", "50")
    with pytest.raises(ReadError, match=r"^posts\.xlsx!Posts: more than 50 cells in the sheet.*REACH_MAX_CELLS"):
        read_bytes("posts.xlsx", data)


def test_xlsx_formula_cells_without_a_saved_value_give_a_note_not_silent_blanks():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Posts"
    ws.append(["Post id", "Impressions", "Likes"])
    ws.append(["1", 5, "=B2*2"])  # openpyxl saves the formula and no value, as a script would
    ws.append(["2", 6, 3])
    buf = io.BytesIO()
    wb.save(buf)
    t = only(read_bytes("posts.xlsx", buf.getvalue()))
    assert rows(t)[0] == ["1", "5", ""]
    assert any("1 formula cells have no saved value" in n and "C2" in n and "save it" in n for n in t.notes), t.notes
    plain = only(read_bytes("posts.xlsx", xlsx_bytes({"Posts": [["Post id", "Impressions"], ["1", 5]]})))
    assert plain.notes == []


def test_an_xlsx_part_that_declares_a_dtd_is_refused():
    data = xlsx_bytes({"Posts": [["Post id", "Impressions"], ["1", 5]]})
    evil = _patched_sheet(data, lambda b: b.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet', 1))
    with pytest.raises(ReadError, match=r"declares a DTD"):
        read_bytes("posts.xlsx", evil)


def test_utf16_with_an_odd_number_of_bytes_names_the_bad_byte():
    data = b"\xff\xfe" + "Post id,Impressions\n1,2\n".encode("utf-16-le") + b"\x00"
    with pytest.raises(ReadError, match=r"^a\.csv: the file starts like utf-16-le but byte 48 .* is not valid utf-16-le$"):
        read_bytes("a.csv", data)

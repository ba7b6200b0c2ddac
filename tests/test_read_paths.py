"""The reader's two text paths give the same tables.

Large plain UTF-8 files go through pandas' C parser (fast); anything it cannot prove identical
goes through the csv module. Whichever path is taken, the tables must be the same, cell for cell
and line for line: this checks it on generated texts and on every real sample."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import read as R
from collectors.errors import ReadError


def _both(data: bytes):
    def run():
        try:
            return _key(R._read_text("f.csv", "f.csv", data))
        except ReadError as e:
            return ("ReadError", str(e))

    fast = run()
    orig = R._read_text_fast
    R._read_text_fast = lambda *a, **k: None
    try:
        slow = run()
    finally:
        R._read_text_fast = orig
    return fast, slow


def _key(tables):
    return [(t.source, t.header, t.cells.values.tolist(), t.lines, t.header_line, t.title, t.notes) for t in tables]


cells = st.text(alphabet=st.sampled_from(list('ab1 ,"\n\r-é义\t;') + ["\u00a0", "\u00ad"]), max_size=8)
rows = st.lists(st.lists(cells, min_size=1, max_size=5), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows, eol=st.sampled_from(["\n", "\r\n"]), bom=st.booleans(), final=st.booleans(),
       quote_all=st.booleans())
def test_fast_and_csv_paths_agree_on_generated_files(rows, eol, bom, final, quote_all):
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=eol, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    w.writerow(["Date", "Views", "Likes", "Title", "Link"][: max(len(r) for r in rows)])
    for r in rows:
        w.writerow(r)
    text = buf.getvalue() if final else buf.getvalue()[: -len(eol)]
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    fast, slow = _both(data)
    assert fast == slow


@given(raw=st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_fast_and_csv_paths_agree_on_arbitrary_bytes(raw):
    fast, slow = _both(raw)
    assert fast == slow


def test_fast_and_csv_paths_agree_on_every_real_sample(samples_dir):
    files = [p for p in samples_dir.rglob("*.csv")]
    assert files
    for p in files:
        fast, slow = _both(p.read_bytes())
        assert fast == slow, p.name


blank_or_padding = st.one_of(st.lists(cells, min_size=0, max_size=5), st.just([]), st.just(["", "", ""]), st.just([" "]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(blank_or_padding, min_size=1, max_size=12), eol=st.sampled_from(["\n", "\r\n"]),
       bom=st.booleans(), final=st.booleans(), blanks=st.lists(st.integers(0, 12), max_size=4))
def test_fast_and_csv_paths_agree_on_blank_lines_and_padding_rows(rows, eol, bom, final, blanks):
    # The pandas path never makes rows of empty lines and drops rows of empty cells by arrays;
    # the csv path does both one row at a time. Lines and sections must come out the same.
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=eol)
    w.writerow(["Date", "Views", "Likes"])
    for r in rows:
        w.writerow(r)
    lines = buf.getvalue().split(eol)
    for k in blanks:
        lines.insert(min(k, len(lines)), "")
    text = eol.join(lines)
    if not final and text.endswith(eol):
        text = text[: -len(eol)]
    fast, slow = _both((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    assert fast == slow


def test_the_paths_agree_on_a_file_long_enough_for_the_csv_path_to_share_repeated_values():
    # Past 1,024 rows the csv path keeps one string per distinct value of a repetitive column.
    body = "Date,Views,Title\n" + "".join(f"2024-12-{1 + i % 28:02d},{i % 7},t{i}\n" for i in range(5000))
    data = body.encode() + b",,\n" * 3 + b"\n\n" + body.encode()
    fast, slow = _both(data)
    assert fast == slow and len(fast) == 2 and len(fast[0][2]) == 5000

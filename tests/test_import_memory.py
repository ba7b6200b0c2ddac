"""Importing a big export holds each of its big structures once, and only while it is needed
(issue 11: a 1,000,000-row X content export peaked at 1.13 GB).

Measured with tracemalloc in this process: an X content export of N rows and of 4N rows
(bench/scale_data.py, 178 bytes a row) imported after a warm-up import (modules, catalogs and
compiled statements are allocated once, by the first import), with the reader's chunk sizes made
small so that what is bounded by a chunk weighs the same at N and 4N: the difference between
the two imports, per row, is what grows with the rows. No timing is asserted.
"""
from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

from collectors import pipeline, read
from collectors.archive import Archive
from collectors.store import bulk, database, schema

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import scale_data  # noqa: E402

N = 4000

# What the importer may hold, per row, when the write of the file's one transaction begins: the
# parsed rows of an X content export and nothing else. 10 columns of 8-byte numbers and times
# and 4 of 8-byte pointers (112 B), each post id as a str (49 B of header and 19 characters:
# 72 B as allocated) and each link (49 + ~52: 104 B), the table's line numbers kept for
# messages (a list of ints: 8 + 32 B): 328 B; the titles and handles come from small pools.
# Measured: 368 B. Keeping the file's bytes (178 B a row) or the table's cells (17 pointers a
# row, 136 B, and the strings only they hold) passes 450 B; both were held before issue 11.
HELD_PER_ROW = 450

# The peak before the write (read, detect, parse), per row: while reading, the file's bytes
# (178 B) and the cells once (17 pointers, 136 B; the distinct ids and links, 176 B; the line
# numbers, 40 B; newline offsets and kept rows, 16 B): 546 B, plus the shared counts, dates and
# texts and the reader's per-row index arrays: measured 723 B. A decoded copy of the text (1 to
# 4 bytes per byte of the file), the bytes held twice or the cells' pointers held three times
# passes 800 B. (The reader before issue 11, pandas' frame of the whole file next to the
# table's block, measured 798 B: the assertion above on what is held at the write is the one
# that tells the old pipeline from the new; this one bounds the peak.)
PEAK_PER_ROW = 800


@pytest.fixture(scope="module")
def x_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("xmem")
    out = {}
    for n in (N, 4 * N):
        scale_data.write_x_file(root / f"x{n}", n)
        out[n] = next((root / f"x{n}").glob("*.csv"))
    return out


def _measure(tmp_path: Path, path: Path, tag: str, monkeypatch) -> dict:
    """Import ``path`` as `reach import` does (from its path) under tracemalloc: what is held
    when the write begins, and the peak until then."""
    seen = {}
    real = bulk.write_parsed

    def spy(*a, **k):
        seen["held"], seen["peak"] = tracemalloc.get_traced_memory()
        return real(*a, **k)

    monkeypatch.setattr(bulk, "write_parsed", spy)
    engine = database.connect(f"sqlite:///{tmp_path / f'{tag}.db'}")
    database.migrate(engine)
    imp = pipeline.Importer(engine, Archive(tmp_path / f"archive-{tag}"))
    tracemalloc.start()
    try:
        result = imp.import_paths([path], jobs=1)[0]
    finally:
        tracemalloc.stop()
        monkeypatch.setattr(bulk, "write_parsed", real)
    engine.dispose()
    assert result.status == "imported", result.line()
    seen["posts"] = result.posts
    return seen


def test_an_import_holds_its_rows_once_and_drops_the_bytes_and_cells_before_the_write(
        tmp_path, x_files, monkeypatch):
    monkeypatch.setattr(read, "_ROWS_PER_CHUNK", 512)
    monkeypatch.setattr(read, "_DECODE_CHUNK", 1 << 14)
    monkeypatch.setattr(read, "_CHUNK", 1 << 16)
    _measure(tmp_path, x_files[N], "warm", monkeypatch)
    small = _measure(tmp_path, x_files[N], "small", monkeypatch)
    big = _measure(tmp_path, x_files[4 * N], "big", monkeypatch)
    assert (small["posts"], big["posts"]) == (N, 4 * N)
    held = (big["held"] - small["held"]) / (3 * N)
    peak = (big["peak"] - small["peak"]) / (3 * N)
    print(f"held {held:.0f} B/row, peak {peak:.0f} B/row")
    assert held <= HELD_PER_ROW, f"{held:.0f} bytes a row held when the write begins"
    assert peak <= PEAK_PER_ROW, f"{peak:.0f} bytes a row at the peak of read and parse"


def test_reading_a_chunk_of_rows_at_a_time_gives_the_table_of_one_read(x_files, monkeypatch):
    data = x_files[N].read_bytes()
    whole = read.read_bytes("a.csv", data)
    monkeypatch.setattr(read, "_ROWS_PER_CHUNK", 333)  # chunks that end anywhere, and a short last one
    chunked = read.read_bytes("a.csv", data)
    assert len(whole) == len(chunked) == 1
    a, b = whole[0], chunked[0]
    assert (a.header, a.lines, a.header_line, a.notes) == (b.header, b.lines, b.header_line, b.notes)
    assert len(b) == N and a.cells.equals(b.cells)
    last = data.decode().rstrip("\n").rsplit("\n", 1)[1]
    assert b.cells.iat[-1, 0] == last.split(",")[0] and b.lines[-1] == data.count(b"\n") + 1


def test_a_file_changed_on_disk_before_it_is_archived_imports_nothing(tmp_path, monkeypatch):
    """The bytes are dropped once read and read again for the archive: if the file changed in
    between, the copy would not be what was imported, so the file fails and nothing is stored."""
    folder = tmp_path / "x"
    scale_data.write_x_file(folder, 50)
    path = next(folder.glob("*.csv"))
    real = pipeline.read_bytes

    def read_then_change(name, data):
        tables = real(name, data)
        path.write_bytes(data.replace(b"\n", b"\r\n"))  # the same rows, other bytes
        return tables

    monkeypatch.setattr(pipeline, "read_bytes", read_then_change)
    engine = database.connect(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate(engine)
    result = pipeline.Importer(engine, Archive(tmp_path / "archive")).import_paths([path], jobs=1)[0]
    assert result.status == "failed" and "changed on disk" in result.message
    with engine.connect() as conn:
        assert conn.execute(schema.posts.select()).first() is None
    assert not any(p.is_file() and p.name != "manifest.jsonl" for p in (tmp_path / "archive").rglob("*"))

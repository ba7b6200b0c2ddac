"""queries.parts.rows_frame reads a chunk of rows at a time (memory at 100x the demo); the frame it gives
must be the one a single read gives, whatever the chunks hold: a chunk of only NULLs in a number,
time or text column, ints beside NULLs, no rows at all."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from dashboard.analysis import queries


def _engine(tmp_path, rows):
    eng = sa.create_engine(f"sqlite:///{tmp_path / 't.db'}")
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE t (k INTEGER, f REAL, i INTEGER, s TEXT, b BOOLEAN)")
        c.exec_driver_sql("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
    return eng


def _read(eng, chunk):
    with eng.connect() as c:
        return queries.parts.rows_frame(c, sa.text("SELECT k, f, i, s, b FROM t ORDER BY k"), list("kfisb"), chunk=chunk)


def test_chunked_reads_give_the_frame_of_one_read(tmp_path):
    rows = []
    for k in range(40):
        null = 10 <= k < 20  # the second chunk of 10: nothing but NULLs in f, i, s
        rows.append((k, None if null else k * 1.5, None if null or k == 25 else k, None if null else f"s{k}", k % 2))
    eng = _engine(tmp_path, rows)
    whole = _read(eng, 10**6)
    assert whole["f"].dtype == "float64" and whole["i"].dtype == "float64"  # NULLs among numbers: NaN
    for chunk in (1, 7, 10, 39, 40):
        got = _read(eng, chunk)
        pd.testing.assert_frame_equal(got, whole, check_exact=True)


def test_no_rows_and_all_ints(tmp_path):
    eng = _engine(tmp_path, [(k, 1.0, k, "x", 1) for k in range(5)])
    pd.testing.assert_frame_equal(_read(eng, 2), _read(eng, 100))
    assert _read(eng, 2)["i"].dtype == "int64"
    with eng.begin() as c:
        c.exec_driver_sql("DELETE FROM t")
    empty = _read(eng, 2)
    assert list(empty.columns) == list("kfisb") and empty.empty

"""Reach's API snapshot files: written by `reach collect`, read back like any export."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collectors.errors import DetectError
from collectors.parse import Context, detect, parse_table
from collectors.platforms import api_snapshots
from collectors.read import read_bytes

AT = datetime(2026, 11, 30, 8, 15, tzinfo=timezone.utc)


def _parse(data: bytes, name="youtube-api-x.csv"):
    [table] = read_bytes(name, data)
    return parse_table(table, Context(name))


def test_written_rows_read_back_as_the_same_canonical_rows():
    rows = [dict(post_id="vid1", account_id="UC1", account_handle="yiwu", published_at=AT, title='Line one\n\n\n"two"',
                 url="https://www.youtube.com/watch?v=vid1", post_type="video", captured_at=AT, views=1234, likes=None,
                 comments=0),
            dict(post_id="vid2", account_id="UC1", captured_at=AT, views=5)]
    data = api_snapshots.write("youtube", rows)
    assert data.startswith(b"reach_api_snapshot,youtube_video_id,account_id,")
    p = _parse(data)
    assert p.report.name == "youtube.api_snapshot" and p.problems == []
    got = p.rows.set_index("post_id")
    assert got.loc["vid1", "views"] == 1234 and got.loc["vid1", "comments"] == 0
    assert got.loc["vid1", "likes"] != got.loc["vid1", "likes"]  # empty: NaN, never 0
    assert got.loc["vid1", "title"] == 'Line one\n"two"'  # no blank line to split the table on
    assert got.loc["vid1", "captured_at"] == AT and got.loc["vid1", "published_at"] == AT
    assert got.loc["vid2", "account_handle"] is None


def test_each_platform_has_its_own_report_by_its_id_column():
    for platform in api_snapshots.ID_COLUMNS:
        data = api_snapshots.write(platform, [dict(post_id="1", captured_at=AT, views=1)])
        [table] = read_bytes("f.csv", data)
        assert detect(table).name == f"{platform}.api_snapshot"


def test_bad_rows_are_rejected_with_line_column_value_and_expectation():
    data = (api_snapshots.write("x", [dict(post_id="1", captured_at=AT, likes=3)]).decode()
            + "2,2,,,,,,,,2026-11-30T08:15:00Z,,,,4,,,,,,\n"
            + "1,3,,,,,,,,2026-11-30T08:15:00Z,,,,-4,,,,,,\n"
            + "1,4,,,,,,,,yesterday,,,,4,,,,,,\n").encode()
    p = _parse(data, "x-api.csv")
    assert list(p.rows["post_id"]) == ["1"]
    by_line = {pr.line: pr for pr in p.problems}
    assert (by_line[3].column, by_line[3].value) == ("reach_api_snapshot", "2")
    assert (by_line[4].column, by_line[4].value, by_line[4].expected) == ("likes", "-4", "a number of at least 0")
    assert by_line[5].column == "captured_at" and "date and time" in by_line[5].expected


def test_the_snapshot_reports_are_never_the_closest_match_of_an_unknown_export():
    [table] = read_bytes("mystery.csv", b"Title,URL,Views,Likes,Comments,Shares,Saves,Reach\nA,u,1,2,3,4,5,6\n")
    with pytest.raises(DetectError) as e:
        detect(table)
    assert "api_snapshot" not in str(e.value) and "reach collect" not in str(e.value)

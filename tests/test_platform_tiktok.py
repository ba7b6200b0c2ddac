"""TikTok importer: the real per-post export in ../shared and fixtures made here in TikTok's format.

TikTok Studio files are UTF-8 with a BOM, every field quoted, LF, no final newline, one ZIP per
analytics section; the fixtures below are written that way. Expected values are recomputed from
the raw bytes with the csv module, never with the code under test.
"""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from collectors.errors import DetectError
from collectors.parse import Context, detect, parse_table
from collectors.platforms.tiktok import infer_days
from collectors.read import read_bytes

REAL = Path(__file__).resolve().parents[2] / "shared" / "samples" / "real"
POSTS = REAL / "tiktok" / "jimrobinsonnews_video_posts.csv"


def real(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample {path} is not available")
    return path


def tiktok_csv(header: list[str], rows: list[list]) -> bytes:
    """TikTok's own CSV shape: BOM, all fields quoted, no newline after the last row."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return b"\xef\xbb\xbf" + buf.getvalue().rstrip("\n").encode("utf-8")


def stored_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def parse_all(name: str, data: bytes, imported_at: datetime | None = None):
    ctx = Context(name, imported_at=imported_at or datetime.now(timezone.utc))
    out = []
    for t in read_bytes(name, data):
        try:
            out.append(parse_table(t, ctx))
        except DetectError as e:
            out.append(e)
    return out


def parse_one(name: str, data: bytes, imported_at: datetime | None = None):
    (p,) = parse_all(name, data, imported_at)
    assert not isinstance(p, Exception), p
    return p


# --- the real per-post export -----------------------------------------------------------------

def test_the_real_post_export_keeps_all_posts_with_their_19_digit_ids_and_the_account_in_the_links():
    data = real(POSTS).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and not data.endswith(b"\n")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    p = parse_one(POSTS.name, data)
    assert p.report.name == "tiktok.content" and p.report.grain == "post_lifetime"
    assert len(p.rows) == len(rows) == 11 and not p.problems
    ids = [r["Video link"].rsplit("/", 1)[1] for r in rows]
    assert list(p.rows["post_id"]) == ids and all(len(i) == 19 for i in ids)
    assert list(p.rows["url"]) == [r["Video link"] for r in rows]
    assert set(p.rows["account_handle"]) == {"weatherchannel"}
    assert set(p.rows["post_type"]) == {"video"}


def test_the_real_post_export_sums_its_counts_including_the_shares_header_with_a_no_break_space():
    data = real(POSTS).read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert "Total shares\u00a0" in rows[0]
    p = parse_one(POSTS.name, data)
    for native, canonical in [("Total views", "views"), ("Total likes", "likes"),
                              ("Total comments", "comments"), ("Total shares\u00a0", "shares")]:
        assert p.rows[canonical].sum() == sum(int(r[native]) for r in rows), native
    assert "saves" not in p.rows  # no favourites column: missing, not zero


def test_the_time_column_becomes_each_rows_snapshot_time_and_post_time_the_publish_time():
    data = real(POSTS).read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    p = parse_one(POSTS.name, data)
    tz = "Asia/Shanghai"  # the Context default: naive times are in the campaign timezone
    assert list(p.rows["captured_at"]) == [pd.Timestamp(r["Time"], tz=tz) for r in rows]
    assert list(p.rows["published_at"]) == [pd.Timestamp(r["Post time"], tz=tz) for r in rows]


# --- Content.csv variants ---------------------------------------------------------------------

def test_a_legacy_content_export_maps_publishing_time_video_views_and_favourites():
    data = tiktok_csv(
        ["Video title", "Video link", "Publishing time", "Video views", "Likes", "Comments", "Shares",
         "Add to favorites"],
        [["Yiwu night market", "https://www.tiktok.com/@jinhub/video/7451234567890123456", "2024-12-22 19:05",
          "15230", "812", "40", "66", "120"],
         ["Photo set", "https://www.tiktok.com/@jinhub/photo/7451234567890123457", "2024-12-23 09:00",
          "900", "30", "2", "1", "7"]])
    p = parse_one("Content_jinhub.zip", stored_zip({"Content.csv": data}))
    assert p.report.name == "tiktok.content"
    assert list(p.rows["views"]) == [15230, 900] and list(p.rows["saves"]) == [120, 7]
    assert list(p.rows["post_type"]) == ["video", "photo"]
    assert list(p.rows["post_id"]) == ["7451234567890123456", "7451234567890123457"]
    assert "captured_at" not in p.rows  # no Time column: the pipeline decides the snapshot time


def test_a_swedish_content_export_is_read_through_its_swedish_headers():
    data = tiktok_csv(
        ["Videotitel", "Videolänk", "Publiceringstid", "Videovisningar", "Gilla-markeringar", "Kommentarer",
         "Delningar", "Lägg till i Favoriter"],
        [["Jul i Yiwu", "https://www.tiktok.com/@jinhub/video/7451234567890123456", "2024-12-24 18:00",
          "3000", "200", "11", "9", "25"]])
    p = parse_one("Content.csv", data)
    row = p.rows.iloc[0]
    assert (row["views"], row["likes"], row["comments"], row["shares"], row["saves"]) == (3000, 200, 11, 9, 25)
    assert row["title"] == "Jul i Yiwu" and row["account_handle"] == "jinhub"


def test_a_bad_number_rejects_only_its_row_and_names_file_line_and_column():
    data = tiktok_csv(
        ["Video title", "Video link", "Post time", "Total likes", "Total comments", "Total shares", "Total views"],
        [["a", "https://www.tiktok.com/@jinhub/video/7451234567890123401", "2024-12-22 10:00", "5", "1", "0", "90"],
         ["b", "https://www.tiktok.com/@jinhub/video/7451234567890123402", "2024-12-22 11:00", "5", "1", "0", "1.2.3"],
         ["c", "https://www.tiktok.com/@jinhub/video/7451234567890123403", "2024-12-22 12:00", "5", "1", "0", "70"]])
    p = parse_one("Content.csv", data)
    assert list(p.rows["post_id"]) == ["7451234567890123401", "7451234567890123403"]
    (problem,) = p.problems
    assert (problem.source, problem.line, problem.column, problem.value) == ("Content.csv", 3, "Total views", "1.2.3")


# --- Overview ---------------------------------------------------------------------------------

def test_an_overview_zip_takes_the_year_from_its_name_and_rolls_over_from_december_to_january():
    rows = [["December 30", "118", "3", "5", "0", "1", "2"],
            ["December 31", "201", "4", "9", "-1", "0", "-4"],
            ["January 1", "834", "12", "40", "3", "2", "7"],
            ["January 2", "914", "9", "38", "1", "5", "0"]]
    data = tiktok_csv(["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares", "New followers"], rows)
    name = "Overview_2024-12-30_1735862400_jinhub.zip"
    p = parse_one(name, stored_zip({"Overview.csv": data}))
    assert p.report.name == "tiktok.overview" and p.report.grain == "account_day"
    assert list(p.rows["day"]) == [pd.Timestamp(d) for d in ("2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02")]
    assert list(p.rows["views"]) == [int(r[1]) for r in rows]
    # Daily values: a negative comment count and a net loss of followers are TikTok's own numbers.
    assert list(p.rows["comments"]) == [0, -1, 3, 1]
    assert list(p.rows["followers_gained"]) == [2, -4, 7, 0]
    assert set(p.rows["account_handle"]) == {"jinhub"}
    assert not p.problems


def test_an_overview_in_russian_dates_without_a_zip_name_ends_the_day_before_the_import():
    data = tiktok_csv(["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"],
                      [["30 декабря", "10", "1", "2", "0", "0"], ["31 декабря", "20", "1", "3", "0", "0"],
                       ["1 января", "30", "2", "4", "1", "0"]])
    p = parse_one("Overview.csv", data, imported_at=datetime(2025, 1, 2, 3, 0, tzinfo=timezone.utc))
    assert list(p.rows["day"]) == [pd.Timestamp("2024-12-30"), pd.Timestamp("2024-12-31"), pd.Timestamp("2025-01-01")]
    assert "followers_gained" not in p.rows and "account_handle" not in p.rows


def test_an_overview_with_swedish_headers_and_dates_maps_reach_and_new_followers():
    data = tiktok_csv(
        ["Datum", "Videovisningar", "Målgrupp som nåtts", "Profilvisningar", "Gilla-markeringar", "Kommentarer",
         "Delningar", "Nettotillväxt", "Nya följare", "Tappade följare"],
        [["25 september", "118", "90", "0", "5", "0", "0", "1", "3", "2"],
         ["26 september", "201", "150", "2", "7", "1", "0", "-1", "0", "1"]])
    p = parse_one("Overview_2025-09-25_1758931200_jinhub.zip", stored_zip({"Overview.csv": data}))
    assert list(p.rows["day"]) == [pd.Timestamp("2025-09-25"), pd.Timestamp("2025-09-26")]
    assert list(p.rows["reach"]) == [90, 150]
    assert list(p.rows["followers_gained"]) == [3, 0]  # new followers, not the net growth


def test_a_day_that_is_not_a_date_is_rejected_with_its_line():
    data = tiktok_csv(["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"],
                      [["September 25", "1", "0", "0", "0", "0"], ["Total", "9", "0", "0", "0", "0"]])
    p = parse_one("Overview_2025-09-25_1758931200_jinhub.zip", stored_zip({"Overview.csv": data}))
    assert len(p.rows) == 1
    (problem,) = p.problems
    assert (problem.line, problem.column, problem.value) == (3, "Date", "Total")
    assert problem.source == "Overview_2025-09-25_1758931200_jinhub.zip!Overview.csv"


@pytest.mark.parametrize("cells, name, imported, expected", [
    # The ZIP name's first day wins, even when the import happens years later.
    (["28 May", "9 July"], "Overview_2023-05-28_1690000000_a.zip", datetime(2026, 1, 1, tzinfo=timezone.utc),
     [date(2023, 5, 28), date(2023, 7, 9)]),
    # Without the first day, the export moment in the name is taken as the last row's day.
    (["December 31", "January 1"], "Overview_x_1735776000_a.zip", datetime(2026, 1, 1, tzinfo=timezone.utc),
     [date(2024, 12, 31), date(2025, 1, 1)]),
    # Neither: the last row is at most yesterday at import time.
    (["9月25日", "9月26日"], "Overview.csv", datetime(2025, 9, 27, 8, tzinfo=timezone.utc),
     [date(2025, 9, 25), date(2025, 9, 26)]),
    (["9 July", "28 augusti", "25 de setembro", "2025-10-01"], "Overview.csv",
     datetime(2025, 10, 2, tzinfo=timezone.utc), [date(2025, 7, 9), date(2025, 8, 28), date(2025, 9, 25), date(2025, 10, 1)]),
])
def test_yearless_days_get_their_year_from_the_best_anchor_available(cells, name, imported, expected):
    days, _ = infer_days(cells, name, imported)
    assert days == expected


# --- Followers ZIP ----------------------------------------------------------------------------

def test_a_followers_zip_imports_follower_history_and_leaves_the_audience_breakdowns_undetected():
    history = tiktok_csv(["Date", "Followers", "Difference in followers from previous day"],
                         [["December 31", "100", "10"], ["January 1", "97", "-3"], ["January 2", "97", "0"]])
    members = {
        "FollowerHistory.csv": history,
        "FollowerActivity.csv": tiktok_csv(["Date", "Hour", "Active followers"], [["December 31", "1", "55"]]),
        "FollowerGender.csv": tiktok_csv(["Gender", "Distribution"], [["Female", "0.59"], ["Male", "0.41"]]),
        "FollowerTopTerritories.csv": tiktok_csv(["Top territories", "Distribution"], [["CN", "0.85"]]),
    }
    out = parse_all("Followers_jinhub.zip", stored_zip(members), imported_at=datetime(2025, 1, 3, tzinfo=timezone.utc))
    (p,) = [x for x in out if not isinstance(x, Exception)]
    errors = [x for x in out if isinstance(x, DetectError)]
    assert p.report.name == "tiktok.follower_history"
    assert list(p.rows["day"]) == [pd.Timestamp("2024-12-31"), pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-02")]
    assert list(p.rows["followers_gained"]) == [10, -3, 0]
    assert set(p.rows["account_handle"]) == {"jinhub"}
    assert len(errors) == 3
    for e, member in zip(errors, ["FollowerActivity.csv", "FollowerGender.csv", "FollowerTopTerritories.csv"]):
        assert str(e).startswith(f"Followers_jinhub.zip!{member}: not a known export")


def test_the_2021_last_60_days_export_is_read_as_follower_history_with_video_views():
    data = tiktok_csv(["Date", "Video views", "Followers", "Difference in followers from previous day", "Profile views"],
                      [["2021-01-15", "342", "285", "1", "24"], ["2021-01-16", "289", "284", "-1", "8"]])
    p = parse_one("Last 60 days.csv", data)
    assert p.report.name == "tiktok.follower_history"
    assert list(p.rows["day"]) == [pd.Timestamp("2021-01-15"), pd.Timestamp("2021-01-16")]
    assert list(p.rows["views"]) == [342, 289] and list(p.rows["followers_gained"]) == [1, -1]


def test_no_tiktok_report_claims_a_real_sample_of_another_platform():
    if not REAL.is_dir():
        pytest.skip(f"real samples not available ({REAL} is absent)")
    for f in sorted(REAL.rglob("*.csv")):
        for t in read_bytes(f.name, f.read_bytes()):
            try:
                name = detect(t).name
            except DetectError:
                continue
            assert name.startswith("tiktok.") == (f.parent.name == "tiktok"), (f, name)


# --- languages (collectors/catalogs/tiktok.toml) ----------------------------------------------

@pytest.mark.parametrize("time_cell,post_cell", [
    ("9月13日", "9月6日"),  # a Japanese account's Studio export
    ("18 tháng Tám", "10 tháng Tám"),  # Vietnamese
    ("18 января", "10 января"),  # Russian
    ("8 de setembro", "5 de setembro"),  # Brazilian Portuguese
])
def test_studio_writes_english_headers_in_every_ui_so_a_localized_accounts_content_is_detected(time_cell, post_cell):
    # Public parsers' fixtures of these accounts' Content.csv: the header stays English, only the
    # day cells follow the UI language (reading those days is the date parser's business).
    data = tiktok_csv(
        ["Time", "Video title", "Video link", "Post time", "Total likes", "Total comments", "Total shares",
         "Total views"],
        [[time_cell, "退職後の住民税 #退職", "https://www.tiktok.com/@example/video/7681870521679564053", post_cell,
          "5431", "24", "461", "289568"]])
    (t,) = read_bytes("Content.csv", data)
    assert detect(t).name == "tiktok.content"


def test_an_overview_with_the_spanish_ui_terms_maps_views_likes_comments_and_shares():
    data = tiktok_csv(
        ["Fecha", "Visualizaciones de videos", "Visualizaciones de perfil", "Me gusta", "Comentarios",
         "Veces compartido"],
        [["25 de septiembre", "118", "3", "5", "0", "1"], ["26 de septiembre", "201", "4", "9", "-1", "0"]])
    p = parse_one("Overview_2025-09-25_1758931200_jinhub.zip", stored_zip({"Overview.csv": data}))
    assert p.report.name == "tiktok.overview" and not p.problems
    assert list(p.rows["day"]) == [pd.Timestamp("2025-09-25"), pd.Timestamp("2025-09-26")]
    assert list(p.rows["views"]) == [118, 201] and list(p.rows["likes"]) == [5, 9]
    assert list(p.rows["comments"]) == [0, -1] and list(p.rows["shares"]) == [1, 0]


def test_an_overview_with_portuguese_headers_maps_new_followers():
    data = tiktok_csv(
        ["Data", "Visualizações de vídeo", "Visualizações do perfil", "Curtidas", "Comentários",
         "Compartilhamentos", "Novos seguidores"],
        [["25 de setembro", "118", "3", "5", "0", "1", "2"], ["26 de setembro", "201", "4", "9", "1", "0", "-1"]])
    p = parse_one("Overview_2025-09-25_1758931200_jinhub.zip", stored_zip({"Overview.csv": data}))
    assert p.report.name == "tiktok.overview" and not p.problems
    assert list(p.rows["views"]) == [118, 201] and list(p.rows["followers_gained"]) == [2, -1]


def test_an_overview_in_a_language_the_catalog_lacks_is_read_by_its_structure():
    header = ["Qa", "Qb", "Qc", "Qd", "Qe", "Qf", "Qg"]
    rows = [[f"September {d}", str(100 + i * 7), str(i), str(5 + i), str(i % 3), str(i % 2), str(i % 4 - 1)]
            for i, d in enumerate(range(20, 30))]
    p = parse_one("Overview_2025-09-20_1759190400_jinhub.zip", stored_zip({"Overview.csv": tiktok_csv(header, rows)}))
    assert p.report.name == "tiktok.overview"
    assert list(p.rows["views"]) == [100 + i * 7 for i in range(10)]
    assert list(p.rows["followers_gained"]) == [i % 4 - 1 for i in range(10)]
    assert p.rows["day"].iloc[0] == pd.Timestamp("2025-09-20")


def test_a_day_and_four_counts_in_an_unknown_language_is_refused_naming_the_overview():
    # One column short of an Overview: which metric is missing cannot be told from the values.
    header = ["Qa", "Qb", "Qc", "Qd", "Qe"]
    rows = [[f"September {d}", str(100 + i * 7), str(i), str(5 + i), str(i % 3)] for i, d in enumerate(range(20, 30))]
    (t,) = read_bytes("Overview.csv", tiktok_csv(header, rows))
    with pytest.raises(DetectError) as e:
        detect(t)
    assert "tiktok.overview" in str(e.value)

"""X importer: the two real exports in ../shared and fixtures made here in X's own formats.

Expected counts and sums are recomputed from the raw bytes with the csv module, never with the
code under test, so a parser that drops, doubles or misreads rows disagrees with them.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from collectors.errors import DetectError
from collectors.parse import Context, detect, parse_table
from collectors.read import read_bytes

REAL = Path(__file__).resolve().parents[2] / "shared" / "samples" / "real" / "twitter"
LEGACY = REAL / "ropensci_20200301_20200401.csv"
CONTENT = REAL / "newsnoteworthy_x_content_2025-11-02_2025-11-09.csv"


def parse_bytes(name: str, data: bytes):
    tables = read_bytes(name, data)
    assert len(tables) == 1
    return parse_table(tables[0], Context(name))


def raw_rows(path: Path) -> list[dict]:
    """Each data row as a dict, with the physical line it starts on."""
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    rows, start = [], reader.line_num + 1
    for row in reader:
        rows.append({**dict(zip(header, row)), "_line": start})
        start = reader.line_num + 1
    return rows


def real(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample {path} is not available")
    return path


def csv_bytes(header: list[str], rows: list[list], *, quote_all=False, bom=False) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


# --- the legacy per-tweet export (real file) ----------------------------------------------------

def test_the_real_legacy_tweet_export_keeps_all_39_tweets_with_their_ids_and_lines():
    raw = raw_rows(real(LEGACY))
    p = parse_bytes(LEGACY.name, LEGACY.read_bytes())
    assert p.report.name == "x.tweet_activity"
    assert len(raw) == 39
    assert p.rows_read == 39 and len(p.rows) == 39 and not p.problems
    assert list(p.rows["post_id"]) == [r["Tweet id"] for r in raw]
    # Tweet texts span several physical lines: each row must point at the line it starts on.
    assert list(p.rows["line"]) == [r["_line"] for r in raw]
    assert p.rows["line"].iloc[1] > 3  # the first tweet's text takes 9 lines


def test_the_real_legacy_tweet_export_sums_its_float_written_counts():
    raw = raw_rows(real(LEGACY))
    p = parse_bytes(LEGACY.name, LEGACY.read_bytes())
    for native, canonical in [("impressions", "impressions"), ("likes", "likes"), ("replies", "comments"),
                              ("retweets", "shares"), ("url clicks", "clicks"), ("follows", "followers_gained")]:
        assert p.rows[canonical].sum() == sum(float(r[native]) for r in raw), native
    assert p.rows["impressions"].iloc[0] == 5213


def test_the_real_legacy_tweet_export_reads_times_as_utc_and_text_with_its_newlines():
    raw = raw_rows(real(LEGACY))
    p = parse_bytes(LEGACY.name, LEGACY.read_bytes())
    first = p.rows.iloc[0]
    assert first["published_at"] == pd.Timestamp(raw[0]["time"].replace(" +0000", ""), tz="UTC")
    assert first["title"] == raw[0]["Tweet text"].strip() and "\n" in first["title"]
    assert set(p.rows["account_handle"]) == {"rOpenSci"}
    assert first["url"] == raw[0]["Tweet permalink"]


def test_legacy_media_views_are_not_reported_as_video_views_because_they_count_images_too():
    p = parse_bytes(LEGACY.name, real(LEGACY).read_bytes())
    assert "video_views" not in p.rows
    # Promoted columns are "-" for unpromoted tweets; none of them is a canonical metric.
    assert not any(col.startswith("promoted") for col in p.rows.columns)


# --- the Premium content export (real file) -----------------------------------------------------

def test_the_real_content_export_skips_the_two_undefined_rows_and_keeps_the_rest():
    raw = raw_rows(real(CONTENT))
    junk = [r for r in raw if r["Post Link"].endswith("/status/undefined")]
    p = parse_bytes(CONTENT.name, CONTENT.read_bytes())
    assert p.report.name == "x.content"
    assert (len(raw), len(junk)) == (24, 2)
    assert p.rows_read == 24 and len(p.rows) == 22 and not p.problems
    assert sum(p.skipped.values()) == 2
    good = [r for r in raw if r not in junk]
    assert list(p.rows["post_id"]) == [r["Post id"] for r in good]
    assert list(p.rows["line"]) == [r["_line"] for r in good]


def test_the_real_content_export_maps_reposts_to_shares_and_bookmarks_to_saves():
    raw = [r for r in raw_rows(real(CONTENT)) if "undefined" not in r["Post Link"]]
    p = parse_bytes(CONTENT.name, CONTENT.read_bytes())
    for native, canonical in [("Impressions", "impressions"), ("Likes", "likes"), ("Bookmarks", "saves"),
                              ("Replies", "comments"), ("Reposts", "shares"), ("URL Clicks", "clicks"),
                              ("New follows", "followers_gained")]:
        assert p.rows[canonical].sum() == sum(int(r[native]) for r in raw), native
    # "Shares" (sent by DM or copied link) is not a repost and has no canonical column.
    assert p.rows["shares"].sum() != sum(int(r["Shares"]) for r in raw)


def test_the_real_content_export_takes_the_date_only_value_as_midnight_in_the_campaign_timezone():
    p = parse_bytes(CONTENT.name, real(CONTENT).read_bytes())
    first = p.rows.iloc[0]
    assert first["post_id"] == "1987315260559167965"
    assert first["published_at"] == pd.Timestamp("2025-11-09", tz=ZoneInfo("Asia/Shanghai")).tz_convert("UTC")
    assert set(p.rows["account_handle"]) == {"newsnoteworthy"}


# --- fixtures in X's formats --------------------------------------------------------------------

LEGACY_DAILY_HEADER = (
    "Date,Tweets published,impressions,engagements,engagement rate,retweets,replies,likes,"
    "user profile clicks,url clicks,hashtag clicks,detail expands,permalink clicks,app opens,"
    "app installs,follows,email tweet,dial phone,media views,media engagements,promoted impressions,"
    "promoted engagements,promoted engagement rate,promoted retweets,promoted replies,promoted likes,"
    "promoted user profile clicks,promoted url clicks,promoted hashtag clicks,promoted detail expands,"
    "promoted permalink clicks,promoted app opens,promoted app installs,promoted follows,"
    "promoted email tweet,promoted dial phone,promoted media views,promoted media engagements"
).split(",")


def legacy_daily_bytes(days: int = 5) -> bytes:
    """daily_tweet_activity_metrics_<handle>_<start>_<end>_en.csv: quoted cells, ISO dates, oldest first."""
    rows = []
    for i in range(days):
        impressions, engagements = 1000 + 37 * i, 13 + i
        values = [f"2021-01-{i + 1:02d}", str(i % 3), str(impressions), str(engagements),
                  repr(engagements / impressions), str(i), str(i % 2), str(2 * i), "3", str(i + 1), "0", "4",
                  "1", "0", "0", str(i % 2), "0", "0", str(10 * i), "2"]
        rows.append(values + ["-"] * (len(LEGACY_DAILY_HEADER) - len(values)))
    return csv_bytes(LEGACY_DAILY_HEADER, rows, quote_all=True)


def test_the_legacy_daily_file_is_one_account_row_per_day():
    data = legacy_daily_bytes()
    raw = list(csv.DictReader(io.StringIO(data.decode())))
    p = parse_bytes("daily_tweet_activity_metrics_rOpenSci_20210101_20210106_en.csv", data)
    assert p.report.name == "x.tweet_activity_daily"
    assert p.report.grain == "account_day"
    assert list(p.rows["day"]) == [pd.Timestamp(r["Date"]) for r in raw]
    assert p.rows["impressions"].sum() == sum(int(r["impressions"]) for r in raw)
    assert p.rows["clicks"].sum() == sum(int(r["url clicks"]) for r in raw)
    assert p.rows["shares"].sum() == sum(int(r["retweets"]) for r in raw)
    assert "post_id" not in p.rows and "video_views" not in p.rows


OVERVIEW_ORDERS = [
    "Date,Impressions,Likes,Engagements,Bookmarks,Shares,New follows,Unfollows,Replies,Reposts,"
    "Profile visits,Create Post,Video views,Media views",
    "Date,Impressions,Engagements,Likes,Replies,Reposts,New follows,Unfollows,Bookmarks,Shares,"
    "Profile visits,Create Post,Video views,Media views",
]
OVERVIEW_DAYS = [  # newest first, as X writes them
    {"Date": "Sun, Apr 28, 2024", "Impressions": "1,204", "Likes": "31", "Engagements": "77",
     "Bookmarks": "2", "Shares": "1", "New follows": "4", "Unfollows": "1", "Replies": "6", "Reposts": "3",
     "Profile visits": "19", "Create Post": "2", "Video views": "88", "Media views": "140"},
    {"Date": "Sat, Apr 27, 2024", "Impressions": "980", "Likes": "12", "Engagements": "40",
     "Bookmarks": "0", "Shares": "0", "New follows": "1", "Unfollows": "0", "Replies": "2", "Reposts": "1",
     "Profile visits": "7", "Create Post": "1", "Video views": "0", "Media views": "12"},
    {"Date": "Fri, Apr 26, 2024", "Impressions": "15", "Likes": "0", "Engagements": "1",
     "Bookmarks": "0", "Shares": "0", "New follows": "0", "Unfollows": "2", "Replies": "0", "Reposts": "0",
     "Profile visits": "1", "Create Post": "0", "Video views": "0", "Media views": "0"},
]


@pytest.mark.parametrize("order", OVERVIEW_ORDERS, ids=["bok-order", "xeraser-order"])
def test_both_overview_column_orders_give_the_same_days_and_metrics(order):
    header = order.split(",")
    data = csv_bytes(header, [[d[h] for h in header] for d in OVERVIEW_DAYS])
    p = parse_bytes("account_overview_analytics.csv", data)
    assert p.report.name == "x.overview"
    assert list(p.rows["day"]) == [pd.Timestamp("2024-04-28"), pd.Timestamp("2024-04-27"), pd.Timestamp("2024-04-26")]
    assert list(p.rows["impressions"]) == [1204, 980, 15]
    assert list(p.rows["likes"]) == [31, 12, 0]
    assert list(p.rows["comments"]) == [6, 2, 0]
    assert list(p.rows["shares"]) == [3, 1, 0]
    assert list(p.rows["saves"]) == [2, 0, 0]
    assert list(p.rows["followers_gained"]) == [4, 1, 0]
    assert list(p.rows["video_views"]) == [88, 0, 0]


CONTENT_EN = ("Post id,Date,Post text,Post Link,Impressions,Likes,Engagements,Bookmarks,Shares,New follows,"
              "Replies,Reposts,Profile visits,Detail Expands,URL Clicks,Hashtag Clicks,Permalink Clicks").split(",")
CONTENT_RU = ("Идентификатор поста,Дата,Текст поста,Ссылка на пост,Показы,Нравится,Взаимодействия,Закладки,"
              "Поделились,Новые читатели,Ответы,Репосты,Посещения профиля,Разворачивания подробных сведений,"
              "Клики по URL-адресам,Клики по хештегам,Клики по постоянным ссылкам").split(",")
# Japanese labels from EXPORTS.md 1b; ポストID / ポストのリンク from two importers that require them;
# パーマリンクのクリック数 is a guess (unconfirmed) for a column no canonical metric reads.
CONTENT_JA = ("ポストID,日付,ポスト本文,ポストのリンク,インプレッション数,いいね,エンゲージメント,ブックマーク,"
              "共有された回数,新しいフォロー,返信,リポスト,プロフィールへのアクセス数,詳細のクリック数,"
              "URLのクリック数,ハッシュタグのクリック数,パーマリンクのクリック数").split(",")

CONTENT_ROWS = [
    ["1869912345678901234", "Mon, Dec 23, 2024", "Yiwu 义乌 market, day 2\nmore soon",
     "https://x.com/jinhub/status/1869912345678901234", "5321", "88", "140", "7", "3", "5", "9", "12", "20",
     "11", "4", "2", "1"],
    ["1870300000000000001", "Sun, Dec 22, 2024", "Launch ceremony",
     "https://x.com/jinhub/status/1870300000000000001", "12040", "301", "700", "40", "11", "22", "35", "60",
     "80", "50", "30", "9", "3"],
]


@pytest.mark.parametrize("header", [CONTENT_EN, CONTENT_JA, CONTENT_RU], ids=["en", "ja", "ru"])
def test_a_content_export_is_recognised_in_english_japanese_and_russian(header):
    p = parse_bytes("account_analytics_content_2024-12-22_2024-12-23.csv", csv_bytes(header, CONTENT_ROWS))
    assert p.report.name == "x.content" and not p.problems
    assert list(p.rows["post_id"]) == [r[0] for r in CONTENT_ROWS]
    assert list(p.rows["impressions"]) == [int(r[4]) for r in CONTENT_ROWS]
    assert list(p.rows["likes"]) == [int(r[5]) for r in CONTENT_ROWS]
    assert list(p.rows["saves"]) == [int(r[7]) for r in CONTENT_ROWS]
    assert list(p.rows["followers_gained"]) == [int(r[9]) for r in CONTENT_ROWS]
    assert list(p.rows["comments"]) == [int(r[10]) for r in CONTENT_ROWS]
    assert list(p.rows["shares"]) == [int(r[11]) for r in CONTENT_ROWS]
    assert list(p.rows["clicks"]) == [int(r[14]) for r in CONTENT_ROWS]
    assert p.rows["title"].iloc[0] == "Yiwu 义乌 market, day 2\nmore soon"


def test_an_excel_mangled_id_is_recovered_from_the_permalink():
    rows = [list(r) for r in CONTENT_ROWS]
    rows[0][0] = "1.86991E+18"  # what Excel shows and saves for a 19-digit number
    rows[1][0] = "1870300000000000000"  # a number-formatted cell keeps only 15 significant digits
    p = parse_bytes("account_analytics_content.csv", csv_bytes(CONTENT_EN, rows, bom=True))
    assert not p.problems
    assert list(p.rows["post_id"]) == ["1869912345678901234", "1870300000000000001"]


def test_nineteen_digit_ids_are_kept_digit_for_digit():
    # 2**63 - 1: any trip through float64 or a lossy int would change the last digits.
    big = "9223372036854775807"
    rows = [[big, "Mon, Dec 23, 2024", "t", f"https://x.com/jinhub/status/{big}"] + ["1"] * 13]
    p = parse_bytes("account_analytics_content.csv", csv_bytes(CONTENT_EN, rows))
    assert p.rows["post_id"].tolist() == [big]
    assert isinstance(p.rows["post_id"].iloc[0], str)


def test_a_post_without_an_id_or_permalink_id_is_rejected_with_its_line():
    rows = [list(r) for r in CONTENT_ROWS]
    rows[1][0], rows[1][3] = "", "https://x.com/jinhub"
    p = parse_bytes("account_analytics_content.csv", csv_bytes(CONTENT_EN, rows))
    assert len(p.rows) == 1
    [problem] = p.problems
    assert (problem.line, problem.column, problem.value) == (4, "Post id", "")  # row 1 spans lines 2-3


def test_a_bad_count_rejects_only_its_row_and_names_line_column_and_value():
    rows = [list(r) for r in CONTENT_ROWS]
    rows[1][4] = "12k views"
    p = parse_bytes("account_analytics_content.csv", csv_bytes(CONTENT_EN, rows))
    assert p.rows["post_id"].tolist() == [CONTENT_ROWS[0][0]]
    [problem] = p.problems
    assert (problem.line, problem.column, problem.value) == (4, "Impressions", "12k views")


def test_an_overview_file_is_not_mistaken_for_a_content_file_or_the_reverse():
    header = OVERVIEW_ORDERS[0].split(",")
    overview = read_bytes("o.csv", csv_bytes(header, [[d[h] for h in header] for d in OVERVIEW_DAYS]))[0]
    content = read_bytes("c.csv", csv_bytes(CONTENT_EN, CONTENT_ROWS))[0]
    assert detect(overview).name == "x.overview"
    assert detect(content).name == "x.content"
    unknown = read_bytes("u.csv", b"Post id,Day,Imps,Favs\n1,2024-04-28,1,2\n")[0]
    with pytest.raises(DetectError, match="Closest known report"):
        detect(unknown)

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

from collectors import catalog
from collectors.errors import DetectError
from collectors.detect import detect as detect_match
from collectors.parse import Context, detect, parse_table
from collectors.read import header_key, read_bytes
from conftest import raw_rows

REAL = Path(__file__).resolve().parents[2] / "shared" / "samples" / "real" / "twitter"
LEGACY = REAL / "ropensci_20200301_20200401.csv"
CONTENT = REAL / "newsnoteworthy_x_content_2025-11-02_2025-11-09.csv"


def parse_bytes(name: str, data: bytes):
    tables = read_bytes(name, data)
    assert len(tables) == 1
    return parse_table(tables[0], Context(name))



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


# zh-Hans: X's UI terms (catalog evidence "help"); the three click columns it has no name for are
# written as a zh-CN UI would, and need no alias (no canonical metric reads them).
CONTENT_ZH = ("帖子 ID,日期,帖子文本,帖子链接,展示量,喜欢次数,互动,书签,分享,新关注者,回复,转帖,个人资料访问量,"
              "详细信息展开次数,URL 点击量,话题标签点击量,永久链接点击量").split(",")


# de: the 17 headers a German importer lists in file order ("Impressions", "Reposts" stay English).
CONTENT_DE = ("Post-ID,Datum,Post-Text,Post-Link,Impressions,Gefällt mir,Interaktionen,Lesezeichen,Mal geteilt,"
              "Neue Follower,Antworten,Reposts,Profilbesuche,Detailerweiterungen,URL-Klicks,Hashtag-Klicks,"
              "Permalink-Klicks").split(",")
# pt-BR: the 17 columns of a real Brazilian export, as a column-by-column profile of it names them.
CONTENT_PT = ("ID,Data,Texto do post,Postar link,Impressões,Curtidas,Engajamentos,Itens salvos,Compartilhamentos,"
              "Novos seguidores,Respostas,Reposts,Visitas ao perfil,Expansões de detalhes,Cliques de URL,"
              "Cliques de hashtag,Cliques de link permanente").split(",")


@pytest.mark.parametrize("header", [CONTENT_EN, CONTENT_JA, CONTENT_RU, CONTENT_ZH, CONTENT_DE, CONTENT_PT],
                         ids=["en", "ja", "ru", "zh-Hans", "de", "pt-BR"])
def test_a_content_export_is_recognised_in_each_catalog_language(header):
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
    # Known by its headers in that language, the off-X share column ("Mal geteilt",
    # "Compartilhamentos"...) included: it is never taken for the reposts.
    [table] = read_bytes("account_analytics_content.csv", csv_bytes(header, CONTENT_ROWS))
    m = detect_match(table)
    assert m.method == "header"
    assert dict(m.pairs(table))[header[8]] in ("", "_shares_external")


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
    # Refused: four columns are no X export (the wording of the candidates is detect's own).
    with pytest.raises(DetectError, match="not a known export"):
        detect(unknown)



# --- every column of every layout, and the languages of the catalog -----------------------------



def english_fields(entry_key: str, header: list[str]) -> list[str | None]:
    """Each header cell's field by the catalog's English aliases (None when it has none)."""
    en = catalog.entry(entry_key).aliases["en"]
    by_key = {header_key(n): f for f, names in en.items() for n in names}
    return [by_key.get(header_key(h)) for h in header]


def test_the_legacy_layout_is_every_column_of_the_real_file_in_order_promoted_ones_included():
    header = next(csv.reader(io.StringIO(real(LEGACY).read_text(encoding="utf-8"))))
    assert len(header) == 40
    assert english_fields("x:tweet_activity", header) == catalog.entry("x:tweet_activity").layouts[0]


def test_the_legacy_daily_layout_is_every_column_of_the_daily_file_in_order():
    assert len(LEGACY_DAILY_HEADER) == 38
    fields = english_fields("x:tweet_activity_daily", LEGACY_DAILY_HEADER)
    assert fields == catalog.entry("x:tweet_activity_daily").layouts[0]


def test_the_content_layout_is_every_column_of_the_real_file_in_order():
    header = next(csv.reader(io.StringIO(real(CONTENT).read_text(encoding="utf-8-sig"))))
    assert english_fields("x:content", header) == catalog.entry("x:content").layouts[0]


@pytest.mark.parametrize("order", OVERVIEW_ORDERS, ids=["bok-order", "xeraser-order"])
def test_each_overview_order_is_one_of_its_layouts(order):
    assert english_fields("x:overview", order.split(",")) in catalog.entry("x:overview").layouts


@pytest.mark.parametrize("key", ["x:tweet_activity", "x:tweet_activity_daily", "x:content", "x:overview"])
def test_every_language_table_says_where_its_names_come_from_and_every_layout_field_has_a_name(key):
    e = catalog.entry(key)
    assert "en" in e.aliases
    for lang in e.aliases:
        assert lang in catalog.LANGUAGES, lang
        assert e.sources.get(lang), f"{key} [{lang}] has no _source"
        assert e.evidence.get(lang) in ("export", "code", "help", "translation"), f"{key} [{lang}]"
    en = e.aliases["en"]
    for layout in e.layouts:
        assert [f for f in layout if f not in en] == []


# --- the content export variant with Link / Share and lower-case click columns ------------------

# Seen in a real file behind issue 9 (an older content export): "Link" for "Post Link", "Share" for
# "Shares", "… clicks" in lower case. Its column order between Link and Share was not recorded;
# matching is by name, so the fixture keeps the current order.
CONTENT_LINK_SHARE = ("Post id,Date,Post text,Link,Impressions,Likes,Engagements,Bookmarks,Share,New follows,"
                      "Replies,Reposts,Profile visits,Detail expands,URL clicks,Hashtag clicks,"
                      "Permalink clicks").split(",")


def test_the_link_and_share_content_variant_imports_like_the_current_export():
    name = "account_analytics_content_2024-12-22_2024-12-23.csv"
    variant = parse_bytes(name, csv_bytes(CONTENT_LINK_SHARE, CONTENT_ROWS))
    current = parse_bytes(name, csv_bytes(CONTENT_EN, CONTENT_ROWS))
    assert variant.report.name == "x.content" and not variant.problems
    pd.testing.assert_frame_equal(variant.rows, current.rows)
    assert list(variant.rows["url"]) == [r[3] for r in CONTENT_ROWS]
    assert set(variant.rows["account_handle"]) == {"jinhub"}
    # "Share" is the off-X share count, like "Shares": reposts stay the shares metric.
    assert list(variant.rows["shares"]) == [int(r[11]) for r in CONTENT_ROWS]
    assert list(variant.rows["shares"]) != [int(r[8]) for r in CONTENT_ROWS]


def test_the_link_and_share_variant_is_not_taken_for_an_overview_even_without_its_post_id():
    header = ["Id"] + CONTENT_LINK_SHARE[1:]
    [table] = read_bytes("c.csv", csv_bytes(header, CONTENT_ROWS))
    try:
        assert detect(table).name != "x.overview"
    except DetectError:
        pass


# --- localized exports -------------------------------------------------------------------------

def test_a_japanese_content_export_keeps_english_dates_and_reads_every_column():
    # Japanese exports write the date the English way (four Japanese importers parse it so).
    rows = [r[:] for r in CONTENT_ROWS]
    rows[0][1], rows[1][1] = "Mon, Oct 5, 2026", "Tue, Oct 6, 2026"
    p = parse_bytes("account_analytics_content_2026-10-05_2026-10-06.csv", csv_bytes(CONTENT_JA, rows, bom=True))
    assert p.report.name == "x.content" and not p.problems
    tz = ZoneInfo("Asia/Shanghai")
    assert list(p.rows["published_at"]) == [pd.Timestamp(d, tz=tz).tz_convert("UTC")
                                            for d in ("2026-10-05", "2026-10-06")]
    assert list(p.rows["impressions"]) == [int(r[4]) for r in rows]


OVERVIEW_JA = ("Date,インプレッション数,いいね,エンゲージメント,ブックマーク,共有された回数,新しいフォロー,フォロー解除,"
               "返信,リポスト,プロフィールへのアクセス数,ポストを作成,動画再生数,メディアの再生数").split(",")


# pt-BR: the 14 headers of two real Brazilian overview files (first order), from the same profile.
OVERVIEW_PT = ("Data,Impressões,Curtidas,Engajamentos,Itens salvos,Compartilhamentos,Novos seguidores,"
               "Deixar de seguir,Respostas,Reposts,Visitas ao perfil,Criar post,Visualizações de vídeo,"
               "Visualizações de mídia").split(",")


def test_a_brazilian_overview_is_read_by_its_headers_like_the_english_one():
    english = OVERVIEW_ORDERS[0].split(",")
    rows = [[d[h] for h in english] for d in OVERVIEW_DAYS]
    p = parse_bytes("account_overview_analytics (2).csv", csv_bytes(OVERVIEW_PT, rows))
    en = parse_bytes("account_overview_analytics.csv", csv_bytes(english, rows))
    assert p.report.name == "x.overview" and not p.problems
    pd.testing.assert_frame_equal(p.rows, en.rows)
    assert list(p.rows["shares"]) == [3, 1, 0]  # Reposts, not Compartilhamentos


def test_a_japanese_overview_keeps_the_english_date_header_and_is_read_fully():
    english = OVERVIEW_ORDERS[0].split(",")
    rows = [[d[h] for h in english] for d in OVERVIEW_DAYS]
    p = parse_bytes("account_overview_analytics.csv", csv_bytes(OVERVIEW_JA, rows))
    en = parse_bytes("account_overview_analytics.csv", csv_bytes(english, rows))
    assert p.report.name == "x.overview" and not p.problems
    pd.testing.assert_frame_equal(p.rows, en.rows)
    assert list(p.rows["video_views"]) == [88, 0, 0]


LEGACY_HEADER_EN = next(csv.reader(io.StringIO(
    '"Tweet id","Tweet permalink","Tweet text","time","impressions","engagements","engagement rate",'
    '"retweets","replies","likes","user profile clicks","url clicks","hashtag clicks","detail expands",'
    '"permalink clicks","app opens","app installs","follows","email tweet","dial phone","media views",'
    '"media engagements"')))
LEGACY_PROMOTED = ["promoted " + h for h in LEGACY_HEADER_EN[4:]]
LEGACY_HEADER_JA = ("ツイートID,ツイートの固定リンク,ツイート本文,時間,インプレッション,エンゲージメント,エンゲージメント率,"
                    "リツイート,返信,いいね,ユーザープロフィールクリック,URLクリック数,ハッシュタグクリック,詳細クリック,"
                    "固定リンクのクリック数,アプリ表示,アプリインストール,フォローしている,ツイートをメール送信,"
                    "ダイアル式電話,メディアの再生数,メディアのエンゲージメント数").split(",")
LEGACY_PROMOTED_JA = ["プロモの" + h for h in LEGACY_HEADER_JA[4:]]
# The 40 names a Brazilian script reads from a real ..._pt.csv (colons included, as X wrote them).
LEGACY_HEADER_PT = ["id do Tweet", "link permanente do Tweet", "texto do Tweet", "horário", "impressões",
                    "engajamentos", "taxa de engajamento", "retweets", "respostas", "favoritos",
                    "cliques no perfil do usuário:", "cliques no URL", "cliques em hashtags:",
                    "expansões de detalhes:", "cliques no link permanente", "aberturas de aplicativos",
                    "instalações de aplicativo:", "seguiram", "Tweet enviado por e-mail",
                    "número de telefone discado", "visualizações da mídia", "engajamentos com mídia"]
LEGACY_PROMOTED_PT = [h + " promovido(a)(s)" for h in LEGACY_HEADER_PT[4:]]


def legacy_rows() -> list[list[str]]:
    rows = []
    for i, tid in enumerate(["1245106294198906880", "1244701243919884288", "1244500000000000003"]):
        counts = [f"{1000.0 * (i + 1) + 7:.1f}", f"{20.0 + i:.1f}", repr((20 + i) / (1000 * (i + 1) + 7)),
                  f"{i:.1f}", f"{2 * i:.1f}", f"{3 + i:.1f}", "1.0", f"{4 + i:.1f}", "0.0", "5.0", "0.0",
                  "0", "0", f"{i}", "0", "0", "12", "12"]
        rows.append([tid, f"https://twitter.com/jinhub/status/{tid}", f"第{i}回 #义乌",
                     f"2020-03-{31 - i} 21:50 +0000"] + counts + ["-"] * 18)
    return rows


@pytest.mark.parametrize("header", [LEGACY_HEADER_EN + LEGACY_PROMOTED, LEGACY_HEADER_JA + LEGACY_PROMOTED_JA,
                                    LEGACY_HEADER_PT + LEGACY_PROMOTED_PT], ids=["en", "ja", "pt-BR"])
def test_a_legacy_tweet_export_with_promoted_columns_is_read_in_each_known_language(header):
    assert len(header) == 40
    data = csv_bytes(header, legacy_rows(), quote_all=True)
    p = parse_bytes("tweet_activity_metrics_jinhub_20200301_20200401_ja.csv", data)
    assert p.report.name == "x.tweet_activity" and not p.problems
    assert list(p.rows["post_id"]) == [r[0] for r in legacy_rows()]
    assert list(p.rows["impressions"]) == [1007, 2007, 3007]
    assert list(p.rows["shares"]) == [0, 1, 2]  # リツイート / retweets
    assert list(p.rows["clicks"]) == [4, 5, 6]  # URLクリック数 / url clicks
    assert list(p.rows["followers_gained"]) == [0, 1, 2]  # フォローしている / seguiram / follows
    lang = "en" if header[0] == "Tweet id" else "ja" if header[0] == "ツイートID" else "pt-BR"
    # Every column, promoted ones included, has its name in the catalog, in the layout's order.
    names = catalog.entry("x:tweet_activity").aliases[lang]
    by_key = {header_key(n): f for f, ns in names.items() for n in ns}
    assert [by_key.get(header_key(h)) for h in header] == catalog.entry("x:tweet_activity").layouts[0]


def test_a_french_legacy_export_is_read_by_the_columns_french_code_names():
    # Fifteen French headers are known (two scripts reading French monthly exports); the rest of
    # the file is unknown words, which the legacy report does not need.
    header = (["Identifiant du Tweet", "Permalien du Tweet", "Texte du Tweet", "heure", "impressions",
               "engagements", "taux d'engagement", "Retweets", "réponses", "J'aime",
               "clics sur le profil de l'utilisateur", "clics sur l'URL", "clics sur le hashtag",
               "ouvertures des détails", "clics sur le permalien"]
              + [f"colonne {i}" for i in range(25)])
    p = parse_bytes("tweet_activity_metrics_jinhub_20200301_20200401_fr.csv",
                    csv_bytes(header, legacy_rows(), quote_all=True))
    assert p.report.name == "x.tweet_activity" and not p.problems
    assert list(p.rows["likes"]) == [3, 4, 5]
    assert list(p.rows["comments"]) == [0, 2, 4]
    assert list(p.rows["clicks"]) == [4, 5, 6]  # clics sur l'URL


def test_a_japanese_legacy_daily_file_keeps_tweets_published_in_english():
    header = ["日付", "Tweets published"] + LEGACY_HEADER_JA[4:] + LEGACY_PROMOTED_JA
    en = legacy_daily_bytes()
    rows = list(csv.reader(io.StringIO(en.decode())))[1:]
    p = parse_bytes("daily_tweet_activity_metrics_jinhub_20210101_20210106_ja.csv",
                    csv_bytes(header, rows, quote_all=True))
    english = parse_bytes("daily_tweet_activity_metrics_jinhub_20210101_20210106_en.csv", en)
    assert p.report.name == "x.tweet_activity_daily" and not p.problems
    pd.testing.assert_frame_equal(p.rows, english.rows)


def test_a_content_export_in_a_language_the_catalog_lacks_is_read_by_its_structure():
    # Made-up headers, the English order and values: only the structure says what it is.
    header = [f"Kolumno {i}" for i in range(len(CONTENT_EN))]
    p = parse_bytes("account_analytics_content_2024-12-22_2024-12-23.csv", csv_bytes(header, CONTENT_ROWS))
    assert p.report.name == "x.content" and not p.problems
    assert list(p.rows["post_id"]) == [r[0] for r in CONTENT_ROWS]
    assert list(p.rows["shares"]) == [int(r[11]) for r in CONTENT_ROWS]
    assert list(p.rows["clicks"]) == [int(r[14]) for r in CONTENT_ROWS]


def test_legacy_files_in_a_language_the_catalog_lacks_are_read_by_their_40_and_38_columns():
    tweets = parse_bytes("tweet_activity_metrics_jinhub_20200301_20200401_es.csv",
                         csv_bytes([f"columna {i}" for i in range(40)], legacy_rows(), quote_all=True))
    assert tweets.report.name == "x.tweet_activity" and not tweets.problems
    assert list(tweets.rows["post_id"]) == [r[0] for r in legacy_rows()]
    assert list(tweets.rows["likes"]) == [3, 4, 5]
    english = list(csv.reader(io.StringIO(legacy_daily_bytes().decode())))
    days = parse_bytes("daily_tweet_activity_metrics_jinhub_20210101_20210106_es.csv",
                       csv_bytes([f"columna {i}" for i in range(38)], english[1:], quote_all=True))
    assert days.report.name == "x.tweet_activity_daily" and not days.problems
    pd.testing.assert_frame_equal(days.rows, parse_bytes("d_en.csv", legacy_daily_bytes()).rows)


def test_an_overview_in_a_language_the_catalog_lacks_is_refused_because_both_orders_fit():
    # The two known overview orders differ only in where six count columns sit: without a known
    # header, structure cannot choose, and the refusal names the overview as the candidate.
    english = OVERVIEW_ORDERS[0].split(",")
    made_up = [f"Kolumno {i}" for i in range(len(english))]
    [table] = read_bytes("account_overview_analytics.csv",
                         csv_bytes(made_up, [[d[h] for h in english] for d in OVERVIEW_DAYS]))
    with pytest.raises(DetectError) as refused:
        detect(table)
    assert "x.overview" in str(refused.value)

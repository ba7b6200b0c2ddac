"""Meta importers: the five real Facebook and Instagram exports in ../shared and fixtures made here in
Meta's own formats (UTF-8 with BOM and space-quoting for content exports, UTF-16 LE with BOM and a
``sep=,`` line for chart downloads).

Expected counts and sums are recomputed from the raw bytes with the csv module, never with the
code under test, so a parser that drops, doubles or misreads rows disagrees with them.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from collectors.errors import DetectError
from collectors.parse import Context, detect, parse_table
from collectors.pipeline import Importer
from collectors.read import read_bytes
from collectors.store import database, schema
from conftest import raw_rows

REAL = Path(__file__).resolve().parents[2] / "shared" / "samples" / "real"
FB_LIFETIME = REAL / "facebook" / "oktobuzz_westside_posts_lifetime.csv"
FB_DAILY = REAL / "facebook" / "oktobuzz_westside_posts_daily.csv"
IG_POSTS = REAL / "instagram" / "oktobuzz_posts_reels.csv"
IG_STORIES = REAL / "instagram" / "oktobuzz_stories.csv"
CHART = REAL / "facebook" / "nataliaartilha_page_reach_daily_utf16.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def real(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample {path} is not available")
    return path


def parse_all(name: str, data: bytes):
    return [parse_table(t, Context(name)) for t in read_bytes(name, data)]


def parse_one(name: str, data: bytes):
    parsed = parse_all(name, data)
    assert len(parsed) == 1
    return parsed[0]


def total(rows, col, cast=int):
    return sum(cast(r[col]) for r in rows if r[col].strip())


def blanks(rows, col):
    return sum(1 for r in rows if not r[col].strip())


def meta_csv(header: list[str], rows: list[list]) -> bytes:
    """A content export as Meta writes it: BOM, LF, a cell quoted when it has a space or a comma."""
    def cell(v):
        v = str(v)
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ' ,"\n') else v

    text = "".join(",".join(cell(v) for v in r) + "\n" for r in [header, *rows])
    return b"\xef\xbb\xbf" + text.encode("utf-8")


def chart_bytes(sections: list[tuple[str, str, list[tuple[str, str]]]]) -> bytes:
    """A chart download: UTF-16 LE with BOM, sep=, line, then per section a title, a header, rows."""
    lines = ["sep=,"]
    for i, (title, value_header, rows) in enumerate(sections):
        if i:
            lines.append("")
        lines += [f'"{title}"', f'"Date","{value_header}"'] + [f'"{d}","{v}"' for d, v in rows]
    return b"\xff\xfe" + ("\n".join(lines) + "\n\n").encode("utf-16-le")


FB_HEADER = ["Post ID", "Page ID", "Page name", "Title", "Description", "Duration (sec)", "Publish time",
             "Caption type", "Permalink", "Is crosspost", "Is share", "Post type", "Languages", "Custom labels",
             "Funded content status", "Data comment", "Date", "Views", "Reach", "Reactions, comments and shares",
             "Reactions", "Comments", "Shares", "Total clicks", "Other clicks", "Link clicks"]


def fb_row(post_id, title, when, views, reach, reactions, comments=0, shares=0, date="Lifetime",
           description=None, link_clicks=""):
    return [post_id, "100045700821521", "Studiostone Creative", title,
            title if description is None else description, 0, when, "N/A",
            f"https://www.facebook.com/studiostonecreative/posts/pfbid{post_id}", 0, 0, "Photos", "", "", "", "",
            date, views, reach, reactions + comments + shares, reactions, comments, shares, 2, 1, link_clicks]


IG_HEADER = ["Post ID", "Account ID", "Account username", "Account name", "Description", "Duration (sec)",
             "Publish time", "Permalink", "Post type", "Data comment", "Date", "Views", "Reach", "Likes", "Shares",
             "Follows", "Comments", "Saves"]


# --- real Facebook exports ----------------------------------------------------------------------

def test_the_real_facebook_lifetime_export_keeps_its_13_posts_their_ids_and_the_lines_they_start_on():
    raw = raw_rows(real(FB_LIFETIME))
    p = parse_one(FB_LIFETIME.name, FB_LIFETIME.read_bytes())
    assert p.report.name == "facebook.posts" and p.report.grain == "post_lifetime"
    assert len(raw) == 13 and p.rows_read == 13 and len(p.rows) == 13 and not p.problems
    assert list(p.rows["post_id"]) == [r["Post ID"] for r in raw]
    # Captions span several lines: row 2 starts on line 9, not line 3.
    assert list(p.rows["line"]) == [r["_line"] for r in raw]
    assert p.rows["line"].iloc[1] == 9


def test_the_real_facebook_lifetime_export_sums_each_metric_and_leaves_empty_link_clicks_null():
    raw = raw_rows(real(FB_LIFETIME))
    rows = parse_one(FB_LIFETIME.name, FB_LIFETIME.read_bytes()).rows
    for native, canonical in [("Views", "views"), ("Reach", "reach"), ("Reactions", "likes"),
                              ("Comments", "comments"), ("Shares", "shares"), ("Link clicks", "clicks")]:
        assert rows[canonical].sum() == total(raw, native), native
        assert rows[canonical].isna().sum() == blanks(raw, native), native
    assert blanks(raw, "Link clicks") == 10  # NULL, not 0: the file leaves them empty
    # Seconds viewed is already seconds, with fractions: no hours-to-seconds scaling.
    assert rows["watch_time_s"].sum() == pytest.approx(total(raw, "Seconds viewed", float))
    assert rows["watch_time_s"].iloc[0] == pytest.approx(4126.609)
    # Total clicks (all kinds of clicks) must not be taken for link clicks.
    assert rows["clicks"].sum() != total(raw, "Total clicks")


def test_the_real_facebook_lifetime_export_reads_page_title_and_publish_time_in_the_campaign_zone():
    raw = raw_rows(real(FB_LIFETIME))
    rows = parse_one(FB_LIFETIME.name, FB_LIFETIME.read_bytes()).rows
    assert set(rows["account_id"]) == {"100064845214824"} and set(rows["account_name"]) == {"Westside"}
    assert "account_handle" not in rows
    first = raw[0]["Publish time"]  # "01/28/2026 03:29", naive: taken in Asia/Shanghai
    local = datetime.strptime(first, "%m/%d/%Y %H:%M").replace(tzinfo=SHANGHAI)
    assert rows["published_at"].iloc[0] == pd.Timestamp(local.astimezone(timezone.utc))
    assert rows["title"].iloc[0] == raw[0]["Title"] and "\n" in rows["title"].iloc[0]
    assert list(rows["url"]) == [r["Permalink"] for r in raw]
    assert list(rows["post_type"]) == [r["Post type"] for r in raw]


def test_the_real_facebook_per_day_export_is_84_post_days_of_12_posts_with_the_days_it_states():
    raw = raw_rows(real(FB_DAILY))
    p = parse_one(FB_DAILY.name, FB_DAILY.read_bytes())
    assert p.report.name == "facebook.posts_daily" and p.report.grain == "post_daily"
    assert len(raw) == 84 and len(p.rows) == 84 and not p.problems
    assert p.rows["post_id"].nunique() == len({r["Post ID"] for r in raw}) == 12
    assert [d.strftime("%m/%d/%Y") for d in p.rows["day"]] == [r["Date"] for r in raw]
    assert p.rows["day"].dt.tz is None
    for native, canonical in [("Reactions", "likes"), ("Comments", "comments"), ("Shares", "shares")]:
        assert p.rows[canonical].sum() == total(raw, native), native
    assert p.rows["watch_time_s"].sum() == pytest.approx(total(raw, "Seconds viewed", float))
    # The per-day export has no Views or Reach columns: they are not invented as zeros.
    assert "views" not in p.rows and "reach" not in p.rows


def test_the_real_facebook_chart_download_gives_facebook_and_instagram_reach_per_day_and_no_account():
    text = real(CHART).read_bytes().decode("utf-16")
    sections = [s for s in text.split("\n\n") if s.strip()]
    expected = []
    for s in sections:
        lines = s.splitlines()
        lines = lines[1:] if lines[0] == "sep=," else lines
        rows = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
        expected.append((lines[0].strip('"'), rows[1:]))
    assert [title for title, _ in expected] == ["Facebook Page reach", "Instagram reach"]
    parsed = parse_all(CHART.name, CHART.read_bytes())
    assert [p.report.name for p in parsed] == ["facebook.page_chart", "instagram.account_chart"]
    for p, (title, rows) in zip(parsed, expected):
        assert p.report.grain == "account_day" and not p.problems
        assert len(p.rows) == len(rows) == 1070
        assert p.rows["reach"].sum() == sum(int(r[1]) for r in rows), title
        assert p.rows["day"].iloc[0] == pd.Timestamp(rows[0][0][:10])
        assert p.rows["day"].iloc[-1] == pd.Timestamp(rows[-1][0][:10])
        assert not {"account_id", "account_handle", "account_name"} & set(p.rows)


# --- real Instagram exports -----------------------------------------------------------------------

def test_the_real_instagram_post_export_reads_each_rows_own_account_and_keeps_an_empty_reach_null():
    raw = raw_rows(real(IG_POSTS))
    p = parse_one(IG_POSTS.name, IG_POSTS.read_bytes())
    assert p.report.name == "instagram.posts" and len(p.rows) == len(raw) == 15 and not p.problems
    assert list(p.rows["post_id"]) == [r["Post ID"] for r in raw]
    # Collaboration posts come under each collaborator's account, row by row.
    assert list(p.rows["account_handle"]) == [r["Account username"] for r in raw]
    assert list(p.rows["account_id"]) == [r["Account ID"] for r in raw]
    assert len(set(p.rows["account_handle"])) > 1
    for native, canonical in [("Views", "views"), ("Reach", "reach"), ("Likes", "likes"), ("Shares", "shares"),
                              ("Comments", "comments"), ("Saves", "saves"), ("Follows", "followers_gained")]:
        assert p.rows[canonical].sum() == total(raw, native), native
        assert p.rows[canonical].isna().sum() == blanks(raw, native), native
    assert blanks(raw, "Reach") == 1
    assert list(p.rows["title"]) == [r["Description"] for r in raw]
    assert set(p.rows["post_type"]) == {"IG reel", "IG carousel"}


def test_the_real_instagram_stories_export_is_read_as_stories_with_link_clicks_and_no_comments():
    raw = raw_rows(real(IG_STORIES))
    p = parse_one(IG_STORIES.name, IG_STORIES.read_bytes())
    assert p.report.name == "instagram.stories" and p.report.grain == "post_lifetime"
    assert len(p.rows) == len(raw) == 46 and not p.problems
    assert set(p.rows["post_type"]) == {"IG story"}
    for native, canonical in [("Views", "views"), ("Reach", "reach"), ("Likes", "likes"), ("Shares", "shares"),
                              ("Link clicks", "clicks"), ("Follows", "followers_gained")]:
        assert p.rows[canonical].sum() == total(raw, native), native
        assert p.rows[canonical].isna().sum() == blanks(raw, native), native
    # Replies are private messages, not comments; Navigation taps are no canonical metric.
    assert "comments" not in p.rows and "saves" not in p.rows
    assert p.rows["views"].sum() != total(raw, "Navigation")


def test_every_real_sample_is_claimed_by_the_right_report_and_no_meta_report_claims_another_platform():
    if not REAL.is_dir():
        pytest.skip(f"real samples not available ({REAL} is absent)")
    expected = {
        FB_LIFETIME: ["facebook.posts"], FB_DAILY: ["facebook.posts_daily"], IG_POSTS: ["instagram.posts"],
        IG_STORIES: ["instagram.stories"], CHART: ["facebook.page_chart", "instagram.account_chart"],
    }
    for path in sorted(REAL.rglob("*")):
        if not path.is_file() or path.name == "SOURCES.tsv":
            continue
        names = []
        for t in read_bytes(path.name, path.read_bytes()):
            try:
                names.append(detect(t).name)
            except DetectError:
                names.append(None)
        if path in expected:
            assert names == expected[path], path
        else:
            assert not any(n and n.split(".")[0] in ("facebook", "instagram") for n in names), (path, names)


def test_the_real_meta_exports_import_through_the_pipeline_with_their_platform_and_account(sqlite_url):
    engine = database.connect(sqlite_url)
    imp = Importer(engine, None)
    results = {p: imp.import_bytes(p.name, real(p).read_bytes()) for p in (FB_LIFETIME, IG_POSTS, CHART)}
    assert all(r.status == "imported" for r in results.values()), [r.message for r in results.values()]
    assert results[FB_LIFETIME].platform == "facebook" and results[FB_LIFETIME].snapshots == 13
    assert results[IG_POSTS].platform == "instagram" and results[IG_POSTS].snapshots == 15
    assert results[CHART].platform == "facebook+instagram" and results[CHART].account_days == 2140
    with engine.connect() as c:
        platforms = dict(c.execute(sa.select(schema.posts.c.platform, sa.func.count())
                                   .group_by(schema.posts.c.platform)).all())
    engine.dispose()
    assert platforms == {"facebook": 13, "instagram": 15}


# --- fixtures in Meta's formats ---------------------------------------------------------------------

def test_an_instagram_chart_download_in_utf16_gives_follows_per_day_on_instagram():
    days = [("2025-08-01T00:00:00", "20"), ("2025-08-02T00:00:00", "7"), ("2025-08-03T00:00:00", "0")]
    data = chart_bytes([("Instagram follows", "Primary", days)])
    assert data[:2] == b"\xff\xfe" and b"s\x00e\x00p\x00=\x00,\x00" in data[:12]
    p = parse_one("Follows (1).csv", data)
    assert p.report.name == "instagram.account_chart" and p.report.platform == "instagram"
    assert list(p.rows["followers_gained"]) == [20, 7, 0]
    assert list(p.rows["day"]) == [pd.Timestamp("2025-08-01"), pd.Timestamp("2025-08-02"), pd.Timestamp("2025-08-03")]
    assert list(p.rows["line"]) == [4, 5, 6]  # after sep=, the title and the header
    assert set(p.rows.columns) == {"day", "followers_gained", "line"}


def test_a_chart_download_of_visits_is_recognised_and_left_out_whole_with_the_reason():
    days = [(f"2025-08-0{d}T00:00:00", str(d * 3)) for d in range(1, 6)]
    p = parse_one("Visits (1).csv", chart_bytes([("Facebook visits", "Primary", days)]))
    assert p.report.name == "facebook.page_chart"
    assert p.rows.empty and not p.problems
    [(reason, n)] = p.skipped.items()
    assert n == 5 and "Facebook visits" in reason and "visits" in reason.split("(", 1)[1]


@pytest.mark.parametrize("title, metric", [
    ("Facebook Page reach", "reach"), ("Instagram viewers", "reach"), ("Facebook views", "views"),
    ("Facebook Page views", None), ("Facebook follows", "followers_gained"), ("Facebook unfollows", None),
    ("New Instagram followers", "followers_gained"), ("Instagram followers", None),
    ("Facebook link clicks", "clicks"), ("Facebook content interactions", None), ("Instagram profile visits", None),
    ("New Facebook Page likes", None),
])
def test_a_chart_title_decides_the_metric_and_near_miss_titles_are_not_taken_for_it(title, metric):
    days = [("2025-08-01T00:00:00", "11"), ("2025-08-02T00:00:00", "4")]
    p = parse_one("chart.csv", chart_bytes([(title, title, days)]))
    if metric is None:
        assert p.rows.empty and sum(p.skipped.values()) == 2
    else:
        assert list(p.rows[metric]) == [11, 4]


def test_a_chart_value_that_is_not_a_number_rejects_that_day_with_its_line_and_column():
    days = [("2025-08-01T00:00:00", "5"), ("2025-08-02T00:00:00", "n/d"), ("2025-08-03T00:00:00", "9")]
    p = parse_one("Reach.csv", chart_bytes([("Facebook Page reach", "Facebook Page reach", days)]))
    assert list(p.rows["reach"]) == [5, 9]
    [prob] = p.problems
    assert (prob.line, prob.column, prob.value) == (5, "Facebook Page reach", "n/d")


def test_a_post_with_views_left_blank_keeps_views_null_while_the_others_are_counted():
    data = meta_csv(FB_HEADER, [
        fb_row("1823209189212424", "Take yourself back to the shore.\nThe sound of the water.", "09/24/2026 15:30",
               63, 45, 5),
        fb_row("1827720132094663", "An autumn favourite is back!", "09/28/2026 18:12", "", 20, 4),
        fb_row("1830000000000001", "Third", "09/29/2026 08:00", 100, 80, 2),
    ])
    raw = raw_rows(data)
    p = parse_one("Sep-01-2026_Sep-30-2026_100045700821521.csv", data)
    assert p.report.name == "facebook.posts" and not p.problems
    assert p.rows["views"].isna().tolist() == [False, True, False]
    assert p.rows["views"].sum() == total(raw, "Views") == 163
    assert p.rows["reach"].notna().all()


def test_a_row_with_a_bad_number_is_rejected_at_the_line_it_starts_on_naming_the_column():
    data = meta_csv(FB_HEADER, [
        fb_row("1823209189212424", "Two\nlines", "09/24/2026 15:30", 63, 45, 5),
        fb_row("1827720132094663", "Bad one", "09/28/2026 18:12", 27, 20, 4),
        fb_row("1830000000000001", "Third", "09/29/2026 08:00", 100, 80, 2),
    ]).replace(b",4,4,0,0,", b",4,4 reactions,0,0,")
    raw = raw_rows(data)
    assert raw[1]["Reactions"] == "4 reactions"
    p = parse_one("posts.csv", data)
    [prob] = p.problems
    # The first caption spans lines 2-4, so the bad row starts on line 5.
    assert (prob.line, prob.column, prob.value) == (raw[1]["_line"], "Reactions", "4 reactions")
    assert prob.line == 5
    assert "whole number" in prob.expected
    assert list(p.rows["post_id"]) == ["1823209189212424", "1830000000000001"]


def test_a_post_id_damaged_by_excel_is_rejected_and_not_stored_as_a_rounded_number():
    data = meta_csv(FB_HEADER, [fb_row("1.82321E+15", "Saved by Excel", "09/24/2026 15:30", 63, 45, 5),
                                fb_row("1827720132094663", "Fine", "09/28/2026 18:12", 27, 20, 4)])
    p = parse_one("posts.csv", data)
    assert list(p.rows["post_id"]) == ["1827720132094663"]
    [prob] = p.problems
    assert prob.column == "Post ID" and prob.value == "1.82321E+15" and "Excel" in prob.expected


def test_title_falls_back_to_description_and_publish_time_may_carry_seconds():
    data = meta_csv(FB_HEADER, [fb_row("1823209189212424", "", "09/24/2026 15:30:45", 63, 45, 5,
                                       description="Only in the description")])
    rows = parse_one("posts.csv", data).rows
    assert rows["title"].iloc[0] == "Only in the description"
    assert rows["published_at"].iloc[0] == pd.Timestamp("2026-09-24 07:30:45", tz="UTC")  # 15:30:45 in Shanghai


def test_a_file_mixing_lifetime_and_day_rows_is_refused_as_an_unknown_shape():
    data = meta_csv(FB_HEADER, [fb_row("1823209189212424", "a", "09/24/2026 15:30", 63, 45, 5),
                                fb_row("1823209189212424", "a", "09/24/2026 15:30", 3, 4, 5, date="09/25/2026")])
    # Refused whichever way the message puts it (by headers or by structure): neither the lifetime
    # nor the per-day report accepts rows of both kinds.
    with pytest.raises(DetectError, match="not a known export"):
        parse_one("posts.csv", data)


def test_an_instagram_export_with_days_in_the_date_column_is_read_per_post_and_day():
    rows = [["18182686576415017", "17841403398239763", "studiostonecreative", "Studiostone Creative", "Shore", 0,
             "09/24/2026 15:30", "https://www.instagram.com/p/Ddr9jGEmLMp/", "IG carousel", "", day,
             v, v, 1, 0, "", 0, 0] for day, v in (("09/24/2026", 60), ("09/25/2026", 39))]
    data = meta_csv(IG_HEADER, rows)
    p = parse_one("ig.csv", data)
    assert p.report.name == "instagram.posts_daily"
    assert list(p.rows["day"]) == [pd.Timestamp("2026-09-24"), pd.Timestamp("2026-09-25")]
    assert list(p.rows["views"]) == [60, 39] and p.rows["followers_gained"].isna().all()


def test_the_legacy_post_data_export_skips_its_description_row_and_keeps_page_prefixed_ids():
    header = ["Post ID", "Permalink", "Post Message", "Type", "Countries", "Languages", "Posted",
              "Audience Targeting", "Lifetime Post Total Reach", "Lifetime Post organic reach",
              "Lifetime Post Total Impressions", "Lifetime Engaged Users",
              "Lifetime Talking About This (Post) by action type - like",
              "Lifetime Post Stories by action type - comment", "Lifetime Post Stories by action type - like",
              "Lifetime Post Stories by action type - share"]
    describe = ["", "", "", "", "", "", "", "",
                "Lifetime: The total number of people your Page post was served to. (Unique Users)",
                "Lifetime: The number of people who saw your Page post in news feed or ticker, "
                "or on your Page's timeline. (Unique Users)",
                "Lifetime: The number of impressions of your Page post. (Total Count)",
                "Lifetime: The number of unique people who engaged in certain ways with your Page post. "
                "(Unique Users)",
                "Lifetime: The number of unique people who created a story by interacting with your Page post. "
                "(Unique Users)",
                *["Lifetime: The number of stories generated about your Page post. (Total Count)"] * 3]
    page = "146505212039743"
    posts = [[f"{page}_1049172195106369", f"https://www.facebook.com/{page}/posts/1049172195106369", "Hello, world",
              "Photo", "", "", "10/1/2015 21:00", "", "1200", "1100", "2400", "60", "30", "4", "35", "2"],
             [f"{page}_1048779915145597", f"https://www.facebook.com/{page}/posts/1048779915145597", "Second",
              "Link", "", "", "9/30/2015 8:05", "", "900", "900", "1000", "20", "10", "1", "12", "0"]]
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows([header, describe, *posts])
    p = parse_one("Facebook Insights Data Export (Post Level).csv", buf.getvalue().encode("utf-8"))
    assert p.report.name == "facebook.legacy_post_data"
    assert p.skipped == {"the row of column descriptions under the header": 1} and not p.problems
    assert list(p.rows["post_id"]) == [posts[0][0], posts[1][0]]
    assert list(p.rows["line"]) == [3, 4]
    assert p.rows["reach"].sum() == 2100 and p.rows["impressions"].sum() == 3400
    # likes are the "Stories by action type" counts (35, 12), not "Talking About This" people (30, 10).
    assert list(p.rows["likes"]) == [35, 12] and p.rows["shares"].sum() == 2
    assert p.rows["published_at"].iloc[1] == pd.Timestamp("2015-09-30 00:05", tz="UTC")


def test_a_brazilian_portuguese_instagram_export_is_read_with_its_own_headers():
    header = ["Identificação do post", "Identificação da conta", "Nome de usuário da conta", "Nome da conta",
              "Descrição", "Duração (s)", "Horário de publicação", "Link permanente", "Tipo de post",
              "Comentário de dados", "Data", "Visualizações", "Alcance", "Curtidas", "Compartilhamentos",
              "Seguimentos", "Comentários", "Salvamentos"]
    row = ["18098311940237254", "17841405640718718", "loja_exemplo", "Loja Exemplo", "Primeiro post", 0,
           "12/10/2025 06:54", "https://www.instagram.com/p/DaL7buhEzbR/", "IG carousel", "", "Vitalício",
           870, 470, 34, 5, 2, 6, 4]
    p = parse_one("ig_pt.csv", meta_csv(header, [row]))
    assert p.report.name == "instagram.posts" and not p.problems
    r = p.rows.iloc[0]
    assert (r["views"], r["reach"], r["likes"], r["shares"], r["followers_gained"], r["comments"], r["saves"]) == \
        (870, 470, 34, 5, 2, 6, 4)
    assert r["account_handle"] == "loja_exemplo" and r["title"] == "Primeiro post"


def test_a_chinese_header_built_from_the_unconfirmed_zh_cn_labels_is_read_as_a_facebook_export():
    # The labels are guesses (docs/platforms/meta.md): this pins that the aliases are wired and
    # do not collide with the Instagram report, not that Meta writes exactly these.
    header = ["帖子编号", "公共主页编号", "公共主页名称", "标题", "描述", "发布时间", "永久链接", "帖子类型", "日期",
              "浏览次数", "覆盖人数", "心情", "评论", "分享", "链接点击量"]
    row = ["1823209189212424", "100045700821521", "石艺工作室", "秋天来了", "", "09/28/2026 18:12",
           "https://www.facebook.com/x/posts/pfbid1", "Photos", "Lifetime", 27, 20, 4, 1, 0, 3]
    p = parse_one("fb_zh.csv", meta_csv(header, [row]))
    assert p.report.name == "facebook.posts" and not p.problems
    r = p.rows.iloc[0]
    assert (r["views"], r["reach"], r["likes"], r["comments"], r["shares"], r["clicks"]) == (27, 20, 4, 1, 0, 3)
    assert r["account_name"] == "石艺工作室" and r["title"] == "秋天来了"


# --- other UI languages (issue 9): catalog collectors/catalogs/meta.toml ---------------------------

from collectors import catalog  # noqa: E402
from collectors.detect import detect as detect_match  # noqa: E402
from collectors.platforms import meta  # noqa: E402

# A Vietnamese-UI Facebook post export: the real English file's 33 columns in the same order, headed
# as the Vietnamese UI writes them (names from the catalog's vi table; the four columns the catalog
# does not know are given plausible Vietnamese names, which detection must not need).
VI_FB_HEADER = [
    "ID bài viết", "ID Trang", "Tên Trang", "Tiêu đề", "Mô tả", "Thời lượng (giây)", "Thời gian đăng",
    "Loại chú thích", "Liên kết vĩnh viễn", "Là bài viết đăng chéo", "Là lượt chia sẻ", "Loại bài viết",
    "Ngôn ngữ", "Nhãn tùy chỉnh", "Trạng thái nội dung được tài trợ", "Bình luận về dữ liệu", "Ngày",
    "Lượt xem", "Số người tiếp cận", "Cảm xúc, bình luận và lượt chia sẻ", "Cảm xúc", "Bình luận",
    "Lượt chia sẻ", "Số Giây xem", "Số Giây xem trung bình", "Thu nhập ước tính ((USD))",
    "CPM quảng cáo ((USD))", "Lượt hiển thị quảng cáo", "Tổng lượt click", "Lượt click khác",
    "Lượt click vào liên kết",
    "Tổng số lượt click của người dùng khớp với đối tượng nhắm mục tiêu (Photo Click)",
    "Phản hồi tiêu cực từ người dùng: Ẩn",
]


def vi_fb_row(post_id, caption, when, views, reach, reactions, comments, shares, link_clicks, date="Trọn đời"):
    return [post_id, "100064845214824", "Cửa hàng Ánh Dương", caption, caption, 21, when, "N/A",
            f"https://www.facebook.com/reel/{post_id[::-1]}/", 0, 0, "Thước phim", "", "", "", "", date,
            views, reach, reactions + comments + shares, reactions, comments, shares, "4126.609", "12.5", "", "",
            "", link_clicks + 3, 3, link_clicks, 0, ""]


def test_a_vietnamese_facebook_post_export_is_read_by_its_headers_with_trọn_đời_as_lifetime():
    rows = [vi_fb_row("1366427842195377", "Bộ sưu tập mùa thu,\nmua ngay!", "01/28/2026 03:29", 10232, 7484, 96, 4, 2, 17),
            vi_fb_row("1371688185002676", "Khai trương", "02/03/2026 07:30", 880, 512, 11, 0, 1, 0)]
    data = meta_csv(VI_FB_HEADER, rows)
    assert data[:3] == b"\xef\xbb\xbf"
    [t] = read_bytes("Jan-01-2026_Feb-28-2026_100064845214824.csv", data)
    m = detect_match(t)
    assert m.report.name == "facebook.posts" and m.method == "header" and m.language == "vi"
    p = parse_one("fb_vi.csv", data)
    assert p.report.name == "facebook.posts" and not p.problems and len(p.rows) == 2
    r = p.rows.iloc[0]
    assert (r["views"], r["reach"], r["likes"], r["comments"], r["shares"], r["clicks"]) == (10232, 7484, 96, 4, 2, 17)
    assert r["account_id"] == "100064845214824" and r["account_name"] == "Cửa hàng Ánh Dương"
    assert r["title"] == "Bộ sưu tập mùa thu,\nmua ngay!" and r["post_type"] == "Thước phim"
    assert r["watch_time_s"] == pytest.approx(4126.609)
    # Month first, as the English export writes it (see docs/platforms/meta.md, Dates), in the
    # campaign zone.
    assert r["published_at"] == pd.Timestamp("2026-01-28 03:29", tz=SHANGHAI).tz_convert("UTC")


def test_a_vietnamese_facebook_export_with_days_in_ngày_is_read_per_post_and_day():
    rows = [vi_fb_row("1366427842195377", "Ngày 1", "01/28/2026 03:29", 300, 200, 5, 1, 0, 2, date="01/28/2026"),
            vi_fb_row("1366427842195377", "Ngày 1", "01/28/2026 03:29", 120, 90, 2, 0, 0, 1, date="01/29/2026")]
    p = parse_one("fb_vi_daily.csv", meta_csv(VI_FB_HEADER, rows))
    assert p.report.name == "facebook.posts_daily" and not p.problems
    assert list(p.rows["day"]) == [pd.Timestamp("2026-01-28"), pd.Timestamp("2026-01-29")]
    assert list(p.rows["views"]) == [300, 120]


VI_IG_HEADER = ["ID bài viết", "ID tài khoản", "Tên người dùng tài khoản", "Tên tài khoản", "Mô tả",
                "Thời lượng (giây)", "Thời gian đăng", "Liên kết vĩnh viễn", "Loại bài viết",
                "Bình luận về dữ liệu", "Ngày", "Lượt xem", "Số người tiếp cận", "Lượt thích", "Lượt chia sẻ",
                "Lượt theo dõi", "Bình luận", "Lượt lưu"]


def test_a_vietnamese_instagram_post_export_is_an_instagram_export_not_a_facebook_one():
    rows = [["18548594548010941", "17841401577886844", "anhduong.store", "Ánh Dương", "Chào thu 🍂", 40,
             "01/28/2026 00:32", "https://www.instagram.com/reel/DUDDrr2jD0_/", "Thước phim IG", "", "Trọn đời",
             10232, 7484, 310, 12, 3, 25, 40]]
    data = meta_csv(VI_IG_HEADER, rows)
    [t] = read_bytes("ig_vi.csv", data)
    m = detect_match(t)
    assert m.report.name == "instagram.posts" and m.method == "header" and m.language == "vi"
    p = parse_one("ig_vi.csv", data)
    assert not p.problems
    r = p.rows.iloc[0]
    assert (r["views"], r["reach"], r["likes"], r["shares"], r["followers_gained"], r["comments"], r["saves"]) == \
        (10232, 7484, 310, 12, 3, 25, 40)
    assert r["account_handle"] == "anhduong.store" and r["account_id"] == "17841401577886844"


def test_an_indonesian_instagram_export_in_its_own_metric_order_is_read_by_its_headers():
    # The column order of a real Indonesian account's file (kept in a public parser's test): the
    # metric columns follow what was picked at export time.
    header = ["ID Postingan", "ID Akun", "Nama pengguna akun", "Nama akun", "Deskripsi", "Durasi (detik)",
              "Waktu penerbitan", "Permalink", "Jenis postingan", "Komentar data", "Tanggal", "Tayangan", "Suka",
              "Frekuensi dibagikan", "Komentar", "Frekuensi Disimpan", "Jangkauan", "Mengikuti"]
    rows = [["18111111111111111", "17841400000000900", "elio", "Elio", "baris satu\nbaris dua, ada koma", 60,
             "06/17/2026 00:45", "https://www.instagram.com/reel/AAA/", "Reel IG", "", "Sepanjang Masa",
             11351, 367, 15, 12, 3, 6740, 2]]
    p = parse_one("ig_id.csv", meta_csv(header, rows))
    assert p.report.name == "instagram.posts" and not p.problems
    r = p.rows.iloc[0]
    assert (r["views"], r["likes"], r["shares"], r["comments"], r["saves"], r["reach"], r["followers_gained"]) == \
        (11351, 367, 15, 12, 3, 6740, 2)


def test_an_indonesian_story_export_is_read_as_stories_by_its_story_columns():
    header = ["ID Postingan", "ID Akun", "Nama pengguna akun", "Nama akun", "Deskripsi", "Durasi (detik)",
              "Waktu penerbitan", "Permalink", "Jenis postingan", "Komentar data", "Tanggal", "Tayangan", "Jangkauan",
              "Suka", "Frekuensi dibagikan", "Kunjungan profil", "Balasan", "Navigasi", "Ketukan stiker"]
    rows = [["18222222222222222", "17841400000000700", "orang", "Orang", "", 15, "06/29/2026 03:54",
             "https://www.instagram.com/stories/orang/3820470839330524561", "Cerita IG", "", "Sepanjang Masa",
             109, 84, 1, 0, 1, 0, 74, 4]]
    p = parse_one("stories_id.csv", meta_csv(header, rows))
    assert p.report.name == "instagram.stories" and not p.problems
    assert (p.rows["views"].iloc[0], p.rows["reach"].iloc[0]) == (109, 84)
    assert "comments" not in p.rows  # Balasan (replies) are private messages


def test_a_spanish_instagram_export_with_total_in_fecha_is_lifetime():
    header = ["Identificador de la publicación", "Identificador de la cuenta", "Nombre de usuario de la cuenta",
              "Nombre de la cuenta", "Descripción", "Duración (s)", "Hora de publicación", "Enlace permanente",
              "Tipo de publicación", "Comentario de datos", "Fecha", "Visualizaciones", "Alcance", "Me gusta",
              "Veces que se compartió", "Seguimientos", "Comentarios", "Veces que se guardó"]
    rows = [["18033333333333333", "17841400000000123", "lentes.latam", "Lentes", "¡Nuevos marcos!", 0,
             "03/14/2025 18:05", "https://www.instagram.com/p/C4abcdEFghi/", "Carrusel de IG", "", "Total",
             5120, 3010, 210, 14, 6, 9, 33]]
    p = parse_one("ig_es.csv", meta_csv(header, rows))
    assert p.report.name == "instagram.posts" and not p.problems
    r = p.rows.iloc[0]
    assert (r["views"], r["reach"], r["likes"], r["shares"], r["followers_gained"], r["comments"], r["saves"]) == \
        (5120, 3010, 210, 14, 6, 9, 33)


def test_a_facebook_export_in_a_language_the_catalog_lacks_imports_by_its_structure():
    # The 26 columns of FB_HEADER with every header made up: only the order, the count and the
    # values say what the file is.
    header = [f"Kolumno {i}" for i in range(1, len(FB_HEADER) + 1)]
    rows = [fb_row("1823209189212424", "Autumn", "09/24/2026 15:30", 63, 45, 5, 2, 1, link_clicks=4),
            fb_row("1823209189212425", "Winter", "09/25/2026 10:00", 27, 20, 4, 1, 0, link_clicks=3)]
    for r in rows:
        r[16] = "Ĉiam"  # "Lifetime" in the made-up language: no digit
    [t] = read_bytes("fb_xx.csv", meta_csv(header, rows))
    m = detect_match(t)
    assert m.report.name == "facebook.posts" and m.method == "structure"
    assert m.positions["post_id"] == 0 and m.positions["views"] == 17 and m.positions["reach"] == 18
    p = parse_one("fb_xx.csv", meta_csv(header, rows))
    assert list(p.rows["views"]) == [63, 27] and list(p.rows["reach"]) == [45, 20]


def test_an_instagram_export_in_an_unknown_language_is_refused_when_its_metric_order_is_ambiguous():
    # Instagram lets the user pick the metric columns, and real files put them in different orders
    # (the English export and an Indonesian one): seven count columns cannot be told apart by
    # their values, so the file is refused with the candidates, and never read as Facebook's.
    header = [f"Zutabea {i}" for i in range(1, len(IG_HEADER) + 1)]
    rows = [["18098311940237254", "17841405640718718", "loja_exemplo", "Loja Exemplo", "Primeiro post", 0,
             "12/10/2025 06:54", "https://www.instagram.com/p/DaL7buhEzbR/", "IG carousel", "", "Betiko",
             870, 470, 34, 5, 2, 6, 4],
            ["18098311940237255", "17841405640718718", "loja_exemplo", "Loja Exemplo", "Segundo", 12,
             "12/11/2025 08:00", "https://www.instagram.com/reel/DaL7buhEzbS/", "IG reel", "", "Betiko",
             1200, 800, 60, 9, 1, 3, 7]]
    [t] = read_bytes("ig_xx.csv", meta_csv(header, rows))
    with pytest.raises(DetectError, match=r"instagram\.posts") as e:
        detect_match(t)
    assert e.value.proposal is not None


def test_an_instagram_story_export_in_an_unknown_language_imports_by_structure_as_stories():
    header = [f"Zutabea {i}" for i in range(1, 22)]
    rows = [["18166886197395451", "17841401577886844", "westsidestores", "Westside Stores", "", 10,
             "01/28/2026 19:00", "https://www.instagram.com/stories/westsidestores/3820470839330524561",
             "IG story", "", "Betiko", 31395, 29000, 12, 3, 40, 2, 7, 0, 29100, ""],
            ["18166886197395452", "17841401577886844", "westsidestores", "Westside Stores", "", 10,
             "01/29/2026 19:00", "https://www.instagram.com/stories/westsidestores/3820470839330524562",
             "IG story", "", "Betiko", 20000, 18000, 5, 1, 22, 0, "", 3, 17000, 1]]
    [t] = read_bytes("stories_xx.csv", meta_csv(header, rows))
    m = detect_match(t)
    assert m.report.name == "instagram.stories" and m.method == "structure"
    assert m.positions["views"] == 11 and m.positions["_navigation"] == 19


# --- chart downloads in other languages -------------------------------------------------------------

def chart_in(title: str, date_header: str, value_header: str, days) -> bytes:
    """A chart download as Meta writes it in any UI language: UTF-16 LE with BOM, sep=, a title
    line, then the date header in the UI language and one row per day."""
    lines = ["sep=,", f'"{title}"', f'"{date_header}","{value_header}"'] + [f'"{d}","{v}"' for d, v in days]
    return b"\xff\xfe" + ("\n".join(lines) + "\n").encode("utf-16-le")


DAYS = [("2026-01-01T00:00:00", "120"), ("2026-01-02T00:00:00", "96"), ("2026-01-03T00:00:00", "0")]


@pytest.mark.parametrize("title, date_header, platform, metric", [
    ("Số người tiếp cận trên Trang Facebook", "Ngày", "facebook", "reach"),
    ("Lượt xem trên Instagram", "Ngày", "instagram", "views"),
    ("Người xem trên Facebook", "Ngày", "facebook", "reach"),
    ("Alcance do Instagram", "Data", "instagram", "reach"),
    ("Alcance no Facebook", "Data", "facebook", "reach"),
    ("Jangkauan Instagram", "Tanggal", "instagram", "reach"),
    ("Tayangan Instagram", "Tanggal", "instagram", "views"),
    ("Instagram erişimi", "Tarih", "instagram", "reach"),
    ("Couverture de la Page Facebook", "Date", "facebook", "reach"),
    ("Visualizaciones de Instagram", "Fecha", "instagram", "views"),
    # A date header the catalog does not have: the chart is taken by its shape.
    ("Facebook-Reichweite", "Datum", "facebook", "reach"),
    ("Instagram リーチ", "日付", "instagram", "reach"),
])
def test_a_localized_chart_is_read_whatever_its_date_header_and_its_title_decides_the_metric(
        title, date_header, platform, metric):
    data = chart_in(title, date_header, "Primary", DAYS)
    p = parse_one("chart.csv", data)
    assert p.report.platform == platform and not p.problems
    assert list(p.rows[metric]) == [120, 96, 0]
    assert list(p.rows["day"]) == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02"), pd.Timestamp("2026-01-03")]


@pytest.mark.parametrize("title", ["Lượt truy cập trên Facebook", "Người theo dõi trên Instagram",
                                   "Lượt tương tác với nội dung trên Facebook", "Visitas ao perfil do Instagram",
                                   "Kunjungan Profil Instagram", "Pengikut Instagram"])
def test_a_localized_chart_of_a_metric_that_is_not_canonical_is_left_out_with_the_reason(title):
    p = parse_one("chart.csv", chart_in(title, "Ngày", "Primary", DAYS))
    assert p.rows.empty and not p.problems and sum(p.skipped.values()) == 3


def test_a_chart_whose_title_is_in_a_language_the_catalog_lacks_is_left_out_saying_so():
    p = parse_one("chart.csv", chart_in("Facebook Kkkxyz", "Qqq", "Primary", DAYS))
    assert p.report.name == "facebook.page_chart" and p.rows.empty
    [(reason, n)] = p.skipped.items()
    assert n == 3 and "languages the catalog knows" in reason and "meta.toml" in reason and "vi" in reason


def test_a_two_column_table_without_days_or_without_a_platform_in_its_title_is_no_meta_chart():
    with pytest.raises(DetectError):
        detect(read_bytes("x.csv", chart_in("Facebook Page reach", "Ngày", "Primary",
                                            [("abc", "1"), ("def", "2")]))[0])
    with pytest.raises(DetectError):
        detect(read_bytes("x.csv", chart_in("Số người tiếp cận", "Ngày", "Primary", DAYS))[0])


# --- the catalog itself ---------------------------------------------------------------------------

def test_every_meta_catalog_language_says_where_its_names_come_from():
    for key in (meta.POSTS, meta.CHART, meta.CHART_METRICS):
        e = catalog.entry(key)
        assert "en" in e.aliases and "vi" in e.aliases, key
        for lang in e.aliases:
            assert lang in catalog.LANGUAGES, (key, lang)
            assert e.sources.get(lang), (key, lang)
            assert e.evidence.get(lang) in ("export", "code", "help", "translation"), (key, lang)


def test_the_chart_title_rules_of_the_catalog_are_the_ones_the_code_knows():
    e = catalog.entry(meta.CHART_METRICS)
    assert list(e.extra["order"]) == list(meta.CHART_RULES)
    assert set(e.columns()) <= set(meta.CHART_RULES)


def test_the_post_layouts_name_only_fields_the_catalog_has_and_english_names_come_first():
    e = catalog.entry(meta.POSTS)
    fields = set(e.columns())
    for layout in e.layouts:
        assert set(layout) <= fields, set(layout) - fields
    from collectors.registry import get
    r = get("facebook.posts")
    assert r.columns["post_id"][0] == "Post ID" and r.columns["_date"][0] == "Date"
    assert "ID bài viết" in r.columns["post_id"] and "Ngày" in r.columns["_date"]

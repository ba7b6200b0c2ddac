"""The collectors' last English-only words, in Chinese on the Data page (issue 12): rows left out on
purpose, a file whose every row is rejected, how a table was read and the reader's notes, a roster
or a mapping that cannot be used, and a platform API's error as the last error of its source.

Each test makes a real failing (or partly skipped) import in the platform's own format, renders
what the page shows with lang="zh" and checks that no English word is left over apart from the
file's names and values, the names of platforms and reports, and that the English the command line
prints and the database stores is unchanged, word for word.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import sqlalchemy as sa

from collectors import messages
from collectors.mapping import Mapping
from collectors.pipeline import Importer
from collectors.store import schema
from dashboard.analysis import config
from dashboard.web.pages import data as page
from test_page_data import (archive, as_upload, dashboard_app_context, eng, text_of, unknown_posts,  # noqa: F401
                            upload)
from test_pipeline import YT_TABLE
from test_platform_meta import chart_bytes
from test_store import x_content

from api_server import api_server, make_runner, make_store  # noqa: F401

# Words that are names in Chinese text too: brands, units, formats.
NAMES = {"YouTube", "Facebook", "Instagram", "TikTok", "LinkedIn", "Meta", "Google", "Cloud", "Console", "Excel",
         "LibreOffice", "UTC", "HTTP", "API", "CSV", "XLSX", "JSON", "ZIP", "GET", "POST"}
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]")


def english_left(text: str, *kept: str) -> list[str]:
    """The English words of ``text`` once the file's own names and values (``kept``) are taken out."""
    for k in sorted(kept, key=len, reverse=True):
        text = text.replace(k, " ")
    return sorted(set(WORD.findall(text)) - NAMES)


# --- rows left out on purpose, and a file whose every row is rejected -----------------------------

YT_ZIP = "Content 2024-12-16_2024-12-29 Jin Hub Channel.zip"


def yt_table_zip() -> bytes:
    """YouTube Studio's Table data in its ZIP: the Total row, a video published before the range, the
    same video row twice and the footer of a long table."""
    table = (YT_TABLE + "aaaaaaaaaaa,Launch day in Yiwu,\"Dec 22, 2024\",60,1200,8.0,2,7000,4.0\n"
             "Showing top 500 results,,,,,,,,\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Table data.csv", table)
    return buf.getvalue()


def test_in_chinese_the_rows_left_out_on_purpose_are_counted_in_words_and_the_english_line_is_unchanged(eng, archive):
    [r] = upload(eng, archive, (YT_ZIP, yt_table_zip()))
    assert r.status == "imported" and r.snapshots == 1
    assert r.line().endswith(
        " (left out: Total rows: 1; footer lines (Showing top N results): 1; range totals of videos published "
        "before the range starts (not lifetime): 1; exact repeats of an earlier row: 1)"
        "; snapshot time 2024-12-29 16:00 UTC from file name"), r.line()
    zh = text_of(page.result_view(r, "zh"))
    assert ("（略过：合计（Total）行：1 行；表尾说明行（Showing top N results）：1 行；"
            "日期范围开始前发布的视频的区间合计（不是累计总数）：1 行；与前面某行完全相同的重复行：1 行）") in zh, zh
    assert english_left(zh, YT_ZIP, "youtube.table_data", "youtube", "Total", "Showing top N results") == [], zh
    # the counts are still compared by their English reason (the tests of the platform modules do)
    assert r.skipped["exact repeats of an earlier row"] == 1 and r.skipped["Total rows"] == 1


def test_in_chinese_a_meta_chart_of_a_metric_that_is_not_counted_is_left_out_with_the_reason(eng, archive):
    days = [(f"2025-08-0{d}T00:00:00", str(d * 3)) for d in range(1, 6)]
    [r] = upload(eng, archive, ("Visits.csv", chart_bytes([("Facebook visits", "Primary", days)])))
    assert r.status == "imported"
    assert ' (left out: days of "Facebook visits" (visits to the Page or profile are not a canonical metric): 5)' in r.line()
    zh = text_of(page.result_view(r, "zh"))
    assert "（略过：“Facebook visits”的每日数据（主页或个人资料的访问次数不是标准指标）：5 行）" in zh, zh
    assert english_left(zh, "Visits.csv", "facebook.page_chart", "facebook", "Facebook visits") == [], zh


def test_in_chinese_a_file_whose_every_row_is_rejected_says_so_as_uploaded_and_among_the_failures(eng, archive):
    data = x_content([("1870000000000000001", "lots", 3), ("1870000000000000002", "many", 4)])
    [r] = upload(eng, archive, ("posts.csv", data))
    assert r.status == "failed"
    english = ("posts.csv: every one of 2 rows was rejected as a X account analytics, Content export; nothing "
               "imported. First problems: posts.csv, line 2, column \"Impressions\": "
               "'lots' is not a whole number; posts.csv, line 3, column \"Impressions\": 'many' is not a whole number")
    assert r.line() == "FAILED  " + english
    kept = ("posts.csv", "X account analytics, Content export", "Impressions",
            "'lots'", "'many'")
    zh = text_of(page.result_view(r, "zh"))
    assert ("posts.csv：全部 2 行按 X account analytics, Content export 读取时都被拒绝；"
            "未导入任何数据。前几个问题：posts.csv，第 2 行，“Impressions”列：'lots' 不是整数；"
            "posts.csv，第 3 行，“Impressions”列：'many' 不是整数") in zh, zh
    assert english_left(zh, *kept) == [], zh
    with dashboard_app_context(eng):
        failures = text_of(page.tables(eng, config.Campaign(), "zh"))  # the stored English, read back
    assert "前几个问题：posts.csv，第 2 行，“Impressions”列：'lots' 不是整数；posts.csv，第 3 行" in failures, failures
    assert "every one of" not in failures and "whole number" not in failures
    # Stored as X's failure (it was detected as an X export), so freshness names X, not "a file
    # that could not be read" (pipeline._platform_of read an attribute no error had).
    with eng.connect() as c:
        assert c.execute(sa.select(schema.import_failures.c.platform)).scalars().all() == ["x"]
    assert "无法读取的文件" not in failures


# --- how a table was read, and what the reader noticed --------------------------------------------

def test_in_chinese_a_file_read_with_a_mapping_says_how_and_a_workbook_note_says_what_to_do(eng, archive, tmp_path):
    toml = ('report = "tiktok.content"\n[[columns]]\nheader = "Clip"\nfield = "title"\n'
            '[[columns]]\nheader = "Web address"\nfield = "url"\n[[columns]]\nheader = "Went live"\n'
            'field = "published_at"\n[[columns]]\nheader = "Plays"\nfield = "views"\n'
            '[[columns]]\nheader = "Hearts"\nfield = "likes"\n[[columns]]\nheader = "<i>Remarks</i>"\nfield = ""\n')
    mapping = Mapping.from_toml(toml, "walks.toml")
    r = Importer(eng, archive, mapping=mapping).import_bytes("walks.csv", unknown_posts())
    assert r.status == "imported", r.message
    assert r.line().endswith('\n        walks.csv: read with the mapping from walks.toml: "Clip" → title, '
                             '"Web address" → url, "Went live" → published_at, "Plays" → views, "Hearts" → likes; '
                             "1 column not read"), r.line()
    zh = text_of(page.result_view(r, "zh"))
    assert ('walks.csv：按映射文件 walks.toml 读取："Clip" → title, "Web address" → url, "Went live" → published_at, '
            '"Plays" → views, "Hearts" → likes；1 列未读取') in zh, zh

    # An X content export saved by a script as XLSX, with a formula whose value was never stored.
    rows = list(csv.reader(io.StringIO(x_content([("1870000000000000001", 1200, 30),
                                                  ("1870000000000000002", 800, 10)]).decode())))
    wb = openpyxl.Workbook()
    ws = wb.active
    for k, row in enumerate(rows):
        ws.append([int(c) if k and c.isdigit() and len(c) < 10 else c for c in row])
    ws["F3"] = "=F2*2"
    buf = io.BytesIO()
    wb.save(buf)
    [x] = upload(eng, archive, ("posts.xlsx", buf.getvalue()))
    assert x.status == "imported", x.message
    note = ("posts.xlsx!Sheet: note: 1 formula cells have no saved value and read as empty (F3); open the workbook "
            "in Excel or LibreOffice and save it so the values are stored")
    assert x.line().endswith("\n        " + note), x.line()
    zh = text_of(page.result_view(x, "zh"))
    assert ("posts.xlsx!Sheet：注意：1 个公式单元格没有保存的值，按空值读取（F3）；请用 Excel 或 LibreOffice 打开该工作簿"
            "并保存一次，以便存入这些值") in zh, zh
    assert english_left(zh, "posts.xlsx!Sheet", "posts.xlsx", "x.content", "F3") == [], zh


# --- the roster and mappings ----------------------------------------------------------------------

def test_in_chinese_a_roster_with_broken_rows_says_which_and_what_each_needs(eng, archive):
    roster = ("name,category,platform,handle,followers\nChen Li,merchant,x,jinhub_yiwu,12000\n"
              ",merchant,x,anon\nWang Fang,merchant,myspace,wangfang,\nLi Na,media,x,lina,lots\n")
    ok, en = page.import_roster_upload(eng, archive, "roster.csv", as_upload(roster.encode()))
    assert not ok and en == (
        "The roster was not imported: roster.csv: the roster was not imported; fix these rows: roster.csv, line 3, "
        "column \"name\": '' is not an influencer name; roster.csv, line 4, column \"platform\": 'myspace' is not one "
        "of x, facebook, instagram, youtube, tiktok, linkedin, weibo, douyin, bilibili, wechat; roster.csv, line 5, "
        "column \"followers\": 'lots' is not a whole number of followers")
    ok, zh = page.import_roster_upload(eng, archive, "roster.csv", as_upload(roster.encode()), lang="zh")
    assert not ok
    assert ("roster.csv，第 3 行，“name”列：'' 不是达人姓名；roster.csv，第 4 行，“platform”列：'myspace' 不是以下之一："
            "x, facebook") in zh, zh
    assert "'lots' 不是整数形式的粉丝数" in zh
    kept = ("roster.csv", "name", "platform", "followers", "myspace", "lots",
            "x, facebook, instagram, youtube, tiktok, linkedin, weibo, douyin, bilibili, wechat")
    assert english_left(zh, *kept) == [], zh
    ok, zh = page.import_roster_upload(eng, archive, "people.csv", as_upload(b"who,where\nA,B\n"), lang="zh")
    assert not ok and "people.csv：名单需要 name、platform 以及 handle 或 account_id 列（可选：category）；文件中的列：who, where" in zh
    assert english_left(zh, "people.csv", "name", "platform", "handle", "account_id", "category", "who, where") == []


def test_in_chinese_a_mapping_file_that_cannot_be_used_names_the_problem(tmp_path):
    bad = 'report = "tiktok.content"\n[[columns]]\nheader = "Clip"\nfield = "title"\n'
    try:
        Mapping.from_toml(bad, "walks.toml")
    except Exception as e:  # noqa: BLE001 - the message is what is tested
        said = str(e)
    assert said == ('walks.toml: tiktok.content needs a column for each of: url, published_at (give field = "..." '
                    "to the columns that hold them)")
    zh = messages.render(said, "zh")
    assert zh == 'walks.toml：tiktok.content 需要以下每个字段各有一列：url, published_at（请在包含它们的列上写 field = "..."）'
    assert messages.translate(str.__str__(said), "zh") == zh  # as stored English, read back


# --- a platform API's error, the last error of its source -------------------------------------------

KEY = "AIzaSyFAKE-youtube-key-0123456789abcd"
CHANNEL = "UC" + "a" * 22


def test_in_chinese_a_refused_api_key_is_the_last_error_on_the_data_page_and_still_english_in_the_cli(
        tmp_path, api_server):
    bad = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                     "errors": [{"message": "API key not valid. Please pass a valid API key.", "domain": "global",
                                 "reason": "badRequest"}], "status": "INVALID_ARGUMENT"}}
    api_server.route("GET", "/youtube/v3/channels", {"status": 400, "json": bad, "body": None, "headers": {}})
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive",
                                 [("Li Wei", "youtube", "yiwudaily", CHANNEL)])
    # An export came in before: the freshness table lists YouTube, with the API's last error.
    assert Importer(engine, archive).import_bytes(YT_ZIP, yt_table_zip()).status == "imported"
    runner = make_runner(engine, archive, {"youtube": {"api_key": KEY}}, {"youtube": api_server.url("/youtube/v3")})
    [res] = runner.run(["youtube"])
    assert res.status == "failed"
    assert res.line() == (
        "youtube: failed: the YouTube API key was refused: create a new key in Google Cloud Console (APIs & Services "
        "→ Credentials, with the YouTube Data API v3 enabled for its project) and put it in REACH_YOUTUBE_API_KEY or "
        "youtube.api_key in ~/.config/campaign-reach/credentials.toml (GET /youtube/v3/channels answered HTTP 400; the API "
        "said: API key not valid. Please pass a valid API key.)")
    with dashboard_app_context(engine):
        shown = text_of(page.tables(engine, config.Campaign(), "zh"))
    said = "API key not valid. Please pass a valid API key."
    # The failures list in full; the freshness table's "last error" shortened, from the same stored English.
    assert ("youtube：YouTube API 密钥被拒绝：请在 Google Cloud Console 中创建新密钥（APIs & Services → Credentials，"
            "并为其项目启用 YouTube Data API v3），然后填入 REACH_YOUTUBE_API_KEY 或 ~/.config/campaign-reach/credentials.toml 中的 "
            "youtube.api_key（GET /youtube/v3/channels 返回 HTTP 400；接口说明：" + said + "）") in shown, shown
    assert shown.count("youtube：YouTube API 密钥被拒绝") == 2, shown
    assert re.search(r"\d\d:\d\d：youtube：YouTube API 密钥被拒绝", shown), shown  # the time, a Chinese colon, the error
    kept = (said, "YouTube Data API v3", "APIs & Services → Credentials", "REACH_YOUTUBE_API_KEY", "youtube.api_key",
            "~/.config/campaign-reach/credentials.toml", "/youtube/v3/channels", "youtube")
    failures = shown[shown.index("youtube：YouTube API"):]
    assert english_left(failures.split("（GET")[0], *kept) == [], failures
    with engine.connect() as c:  # stored as the command line says it
        stored = c.execute(schema.import_failures.select()).mappings().one()["error"]
    assert stored == "youtube: " + res.line().split(": failed: ", 1)[1]
    engine.dispose()


def test_in_chinese_an_api_that_keeps_failing_is_said_with_the_call_and_the_next_step(tmp_path, api_server):
    api_server.route("GET", "/youtube/v3/channels", {"status": 503, "json": {"error": {"code": 503, "message":
                                                                                       "backend error"}},
                                                    "body": None, "headers": {}})
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive",
                                 [("Li Wei", "youtube", "yiwudaily", CHANNEL)])
    runner = make_runner(engine, archive, {"youtube": {"api_key": KEY}}, {"youtube": api_server.url("/youtube/v3")})
    [res] = runner.run(["youtube"])
    assert res.message == "GET /youtube/v3/channels failed 5 times (HTTP 503: backend error (code 503)); stopped this run"
    with dashboard_app_context(engine):
        shown = text_of(page.tables(engine, config.Campaign(), "zh"))
    zh = "youtube：GET /youtube/v3/channels 失败了 5 次（HTTP 503: backend error (code 503)）；本次运行已停止"
    assert zh in shown, shown
    assert KEY not in shown
    engine.dispose()


def test_redacting_an_api_message_keeps_its_key_unless_a_secret_runs_across_its_words():
    from collectors.api.http import Redactor

    secret = "EAAGm0PX4ZCpsBAKZ1234567890abcdef"
    redact = Redactor([secret])
    m = messages.Message("api.platform", api="facebook", message=messages.Message(
        "api.refused", request="GET /v21.0/me", status=400, why=f"token {secret} is invalid"))
    kept = redact(m)
    assert isinstance(kept, messages.Message) and secret not in kept and secret[:12] not in kept
    assert kept == "facebook: GET /v21.0/me was refused (HTTP 400): token *** is invalid"
    assert messages.render(kept, "zh") == "facebook：GET /v21.0/me 被拒绝（HTTP 400）：token *** is invalid"
    # A value that ends with the first part of a secret whose rest is the template's next words:
    # only the whole text shows it, so the whole text is redacted, as plain text.
    cut = Redactor(["abcdefgh was refused"])
    said = cut(messages.Message("api.refused", request="GET /x/abcdefgh", status=400, why="no"))
    assert not isinstance(said, messages.Message) and "abcdefgh" not in said

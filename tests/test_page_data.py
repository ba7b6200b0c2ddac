"""The Data page: uploads go through the import pipeline safely, viewers cannot upload, and what
came in (history, rejected rows, failures, freshness) is shown in words.

The upload handling is tested with real bytes as plain functions; the role check through the real
login and a Dash callback request; the whole path once in a real Chromium.
"""
from __future__ import annotations

import base64
import csv
import io
import zipfile
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from dash.exceptions import PreventUpdate

from browser import chromium, console_errors, reach_server, require_chromium, screenshot, wait_for
from collectors.archive import Archive, sha256
from collectors.pipeline import Importer
from collectors.store import database, ledger, schema
from conftest import sample
from dashboard import ingest
from dashboard.analysis import clock, config, queries, rollups
from dashboard.web import auth
from dashboard.web.app import create_app
from dashboard.web.pages import data as page
from test_auth import PASSWORDS, csrf_of
from test_store import x_content, x_overview

X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"


def as_upload(data: bytes, kind="text/csv") -> str:
    """What dcc.Upload sends for one file: a base64 data URL."""
    return f"data:{kind};base64," + base64.b64encode(data).decode()


def text_of(component) -> str:
    """All the text a component tree shows, its parts separated by single spaces."""
    def parts(c):
        if c is None:
            return []
        if isinstance(c, (str, int, float)):
            return [str(c)]
        if isinstance(c, (list, tuple)):
            return [p for x in c for p in parts(x)]
        return parts(getattr(c, "children", None))

    return " ".join(" ".join(parts(component)).split())


def count(engine, table) -> int:
    with engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(table)).scalar()


@pytest.fixture
def eng(sqlite_url):
    engine = database.connect(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def archive(eng):
    return Archive(database.archive_dir(eng))


def upload(eng, archive, *files, **kw):
    names = [n for n, _ in files]
    return page.import_uploads(eng, archive, names, [as_upload(d) for _, d in files], **kw)


# --- upload handling --------------------------------------------------------------------------

def test_an_x_export_is_imported_under_its_base_name_and_archived_by_hash_inside_the_data_folder(eng, archive,
                                                                                                   tmp_path):
    data = x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 800, 10)])
    [r] = upload(eng, archive, ("../../../etc/" + X_NAME, data))
    assert r.status == "imported" and r.snapshots == 2 and r.platform == "x"
    assert r.line().startswith(f"ok      {X_NAME}: x x.content: 2 posts, 2 snapshots")
    # The date range in the name still sets the snapshot time: the name reached the pipeline intact.
    assert r.captured_at_source == "file name"
    # The command line says the instant in UTC; the page in the campaign's timezone, with its offset,
    # as its import history shows it (one instant read as one time, not two).
    assert "snapshot time 2024-12-22 16:00 UTC from file name" in r.line()
    shown = text_of(page.result_view(r, "en", tz="Asia/Shanghai"))
    assert "snapshot time 2024-12-23 00:00 UTC+08:00 from file name" in shown
    assert "快照时间 2024-12-22 21:30 UTC+05:30，取自文件名" in text_of(page.result_view(r, "zh", tz="Asia/Kolkata"))
    assert "snapshot time 2024-12-22 16:00 UTC from" in text_of(page.result_view(r, "en", tz="UTC"))
    with eng.connect() as c:
        assert c.execute(sa.select(schema.imports.c.file_name)).scalar() == X_NAME
    assert archive.path(sha256(data)).read_bytes() == data
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert written <= {"reach.db", "reach.db-wal", "reach.db-shm", "archive"}, written
    assert not list(tmp_path.parent.rglob("etc"))


def test_names_are_cut_to_their_last_printable_part_and_never_to_a_dot_path():
    assert page.safe_name("folder/sub/" + X_NAME) == X_NAME
    assert page.safe_name("C:\\Users\\me\\posts.csv") == "posts.csv"
    assert page.safe_name("..") == "upload" and page.safe_name("a/..") == "upload" and page.safe_name(None) == "upload"
    assert page.safe_name("bad\x00name\n.csv") == "badname.csv"


def test_rejected_rows_are_shown_with_their_line_column_value_and_what_was_expected(eng, archive):
    data = x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", "lots", 3)])
    [r] = upload(eng, archive, (X_NAME, data))
    assert r.status == "imported" and r.rejected == 1
    shown = text_of(page.result_view(r, "en"))
    assert shown.startswith("Imported: ")
    assert "1 row rejected" in shown
    assert f"{X_NAME} 3 Impressions 'lots' a whole number" in shown  # source, line, column, value, expected
    assert "已导入：" in text_of(page.result_view(r, "zh"))


def test_in_chinese_an_upload_says_what_happened_and_what_was_expected_still_naming_file_line_column_and_value(
        eng, archive):
    data = x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", "lots", 3)])
    [r] = upload(eng, archive, (X_NAME, data))
    shown = text_of(page.result_view(r, "zh"))
    assert "拒绝 1 行" in shown and "rows rejected" not in shown
    # the rejected row: file, line, column and value as the file writes them; what was expected in Chinese
    assert f"{X_NAME} 3 Impressions 'lots' 整数" in shown and "a whole number" not in shown
    # the history reads the same row back from the database (stored in English) and says it in Chinese
    history = text_of(page.problems_view(eng, r.import_id, "zh"))
    assert f"{X_NAME} 3 Impressions 'lots' 整数" in history
    assert f"{X_NAME} 3 Impressions 'lots' a whole number" in text_of(page.problems_view(eng, r.import_id, "en"))


def test_in_chinese_a_refused_file_says_why_in_chinese_naming_the_file(eng, archive):
    [pdf] = upload(eng, archive, ("report.pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"))
    [empty] = upload(eng, archive, ("blank.csv", b"\n\n"))
    assert pdf.status == empty.status == "failed"
    said = text_of(page.result_view(pdf, "zh"))
    assert "report.pdf：这是一份 PDF 文件，不是导出文件；请从平台的数据分析页面导出 CSV 或 XLSX" in said, said
    assert "blank.csv：文件中没有表格" in text_of(page.result_view(empty, "zh"))
    # The command line keeps English, word for word.
    assert pdf.line().startswith("FAILED  report.pdf: this is a PDF, not an export; export CSV or XLSX")
    # The failures list reads the stored English error back in Chinese.
    with dashboard_app_context(eng):
        failures = text_of(page.tables(eng, config.Campaign(), "zh"))
    assert "report.pdf：这是一份 PDF 文件，不是导出文件" in failures and "blank.csv：文件中没有表格" in failures


def test_in_chinese_the_number_and_date_readers_say_what_the_column_decided_naming_line_column_and_value(
        eng, archive):
    # line 3: a decimal point where the column's other two values use a decimal comma;
    # line 5: a month-first date in a column whose other dates can only be read day-first
    data = x_overview([("13/01/2025", "1.234.567", 1), ("14/01/2025", "1,234.5", 2),
                       ("15/01/2025", "2.345.678", 4), ("01/16/2025", 5, 6)])
    [r] = upload(eng, archive, ("account_overview_analytics.csv", data))
    assert r.rejected == 2
    number = "account_overview_analytics.csv 3 Impressions '1,234.5' 与该列其他 2 个值写法一致的数字（它们以逗号作小数点）"
    date = "account_overview_analytics.csv 5 Date '01/16/2025' 日在前的日期，与该列其他值一致（“13/01/2025”及另外 2 个值只能这样读）"
    for shown in (text_of(page.result_view(r, "zh")), text_of(page.problems_view(eng, r.import_id, "zh"))):
        assert number in shown and date in shown, shown  # as uploaded, and read back from the database
        assert "decimal mark" not in shown and "first" not in shown
    # English is unchanged, word for word (the command line and the database keep it)
    assert sorted(str.__str__(p.expected) for p in r.problems) == [
        'a date with the day first, like the column\'s other values ("13/01/2025" and 2 more cannot be read '
        "otherwise)",
        "a number written like the column's other 2 values, which use a comma as the decimal mark"]


def test_in_chinese_a_platforms_own_reasons_for_a_rejected_row_are_in_chinese(eng, archive):
    from test_platform_bilibili import ZH_HEADER, ZH_ROWS, csv_bytes

    rows = [ZH_ROWS[0], ["av170001", *ZH_ROWS[0][1:]], ["BV1Zz4y1C9eF", ZH_ROWS[0][1], "昨天", *ZH_ROWS[0][3:]]]
    [r] = upload(eng, archive, ("bilibili.csv", csv_bytes(ZH_HEADER, rows)))
    assert r.rejected == 2
    history = text_of(page.problems_view(eng, r.import_id, "zh"))
    assert "bilibili.csv 3 BV号 'av170001' 形如 BV1xx411c7mD 的 BV 号" in history, history
    assert "bilibili.csv 4 发布时间 '昨天' 形如 2024-12-22 18:05:00 的日期和时间，或形如 1734861900 的 Unix 秒数" in history
    assert "BV id like" in text_of(page.problems_view(eng, r.import_id, "en"))


def test_in_chinese_a_file_nothing_recognises_is_refused_with_the_closest_reports_and_the_proposal_in_chinese(
        eng, archive):
    [walks] = upload(eng, archive, ("walks.csv", unknown_posts()))
    [notes] = upload(eng, archive, ("notes.csv", b"Name,Colour\nAda,blue\n"))
    assert walks.status == notes.status == "failed"
    closest = "按结构最接近的：TikTok post export (Content.csv / Video Posts), per post [tiktok.content]（8 列中有 5 列吻合"
    said = text_of(page.result_view(walks, "zh"))
    assert "walks.csv：不是已知的导出文件（表头：Clip, Web address" in said and closest in said, said
    assert '建议按 tiktok.content 映射："Clip" → title' in said and "1 列未读取" in said
    assert 'reach mapping suggest "walks.csv" > mapping.toml，检查 mapping.toml 中的字段' in said
    assert not {"Closest", "Proposed", "To import", "not read"} & set(said.split()), said
    assert "没有任何已知报表具有这些列或这种结构" in text_of(page.result_view(notes, "zh"))
    # The command line keeps English; the failures list reads the stored English back in Chinese.
    assert walks.line().startswith("FAILED  walks.csv: not a known export (header: Clip")
    assert "\n        Proposed mapping as tiktok.content: " in walks.line()
    with dashboard_app_context(eng):
        failures = text_of(page.tables(eng, config.Campaign(), "zh"))
    assert closest in failures and '建议按 tiktok.content 映射：' in failures and "Closest" not in failures, failures
    assert "notes.csv：不是已知的导出文件（表头：Name, Colour）。 没有任何已知报表具有这些列或这种结构。" in failures


def test_a_malformed_file_fails_in_words_and_is_listed_with_its_error_among_the_failures(eng, archive):
    [r] = upload(eng, archive, ("notes.csv", b"Name,Colour\nAda,blue\n"))
    assert r.status == "failed"
    assert r.line().startswith("FAILED  notes.csv: not a known export") and "(header: Name, Colour)" in r.line()
    assert count(eng, schema.imports) == 0
    with dashboard_app_context(eng):
        shown = text_of(page.tables(eng, config.Campaign(), "en"))
    assert "Files that could not be imported" in shown and "notes.csv" in shown
    assert r.message in shown


def test_a_file_over_the_limit_is_refused_before_it_is_decoded_and_nothing_is_stored(eng, archive):
    data = x_content([("1870000000000000001", 1200, 30)])
    [r] = upload(eng, archive, (X_NAME, data), limit=len(data) - 1)
    assert r.status == "failed" and r.line() == f"FAILED  {X_NAME} is larger than {page.fmt_size(len(data) - 1)}"
    assert count(eng, schema.imports) == 0 and not archive.root.exists()
    # Not base64 at all, but far too long: the size is what is reported, so it was never decoded.
    with pytest.raises(OverflowError):
        page.decode_upload("data:text/csv;base64," + "!" * 4000, limit=1000)
    with pytest.raises(ValueError):
        page.decode_upload("data:text/csv;base64,!!!!", limit=1000)


def test_the_server_enforces_the_modules_50_mb_limit_on_the_decoded_bytes(eng, archive):
    assert page.MAX_UPLOAD_BYTES == 50 * 1024 * 1024 and page.fmt_size(page.MAX_UPLOAD_BYTES) == "50 MB"
    just_over = b"a" * (page.MAX_UPLOAD_BYTES + 1)
    [r] = upload(eng, archive, ("huge.csv", just_over))
    assert r.status == "failed" and "larger than 50 MB" in r.message
    assert page.decode_upload(as_upload(b"a" * page.MAX_UPLOAD_BYTES), page.MAX_UPLOAD_BYTES)[:1] == b"a"


def test_a_zip_with_a_dot_dot_entry_is_refused_as_a_clear_per_file_error_and_writes_nothing(eng, archive, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../evil.csv", x_content([("1870000000000000001", 1200, 30)]))
    good = x_content([("1870000000000000009", 10, 1)])
    bad, ok = upload(eng, archive, ("export.zip", buf.getvalue()), (X_NAME, good))
    assert bad.status == "failed"
    assert bad.line() == "FAILED  export.zip: refusing ZIP entry '../evil.csv': absolute path or '..'"
    assert ok.status == "imported"  # the other file of the same drop is not held back
    assert not list(tmp_path.parent.rglob("evil.csv"))
    assert text_of(page.result_view(bad, "en")).startswith("Not imported: export.zip: refusing ZIP entry")


def test_the_same_file_twice_is_already_imported_and_changes_nothing(eng, archive):
    data = x_content([("1870000000000000001", 1200, 30)])
    first, second = upload(eng, archive, (X_NAME, data), ("copy.csv", data))
    assert (first.status, second.status) == ("imported", "already imported")
    assert "already imported" in second.line() and "nothing changed" in second.line()
    assert count(eng, schema.imports) == 1 and count(eng, schema.post_snapshots) == 1
    summary = text_of(page.results_view([first, second], "en"))
    assert "2 files: 1 imported, 1 already imported, 0 not imported" in summary


def test_after_an_upload_the_rollups_hold_the_new_accounts_data_without_a_full_recompute(eng, archive):
    campaign = config.load()
    Importer(eng, None).import_bytes(X_NAME, x_content([("1870000000000000001", 1200, 30)]))
    rollups.refresh(eng, campaign)
    results = upload(eng, archive, ("account_analytics_content_2024-12-16_2024-12-23.csv",
                                    x_content([("1870000000000000002", 700, 5)], handle="yiwu_market")))
    assert ingest.refresh(eng, campaign, results) is None
    by_account = rollups.query(eng, campaign, by=["account"], refresh_if_stale=False).set_index("account")
    assert by_account.loc["yiwu_market", "impressions"] == 700
    assert by_account.loc["jinhub_yiwu", "impressions"] == 1200


def test_a_rollup_refresh_that_fails_after_a_good_import_is_reported_and_the_import_kept(eng, archive, monkeypatch):
    from collectors.errors import StoreError

    def broken(*a, **k):
        raise StoreError("database is locked")

    rollups.refresh(eng, config.Campaign())  # current before the upload
    assert rollups.is_current(eng, config.Campaign())
    monkeypatch.setattr(rollups, "refresh", broken)
    results = upload(eng, archive, (X_NAME, x_content([("1870000000000000001", 1200, 30)])))
    problem = ingest.refresh(eng, config.Campaign(), results)
    assert problem == "database is locked" and count(eng, schema.imports) == 1
    # As after `reach import`: marked stale, so the next page view rebuilds them with the upload
    # (the page used to leave them "current" without it).
    assert not rollups.is_current(eng, config.Campaign()) and problem.marked_stale
    assert "daily totals were not updated (database is locked)" in text_of(page.results_view(results, "en", problem))


# --- files that name no account: the Account field --------------------------------------------

def yt_totals(rows=(("2025-01-02", "120"), ("2025-01-03", "80"))) -> bytes:
    """YouTube Studio's Totals.csv: days and views, and no word of whose channel it is."""
    return ("Date,Views\n" + "".join(f"{d},{v}\n" for d, v in rows)).encode()


def accounts(eng) -> set[tuple[str, str | None]]:
    with eng.connect() as c:
        return set(c.execute(sa.select(schema.accounts.c.platform, schema.accounts.c.handle)).all())


def test_the_account_field_is_cleaned_like_a_typed_handle_and_empty_means_none():
    assert page.clean_account("  GlobalBazaarTV \n") == "GlobalBazaarTV"
    assert page.clean_account("Global\x00Bazaar\tTV") == "GlobalBazaarTV"
    for empty in (None, "", "   ", 42, ["x"]):
        assert page.clean_account(empty) is None
    assert len(page.clean_account("a" * 500)) == page.ACCOUNT_MAX_CHARS


def test_a_file_that_names_no_account_gets_advice_a_web_user_can_follow_and_the_advice_is_true(eng, archive):
    [r] = upload(eng, archive, ("Totals.csv", yt_totals()))
    assert r.status == "imported" and r.unknown_account and "--account" in r.line()  # the CLI's words
    shown = text_of(page.result_view(r, "en"))
    assert shown.startswith("Imported: Totals.csv: youtube youtube.totals: 2 account-days; 0 rows rejected")
    assert "--account" not in shown and "(name it with" not in shown
    assert "Totals.csv names no account, so its rows were stored under the account 'unknown' (YouTube)" in shown
    assert "Account field" in shown and "roster" in shown
    zh = text_of(page.result_view(r, "zh"))
    assert "--account" not in zh and "“账号”栏" in zh and "达人名单" in zh
    # "Dropping the same file again changes nothing", even with the field filled in:
    [again] = upload(eng, archive, ("Totals.csv", yt_totals()), account="GlobalBazaarTV")
    assert again.status == "already imported" and ("youtube", "GlobalBazaarTV") not in accounts(eng)
    # "link the YouTube account 'unknown' to them in the roster (a row with ... the handle unknown)":
    ok, _ = page.import_roster_upload(eng, archive, "roster.csv",
                                      as_upload(b"name,platform,handle\nGlobal Bazaar TV,youtube,unknown\n"))
    assert ok
    owners = queries.frames.load_frames(eng).accounts.set_index("account")["influencer"]
    assert owners["unknown"] == "Global Bazaar TV"


def test_the_account_field_names_the_account_of_rows_that_name_none_and_no_other(eng, archive):
    totals, x = upload(eng, archive, ("Totals.csv", yt_totals()),
                       (X_NAME, x_content([("1870000000000000001", 1200, 30)])), account=" GlobalBazaarTV ")
    assert totals.status == x.status == "imported" and not totals.unknown_account
    assert "names no account" not in text_of(page.result_view(totals, "en"))
    # The X rows name their account (in their links) and keep it.
    assert accounts(eng) == {("youtube", "GlobalBazaarTV"), ("x", "jinhub_yiwu")}


def test_the_upload_callback_passes_the_account_field_to_the_import(eng):
    with dashboard_app_context(eng, role="editor"):
        result, _, _ = page.upload_files([as_upload(yt_totals())], ["Totals.csv"], "?lang=zh", 0, "  @GlobalBazaarTV ")
    assert "未注明账号的文件使用的账号：@GlobalBazaarTV" in text_of(result)
    assert accounts(eng) == {("youtube", "GlobalBazaarTV")}  # the store drops the @ of a handle


# --- roster -----------------------------------------------------------------------------------

def test_a_roster_upload_links_accounts_and_a_broken_roster_says_why_in_words(eng, archive):
    roster = "name,category,platform,handle\nChen Li,merchant,x,jinhub_yiwu\nChen Li,merchant,tiktok,chenli\n"
    ok, text = page.import_roster_upload(eng, archive, "roster.csv", as_upload(roster.encode()))
    assert ok and text == ("Roster imported: 1 influencers, 2 accounts. "
                           "1 new influencers; 2 accounts not seen in any export yet.")
    with eng.connect() as c:
        assert c.execute(sa.select(sa.func.count()).where(schema.accounts.c.influencer_id.is_not(None))).scalar() == 2
    ok, text = page.import_roster_upload(eng, archive, "roster.csv", as_upload(b"who,where\nA,B\n"))
    assert not ok and text.startswith("The roster was not imported: roster.csv: a roster needs the columns")


# --- history and freshness --------------------------------------------------------------------

class dashboard_app_context:
    """A request context of the real app over ``eng``, as a callback or layout runs in."""

    def __init__(self, eng, role="editor"):
        self.app, self.role = create_app(eng), role

    def __enter__(self):
        from flask import g

        self.ctx = self.app.server.test_request_context("/data")
        self.ctx.__enter__()
        g.reach_role = self.role  # what the login guard sets for this user
        return self.app

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)


def test_the_history_lists_imports_and_opens_on_the_newest_one_with_rejected_rows(eng, archive):
    upload(eng, archive, (X_NAME, x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", "x", 1)])),
           ("account_analytics_content_2024-12-16_2024-12-23.csv", x_content([("1870000000000000001", 1300, 31)])))
    shown = text_of(page.tables(eng, config.Campaign(timezone="Asia/Shanghai"), "en"))
    assert X_NAME in shown and "account_analytics_content_2024-12-16_2024-12-23.csv" in shown
    # the snapshot time in the campaign timezone (the day after the range in the name) and its source
    assert "24 Dec 2024, 00:00 (from the file name)" in shown
    # the picker chose the first file (the newer one rejected nothing), and its reason is listed
    assert f"{X_NAME} 3 Impressions 'x' a whole number" in shown
    second = text_of(page.problems_view(eng, 2, "en"))
    assert second == "This import rejected no rows."


def test_freshness_per_account_agrees_with_the_platform_freshness_and_marks_stale_accounts(eng):
    imp = Importer(eng, None)
    imp.import_bytes(X_NAME, x_content([("1870000000000000001", 1200, 30)]))  # snapshot 22 Dec 16:00 UTC
    imp.import_bytes("account_analytics_content_2024-12-16_2024-12-25.csv",
                     x_content([("1870000000000000002", 700, 5)], handle="yiwu_market"))  # 25 Dec 16:00 UTC
    now = datetime(2024, 12, 26, 12, tzinfo=timezone.utc)
    acc = clock.account_freshness(eng, now).set_index("account")
    assert acc.loc["jinhub_yiwu", "stale"] and not acc.loc["yiwu_market", "stale"]
    plat = clock.freshness(eng, now).set_index("platform")
    assert acc["as_of"].max() == plat.loc["x", "as_of"]
    shown = text_of(page.freshness_view(eng, config.Campaign(timezone="UTC"), "en", now))
    assert "jinhub_yiwu" in shown and "(stale)" in shown


# --- the page and its callbacks ---------------------------------------------------------------

def test_the_page_shows_the_size_limit_and_a_viewer_gets_a_disabled_upload_and_a_note(eng):
    with dashboard_app_context(eng):
        lay = page.layout()
    up = next(c for c in walk(lay) if getattr(c, "id", None) == "data-upload")
    assert up.max_size == page.MAX_UPLOAD_BYTES and up.multiple and not up.disabled
    assert "at most 50 MB per file" in text_of(lay)
    field = next(c for c in walk(lay) if getattr(c, "id", None) == "data-account")
    assert not field.disabled and field.value == "" and field.maxLength == page.ACCOUNT_MAX_CHARS
    assert "Account (optional)" in text_of(lay) and "Only for files that name no account" in text_of(lay)
    with dashboard_app_context(eng, role="viewer"):
        lay = page.layout(lang="zh")
    assert next(c for c in walk(lay) if getattr(c, "id", None) == "data-upload").disabled
    assert next(c for c in walk(lay) if getattr(c, "id", None) == "data-account").disabled
    assert "只有编辑者" in text_of(lay) and "账号（可选）" in text_of(lay)


def walk(component):
    yield component
    children = getattr(component, "children", None)
    for c in children if isinstance(children, list) else [children]:
        if c is not None and not isinstance(c, (str, int, float)):
            yield from walk(c)


def test_the_upload_callback_refuses_a_viewer_in_words_and_imports_for_an_editor(eng):
    data = as_upload(x_content([("1870000000000000001", 1200, 30)]))
    with dashboard_app_context(eng, role="viewer"):
        result, cleared, stamp = page.upload_files([data], [X_NAME], "", 3)
        roster, _, _ = page.upload_roster(as_upload(b"name,platform,handle\nA,x,a\n"), "r.csv", "", 3)
    assert "only editors" in text_of(result) and "only editors" in text_of(roster) and stamp == 3
    assert count(eng, schema.imports) == 0 and count(eng, schema.influencers) == 0
    with dashboard_app_context(eng, role="editor"):
        result, cleared, stamp = page.upload_files([data], [X_NAME], "", 3)
    assert text_of(result).startswith("Imported: " + X_NAME) and cleared is None and stamp == 4
    assert count(eng, schema.imports) == 1


def test_a_logged_in_viewer_posting_an_upload_gets_the_refusal_and_the_database_is_unchanged(eng, tmp_path,
                                                                                              monkeypatch):
    monkeypatch.setenv("REACH_SECRET_KEY", "k" * 40)
    users = tmp_path / "users.toml"
    auth.add_user(users, "vic", "viewer", PASSWORDS["vic"])
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    app = create_app(eng, auth.Settings(users=users, anonymous=False))
    client = app.server.test_client()
    outputs = [{"id": "data-upload-result", "property": "children"}, {"id": "data-upload", "property": "contents"},
               {"id": "data-stamp", "property": "data"}]
    body = {"output": "..data-upload-result.children...data-upload.contents...data-stamp.data..",
            "outputs": outputs,
            "inputs": [{"id": "data-upload", "property": "contents",
                        "value": [as_upload(x_content([("1870000000000000001", 1200, 30)]))]}],
            "state": [{"id": "data-upload", "property": "filename", "value": [X_NAME]},
                      {"id": "url", "property": "search", "value": ""},
                      {"id": "data-stamp", "property": "data", "value": 0},
                      {"id": "data-account", "property": "value", "value": ""}],
            "changedPropIds": ["data-upload.contents"]}
    answers = {}
    for name in ("vic", "alice"):
        client.get("/logout")
        token = csrf_of(client.get("/login").text)
        client.post("/login", data={"csrf_token": token, "name": name, "password": PASSWORDS[name]})
        answers[name] = client.post("/_dash-update-component", json=body)
        if name == "vic":
            assert count(eng, schema.imports) == 0
    assert answers["vic"].status_code == 200
    assert "only editors" in str(answers["vic"].json["response"]["data-upload-result"]["children"])
    assert answers["alice"].status_code == 200 and count(eng, schema.imports) == 1


# --- in a real browser ------------------------------------------------------------------------

@pytest.mark.browser
def test_a_real_youtube_export_dropped_on_the_page_is_imported_and_shows_on_the_live_page(sqlite_url):
    path = sample("youtube/krishp1010_table_data.csv")
    require_chromium()
    engine = database.connect(sqlite_url)
    Importer(engine, None).import_bytes(X_NAME, x_content([("1870000000000000001", 1200, 30)]))
    engine.dispose()
    with reach_server(sqlite_url) as url, chromium(1400, 1400) as driver:
        driver.get(url + "data")
        wait_for(driver, "#data-history", text=X_NAME)
        # Table data names no channel: the Account field names it, as `reach import --account` would.
        driver.find_element("css selector", "#data-account").send_keys("krishp1010")
        driver.find_element("css selector", "#data-upload input[type=file]").send_keys(str(path))
        result = wait_for(driver, "#data-upload-result .upload-result", text=path.name)[0].text
        assert result.startswith(f"Imported: {path.name}: youtube youtube.table_data: 499 posts")
        assert "'#NAME?'" in result and "118" in result  # the rejected row, with its line
        assert "unknown" not in result and "--account" not in result
        assert "krishp1010" in driver.find_element("css selector", "#data-account-used").text
        wait_for(driver, "#data-freshness-accounts", text="krishp1010")
        wait_for(driver, "#data-history", text=path.name)
        wait_for(driver, "#data-problems-table", text="#NAME?")
        screenshot(driver, "data-upload")
        assert console_errors(driver) == []
        driver.get(url + "data?lang=zh")
        wait_for(driver, "#data-history", text=path.name)
        screenshot(driver, "data-zh")
        assert console_errors(driver) == []
        # X reports impressions, not views: the Live page's default metric would chart nothing here.
        driver.get(url + "?metric=impressions")
        wait_for(driver, "#live-freshness", text="YouTube")
        wait_for(driver, "#live-chart .main-svg")
        screenshot(driver, "data-then-live")
        assert console_errors(driver) == []


# --- the mapping step: a file no report recognises ------------------------------------------------

UNKNOWN_HEADER = ["Clip", "Web address", "Went live", "Plays", "Hearts", "<i>Remarks</i>"]


def unknown_posts(ids=(1, 2), header=UNKNOWN_HEADER) -> bytes:
    """A posts file in a layout no report knows (a made-up tool's export): caption, link, publish
    date, plays and likes per TikTok video, and a note. Detection proposes reading it as TikTok
    content but puts the plays and likes in the wrong fields, which the mapping step corrects."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for i in ids:
        w.writerow([f"Yiwu market walk {i}", f"https://www.tiktok.com/@yiwu_market/video/73{i:017d}",
                    f"2024-12-2{i % 9}", 1000 + i, 3 * i, "ok"])
    return buf.getvalue().encode()


CORRECT = ["title", "url", "published_at", "views", "likes", ""]


def offered(eng, data, name="walks.csv", role="editor", lang="en", account=""):
    """upload_files for one file, as the callback runs it: (what it shows, the form or None)."""
    with dashboard_app_context(eng, role=role):
        shown, _, _ = page.upload_files([as_upload(data)], [name], f"?lang={lang}", 0, account)
    form = next((c for c in walk(html_div(shown)) if getattr(c, "id", None) == "data-map"), None)
    return shown, form


def html_div(children):
    from dash import html

    return html.Div(children)


def by_id(tree, id_):
    return next(c for c in walk(tree) if getattr(c, "id", None) == id_)


def field_values(form) -> list:
    return [c.value for c in walk(form) if isinstance(getattr(c, "id", None), dict)
            and c.id.get("type") == "data-map-field"]


def field_ids(form) -> list:
    return [c.id for c in walk(form) if isinstance(getattr(c, "id", None), dict)
            and c.id.get("type") == "data-map-field"]


def pending_files(eng) -> list[str]:
    folder = page.pending_dir(Archive(database.archive_dir(eng)))
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_an_unrecognised_upload_waits_server_side_and_the_form_offers_its_columns_prefilled(eng):
    data = unknown_posts()
    shown, form = offered(eng, data)
    assert form is not None
    text = text_of(shown)
    assert text.startswith("Not imported: walks.csv: not a known export (header: Clip, Web address")
    # The CLI's advice (reach mapping suggest ...) is replaced by the form's.
    assert "reach mapping suggest" not in text and "Its columns are listed below" in text
    # Each column: the header as the file writes it (as text: Dash escapes it), values, a field.
    assert "<i>Remarks</i> ok · ok" in text and "Plays 1001 · 1002" in text and "Went live 2024-12-21 · 2024-12-22" in text
    assert by_id(form, "data-map-report").value == "tiktok.content"
    assert field_values(form) == ["title", "url", "published_at", "shares", "views", ""]  # the proposal
    assert field_ids(form) == [{"type": "data-map-field", "col": i} for i in range(6)]
    # Only the bytes' hash goes to the browser; the bytes wait beside the archive.
    pid = by_id(form, "data-map-id").data
    assert pid == sha256(data) and base64.b64encode(data).decode()[:40] not in str(shown)
    assert pending_files(eng) == [pid, pid + ".json"]
    folder = page.pending_dir(Archive(database.archive_dir(eng)))
    assert folder.parent == database.archive_dir(eng).parent and (folder / pid).read_bytes() == data
    assert count(eng, schema.imports) == 0


def test_the_report_list_names_every_export_by_title_and_the_fields_follow_the_report(eng):
    _, form = offered(eng, unknown_posts())
    titles = {o["label"] for o in by_id(form, "data-map-report").options}
    assert "TikTok post export (Content.csv / Video Posts), per post" in titles
    assert "X account analytics, Content export" in titles
    assert not any("snapshot (reach collect)" in t for t in titles)  # reach collect's own files
    labels = [o["label"] for o in page.field_options("tiktok.content", "en")]
    assert labels[0] == "— not read —" and "Views (views)" in labels
    assert "Title (title), required" in labels and "Published (published_at), required" in labels
    zh = [o["label"] for o in page.field_options("tiktok.content", "zh")]
    assert zh[0] == "— 不读取 —" and "浏览量 (views)" in zh and "标题 (title)，必填" in zh
    assert [o["value"] for o in page.field_options("", "en")] == [""]


def test_choosing_another_report_prefills_its_best_fit_and_the_proposed_one_gives_the_proposal_back(eng):
    _, form = offered(eng, unknown_posts())
    pid = by_id(form, "data-map-id").data
    ids = field_ids(form)
    with dashboard_app_context(eng):
        options, values = page.choose_report("x.content", pid, ids, "")
        assert options[0] == page.field_options("x.content", "en") and len(options) == 6
        # X's layout aligned with the file in order: the caption as the post text, the link, counts.
        # (Which count is which, structure cannot say: the user picks that in the dropdowns.)
        assert values[:2] == ["title", "url"] and not any(v.startswith("_") for v in values)
        assert all(v == "" or v in {o["value"] for o in options[0]} for v in values)
        assert len([v for v in values if v]) == len({v for v in values if v})  # a field once at most
        assert page.choose_report("tiktok.content", pid, ids, "")[1] == ["title", "url", "published_at", "shares",
                                                                         "views", ""]
    with dashboard_app_context(eng, role="viewer"), pytest.raises(PreventUpdate):
        page.choose_report("x.content", pid, ids, "")


def test_importing_with_the_mapping_stores_the_rows_refreshes_the_rollups_and_saves_the_profile(eng):
    _, form = offered(eng, unknown_posts(), account="yiwu_market")
    pid, ids = by_id(form, "data-map-id").data, field_ids(form)
    with dashboard_app_context(eng):
        shown, message, stamp = page.import_mapped(1, pid, "tiktok.content", CORRECT, ids, "auto", "", 4)
    # The drop's results and the form give way to this file's result; the tables are redrawn.
    assert message is page.no_update and stamp == 5
    text = text_of(shown)
    assert text.startswith("Imported: walks.csv: tiktok tiktok.content: 2 posts, 2 snapshots; 0 rows rejected")
    assert '"Plays" → views, "Hearts" → likes' in text and "The mapping was saved" in text
    assert "Not imported" not in text
    # The failed attempt is no longer listed among the files that could not be imported.
    assert page.failures(eng).empty
    assert pending_files(eng) == []  # imported: it no longer waits
    [profile] = ledger.load_profiles(eng)
    assert profile["report"] == "tiktok.content" and [f for _, f in profile["columns"]] == CORRECT
    by_account = rollups.query(eng, config.load(), by=["account"], refresh_if_stale=False).set_index("account")
    assert by_account.loc["yiwu_market", "views"] == pytest.approx(1001 + 1002)  # refreshed by the callback
    # The next file with the same header imports at once, on the page, without a form.
    shown, form = offered(eng, unknown_posts(ids=(3, 4)), name="walks-2.csv")
    assert form is None
    assert text_of(shown).startswith("Imported: walks-2.csv: tiktok tiktok.content: 2 posts, 2 snapshots")
    assert "read with the saved mapping profile" in text_of(shown)
    assert count(eng, schema.imports) == 2 and pending_files(eng) == []


def test_a_mapping_that_cannot_be_used_is_refused_in_words_and_the_file_keeps_waiting(eng):
    _, form = offered(eng, unknown_posts())
    pid, ids = by_id(form, "data-map-id").data, field_ids(form)

    def attempt(report, fields, search=""):
        with dashboard_app_context(eng):
            return page.import_mapped(1, pid, report, fields, ids, "auto", search, 0)

    kept, message, stamp = attempt(None, CORRECT)
    assert text_of(message) == "The mapping was not used: Choose the report this file is first."
    assert kept is page.no_update and stamp == 0
    _, message, _ = attempt("tiktok.content", ["title", "url", "", "views", "likes", ""])
    assert text_of(message) == ("The mapping was not used: TikTok post export (Content.csv / Video Posts), per post "
                                "needs a column for each of: Published (published_at). "
                                "Choose the columns that hold them.")
    _, message, _ = attempt("tiktok.content", ["title", "url", "published_at", "views", "views", ""], "?lang=zh")
    assert text_of(message) == "未使用此映射：每个字段只能从一列读取；以下字段被多列选中：浏览量 (views)。"
    _, message, _ = attempt("no.such_report", CORRECT)
    assert "The form did not match the file" in text_of(message)
    _, message, _ = attempt("tiktok.content", CORRECT[:-1])  # a column short: not this file's form
    assert "The form did not match the file" in text_of(message)
    # A mapping that reads every row wrong: the import fails, said as for an upload; the form stays.
    kept, message, _ = attempt("tiktok.content", ["title", "published_at", "url", "views", "likes", ""])
    assert kept is page.no_update and text_of(message).startswith("Not imported: walks.csv")
    assert "change the fields above and try again" in text_of(message)
    assert count(eng, schema.imports) == 0 and ledger.load_profiles(eng) == []
    assert pending_files(eng) == [pid, pid + ".json"]


def test_a_viewer_calling_the_mapping_callback_is_refused_and_nothing_is_imported(eng):
    _, form = offered(eng, unknown_posts())
    pid, ids = by_id(form, "data-map-id").data, field_ids(form)
    with dashboard_app_context(eng, role="viewer"):
        kept, message, stamp = page.import_mapped(1, pid, "tiktok.content", CORRECT, ids, "auto", "", 2)
    assert kept is page.no_update and "only editors" in text_of(message) and stamp == 2
    assert count(eng, schema.imports) == 0 and ledger.load_profiles(eng) == []
    # A viewer's upload is refused before anything is read, so a viewer never gets the form.
    shown, form = offered(eng, unknown_posts(ids=(5,)), role="viewer")
    assert form is None and "only editors" in text_of(shown)


def test_a_logged_in_viewer_posting_the_mapping_callback_gets_the_refusal(eng, tmp_path, monkeypatch):
    _, form = offered(eng, unknown_posts())
    pid = by_id(form, "data-map-id").data
    monkeypatch.setenv("REACH_SECRET_KEY", "k" * 40)
    users = tmp_path / "users.toml"
    auth.add_user(users, "vic", "viewer", PASSWORDS["vic"])
    app = create_app(eng, auth.Settings(users=users, anonymous=False))
    client = app.server.test_client()
    fields = [{"id": {"type": "data-map-field", "col": i}, "property": "value", "value": f} for i, f in enumerate(CORRECT)]
    ids = [{"id": {"type": "data-map-field", "col": i}, "property": "id", "value": {"type": "data-map-field", "col": i}}
           for i in range(len(CORRECT))]
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"csrf_token": token, "name": "vic", "password": PASSWORDS["vic"]})
    client.get("/data")
    # Dash names an output that allows duplicates by a hash of the callback: look its key up.
    key = next(k for k in app.callback_map if "data-map-message.children" in k and k.startswith("..data-upload-result"))
    body = {"output": key,
            "outputs": [{"id": "data-upload-result", "property": "children"},
                        {"id": "data-map-message", "property": "children"},
                        {"id": "data-stamp", "property": "data"}],
            "inputs": [{"id": "data-map-import", "property": "n_clicks", "value": 1}],
            "state": [{"id": "data-map-id", "property": "data", "value": pid},
                      {"id": "data-map-report", "property": "value", "value": "tiktok.content"},
                      fields, ids,
                      {"id": "data-map-date-order", "property": "value", "value": "auto"},
                      {"id": "url", "property": "search", "value": ""},
                      {"id": "data-stamp", "property": "data", "value": 0}],
            "changedPropIds": ["data-map-import.n_clicks"]}
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200, answer.text[:500]
    assert "only editors" in str(answer.json["response"]["data-map-message"]["children"])
    assert count(eng, schema.imports) == 0 and ledger.load_profiles(eng) == []


def test_a_waiting_files_id_must_be_a_sha256_in_hex_and_a_gone_file_is_said_in_words(eng):
    archive = Archive(database.archive_dir(eng))
    for bad in ("../../reach.db", "reach.db", "A" * 64, "0" * 63, None, 12, ["0" * 64], "0" * 64 + "/x"):
        with pytest.raises(page.ReachError):
            page.load_pending(archive, bad)
        result, error = page.import_with_mapping(eng, archive, bad, "tiktok.content", CORRECT, None)
        assert result is None and error.startswith("This file is no longer waiting for a mapping")
    page.drop_pending(archive, "../reach.db")  # names no path: nothing happens
    assert (database.archive_dir(eng).parent / "reach.db").exists()


def test_files_left_waiting_for_more_than_a_day_are_removed_when_another_arrives(eng, archive):
    from datetime import timedelta

    r, raw = None, unknown_posts()
    unrecognised = []
    page.import_uploads(eng, archive, ["old.csv"], [as_upload(raw)], unrecognised=unrecognised)
    [(r, raw)] = unrecognised
    old = page.keep_pending(archive, r, raw)
    later = datetime.now(timezone.utc) + page.PENDING_MAX_AGE + timedelta(minutes=1)
    unrecognised = []
    page.import_uploads(eng, archive, ["new.csv"], [as_upload(unknown_posts(ids=(7,)))], unrecognised=unrecognised)
    new = page.keep_pending(archive, *unrecognised[0], now=later)
    assert pending_files(eng) == [new, new + ".json"] and old != new


def test_several_unrecognised_files_in_one_drop_get_one_form_and_a_note_about_the_others(eng):
    with dashboard_app_context(eng):
        shown, _, _ = page.upload_files([as_upload(unknown_posts()), as_upload(unknown_posts(ids=(8,)))],
                                        ["a.csv", "b.csv"], "?lang=zh", 0, "")
    text = text_of(shown)
    assert text.count("按列映射读取") == 1 and "按列映射读取 a.csv" in text
    assert "此次拖放中另有 1 个文件也未被识别" in text
    assert "其各列列在下方" in text and "按此映射导入" in text


def test_the_date_order_chosen_in_the_form_reads_the_dates_and_is_saved_with_the_mapping(eng):
    data = unknown_posts().replace(b"2024-12-21", b"05/06/2024").replace(b"2024-12-22", b"07/08/2024")
    _, form = offered(eng, data)
    assert [o["value"] for o in by_id(form, "data-map-date-order").options] == ["auto", "dmy", "mdy", "ymd"]
    pid, ids = by_id(form, "data-map-id").data, field_ids(form)
    with dashboard_app_context(eng):
        shown, _, _ = page.import_mapped(1, pid, "tiktok.content", CORRECT, ids, "mdy", "", 0)
    assert text_of(shown).startswith("Imported: walks.csv")
    with eng.connect() as c:
        published = sorted(v for (v,) in c.execute(sa.select(schema.posts.c.published_at)))
    # 6 May and 8 July, midnight in the campaign's timezone (UTC+8): month first, as chosen.
    assert [p.strftime("%m-%d %H") for p in published] == ["05-05 16", "07-07 16"]
    assert ledger.load_profiles(eng)[0]["date_order"] == "mdy"

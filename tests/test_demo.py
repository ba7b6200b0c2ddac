"""The demo campaign writes real-format exports, deterministically, with the real-life events in them.

The events are checked on the written files (parsed here with the csv module), not on the model
that wrote them, so a test fails if a writer drops what the model meant to say.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import statistics
import time
import zipfile
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from collectors import model
from collectors.demo import campaign as demo
from collectors.parse import detect
from collectors.read import read_bytes
from collectors.registry import reports
from collectors.roster import CATEGORIES


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    started = time.perf_counter()
    files = demo.write_demo(folder)
    return folder, files, time.perf_counter() - started


def _rel(folder: Path, p: Path) -> str:
    return p.relative_to(folder).as_posix()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {_rel(folder, p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _csv_rows(data: bytes) -> list[list[str]]:
    if data.startswith(b"\xff\xfe"):
        text = data[2:].decode("utf-16-le")
    else:
        text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def _dicts(data: bytes, skip: int = 0) -> list[dict[str, str]]:
    rows = _csv_rows(data)[skip:]
    head = [h.replace("\u00a0", " ").strip() for h in rows[0]]
    return [dict(zip(head, r)) for r in rows[1:] if r]


def _zip_member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


# --- determinism, size, speed -----------------------------------------------------------------

def test_the_same_seed_writes_byte_identical_files(tmp_path):
    demo.write_demo(tmp_path / "a", seed=7)
    demo.write_demo(tmp_path / "b", seed=7)
    a, b = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert list(a) == list(b)
    assert [k for k in a if a[k] != b[k]] == []


def test_a_different_seed_writes_different_numbers(tmp_path):
    demo.write_demo(tmp_path / "a", seed=1)
    demo.write_demo(tmp_path / "b", seed=2)
    a, b = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert a != b
    assert a["roster.csv"].splitlines()[0] == b["roster.csv"].splitlines()[0]


def test_the_demo_stays_small(written):
    # Its speed is measured by bench/, not asserted here: a timed test fails on a busy machine.
    folder, files, _ = written
    assert 250 <= len(files.files) <= 480
    rows = sum(len(t) for p in files.files for t in read_bytes(p.name, p.read_bytes()))
    assert 5_000 <= rows <= 100_000
    assert sum(p.stat().st_size for p in files.files) < 20_000_000


def test_files_come_in_export_order_with_their_export_time(written):
    folder, files, _ = written
    assert len(set(files.files)) == len(files.files)
    assert all(p.is_file() for p in files.files)
    times = [files.as_of[p] for p in files.files]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)
    assert times[0].date() >= demo.START and times[-1].date() <= demo.FINAL_EXPORT
    # Where the name carries the export day, as_of agrees with it.
    for p in files.files:
        m = re.search(r"_(\d{4}-\d{2}-\d{2})\.csv$", p.name)
        if m and p.name.startswith("account_analytics_content"):
            assert files.as_of[p].date().isoformat() == m.group(1)


# --- every file is read and detected as what it is ----------------------------------------------

def _expected(rel: str) -> list[tuple[str, str | None, str | None, str]]:
    """[(platform, report name or None when the platform module names it, grain, table)] per file."""
    name = rel.rsplit("/", 1)[-1]
    if rel.startswith("x/"):
        if name.startswith("account_analytics_content_"):
            return [("x", "x.content", model.POST_LIFETIME, "")]
        if name.startswith("account_overview_analytics"):
            return [("x", "x.overview", model.ACCOUNT_DAY, "")]
        if name.startswith("tweet_activity_metrics_"):
            return [("x", "x.tweet_activity", model.POST_LIFETIME, "")]
        if name.startswith("daily_tweet_activity_metrics_"):
            return [("x", "x.tweet_activity_daily", model.ACCOUNT_DAY, "")]
    if rel.startswith(("facebook/", "instagram/")):
        platform = rel.split("/")[0]
        grain = model.ACCOUNT_DAY if rel.count("/") == 2 else model.POST_LIFETIME
        return [(platform, None, grain, "")]
    if rel.startswith("youtube/"):
        return [("youtube", "youtube.table_data", model.POST_LIFETIME, "Table data.csv"),
                ("youtube", "youtube.chart_data", model.POST_DAILY, "Chart data.csv"),
                ("youtube", "youtube.totals", model.ACCOUNT_DAY, "Totals.csv")]
    if rel.startswith("tiktok/"):
        if name.startswith("Overview_"):
            return [("tiktok", "tiktok.overview", model.ACCOUNT_DAY, "Overview.csv")]
        return [("tiktok", "tiktok.content", model.POST_LIFETIME, "")]
    if rel.startswith("linkedin/"):
        return [("linkedin", "linkedin.content_metrics", model.ACCOUNT_DAY, "Metrics"),
                ("linkedin", "linkedin.content_posts", model.POST_LIFETIME, "All posts")]
    if rel.startswith("weibo/"):
        return [("weibo", "weibo.crawler", model.POST_LIFETIME, "")]
    if rel.startswith("douyin/"):
        return [("douyin", "douyin.works", model.POST_LIFETIME, "作品数据" if name.endswith(".xlsx") else "")]
    if rel.startswith("bilibili/"):
        return [("bilibili", "bilibili.video_stats", model.POST_LIFETIME, "")]
    if rel.startswith("wechat/"):
        kind = {"流量分析": ("wechat.traffic", model.ACCOUNT_DAY), "已通知内容": ("wechat.articles_notified", model.POST_LIFETIME),
                "未开启通知内容": ("wechat.articles_unnotified", model.POST_LIFETIME)}[name.split("_")[0]]
        return [("wechat", kind[0], kind[1], "Sheet1")]
    raise AssertionError(f"unexpected file {rel}")


@pytest.mark.parametrize("platform", model.PLATFORMS)
def test_every_file_is_read_and_detected_as_the_expected_report(written, platform):
    folder, files, _ = written
    mine = [p for p in files.files if _rel(folder, p).startswith(platform + "/")]
    assert mine, f"no {platform} files"
    registered = {r.platform for r in reports()}
    if platform not in registered:
        module = "meta.py" if platform in ("facebook", "instagram") else f"{platform}.py"
        pytest.fail(f"no {platform} report is registered: collectors/platforms/{module} is missing, "
                    f"so {len(mine)} demo files cannot be detected yet")
    wrong = []
    for p in mine:
        rel = _rel(folder, p)
        tables = read_bytes(p.name, p.read_bytes())
        expected = _expected(rel)
        assert len(tables) == len(expected), rel
        for table, (pf, name, grain, where) in zip(
                sorted(tables, key=lambda t: t.member or t.sheet or ""),
                sorted(expected, key=lambda e: e[3])):
            assert (table.member or table.sheet or "") == where, rel
            try:
                r = detect(table)
            except Exception as e:  # noqa: BLE001 - collected and reported together below
                wrong.append(f"{rel} {where}: {e}")
                continue
            if (r.platform, r.grain) != (pf, grain) or (name and r.name != name):
                wrong.append(f"{rel} {where}: detected {r.name} ({r.platform}, {r.grain})")
    assert wrong == []


# --- the real-life events -------------------------------------------------------------------------

def _lifetime_counts(folder: Path, files) -> list[tuple[Path, str, str, int]]:
    """(file, platform, post id, main count) for every post row of every lifetime export, in file order."""
    out = []
    for p in files.files:
        rel = _rel(folder, p)
        if rel.startswith("x/") and p.name.startswith("account_analytics_content_"):
            out += [(p, "x", r["Post id"], int(r["Impressions"])) for r in _dicts(p.read_bytes())]
        elif rel.startswith("x/") and p.name.startswith("tweet_activity_metrics_"):
            out += [(p, "x", r["Tweet id"], int(float(r["impressions"]))) for r in _dicts(p.read_bytes())]
        elif rel.startswith(("facebook/", "instagram/")) and rel.count("/") == 1:
            out += [(p, rel.split("/")[0], r["Post ID"], int(r["Views"])) for r in _dicts(p.read_bytes())]
        elif rel.startswith("tiktok/") and p.suffix == ".csv":
            out += [(p, "tiktok", r["Video link"].rsplit("/", 1)[-1], int(r["Total views"]))
                    for r in _dicts(p.read_bytes())]
        elif rel.startswith("youtube/"):
            rows = _dicts(_zip_member(p, "Table data.csv"))
            out += [(p, "youtube", r["Content"].strip(), int(r["Views"])) for r in rows if r["Content"] != "Total"]
    return out


def test_a_platform_correction_lowers_a_later_snapshot(written):
    folder, files, _ = written
    last: dict[tuple[str, str], int] = {}
    drops = []
    for p, platform, post, n in _lifetime_counts(folder, files):
        key = (platform, post)
        if key in last and n < last[key]:
            drops.append((platform, post, last[key], n, p.name))
        last[key] = n
    assert {d[0] for d in drops} >= {"x", "facebook"}, drops
    assert all(b < a for _, _, a, b, _ in drops)


def _export_days_by_unit(folder: Path, files) -> dict[str, list[date]]:
    days = defaultdict(set)
    for p in files.files:
        rel = _rel(folder, p)
        m = re.match(r"account_analytics_content_\d{4}-\d{2}-\d{2}_(\d{4}-\d{2}-\d{2})\.csv$", p.name)
        if m:
            days["x/" + rel.split("/")[1]].add(date.fromisoformat(m.group(1)))
        m = re.match(r"[A-Z][a-z]{2}-\d{2}-\d{4}_([A-Z][a-z]{2}-\d{2}-\d{4})_(\d+)", p.name)
        if m:
            days["meta/" + m.group(2)].add(datetime.strptime(m.group(1), "%b-%d-%Y").date())
    return {k: sorted(v) for k, v in days.items()}


def test_an_account_misses_an_export_day_in_its_daily_run(written):
    folder, files, _ = written
    missed = []
    for unit, days in _export_days_by_unit(folder, files).items():
        gaps = [(b - a).days for a, b in zip(days, days[1:])]
        for i in range(1, len(gaps) - 1):
            if gaps[i] == 2 and gaps[i - 1] == 1 and gaps[i + 1] == 1:
                missed.append((unit, days[i] + timedelta(days=1)))
    assert ("x/YiwuTradeWin", date(2024, 12, 25)) in missed


def test_the_same_export_was_downloaded_twice(written):
    folder, files, _ = written
    by_hash = defaultdict(list)
    for p in files.files:
        by_hash[hashlib.sha256(p.read_bytes()).hexdigest()].append(p)
    twins = [ps for ps in by_hash.values() if len(ps) > 1]
    assert len(twins) == 1
    a, b = sorted(twins[0], key=lambda p: len(p.name))
    assert b.name == a.name.replace(".csv", " (1).csv")
    assert files.files.index(a) < files.files.index(b)


def _last_per_account(folder: Path, files, pattern: str) -> list[Path]:
    last = {}
    for p in files.files:
        rel = _rel(folder, p)
        if re.search(pattern, rel):
            last[files.accounts[p]] = p
    return list(last.values())


def test_launch_day_views_spike_far_above_other_days(written):
    folder, files, _ = written
    per_day: dict[str, defaultdict] = {k: defaultdict(int) for k in ("x", "tiktok", "youtube")}
    for p in _last_per_account(folder, files, r"^x/.*/account_overview_analytics"):
        for r in _dicts(p.read_bytes()):
            per_day["x"][datetime.strptime(r["Date"], "%a, %b %d, %Y").date()] += int(r["Impressions"])
    for p in _last_per_account(folder, files, r"^tiktok/.*/Overview_"):
        first = date.fromisoformat(p.name.split("_")[1])
        for r in _dicts(_zip_member(p, "Overview.csv")):
            d = datetime.strptime(f"{r['Date']} {first.year}", "%B %d %Y").date()
            if d < first:  # the year-less dates roll over New Year
                d = d.replace(year=first.year + 1)
            per_day["tiktok"][d] += int(r["Video Views"])
    for p in _last_per_account(folder, files, r"^youtube/"):
        for r in _dicts(_zip_member(p, "Totals.csv")):
            per_day["youtube"][date.fromisoformat(r["Date"])] += int(r["Views"])
    for platform, days in per_day.items():
        campaign = {d: v for d, v in days.items() if demo.START <= d <= demo.END}
        assert len(campaign) == len(demo.DAYS), platform
        others = [v for d, v in campaign.items() if d != demo.LAUNCH]
        assert max(campaign, key=campaign.get) == demo.LAUNCH, platform
        assert campaign[demo.LAUNCH] > 3 * statistics.median(others), platform


# --- formats that matter --------------------------------------------------------------------------

def test_tiktok_files_are_all_quoted_with_a_bom_and_no_final_newline(written):
    folder, files, _ = written
    posts = [p for p in files.files if p.parent.parent.name == "tiktok" and p.suffix == ".csv"]
    data = posts[-1].read_bytes()
    assert data.startswith(b'\xef\xbb\xbf"Time","Video title","Video link","Post time"')
    assert not data.endswith(b"\n")
    overview = next(p for p in reversed(files.files) if p.name.startswith("Overview_"))
    with zipfile.ZipFile(overview) as z:
        info = z.getinfo("Overview.csv")
        assert info.compress_type == zipfile.ZIP_STORED
        text = z.read(info).decode("utf-8-sig")
    assert '"December 31"' in text and '"January 1"' in text
    assert re.fullmatch(r"Overview_\d{4}-\d{2}-\d{2}_\d{10}_[\w.]+\.zip", overview.name)


def test_meta_exports_have_a_bom_lifetime_rows_and_utf16_charts(written):
    folder, files, _ = written
    fb = [p for p in files.files if _rel(folder, p).startswith("facebook/") and _rel(folder, p).count("/") == 1]
    data = fb[-1].read_bytes()
    assert data.startswith(b'\xef\xbb\xbf"Post ID","Page ID","Page name",Title,')
    rows = _dicts(data)
    assert {r["Date"] for r in rows} == {"Lifetime"}
    assert len({r["Page ID"] for r in rows}) > 1  # one Business portfolio file, several pages
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", r["Publish time"]) for r in rows)
    chart = next(p for p in files.files if p.name == "Reach.csv")
    raw = chart.read_bytes()
    assert raw.startswith(b"\xff\xfe")
    lines = raw[2:].decode("utf-16-le").split("\n")
    assert lines[0] == "sep=," and lines[1].startswith('"') and lines[2] == '"Date","Primary"'
    assert lines[3].startswith('"2024-12-16T00:00:00",')


def test_x_legacy_files_write_counts_as_floats_and_dashes_for_promoted(written):
    folder, files, _ = written
    legacy = [p for p in files.files if p.name.startswith("tweet_activity_metrics_")]
    assert legacy and all(re.fullmatch(r"tweet_activity_metrics_\w+_\d{8}_\d{8}_en\.csv", p.name) for p in legacy)
    rows = _dicts(legacy[-1].read_bytes())
    assert rows and all(r["impressions"].endswith(".0") and r["promoted impressions"] == "-" for r in rows)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \+0000", r["time"]) for r in rows)
    content = next(p for p in files.files if p.name.startswith("account_analytics_content_"))
    assert content.read_bytes().startswith(b"Post id,Date,Post text,Post Link,Impressions,")


def test_youtube_zips_hold_a_total_row_second_and_fixed_timestamps(written):
    folder, files, _ = written
    zips = [p for p in files.files if p.suffix == ".zip" and p.name.startswith("Content ")]
    assert all(re.fullmatch(r"Content \d{4}-\d\d-\d\d_\d{4}-\d\d-\d\d .+\.zip", p.name) for p in zips)
    with zipfile.ZipFile(zips[-1]) as z:
        assert sorted(z.namelist()) == ["Chart data.csv", "Table data.csv", "Totals.csv"]
        assert len({i.date_time for i in z.infolist()}) == 1
        table = _csv_rows(z.read("Table data.csv"))
    assert table[1][0] == "Total"
    assert not table[-1][0].startswith("Showing top")  # only a 500-row table has the footer


def test_linkedin_workbooks_have_a_note_row_then_the_header(written):
    import openpyxl

    folder, files, _ = written
    book = next(p for p in reversed(files.files) if p.suffix == ".xlsx")
    assert re.fullmatch(r"[a-z0-9-]+_content_\d{13}\.xlsx", book.name)
    wb = openpyxl.load_workbook(book, read_only=True)
    assert wb.sheetnames == ["Metrics", "All posts"]
    metrics = list(wb["Metrics"].iter_rows(values_only=True))
    posts = list(wb["All posts"].iter_rows(values_only=True))
    assert metrics[1][:2] == ("Date", "Impressions (organic)") and posts[1][:2] == ("Post title", "Post link")
    assert metrics[0][1] is None and posts[0][1] is None  # row 1: a note in one cell
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", metrics[2][0])
    assert all("urn:li:activity:" in r[1] for r in posts[2:])


# --- the cast and the roster ---------------------------------------------------------------------

def test_the_roster_maps_about_forty_invented_influencers_on_six_platforms(written):
    folder, files, _ = written
    roster = list(csv.DictReader(io.StringIO(files.roster.read_text("utf-8"))))
    assert list(roster[0]) == ["name", "category", "platform", "handle", "account_id", "followers"]
    assert all(int(r["followers"]) > 0 for r in roster)
    names = {r["name"] for r in roster}
    assert 36 <= len(names) <= 45
    invented = [n for n, _, _ in demo.INFLUENCERS]
    assert len(set(invented)) == len(invented) and names <= set(invented)  # a fixed invented list only
    assert {r["category"] for r in roster} == set(CATEGORIES)
    assert {r["platform"] for r in roster} == set(model.PLATFORMS)
    assert all(r["handle"] and r["account_id"] for r in roster)
    assert len({(r["platform"], r["handle"]) for r in roster}) == len(roster)
    assert any(re.search(r"[\u4e00-\u9fff]", n) for n in names)


def test_the_roster_names_every_account_the_exports_hold(written):
    folder, files, _ = written
    roster = {(r["platform"], r["handle"]) for r in csv.DictReader(io.StringIO(files.roster.read_text("utf-8")))}
    accounts = [(a.platform, a.handle) for a in demo.build_campaign()]
    assert 80 <= len(accounts) <= 90
    assert [a for a in accounts if a not in roster] == []


def test_after_reach_demo_no_account_is_unassigned_and_the_active_influencers_are_the_rosters(demo_db):
    """Issue 12: three accounts left out of the roster showed twice ("PanYifei (unassigned)" beside
    "Pan Yifei 潘一飞"), so Live counted 43 active influencers for a roster of 40."""
    import sqlalchemy as sa

    from collectors.store import database, schema
    from conftest import ROOT
    from dashboard.analysis import config, metrics, queries

    roster = {r["name"] for r in csv.DictReader(io.StringIO(demo.write_roster(demo.build_campaign()).decode("utf-8")))}
    eng = database.connect(f"sqlite:///{demo_db}")
    try:
        with eng.connect() as conn:
            lone = conn.execute(sa.select(schema.accounts.c.handle).where(schema.accounts.c.influencer_id.is_(None))).all()
            people = set(conn.execute(sa.select(schema.influencers.c.name)).scalars())
        assert lone == [] and people == roster and len(roster) == 40
        campaign = config.load(ROOT / "campaign.toml")
        counts = queries.posts.published_counts(eng, campaign, metrics.Selection(start=campaign.start, end=campaign.end))
        assert int(counts["active_influencers"].iloc[0]) == len(roster)
        assert not any(n.endswith("(unassigned)") for n in queries.names.influencer_names(eng))
    finally:
        eng.dispose()


def test_all_six_platforms_have_exports_and_posts_mention_the_campaign(written):
    folder, files, _ = written
    assert {_rel(folder, p).split("/")[0] for p in files.files} == set(model.PLATFORMS)
    counts = defaultdict(int)
    for a in demo.build_campaign():
        counts[a.platform] += 1
    assert all(counts[p] >= (3 if p in demo.CHINESE_PLATFORMS else 6) for p in model.PLATFORMS)
    text = b"".join(p.read_bytes() for p in files.files if p.suffix == ".csv").decode("utf-8", "ignore")
    for word in ("Yiwu", "Jin Hub", "Belt and Road", "义乌"):
        assert word in text


def test_the_chinese_platforms_write_their_native_formats(written):
    folder, files, _ = written
    mine = {pf: [p for p in files.files if _rel(folder, p).startswith(pf + "/")] for pf in demo.CHINESE_PLATFORMS}
    # weibo-crawler: <uid>.csv, UTF-8 with a BOM, the id followed by a tab, retweet columns.
    weibo = mine["weibo"][-1]
    assert re.fullmatch(r"\d{10}\.csv", weibo.name)
    rows = _dicts(weibo.read_bytes())
    assert weibo.read_bytes().startswith("\ufeffid,bid,正文".encode()) and all(r["id"].endswith("\t") for r in rows)
    assert {r["是否原创"] for r in rows} == {"True", "False"}
    # Douyin: counts in 万 in the workbooks, and one account's exports saved by Excel in GB18030.
    gb = [p for p in mine["douyin"] if p.suffix == ".csv"]
    assert gb and all(not p.read_bytes().startswith(b"\xef\xbb\xbf") for p in gb)
    with pytest.raises(UnicodeDecodeError):
        gb[-1].read_bytes().decode("utf-8")
    assert "作品名称" in gb[-1].read_bytes().decode("gb18030").splitlines()[0]
    cells = [t.cells.to_numpy().ravel().tolist() for p in mine["douyin"] if p.suffix == ".xlsx"
             for t in read_bytes(p.name, p.read_bytes())]
    assert any(str(c).endswith("万") for cs in cells for c in cs)
    # WeChat: an article downloaded twice more than seven days after publishing shows the same
    # (frozen) totals both times.
    import openpyxl

    seen: dict[str, list[tuple]] = defaultdict(list)
    for p in mine["wechat"]:
        if "流量分析" in p.name:
            continue
        day = datetime.strptime(p.stem.split("_")[1], "%Y%m%d").date()
        for r in list(openpyxl.load_workbook(p, read_only=True).active.iter_rows(values_only=True))[1:]:
            published = datetime.strptime(str(r[1]), "%Y%m%d").date()
            if (day - published).days > 7:
                seen[r[-1]].append(r[2:4])
    repeated = [v for v in seen.values() if len(v) > 1]
    assert repeated and all(len(set(v)) == 1 for v in repeated)

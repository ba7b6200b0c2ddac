"""CSV downloads (dashboard/web/downloads.py) through Flask's test client on the demo campaign: the bytes
are the exports' own, the leaderboard file is what the Influencers grid shows, and `reach export`
with the same filters writes the same rows."""
from __future__ import annotations

import io
from urllib.parse import urlsplit

import pandas as pd
import pytest

from collectors.store import database
from conftest import ROOT
from dashboard.analysis import config, exports, leaderboard, metrics, queries
from dashboard.cli import main as reach
from dashboard.web import auth, downloads, week_report
from dashboard.web.app import create_app
from dashboard.web.pages import influencers as P

CAMPAIGN = config.load(ROOT / "campaign.toml")
QUERY = "from=2025-01-01&to=2025-01-19&platform=x,tiktok"
SEL = metrics.Selection(start=pd.Timestamp("2025-01-01").date(), end=pd.Timestamp("2025-01-19").date(),
                        platforms=("x", "tiktok"))


@pytest.fixture(scope="module")
def demo(demo_db):
    eng = database.connect(f"sqlite:///{demo_db}")
    yield eng, queries.frames.load_frames(eng)
    eng.dispose()


@pytest.fixture(scope="module")
def client(demo):
    app = create_app(demo[0])
    app.server.config["REACH_CONFIG"] = str(ROOT / "campaign.toml")
    downloads.install(app.server)
    return app.server.test_client()


def _csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_the_influencers_download_is_the_leaderboard_as_exports_writes_it(client, demo):
    r = client.get("/download/influencers.csv?" + QUERY)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"] == \
        'attachment; filename="campaign-reach-influencers_2025-01-01_2025-01-19.csv"'
    full = exports.influencers_frame(demo[1], CAMPAIGN, SEL)
    assert r.data == exports.to_csv_bytes(full[leaderboard.LEADERBOARD_COLUMNS])
    assert r.data.startswith(b"\xef\xbb\xbfinfluencer,category,platforms,posts_published,views_or_impressions,views,")
    got = _csv(r.data)
    assert list(got.columns) == leaderboard.LEADERBOARD_COLUMNS and len(got) > 5
    assert set(got["platforms"]) <= {"x", "tiktok", "tiktok, x"}


def test_reach_export_influencers_with_the_same_filters_writes_the_same_rows(client, demo_db, tmp_path):
    out = tmp_path / "influencers.csv"
    assert reach(["export", "influencers", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"),
                  "--from", "2025-01-01", "--to", "2025-01-19", "--platform", "x", "--platform", "tiktok",
                  "-o", str(out)]) == 0
    cli = _csv(out.read_bytes())
    web = _csv(client.get("/download/influencers.csv?" + QUERY).data)
    # The CLI writes every influencers column; the download the grid's, in the grid's order.
    pd.testing.assert_frame_equal(cli[leaderboard.LEADERBOARD_COLUMNS], web)


def test_without_dates_a_download_covers_the_campaign_window_like_the_page(client, demo, demo_db, tmp_path):
    r = client.get("/download/influencers.csv")
    assert 'filename="campaign-reach-influencers_2024-12-16_2025-01-26.csv"' in r.headers["Content-Disposition"]
    window = metrics.Selection(start=CAMPAIGN.start, end=CAMPAIGN.end)
    assert r.data == exports.to_csv_bytes(leaderboard.leaderboard(demo[1], CAMPAIGN, window))
    everything = exports.to_csv_bytes(leaderboard.leaderboard(demo[1], CAMPAIGN, metrics.Selection()))
    assert r.data != everything  # the demo has data after the campaign's end


def test_the_pages_tidy_rows_link_gives_the_daily_rows_by_influencer_and_platform(client, demo):
    f = P.F.parse("?" + QUERY + "&lang=zh&metric=engagements")
    href = P.download_hrefs(f)["tidy"]
    r = client.get(href)
    assert r.status_code == 200
    # The rows `reach export daily` writes (from the rollup; equal to the engine's daily_frame to
    # the float rounding of its sums: tests/test_exports_rollup.py).
    assert r.data == exports.to_csv_bytes(exports.daily_frame_db(demo[0], CAMPAIGN, by=["influencer", "platform"],
                                                                 sel=SEL))
    assert "daily-by-influencer-platform_2025-01-01_2025-01-19.csv" in r.headers["Content-Disposition"]
    rows = _csv(r.data)
    assert list(rows.columns[:3]) == ["influencer", "platform", "date"]
    assert set(rows["platform"]) == {"x", "tiktok"} and rows["date"].min() == "2025-01-01"
    csv_link = P.download_hrefs(f)["csv"]
    assert urlsplit(csv_link).path == "/download/influencers.csv"
    assert client.get(csv_link).data == client.get("/download/influencers.csv?" + QUERY).data


def test_weekly_and_posts_downloads_are_the_exports_for_the_same_filters(client, demo):
    eng, frames = demo
    weekly = client.get("/download/weekly.csv?by=platform&" + QUERY)
    assert weekly.data == exports.to_csv_bytes(exports.weekly_frame_db(eng, CAMPAIGN, by=["platform"], sel=SEL))
    assert list(_csv(weekly.data)["week"].unique()) == ["2025-W01", "2025-W02", "2025-W03"]
    posts = client.get("/download/posts.csv?" + QUERY)
    expected = exports.posts_export_frame(eng, CAMPAIGN, SEL)
    assert posts.data == exports.to_csv_bytes(expected) and len(expected) > 10
    assert set(_csv(posts.data)["platform"]) == {"x", "tiktok"}
    # X post ids are 19 digits: a CSV must keep them as text
    assert _csv(posts.data)["post_id"].str.fullmatch(r"\d+").all()


def test_a_formula_in_a_name_is_neutralised_in_the_download(demo):
    board = pd.DataFrame([{c: None for c in leaderboard.LEADERBOARD_COLUMNS} | {"influencer": "=HYPERLINK(\"evil\")",
                                                                       "views": 1.0}])
    assert b"'=HYPERLINK" in exports.to_csv_bytes(board)  # the download is this function's bytes


def test_an_unknown_grouping_is_400_and_an_unknown_file_404(client):
    r = client.get("/download/daily.csv?by=platform,password")
    assert r.status_code == 400 and b"choose from influencer" in r.data
    assert client.get("/download/secrets.csv").status_code == 404
    assert downloads.grouping("by=platform&by=influencer,platform") == ["platform", "influencer"]


def test_the_file_name_is_ascii_whatever_the_filters():
    sel = metrics.Selection(influencers=("陈晓芳\";\r\nSet-Cookie: x",))
    assert downloads.filename("influencers", sel) == "campaign-reach-influencers.csv"
    assert downloads.filename("daily", SEL, ["influencer", "platform"]) == \
        "campaign-reach-daily-by-influencer-platform_2025-01-01_2025-01-19.csv"


def test_downloads_sit_behind_the_login_when_users_exist(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("REACH_SECRET_KEY", "k" * 40)
    users = tmp_path / "users.toml"
    auth.add_user(users, "vic", "viewer", "vic-viewer-pw1")
    app = create_app(demo[0], auth.Settings(users=users, anonymous=False))
    app.server.config["REACH_CONFIG"] = str(ROOT / "campaign.toml")
    downloads.install(app.server)
    c = app.server.test_client()
    r = c.get("/download/influencers.csv?" + QUERY)
    assert r.status_code == 401 and b"influencer," not in r.data
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)[1]
    assert c.post("/login", data={"csrf_token": token, "name": "vic", "password": "vic-viewer-pw1"}).status_code == 302
    r = c.get("/download/influencers.csv?" + QUERY)
    assert r.status_code == 200 and r.data.startswith(b"\xef\xbb\xbfinfluencer,")


def test_the_live_page_download_links_carry_its_filters_and_return_the_daily_export(demo_db):
    import csv
    import io
    from urllib.parse import urlsplit

    from dashboard.web import filters as F
    from dashboard.web.pages import live

    f = F.parse("?from=2024-12-20&to=2024-12-28&platform=tiktok&lang=zh")
    links = {a.id: a.href for a in live._downloads(f)}
    href = links["live-download-csv"]
    assert "from=2024-12-20" in href and "platform=tiktok" in href and "by=platform" in href
    engine = database.connect(f"sqlite:///{demo_db}")
    app = create_app(engine)
    client = app.server.test_client()
    parts = urlsplit(href)
    r = client.get(parts.path + "?" + parts.query)
    engine.dispose()
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert {row["platform"] for row in rows} == {"tiktok"}
    assert min(row["date"] for row in rows) == "2024-12-20" and max(row["date"] for row in rows) == "2024-12-28"


def test_the_posts_download_applies_the_pages_text_search(demo_db):
    import csv
    import io

    engine = database.connect(f"sqlite:///{demo_db}")
    client = create_app(engine).server.test_client()
    every = client.get("/download/posts.csv?from=2024-12-16&to=2025-01-26")
    found = client.get("/download/posts.csv?from=2024-12-16&to=2025-01-26&q=Riyadh")
    engine.dispose()
    every_rows = list(csv.DictReader(io.StringIO(every.data.decode("utf-8-sig"))))
    rows = list(csv.DictReader(io.StringIO(found.data.decode("utf-8-sig"))))
    assert 0 < len(rows) < len(every_rows)
    assert all("riyadh" in (r["title"] + r["influencer"] + r["account"]).casefold() for r in rows)


def test_the_platforms_download_links_return_weekly_and_daily_rows_per_platform(demo_db):
    from urllib.parse import urlsplit as split

    from dashboard.web import filters as F
    from dashboard.web.pages import platforms

    engine = database.connect(f"sqlite:///{demo_db}")
    client = create_app(engine).server.test_client()
    for a in platforms._downloads(F.parse("?from=2024-12-16&to=2024-12-29")):
        u = split(a.href)
        r = client.get(u.path + "?" + u.query)
        assert r.status_code == 200 and r.data.decode("utf-8-sig").startswith("platform,")
    engine.dispose()


# --- the Weekly page's tables -----------------------------------------------------------------

def _by_id(component, found=None) -> dict:
    """Every component with an id in a Dash layout tree."""
    found = {} if found is None else found
    if getattr(component, "id", None):
        found[component.id] = component
    children = getattr(component, "children", None)
    for c in children if isinstance(children, (list, tuple)) else [children] if children is not None else []:
        if hasattr(c, "to_plotly_json"):
            _by_id(c, found)
    return found


def _get(client, href: str):
    u = urlsplit(href)
    return client.get(u.path + "?" + u.query)


def _week(frames, week, sel=metrics.Selection()):
    from datetime import datetime

    from dashboard.analysis import summary

    return summary.build_summary(frames, CAMPAIGN, week, today=datetime.now(CAMPAIGN.tz).date(), sel=sel)


def test_each_weekly_table_download_is_the_reports_table_for_the_week_and_filters(client, demo):
    sel = metrics.Selection(platforms=("x", "tiktok"))
    s = _week(demo[1], "2025-W03", sel)
    kpis = client.get("/download/weekly-kpis.csv?week=2025-W03&platform=x,tiktok")
    assert kpis.status_code == 200 and kpis.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="campaign-reach-weekly-kpis_2025-W03.csv"' in kpis.headers["Content-Disposition"]
    assert kpis.data.startswith(b"\xef\xbb\xbfweek,kpi,label,unit,this_week,")
    rows = _csv(kpis.data)
    assert list(rows["kpi"]) == [k.key for k in s.kpis] and set(rows["week"]) == {"2025-W03"}
    def num(cell):
        return None if cell == "" else float(cell)

    for r, k in zip(rows.itertuples(), s.kpis):
        for got, want in ((r.this_week, k.value), (r.last_week, k.previous), (r.this_week_upper, k.upper)):
            # X and TikTok report no reach: an unknown is an empty cell, never 0
            assert (num(got) is None) == (want is None), (r.kpi, got, want)
            assert want is None or num(got) == pytest.approx(want, rel=1e-6, abs=1e-4)
        if k.change is None:
            assert r.change == "" and r.change_unit == ""
        else:
            assert float(r.change) == pytest.approx(k.change, abs=1e-5) and r.change_unit == k.change_unit
    by_key = rows.set_index("kpi")
    # A rate keeps 6 decimals in a column of counts (a float column would be cut to 4).
    assert by_key.loc["er_views", "this_week"] == str(round(s.kpi("er_views").value, 6))
    assert by_key.loc["er_views", "change_unit"] == "pp" and by_key.loc["views", "change_unit"] == "%"

    inf = _csv(client.get("/download/weekly-influencers.csv?week=2025-W03&platform=x,tiktok").data)
    assert list(inf.columns) == exports.SUMMARY_INFLUENCER_COLUMNS
    assert list(inf["influencer"]) == [r.name for r in s.top_influencers]
    assert list(inf["rank"]) == ["1", "2", "3", "4", "5"]
    assert [float(v) for v in inf["views_or_impressions"]] == pytest.approx([r.views for r in s.top_influencers], abs=1e-4)
    assert [float(v) for v in inf["er"]] == pytest.approx([r.er for r in s.top_influencers], abs=1e-6)
    assert set(inf["platforms"]) <= {"x", "tiktok", "tiktok, x"}  # codes, like every other export

    posts = _csv(client.get("/download/weekly-posts.csv?week=2025-W03&platform=x,tiktok").data)
    assert list(posts["url"]) == [p.url for p in s.top_posts] and len(posts) == 5
    assert list(posts["published"]) == [p.published.isoformat() for p in s.top_posts]
    assert posts["published"].between("2025-01-13", "2025-01-19").all()
    assert [float(v) for v in posts["views_or_impressions"]] == pytest.approx([p.views for p in s.top_posts], abs=1e-4)

    mix = _csv(client.get("/download/weekly-mix.csv?week=2025-W03&platform=x,tiktok").data)
    assert list(mix["platform"]) == [m.platform for m in s.platform_mix] and set(mix["platform"]) == {"x", "tiktok"}
    assert sum(float(v) for v in mix["share"]) == pytest.approx(1.0, abs=1e-5)
    assert dict(zip(mix["platform"], mix["counted_as"])) == {"x": "impressions", "tiktok": "views"}


def test_the_weekly_numbers_add_up_from_the_weeks_tidy_rows(client, demo):
    """Recomputed from the tidy daily rows the page offers: the week's KPIs are their sums, last
    week's the sums of the week before, and the mix each platform's views (impressions for X)."""
    from dashboard.web import filters as F
    from dashboard.web.pages import weekly

    s = _week(demo[1], "2025-W02", metrics.Selection(platforms=("x", "tiktok", "youtube")))
    hrefs = weekly.download_hrefs(F.parse("?platform=x,tiktok,youtube"), s)
    tidy = client.get(hrefs["weekly-download-tidy"])
    assert tidy.status_code == 200
    assert "daily-by-influencer-platform_2025-01-06_2025-01-12.csv" in tidy.headers["Content-Disposition"]
    days = pd.read_csv(io.BytesIO(tidy.data), encoding="utf-8-sig")
    assert sorted(days["date"].unique()) == [f"2025-01-{d:02d}" for d in range(6, 13)]
    kpis = _csv(_get(client, hrefs["weekly-csv-kpis"]).data).set_index("kpi")
    for m in ("views", "impressions", "engagements", "emv_usd"):
        assert float(kpis.loc[m, "this_week"]) == pytest.approx(days[m].sum(), abs=0.01), m
    before = pd.read_csv(io.BytesIO(client.get("/download/daily.csv?from=2024-12-30&to=2025-01-05"
                                               "&platform=x,tiktok,youtube").data), encoding="utf-8-sig")
    assert float(kpis.loc["views", "last_week"]) == pytest.approx(before["views"].sum(), abs=0.01)
    change = (days["views"].sum() - before["views"].sum()) / before["views"].sum() * 100
    assert float(kpis.loc["views", "change"]) == pytest.approx(change, abs=1e-4)
    er = days["engagements"][days["views"].notna()].sum() / days["views"].sum()
    assert float(kpis.loc["er_views", "this_week"]) == pytest.approx(er, abs=1e-6)

    mix = _csv(_get(client, hrefs["weekly-csv-mix"]).data).set_index("platform")
    per = days.groupby("platform")[["views", "impressions"]].sum(min_count=1)
    for p, row in mix.iterrows():
        basis = per.loc[p, "views"] if row["counted_as"] == "views" else per.loc[p, "impressions"]
        assert float(row["views_or_impressions"]) == pytest.approx(basis, abs=0.01), p
        assert float(row["share"]) == pytest.approx(basis / sum(
            per.loc[q, "views"] if mix.loc[q, "counted_as"] == "views" else per.loc[q, "impressions"]
            for q in mix.index), abs=1e-6)


def printed_kpis(text: str) -> list[list[str]]:
    """The KPI table of `reach summary`'s output: label, this week, last week, change per row."""
    table = text.split("\nKPIs\n", 1)[1].split("\n\n", 1)[0].splitlines()
    widths = [len(dashes) for dashes in table[1].split("  ")]  # the rule under the header
    rows = []
    for line in table[2:]:
        cells, at = [], 0
        for w in widths:
            cells.append(line[at:at + w].strip())
            at += w + 2
        rows.append(cells)
    return rows


def kpis_as_printed(data: bytes) -> list[list[str]]:
    """The KPIs download's rows written the way the text summary writes numbers: thousands
    separators, rates as percent with 2 decimals, changes in % or pp, an unknown as a dash."""
    def shown(value, unit, upper=""):
        if value == "":
            return "—"
        v = float(value)
        if unit == "rate":
            return f"{v * 100:.2f}%"
        if unit == "usd":
            return f"${v:,.0f}"
        return f"{v:,.0f}" + (f" – {float(upper):,.0f}" if upper else "")

    out = []
    for r in _csv(data).itertuples():
        change = ("—" if r.change == "" else r.change if r.change == "new" else
                  f"{float(r.change):+.2f} pp" if r.change_unit == "pp" else f"{float(r.change):+.1f}%")
        out.append([r.label, shown(r.this_week, r.unit, r.this_week_upper),
                    shown(r.last_week, r.unit, r.last_week_upper), change])
    return out


def test_the_weekly_kpis_download_shows_what_reach_summary_prints(client, demo_db, capsys):
    assert reach(["summary", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"), "--week", "2025-W02"]) == 0
    printed = printed_kpis(capsys.readouterr().out)
    got = kpis_as_printed(client.get("/download/weekly-kpis.csv?week=2025-W02").data)
    assert len(printed) == 9 and printed[0][0] == "Views" and printed[-1][1].count("–") == 1
    assert got == printed


def test_the_weekly_pages_links_carry_its_filters_and_follow_the_week_picker(demo):
    from dashboard.web.pages import weekly

    app = create_app(demo[0])
    app.server.config["REACH_CONFIG"] = str(ROOT / "campaign.toml")
    client = app.server.test_client()
    with app.server.test_request_context("/weekly"):
        found = _by_id(weekly.layout(week="2025-W02", platform="x", lang="zh"))
        assert found["weekly-csv-kpis"].children == "关键指标"
        assert found["weekly-csv-mix"].to_plotly_json()["props"]["aria-label"] == "下载 CSV：平台构成"
        first = {i: found[i].href for i in weekly.LINK_IDS}
        report, *hrefs = weekly.pick_week("2025-W03", "?platform=x")
        picked = dict(zip(weekly.LINK_IDS, hrefs))
    assert "Weekly summary <strong>2025-W03</strong>" in report
    for id_, kind, _ in weekly.TABLES:
        assert urlsplit(first[id_]).path == f"/download/{kind}.csv"
        assert "week=2025-W02" in first[id_] and "platform=x" in first[id_]
        assert "week=2025-W03" in picked[id_] and "platform=x" in picked[id_]
        rows = _csv(_get(client, picked[id_]).data)
        assert set(rows["week"]) == {"2025-W03"}
    assert "from=2025-01-06&to=2025-01-12" in first["weekly-download-tidy"]
    assert "from=2025-01-13&to=2025-01-19" in picked["weekly-download-tidy"]
    tidy = _csv(_get(client, picked["weekly-download-tidy"]).data)
    assert set(tidy["platform"]) == {"x"} and tidy["date"].min() == "2025-01-13" and tidy["date"].max() == "2025-01-19"


def test_a_weekly_download_for_a_week_without_data_says_so_in_words(client):
    r = client.get("/download/weekly-mix.csv?week=2031-W01")
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/plain")
    assert b"week 2031-W01 has no campaign data; weeks with data: 2024-W51" in r.data
    r = client.get("/download/weekly-kpis.csv?week=%3Cscript%3E")
    assert r.status_code == 404 and b"is not an ISO week like 2025-W01" in r.data
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_a_formula_in_a_top_posts_title_is_neutralised(demo):
    from dataclasses import replace

    s = _week(demo[1], "2025-W03")
    evil = replace(s.top_posts[0], title="=HYPERLINK(\"http://evil\")", influencer="@admin")
    data = exports.to_csv_bytes(downloads.summary_table("weekly-posts", replace(s, top_posts=(evil,))))
    row = _csv(data).iloc[0]
    assert row["title"] == "'=HYPERLINK(\"http://evil\")" and row["influencer"] == "'@admin"


def test_the_weekly_pdf_download_is_the_weeks_report_in_the_pages_language(client):
    import re
    import unicodedata

    pypdf = pytest.importorskip("pypdf", reason="pypdf (the test extra) reads the PDF back: pip install pypdf")
    pytest.importorskip("weasyprint", reason="WeasyPrint writes the PDF: pip install weasyprint")
    from dashboard.web import filters as F
    from dashboard.web.pages import weekly

    search = "?lang=zh&platform=x,tiktok"
    with client.application.test_request_context("/weekly" + search):
        s, _ = week_report.week_summary("2025-W02", search)
        href = weekly.download_hrefs(F.parse(search), s)[weekly.PDF_ID]
    assert urlsplit(href).path == "/download/weekly-report.pdf" and "week=2025-W02" in href
    r = _get(client, href)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"] == 'attachment; filename="campaign-reach-2025-W02.pdf"'
    reader = pypdf.PdfReader(io.BytesIO(r.data))
    assert 1 <= len(reader.pages) <= 2

    def plain(text):  # a PDF reads CJK back as Kangxi radicals, with spaces between glyphs
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))

    text = plain("".join(p.extract_text() for p in reader.pages))
    assert "2025-W02" in text and "关键指标" in text  # the week, in Chinese
    assert plain(s.top_posts[0].title[:24]) in text  # the top post of the page's filters (X and TikTok)


def test_a_weekly_pdf_without_weasyprint_on_the_server_is_a_one_line_503(client, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if it were not installed: import fails
    r = client.get("/download/weekly-report.pdf?week=2025-W01")
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("text/plain")
    body = r.get_data(as_text=True)
    assert "pip install weasyprint" in body and len(body.splitlines()) == 1


def test_a_weekly_pdf_for_a_week_without_data_says_so_in_words(client):
    r = client.get("/download/weekly-report.pdf?week=2031-W01")
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/download/daily.csv?by=influencer,platform", "/download/weekly.csv?by=platform",
                                  "/download/influencers.csv?", "/download/weekly-kpis.csv?week=2025-W03",
                                  "/download/weekly-influencers.csv?week=2025-W03",
                                  "/download/weekly-mix.csv?week=2025-W03"])
def test_counts_are_written_as_whole_numbers(client, path):
    # People count posts, likes and views in whole numbers: "994", never "994.0" or "0.2861".
    got = _csv(client.get(path).data)
    if "kpi" in got:  # one row per KPI: the counts' values are whole, a rate stays a fraction
        counts = got[got["unit"] == "count"]
        cells = [v for c in ("this_week", "last_week") for v in counts[c] if v != ""]
        assert "." in got.set_index("kpi").loc["er_views", "this_week"]
    else:
        counts = [c for c in got.columns if c in exports.WHOLE_COLUMNS]
        assert counts, got.columns
        cells = [v for c in counts for v in got[c] if v != ""]
    assert cells and all(v.lstrip("-").isdigit() for v in cells), [v for v in cells if not v.lstrip("-").isdigit()][:5]

"""CSV downloads (dashboard/downloads.py) through Flask's test client on the demo campaign: the bytes
are the exports' own, the leaderboard file is what the Influencers grid shows, and `reach export`
with the same filters writes the same rows."""
from __future__ import annotations

import io
from urllib.parse import urlsplit

import pandas as pd
import pytest

from collectors import store
from conftest import ROOT
from dashboard import auth, config, downloads, exports, metrics, queries
from dashboard.app import create_app
from dashboard.cli import main as reach
from dashboard.pages import influencers as P

CAMPAIGN = config.load(ROOT / "campaign.toml")
QUERY = "from=2025-01-01&to=2025-01-19&platform=x,tiktok"
SEL = metrics.Selection(start=pd.Timestamp("2025-01-01").date(), end=pd.Timestamp("2025-01-19").date(),
                        platforms=("x", "tiktok"))


@pytest.fixture(scope="module")
def demo(demo_db):
    eng = store.connect(f"sqlite:///{demo_db}")
    yield eng, queries.load_frames(eng)
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
    assert r.data == exports.to_csv_bytes(full[P.LEADERBOARD_COLUMNS])
    assert r.data.startswith(b"\xef\xbb\xbfinfluencer,category,platforms,posts_published,views,")
    got = _csv(r.data)
    assert list(got.columns) == P.LEADERBOARD_COLUMNS and len(got) > 5
    assert set(got["platforms"]) <= {"x", "tiktok", "tiktok, x"}


def test_reach_export_influencers_with_the_same_filters_writes_the_same_rows(client, demo_db, tmp_path):
    out = tmp_path / "influencers.csv"
    assert reach(["export", "influencers", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"),
                  "--from", "2025-01-01", "--to", "2025-01-19", "--platform", "x", "--platform", "tiktok",
                  "-o", str(out)]) == 0
    cli = _csv(out.read_bytes())
    web = _csv(client.get("/download/influencers.csv?" + QUERY).data)
    # The CLI writes every influencers column; the download the grid's, in the grid's order.
    pd.testing.assert_frame_equal(cli[P.LEADERBOARD_COLUMNS], web)


def test_without_dates_a_download_covers_the_campaign_window_like_the_page(client, demo, demo_db, tmp_path):
    r = client.get("/download/influencers.csv")
    assert 'filename="campaign-reach-influencers_2024-12-16_2025-01-26.csv"' in r.headers["Content-Disposition"]
    window = metrics.Selection(start=CAMPAIGN.start, end=CAMPAIGN.end)
    assert r.data == exports.to_csv_bytes(P.leaderboard(demo[1], CAMPAIGN, window))
    everything = exports.to_csv_bytes(P.leaderboard(demo[1], CAMPAIGN, metrics.Selection()))
    assert r.data != everything  # the demo has data after the campaign's end


def test_the_pages_tidy_rows_link_gives_the_daily_rows_by_influencer_and_platform(client, demo):
    f = P.F.parse("?" + QUERY + "&lang=zh&metric=engagements")
    href = P.download_hrefs(f)["tidy"]
    r = client.get(href)
    assert r.status_code == 200
    assert r.data == exports.to_csv_bytes(exports.daily_frame(demo[1], CAMPAIGN, by=["influencer", "platform"],
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
    assert weekly.data == exports.to_csv_bytes(exports.weekly_frame(frames, CAMPAIGN, by=["platform"], sel=SEL))
    assert list(_csv(weekly.data)["week"].unique()) == ["2025-W01", "2025-W02", "2025-W03"]
    posts = client.get("/download/posts.csv?" + QUERY)
    expected = exports.filter_posts(exports.posts_frame(eng), CAMPAIGN, SEL)
    assert posts.data == exports.to_csv_bytes(expected) and len(expected) > 10
    assert set(_csv(posts.data)["platform"]) == {"x", "tiktok"}
    # X post ids are 19 digits: a CSV must keep them as text
    assert _csv(posts.data)["post_id"].str.fullmatch(r"\d+").all()


def test_a_formula_in_a_name_is_neutralised_in_the_download(demo):
    board = pd.DataFrame([{c: None for c in P.LEADERBOARD_COLUMNS} | {"influencer": "=HYPERLINK(\"evil\")",
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

    from dashboard import filters as F
    from dashboard.pages import live

    f = F.parse("?from=2024-12-20&to=2024-12-28&platform=tiktok&lang=zh")
    links = {a.id: a.href for a in live._downloads(f)}
    href = links["live-download-csv"]
    assert "from=2024-12-20" in href and "platform=tiktok" in href and "by=platform" in href
    engine = store.connect(f"sqlite:///{demo_db}")
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

    engine = store.connect(f"sqlite:///{demo_db}")
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

    from dashboard import filters as F
    from dashboard.pages import platforms

    engine = store.connect(f"sqlite:///{demo_db}")
    client = create_app(engine).server.test_client()
    for a in platforms._downloads(F.parse("?from=2024-12-16&to=2024-12-29")):
        u = split(a.href)
        r = client.get(u.path + "?" + u.query)
        assert r.status_code == 200 and r.data.decode("utf-8-sig").startswith("platform,")
    engine.dispose()

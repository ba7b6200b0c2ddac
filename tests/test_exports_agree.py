"""`reach export`, the dashboard's downloads and docs/exports.md agree (issue 12).

On a small campaign imported from native export files: the CLI and the page's download give the
same bytes for the same filters (no filter, dates, platforms, influencers, categories, by post,
weekly), and the header each export kind and each download writes is the column list the docs
give. On the demo: a daily export by post joins the posts export on (platform, post id).
"""
from __future__ import annotations

import io
import re
from datetime import datetime
from urllib.parse import urlencode

import pandas as pd
import pytest

from collectors.store import database
from conftest import ROOT
from dashboard.analysis.leaderboard import LEADERBOARD_COLUMNS
from dashboard.cli import main as reach
from dashboard.web import downloads
from dashboard.web.app import create_app

CONFIG = str(ROOT / "campaign.toml")  # the demo's: Asia/Shanghai, window 2024-12-16 to 2025-01-26
DOCS = ROOT / "docs" / "exports.md"
UNASSIGNED = "mayalindqvarn (unassigned)"


def _write_campaign(folder):
    """Six demo accounts (two X, two TikTok, two Facebook pages in one Meta file) exported three
    times, the last the day after the campaign's end, so there is activity outside its window; a
    roster that leaves one TikTok account out (unassigned)."""
    from collectors.demo import campaign as demo

    cast = {(a.platform, a.handle): a for a in demo.build_campaign(2024)}
    folder.mkdir(parents=True)
    for t in (datetime(2024, 12, 21, 22, 0, tzinfo=demo.TZ), datetime(2025, 1, 8, 22, 0, tzinfo=demo.TZ),
              datetime(2025, 1, 27, 22, 0, tzinfo=demo.TZ)):
        for h in ("JinHubOffice", "YiwuTradeWin"):
            (folder / f"account_analytics_content_{demo.START}_{t.date()}_{h}.csv").write_bytes(
                demo.write_x_content(cast[("x", h)], t))
        for h in ("beltroadbytes", "mayalindqvarn"):
            (folder / f"Video Posts {h} {t:%Y%m%d}.csv").write_bytes(demo.write_tiktok_posts(cast[("tiktok", h)], t))
        pages = [cast[("facebook", "jinhubcampaign")], cast[("facebook", "yiwutradewindow")]]
        (folder / f"{demo._meta_range(t)}_1000123456789.csv").write_bytes(demo.write_meta_posts(pages, t))
    listed = [a for k, a in cast.items() if k in {("x", "JinHubOffice"), ("x", "YiwuTradeWin"),
                                                  ("tiktok", "beltroadbytes"), ("facebook", "jinhubcampaign"),
                                                  ("facebook", "yiwutradewindow")}]
    roster = folder.parent / "roster.csv"
    roster.write_bytes(demo.write_roster(listed))
    return roster


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("small-campaign")
    roster = _write_campaign(tmp / "exports")
    db = str(tmp / "reach.db")
    assert reach(["roster", "import", str(roster), "--db", db]) == 0
    assert reach(["import", str(tmp / "exports"), "--db", db, "--jobs", "1"]) == 0
    eng = database.connect(f"sqlite:///{db}")
    app = create_app(eng)
    app.server.config["REACH_CONFIG"] = CONFIG
    downloads.install(app.server)
    yield db, app.server.test_client(), tmp
    eng.dispose()


def cli(db, tmp, what, *args) -> bytes:
    out = tmp / "out.csv"
    assert reach(["export", what, *args, "--db", db, "--config", CONFIG, "-o", str(out)]) == 0
    return out.read_bytes()


def download(client, path) -> bytes:
    r = client.get(path)
    assert r.status_code == 200, (path, r.data[:200])
    return r.data


def table(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)


# The page's query string and the same filters on the command line.
FILTERS = {
    "none": ([], []),
    "dates": ([("from", "2025-01-03"), ("to", "2025-01-12")], ["--from", "2025-01-03", "--to", "2025-01-12"]),
    "platform": ([("platform", "x,tiktok")], ["--platform", "x", "--platform", "tiktok"]),
    "influencer": ([("influencer", "Belt & Road Bytes"), ("influencer", UNASSIGNED)],
                   ["--influencer", "Belt & Road Bytes", "--influencer", UNASSIGNED]),
    "category": ([("category", "official,unassigned")], ["--category", "official", "--category", "unassigned"]),
    "everything": ([("from", "2024-12-20"), ("to", "2025-01-27"), ("platform", "tiktok,facebook"),
                    ("category", "media,unassigned,official")],
                   ["--from", "2024-12-20", "--to", "2025-01-27", "--platform", "tiktok", "--platform", "facebook",
                    "--category", "media", "--category", "unassigned", "--category", "official"]),
}
# (file, by) for the downloads; `reach export` takes the same kind and --by.
KINDS = [("daily", None), ("daily", "influencer,platform"), ("daily", "post"), ("daily", "category,post"),
         ("weekly", None), ("weekly", "platform"), ("weekly", "post"), ("posts", None), ("influencers", None)]


@pytest.mark.parametrize("name", FILTERS)
def test_the_cli_and_the_pages_download_give_the_same_rows_for_the_same_filters(small, name):
    db, client, tmp = small
    query, args = FILTERS[name]
    for kind, by in KINDS:
        q = query + ([("by", by)] if by else [])
        web = download(client, f"/download/{kind}.csv" + ("?" + urlencode(q) if q else ""))
        mine = cli(db, tmp, kind, *args, *(["--by", by] if by else []))
        assert len(table(mine)) > 0, (name, kind, by)  # never a comparison of two empty files
        if kind == "influencers":  # the download is the leaderboard: the grid's columns of the export
            pd.testing.assert_frame_equal(table(mine)[LEADERBOARD_COLUMNS], table(web))
        else:
            assert mine == web, (name, kind, by)


def test_without_dates_both_cover_the_campaign_window_not_the_day_after(small):
    # Issue 12: the CLI's daily export had a day (27 Jan, after the campaign's end) that the page's
    # download for the same filters lacked. Both now take the window campaign.toml sets.
    db, client, tmp = small
    days = set(table(cli(db, tmp, "daily"))["date"])
    assert min(days) >= "2024-12-16" and max(days) == "2025-01-26"
    assert "2025-01-27" in set(table(cli(db, tmp, "daily", "--from", "2024-12-16", "--to", "2025-01-27"))["date"])
    assert set(table(download(client, "/download/daily.csv"))["date"]) == days


def test_filters_select_what_they_name(small):
    db, client, tmp = small
    posts = table(cli(db, tmp, "posts", "--category", "unassigned"))
    assert set(posts["account"]) == {"mayalindqvarn"} and set(posts["influencer"]) == {""}
    assert len(table(cli(db, tmp, "posts", "--influencer", UNASSIGNED))) == len(posts) > 5
    by = table(cli(db, tmp, "daily", "--by", "category", "--category", "official", "--category", "media"))
    assert set(by["category"]) == {"official", "media"}
    board = table(cli(db, tmp, "influencers", "--category", "official"))
    assert set(board["influencer"]) == {"Jin Hub Campaign Office 金枢传播办公室", "Yiwu Trade Window 义乌商贸之窗"}


def test_account_days_refuses_filters_it_would_ignore(small, capsys):
    db, _, tmp = small
    assert reach(["export", "account-days", "--platform", "x", "--db", db, "-o", str(tmp / "ad.csv")]) == 2
    assert "account-days takes no --from/--to/--platform" in capsys.readouterr().err
    assert not (tmp / "ad.csv").exists()


def test_a_category_that_names_nothing_stored_exits_2_with_the_closest(small, capsys):
    db, _, tmp = small
    assert reach(["export", "daily", "--category", "oficial", "--db", db, "--config", CONFIG,
                  "-o", str(tmp / "c.csv")]) == 2
    err = capsys.readouterr().err
    assert "--category 'oficial'" in err and "'official'" in err and "Traceback" not in err
    assert not (tmp / "c.csv").exists()
    # matching, but nothing in the days: exit 0, said on stderr
    assert reach(["export", "daily", "--category", "media", "--platform", "x", "--db", db, "--config", CONFIG,
                  "-o", str(tmp / "c.csv")]) == 0
    assert "no rows" in capsys.readouterr().err


def test_every_time_is_written_in_the_campaign_timezone_with_its_offset(small):
    db, client, tmp = small
    posts = table(cli(db, tmp, "posts"))
    assert posts["published_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00").all()
    # TikTok's "Post time" is written in campaign time by the export (2024-12-17 16:56 for this post)
    first = posts[posts["account"] == "beltroadbytes"].iloc[0]
    assert first["published_at"] == "2024-12-17T16:56:00+08:00"
    assert posts.equals(table(download(client, "/download/posts.csv")))


# --- the docs' column lists -------------------------------------------------------------------

def doc_tables() -> dict[str, list[str]]:
    """Each heading of docs/exports.md -> the first cells of its first "| column | meaning |" table."""
    out, heading, lines = {}, None, DOCS.read_text(encoding="utf-8").splitlines()
    for k, line in enumerate(lines):
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("| column |") and heading not in out:
            rows = []
            for row in lines[k + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(row.split("|")[1].strip())
            out[heading] = rows
    return out


def doc_columns(heading: str, by: list[str] = ()) -> list[str]:
    """The columns the docs list under ``heading``, in order: a row's names in backticks, "the
    common columns" for the shared block, "the `--by` columns" for ``by``."""
    tables = doc_tables()
    assert heading in tables, f"docs/exports.md has no column table under {heading!r}"
    out = []
    for cell in tables[heading]:
        if cell == "the common columns":
            out += doc_columns("Common to daily, weekly and influencers")
        elif cell == "the `--by` columns":
            out += list(by)
        else:
            names = re.findall(r"`([^`]+)`", cell)
            assert names and cell == ", ".join(f"`{n}`" for n in names), f"{heading}: cannot read the row {cell!r}"
            out += names
    return out


def header(data: bytes) -> list[str]:
    return data.decode("utf-8-sig").split("\r\n", 1)[0].split(",")


# --by as given -> the key columns the docs promise: a post comes with its platform before it.
BY = {None: {"daily": ["platform"], "weekly": []}, "platform": ["platform"], "influencer,platform": ["influencer", "platform"],
      "post": ["platform", "post"], "influencer,post": ["influencer", "platform", "post"],
      "post,platform": ["post", "platform"], "category,account": ["category", "account"]}


def test_every_export_writes_the_columns_docs_exports_md_lists(small):
    db, client, tmp = small
    for what, heading in (("posts", "`reach export posts`"), ("account-days", "`reach export account-days`"),
                          ("influencers", "`reach export influencers`")):
        assert header(cli(db, tmp, what)) == doc_columns(heading), what
    for what in ("daily", "weekly"):
        heading = f"`reach export {what} [--by COLS]`"
        for by, keys in BY.items():
            keys = keys[what] if by is None else keys
            got = header(cli(db, tmp, what, *(["--by", by] if by else [])))
            assert got == doc_columns(heading, keys), (what, by)
            web = download(client, f"/download/{what}.csv" + (f"?by={by}" if by else ""))
            assert header(web) == got, (what, by)
    # The influencers export carries its flags like daily and weekly (issue 12): False without activity.
    board = table(cli(db, tmp, "influencers", "--from", "2025-01-27", "--to", "2025-01-27"))
    assert set(board["interpolated"]) <= {"True", "False"} and set(board["corrected"]) <= {"True", "False"}


def test_every_download_writes_the_columns_docs_exports_md_lists(small):
    db, client, tmp = small
    assert header(download(client, "/download/influencers.csv")) == doc_columns("`/download/influencers.csv`")
    assert header(download(client, "/download/posts.csv")) == doc_columns("`reach export posts`")
    for kind in downloads.WEEKLY_KINDS:
        data = download(client, f"/download/{kind}.csv?week=2025-W02")
        assert header(data) == doc_columns(f"`{kind}`"), kind
        assert len(table(data)) > 0
    documented = set(re.findall(r"`/download/([a-z-]+)\.csv", DOCS.read_text(encoding="utf-8")))
    assert documented == set(downloads.KINDS + downloads.WEEKLY_KINDS)


def test_the_common_block_reads_the_same_in_daily_weekly_and_influencers(small):
    db, _, tmp = small
    common = doc_columns("Common to daily, weekly and influencers")
    for what, after in (("daily", "date"), ("weekly", "partial"), ("influencers", "posts_published")):
        got = header(cli(db, tmp, what))
        start = got.index(after) + 1
        assert got[start:start + len(common)] == common, what


# --- by post joins the posts export -------------------------------------------------------------

def test_daily_rows_by_post_join_the_posts_export_on_platform_and_post_id(demo_db, tmp_path):
    wide = ["--from", "2024-12-01", "--to", "2025-02-28", "--db", str(demo_db), "--config", CONFIG]
    assert reach(["export", "daily", "--by", "post", *wide, "-o", str(tmp_path / "d.csv")]) == 0
    assert reach(["export", "posts", *wide, "-o", str(tmp_path / "p.csv")]) == 0
    daily, posts = (table((tmp_path / f).read_bytes()) for f in ("d.csv", "p.csv"))
    assert list(daily.columns[:3]) == ["platform", "post", "date"]
    joined = daily.merge(posts, left_on=["platform", "post"], right_on=["platform", "post_id"], how="left",
                         validate="many_to_one", suffixes=("", "_post"), indicator=True)
    assert (joined["_merge"] == "both").all() and len(joined) > 10_000
    assert set(daily["platform"]) == set(posts["platform"])
    assert daily.loc[daily["platform"] == "x", "post"].str.fullmatch(r"\d{19}").all()  # 19-digit X ids intact
    # The join is the right post's: a post's daily increments add up to its latest lifetime total
    # (X: impressions; TikTok: views; 4 decimals a day of rounding).
    for platform, metric in (("x", "impressions"), ("tiktok", "views")):
        rows = joined[joined["platform"] == platform]
        summed = rows.groupby("post")[metric].apply(lambda s: pd.to_numeric(s).sum())
        lifetime = rows.groupby("post")[f"{metric}_post"].first().astype(float)
        assert len(summed) > 20 and ((summed - lifetime).abs() < 0.01).all(), platform

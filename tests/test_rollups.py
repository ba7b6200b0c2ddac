"""Rollup queries equal the metrics engine's aggregates, for groupings and filters the dashboard uses."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from collectors.errors import StoreError
from collectors.pipeline import Importer
from collectors.store import database, schema
from conftest import ROOT
from dashboard.analysis import metrics, queries, rollups
from dashboard.analysis.config import load
from test_store import x_content

COMPARED = list(metrics.ADDITIVE) + ["engagements", "er_views", "er_impressions", "virality_views", "emv_usd"]


@pytest.fixture(scope="module")
def demo(demo_db, tmp_path_factory):
    import sqlite3

    db = tmp_path_factory.mktemp("rollups") / "reach.db"
    # The shared demo stays untouched. SQLite's backup API, not a file copy: recent writes may
    # still be in the WAL file beside it.
    with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    engine = database.connect(f"sqlite:///{db}")
    campaign = load(ROOT / "campaign.toml")
    rollups.refresh(engine, campaign)
    f = queries.frames.load_frames(engine)
    inc = metrics.increments(f.snapshots, f.post_days, campaign)
    yield engine, campaign, f, inc
    engine.dispose()


def same(a: pd.DataFrame, b: pd.DataFrame, keys):
    if keys:
        a = a.sort_values(keys).reset_index(drop=True)
        b = b.sort_values(keys).reset_index(drop=True)
        assert a[keys].astype(str).equals(b[keys].astype(str))
    assert len(a) == len(b)
    for c in COMPARED:
        x, y = a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), c
        assert np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-9, atol=1e-6), c


@pytest.mark.parametrize("by", [["platform", "day"], ["influencer", "week"], ["category"], [], ["account", "platform", "day"]])
def test_a_rollup_query_equals_the_engine_aggregate(demo, by):
    engine, campaign, f, inc = demo
    same(rollups.query(engine, campaign, by=by), metrics.aggregate(inc, f.posts, campaign, by=by), by)


def test_the_dashboard_style_filtered_query_equals_the_engine(demo):
    engine, campaign, f, inc = demo
    names = sorted(f.posts.loc[f.posts["platform"] == "x", "influencer"].unique())[:5]
    sel = metrics.Selection(start=date(2024, 12, 20), end=date(2025, 1, 5), platforms=("x",), influencers=tuple(names))
    got = rollups.query(engine, campaign, by=["influencer", "day"], sel=sel)
    assert len(got) > 20
    same(got, metrics.aggregate(inc, f.posts, campaign, by=["influencer", "day"], sel=sel), ["influencer", "day"])


def test_an_import_refreshes_only_the_accounts_it_touched_and_a_config_change_recomputes_all(tmp_path):
    engine = database.connect(f"sqlite:///{tmp_path / 'r.db'}")
    campaign = load(ROOT / "campaign.toml")
    imp = Importer(engine, None)
    a = imp.import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv", x_content([("1870000000000000001", 1200, 30)], handle="aaa"))
    rollups.refresh(engine, campaign, rollups.accounts_of_imports(engine, [a.import_id]))
    b = imp.import_bytes("account_analytics_content_2024-12-16_2024-12-23.csv", x_content([("1870000000000000002", 500, 5)], handle="bbb"))
    touched = rollups.accounts_of_imports(engine, [b.import_id])
    assert len(touched) == 1
    rollups.refresh(engine, campaign, touched)
    got = rollups.query(engine, campaign, by=["account"])
    assert dict(zip(got["account"], got["impressions"])) == {"aaa": 1200, "bbb": 500}
    # another timezone moves days: the stored rows are stale and are recomputed on the next query
    from dataclasses import replace

    utc = replace(campaign, timezone="UTC")
    assert not rollups.is_current(engine, utc)
    by_day = rollups.query(engine, utc, by=["day"])
    assert rollups.is_current(engine, utc)
    assert by_day["impressions"].sum() == 1700
    engine.dispose()


@pytest.mark.parametrize("by", [["platform", "week"], ["account", "day"], []])
def test_rollups_answer_the_same_on_sqlite_and_postgresql(db_url, by):
    engine = database.connect(db_url)
    campaign = load(ROOT / "campaign.toml")
    imp = Importer(engine, None)
    for end, imp_a, imp_b in (("2024-12-22", 1200, 300), ("2024-12-30", 2500, 900), ("2025-01-06", 2600, 1500)):
        imp.import_bytes(f"account_analytics_content_2024-12-16_{end}.csv",
                         x_content([("1870000000000000001", imp_a, 30), ("1870000000000000002", imp_b, 5)]))
    rollups.refresh(engine, campaign)
    f = queries.frames.load_frames(engine)
    inc = metrics.increments(f.snapshots, f.post_days, campaign)
    got = rollups.query(engine, campaign, by=by)
    want = metrics.aggregate(inc, f.posts, campaign, by=by)
    engine.dispose()
    same(got, want, by)
    if "week" in by:
        assert got["week"].tolist() == ["2024-W51", "2024-W52", "2025-W01", "2025-W02"]


def test_an_import_whose_refresh_failed_is_not_missing_from_the_next_query(tmp_path, monkeypatch, capsys):
    from dashboard import cli

    db = tmp_path / "r.db"
    engine = database.connect(f"sqlite:///{db}")
    campaign = load(ROOT / "campaign.toml")
    imp = Importer(engine, None)
    a = imp.import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv", x_content([("1870000000000000001", 1200, 30)], handle="aaa"))
    rollups.refresh(engine, campaign, rollups.accounts_of_imports(engine, [a.import_id]))
    b = imp.import_bytes("account_analytics_content_2024-12-16_2024-12-23.csv", x_content([("1870000000000000002", 500, 5)], handle="bbb"))

    def broken(*args, **kwargs):
        raise StoreError("disk full")

    monkeypatch.setattr(rollups, "refresh", broken)
    monkeypatch.chdir(ROOT)  # campaign.toml of the repository
    cli._refresh_rollups(engine, [b])
    assert "rebuilt in full on the next page view" in capsys.readouterr().err
    monkeypatch.undo()
    got = rollups.query(engine, campaign, by=["account"])
    assert dict(zip(got["account"], got["impressions"])) == {"aaa": 1200, "bbb": 500}
    engine.dispose()


PIECE = 60  # posts per piece in the test below: the demo's largest account (61 posts) is cut
RANGE = 200  # posts per range of the whole posts table (accounts cut anyhow): ~11 ranges, each ~0.1 s


def test_a_refresh_in_small_pieces_stores_what_one_piece_would(demo, monkeypatch):
    """Issue 11: the refresh works piece by piece (several accounts, or part of a large account
    by post id ranges), so its memory is bounded. With pieces of PIECE posts every account of more
    than PIECE posts is cut, and the stored rows must still equal the engine on the whole campaign."""
    engine, campaign, f, inc = demo
    accounts = sorted(set(f.posts["account_pk"]))
    counts = f.posts["account_pk"].value_counts()
    few = sorted(counts.index[counts.cumsum() < len(f.posts) / 3])  # the largest accounts, a third of the posts
    pieces = list(rollups.pieces(engine, few, batch_posts=PIECE))
    cut = [(a, r) for a, r in pieces if r is not None]
    assert cut and len(pieces) > len(few), "the demo must have accounts cut into pieces"
    assert all(len(a) == 1 for a, r in cut)
    assert sorted({pk for a, r in pieces for pk in a}) == few
    for given in (None, accounts):  # every account (or most posts): ranges of the posts table
        ranges = list(rollups.pieces(engine, given, batch_posts=PIECE))
        assert all(r is not None for a, r in ranges) and len(ranges) == -(-len(f.posts) // PIECE)
        assert sum(1 for pk in f.posts["post_pk"] if any(lo <= pk <= hi for _, (lo, hi) in ranges)) == len(f.posts)
    monkeypatch.setattr(rollups, "BATCH_OBS", 10**12)
    whole = rollups._compute(engine, campaign, None, batch_posts=10**9)
    assert len(list(rollups.pieces(engine, None, batch_posts=10**9))) == 1
    keys = ["day", "account_pk"]
    same_rows(whole, rollups._compute(engine, campaign, None, batch_posts=RANGE), keys)
    # Cut by observations alone (a range of posts with many daily rows each), and the pieces'
    # rows combined as they come rather than at the end: the same rows.
    monkeypatch.setattr(rollups, "BATCH_OBS", 800)
    monkeypatch.setattr(rollups, "COMBINE_ROWS", 1)
    heavy = list(rollups.pieces(engine, None, batch_posts=10**9))
    assert len(heavy) > 10
    same_rows(whole, rollups._compute(engine, campaign, None, batch_posts=10**9), keys)
    monkeypatch.setattr(rollups, "BATCH_OBS", 10**12)
    part = rollups._compute(engine, campaign, few, batch_posts=PIECE)
    same_rows(whole[whole["account_pk"].isin(few)], part, keys)
    monkeypatch.setattr(rollups, "BATCH_POSTS", PIECE)
    monkeypatch.setattr(rollups, "ROW_BATCH", 50)  # the insert crosses its batches too

    def held(*a, **k):
        raise AssertionError("the refresh gathered the campaign's rollup rows in memory")

    # The refresh spools the pieces, a bounded buffer at a time, and combines them in SQL: it
    # never holds them all (issue 11).
    monkeypatch.setattr(rollups, "_compute", held)
    monkeypatch.setattr(rollups, "COMBINE_ROWS", 300)
    combined, combine = [], rollups._combine
    monkeypatch.setattr(rollups, "_combine", lambda out: combined.append(len(out)) or combine(out))
    rollups.refresh(engine, campaign)
    assert combined and max(combined) < len(whole) / 2
    for by in (["account", "day"], ["platform", "week"]):
        same(rollups.query(engine, campaign, by=by), metrics.aggregate(inc, f.posts, campaign, by=by), by)
    rollups.refresh(engine, campaign, few)  # some accounts, cut into pieces
    same(rollups.query(engine, campaign, by=["account", "day"]),
         metrics.aggregate(inc, f.posts, campaign, by=["account", "day"]), ["account", "day"])


def same_rows(whole, small, keys):
    a, b = (x.sort_values(keys).reset_index(drop=True) for x in (whole, small))
    assert a[keys].astype(str).equals(b[keys].astype(str))
    assert a["posts_active"].tolist() == b["posts_active"].tolist()
    assert a["interpolated"].tolist() == b["interpolated"].tolist() and a["corrected"].tolist() == b["corrected"].tolist()
    for c in rollups.SUMMED:
        x, y = a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), c
        assert np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-9, atol=1e-6), c


def test_incremental_refreshes_after_imports_in_any_order_store_what_a_full_recompute_would(demo_db, tmp_path, monkeypatch):
    """Issue 11: a refresh after an import recomputes only the days from the earliest instant the
    import can have changed, from the posts observed since then. The demo's 452 files, imported
    in a shuffled order (older snapshots after newer ones, corrections, duplicates) in batches,
    each batch refreshed as `reach import` does: the stored rows equal a recompute of everything."""
    import random

    from collectors.pipeline import expand

    files = [f for f in expand([demo_db.parent / "exports"]) if f.name != "roster.csv"]
    random.Random(3).shuffle(files)
    files = files[:180]  # 40% of the campaign keeps the test short; a shuffle leaves every kind in it
    engine = database.connect(f"sqlite:///{tmp_path / 'reach.db'}")
    campaign = load(ROOT / "campaign.toml")
    compute, since_days = rollups._parts, []  # the refresh's pieces (spooled)

    def recording(*args):
        since_days.append(args[4] if len(args) > 4 else None)
        return compute(*args)

    monkeypatch.setattr(rollups, "_parts", recording)
    importer = Importer(engine, None)
    for start in range(0, len(files), 60):
        results = importer.import_paths(files[start:start + 60])
        assert all(r.ok for r in results), [r.line() for r in results if not r.ok]
        rollups.refresh(engine, campaign, rollups.accounts_of_imports(engine, [r.import_id for r in results]))
    assert not rollups.pending(engine)
    # A later weekly export of one of those X accounts, with posts of the campaign's last days:
    # its refresh starts at their publish day, not at the campaign's start.
    handle = next(h for h in queries.frames.load_frames(engine).posts.query("platform == 'x'")["account"])
    late = x_content([("1882000000000000001", 900, 9), ("1882000000000000002", 400, 4)], handle=handle)
    late = late.replace(b"Sun, Dec 22, 2024", b"Fri, Jan 24, 2025")
    since_days.clear()
    r = importer.import_bytes("account_analytics_content_2025-01-20_2025-01-26.csv", late)
    assert r.status == "imported", r.line()
    rollups.refresh(engine, campaign, rollups.accounts_of_imports(engine, [r.import_id]))
    assert since_days == [date(2025, 1, 24)], since_days
    monkeypatch.setattr(rollups, "_parts", compute)
    with engine.connect() as conn:
        r = schema.daily_rollup
        stored = pd.DataFrame(conn.execute(sa.select(r)).mappings().all())
    stored["day"] = pd.to_datetime(stored["day"]).dt.date
    same_rows(rollups._compute(engine, campaign, None), stored, ["day", "account_pk"])
    engine.dispose()


def test_an_incremental_refresh_keeps_the_days_of_posts_it_did_not_touch(tmp_path, monkeypatch):
    """Post B's last snapshot (local midnight of 15 Jan) spreads its growth over the days back to
    its previous snapshot, 14 Jan included. A later import of post C, published 14 Jan, recomputes
    14 Jan onwards, so B must be read again though the import did not touch it; A, whose last
    snapshot is older, need not be."""
    engine = database.connect(f"sqlite:///{tmp_path / 'r.db'}")
    campaign = load(ROOT / "campaign.toml")
    imp = Importer(engine, None)
    loaded = []
    original = queries.frames.load_frames
    monkeypatch.setattr(queries.frames, "load_frames", lambda *a, **k: loaded.append(k.get("post_pks")) or original(*a, **k))
    # What the rollup computation reads; the refresh's last step (the pages' first views, the
    # Weekly report's top influencers) reads frames of its own.
    monkeypatch.setattr(rollups, "store_first_view", lambda *a, **k: None)

    def load_and_refresh(end: str, rows, day="Sun, Dec 22, 2024"):
        data = x_content(rows, handle="aaa").replace(b"Sun, Dec 22, 2024", day.encode())
        r = imp.import_bytes(f"account_analytics_content_2024-12-16_{end}.csv", data)
        assert r.status == "imported", r.line()
        loaded.clear()
        rollups.refresh(engine, campaign, rollups.accounts_of_imports(engine, [r.import_id]))

    a, b, c = "1870000000000000001", "1870000000000000002", "1870000000000000003"
    load_and_refresh("2024-12-20", [(a, 100, 1), (b, 100, 1)], "Wed, Dec 18, 2024")
    load_and_refresh("2025-01-10", [(a, 300, 3)], "Wed, Dec 18, 2024")
    load_and_refresh("2025-01-14", [(b, 1100, 11)], "Wed, Dec 18, 2024")  # captured 15 Jan 00:00 local
    load_and_refresh("2025-01-20", [(c, 500, 5)], "Tue, Jan 14, 2025")
    pks = dict(original(engine).posts[["post_id", "post_pk"]].itertuples(index=False))
    assert [sorted(x) for x in loaded] == [sorted([pks[b], pks[c]])], "only B and C are read again"
    got = rollups.query(engine, campaign, by=["day"], refresh_if_stale=False)
    rollups.refresh(engine, campaign)  # everything
    want = rollups.query(engine, campaign, by=["day"], refresh_if_stale=False)
    same(got, want, ["day"])
    # 14 Jan: a 7th of C's 500 (published then, captured 7 days later) and a 25th of B's growth of
    # 1,000, in whole numbers: 500 is 7 x 71 and 3 left over, which go to the first three days
    # (equal remainders: the earlier day first), so 72 + 40.
    assert got.loc[got["day"] == "2025-01-14", "impressions"].sum() == 72 + 40
    engine.dispose()

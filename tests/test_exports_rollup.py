"""The daily, weekly and influencers exports from the rollup (issue 11) are the bytes the metrics
engine's exports give for the same database and selection."""
from __future__ import annotations

import csv
import io
import math
from datetime import date

import pytest

from collectors.store import database
from conftest import ROOT
from dashboard.analysis import exports, metrics, queries, rollups
from dashboard.analysis.config import load


@pytest.fixture(scope="module")
def demo(demo_stray_db, tmp_path_factory):
    import sqlite3

    db = tmp_path_factory.mktemp("exports-rollup") / "reach.db"
    # The shared demo stays untouched. SQLite's backup API, not a file copy: recent writes may
    # still be in the WAL file beside it.
    with sqlite3.connect(demo_stray_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    engine = database.connect(f"sqlite:///{db}")
    campaign = load(ROOT / "campaign.toml")
    rollups.refresh(engine, campaign)
    yield engine, campaign, queries.frames.load_frames(engine)
    engine.dispose()


def selections(frames):
    x = frames.posts[frames.posts["platform"] == "x"]
    names = sorted(x["influencer"].dropna().unique())
    unassigned = sorted(n for n in frames.posts["influencer"].dropna().unique() if n.endswith("(unassigned)"))
    assert unassigned  # the stray account of ``demo_stray_db``: the demo's roster maps every account
    return {
        "all": metrics.Selection(),
        "dates": metrics.Selection(start=date(2024, 12, 20), end=date(2025, 1, 5)),
        "platform": metrics.Selection(platforms=("x",)),
        "influencer": metrics.Selection(influencers=tuple(names[:2] + unassigned[:1])),
        "everything": metrics.Selection(start=date(2024, 12, 23), end=date(2025, 1, 12), platforms=("x", "instagram"),
                                        influencers=tuple(names[:3])),
        "nothing": metrics.Selection(start=date(2030, 1, 1), end=date(2030, 1, 31)),
    }


SELECTIONS = ["all", "dates", "platform", "influencer", "everything", "nothing"]
CASES = [("daily", ["platform"]), ("daily", ["influencer", "platform"]), ("daily", ["account"]),
         ("daily", ["category"]), ("weekly", []), ("weekly", ["platform"]), ("weekly", ["influencer"]),
         ("influencers", None)]


# Where the rollup's sums are taken in another order than the engine's, a float can differ in its
# last bits, and two kinds of cell show it (measured on the demo; everything else is the same bytes):
# - emv_usd, rounded to 4 decimals: the engine sums views x CPM / 1000 per post and day, the
#   rollup multiplies per account and day. The demo's exact values often end in a 5 at the fifth
#   decimal (2.46025), so the two round to neighbours (2.4603 / 2.4602): one unit of the last
#   printed digit, in 14 of 3,449 daily rows by influencer and platform.
# - wow_* changes: object columns (numbers and "new"), which to_csv_bytes prints unrounded, so a
#   difference of 1e-13 shows.
# Those cells are compared as numbers within that much; every other cell, and the header, the
# rows and their order, must be the same bytes.
NOISE = {"emv_usd": lambda a, b: abs(a - b) <= 1e-4 + 1e-9}


def _noise(column):
    if column in NOISE:
        return NOISE[column]
    if column.startswith("wow_"):
        return lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return None


def assert_same_export(new: bytes, old: bytes):
    if new == old:
        return
    assert new[:3] == old[:3] == b"\xef\xbb\xbf"
    n, o = (list(csv.reader(io.StringIO(x[3:].decode("utf-8"), newline=""))) for x in (new, old))
    assert n[0] == o[0] and len(n) == len(o)
    for rn, ro in zip(n[1:], o[1:]):
        for column, a, b in zip(o[0], rn, ro):
            if a != b:
                close = _noise(column)
                assert close is not None and a and b and close(float(a), float(b)), (column, a, b, ro)


def old_and_new(engine, campaign, frames, kind, by, sel):
    if kind == "daily":
        return exports.daily_frame(frames, campaign, by=by, sel=sel), exports.daily_frame_db(engine, campaign, by=by, sel=sel)
    if kind == "weekly":
        return (exports.weekly_frame(frames, campaign, by=by, sel=sel),
                exports.weekly_frame_db(engine, campaign, by=by, sel=sel))
    return exports.influencers_frame(frames, campaign, sel=sel), exports.influencers_frame_db(engine, campaign, sel=sel)


@pytest.mark.parametrize("which", SELECTIONS)
@pytest.mark.parametrize("kind,by", CASES)
def test_the_rollup_export_is_the_engine_export_byte_for_byte(demo, kind, by, which):
    engine, campaign, frames = demo
    sel = selections(frames)[which]
    old, new = old_and_new(engine, campaign, frames, kind, by, sel)
    if which != "nothing":
        assert len(old) > 0  # a comparison of two empty files would prove little
    assert_same_export(exports.to_csv_bytes(new), exports.to_csv_bytes(old))


@pytest.mark.parametrize("kind,which,by", [("daily", "everything", ["post"]), ("weekly", "everything", ["post"]),
                                           ("daily", "dates", ["influencer", "post"]),
                                           ("weekly", "platform", ["post", "account"]), ("weekly", "nothing", ["post"])])
def test_a_grouping_by_post_takes_the_engine_a_run_of_selected_posts_at_a_time(demo, kind, which, by, monkeypatch):
    """The engine's whole frame, the same bytes, from runs of a few posts cut into groups of few
    increment rows (a run per 40 posts, a group per ~5,000 rows: several of each on the demo),
    reading only the selection's posts that can have a row in its days."""
    engine, campaign, frames = demo
    sel = selections(frames)[which]
    old = (exports.daily_frame if kind == "daily" else exports.weekly_frame)(frames, campaign, by=by, sel=sel)
    read = []
    real = queries.frames.frames_of_posts

    def spy(eng, pks, conn=None):
        read.append(list(pks))
        return real(eng, pks, conn)

    monkeypatch.setattr(queries.frames, "frames_of_posts", spy)
    monkeypatch.setattr(queries.frames, "load_frames", lambda *a, **k: pytest.fail("the whole database read"))
    monkeypatch.setattr(exports, "POSTS_AT_ONCE", 40)
    monkeypatch.setattr(metrics, "SPREAD_ROWS", 5_000)
    streamed = b"".join(exports.by_post_csv(engine, campaign, kind, by, sel))
    if which != "nothing":
        assert len(old) > 0 and len(read) >= 2, len(read)  # cut into runs
    assert streamed == exports.to_csv_bytes(old)  # the engine's own path: no noise
    if which == "everything":  # the frame (XLSX, notebooks) from the same runs; once, the runs take seconds
        new = (exports.daily_frame_db if kind == "daily" else exports.weekly_frame_db)(engine, campaign, by=by, sel=sel)
        assert exports.to_csv_bytes(new) == exports.to_csv_bytes(old)
    read = set().union(*map(set, read))
    assert read <= set(metrics._filter_posts(frames.posts, sel)["post_pk"])  # the selection's posts only
    # ... and of those every post with a row in its days (the frame's rows name them by post id).
    named = set(zip(old["platform"], old["post"]))
    assert {(p, i) for p, i, pk in zip(frames.posts["platform"], frames.posts["post_id"], frames.posts["post_pk"])
            if pk in read} >= named
    if which == "nothing":
        assert read == set()  # no post can have a row in 2030: none is read
    elif which == "dates":
        assert len(read) < len(metrics._filter_posts(frames.posts, sel))  # posts outside the dates are not read


def test_the_rollup_exports_do_not_load_the_whole_database(demo, monkeypatch):
    engine, campaign, frames = demo

    def refuse(*a, **kw):
        raise AssertionError("load_frames called")

    monkeypatch.setattr(queries.frames, "load_frames", refuse)
    assert len(exports.daily_frame_db(engine, campaign, by=["influencer", "platform"]))
    assert len(exports.weekly_frame_db(engine, campaign, by=["platform"]))
    assert len(exports.influencers_frame_db(engine, campaign))


def test_an_import_during_a_by_post_export_does_not_reach_its_later_runs(db_url, monkeypatch):
    """The export by post reads its posts a run at a time; an import that commits after the first
    run (a later weekly file of the same posts, higher totals) must not show in the later runs:
    the file is the data as it stood when the export began (database.read_snapshot), as the
    rollup exports read one cursor. The next export has the import."""
    from collectors.pipeline import Importer
    from test_store import x_content

    engine = database.connect(db_url)
    campaign = load(ROOT / "campaign.toml")
    ids = [f"18700000000000000{k:02d}" for k in range(1, 7)]
    importer = Importer(engine, None)
    first = importer.import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv",
                                  x_content([(i, 1000 + 10 * k, 20) for k, i in enumerate(ids)]))
    assert first.status == "imported", first.line()
    before = b"".join(exports.by_post_csv(engine, campaign, "daily", ["post"]))
    # Every post, once (its one day): the runs' reads share the listing's connection, whose
    # streaming options once made them lose the first row of each run.
    assert sorted(line.split(b",")[1].decode() for line in before.splitlines()[1:]) == ids
    real, runs = queries.frames.frames_of_posts, []

    def then_import(*args, **kwargs):
        runs.append(args[1])
        if len(runs) == 1:  # another process imports while the export is between its runs
            r = Importer(database.connect(db_url), None).import_bytes(
                "account_analytics_content_2024-12-16_2024-12-29.csv",
                x_content([(i, 5000 + 10 * k, 90) for k, i in enumerate(ids)]))
            assert r.status == "imported", r.line()
        return real(*args, **kwargs)

    monkeypatch.setattr(exports, "POSTS_AT_ONCE", 2)
    monkeypatch.setattr(queries.frames, "frames_of_posts", then_import)
    during = b"".join(exports.by_post_csv(engine, campaign, "daily", ["post"]))
    assert len(runs) == 3
    monkeypatch.setattr(queries.frames, "frames_of_posts", real)
    after = b"".join(exports.by_post_csv(engine, campaign, "daily", ["post"]))
    assert during == before
    assert after != before  # the import changed every post: the next export shows it
    engine.dispose()

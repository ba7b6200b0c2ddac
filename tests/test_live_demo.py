"""`reach demo --live`: drops into an inbox that the Live page visibly follows, numbers that only grow."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from collectors.demo import live as live_demo
from collectors.store import database, ledger, schema
from dashboard.analysis import config
from dashboard.cli import main
from dashboard.web import filters as F
from dashboard.web.pages import live

from conftest import ROOT


def live_views(db: str) -> int:
    """The Views KPI of the Live page as it renders (default filters: the campaign window)."""
    engine = database.connect(db)
    parts = live.content(engine, config.load(ROOT / "campaign.toml"), F.Filters())
    kpis = next(c for c in parts if getattr(c, "id", None) == "live-kpis")
    engine.dispose()
    shown = {k.children[0].children: k.children[1].children for k in kpis.children}
    return int(shown["Views"].replace(",", ""))


def snapshots(db: str) -> pd.DataFrame:
    engine = database.connect(db)
    s, p, a, i = schema.post_snapshots, schema.posts, schema.accounts, schema.influencers
    with engine.connect() as c:
        df = pd.DataFrame(c.execute(sa.select(p.c.post_id, a.c.handle, i.c.name.label("influencer"), s.c.captured_at,
                                              s.c.views, s.c.likes)
                                    .join(p, p.c.id == s.c.post_pk).join(a, a.c.id == p.c.account_pk)
                                    .outerjoin(i, i.c.id == a.c.influencer_id)).mappings().all())
    engine.dispose()
    return df


def test_each_drop_moves_the_live_page_and_numbers_only_grow(tmp_path, capsys):
    db, inbox = str(tmp_path / "reach.db"), tmp_path / "inbox"
    common = ["--db", db, "--archive", str(tmp_path / "archive")]
    drop = ["demo", "--live", "--inbox", str(inbox), "--every", "0", "--for", "1", *common]
    watch = ["watch", str(inbox), "--once", "--settle", "0", *common]

    assert main([*drop, "--no-watch"]) == 0
    dropped = sorted(f.name for f in inbox.iterdir() if f.is_file())
    assert dropped == [f"Video Posts {h} 2025-01-26 0700.csv" for h in sorted(live_demo.LIVE_ACCOUNTS)]
    assert main(watch) == 0
    first, views1 = snapshots(db), live_views(db)
    assert views1 > 0

    assert main([*drop, "--no-watch"]) == 0  # the clock goes on where it stopped: 07:05
    assert sorted(f.name for f in inbox.iterdir() if f.is_file()) == [
        f"Video Posts {h} 2025-01-26 0705.csv" for h in sorted(live_demo.LIVE_ACCOUNTS)]
    assert main(watch) == 0
    second, views2 = snapshots(db), live_views(db)
    assert len(second) == 2 * len(first) and views2 > views1

    # Without --no-watch the same process imports its drops (two more, then what is waiting).
    capsys.readouterr()
    assert main(["demo", "--live", "--inbox", str(inbox), "--every", "0", "--for", "2", *common]) == 0
    out = capsys.readouterr().out
    assert "drop 2: 2025-01-26 07:15 (simulated)" in out and out.count("\nok      Video Posts ") == 8
    assert not [f for f in inbox.iterdir() if f.is_file()]
    assert len(list((inbox / "processed").iterdir())) == 16
    views4 = live_views(db)
    assert views4 > views2

    df = snapshots(db)
    assert len(df) == 4 * len(first)
    # Every snapshot is inside the campaign's last day, and a post's totals never go down.
    local = pd.to_datetime(df["captured_at"]).dt.tz_localize("UTC").dt.tz_convert("Asia/Shanghai")
    assert set(local.dt.date) == {live_demo.LIVE_DAY}
    for _, post in df.sort_values("captured_at").groupby("post_id"):
        assert post["views"].is_monotonic_increasing and post["likes"].is_monotonic_increasing
    live_posts = df[df["post_id"].isin(live_demo.LiveDay().live_post_ids())]
    assert live_posts["post_id"].nunique() == len(live_demo.LIVE_ACCOUNTS)  # one each before 07:00 so far
    grew = live_posts.groupby("post_id")["views"].agg(["min", "max"])
    assert (grew["max"] > grew["min"]).all()  # the new posts visibly climb from drop to drop
    assert live_posts["influencer"].notna().all()  # the demo roster names whose they are


def test_when_the_simulated_day_is_over_nothing_more_is_dropped(tmp_path, capsys):
    db, inbox = str(tmp_path / "reach.db"), tmp_path / "inbox"
    engine = database.connect(db)
    ledger.set_state(engine, *live_demo.STATE, live_demo.LAST.isoformat())
    engine.dispose()
    assert main(["demo", "--live", "--inbox", str(inbox), "--every", "0", "--for", "3", "--db", db,
                 "--no-watch"]) == 0
    assert "played the campaign's last day to its end" in capsys.readouterr().out
    assert not list(inbox.iterdir())


def test_the_last_drop_is_the_last_moment_of_the_day(tmp_path):
    db = str(tmp_path / "reach.db")
    engine = database.connect(db)
    assert live_demo.next_moment(engine) == live_demo.START
    ledger.set_state(engine, *live_demo.STATE, (live_demo.LAST - live_demo.STEP).isoformat())
    written = []
    live_demo.run(engine, None, tmp_path, every=0, drops=None, out=written.append)
    engine.dispose()
    assert written[-2].startswith(f"drop 1: {live_demo.LAST:%Y-%m-%d %H:%M}")
    assert "the campaign's last day is over" in written[-1]
    assert datetime.fromisoformat(ledger.get_state(database.connect(db), *live_demo.STATE)) == live_demo.LAST

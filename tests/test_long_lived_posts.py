"""Posts published years before their first snapshot are spread over every day since, in bounded
memory (issue 11).

A real 52 KB YouTube Studio table (500 videos of a channel, published from 2011 on, one lifetime
snapshot each) made the refresh hold 8 M increment rows at once and peak at 1.86 GB: the refresh
was cut into pieces of posts, but a piece's rows grow with posts x days. Now a piece's posts are
worked out in groups of bounded rows (``metrics.in_parts``); the groups add up to exactly what
one group gives."""
from __future__ import annotations

import tracemalloc
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from collectors import pipeline
from collectors.archive import Archive
from collectors.store import database
from dashboard.analysis import config, metrics, rollups
from dashboard.analysis.queries import frames as frames_q

FILE = "Table data.csv"  # no date range: lifetime totals, the snapshot taken at import time
N = 16


def table_csv(n: int = N) -> tuple[bytes, dict]:
    """YouTube Studio's Table data (English) of ``n`` videos published 2011-2020, and their totals."""
    rng = np.random.default_rng(7)
    lines = ["Content,Video title,Video publish time,Duration,Views,Watch time (hours),Subscribers,Impressions,"
             "Impressions click-through rate (%)"]
    views = rng.integers(5, 90_000, n)
    subs = rng.integers(0, 200, n)
    for i in range(n):
        day = date(2011, 3, 9) + timedelta(days=int(i * 3600 / n))
        lines.append(f"v{i:010d},Machine {i},\"{day:%b} {day.day}, {day.year}\",120,{views[i]},"
                     f"{views[i] / 50:.4f},{subs[i]},{views[i] * 9},5.1")
    lines.append("Showing top 500 results,,,,,,,,")
    return ("\n".join(lines) + "\n").encode(), {"views": int(views.sum()), "followers_gained": int(subs.sum())}


@pytest.fixture
def imported(tmp_path, monkeypatch):
    """A database holding the table, before any refresh (the import's own refresh is skipped)."""
    data, totals = table_csv()
    path = tmp_path / FILE
    path.write_bytes(data)
    engine = database.connect(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate(engine)
    [r] = pipeline.Importer(engine, Archive(tmp_path / "archive")).import_paths([path], jobs=1)
    assert r.status == "imported" and r.posts == N, r.line()
    yield engine, totals
    engine.dispose()


def _rows(engine) -> pd.DataFrame:
    with engine.connect() as c:
        return pd.read_sql("SELECT * FROM daily_rollup ORDER BY account_pk, day", c)


def test_the_refresh_of_posts_spread_over_years_holds_one_group_at_a_time_and_gets_the_same_rows(imported, monkeypatch):
    engine, totals = imported
    campaign = config.Campaign()
    f = frames_q.load_frames(engine)
    rows = int(metrics.spread_rows(f.snapshots, f.post_days).sum())
    assert rows > 150_000  # 16 posts x ~2,000-5,000 days x 4 metrics: years of days each
    del f

    def refresh(limit):
        monkeypatch.setattr(metrics, "SPREAD_ROWS", limit)
        rollups.invalidate(engine)
        rollups.refresh(engine, campaign)
        # The engine's memory: the rollup rows of the pieces, one at a time, as the refresh makes them.
        tracemalloc.start()
        try:
            for _ in rollups._parts(engine, campaign, None):
                pass
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return _rows(engine), peak

    whole, whole_peak = refresh(10**9)  # one group: how it was
    parts, parts_peak = refresh(40_000)
    # Bounded: the rows of one group at a time (40,000 estimated rows, a few MB), not all at once.
    assert parts_peak < whole_peak / 3, (parts_peak, whole_peak)
    assert parts_peak < 30 * 2**20, parts_peak
    # The same rows: counts exactly, the one float metric (watch time) to rounding.
    assert len(parts) == len(whole) > 5000  # a row per day since March 2011
    pd.testing.assert_frame_equal(parts.drop(columns=["watch_time_s"]), whole.drop(columns=["watch_time_s"]))
    np.testing.assert_allclose(parts["watch_time_s"].fillna(0), whole["watch_time_s"].fillna(0), rtol=1e-9)
    # And the oracle: the days add up to each lifetime total (every video counted from its publication).
    assert parts["views"].sum() == totals["views"]
    assert parts["followers_gained"].sum() == totals["followers_gained"]
    assert str(parts["day"].min()) .startswith("2011-03-09")


def test_groups_hold_whole_posts_each_within_the_limit_unless_one_post_alone_is_larger():
    rng = np.random.default_rng(3)
    n = 150
    pub = pd.Timestamp("2012-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 4000, n), unit="D")
    snaps = pd.DataFrame({"post_pk": np.repeat(np.arange(n)[::-1], 2), "platform": "youtube",
                          "published_at": np.repeat(pub, 2),
                          "captured_at": np.tile([pd.Timestamp("2024-12-01", tz="UTC"), pd.Timestamp("2024-12-08", tz="UTC")], n),
                          "views": rng.integers(1, 100, 2 * n).astype(float), "likes": np.nan})
    days = pd.DataFrame({"post_pk": [5, 5, 7], "day": pd.to_datetime(["2024-11-01", "2024-11-02", "2024-11-01"]),
                         "views": [1.0, 2.0, 3.0]})
    size = metrics.spread_rows(snaps, days)
    limit = 12_000
    groups = list(metrics.in_parts(snaps, days, limit))
    assert len(groups) > 5
    seen = []
    for s, d in groups:
        pks = set(s["post_pk"])
        assert set(d["post_pk"]) <= pks
        assert size[list(pks)].sum() <= limit or len(pks) == 1
        seen += sorted(pks)
    assert sorted(seen) == list(range(n)) and len(seen) == n  # each post in exactly one group, whole
    assert sum(len(s) for s, _ in groups) == len(snaps) and sum(len(d) for _, d in groups) == len(days)
    # A big post alone: larger than the limit, in a group by itself.
    [(s, _)] = [g for g in metrics.in_parts(snaps[snaps["post_pk"] == 9], days.iloc[:0], 10)]
    assert set(s["post_pk"]) == {9}
    # Put together, the groups' increments are exactly the increments of all.
    c = config.Campaign()
    whole = metrics.increments(snaps, days, c).sort_values(["post_pk", "metric", "day"]).reset_index(drop=True)
    apart = pd.concat([metrics.increments(s, d, c) for s, d in groups], ignore_index=True)
    apart = apart.sort_values(["post_pk", "metric", "day"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(apart, whole)


def test_post_day_alerts_of_posts_spread_over_years_are_the_same_in_groups(imported, monkeypatch):
    """The alert on a post's gain today or yesterday takes the engine on the posts observed since
    yesterday, a group at a time: the same firings as all at once."""
    from datetime import datetime, timezone

    from dashboard import alerts

    engine, _ = imported
    campaign = config.Campaign()
    rules = [config.alert_rule(dict(name="Gained", kind="threshold", scope="post-day", metric="views", above=1), "test")]
    now = datetime.now(timezone.utc)

    def fired(limit):
        monkeypatch.setattr(metrics, "SPREAD_ROWS", limit)
        return sorted((f.key, f.value) for f in alerts.evaluate(engine, campaign, now, rules))

    whole = fired(10**9)
    assert len(whole) > N  # every video gained views yesterday and today (spread up to its snapshot)
    assert fired(5_000) == whole

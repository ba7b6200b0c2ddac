"""Daily and weekly aggregates of the demo campaign, recomputed from the stored rows with plain SQL
(sqlite3, no SQLAlchemy, no pandas) and plain Python loops, must agree with the engine."""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

import pytest

from collectors.model import FLOAT_METRICS
from collectors.store import database
from dashboard.analysis import metrics, queries
from dashboard.analysis.config import load
from conftest import ROOT
from test_metrics_oracle import oracle_post

ADDITIVE = metrics.ADDITIVE


@pytest.fixture(scope="module")
def demo(demo_db):
    return demo_db


def _utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc) if text else None


def oracle_daily(db, campaign):
    """{(platform, day): {metric: value}} from the stored rows."""
    con = sqlite3.connect(db)
    posts = {pk: (platform, _utc(pub)) for pk, platform, pub in con.execute("SELECT id, platform, published_at FROM posts")}
    daily = defaultdict(lambda: defaultdict(float))
    has_daily = set()
    daily_of = defaultdict(dict)  # (post, metric) -> {day: value}
    for row in con.execute(f"SELECT post_pk, day, {', '.join(ADDITIVE)} FROM post_days"):
        pk, day = row[0], row[1]
        for m, v in zip(ADDITIVE, row[2:]):
            if v is not None:
                has_daily.add((pk, m))
                daily[(posts[pk][0], day)][m] += v
                daily_of[(pk, m)][day] = v
    snaps = defaultdict(list)
    first_capture = {}
    for row in con.execute(f"SELECT post_pk, captured_at, {', '.join(ADDITIVE)} FROM post_snapshots ORDER BY captured_at"):
        pk, at = row[0], _utc(row[1])
        first_capture.setdefault(pk, at)
        for m, v in zip(ADDITIVE, row[2:]):
            if v is not None:
                snaps[(pk, m)].append((at, v))
    for (pk, m), series in snaps.items():
        platform, published = posts[pk]
        if (pk, m) in has_daily:
            # Stitched: after the last daily day, the later snapshots go on from the daily sum
            # when the daily rows start at publishing; else their own increments, later days only.
            days = daily_of[(pk, m)]
            last = max(days)
            after = datetime.combine(date.fromisoformat(last) + timedelta(days=1), time(), campaign.tz).astimezone(timezone.utc)
            if published is not None and min(days) <= published.astimezone(campaign.tz).date().isoformat():
                later = [(t, v) for t, v in series if t > after]
                if later:
                    anchored = [(after, sum(days.values()))] + later
                    for day, v in oracle_post(anchored, datetime(1970, 1, 1, tzinfo=timezone.utc), campaign.tz,
                                              campaign.start, "baseline", whole=m not in FLOAT_METRICS).items():
                        daily[(platform, day.isoformat())][m] += v
            else:
                first = campaign.first_snapshot if series[0][0] == first_capture[pk] else "baseline"
                pub = published if series[0][0] == first_capture[pk] else datetime(1970, 1, 1, tzinfo=timezone.utc)
                for day, v in oracle_post(series, pub, campaign.tz, campaign.start, first,
                                          whole=m not in FLOAT_METRICS).items():
                    if day.isoformat() > last:
                        daily[(platform, day.isoformat())][m] += v
            continue
        first = campaign.first_snapshot
        if series[0][0] != first_capture[pk]:
            # the metric appeared after the post's first snapshot: its first value is a baseline
            published, first = datetime(1970, 1, 1, tzinfo=timezone.utc), "baseline"
        for day, v in oracle_post(series, published, campaign.tz, campaign.start, first,
                                  whole=m not in FLOAT_METRICS).items():
            daily[(platform, day.isoformat())][m] += v
    return daily


def test_daily_totals_by_platform_agree_with_plain_sql_and_loops(demo):
    campaign = load(ROOT / "campaign.toml")
    want = oracle_daily(demo, campaign)
    engine = database.connect(f"sqlite:///{demo}")
    f = queries.frames.load_frames(engine)
    inc = metrics.increments(f.snapshots, f.post_days, campaign)
    got = metrics.daily_table(inc, f.posts, campaign, by=["platform"])
    engine.dispose()
    seen = set()
    for row in got.itertuples():
        key = (row.platform, row.day.date().isoformat())
        seen.add(key)
        for m in ADDITIVE:
            expect = want.get(key, {}).get(m)
            value = getattr(row, m)
            if m not in FLOAT_METRICS and value == value:
                assert value == int(value), (key, m, value)  # counts are whole numbers
            if expect is None or expect == 0:
                assert value != value or value == pytest.approx(0, abs=1e-6), (key, m, value)
            else:
                assert value == pytest.approx(expect, rel=1e-9, abs=1e-6), (key, m, value, expect)
    assert {k for k, v in want.items() if any(abs(x) > 1e-9 for x in v.values())} <= seen


def test_weekly_totals_equal_the_sum_of_their_days(demo):
    campaign = load(ROOT / "campaign.toml")
    want = oracle_daily(demo, campaign)
    weeks = defaultdict(lambda: defaultdict(float))
    for (platform, day), vals in want.items():
        d = datetime.fromisoformat(day).date()
        if not (campaign.start <= d <= campaign.end):
            continue
        y, w, _ = d.isocalendar()
        for m, v in vals.items():
            weeks[f"{y}-W{w:02d}"][m] += v
    engine = database.connect(f"sqlite:///{demo}")
    f = queries.frames.load_frames(engine)
    inc = metrics.increments(f.snapshots, f.post_days, campaign)
    got = metrics.weekly_table(inc, f.posts, campaign, by=[])
    engine.dispose()
    assert got["week"].tolist() == sorted(weeks) == ["2024-W51", "2024-W52", "2025-W01", "2025-W02", "2025-W03", "2025-W04"]
    assert (got["days_covered"] == 7).all()
    for row in got.itertuples():
        for m in ("views", "impressions", "likes", "comments", "shares", "saves"):
            assert getattr(row, m) == pytest.approx(weeks[row.week][m], rel=1e-9), (row.week, m)


def test_every_post_increments_add_up_to_its_latest_lifetime_value(demo):
    campaign = load(ROOT / "campaign.toml")
    con = sqlite3.connect(demo)
    latest = {}
    for pk, views, imp in con.execute(
            "SELECT s.post_pk, s.views, s.impressions FROM post_snapshots s JOIN "
            "(SELECT post_pk, MAX(captured_at) AS at FROM post_snapshots GROUP BY post_pk) l "
            "ON l.post_pk = s.post_pk AND l.at = s.captured_at"):
        latest[pk] = (views, imp)
    engine = database.connect(f"sqlite:///{demo}")
    f = queries.frames.load_frames(engine)
    inc = metrics.snapshot_increments(f.snapshots, campaign)
    engine.dispose()
    sums = inc.groupby(["post_pk", "metric"])["value"].sum()
    published = dict(zip(f.posts["post_pk"], f.posts["published_at"]))
    start = datetime(2024, 12, 16, tzinfo=campaign.tz)
    checked = 0
    for pk, (views, imp) in latest.items():
        if published[pk] is None or published[pk] != published[pk] or published[pk] < start:
            continue  # older posts keep a baseline
        for m, v in (("views", views), ("impressions", imp)):
            if v is not None and (pk, m) in sums.index:
                assert sums[(pk, m)] == pytest.approx(v, abs=1e-6), (pk, m)
                checked += 1
    assert checked > 500

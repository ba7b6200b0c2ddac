"""Goals and their forecast (dashboard/analysis/goals.py, docs/metrics.md "Goals and forecast"): each number
recomputed independently from raw rows, the forecast checked on series whose future is known."""
from __future__ import annotations

import dataclasses
import sqlite3
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from collectors.errors import ReachError
from conftest import ROOT
from dashboard.analysis import config, goals, metrics, queries


# --- the forecast on series whose future is known -------------------------------------------

def test_a_steady_rise_is_followed_and_not_flattened():
    y = 100 + 10 * np.arange(30.0)
    truth = float((100 + 10 * np.arange(30, 60.0)).sum())  # 16,350
    f = goals.damped_trend(y, 30)
    flat = 30 * y[-1]  # 11,700: what a forecast without a trend would say
    # Damped (phi <= 0.98): a little under the straight line over a month, far above flat.
    assert -0.08 < f.total / truth - 1 < 0, (f.total, truth)
    assert f.total > flat + 0.5 * (truth - flat)
    assert f.low <= f.total <= f.high


def test_a_level_series_without_noise_is_forecast_exactly_with_no_interval():
    f = goals.damped_trend(np.full(20, 250.0), 12)
    assert (f.total, f.low, f.high) == pytest.approx((3000.0, 3000.0, 3000.0))


def test_a_campaign_that_has_faded_is_not_forecast_below_zero():
    y = np.r_[np.linspace(1000, 0, 20), np.zeros(10)]
    f = goals.damped_trend(y, 20)
    assert f.total >= 0 and f.low >= 0
    assert f.total < 100


def test_too_few_days_give_no_forecast_and_no_horizon_gives_nothing_more():
    assert goals.damped_trend(np.arange(goals.MIN_DAYS - 1.0), 10) is None
    f = goals.damped_trend(np.ones(goals.MIN_DAYS), 0)
    assert (f.total, f.low, f.high) == (0.0, 0.0, 0.0)


def test_the_80_percent_interval_holds_the_truth_about_80_percent_of_the_time():
    """Level series with noise: the future total falls inside the interval in roughly the stated
    share of cases (a broken interval, too narrow or too wide, falls outside 0.65-0.95)."""
    rng = np.random.default_rng(7)
    inside = 0
    trials = 120
    for k in range(trials):
        level = rng.uniform(500, 5000)
        series = level + rng.normal(0, level * 0.2, 50)
        past, future = series[:35], series[35:]
        f = goals.damped_trend(past, len(future), simulations=800, seed=k)
        inside += f.low <= future.sum() <= f.high
    assert 0.65 <= inside / trials <= 0.95, inside / trials


def test_the_backtest_table_counts_what_it_says():
    days = pd.date_range("2025-01-01", periods=40)
    series = pd.Series(1000.0 + 5 * np.arange(40), index=days)
    truth = float(series.sum())
    bt = goals.backtest(series, truth, [date(2025, 1, 20), date(2025, 1, 30), date(2025, 1, 10)], date(2025, 2, 9))
    assert list(bt["cutoff"]) == [date(2025, 1, 20), date(2025, 1, 30)]  # the 3rd has 9 days: too early
    for _, r in bt.iterrows():
        known = float(series[series.index < pd.Timestamp(r["cutoff"])].sum())
        assert r["low"] >= known - 1e-6 and r["low"] <= r["projected"] <= r["high"]
        assert r["inside"] == (r["low"] <= truth <= r["high"])
        assert r["error"] == pytest.approx(r["projected"] / truth - 1)


# --- campaign.toml ----------------------------------------------------------------------------

def _raw(**goal):
    return {"campaign": {"start": "2024-12-16", "end": "2025-01-26"}, "goals": [goal]}


def test_goals_are_read_from_campaign_toml_with_the_campaign_end_as_deadline():
    c = config.from_dict({"campaign": {"start": "2024-12-16", "end": "2025-01-26"}, "goals": [
        {"name": "Views", "name_zh": "播放量", "metric": "views", "target": 20_000_000},
        {"metric": "posts", "target": 3, "per": "influencer-week", "categories": ["merchant"]},
        {"metric": "engagements", "target": 1e6, "platforms": "x", "deadline": "2025-01-05"}]})
    views, weekly, x = c.goals
    assert (views.deadline, views.text("zh"), views.text("en")) == (date(2025, 1, 26), "播放量", "Views")
    assert (weekly.per, weekly.categories) == ("influencer-week", ("merchant",))
    assert (x.platforms, x.deadline) == (("x",), date(2025, 1, 5))


@pytest.mark.parametrize("goal, says", [
    (dict(metric="er_views", target=0.05), "metric 'er_views' cannot be a goal"),
    (dict(metric="reach", target=5), "rates and reach are not sums"),
    (dict(metric="views", target=0), "target 0 is not a positive number"),
    (dict(metric="views", target="20M"), "target '20M' is not a positive number"),
    (dict(metric="views", target=5, per="week"), "per 'week' is not \"influencer-week\""),
    (dict(metric="views", target=5, deadline="soon"), "goals[1], deadline: 'soon' is not a date"),
    (dict(metric="views", target=5, platfroms=["x"]), "unknown key 'platfroms'"),
    (dict(metric="views", target=5, platforms=[1]), "platforms must be a list of names"),
])
def test_a_goal_written_wrong_is_named_with_what_was_expected(goal, says):
    with pytest.raises(ReachError) as e:
        config.from_dict(_raw(**goal), "campaign.toml")
    assert "campaign.toml, goals[1]" in str(e.value) and says in str(e.value), str(e.value)


def test_a_total_goal_needs_a_deadline_when_the_campaign_has_no_end():
    with pytest.raises(ReachError, match="no deadline, and the campaign has no end"):
        config.from_dict({"goals": [{"metric": "views", "target": 5}]}, "campaign.toml")


# --- progress on the demo, against raw rows ----------------------------------------------------

@pytest.fixture(scope="module")
def demo(demo_db):
    campaign = config.load(ROOT / "campaign.toml")
    eng = sa.create_engine(f"sqlite:///{demo_db}")
    yield eng, campaign
    eng.dispose()


def _engine_views(eng, campaign, sel):
    """Views of a selection from the metrics engine on raw frames (not the rollup's SQL)."""
    fr = queries.frames.load_frames(eng)
    inc = metrics.increments(fr.snapshots, fr.post_days, campaign)
    got = metrics.aggregate(inc, fr.posts, campaign, by=[], sel=sel)
    return float(got["views"].iloc[0]) if len(got) else 0.0


def _raw_posts(demo_db, campaign, platforms=()):
    """Posts per influencer and local day, straight from the tables."""
    with sqlite3.connect(demo_db) as conn:
        rows = conn.execute("""SELECT p.published_at, a.platform, coalesce(i.name, coalesce(a.handle, a.name, a.account_key)
                               || ' (unassigned)') FROM posts p JOIN accounts a ON a.id = p.account_pk
                               LEFT JOIN influencers i ON i.id = a.influencer_id
                               WHERE p.published_at IS NOT NULL""").fetchall()
    df = pd.DataFrame(rows, columns=["published_at", "platform", "influencer"])
    if platforms:
        df = df[df["platform"].isin(platforms)]
    df["day"] = (pd.to_datetime(df["published_at"], format="ISO8601").dt.tz_localize("UTC")
                 .dt.tz_convert(campaign.tz).dt.date)
    return df


def test_a_total_goal_counts_what_the_engine_counts_and_judges_its_forecast(demo):
    eng, campaign = demo
    goal = config.Goal("views", 1e12, platforms=("youtube", "x"), deadline=campaign.end)
    today = date(2025, 1, 8)
    p = goals.progress(eng, campaign, goal, today)
    want = _engine_views(eng, campaign, goals.selection(goal, campaign.start, today))
    assert p.value == pytest.approx(want, rel=1e-9) and want > 0
    span = (campaign.end - campaign.start).days + 1
    assert p.time_gone == pytest.approx(((today - campaign.start).days + 1) / span)
    # A target no campaign reaches: behind, by the target less the forecast's central value.
    assert p.status == "behind" and p.forecast is not None
    assert p.behind_by == pytest.approx(goal.target - p.projected)
    before = _engine_views(eng, campaign, goals.selection(goal, campaign.start, today - timedelta(days=1)))
    assert p.forecast.low >= before - 1e-6 and p.forecast.low <= p.projected <= p.forecast.high
    # A target already passed: met, whatever the forecast.
    met = goals.progress(eng, campaign, dataclasses.replace(goal, target=want * 0.99), today)
    assert met.status == "met" and met.behind_by == 0
    # A target the forecast reaches: on track.
    easy = goals.progress(eng, campaign, dataclasses.replace(goal, target=p.projected * 0.98), today)
    assert easy.status == "on track"


def test_a_goal_on_posts_counts_posts_published_in_the_campaign_timezone(demo, demo_db):
    eng, campaign = demo
    goal = config.Goal("posts", 1e9, platforms=("tiktok",), deadline=campaign.end)
    today = date(2025, 1, 1)
    raw = _raw_posts(demo_db, campaign, ("tiktok",))
    want = int(((raw["day"] >= campaign.start) & (raw["day"] <= today)).sum())
    assert goals.progress(eng, campaign, goal, today).value == want > 0


def test_after_the_deadline_what_is_missing_stays_missing(demo):
    eng, campaign = demo
    goal = config.Goal("views", 1e12, deadline=date(2024, 12, 31))
    p = goals.progress(eng, campaign, goal, date(2025, 1, 10))
    want = _engine_views(eng, campaign, goals.selection(goal, campaign.start, date(2024, 12, 31)))
    assert p.value == pytest.approx(want, rel=1e-9)
    assert p.status == "behind" and p.forecast is None and p.behind_by == pytest.approx(1e12 - want)


def test_a_weekly_goal_lists_each_influencer_against_the_pace_of_the_week(demo, demo_db):
    eng, campaign = demo
    goal = config.Goal("posts", 3, per="influencer-week")
    today = date(2025, 1, 9)  # a Thursday: 4 days of 7 gone
    w = goals.week_progress(eng, campaign, goal, today)
    raw = _raw_posts(demo_db, campaign)
    monday = date(2025, 1, 6)
    week = raw[(raw["day"] >= monday) & (raw["day"] <= today)].groupby("influencer").size()
    everyone = sorted(raw["influencer"].unique())
    table = w.influencers.set_index("influencer")
    assert sorted(table.index) == everyone
    assert table["value"].to_dict() == {n: float(week.get(n, 0)) for n in everyone}
    assert w.week == "2025-W02" and w.time_gone == pytest.approx(4 / 7)
    pace = {n: week.get(n, 0) >= 3 or week.get(n, 0) >= 3 * 4 / 7 for n in everyone}
    assert table["on_pace"].to_dict() == pace
    assert w.behind == sum(not v for v in pace.values()) and w.met == int((week >= 3).sum())
    assert w.status == ("behind" if w.behind else "on track")


def test_after_the_campaign_a_weekly_goal_shows_its_last_week(demo):
    eng, campaign = demo
    goal = config.Goal("posts", 3, per="influencer-week")
    after = goals.week_progress(eng, campaign, goal, campaign.end + timedelta(days=10))
    last = goals.week_progress(eng, campaign, goal, campaign.end)
    assert after.week == last.week == "2025-W04" and after.time_gone == 1.0
    assert after.influencers.equals(last.influencers)

"""The worked examples of the methodology (../shared/METRICS.md), through the engine's functions."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard import metrics
from dashboard.config import Campaign

REELS = pd.DataFrame({
    "post_pk": [1, 2, 3], "platform": "instagram", "published_at": pd.Timestamp("2024-12-22 02:00", tz="UTC"),
    "captured_at": pd.Timestamp("2024-12-30", tz="UTC"), "influencer": "A", "category": "x",
    "likes": [693, 900, 12], "comments": [0, 18, 0], "shares": [110, 110, 0], "saves": [124, 100, 0],
    "reach": [7484, 5822, 206], "views": [10232, 8000, 300]})


def test_engagement_rate_by_reach_is_a_ratio_of_totals_and_the_mean_of_post_ers_is_separate():
    c = Campaign(start=date(2024, 12, 16))
    posts = REELS[["post_pk", "platform", "published_at", "influencer", "category"]]
    r = metrics.reach_table(REELS, posts, c, by=[]).iloc[0]
    assert r["er_reach"] == pytest.approx(2067 / 13512)  # 15.30 %
    assert r["avg_post_er_reach"] == pytest.approx((927 / 7484 + 1128 / 5822 + 12 / 206) / 3)  # 12.53 %
    assert (r["reach_max_post"], r["reach_sum"]) == (7484, 13512)


def test_random_duplication_estimate_names_its_model_and_universe():
    snaps = REELS.assign(reach=[7484, 6856, 5822])
    posts = snaps[["post_pk", "platform", "published_at", "influencer", "category"]]
    r = metrics.reach_table(snaps, posts, Campaign(), by=[], universe=50_000).iloc[0]
    assert round(r["reach_est_random_duplication"]) == 17586
    assert (r["reach_est_model"], r["reach_est_universe"]) == ("random duplication", 50_000)


def test_emv_is_views_times_cpm_per_thousand():
    frame = pd.DataFrame({"platform": ["instagram", "x"], "views": [10232.0, float("nan")], "impressions": [float("nan"), 4000.0]})
    got = metrics.emv(frame, Campaign(cpm={"instagram": 6.5, "x": 2.0}))
    assert got.round(2).tolist() == [66.51, 8.0]


def test_week_over_week_says_new_when_last_week_was_zero_and_percent_otherwise():
    assert metrics.wow_change(120, 0) == "new"
    assert metrics.wow_change(0, 0) == 0.0
    assert metrics.wow_change(123, 100) == pytest.approx(23.0)


def test_iso_weeks_use_the_iso_year_at_new_year():
    days = pd.Series(pd.to_datetime(["2024-12-29", "2024-12-30", "2025-01-05", "2025-01-06"]))
    assert metrics.iso_week(days).tolist() == ["2024-W52", "2025-W01", "2025-W01", "2025-W02"]
    assert metrics.week_start("2025-W01") == date(2024, 12, 30)

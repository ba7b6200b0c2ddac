"""The worked examples of the methodology (../shared/METRICS.md), through the engine's functions."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard.analysis import metrics
from dashboard.analysis.config import Campaign

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


def test_a_week_label_is_read_back_by_one_rule_that_the_labels_of_the_pages_follow():
    from dashboard.text.i18n import week_label

    assert metrics.week_start(" 2026-w53 ") == date(2026, 12, 28)  # 2026 has 53 ISO weeks
    for text in ("2025-W53", "2025-W1", "2025W01", "2025-01", "W01", "", "2025-W01x"):
        with pytest.raises(ValueError):
            metrics.week_start(text)
    for text in ("2025-W01", " 2025-w02", "2025-W53", "2025-W1", "2025W01", "2025-W00"):
        try:
            metrics.week_start(text)
            ok = True
        except ValueError:
            ok = False
        try:
            week_label(text, 7, "en")
            labelled = True
        except ValueError:
            labelled = False
        assert ok == labelled, text


def test_engagement_rate_by_followers_uses_the_latest_level_and_only_accounts_with_one():
    posts = pd.DataFrame({"post_pk": [1, 2], "platform": ["tiktok", "x"], "account_pk": [10, 20],
                          "account": ["a", "b"], "influencer": ["Li Na", "Li Na"], "category": "merchant",
                          "published_at": pd.Timestamp("2024-12-22", tz="UTC")})
    inc = pd.DataFrame({"post_pk": [1, 1, 2], "day": pd.to_datetime(["2024-12-22", "2024-12-23", "2024-12-22"]),
                        "metric": ["likes", "likes", "likes"], "value": [300.0, 100.0, 50.0],
                        "interpolated": False, "corrected": False, "source": "snapshot"})
    accounts = pd.DataFrame({"account_pk": [10, 20], "platform": ["tiktok", "x"], "account": ["a", "b"],
                             "influencer": "Li Na", "category": "merchant", "followers": [5000.0, float("nan")]})
    # an export's level on 23 Dec beats the roster; after the selection's end it does not count
    days = pd.DataFrame({"account_pk": [10, 10], "day": pd.to_datetime(["2024-12-23", "2024-12-30"]),
                         "followers": [8000.0, 9000.0]})
    fol = metrics.followers_by_account(accounts, days, until=date(2024, 12, 24))
    assert fol.to_dict() == {10: 8000.0, 20: float("nan")} or (fol[10] == 8000.0 and pd.isna(fol[20]))
    out = metrics.aggregate(inc, posts, Campaign(), by=["influencer"], followers=fol, accounts=accounts).iloc[0]
    assert out["followers"] == 8000
    assert out["er_followers"] == pytest.approx(400 / 8000)  # account b has no follower count: left out


def test_account_day_groups_carry_the_platforms_own_reach_and_never_a_sum(demo_db):
    from collectors.store import database
    from dashboard.analysis import queries
    from dashboard.analysis.config import load
    from conftest import ROOT

    engine = database.connect(f"sqlite:///{demo_db}")
    f = queries.frames.load_frames(engine)
    engine.dispose()
    c = load(ROOT / "campaign.toml")
    inc = metrics.increments(f.snapshots, f.post_days, c)
    out = metrics.aggregate(inc, f.posts, c, by=["platform", "account", "day"], account_days=f.account_days)
    page = out[(out["platform"] == "facebook") & (out["account"] == "jinhubcampaign")].set_index("day")
    truth = f.account_days[(f.account_days["platform"] == "facebook") & (f.account_days["account"] == "jinhubcampaign")
                           & f.account_days["reach"].notna()].set_index("day")["reach"]
    common = page.index.intersection(truth.index)
    assert len(common) > 20
    assert (page.loc[common, "reach_account"] == truth.loc[common]).all()
    # grouped by platform only, no account reach is offered: it would have to be summed
    assert "reach_account" not in metrics.aggregate(inc, f.posts, c, by=["platform", "day"], account_days=f.account_days)


def test_a_followers_universe_is_the_sum_of_the_groups_accounts_followers():
    snaps = REELS.assign(reach=[7484, 6856, 5822], account_pk=[10, 10, 11])
    posts = snaps[["post_pk", "platform", "published_at", "influencer", "category", "account_pk"]]
    r = metrics.reach_table(snaps, posts, Campaign(), by=[],
                            universe=pd.Series({10: 30_000.0, 11: 20_000.0})).iloc[0]
    assert r["reach_est_universe"] == 50_000
    assert round(r["reach_est_random_duplication"]) == 17586
    assert "followers" in r["reach_est_model"]

"""The anomaly detectors on hand-made frames with numbers worked by hand, and on the demo campaign.

The worked numbers are METRICS.md section 5.2's (13 days of follower gains, median 115, MAD 10,
then a day of +2,400); the demo test checks that the launch-day spike of 22 Dec 2024 is found and
that every reason states the number it is about."""
from __future__ import annotations

import math
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.model import METRICS
from dashboard.analysis.anomalies import (anomalies, flag_outliers, hampel, impossible_values, localise, not_scored,
                                          robust_z)
from dashboard.analysis.config import Campaign, Event
from dashboard.analysis.queries.frames import Frames

from conftest import ROOT

GAINS = [120, 95, 130, 110, 105, 98, 140, 115, 125, 100, 108, 132, 118]  # METRICS.md 5.2: median 115, MAD 10
LAUNCH = date(2024, 12, 22)


def days(n: int, start: str = "2024-12-09") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D")


def daily(values, influencer="Ana", platform="instagram", start="2024-12-09") -> pd.DataFrame:
    return pd.DataFrame({"influencer": influencer, "platform": platform, "day": days(len(values), start),
                         "views": pd.Series(values, dtype="float64")})


def shown(x: float, signed: bool = False) -> str:
    """How a reason writes a number (docs/anomalies.md): whole from 10 up, else one decimal."""
    text = f"{abs(x):,.0f}" if abs(x) >= 10 or float(x).is_integer() else f"{abs(x):,.1f}"
    return ("-" if x < 0 else "+" if signed else "") + text


# --- robust z ----------------------------------------------------------------------------------

def test_robust_z_reproduces_the_worked_follower_spike_of_154():
    z = robust_z(pd.Series([2400.0]), baseline=pd.Series(GAINS, dtype="float64"))
    assert z.iloc[0] == pytest.approx(0.6745 * (2400 - 115) / 10)
    assert round(z.iloc[0]) == 154


def test_robust_z_of_a_series_uses_its_own_median_and_mad_including_the_spike():
    # 14 days: median (115 + 118) / 2 = 116.5; absolute deviations sorted put 11.5 and 13.5 in the
    # middle, so MAD = 12.5 and the spike scores 0.6745 * 2283.5 / 12.5.
    z = robust_z(pd.Series(GAINS + [2400], dtype="float64"))
    assert z.iloc[-1] == pytest.approx(0.6745 * 2283.5 / 12.5)
    assert z.iloc[0] == pytest.approx(0.6745 * (120 - 116.5) / 12.5)


def test_a_flat_series_scores_zero_everywhere_instead_of_dividing_by_zero():
    z = robust_z(pd.Series([7.0] * 10))
    assert (z == 0).all()


def test_when_mad_is_zero_the_floor_of_one_unit_decides_how_far_is_unusual():
    # Nine days of 100 and one other: MAD 0, floored to max(1, 1% of 100) = 1.
    assert robust_z(pd.Series([100.0] * 9 + [106.0])).iloc[-1] == pytest.approx(0.6745 * 6)  # 4.05
    assert robust_z(pd.Series([100.0] * 9 + [105.0])).iloc[-1] == pytest.approx(0.6745 * 5)  # 3.37


def test_the_floor_scales_with_the_median_for_large_counts():
    # MAD 0 with median 10,000: the floor is 1% of it, 100, so +600 scores 0.6745 * 6.
    assert robust_z(pd.Series([10_000.0] * 9 + [10_600.0])).iloc[-1] == pytest.approx(0.6745 * 6)


def test_without_a_floor_a_flat_baseline_makes_any_departure_infinite():
    z = robust_z(pd.Series([5.0, 5.0, 5.0, 4.0, 6.0]), baseline=pd.Series([5.0] * 4), min_mad=0, min_mad_fraction=0)
    assert list(z) == [0.0, 0.0, 0.0, -math.inf, math.inf]


def test_unknown_days_score_nothing_and_do_not_move_the_median():
    z = robust_z(pd.Series([1.0, 2.0, np.nan, 3.0, 100.0]))
    assert math.isnan(z.iloc[2])
    # median of 1, 2, 3, 100 is 2.5 (not the 2 or 3 a NaN counted as anything would give)
    assert z.iloc[1] == pytest.approx(0.6745 * (2 - 2.5) / 1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=3, max_size=30), st.integers(1, 50), st.integers(-1000, 1000))
def test_robust_z_without_floors_ignores_the_unit_and_the_origin(xs, scale, shift):
    x = pd.Series(xs, dtype="float64")
    a = robust_z(x, min_mad=0, min_mad_fraction=0)
    b = robust_z(x * scale + shift, min_mad=0, min_mad_fraction=0)
    assert np.allclose(a.to_numpy(), b.to_numpy(), equal_nan=True)


# --- flag_outliers -----------------------------------------------------------------------------

def test_flag_outliers_flags_the_spike_day_and_only_it():
    out = flag_outliers(daily(GAINS + [2400]), "views")
    assert out["flagged"].tolist() == [False] * 13 + [True]
    assert out["typical"].iloc[-1] == 116.5
    assert out["score"].iloc[-1] == pytest.approx(0.6745 * 2283.5 / 12.5)


def test_each_group_is_judged_against_its_own_days_only():
    small = daily(GAINS + [400], influencer="Ana")
    big = daily([x * 100 for x in GAINS] + [400], influencer="Bo")
    out = flag_outliers(pd.concat([small, big], ignore_index=True), "views")
    flagged = out[out["flagged"]]
    # 400 is a spike for Ana (typical ~116) and a slump for Bo (typical ~11,650)
    assert sorted(zip(flagged["influencer"], flagged["views"])) == [("Ana", 400.0), ("Bo", 400.0)]
    assert out.loc[out["influencer"] == "Bo", "typical"].iloc[0] == 11_250  # (11,000 + 11,500) / 2


def test_a_group_with_fewer_than_seven_days_is_not_scored_and_says_so():
    out = flag_outliers(daily([10, 12, 11, 9, 5000, 10]), "views")
    assert not out["flagged"].any()
    assert out["score"].isna().all()
    assert (out["note"] == "only 6 days with views: too few for a z-score (needs 7)").all()


def test_unknown_days_do_not_count_towards_the_seven():
    out = flag_outliers(daily([10, 12, np.nan, 11, 9, 5000, 10, np.nan]), "views")
    assert not out["flagged"].any()
    assert out["days"].iloc[0] == 6


def test_an_all_equal_group_flags_nothing():
    out = flag_outliers(daily([250] * 12), "views")
    assert not out["flagged"].any() and (out["score"] == 0).all()


def test_direction_up_leaves_a_slump_unflagged():
    values = GAINS + [0]  # 0 vs median 112.5, MAD 12.5: z about -6.1
    assert flag_outliers(daily(values), "views")["flagged"].iloc[-1]
    assert not flag_outliers(daily(values), "views", direction="up")["flagged"].any()


# --- hampel ------------------------------------------------------------------------------------

def test_hampel_over_the_thirteen_days_before_reproduces_the_worked_example():
    out = hampel(daily(GAINS + [2400]), "views", window=13)
    last = out.iloc[-1]
    assert last["typical"] == 115 and last["mad"] == 10
    assert last["score"] == pytest.approx((2400 - 115) / (1.4826 * 10))  # the same 154 as robust z
    assert out["flagged"].tolist() == [False] * 13 + [True]


def test_hampel_with_a_week_uses_only_the_seven_days_before():
    # The 7 days before the spike: 140 115 125 100 108 132 118 -> median 118, MAD 10.
    last = hampel(daily(GAINS + [2400]), "views").iloc[-1]
    assert (last["typical"], last["mad"], last["days"]) == (118, 10, 7)
    assert last["score"] == pytest.approx((2400 - 118) / 14.826)


def test_hampel_never_looks_at_the_day_itself_or_later_days():
    base = GAINS + [2400]
    a = hampel(daily(base), "views")
    b = hampel(daily(base[:-3] + [99_999, 0, 5]), "views")
    # Days before the changed ones are scored identically; the first changed day is compared with
    # the same window as before, so its median is unchanged.
    pd.testing.assert_series_equal(a["score"].iloc[:11].reset_index(drop=True),
                                   b["score"].iloc[:11].reset_index(drop=True))
    assert a["typical"].iloc[11] == b["typical"].iloc[11] == 108  # median of days 5-11: 105 98 140 115 125 100 108


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=8, max_size=20), st.lists(st.integers(0, 10**6), min_size=1, max_size=5))
def test_appending_days_never_changes_how_earlier_days_were_scored(xs, later):
    a = hampel(daily(xs), "views")
    b = hampel(daily(xs + later), "views").iloc[: len(xs)]
    assert np.allclose(a["score"].to_numpy(), b["score"].to_numpy(), equal_nan=True)
    assert a["flagged"].tolist() == b["flagged"].tolist()


def test_hampel_leaves_the_first_days_unscored_until_five_days_are_behind_them():
    out = hampel(daily([10, 10, 10, 10, 10, 9000, 10]), "views")
    assert out["score"].iloc[:5].isna().all()
    assert not out["flagged"].iloc[:5].any()
    assert out["note"].iloc[0] == "only 0 known days in the 7 days before: too few for the Hampel filter (needs 5)"
    assert out["flagged"].iloc[5]


def test_hampel_window_is_calendar_days_so_a_gap_is_not_bridged():
    frame = daily(GAINS[:7] + [2400])
    frame.loc[7, "day"] = frame["day"].iloc[6] + pd.Timedelta(days=5)  # the four days before it are missing
    out = hampel(frame, "views")
    assert out["days"].iloc[-1] == 3 and not out["flagged"].iloc[-1]


def test_hampel_skips_unknown_days():
    out = hampel(daily(GAINS[:7] + [np.nan, 2400]), "views")
    assert out["note"].iloc[7] == "views unknown on this day" and not out["flagged"].iloc[7]
    assert out["days"].iloc[8] == 6 and out["flagged"].iloc[8]


# --- impossible values -------------------------------------------------------------------------

def test_impossible_values_names_each_metric_above_views():
    frame = pd.DataFrame({"post_pk": [1, 2, 3, 4, 5], "views": [4100, 1000, 0, np.nan, 500],
                          "impressions": [np.nan, np.nan, np.nan, 300, np.nan],
                          "likes": [10, 600, 50, 400, 500], "comments": [0, 300, 0, 0, 0],
                          "shares": [5200, 200, 90, 0, 0], "saves": [0, 0, 0, 0, 0]})
    out = impossible_values(frame)
    got = sorted(zip(out["post_pk"], out["metric"], out["value"], out["bound_metric"], out["bound"]))
    assert got == [
        (1, "engagements", 5210, "views", 4100),
        (1, "shares", 5200, "views", 4100),
        # post 2: each metric fits under 1,000 views but together they do not
        (2, "engagements", 1100, "views", 1000),
        # post 3 has 0 views and no impressions: not checked; post 4 is checked against impressions
        (4, "engagements", 400, "impressions", 300),
        (4, "likes", 400, "impressions", 300),
        # post 5: exactly as many likes as views is possible
    ]


# --- anomalies() on a hand-made campaign -------------------------------------------------------

def _campaign_frames(views, likes, events=(Event(LAUNCH, "Launch ceremony, Yiwu"),), interpolated=None):
    campaign = Campaign(timezone="UTC", events=events)
    posts = pd.DataFrame([
        dict(post_pk=1, platform="instagram", post_id="C1a2b3", account="ana.ig", account_pk=10, influencer="Ana",
             category="merchant", published_at=pd.Timestamp("2024-12-01 08:00", tz="UTC"), url=None, title=None,
             post_type="IG reel"),
        dict(post_pk=2, platform="x", post_id="1870123456789012345", account="AnaX", account_pk=11, influencer="Ana",
             category="merchant", published_at=pd.Timestamp("2024-12-20 08:00", tz="UTC"), url=None, title=None,
             post_type=None)])
    d = days(len(views), "2024-12-09")
    spread = [False] * len(views) if interpolated is None else interpolated
    inc = pd.concat([pd.DataFrame({"post_pk": 1, "day": d, "metric": m, "value": pd.Series(v, dtype="float64"),
                                   "interpolated": spread, "corrected": False, "source": "daily"})
                     for m, v in (("views", views), ("likes", likes))], ignore_index=True)
    snaps = pd.DataFrame([dict(post_pk=2, platform="x", published_at=posts["published_at"].iloc[1],
                               captured_at=pd.Timestamp("2024-12-27 04:00", tz="UTC"),
                               **{m: np.nan for m in METRICS}) | dict(views=4100.0, shares=5200.0, likes=30.0)])
    account_days = pd.DataFrame({"platform": "instagram", "account": "ana.ig", "account_pk": 10,
                                 "day": days(14, "2024-12-10"),
                                 **{m: np.nan for m in METRICS}})
    account_days["followers_gained"] = [float(x) for x in GAINS + [2400]]
    frames = Frames(posts, snaps, pd.DataFrame(columns=["post_pk", "day", *METRICS]), account_days)
    return frames, inc, campaign


# Views of 3,000-3,200 a day (median 3,100) with 150 likes, and on 22 Dec 48,000 views with 160
# likes (views bought: nothing else moved); a quiet 100 later on is a fall, not a spike.
VIEWS = [3000, 3100, 3200, 3050, 3150, 3100, 3000, 3200, 3100, 3100, 3050, 3150, 3100, 48000, 100]
LIKES = [150] * 13 + [160, 150]


@pytest.fixture
def small_campaign():
    return _campaign_frames(VIEWS, LIKES, events=())


def test_views_without_the_engagement_that_comes_with_them_are_flagged_with_both_numbers(small_campaign):
    out = anomalies(*small_campaign)
    views = out[out["metric"] == "views"]
    assert views["day"].tolist() == [pd.Timestamp(LAUNCH)] * 2  # robust_z and hampel, nothing else
    z = views[views["detector"] == "robust_z"].iloc[0]
    assert z["typical"] == 3100 and z["value"] == 48000 and z["influencer"] == "Ana"
    assert z["reason"] == ("views 48,000 vs typical 3,100/day (robust z 605.7); engagements 160 vs typical 150/day: "
                           "views without the engagement that usually comes with them; no post published that day")


def test_a_rise_that_engagement_shares_is_a_posting_day_not_a_flag():
    # The same 48,000 views with 2,400 likes: a post doing well, not views from nowhere.
    out = anomalies(*_campaign_frames(VIEWS, [150] * 13 + [2400, 150], events=()))
    assert out[out["detector"].isin(["robust_z", "hampel"]) & out["metric"].isin(["views", "engagements"])].empty


def test_engagement_without_the_views_that_come_with_it_is_flagged():
    out = anomalies(*_campaign_frames([3100] * 13 + [3300, 3100], [150] * 13 + [4000, 150], events=()))
    e = out[(out["metric"] == "engagements") & (out["detector"] == "robust_z")]
    assert e["day"].tolist() == [pd.Timestamp(LAUNCH)]
    assert e.iloc[0]["reason"].startswith("engagements 4,000 vs typical 150/day (robust z ")
    assert "views 3,300 vs typical 3,100/day: engagement without the views that usually come with it" \
        in e.iloc[0]["reason"]


def test_a_rise_on_a_campaign_event_day_is_expected_and_not_flagged():
    frames, inc, campaign = _campaign_frames(VIEWS, LIKES)
    assert campaign.events[0].day == LAUNCH
    assert anomalies(frames, inc, campaign).query("metric == 'views'").empty


def test_a_day_spread_from_a_longer_snapshot_interval_is_never_scored():
    # The 48,000 is a share of a week's growth spread over its days: not a day's figure.
    spread = [False] * 13 + [True, True]
    frames, inc, campaign = _campaign_frames(VIEWS, LIKES, events=(), interpolated=spread)
    assert anomalies(frames, inc, campaign).query("metric == 'views'").empty


def test_a_follower_spike_reads_like_the_worked_example(small_campaign):
    out = anomalies(*small_campaign)
    f = out[(out["metric"] == "followers_gained") & (out["detector"] == "robust_z")]
    assert len(f) == 1
    row = f.iloc[0]
    assert row["account"] == "ana.ig" and row["influencer"] == "Ana" and row["day"] == pd.Timestamp("2024-12-23")
    # robust z of the day among all 14 days (median 116.5, MAD 12.5), as flag_outliers computes it
    assert row["typical"] == 116.5
    assert row["reason"] == "+2,400 followers vs typical 116/day (robust z 123.2); no post published that day"


def test_an_impossible_post_is_reported_with_both_numbers_and_its_post_id(small_campaign):
    out = anomalies(*small_campaign)
    imp = out[out["detector"] == "impossible"]
    assert imp["metric"].tolist() == ["engagements", "shares"]  # 30 likes + 5,200 shares = 5,230
    row = imp.iloc[1]
    assert row["post_id"] == "1870123456789012345" and row["platform"] == "x"
    assert row["score"] == pytest.approx(5200 / 4100)
    assert row["reason"].startswith("shares 5,200 > views 4,100 on post 1870123456… in its lifetime totals")


def test_a_group_too_short_to_score_is_listed_not_flagged(small_campaign):
    frames, inc, campaign = small_campaign
    short = inc[inc["day"] >= "2024-12-18"]  # six days of views, the spike among them
    assert anomalies(frames, short, campaign).query("metric == 'views'").empty
    listed = not_scored(frames, short, campaign)
    assert listed[["influencer", "platform", "metric", "days"]].values.tolist() == [
        ["Ana", "instagram", "views", 6], ["Ana", "instagram", "engagements", 6]]
    assert listed["note"].tolist() == [
        "Instagram: only 6 days have a daily views figure, too few to say what is typical (needs 7)",
        "Instagram: only 6 days have a daily engagements figure, too few to say what is typical (needs 7)"]
    # Days spread from lifetime snapshots are no daily figure: a group of them is listed too.
    frames, inc, campaign = _campaign_frames(VIEWS, LIKES, events=(), interpolated=[True] * len(VIEWS))
    assert not_scored(frames, inc, campaign)["note"].tolist()[0] == \
        "Instagram: no day has a daily views figure, too few to say what is typical (needs 7)"


# --- posts: far beyond the usual, and deleted ------------------------------------------------------

def _posts_campaign(finals, published=None, deleted=False):
    """One TikTok account with a post per day of the given final views (likes 5% of them), each
    captured once on 30 Dec; with ``deleted`` the first post is captured again on 31 Dec at 0."""
    campaign = Campaign(timezone="UTC", events=(Event(LAUNCH, "Launch ceremony, Yiwu"),))
    n = len(finals)
    pub = published or [pd.Timestamp("2024-12-09 09:00", tz="UTC") + pd.Timedelta(days=k) for k in range(n)]
    posts = pd.DataFrame({"post_pk": range(1, n + 1), "platform": "tiktok",
                          "post_id": [f"74{k:017d}" for k in range(1, n + 1)], "account": "kofi", "account_pk": 7,
                          "influencer": "Kofi", "category": "international influencer", "published_at": pub,
                          "url": None, "title": None, "post_type": None})
    at = pd.Timestamp("2024-12-30 12:00", tz="UTC")
    rows = [dict(post_pk=k + 1, platform="tiktok", published_at=pub[k], captured_at=at,
                 **{m: np.nan for m in METRICS}) | dict(views=float(v), likes=float(v) * 0.05, comments=0.0, shares=0.0)
            for k, v in enumerate(finals)]
    if deleted:
        rows.append(dict(post_pk=1, platform="tiktok", published_at=pub[0], captured_at=at + pd.Timedelta(days=1),
                         **{m: np.nan for m in METRICS}) | dict(views=0.0, likes=0.0, comments=0.0, shares=0.0))
    frames = Frames(posts, pd.DataFrame(rows), pd.DataFrame(columns=["post_pk", "day", *METRICS]),
                    pd.DataFrame(columns=["platform", "account", "account_pk", "day", *METRICS]))
    inc = pd.DataFrame(columns=["post_pk", "day", "metric", "value", "interpolated", "corrected", "source"])
    return frames, inc, campaign


USUAL = [2000, 2600, 1800, 3100, 2200, 2500, 1900, 2800, 2300, 2400]


def test_a_post_far_beyond_the_usual_is_flagged_on_its_publish_day_with_both_numbers():
    out = anomalies(*_posts_campaign(USUAL + [80_000]))
    assert out["detector"].tolist() == ["outlier_post"]
    row = out.iloc[0]
    assert row["day"] == pd.Timestamp("2024-12-19") and row["post_id"] == "7400000000000000011"
    assert row["value"] == 80_000 and row["typical"] == pytest.approx(2400)  # the median post of the 11
    assert row["reason"].startswith("post 7400000000…: views 80,000 vs typical 2,400 per post (33 times; robust z ")
    assert row["reason"].endswith("engagements 4,000 vs typical 120 per post; published that day")
    assert localise(out, "zh")["reason"].iloc[0].startswith("帖子 7400000000…：浏览量 80,000，通常每帖 2,400（33 倍；")


def test_a_big_post_of_an_account_whose_posts_vary_a_lot_is_not_beyond_the_usual():
    # Nine times the typical post is big, but not ten times: and this account's posts vary widely.
    assert anomalies(*_posts_campaign(USUAL + [21_000])).empty
    # Ten times in views alone, with the likes of an ordinary post, is not "a post behind it".
    frames, inc, campaign = _posts_campaign(USUAL + [80_000])
    frames.snapshots.loc[frames.snapshots["post_pk"] == 11, "likes"] = 120.0
    assert anomalies(frames, inc, campaign).empty


def test_a_post_published_on_a_campaign_event_day_is_expected_to_be_big():
    pub = [pd.Timestamp("2024-12-12 09:00", tz="UTC") + pd.Timedelta(days=k) for k in range(11)]
    assert pub[-1].date() == LAUNCH
    assert anomalies(*_posts_campaign(USUAL + [80_000], published=pub)).empty


def test_a_post_whose_totals_fall_to_zero_is_flagged_as_deleted_on_the_day_it_shows():
    out = anomalies(*_posts_campaign(USUAL, deleted=True))
    assert out["detector"].tolist() == ["deleted"]
    row = out.iloc[0]
    assert row["day"] == pd.Timestamp("2024-12-31") and row["value"] == 0 and row["typical"] == 2000
    assert row["reason"] == ("post 7400000000…: views 0 in its lifetime totals as of 31 Dec 2024 12:00, after 2,000 "
                             "as of 30 Dec 2024 12:00: the post was deleted or hidden")
    assert localise(out, "zh")["reason"].iloc[0] == (
        "帖子 7400000000…：截至2024年12月31日 12:00的累计浏览量为 0，此前截至2024年12月30日 12:00为 2,000："
        "帖子已被删除或隐藏")


# --- a stalled account ------------------------------------------------------------------------------

def test_days_with_nothing_at_all_in_a_busy_series_are_one_stall_flag():
    views = [3100, 3000, 3200, 3050, 3150, 3100, 3000, 0, 0, 0, 0, 3200, 3100, 3100]
    out = anomalies(*_campaign_frames(views, [150] * 7 + [0] * 4 + [150] * 3, events=()))
    stall = out[out["detector"] == "stalled"]
    assert stall[["day", "metric", "value", "score"]].values.tolist() == [[pd.Timestamp("2024-12-16"), "views", 0, 4]]
    assert stall.iloc[0]["reason"] == ("no views at all for 4 days, 16 Dec 2024 to 19 Dec 2024, vs typical 3,075/day: "
                                       "the account went silent (suspended, restricted or left alone); "
                                       "no post published in those days")
    # Two quiet days are a lull, not a stall.
    views[9:11] = [3000, 3000]
    assert anomalies(*_campaign_frames(views, [150] * 14, events=())).query("detector == 'stalled'").empty


# --- reasons in Chinese ---------------------------------------------------------------------------

def test_a_follower_spike_reads_in_chinese_with_the_same_numbers(small_campaign):
    out = anomalies(*small_campaign, lang="zh")
    row = out[(out["metric"] == "followers_gained") & (out["detector"] == "robust_z")].iloc[0]
    assert row["reason"] == "新增粉丝 +2,400，通常为每天 116（稳健 z 值 123.2）；当天没有发布帖子"


def test_views_without_engagement_read_in_chinese_with_both_numbers(small_campaign):
    out = anomalies(*small_campaign, lang="zh")
    z = out[(out["metric"] == "views") & (out["detector"] == "robust_z")].iloc[0]
    assert z["reason"] == ("浏览量 48,000，通常为每天 3,100（稳健 z 值 605.7）；互动量 160，通常为每天 150：浏览量上升，"
                           "互动却没有随之增加；当天没有发布帖子")
    h = out[(out["metric"] == "views") & (out["detector"] == "hampel")].iloc[0]
    assert h["reason"].startswith("浏览量 48,000，前 7 天的中位数为每天 3,100（Hampel 滤波：+")


def test_an_impossible_post_reads_in_chinese_with_both_numbers_and_the_local_time(small_campaign):
    out = anomalies(*small_campaign, lang="zh")
    row = out[(out["detector"] == "impossible") & (out["metric"] == "shares")].iloc[0]
    assert row["reason"] == ("帖子 1870123456… 截至2024年12月27日 04:00的累计数据中：分享数 5,200 > 浏览量 4,100，"
                             "这不可能，属数据错误（导出文件混淆，或平台尚未修正完毕的计数）")


def test_flags_are_the_same_in_both_languages_but_for_the_words_and_localise_rewrites_them(small_campaign):
    en, zh = anomalies(*small_campaign), anomalies(*small_campaign, lang="zh")
    pd.testing.assert_frame_equal(en.drop(columns="reason"), zh.drop(columns="reason"))
    assert (en["reason"] != zh["reason"]).all()
    # A flag computed once (and cached) is shown in either language from its facts.
    assert localise(zh, "en")["reason"].tolist() == en["reason"].tolist()
    assert localise(en, "zh")["reason"].tolist() == zh["reason"].tolist()
    assert localise(en.iloc[0:0], "zh").empty


def test_series_too_short_to_score_are_listed_in_chinese(small_campaign):
    frames, inc, campaign = small_campaign
    listed = not_scored(frames, inc[inc["day"] >= "2024-12-18"], campaign, lang="zh")
    assert listed["note"].tolist() == [
        "Instagram：只有 6 天有每日浏览量数据，太少，无法判断正常水平（至少需要 7 天）",
        "Instagram：只有 6 天有每日互动量数据，太少，无法判断正常水平（至少需要 7 天）"]


def test_nothing_to_scan_gives_an_empty_frame_with_the_columns():
    empty = Frames(pd.DataFrame(columns=["post_pk", "platform", "post_id", "account", "account_pk", "influencer",
                                         "category", "published_at", "url", "title", "post_type"]),
                   pd.DataFrame(), pd.DataFrame(), pd.DataFrame(columns=["platform", "account", "account_pk", "day",
                                                                         *METRICS]))
    inc = pd.DataFrame(columns=["post_pk", "day", "metric", "value", "interpolated", "corrected", "source"])
    out = anomalies(empty, inc, Campaign())
    assert out.empty and "reason" in out.columns and "detector" in out.columns


# --- the demo campaign -------------------------------------------------------------------------
# How well the flags find the demo's planted events, on it and on other seeds: tests/test_anomaly_truth.py.

@pytest.fixture(scope="module")
def demo_flags(demo_db):
    from collectors.store import database
    from dashboard.analysis import config
    from dashboard.analysis.metrics import increments
    from dashboard.analysis.queries.frames import load_frames

    url = f"sqlite:///{demo_db}"
    campaign = config.load(ROOT / "campaign.toml")
    engine = database.connect(url, create=False)
    frames = load_frames(engine)
    engine.dispose()
    return anomalies(frames, increments(frames.snapshots, frames.post_days, campaign), campaign), campaign


def test_the_demo_has_a_few_flags_and_none_is_a_rise_on_a_campaign_event_day(demo_flags):
    flags, campaign = demo_flags
    assert 5 <= len(flags) <= 20
    events = {pd.Timestamp(e.day) for e in campaign.events}
    rises = flags[flags["detector"].isin(["robust_z", "hampel", "outlier_post"]) & (flags["score"] > 0)]
    assert not rises["day"].isin(events).any()
    assert {"robust_z", "stalled", "outlier_post", "deleted"} <= set(flags["detector"])


def test_every_demo_reason_in_chinese_states_its_number_and_no_english_words(demo_flags):
    flags, _ = demo_flags
    for _, r in localise(flags, "zh").iterrows():
        assert shown(r["value"], signed=r["metric"] == "followers_gained") in r["reason"], r["reason"]
        # Latin letters only in names: the campaign's event labels, the methods' names and "z".
        names = " ".join(" ".join(e) for e in r["facts"].get("events", ())) + " Hampel HypeAuditor z"
        assert set(re.findall(r"[A-Za-z]+", r["reason"])) <= set(re.findall(r"[A-Za-z]+", names)), r["reason"]


def test_every_demo_reason_states_the_numbers_it_reports(demo_flags):
    flags, _ = demo_flags
    assert len(flags)
    for _, r in flags.iterrows():
        assert shown(r["value"], signed=r["metric"] == "followers_gained") in r["reason"], r["reason"]
        if r["detector"] == "robust_z" and r["typical"] == 0:
            # A z-score against a typical day of none measures only the noise floor: words instead.
            assert "where a typical day has none" in r["reason"] and "robust z" not in r["reason"], r["reason"]
        elif not pd.isna(r["typical"]):
            said = {"outlier_post": " per post", "deleted": " as of"}.get(r["detector"], "/day")
            assert f"{shown(r['typical'])}{said}" in r["reason"], r["reason"]


def test_no_demo_flag_is_a_fall_in_views_or_engagements(demo_flags):
    flags, _ = demo_flags
    counts = flags[flags["metric"].isin(["views", "impressions", "engagements"])
                   & flags["detector"].isin(["robust_z", "hampel"])]
    assert (counts["value"] > counts["typical"]).all()

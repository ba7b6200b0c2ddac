"""One meaning per word (issue 12): the same influencer and week read the same "views or
impressions" on every screen, in the exports and in the weekly summary.

Before, Yiwu Market Daily had 1,292,108 "views" on Influencers and 1.52 M in the kiosk, and the
summary's platform mix summed to 2.06 M "views" beside a Views KPI of 1.59 M: each screen chose
between views and impressions on its own (per row, per group, per platform). Now one function
(``metrics.views_basis``) chooses per platform, and every place that compares volume across
platforms shows it under its own name; "Views" is views alone everywhere.

The expected figures are recomputed here from the engine's tidy daily rows (``daily_table`` by
influencer and platform), with the platforms' bases written out by hand: a second statement of
the rule, not a call of the code under test.
"""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from collectors.store import database
from dashboard.analysis import config, exports, leaderboard, metrics, platform_totals, queries, rollups, summary
from dashboard.cli import main
from dashboard.text.i18n import metric_name
from dashboard.web.pages import live as live_page

ROOT = Path(__file__).resolve().parents[1]
WEEK, LO, HI = "2025-W03", date(2025, 1, 13), date(2025, 1, 19)
BY_VIEWS = {"facebook", "instagram", "youtube", "tiktok", "douyin", "bilibili", "wechat"}
BY_IMPRESSIONS = {"x", "linkedin"}  # they report no views; Weibo reports neither


def _volume(rows: pd.DataFrame) -> pd.Series:
    return pd.Series([r.views if r.platform in BY_VIEWS else r.impressions if r.platform in BY_IMPRESSIONS
                      else float("nan") for r in rows.itertuples()], index=rows.index, dtype="float64")


@pytest.fixture(scope="module")
def week(demo_db):
    campaign = config.load(ROOT / "campaign.toml")
    engine = database.connect(f"sqlite:///{demo_db}", create=False)
    frames = queries.frames.load_frames(engine)
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    sel = metrics.Selection(start=LO, end=HI)
    tidy = metrics.daily_table(inc, frames.posts, campaign, by=("influencer", "platform"), sel=sel)
    tidy["v"] = _volume(tidy)
    yield campaign, engine, sel, tidy
    engine.dispose()


def test_the_basis_is_chosen_per_platform_from_what_its_exports_report():
    for p in BY_VIEWS:
        assert metrics.views_basis(p) == "views", p
    for p in BY_IMPRESSIONS:
        assert metrics.views_basis(p) == "impressions", p
    assert metrics.views_basis("weibo") is None
    rows = pd.DataFrame({"platform": ["youtube", "youtube", "x", "weibo"], "views": [10.0, None, None, None],
                         "impressions": [99.0, 7.0, 5.0, 3.0]})
    # Per platform, never per row: a YouTube row without views is not counted by its impressions.
    got = metrics.views_or_impressions(rows)
    assert got.iloc[0] == 10 and pd.isna(got.iloc[1]) and got.iloc[2] == 5 and pd.isna(got.iloc[3])


def test_an_influencer_reads_the_same_on_every_screen_in_the_exports_and_the_summary(week, demo_db, tmp_path):
    campaign, engine, sel, tidy = week
    expected = tidy.groupby("influencer")["v"].sum(min_count=1).dropna().sort_values(ascending=False)
    assert len(expected) > 20
    # Someone on a views platform and an impressions platform at once, where the old per-screen
    # choices disagreed, or the top of the week when the demo has none.
    both = [n for n in expected.index if {"views", "impressions"} <= {
        "views" if p in BY_VIEWS else "impressions" for p in tidy.loc[tidy["influencer"] == n, "platform"]}]
    checked = list(dict.fromkeys(both[:2] + list(expected.index[:3])))

    # The Influencers page's leaderboard for the week.
    board = leaderboard.leaderboard_db(engine, campaign, sel).set_index("influencer")
    # The kiosk's top influencers (the Live page's rollup rows by influencer and platform).
    by = rollups.query(engine, campaign, by=["influencer", "platform"], sel=sel)
    kiosk, _ = live_page.top_influencers(by, "views", n=len(expected))
    kiosk = kiosk.groupby("influencer")["value"].sum()
    # `reach export influencers` for the week, through the CLI.
    out = tmp_path / "inf.csv"
    assert main(["export", "influencers", "--db", f"sqlite:///{demo_db}", "--config", str(ROOT / "campaign.toml"),
                 "--from", LO.isoformat(), "--to", HI.isoformat(), "-o", str(out)]) == 0
    cli = pd.read_csv(out, encoding="utf-8-sig").set_index("influencer")
    # The weekly summary's top influencers.
    s = summary.build_summary_db(engine, campaign, WEEK)
    ranked = {r.name: r.views for r in s.top_influencers}
    assert set(ranked) <= set(expected.index) and len(ranked) == summary.TOP_N

    for name in checked:
        want = expected[name]
        assert board.loc[name, "views_or_impressions"] == pytest.approx(want, abs=1e-6), name
        assert kiosk[name] == pytest.approx(want, abs=1e-6), name
        assert cli.loc[name, "views_or_impressions"] == pytest.approx(want, abs=1e-3), name
        # "Views" stays views alone on the same screens.
        views = tidy.loc[tidy["influencer"] == name, "views"].sum(min_count=1)
        assert board.loc[name, "views"] == pytest.approx(views, abs=1e-6, nan_ok=True), name
    for name, v in ranked.items():
        assert v == pytest.approx(expected[name], abs=1e-6), name
    # The summary ranks the week's largest five.
    assert list(ranked) == list(expected.index[:summary.TOP_N])


def test_the_platform_mix_and_the_platforms_page_count_the_same_volume(week):
    campaign, engine, sel, tidy = week
    per = tidy.groupby("platform")["v"].sum(min_count=1).dropna()
    per = per[per > 0]
    s = summary.build_summary_db(engine, campaign, WEEK)
    mix = {m.platform: (m.views, m.basis) for m in s.platform_mix}
    assert set(mix) == set(per.index)
    for p, (v, basis) in mix.items():
        assert v == pytest.approx(per[p], abs=1e-6), p
        assert basis == ("views" if p in BY_VIEWS else "impressions"), p
    # The Platforms page: its weekly mix (the kiosk's too) and its volume panel.
    wm = platform_totals.weekly_mix(engine, campaign, sel, "views")
    wm = wm[wm["week"] == WEEK].set_index("platform")
    for p in per.index:
        assert wm.loc[p, "value"] == pytest.approx(per[p], abs=1e-6), p
        assert wm.loc[p, "basis"] == mix[p][1]
    tot = platform_totals.totals(engine, campaign, sel).set_index("platform")
    for p in per.index:
        assert metrics.views_or_impressions(tot.loc[[p]].reset_index()).iloc[0] == pytest.approx(per[p], abs=1e-6)
    # The summary's Views KPI is views alone: less than the mix wherever X or LinkedIn posted.
    views_kpi = s.kpi("views").value
    assert views_kpi == pytest.approx(tidy["views"].sum(), abs=1e-3)
    assert sum(v for v, _ in mix.values()) > views_kpi


def test_the_label_says_what_it_counts_in_both_languages(week):
    campaign, engine, sel, tidy = week
    assert metric_name(metrics.BASIS_METRIC, "en") == "Views or impressions"
    assert metric_name(metrics.BASIS_METRIC, "zh") == "浏览量或展示次数"
    s = summary.build_summary_db(engine, campaign, WEEK)
    for lang in ("en", "zh"):
        name = metric_name(metrics.BASIS_METRIC, lang)
        assert name in summary.render_html(s, lang)
        assert name.lower() in summary.render_text(s, lang).lower()
    # The exports name the column; the weekly tables too.
    assert "views_or_impressions" in exports.COMMON_COLUMNS
    assert "views_or_impressions" in exports.SUMMARY_INFLUENCER_COLUMNS
    assert "views_or_impressions" in exports.SUMMARY_MIX_COLUMNS
    daily = pd.read_csv(io.BytesIO(exports.to_csv_bytes(exports.daily_frame_db(
        engine, campaign, by=["influencer", "platform"], sel=sel))), encoding="utf-8-sig")
    got = daily.groupby("influencer")["views_or_impressions"].sum(min_count=1).dropna()
    want = tidy.groupby("influencer")["v"].sum(min_count=1).dropna()
    assert got.sort_index().to_numpy() == pytest.approx(want.sort_index().to_numpy(), abs=1e-3)

"""The pages at scale read only what they show, and show what they showed before.

* The anomaly scan on whole arrays flags exactly what the scan of one series at a time flagged:
  the old functions are kept below (``old_*``, as they were before issue 11) and both run on the
  demo campaign and on randomised campaigns (NaN days, gaps, flat series, corrections, accounts
  without posts).
* The narrow SQL behind the pages (posts published, reach, the leaderboard, the influencer list,
  the Live page's flags, the weekly summary) equals what the pages computed from the whole
  database with the metrics engine, on the demo campaign.
"""
from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pytest

from collectors.model import METRICS
from dashboard import anomalies as A
from dashboard import metrics
from dashboard.anomalies import (HAMPEL_K, MIN_DAYS, MIN_CHANGE, HYPEAUDITOR_FOLLOWERS_PER_DAY, COLUMNS,
                                 _beyond, _event_labels, _short_id, impossible_values, mad_floor, reason_text,
                                 robust_z)
from dashboard.config import Campaign, Event
from dashboard.metrics import _local_day, daily_table, engagements, latest_lifetime
from dashboard.queries import Frames


def _same_flags(new: pd.DataFrame, old: pd.DataFrame) -> None:
    assert list(new.columns) == list(old.columns)
    assert len(new) == len(old)
    pd.testing.assert_frame_equal(new.drop(columns=["facts"]), old.drop(columns=["facts"]), check_dtype=False,
                                  check_exact=True)
    assert list(new["facts"]) == list(old["facts"])


# --- the anomaly scan: old and new are the same ----------------------------------------------------

def random_campaign(seed: int, n_posts: int = 120):
    """Posts of a few influencers on three platforms over five weeks: lifetime snapshots (some
    falling: corrections; some with views never reported), daily rows, account days with follower
    gains (some unknown), an account without posts, spikes here and there."""
    rnd = random.Random(seed)
    tz = "Asia/Shanghai"
    start = pd.Timestamp("2025-01-06", tz="UTC")
    people = [f"P{i}" for i in range(rnd.randint(2, 6))]
    platforms = ["x", "tiktok", "instagram"]
    accounts = [(k + 1, rnd.choice(platforms), f"acct{k}", rnd.choice(people + [None])) for k in range(rnd.randint(3, 9))]
    posts, snaps, days = [], [], []
    for pk in range(1, n_posts + 1):
        acc = rnd.choice(accounts)
        pub = start + pd.Timedelta(minutes=rnd.randrange(0, 60 * 24 * 35))
        influencer = acc[3] if acc[3] else f"{acc[2]} (unassigned)"
        posts.append(dict(post_pk=pk, platform=acc[1], post_id=str(10 ** 18 + pk * 7919), account=acc[2],
                          account_pk=acc[0], influencer=influencer, category="c" if acc[3] else "unassigned",
                          published_at=pub if rnd.random() > 0.03 else pd.NaT, url=None, title=f"t{pk}",
                          post_type=None))
        views_known = acc[1] != "x" and rnd.random() > 0.1
        if rnd.random() < 0.8:
            v = 0.0
            at = pub if pub is not pd.NaT else start
            for _ in range(rnd.randint(1, 5)):
                at = at + pd.Timedelta(hours=rnd.randint(2, 90))
                v = max(0.0, v + rnd.choice([rnd.uniform(0, 5000), rnd.uniform(0, 5000), -rnd.uniform(0, 300),
                                             rnd.uniform(0, 200000) if rnd.random() < 0.05 else 0.0]))
                row = {m: np.nan for m in METRICS}
                row.update(impressions=v * 1.5, likes=v * rnd.uniform(0, 0.2), shares=v * rnd.uniform(0, 0.02),
                           comments=v * 0.01, reach=v * 0.8)
                if views_known:
                    row["views"] = v
                if rnd.random() < 0.02:
                    row["likes"] = v * 3  # impossible
                snaps.append(dict(post_pk=pk, platform=acc[1], published_at=pub, captured_at=at, **row))
        else:
            for d in range(rnd.randint(1, 12)):
                row = {m: np.nan for m in METRICS}
                row.update(views=float(rnd.randint(0, 3000)), likes=float(rnd.randint(0, 200)),
                           shares=float(rnd.randint(0, 10)))
                if rnd.random() < 0.03:
                    row["likes"] = 5000.0
                day = (pub if pub is not pd.NaT else start).tz_convert(tz).tz_localize(None).normalize()
                days.append(dict(post_pk=pk, day=day + pd.Timedelta(days=d), **row))
    ad = []
    for pk, platform, name, _ in accounts + [(99, "tiktok", "lonely", None)]:
        base = rnd.randint(0, 300)
        for d in range(rnd.randint(0, 30)):
            if rnd.random() < 0.15:
                continue  # a gap
            g = float(base + rnd.randint(-20, 20)) if rnd.random() > 0.1 else np.nan
            if rnd.random() < 0.05:
                g = float(rnd.choice([9000, -4000, 0]))
            ad.append({"platform": platform, "account": name, "account_pk": pk,
                       "day": pd.Timestamp("2025-01-06") + pd.Timedelta(days=d), **{m: np.nan for m in METRICS},
                       "followers_gained": g, "followers": np.nan})
    snap_cols = ["post_pk", "platform", "published_at", "captured_at", *METRICS]
    frames = Frames(pd.DataFrame(posts), pd.DataFrame(snaps, columns=snap_cols),
                    pd.DataFrame(days, columns=["post_pk", "day", *METRICS]),
                    pd.DataFrame(ad, columns=["platform", "account", "account_pk", "day", *METRICS, "followers"]))
    for f in (frames.snapshots, frames.post_days):
        for m in METRICS:
            f[m] = f[m].astype("float64")
    campaign = Campaign(timezone=tz, events=(Event(date(2025, 1, 20), "Launch"),))
    return frames, campaign


@pytest.mark.parametrize("seed", range(12))
def test_the_scan_on_whole_arrays_flags_exactly_what_the_scan_series_by_series_did(seed):
    frames, campaign = random_campaign(seed)
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    old = old_anomalies(frames, inc, campaign)
    new = A.anomalies(frames, inc, campaign)
    assert len(old) > 0 or seed > 3  # the comparison compares flags
    _same_flags(new, old)
    # Other thresholds and no minimum change: many more flags, still the same.
    kw = dict(threshold=2.0, window=5, n_sigmas=2.0, min_change={}, lang="zh")
    _same_flags(A.anomalies(frames, inc, campaign, **kw), old_anomalies(frames, inc, campaign, **kw))


def test_the_scan_on_whole_arrays_flags_exactly_what_it_did_on_the_demo(demo_db):
    from collectors import store
    from dashboard import config, queries
    from conftest import ROOT

    engine = store.connect(f"sqlite:///{demo_db}", create=False)
    frames = queries.load_frames(engine)
    engine.dispose()
    campaign = config.load(ROOT / "campaign.toml")
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    old = old_anomalies(frames, inc, campaign)
    assert len(old) > 10
    _same_flags(A.anomalies(frames, inc, campaign), old)


def random_daily(seed: int) -> pd.DataFrame:
    rnd = random.Random(seed)
    rows = []
    for g in range(rnd.randint(1, 8)):
        day = pd.Timestamp("2025-01-01")
        for _ in range(rnd.randint(0, 25)):
            day += pd.Timedelta(days=rnd.choice([1, 1, 1, 2, 4, 9]))
            v = rnd.choice([np.nan, 100.0, 100.0, float(rnd.randint(0, 300)), float(rnd.randint(0, 30000)), -50.0])
            rows.append(dict(influencer=rnd.choice(["a", "b", None]) if g % 3 == 0 else f"g{g}",
                             platform=rnd.choice(["x", "tiktok"]), day=day, views=v))
    return pd.DataFrame(rows, columns=["influencer", "platform", "day", "views"]).sample(frac=1, random_state=seed)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("direction", ["both", "up", "down"])
def test_each_detector_on_whole_arrays_equals_it_group_by_group(seed, direction):
    d = random_daily(seed)
    for cols in (("influencer", "platform"), ("platform",), ()):
        pd.testing.assert_frame_equal(A.flag_outliers(d, "views", cols, direction=direction),
                                      old_flag_outliers(d, "views", cols, direction=direction), check_dtype=False)
        pd.testing.assert_frame_equal(A.hampel(d, "views", cols, direction=direction, window=5, min_periods=3),
                                      old_hampel(d, "views", cols, direction=direction, window=5, min_periods=3),
                                      check_dtype=False)


# --- the pages' narrow reads equal the engine on the whole database --------------------------------

@pytest.fixture(scope="module")
def demo(demo_db, tmp_path_factory):
    import sqlite3

    from collectors import store
    from conftest import ROOT
    from dashboard import config, queries

    db = tmp_path_factory.mktemp("pages-scale") / "reach.db"
    with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:  # rollup queries may refresh
        src.backup(dst)
    engine = store.connect(f"sqlite:///{db}")
    campaign = config.load(ROOT / "campaign.toml")
    frames = queries.load_frames(engine)
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    yield engine, campaign, frames, inc
    engine.dispose()


SELECTIONS = ["", "?platform=x,instagram,youtube&from=2024-12-20&to=2025-01-05", "?category=merchant,journalist",
              "?from=2025-01-13&to=2025-01-19&platform=tiktok"]


def _close(got: pd.DataFrame, want: pd.DataFrame, key: str) -> None:
    """Same rows in the same order, the same text, numbers equal but for the order of summing."""
    assert list(got[key]) == list(want[key]) and len(got) > 0
    for c in want.columns:
        x, y = got[c], want[c]
        if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
            x, y = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            assert np.array_equal(np.isnan(x), np.isnan(y)), c
            assert np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-9, atol=0), c
        else:
            assert list(x.astype(object).where(x.notna(), None)) == list(y.astype(object).where(y.notna(), None)), c


def test_the_filter_bars_names_are_the_influencers_with_posts(demo):
    from dashboard import queries

    engine, _, frames, _ = demo
    assert queries.influencer_names(engine) == sorted(frames.posts["influencer"].dropna().unique())


@pytest.mark.parametrize("query", SELECTIONS)
def test_posts_published_and_reach_by_sql_equal_the_frames(demo, query):
    from dashboard import filters as F
    from dashboard import queries
    from dashboard.pages import platforms

    engine, campaign, frames, _ = demo
    sel = platforms.window(F.parse(query), campaign)
    for by in ([], ["platform"], ["influencer"]):
        pub = metrics._days(metrics._filter_posts(frames.posts, sel).assign(
            day=lambda p: metrics._local_day(p["published_at"], campaign.tz)), sel)
        want = (pub.groupby(by).agg(posts=("post_pk", "size"), active_influencers=("influencer", "nunique")).reset_index()
                if by else pd.DataFrame([dict(posts=len(pub), active_influencers=pub["influencer"].nunique())]))
        got = queries.published_counts(engine, campaign, sel, by=by)
        got = got.sort_values(by).reset_index(drop=True) if by else got
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        want = metrics.reach_table(frames.snapshots, frames.posts, campaign, by=by, sel=sel)
        got = queries.reach_range(engine, campaign, sel, by=by)
        if by:
            got, want = got.sort_values(by).reset_index(drop=True), want.sort_values(by).reset_index(drop=True)
        assert len(want) == len(got)
        if len(want):
            _close(got.assign(k=0), want[by + ["reach_max_post", "reach_sum", "reach_posts"]].assign(k=0), "k")


@pytest.mark.parametrize("query", SELECTIONS)
def test_the_platforms_table_from_sql_equals_the_one_from_the_frames(demo, query):
    from dashboard import filters as F
    from dashboard.pages import platforms

    engine, campaign, frames, _ = demo
    sel = platforms.window(F.parse(query), campaign)
    want = platforms.totals(engine, campaign, sel, frames)
    got = platforms.totals(engine, campaign, sel)
    _close(got, want, "platform")


@pytest.mark.parametrize("query", SELECTIONS)
def test_the_leaderboard_from_the_rollups_equals_the_one_from_the_engine(demo, query):
    from dashboard import filters as F
    from dashboard.pages import influencers

    engine, campaign, frames, _ = demo
    sel = influencers.view_selection(F.parse(query), campaign)
    want = influencers.leaderboard(frames, campaign, sel)
    got = influencers.leaderboard_db(engine, campaign, sel)
    assert list(got.columns) == list(want.columns)
    _close(got, want, "influencer")


def _canonical_flags(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["detector", "day", "influencer", "platform", "account", "post_id", "metric", "value", "typical",
            "score", "reason"]
    out = df[cols].astype({"value": float, "typical": float, "score": float})
    out[["value", "typical", "score"]] = out[["value", "typical", "score"]].round(6)
    return out.astype(str).sort_values(cols).reset_index(drop=True)


def test_the_live_pages_flags_from_the_rollups_are_the_engines_without_hampel(demo):
    from dashboard.pages import live

    engine, campaign, frames, inc = demo
    want = A.anomalies(frames, inc, campaign)
    want = want[want["detector"] != "hampel"]
    got = A.explain(live.live_flags(engine, campaign), campaign)
    assert len(got) == len(want) > 10
    pd.testing.assert_frame_equal(_canonical_flags(got), _canonical_flags(want))


def test_the_live_pages_impossible_values_from_sql_are_the_engines(sqlite_url, tmp_path):
    """The synthetic campaign of the query-plan test counts more likes than views on every post
    with snapshots, and random daily rows break the bound now and then."""
    from dashboard import config, queries, rollups
    from dashboard.pages import live
    from test_query_plans import CAMPAIGN_TOML, build_campaign

    engine = build_campaign(sqlite_url, n_posts=1500, per_account=30)
    (tmp_path / "campaign.toml").write_text(CAMPAIGN_TOML)
    campaign = config.load(str(tmp_path / "campaign.toml"))
    rollups.refresh(engine, campaign)
    frames = queries.load_frames(engine)
    want = A.anomalies(frames, metrics.increments(frames.snapshots, frames.post_days, campaign), campaign)
    want = want[want["detector"] != "hampel"]
    got = A.explain(live.live_flags(engine, campaign), campaign)
    assert len(got) == len(want) and (want["detector"] == "impossible").sum() > 1000
    assert set(want.loc[want["detector"] == "impossible", "facts"].map(lambda f: f["where"])) == {"daily", "lifetime"}
    pd.testing.assert_frame_equal(_canonical_flags(got), _canonical_flags(want))
    engine.dispose()


@pytest.mark.parametrize("seed", [3, 5, 8])
def test_flags_explained_later_read_as_flags_explained_at_once(seed):
    frames, campaign = random_campaign(seed)
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    daily, followers = A._series_inputs(frames, inc, campaign)
    checks = A._impossible_inputs(frames, campaign)
    at_once = A.scan(A._stacked(daily, followers), checks, frames.posts, campaign, lang="zh")
    later = A.explain(A.scan(A._stacked(daily, followers), checks, frames.posts, campaign, lang="zh",
                             explain_all=False), campaign, lang="zh")
    assert (at_once["detector"] == "impossible").sum() > 0
    assert list(later.columns) == list(at_once.columns)
    assert list(later["reason"]) == list(at_once["reason"]) and list(later["facts"]) == list(at_once["facts"])


def test_the_live_page_shows_the_same_kpis_and_flags_as_before(demo):
    from dashboard import filters as F
    from dashboard.pages import live
    from test_page_influencers import _texts

    engine, campaign, frames, inc = demo
    body = live.content(engine, campaign, F.parse("?metric=views"))
    from dash import html

    text = " ".join(_texts(html.Div(body)))
    sel = metrics.Selection(start=campaign.start, end=campaign.end)
    pub = metrics._days(metrics._filter_posts(frames.posts, sel).assign(
        day=lambda p: metrics._local_day(p["published_at"], campaign.tz)), sel)
    from dashboard.i18n import fmt_number

    assert fmt_number(len(pub), "en") in text and fmt_number(pub["influencer"].nunique(), "en") in text
    flags = A.anomalies(frames, inc, campaign)
    flags = flags[(flags["detector"] != "hampel") & (flags["day"] >= pd.Timestamp(sel.start))
                  & (flags["day"] <= pd.Timestamp(sel.end))]
    top = flags.sort_values(["day", "score"], ascending=[False, False]).head(8)
    for reason in top["reason"]:
        assert reason in text


def _same(a, b, where="summary"):
    """Equal, floats but for the order of summing."""
    import dataclasses

    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{k}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b)), (where, a, b)
    else:
        assert a == b, (where, a, b)


def test_the_weekly_summary_from_the_rollups_is_the_summary_from_the_engine(demo):
    from dashboard import summary

    engine, campaign, frames, _ = demo
    weeks = summary.build_summary(frames, campaign, "2025-W03").weeks
    assert len(weeks) >= 5
    for week in weeks:
        for lang in ("en", "zh"):
            want = summary.build_summary(frames, campaign, week, lang=lang)
            got = summary.build_summary_db(engine, campaign, week, lang=lang)
            _same(got, want, week)
            assert summary.render_html(got) == summary.render_html(want) or week  # formatting of equal numbers
    assert summary.latest_complete_week_db(engine, campaign) == summary.latest_complete_week(frames, campaign)


@pytest.mark.parametrize("sel", [dict(platforms=("x", "tiktok")), dict(categories=("merchant", "journalist")),
                                 dict(influencers=("Yiwu Trade Window 义乌商贸之窗",)), dict(start=date(2024, 12, 20), end=date(2025, 1, 8))])
def test_a_filtered_or_partial_summary_from_the_rollups_is_the_engines(demo, sel):
    from dashboard import summary

    engine, campaign, frames, _ = demo
    sel = metrics.Selection(**sel)
    compared = 0
    for week, today in (("2025-W02", None), ("2025-W03", date(2025, 1, 16)), ("2025-W01", None)):
        try:
            want = summary.build_summary(frames, campaign, week, today=today, sel=sel)
        except Exception as e:  # a week without data under this filter: the same refusal
            with pytest.raises(type(e), match=re.escape(str(e))):
                summary.build_summary_db(engine, campaign, week, today=today, sel=sel)
            continue
        _same(summary.build_summary_db(engine, campaign, week, today=today, sel=sel), want, week)
        compared += 1
    assert compared >= 2


def test_the_top_posts_come_from_the_candidates_whose_bound_can_still_win(demo, monkeypatch):
    """Only a few posts go through the engine, yet the list is the one from every post."""
    from dashboard import queries, summary

    engine, campaign, frames, _ = demo
    read = []
    real = queries.frames_of_posts
    monkeypatch.setattr(queries, "frames_of_posts", lambda e, pks: read.append(len(pks)) or real(e, pks))
    got = summary._top_posts_db(engine, campaign, metrics.Selection(), date(2025, 1, 13), date(2025, 1, 19))
    want = summary.build_summary(frames, campaign, "2025-W03").top_posts
    _same(got, want)
    published = len(queries.post_bounds(engine, campaign, metrics.Selection(start=date(2025, 1, 13),
                                                                             end=date(2025, 1, 19))))
    assert read and max(read) < published / 4


def test_on_sqlite_and_postgresql_the_narrow_reads_equal_the_engine(db_url, tmp_path):
    """The same checks on the synthetic campaign of the query-plan test, on both databases (their
    SQL differs: PostgreSQL joins grouped subqueries where SQLite probes per post)."""
    from dashboard import config, queries, rollups, summary
    from dashboard.pages import influencers, platforms
    from test_query_plans import CAMPAIGN_TOML, build_campaign

    engine = build_campaign(db_url, n_posts=1200, per_account=30)
    (tmp_path / "campaign.toml").write_text(CAMPAIGN_TOML)
    campaign = config.load(str(tmp_path / "campaign.toml"))
    rollups.refresh(engine, campaign)
    frames = queries.load_frames(engine)
    for sel in (metrics.Selection(start=campaign.start, end=campaign.end),
                metrics.Selection(start=date(2025, 3, 5), end=date(2025, 3, 12), platforms=("x", "youtube"))):
        for by in ([], ["platform"], ["influencer"]):
            want = metrics.reach_table(frames.snapshots, frames.posts, campaign, by=by, sel=sel)
            got = queries.reach_range(engine, campaign, sel, by=by)
            if by:
                got, want = got.sort_values(by).reset_index(drop=True), want.sort_values(by).reset_index(drop=True)
            _close(got.assign(k=0), want[by + ["reach_max_post", "reach_sum", "reach_posts"]].assign(k=0), "k")
        _close(platforms.totals(engine, campaign, sel), platforms.totals(engine, campaign, sel, frames), "platform")
        _close(influencers.leaderboard_db(engine, campaign, sel), influencers.leaderboard(frames, campaign, sel),
               "influencer")
    for week in ("2025-W10", "2025-W11", "2025-W12"):
        _same(summary.build_summary_db(engine, campaign, week), summary.build_summary(frames, campaign, week), week)
    engine.dispose()


# --- the old scan, as it was before issue 11 (one series, one group, one row at a time) -------------

def old_groups(daily: pd.DataFrame, group_cols: Sequence[str]):
    cols = list(group_cols)
    if not cols:
        yield (), daily
        return
    for key, g in daily.groupby(cols, sort=False, dropna=False, observed=True):
        yield key if isinstance(key, tuple) else (key,), g



def old_flag_outliers(daily: pd.DataFrame, value_col: str, group_cols: Sequence[str] = ("influencer", "platform"),
                  threshold: float = 3.5, min_days: int = MIN_DAYS, direction: str = "both") -> pd.DataFrame:
    """Each day against its group's days: the ``daily`` rows (one per group and day), sorted by
    group and day, with ``typical`` (the group median of ``value_col``), ``mad`` (after the floor),
    ``score`` (robust z), ``days`` (known days in the group), ``flagged`` (|score| > threshold) and
    ``note`` (why a row was not scored, else empty).

    Retrospective: the median and MAD include the day itself and later days. A group with fewer
    than ``min_days`` known days is not scored (score NaN, never flagged, a note says so); an
    unknown (NaN) day is not scored and does not count towards the median. ``direction`` "up"
    flags only days above typical, "down" only days below, "both" (the default) either."""
    out = daily.sort_values([*group_cols, "day"], kind="stable").copy()
    for c, v in (("typical", np.nan), ("mad", np.nan), ("score", np.nan), ("days", 0), ("flagged", False),
                 ("note", "")):
        out[c] = v
    for _, g in old_groups(out, group_cols):
        x = g[value_col].astype("float64")
        known = int(x.notna().sum())
        out.loc[g.index, "days"] = known
        if known < min_days:
            out.loc[g.index, "note"] = f"only {known} days with {value_col}: too few for a z-score (needs {min_days})"
            continue
        med = float(x.median())
        out.loc[g.index, "typical"] = med
        out.loc[g.index, "mad"] = max(float((x.dropna() - med).abs().median()), mad_floor(med))
        z = robust_z(x)
        out.loc[g.index, "score"] = z
        out.loc[g.index, "flagged"] = _beyond(z.to_numpy(), threshold, direction)
        out.loc[g.index[x.isna().to_numpy()], "note"] = f"{value_col} unknown on this day"
    return out



def old_hampel(daily: pd.DataFrame, value_col: str, group_cols: Sequence[str] = ("influencer", "platform"),
           window: int = 7, n_sigmas: float = 3.0, min_periods: int = 5, direction: str = "both") -> pd.DataFrame:
    """A trailing Hampel filter: each day against the median and MAD of the known values of its
    group in the ``window`` calendar days before it (never the day itself, never a later day).

    Returns the ``daily`` rows sorted by group and day, with ``typical`` (the trailing median),
    ``mad`` (after the floor), ``score`` ((x − median) / (1.4826 · MAD), in sigmas), ``days``
    (known days in the window), ``flagged`` (|score| > n_sigmas) and ``note``. A day with fewer
    than ``min_periods`` known days in its window is not scored: the first days of every group,
    and the days after a gap. ``direction`` as for ``flag_outliers``."""
    out = daily.sort_values([*group_cols, "day"], kind="stable").copy()
    for c, v in (("typical", np.nan), ("mad", np.nan), ("score", np.nan), ("days", 0), ("flagged", False),
                 ("note", "")):
        out[c] = v
    span = pd.Timedelta(days=window)
    for _, g in old_groups(out, group_cols):
        days = pd.to_datetime(g["day"]).to_numpy()
        x = g[value_col].astype("float64").to_numpy()
        typical, mads, score, n, notes = (np.full(len(g), np.nan), np.full(len(g), np.nan), np.full(len(g), np.nan),
                                          np.zeros(len(g), dtype=np.int64), [""] * len(g))
        for i in range(len(g)):
            prior = x[(days < days[i]) & (days >= days[i] - span)]
            prior = prior[~np.isnan(prior)]
            n[i] = len(prior)
            if math.isnan(x[i]):
                notes[i] = f"{value_col} unknown on this day"
                continue
            if len(prior) < min_periods:
                notes[i] = (f"only {len(prior)} known days in the {window} days before: "
                            f"too few for the Hampel filter (needs {min_periods})")
                continue
            med = float(np.median(prior))
            mad = max(float(np.median(np.abs(prior - med))), mad_floor(med))
            typical[i], mads[i] = med, mad
            score[i] = (x[i] - med) / (HAMPEL_K * mad)
        out.loc[g.index, "typical"] = typical
        out.loc[g.index, "mad"] = mads
        out.loc[g.index, "score"] = score
        out.loc[g.index, "days"] = n
        out.loc[g.index, "flagged"] = _beyond(score, n_sigmas, direction)
        out.loc[g.index, "note"] = notes
    return out



def old_basis(g: pd.DataFrame) -> str:
    """Views where the group reports them, impressions where it does not (X, LinkedIn)."""
    return "views" if g["views"].notna().any() else "impressions"


def old_series(frames, inc: pd.DataFrame, campaign: Campaign):
    """(metric, direction, rows with ``value`` and ``posts_published``) for every series scanned.

    Views and engagements are scanned for spikes only: after a post's first days its daily views
    fall steeply, and every such fall would otherwise be a "drop". Follower changes are scanned
    both ways, since a sudden loss can be a platform purging bought followers."""
    posts = frames.posts.dropna(subset=["published_at"])
    posts = posts.assign(day=_local_day(pd.to_datetime(posts["published_at"], utc=True), campaign.tz))
    daily = daily_table(inc, frames.posts, campaign, by=["influencer", "platform"])
    if len(daily):
        n = posts.groupby(["influencer", "platform", "day"]).size().rename("posts_published")
        daily = daily.join(n, on=["influencer", "platform", "day"])
        for _, g in daily.groupby(["influencer", "platform"], sort=True):
            for metric in (old_basis(g), "engagements"):
                yield metric, "up", g.assign(value=g[metric], account=None, account_pk=np.nan)
    ad = frames.account_days
    if len(ad) and ad["followers_gained"].notna().any():
        owner = frames.posts.drop_duplicates("account_pk").set_index("account_pk")["influencer"]
        n = posts.groupby(["account_pk", "day"]).size().rename("posts_published")
        ad = ad[ad["followers_gained"].notna()].join(n, on=["account_pk", "day"])
        ad = ad.assign(influencer=ad["account_pk"].map(owner).fillna(ad["account"]), value=ad["followers_gained"],
                       interpolated=False, corrected=False)
        for _, g in ad.groupby(["platform", "account_pk"], sort=True):
            yield "followers_gained", "both", g



def old_anomalies(frames, inc: pd.DataFrame, campaign: Campaign, threshold: float = 3.5, window: int = 7,
              n_sigmas: float = 3.0, min_change: dict | None = None, lang: str = "en") -> pd.DataFrame:
    """Every flag, one row each, with COLUMNS: detector (robust_z | hampel | impossible), day,
    influencer, platform, account (follower and post rows), post_pk and post_id (post rows),
    metric, value, typical, score, posts_published (posts the group or account published that
    day; empty for post rows) and reason.

    Scanned per influencer × platform: daily views (impressions where the group has no views)
    and engagements, for spikes; per account: daily followers_gained from account_days, both
    ways; per post: post-day rows and each post's latest lifetime snapshot, for impossible values.
    ``typical`` is the group median (robust_z), the trailing median (hampel) or empty
    (impossible, where ``score`` is value ÷ views). Series too short to score give no rows
    (``not_scored`` lists them). A flag whose distance from typical is under ``min_change``
    (MIN_CHANGE by default; pass {} for none) is dropped as too small to matter.

    ``reason`` is written in ``lang`` ("en" or "zh"); ``facts`` holds what it says as data, so
    ``localise(flags, lang)`` rewrites it in the other language without scanning again."""
    rows = []
    for metric, direction, s in old_series(frames, inc, campaign):
        scored = {"robust_z": old_flag_outliers(s, "value", group_cols=(), threshold=threshold, direction=direction),
                  "hampel": old_hampel(s, "value", group_cols=(), window=window, n_sigmas=n_sigmas, direction=direction)}
        for detector, r in scored.items():
            limit = (MIN_CHANGE if min_change is None else min_change).get(metric, 0)
            big = (r["value"] - r["typical"]).abs() >= limit
            for _, f in r[r["flagged"] & big].iterrows():
                rows.append(old_daily_flag(detector, metric, f, campaign, window, lang))
    rows += old_impossible_rows(frames, campaign, lang)
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.DataFrame(rows, columns=COLUMNS)
    order = {"robust_z": 0, "hampel": 1, "impossible": 2}
    out = out.sort_values(["day", "influencer", "platform", "metric", "detector"], kind="stable",
                          key=lambda c: c.map(order) if c.name == "detector" else c)
    return out.reset_index(drop=True)



def old_daily_flag(detector: str, metric: str, f: pd.Series, campaign: Campaign, window: int, lang: str) -> dict:
    value, typical, score = float(f["value"]), float(f["typical"]), float(f["score"])
    n = 0 if pd.isna(f["posts_published"]) else int(f["posts_published"])
    facts = dict(kind=detector, metric=metric, value=value, typical=typical, score=score, window=window, posts=n,
                 day=pd.Timestamp(f["day"]).date(),
                 hype=metric == "followers_gained" and value > HYPEAUDITOR_FOLLOWERS_PER_DAY,
                 interpolated=bool(f.get("interpolated", False)), corrected=bool(f.get("corrected", False)),
                 events=_event_labels(campaign, f["day"]))
    return dict(detector=detector, day=pd.Timestamp(f["day"]), influencer=f["influencer"], platform=f["platform"],
                account=f["account"], post_pk=None, post_id=None, metric=metric, value=value, typical=typical,
                score=score, posts_published=n, reason=reason_text(facts, lang), facts=facts)



def old_impossible_rows(frames, campaign: Campaign, lang: str = "en") -> list[dict]:
    posts = frames.posts.set_index("post_pk")
    checks = []
    if len(frames.post_days):
        checks.append(("daily", frames.post_days.assign(at=frames.post_days["day"])))
    if len(frames.snapshots):
        last = latest_lifetime(frames.snapshots).drop(columns=["platform", "published_at"])
        checks.append(("lifetime", last.assign(day=_local_day(last["captured_at"], campaign.tz),
                                                at=last["captured_at"])))
    rows = []
    for where, frame in checks:
        frame = frame.assign(engagements=engagements(frame, campaign))
        for _, r in impossible_values(frame, campaign.engagement).iterrows():
            p = posts.loc[r["post_pk"]] if r["post_pk"] in posts.index else pd.Series(dtype=object)
            facts = dict(kind="impossible", metric=r["metric"], value=float(r["value"]),
                         bound_metric=r["bound_metric"], bound=float(r["bound"]),
                         post=_short_id(p.get("post_id", r["post_pk"])), where=where,
                         day=pd.Timestamp(r["day"]).date(),
                         at=None if where == "daily" else pd.Timestamp(r["at"]).tz_convert(campaign.tz))
            rows.append(dict(detector="impossible", day=pd.Timestamp(r["day"]), influencer=p.get("influencer"),
                             platform=p.get("platform"), account=p.get("account"), post_pk=r["post_pk"],
                             post_id=p.get("post_id"), metric=r["metric"], value=float(r["value"]), typical=np.nan,
                             score=float(r["value"]) / float(r["bound"]), posts_published=None,
                             reason=reason_text(facts, lang), facts=facts))
    return rows



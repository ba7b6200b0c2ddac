"""Goals and their forecast: where a campaign stands against the targets in campaign.toml.

A goal (``config.Goal``, ``[[goals]]``) is a metric over a selection with a target:

* a **campaign total by a deadline** (``per`` absent): "20 M views by the campaign's end". Its
  value is the metric summed over the selection's days from the campaign start to today (the
  rollup's daily increments, so the same number as the Live page for that selection); "time gone"
  is the share of days from the start to the deadline that have passed.
* **each influencer in each ISO week** (``per = "influencer-week"``): "3 posts per influencer per
  week". Its value is, for the current ISO week (campaign timezone), each influencer's count so far.

The forecast (totals only) is a **damped additive trend** (Holt's linear method with a damped
trend, Gardner and McKenzie 1985) fitted to the daily totals of the complete days so far, its
three smoothing parameters chosen on a small grid by the one-step-ahead squared error. The
interval comes from simulation: future days are drawn as the model's forecast plus a residual
of the fit picked at random (bootstrapped residuals), each simulated day feeding the next, 2,000
paths; the 10th and 90th percentiles of the simulated totals at the deadline are the 80%
interval. Why this method: it needs nothing but the daily series, follows a launch's rise and a
campaign's slow decay without running away (the damping), and its interval widens with the
horizon. docs/metrics.md ("Goals and forecast") defines each number and gives its backtest on
the demo: how often the interval contained the final total (bench/forecast_backtest.py).

"On track" means the total is met, or the forecast's central value reaches the target by the
deadline; otherwise the goal is "behind by" target minus that value. A weekly goal is on track
for an influencer who has met the target or is at least at the linear pace (target x the share
of the week gone); "behind by N" counts the influencers who are not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import metrics, queries, rollups
from .config import Campaign, Goal

LEVEL = 0.8  # the forecast interval's coverage: the 10th to the 90th percentile of the simulations
SIMULATIONS = 2000
# Fewer complete days than this: too early to forecast (the linear pace meanwhile). Two weeks:
# forecast from the first week, right after a launch's peak, the demo's backtest held the truth
# in its interval a third of the time (docs/metrics.md).
MIN_DAYS = 14
ALPHAS = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
BETAS = np.array([0.01, 0.05, 0.1, 0.2, 0.3])
PHIS = np.array([0.8, 0.85, 0.9, 0.95, 0.98])


@dataclass(frozen=True)
class Forecast:
    """The total a daily series reaches after ``horizon`` more days: central value and interval,
    and the fitted parameters (for the record)."""
    total: float
    low: float
    high: float
    horizon: int
    alpha: float = float("nan")
    beta: float = float("nan")
    phi: float = float("nan")


def _fit(y: np.ndarray):
    """Holt's damped trend over every (alpha, beta, phi) of the grid at once: the states after the
    last day and the one-step-ahead errors of the best parameters."""
    a, b, p = (g.ravel() for g in np.meshgrid(ALPHAS, BETAS, PHIS, indexing="ij"))
    level = np.full(a.shape, y[0], dtype=float)
    trend = np.full(a.shape, y[1] - y[0] if len(y) > 1 else 0.0, dtype=float)
    errors = np.empty((len(y) - 1, a.size))
    for t in range(1, len(y)):
        ahead = level + p * trend
        errors[t - 1] = y[t] - ahead
        new_level = a * y[t] + (1 - a) * ahead
        trend = b * (new_level - level) + (1 - b) * p * trend
        level = new_level
    best = int(np.argmin((errors ** 2).sum(axis=0)))
    return a[best], b[best], p[best], level[best], trend[best], errors[:, best]


def damped_trend(y, horizon: int, *, simulations: int = SIMULATIONS, seed: int = 0) -> Forecast | None:
    """The sum of the next ``horizon`` values of the daily series ``y`` (oldest first), forecast
    by the damped trend; None when ``y`` has fewer than ``MIN_DAYS`` values. Days are counts, so a
    simulated day below zero counts as zero."""
    y = np.asarray(y, dtype=float)
    y = np.nan_to_num(y, nan=0.0)
    if len(y) < MIN_DAYS:
        return None
    if horizon <= 0:
        return Forecast(0.0, 0.0, 0.0, 0)
    alpha, beta, phi, level, trend, resid = _fit(y)
    steps = np.cumsum(phi ** np.arange(1, horizon + 1))
    central = float(np.clip(level + steps * trend, 0, None).sum())
    rng = np.random.default_rng(seed)
    lv = np.full(simulations, level)
    tr = np.full(simulations, trend)
    total = np.zeros(simulations)
    for _ in range(horizon):
        ahead = lv + phi * tr
        day = np.clip(ahead + rng.choice(resid, simulations), 0, None)
        total += day
        new_lv = alpha * day + (1 - alpha) * ahead
        tr = beta * (new_lv - lv) + (1 - beta) * phi * tr
        lv = new_lv
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(total, [tail, 1 - tail])
    return Forecast(central, float(min(low, central)), float(max(high, central)), horizon,
                    float(alpha), float(beta), float(phi))


@dataclass(frozen=True)
class Progress:
    """Where a total goal stands on ``today``: ``value`` of ``target`` (``share``), ``time_gone``
    of the days from the campaign start to the deadline, the forecast at the deadline (None when
    too early) and the verdict: "met", "on track" or "behind" (by ``behind_by``)."""
    goal: Goal
    today: date
    value: float
    target: float
    share: float
    time_gone: float
    forecast: Forecast | None
    projected: float | None  # the forecast's central total at the deadline
    status: str
    behind_by: float = 0.0


@dataclass(frozen=True)
class WeekProgress:
    """Where a weekly goal stands in ``week``: each influencer's ``value`` (a frame: influencer,
    value, met, on_pace), the share of the week gone, how many met it and ``behind`` (not on pace)."""
    goal: Goal
    week: str
    time_gone: float
    influencers: pd.DataFrame = field(repr=False)
    met: int
    behind: int
    status: str


def selection(goal: Goal, start: date | None, end: date | None) -> metrics.Selection:
    return metrics.Selection(start=start, end=end, platforms=goal.platforms, categories=goal.categories,
                             influencers=goal.influencers)


def daily(eng: sa.Engine, campaign: Campaign, goal: Goal, start: date | None, end: date | None,
          by=()) -> pd.DataFrame:
    """The goal's metric per local day (and per ``by``: influencer) over [start, end]: ``day``, *by,
    ``value``. Posts are counted on the day they were published; every other metric is the rollup's
    daily sum (the Live page's numbers)."""
    sel = selection(goal, start, end)
    by = list(by)
    if goal.metric == "posts":
        df = queries.posts.published_days(eng, campaign, sel, by=by)
        return df.rename(columns={"posts": "value"})[["day", *by, "value"]]
    df = rollups.query(eng, campaign, by=[*by, "day"], sel=sel)
    if df.empty:
        return pd.DataFrame({"day": pd.Series(dtype="datetime64[ns]"), **{b: pd.Series(dtype=object) for b in by},
                             "value": pd.Series(dtype=float)})
    return df.rename(columns={goal.metric: "value"})[["day", *by, "value"]].fillna({"value": 0.0})


def progress(eng: sa.Engine, campaign: Campaign, goal: Goal, today: date) -> Progress:
    """A total goal on ``today`` (campaign timezone): its value so far, time gone, forecast, verdict."""
    start = campaign.start
    deadline = goal.deadline or campaign.end
    through = min(today, deadline) if deadline else today
    rows = daily(eng, campaign, goal, start, through)
    value = float(rows["value"].sum())
    if start is None and len(rows):
        start = rows["day"].min().date()
    span = (deadline - start).days + 1 if (deadline and start) else 0
    gone = min(1.0, max(0.0, ((today - start).days + 1) / span)) if span > 0 else 1.0
    forecast, projected, behind_by = None, None, 0.0
    if value >= goal.target:
        status = "met"
    elif deadline is None or today > deadline:
        # The deadline has passed: what is missing stays missing.
        projected, status, behind_by = value, "behind", goal.target - value
    else:
        # Fit on the complete days (before today) and forecast today to the deadline: today's
        # partial count is part of the forecast's first day, not added to it.
        known = rows[rows["day"] < pd.Timestamp(today)].set_index("day")["value"]
        known = known.reindex(pd.date_range(start, today - timedelta(days=1)), fill_value=0.0) if start < today else known[:0]
        f = damped_trend(known.to_numpy(dtype=float), (deadline - today).days + 1)
        if f is not None:
            seen = float(known.sum())
            forecast = Forecast(seen + f.total, seen + f.low, seen + f.high, f.horizon, f.alpha, f.beta, f.phi)
            projected = forecast.total
            reached = projected
        else:
            reached = value / gone  # too early to forecast: the linear pace (value / time gone)
        status = "on track" if reached >= goal.target else "behind"
        behind_by = max(0.0, goal.target - reached) if status == "behind" else 0.0
    return Progress(goal, today, value, goal.target, value / goal.target, gone, forecast, projected, status, behind_by)


def week_progress(eng: sa.Engine, campaign: Campaign, goal: Goal, today: date) -> WeekProgress:
    """A weekly goal in the ISO week of ``today``: each influencer of the selection (with a post
    in the campaign) and their count so far; on pace when met or at least target x time gone. After
    the campaign's end (or the goal's deadline), its last week: a later week would count nothing."""
    today = min(d for d in (goal.deadline, campaign.end, today) if d is not None)
    monday = today - timedelta(days=today.weekday())
    rows = daily(eng, campaign, goal, monday, today, by=["influencer"])
    people = queries.names.influencers_in(eng, selection(goal, None, None))
    value = rows.groupby("influencer")["value"].sum() if len(rows) else pd.Series(dtype=float)
    gone = (today - monday).days + 1
    table = pd.DataFrame({"influencer": people})
    table["value"] = table["influencer"].map(value).fillna(0.0).astype(float)
    table["met"] = table["value"] >= goal.target
    table["on_pace"] = table["met"] | (table["value"] >= goal.target * gone / 7)
    table = table.sort_values(["on_pace", "value", "influencer"], ascending=[True, True, True]).reset_index(drop=True)
    behind = int((~table["on_pace"]).sum())
    return WeekProgress(goal, metrics.iso_week(pd.Series([pd.Timestamp(monday)])).iloc[0], gone / 7, table,
                        int(table["met"].sum()), behind, "behind" if behind else "on track")


def all_progress(eng: sa.Engine, campaign: Campaign, today: date) -> list:
    """Every goal of campaign.toml on ``today``, in the file's order."""
    return [week_progress(eng, campaign, g, today) if g.per else progress(eng, campaign, g, today)
            for g in campaign.goals]


def backtest(series: pd.Series, deadline_total: float, cutoffs, horizon_end: date) -> pd.DataFrame:
    """For each cutoff day: the forecast made with the days before it of the final total at
    ``horizon_end``, against ``deadline_total`` (the truth). ``series``: the daily values, indexed
    by day. Columns: cutoff, projected, low, high, truth, inside, error (projected / truth - 1)."""
    out = []
    for cut in cutoffs:
        known = series[series.index < pd.Timestamp(cut)]
        f = damped_trend(known.to_numpy(dtype=float), (horizon_end - cut).days + 1)
        if f is None:
            continue
        seen = float(known.sum())
        lo, hi, mid = seen + f.low, seen + f.high, seen + f.total
        out.append(dict(cutoff=cut, projected=mid, low=lo, high=hi, truth=deadline_total,
                        inside=lo <= deadline_total <= hi, error=mid / deadline_total - 1 if deadline_total else np.nan))
    return pd.DataFrame(out)

"""Anomalies: days and posts whose numbers deserve a second look, each with a reason in words.

Three detectors from docs/metrics.md (METRICS.md section 5.2), all pure functions of frames: a
robust z-score of each day against the median and MAD of its group's days (retrospective), a
trailing Hampel filter that compares each day only with the days before it (what a live alert
could have known), and checks for values that cannot be true (more likes, shares or engagements
than views). They flag, they do not judge: a launch-day spike, a giveaway or a press mention
looks exactly like bought engagement to a statistic, so every flag carries a plain-language
reason with the numbers behind it and names campaign events that explain it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .config import ENGAGEMENT_METRICS, Campaign
from .i18n import MONTHS_EN, fmt_date, metric_name, normalise_lang, platform_name, t
from .metrics import _local_day, daily_table, engagements, latest_lifetime

Z_CONSTANT = 0.6745  # Iglewicz & Hoaglin: makes MAD comparable with a normal standard deviation
HAMPEL_K = 1.4826  # 1 / 0.6745, the same constant the other way round
MIN_DAYS = 7  # below a week of days a median and MAD say little about what is typical
# Counts are whole numbers, so a perfectly flat series (MAD 0) gets a spread of one unit, or 1%
# of the median for large counts, rather than calling every departure from it infinitely unusual.
MIN_MAD = 1.0
MIN_MAD_FRACTION = 0.01
HYPEAUDITOR_FOLLOWERS_PER_DAY = 5000  # METRICS.md 5.1: ads alone rarely bring more in one day

COLUMNS = ["detector", "day", "influencer", "platform", "account", "post_pk", "post_id", "metric", "value",
           "typical", "score", "posts_published", "reason", "facts"]
IMPOSSIBLE_COLUMNS = ["metric", "value", "bound_metric", "bound"]


# --- the statistics ----------------------------------------------------------------------------

def mad_floor(median: float, min_mad: float = MIN_MAD, min_mad_fraction: float = MIN_MAD_FRACTION) -> float:
    """The smallest MAD the detectors divide by: max(min_mad, min_mad_fraction × |median|)."""
    return max(min_mad, min_mad_fraction * abs(median)) if not math.isnan(median) else min_mad


def robust_z(series: pd.Series, baseline: pd.Series | None = None, min_mad: float = MIN_MAD,
             min_mad_fraction: float = MIN_MAD_FRACTION) -> pd.Series:
    """Robust z-scores 0.6745 · (x − median) / MAD, the median and MAD taken from ``baseline``
    (default: the series itself). NaN values are ignored in the baseline and score NaN.

    MAD 0 (a flat series, or more than half the values equal): the MAD used is never below
    max(``min_mad``, ``min_mad_fraction`` × |median|), 1 and 1% by default, which suits counts.
    With both floors set to 0 a flat baseline scores 0 where x equals the median and ±inf
    elsewhere. An empty baseline scores NaN everywhere."""
    base = (series if baseline is None else baseline).astype("float64").dropna()
    x = series.astype("float64")
    if base.empty:
        return pd.Series(np.nan, index=series.index, dtype="float64")
    med = float(base.median())
    mad = max(float((base - med).abs().median()), mad_floor(med, min_mad, min_mad_fraction))
    dev = x - med
    if mad == 0:
        return dev.map(lambda d: d if math.isnan(d) else 0.0 if d == 0 else math.copysign(math.inf, d))
    return Z_CONSTANT * dev / mad


def _beyond(score: np.ndarray, limit: float, direction: str) -> np.ndarray:
    score = np.asarray(score, dtype="float64")
    if direction not in ("both", "up", "down"):
        raise ValueError(f"direction must be 'both', 'up' or 'down', not {direction!r}")
    with np.errstate(invalid="ignore"):
        up, down = score > limit, score < -limit
    return up | down if direction == "both" else up if direction == "up" else down


def _group_codes(out: pd.DataFrame, group_cols: Sequence[str]) -> np.ndarray:
    """A code per row of ``out`` (sorted by its groups), the same for the rows of one group."""
    cols = list(group_cols)
    if not cols:
        return np.zeros(len(out), dtype=np.int64)
    return out.groupby(cols, sort=False, dropna=False, observed=True).ngroup().to_numpy(dtype=np.int64)


def _row_medians(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``m`` (NaN = no value): the median of its values, as np.median computes it (the
    middle value, or the two middle values added and halved), and how many values it has."""
    s = np.sort(m, axis=1)  # NaN sorts last
    k = (~np.isnan(m)).sum(axis=1)
    rows = np.arange(len(m))
    hi = np.minimum(k // 2, max(m.shape[1] - 1, 0))
    lo = np.maximum(k // 2 - 1, 0)
    with np.errstate(invalid="ignore"):
        odd = s[rows, hi] if m.shape[1] else np.full(len(m), np.nan)
        even = (s[rows, lo] + s[rows, hi]) / 2 if m.shape[1] else np.full(len(m), np.nan)
    return np.where(k == 0, np.nan, np.where(k % 2 == 1, odd, even)), k


def _group_medians(codes: np.ndarray, x: np.ndarray, n_groups: int) -> np.ndarray:
    """The median of each group's known values (NaN for a group without any), as np.median."""
    known = ~np.isnan(x)
    c, v = codes[known], x[known]
    order = np.lexsort((v, c))
    c, v = c[order], v[order]
    size = np.bincount(c, minlength=n_groups)
    first = np.r_[0, np.cumsum(size)[:-1]]
    med = np.full(n_groups, np.nan)
    has = size > 0
    mid = first + size // 2
    odd = has & (size % 2 == 1)
    even = has & (size % 2 == 0)
    med[odd] = v[mid[odd]]
    med[even] = (v[mid[even] - 1] + v[mid[even]]) / 2
    return med


def flag_outliers(daily: pd.DataFrame, value_col: str, group_cols: Sequence[str] = ("influencer", "platform"),
                  threshold: float = 3.5, min_days: int = MIN_DAYS, direction: str = "both") -> pd.DataFrame:
    """Each day against its group's days: the ``daily`` rows (one per group and day), sorted by
    group and day, with ``typical`` (the group median of ``value_col``), ``mad`` (after the floor),
    ``score`` (robust z), ``days`` (known days in the group), ``flagged`` (|score| > threshold) and
    ``note`` (why a row was not scored, else empty).

    Retrospective: the median and MAD include the day itself and later days. A group with fewer
    than ``min_days`` known days is not scored (score NaN, never flagged, a note says so); an
    unknown (NaN) day is not scored and does not count towards the median. ``direction`` "up"
    flags only days above typical, "down" only days below, "both" (the default) either.

    Every group at once, on arrays (medians by one sort of group and value): the same numbers as
    ``robust_z`` of each group alone, without a Python loop over groups."""
    _beyond(np.empty(0), threshold, direction)  # a bad direction fails before any work
    out = daily.sort_values([*group_cols, "day"], kind="stable").copy()
    x = out[value_col].astype("float64").to_numpy()
    codes = _group_codes(out, group_cols)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    known = np.bincount(codes, weights=~np.isnan(x), minlength=n_groups).astype(np.int64)
    med = _group_medians(codes, x, n_groups)
    mad = _group_medians(codes, np.abs(x - med[codes]), n_groups)
    floor = np.where(np.isnan(med), MIN_MAD, np.maximum(MIN_MAD, MIN_MAD_FRACTION * np.abs(med)))
    mad = np.maximum(mad, floor)  # NaN (no values) only in groups that are not scored anyway
    scored = (known >= min_days)[codes]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = Z_CONSTANT * (x - med[codes]) / mad[codes]
    typical = np.where(scored, med[codes], np.nan)
    note = np.full(len(out), "", dtype=object)
    note[scored & np.isnan(x)] = f"{value_col} unknown on this day"
    short = np.flatnonzero(~scored)
    if len(short):
        note[short] = [f"only {k} days with {value_col}: too few for a z-score (needs {min_days})"
                       for k in known[codes[short]]]
    out["typical"] = typical
    out["mad"] = np.where(scored, mad[codes], np.nan)
    out["score"] = np.where(scored, z, np.nan)
    out["days"] = known[codes]
    out["flagged"] = np.where(scored, _beyond(z, threshold, direction), False)
    out["note"] = list(note)
    return out


def hampel(daily: pd.DataFrame, value_col: str, group_cols: Sequence[str] = ("influencer", "platform"),
           window: int = 7, n_sigmas: float = 3.0, min_periods: int = 5, direction: str = "both") -> pd.DataFrame:
    """A trailing Hampel filter: each day against the median and MAD of the known values of its
    group in the ``window`` calendar days before it (never the day itself, never a later day).

    Returns the ``daily`` rows sorted by group and day, with ``typical`` (the trailing median),
    ``mad`` (after the floor), ``score`` ((x − median) / (1.4826 · MAD), in sigmas), ``days``
    (known days in the window), ``flagged`` (|score| > n_sigmas) and ``note``. A day with fewer
    than ``min_periods`` known days in its window is not scored: the first days of every group,
    and the days after a gap. ``direction`` as for ``flag_outliers``.

    Every day of every group at once: the rows before a day within its window are a run of the
    sorted rows (found by binary search), laid out as a matrix with a row per day, whose medians
    are taken along the rows."""
    _beyond(np.empty(0), n_sigmas, direction)
    out = daily.sort_values([*group_cols, "day"], kind="stable").copy()
    n = len(out)
    days = pd.to_datetime(out["day"]).to_numpy()
    if n and np.isnat(days).any():
        return _hampel_loop(out, value_col, group_cols, window, n_sigmas, min_periods, direction)
    x = out[value_col].astype("float64").to_numpy()
    codes = _group_codes(out, group_cols)
    span = np.timedelta64(pd.Timedelta(days=window).value, "ns")
    t = days.astype("datetime64[ns]")
    # (group, time) as one sortable integer: times ranked among every time and window start.
    ranks = np.unique(np.r_[t, t - span])
    width = len(ranks) + 1
    key = codes * width + np.searchsorted(ranks, t)
    hi = np.searchsorted(key, key, side="left")  # the first row of the group on this day
    lo = np.searchsorted(key, codes * width + np.searchsorted(ranks, t - span), side="left")
    depth = int((hi - lo).max()) if n else 0
    prior = np.full((n, depth), np.nan)
    for j in range(depth):  # at most ``window`` columns for one row per day
        at = lo + j
        ok = at < hi
        prior[ok, j] = x[at[ok]]
    med, count = _row_medians(prior)
    with np.errstate(invalid="ignore"):
        mad, _ = _row_medians(np.abs(prior - med[:, None]))
    floor = np.where(np.isnan(med), MIN_MAD, np.maximum(MIN_MAD, MIN_MAD_FRACTION * np.abs(med)))
    mad = np.maximum(mad, floor)
    unknown = np.isnan(x)
    scored = ~unknown & (count >= min_periods)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(scored, (x - med) / (HAMPEL_K * mad), np.nan)
    note = np.full(n, "", dtype=object)
    note[unknown] = f"{value_col} unknown on this day"
    few = np.flatnonzero(~unknown & (count < min_periods))
    if len(few):
        note[few] = [f"only {k} known days in the {window} days before: too few for the Hampel filter "
                     f"(needs {min_periods})" for k in count[few]]
    out["typical"] = np.where(scored, med, np.nan)
    out["mad"] = np.where(scored, mad, np.nan)
    out["score"] = score
    out["days"] = count.astype(np.int64)
    out["flagged"] = _beyond(score, n_sigmas, direction)
    out["note"] = list(note)
    return out


def _hampel_loop(out: pd.DataFrame, value_col: str, group_cols: Sequence[str], window: int, n_sigmas: float,
                 min_periods: int, direction: str) -> pd.DataFrame:
    """``hampel`` day by day, for days that are not all known times (NaT never falls in a window)."""
    for c, v in (("typical", np.nan), ("mad", np.nan), ("score", np.nan), ("days", 0), ("flagged", False),
                 ("note", "")):
        out[c] = v
    span = pd.Timedelta(days=window)
    codes = _group_codes(out, group_cols)
    for code in np.unique(codes):
        g = out[codes == code]
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
        rows = np.flatnonzero(codes == code)
        for col, values in (("typical", typical), ("mad", mads), ("score", score), ("days", n)):
            out.iloc[rows, out.columns.get_loc(col)] = values
        out.iloc[rows, out.columns.get_loc("flagged")] = _beyond(score, n_sigmas, direction)
        out.iloc[rows, out.columns.get_loc("note")] = notes
    return out


def impossible_values(frame: pd.DataFrame, engagement: Sequence[str] = ENGAGEMENT_METRICS) -> pd.DataFrame:
    """Rows (post-days or posts' lifetime totals) with more engagements, shares or likes than
    views: a data error, since every one of those actions needs a view.

    The bound is views where known and above 0, else impressions where known and above 0 (never
    fewer than views); rows with neither are not checked. ``engagements`` is the frame's own
    column when it has one, else the sum of ``engagement``. Returns one row per row and metric
    that breaks the bound: the frame's columns other than metrics, then ``metric``, ``value``,
    ``bound_metric`` (views or impressions) and ``bound``."""
    f = frame.copy()
    if "engagements" not in f:
        cols = [m for m in engagement if m in f]
        f["engagements"] = f[cols].sum(axis=1, min_count=1) if cols else np.nan
    views = f["views"].astype("float64") if "views" in f else pd.Series(np.nan, index=f.index)
    impressions = f["impressions"].astype("float64") if "impressions" in f else pd.Series(np.nan, index=f.index)
    use_views = views > 0
    bound = views.where(use_views, impressions.where(impressions > 0))
    bound_metric = pd.Series(np.where(use_views, "views", "impressions"), index=f.index)
    from collectors.model import METRICS

    ident = [c for c in f.columns if c not in METRICS and c != "engagements"]
    parts = []
    for m in ("engagements", "shares", "likes"):
        if m not in f:
            continue
        v = f[m].astype("float64")
        bad = (v > bound).fillna(False)
        if bad.any():
            parts.append(f.loc[bad, ident].assign(metric=m, value=v[bad], bound_metric=bound_metric[bad],
                                                  bound=bound[bad]))
    if not parts:
        return pd.DataFrame(columns=ident + IMPOSSIBLE_COLUMNS)
    return pd.concat(parts).sort_index(kind="stable").reset_index(drop=True)


# --- words ---------------------------------------------------------------------------------------
# A flag keeps what its reason says as data (``facts``: a dict of plain values), and ``reason_text``
# writes the sentence from it in either UI language. So a flag computed once (and cached, see
# dashboard/cache.py) can be shown in English and in Chinese, and ``reason`` is one rendering of it.

def fmt(x: float, signed: bool = False) -> str:
    """A count as people read it: thousands separators, whole numbers from 10 up, one decimal below.
    The same in both languages (Chinese writes 48,000 with commas too, as i18n.fmt_number does)."""
    sign = "+" if signed else ""
    if abs(x) >= 10 or float(x).is_integer():
        return f"{x:{sign},.0f}"
    return f"{x:{sign},.1f}"


def _day_words(day, lang: str = "en") -> str:
    """22 Dec 2024 / 2024年12月22日."""
    return fmt_date(pd.Timestamp(day).date(), lang)


def _time_words(ts, lang: str) -> str:
    """A local time: 27 Dec 2024 12:00 (day with a leading zero, as the reasons always wrote it) /
    2024年12月27日 12:00. Month names from i18n, not strftime's %b, which follows the server locale."""
    ts = pd.Timestamp(ts)
    if normalise_lang(lang) == "zh":
        return f"{fmt_date(ts, lang)} {ts:%H:%M}"
    return f"{ts:%d} {MONTHS_EN[ts.month - 1]} {ts:%Y %H:%M}"


def _metric_word(metric: str, lang: str) -> str:
    # English reasons name the column as the data and the exports do (views, shares), so a reason
    # can be searched for; Chinese uses the metric's display name.
    return metric if normalise_lang(lang) == "en" else metric_name(metric, lang)


def _what(metric: str, value: float, lang: str = "en") -> str:
    if metric == "followers_gained":
        return t("anomaly.followers", lang, value=fmt(value, signed=True))
    return f"{_metric_word(metric, lang)} {fmt(value)}"


def reason_text(facts: dict, lang: str = "en") -> str:
    """The reason of one flag, in ``lang``, from its ``facts`` (a row's ``facts`` column)."""
    if facts["kind"] == "impossible":
        when = (t("anomaly.on_day", lang, day=_day_words(facts["day"], lang)) if facts["where"] == "daily"
                else t("anomaly.lifetime", lang, time=_time_words(facts["at"], lang)))
        return t("anomaly.impossible", lang, metric=_metric_word(facts["metric"], lang), value=fmt(facts["value"]),
                 bound_metric=_metric_word(facts["bound_metric"], lang), bound=fmt(facts["bound"]),
                 post=facts["post"], when=when)
    what = _what(facts["metric"], facts["value"], lang)
    if facts["kind"] == "robust_z":
        text = t("anomaly.robust_z", lang, what=what, typical=fmt(facts["typical"]), score=f"{facts['score']:.1f}")
    else:
        text = t("anomaly.hampel", lang, what=what, typical=fmt(facts["typical"]), window=facts["window"],
                 score=f"{facts['score']:+.1f}")
    n = facts["posts"]
    said = [t("anomaly.no_post", lang) if n == 0 else t("anomaly.one_post" if n == 1 else "anomaly.posts", lang, n=n)]
    if facts["hype"]:
        said.append(t("anomaly.hype", lang, limit=f"{HYPEAUDITOR_FOLLOWERS_PER_DAY:,}"))
    if facts["interpolated"]:
        said.append(t("anomaly.interpolated", lang))
    if facts["corrected"]:
        said.append(t("anomaly.corrected", lang))
    said += [t("anomaly.event", lang, day=_day_words(facts["day"], lang), label=_label(label, lang))
             for label in facts["events"]]
    return text + "".join(t("punct.semicolon", lang) + s for s in said)


def localise(flags: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``flags`` (rows of ``anomalies``) with ``reason`` written in ``lang``."""
    if flags.empty or "facts" not in flags:
        return flags
    return flags.assign(reason=[reason_text(f, lang) for f in flags["facts"]])


def _label(label, lang: str) -> str:
    # Facts hold an event as (label, label_zh), so one computation serves both languages.
    if isinstance(label, str):
        return label
    en, zh = label
    return zh if lang == "zh" and zh else en


def _event_labels(campaign: Campaign, day) -> tuple[tuple[str, str], ...]:
    day = pd.Timestamp(day).date()
    return tuple((e.label, e.label_zh) for e in campaign.events if e.day == day)


# --- the scan ----------------------------------------------------------------------------------

def _basis(g: pd.DataFrame) -> str:
    """Views where the group reports them, impressions where it does not (X, LinkedIn)."""
    return "views" if g["views"].notna().any() else "impressions"


def _series(frames, inc: pd.DataFrame, campaign: Campaign):
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
            for metric in (_basis(g), "engagements"):
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


# A flag must also be large in absolute terms: "+14 followers vs typical 3/day" is a real outlier
# statistically and nothing a campaign team needs to look at.
MIN_CHANGE = {"views": 1000, "impressions": 1000, "engagements": 100, "followers_gained": 100}


def anomalies(frames, inc: pd.DataFrame, campaign: Campaign, threshold: float = 3.5, window: int = 7,
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
    daily, followers = _series_inputs(frames, inc, campaign)
    checks = _impossible_inputs(frames, campaign)
    return scan(_stacked(daily, followers), checks, frames.posts, campaign, threshold, window, n_sigmas,
                min_change, lang)


def _series_inputs(frames, inc: pd.DataFrame, campaign: Campaign) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the series are made of, from the engine's frames: activity per influencer, platform
    and day (with ``posts_published``), and the account days that know followers_gained (with
    ``influencer`` and ``posts_published``). ``stacked`` turns them into the series."""
    posts = frames.posts.dropna(subset=["published_at"])
    posts = posts.assign(day=_local_day(pd.to_datetime(posts["published_at"], utc=True), campaign.tz))
    daily = daily_table(inc, frames.posts, campaign, by=["influencer", "platform"])
    if len(daily):
        n = posts.groupby(["influencer", "platform", "day"]).size().rename("posts_published")
        daily = daily.join(n, on=["influencer", "platform", "day"])
    ad = frames.account_days
    if len(ad) and ad["followers_gained"].notna().any():
        owner = frames.posts.drop_duplicates("account_pk").set_index("account_pk")["influencer"]
        n = posts.groupby(["account_pk", "day"]).size().rename("posts_published")
        ad = ad[ad["followers_gained"].notna()].join(n, on=["account_pk", "day"])
        ad = ad.assign(influencer=ad["account_pk"].map(owner).fillna(ad["account"]))
    else:
        ad = ad.iloc[0:0]
    return daily, ad


SERIES_COLUMNS = ["_sid", "_metric", "_up", "day", "influencer", "platform", "account", "value", "posts_published",
                  "interpolated", "corrected", "_account_pk"]


def _stacked(daily: pd.DataFrame, followers: pd.DataFrame) -> pd.DataFrame:
    """Every series scanned, one below the other, numbered (``_sid``) in the order ``_series``
    yields them: per influencer and platform (sorted) its views, else impressions, then its
    engagements; then per platform and account (sorted) followers_gained. ``_up``: spikes only."""
    parts = []
    if len(daily):
        d = daily.dropna(subset=["influencer", "platform"]).sort_values(["influencer", "platform"], kind="stable")
        gid = d.groupby(["influencer", "platform"], sort=True).ngroup().to_numpy(dtype=np.int64)
        has_views = pd.Series(d["views"].notna().to_numpy()).groupby(gid).transform("any").to_numpy(dtype=bool)
        common = dict(day=d["day"].to_numpy(), influencer=d["influencer"].to_numpy(dtype=object),
                      platform=d["platform"].to_numpy(dtype=object), account=None,
                      posts_published=d["posts_published"].to_numpy(dtype="float64"),
                      interpolated=d["interpolated"].to_numpy(dtype=bool),
                      corrected=d["corrected"].to_numpy(dtype=bool), _up=True, _account_pk=None)
        basis = np.where(has_views, d["views"].to_numpy(dtype="float64"), d["impressions"].to_numpy(dtype="float64"))
        parts.append(pd.DataFrame(dict(common, _sid=2 * gid, _metric=np.where(has_views, "views", "impressions"),
                                       value=basis)))
        parts.append(pd.DataFrame(dict(common, _sid=2 * gid + 1, _metric="engagements",
                                       value=d["engagements"].to_numpy(dtype="float64"))))
    if len(followers):
        base = 2 * (int(parts[0]["_sid"].max()) // 2 + 1) if parts else 0
        a = followers.dropna(subset=["platform", "account_pk"]).sort_values(["platform", "account_pk"], kind="stable")
        gid = a.groupby(["platform", "account_pk"], sort=True).ngroup().to_numpy(dtype=np.int64)
        parts.append(pd.DataFrame(dict(
            _sid=base + gid, _metric="followers_gained", _up=False, day=a["day"].to_numpy(),
            influencer=a["influencer"].to_numpy(dtype=object), platform=a["platform"].to_numpy(dtype=object),
            account=a["account"].to_numpy(dtype=object), value=a["followers_gained"].to_numpy(dtype="float64"),
            posts_published=a["posts_published"].to_numpy(dtype="float64"), interpolated=False, corrected=False,
            _account_pk=a["account_pk"].to_numpy(dtype=object))))
    if not parts:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SERIES_COLUMNS]


def scan(series: pd.DataFrame, checks: list, posts: pd.DataFrame, campaign: Campaign, threshold: float = 3.5,
         window: int = 7, n_sigmas: float = 3.0, min_change: dict | None = None, lang: str = "en",
         detectors=("robust_z", "hampel"), explain_all: bool = True) -> pd.DataFrame:
    """``anomalies`` from its inputs: the stacked series (``_stacked``), the frames checked for
    impossible values (``_impossible_inputs``) and the posts (post_pk, post_id, influencer,
    platform, account) those name. Both detectors run once over every series together; a view
    that shows no Hampel flags (Live) asks for ``detectors=("robust_z",)``.

    With ``explain_all=False`` the impossible-value rows (one per post and metric: hundreds of
    thousands in a big campaign whose export counts likes oddly) come without ``reason`` and
    ``facts``, built on whole columns; ``explain`` writes them for the few rows a page shows."""
    limits = MIN_CHANGE if min_change is None else min_change
    rows = []
    if len(series) and detectors:
        picked = []
        for rank, detector in enumerate(("robust_z", "hampel")):
            if detector not in detectors:
                continue
            r = (flag_outliers(series, "value", group_cols=("_sid",), threshold=threshold) if rank == 0 else
                 hampel(series, "value", group_cols=("_sid",), window=window, n_sigmas=n_sigmas))
            limit = r["_metric"].map(lambda m: limits.get(m, 0)).to_numpy(dtype="float64")
            score = r["score"].to_numpy(dtype="float64")
            up = r["_up"].to_numpy(dtype=bool)
            flagged = np.where(up, _beyond(score, threshold if rank == 0 else n_sigmas, "up"), r["flagged"].to_numpy())
            with np.errstate(invalid="ignore"):
                big = np.abs(r["value"].to_numpy(dtype="float64") - r["typical"].to_numpy(dtype="float64")) >= limit
            picked.append(r[flagged & big].assign(_detector=detector, _rank=rank))
        # In the order the series were scanned: each series' z-score flags, then its Hampel flags.
        found = (pd.concat(picked).sort_values(["_sid", "_rank"], kind="stable")
                 .rename(columns={"_detector": "detector_", "_metric": "metric_"}))
        if explain_all:
            rows += [_daily_flag(f.detector_, f.metric_, f, campaign, window, lang)
                     for f in found[["detector_", "metric_", "day", "influencer", "platform", "account", "value",
                                     "typical", "score", "posts_published", "interpolated",
                                     "corrected"]].itertuples(index=False)]
    if explain_all:
        rows += _impossible_rows(checks, posts, campaign, lang)
        lazy = []
    else:
        # A big campaign has thousands of daily flags too: a sentence each took most of the scan.
        lazy = ([_daily_frame(found, window)] if len(series) and detectors and len(found) else []) + \
            _impossible_frames(checks, posts, campaign)
    if not rows and not lazy:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.DataFrame(rows, columns=COLUMNS)
    if lazy:
        out = pd.concat([out, *lazy], ignore_index=True) if rows else pd.concat(lazy, ignore_index=True)
    order = {"robust_z": 0, "hampel": 1, "impossible": 2}
    out = out.sort_values(["day", "influencer", "platform", "metric", "detector"], kind="stable",
                          key=lambda c: c.map(order) if c.name == "detector" else c)
    return out.reset_index(drop=True)


def _daily_flag(detector: str, metric: str, f, campaign: Campaign, window: int, lang: str) -> dict:
    """One flag of a series from its scored row ``f`` (a row tuple of ``flag_outliers`` or ``hampel``)."""
    value, typical, score = float(f.value), float(f.typical), float(f.score)
    n = 0 if pd.isna(f.posts_published) else int(f.posts_published)
    day = pd.Timestamp(f.day)
    facts = dict(kind=detector, metric=metric, value=value, typical=typical, score=score, window=window, posts=n,
                 day=day.date(), hype=metric == "followers_gained" and value > HYPEAUDITOR_FOLLOWERS_PER_DAY,
                 interpolated=bool(f.interpolated), corrected=bool(f.corrected),
                 events=_event_labels(campaign, day))
    return dict(detector=detector, day=day, influencer=f.influencer, platform=f.platform,
                account=f.account, post_pk=None, post_id=None, metric=metric, value=value, typical=typical,
                score=score, posts_published=n, reason=reason_text(facts, lang), facts=facts)


def _daily_frame(found: pd.DataFrame, window: int) -> pd.DataFrame:
    """The rows ``_daily_flag`` makes of ``found`` (scored rows with ``detector_`` and ``metric_``),
    built on whole columns, with what ``explain`` needs to write their facts and reasons later
    (LAZY_COLUMNS) instead of them."""
    n = found["posts_published"].to_numpy(dtype="float64")
    return pd.DataFrame({
        "detector": found["detector_"].to_numpy(dtype=object), "day": pd.to_datetime(found["day"]).to_numpy(),
        "influencer": found["influencer"].to_numpy(dtype=object), "platform": found["platform"].to_numpy(dtype=object),
        "account": found["account"].to_numpy(dtype=object), "post_pk": None, "post_id": None,
        "metric": found["metric_"].to_numpy(dtype=object), "value": found["value"].to_numpy(dtype="float64"),
        "typical": found["typical"].to_numpy(dtype="float64"), "score": found["score"].to_numpy(dtype="float64"),
        # Whole numbers as Python ints, as _daily_flag writes them.
        "posts_published": np.array([int(k) for k in np.nan_to_num(n, nan=0.0)], dtype=object),
        "reason": None, "facts": None, "_where": None, "_bound_metric": None, "_bound": np.nan, "_at": pd.NaT,
        "_interpolated": found["interpolated"].to_numpy(dtype=bool), "_corrected": found["corrected"].to_numpy(dtype=bool),
        "_window": window,
        # The account of a followers series (None for an influencer's series on a platform): what
        # orders two flags of one influencer, platform, metric and day as the scan does (flag_store).
        "_account_pk": found["_account_pk"].to_numpy(dtype=object) if "_account_pk" in found else None})


def _short_id(post_id) -> str:
    s = str(post_id)
    return s if len(s) <= 12 else s[:10] + "…"


def _impossible_inputs(frames, campaign: Campaign) -> list[tuple[str, pd.DataFrame]]:
    """The frames checked for impossible values: post-day rows ("daily") and each post's latest
    lifetime snapshot ("lifetime"), with ``day`` and ``at``."""
    checks = []
    if len(frames.post_days):
        checks.append(("daily", frames.post_days.assign(at=frames.post_days["day"])))
    if len(frames.snapshots):
        last = latest_lifetime(frames.snapshots).drop(columns=["platform", "published_at"])
        checks.append(("lifetime", last.assign(day=_local_day(last["captured_at"], campaign.tz),
                                                at=last["captured_at"])))
    return checks


LAZY_COLUMNS = ["_where", "_bound_metric", "_bound", "_at", "_interpolated", "_corrected", "_window", "_account_pk"]


def _impossible_cases(checks, posts: pd.DataFrame, campaign: Campaign):
    """For each check (where, frame) with values that break a bound: (where, the bad values,
    whether each one's post is known, the posts' facts in the bad values' order). What
    ``_impossible_frames`` and ``_impossible_rows`` both start from."""
    posts = posts.drop_duplicates("post_pk").set_index("post_pk")
    for where, frame in checks:
        frame = frame.assign(engagements=engagements(frame, campaign))
        bad = impossible_values(frame, campaign.engagement)
        if bad.empty:
            continue
        pk = bad["post_pk"].to_numpy()
        yield where, bad, np.isin(pk, posts.index.to_numpy()), posts.reindex(pk)


def _impossible_frames(checks, posts: pd.DataFrame, campaign: Campaign) -> list[pd.DataFrame]:
    """``_impossible_rows`` as frames built column by column, with what ``explain`` needs to write
    their facts and reasons later (LAZY_COLUMNS) instead of them."""
    out = []
    for where, bad, known, p in _impossible_cases(checks, posts, campaign):
        pk = bad["post_pk"].to_numpy()

        def col(name):
            values = p[name].to_numpy(dtype=object) if name in p else np.full(len(p), None, dtype=object)
            return np.where(known, values, None)

        value = bad["value"].to_numpy(dtype="float64")
        bound = bad["bound"].to_numpy(dtype="float64")
        out.append(pd.DataFrame({
            "detector": "impossible", "day": pd.to_datetime(bad["day"]).to_numpy(), "influencer": col("influencer"),
            "platform": col("platform"), "account": col("account"), "post_pk": pk, "post_id": col("post_id"),
            "metric": bad["metric"].to_numpy(dtype=object), "value": value, "typical": np.nan,
            "score": value / bound, "posts_published": None, "reason": None, "facts": None,
            "_where": where, "_bound_metric": bad["bound_metric"].to_numpy(dtype=object), "_bound": bound,
            "_at": pd.Series(pd.NaT, index=bad.index, dtype="datetime64[us, UTC]").array if where == "daily"
            else pd.to_datetime(bad["at"], utc=True).dt.as_unit("us").array}))
    return out


def explain(flags: pd.DataFrame, campaign: Campaign, lang: str = "en") -> pd.DataFrame:
    """``flags`` (rows of ``scan(..., explain_all=False)``) with every ``facts`` and ``reason``
    written, as ``anomalies`` writes them, and without the columns that stood in for them."""
    if "_where" not in flags:
        return flags
    flags = flags.copy()
    todo = np.flatnonzero(flags["_where"].notna().to_numpy())
    facts, reasons = list(flags["facts"]), list(flags["reason"])
    if "_window" in flags:
        daily = flags["facts"].isna().to_numpy() & flags["detector"].isin(["robust_z", "hampel"]).to_numpy()
        for k in np.flatnonzero(daily):
            r = flags.iloc[k]
            value, day = float(r["value"]), pd.Timestamp(r["day"])
            f = dict(kind=r["detector"], metric=r["metric"], value=value, typical=float(r["typical"]),
                     score=float(r["score"]), window=int(r["_window"]), posts=int(r["posts_published"]),
                     day=day.date(), hype=r["metric"] == "followers_gained" and value > HYPEAUDITOR_FOLLOWERS_PER_DAY,
                     interpolated=bool(r["_interpolated"]), corrected=bool(r["_corrected"]),
                     events=_event_labels(campaign, day))
            facts[k], reasons[k] = f, reason_text(f, lang)
    for k in todo:
        r = flags.iloc[k]
        f = dict(kind="impossible", metric=r["metric"], value=float(r["value"]), bound_metric=r["_bound_metric"],
                 bound=float(r["_bound"]), post=_short_id(r["post_id"] if r["post_id"] is not None else r["post_pk"]),
                 where=r["_where"], day=pd.Timestamp(r["day"]).date(),
                 at=None if r["_where"] == "daily" else pd.Timestamp(r["_at"]).tz_convert(campaign.tz))
        facts[k], reasons[k] = f, reason_text(f, lang)
    return flags.assign(facts=facts, reason=reasons).drop(columns=[c for c in LAZY_COLUMNS if c in flags])


def _impossible_rows(checks, posts: pd.DataFrame, campaign: Campaign, lang: str = "en") -> list[dict]:
    rows = []
    for where, bad, known, p in _impossible_cases(checks, posts, campaign):
        pk = bad["post_pk"]

        def col(name, missing=None):
            values = p[name].to_numpy(dtype=object) if name in p else np.full(len(p), None, dtype=object)
            return [v if ok else missing for v, ok in zip(values, known)]

        post_ids = [pid if ok else k for pid, k, ok in zip(col("post_id"), pk, known)]
        days = [pd.Timestamp(d) for d in bad["day"]]
        ats = ([None] * len(bad) if where == "daily" else
               [pd.Timestamp(a).tz_convert(campaign.tz) for a in bad["at"]])
        for pk_, metric, value, bound_metric, bound, day, at, pid, influencer, platform, account, post_id in zip(
                pk, bad["metric"], bad["value"].to_numpy(dtype="float64"), bad["bound_metric"],
                bad["bound"].to_numpy(dtype="float64"), days, ats, post_ids, col("influencer"), col("platform"),
                col("account"), col("post_id")):
            facts = dict(kind="impossible", metric=metric, value=float(value), bound_metric=bound_metric,
                         bound=float(bound), post=_short_id(pid), where=where, day=day.date(), at=at)
            rows.append(dict(detector="impossible", day=day, influencer=influencer, platform=platform,
                             account=account, post_pk=pk_, post_id=post_id, metric=metric, value=float(value),
                             typical=np.nan, score=float(value) / float(bound), posts_published=None,
                             reason=reason_text(facts, lang), facts=facts))
    return rows


def not_scored(frames, inc: pd.DataFrame, campaign: Campaign, min_days: int = MIN_DAYS,
               lang: str = "en") -> pd.DataFrame:
    """Series with too few known days for a z-score: influencer, platform, account, metric, days,
    note (in ``lang``). Nothing about them is flagged, which is not the same as nothing being wrong."""
    rows = []
    for metric, _, s in _series(frames, inc, campaign):
        n = int(s["value"].notna().sum())
        if n < min_days:
            first = s.iloc[0]
            word = _metric_word(metric, lang)
            said = t("anomaly.no_day", lang, metric=word) if n == 0 else t("anomaly.only_days", lang, n=n, metric=word)
            rows.append(dict(influencer=first["influencer"], platform=first["platform"], account=first["account"],
                             metric=metric, days=n,
                             note=t("anomaly.not_scored", lang, platform=platform_name(first["platform"], lang),
                                    said=said, min_days=min_days)))
    return pd.DataFrame(rows, columns=["influencer", "platform", "account", "metric", "days", "note"])

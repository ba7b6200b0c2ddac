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

from ..text.i18n import MONTHS_EN, fmt_date, metric_name, normalise_lang, platform_name, t
from . import metrics
from .config import ENGAGEMENT_METRICS, Campaign
from .metrics import _local_day, engagements, latest_lifetime

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
    are taken along the rows. A row without a day (NaT) has no window and is in none: it is
    never scored."""
    _beyond(np.empty(0), n_sigmas, direction)
    out = daily.sort_values([*group_cols, "day"], kind="stable").copy()
    n = len(out)
    days = pd.to_datetime(out["day"]).to_numpy()
    x = out[value_col].astype("float64").to_numpy()
    med, mad, count = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=np.int64)
    dated = ~np.isnat(days)  # a row without a day is in no window and has none
    med[dated], mad[dated], count[dated] = _trailing_medians(x[dated], _group_codes(out, group_cols)[dated],
                                                             days[dated].astype("datetime64[ns]"), window)
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


def _trailing_medians(x: np.ndarray, codes: np.ndarray, t: np.ndarray, window: int):
    """For each row (sorted by group ``codes`` and time ``t``): the median of the known ``x`` of its
    group in the ``window`` days before it, the median absolute deviation from that, and how many
    values they are taken from."""
    n = len(x)
    span = np.timedelta64(pd.Timedelta(days=window).value, "ns")
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
    return med, mad, count


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
# dashboard/analysis/shared.py) can be shown in English and in Chinese, and ``reason`` is one rendering of it.

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


def _posts_note(n: int, lang: str, days: bool = False) -> str:
    if days:
        return (t("anomaly.no_post_days", lang) if n == 0 else
                t("anomaly.one_post_days" if n == 1 else "anomaly.posts_days", lang, n=n))
    return t("anomaly.no_post", lang) if n == 0 else t("anomaly.one_post" if n == 1 else "anomaly.posts", lang, n=n)


def _events_notes(facts: dict, lang: str) -> list[str]:
    return [t("anomaly.event", lang, day=_day_words(facts["day"], lang), label=_label(label, lang))
            for label in facts.get("events", ())]


def reason_text(facts: dict, lang: str = "en") -> str:
    """The reason of one flag, in ``lang``, from its ``facts`` (a row's ``facts`` column)."""
    kind = facts["kind"]
    if kind == "impossible":
        when = (t("anomaly.on_day", lang, day=_day_words(facts["day"], lang)) if facts["where"] == "daily"
                else t("anomaly.lifetime", lang, time=_time_words(facts["at"], lang)))
        return t("anomaly.impossible", lang, metric=_metric_word(facts["metric"], lang), value=fmt(facts["value"]),
                 bound_metric=_metric_word(facts["bound_metric"], lang), bound=fmt(facts["bound"]),
                 post=facts["post"], when=when)
    metric = _metric_word(facts["metric"], lang)
    if kind == "deleted":
        text = t("anomaly.deleted", lang, post=facts["post"], metric=metric, time=_time_words(facts["at"], lang),
                 typical=fmt(facts["typical"]), before=_time_words(facts["before_at"], lang))
        return text + "".join(t("punct.semicolon", lang) + s for s in _events_notes(facts, lang))
    if kind == "stalled":
        text = t("anomaly.stalled", lang, metric=metric, n=facts["days"], first=_day_words(facts["day"], lang),
                 last=_day_words(facts["until"], lang), typical=fmt(facts["typical"]))
        said = [_posts_note(facts["posts"], lang, days=True), *_events_notes(facts, lang)]
        return text + "".join(t("punct.semicolon", lang) + s for s in said)
    what = _what(facts["metric"], facts["value"], lang)
    if kind == "outlier_post":
        text = t("anomaly.outlier_post", lang, post=facts["post"], what=what, typical=fmt(facts["typical"]),
                 times=fmt(facts["value"] / facts["typical"]) if facts["typical"] > 0 else "∞",
                 score=f"{facts['score']:.1f}")
        said = [t("anomaly.other_post", lang, other=_metric_word(facts["other"], lang),
                  value=fmt(facts["other_value"]), typical=fmt(facts["other_typical"]))
                if facts["other"] else t("anomaly.no_engagement", lang),
                t("anomaly.published", lang), *_events_notes(facts, lang)]
        return text + "".join(t("punct.semicolon", lang) + s for s in said)
    if kind == "robust_z" and not facts["typical"]:
        # Against a typical day of none, a z-score only measures the noise floor (it read
        # "robust z 3267.3"): say what is unusual in words.
        text = t("anomaly.robust_z_none", lang, what=what)
    elif kind == "robust_z":
        text = t("anomaly.robust_z", lang, what=what, typical=fmt(facts["typical"]), score=f"{facts['score']:.1f}")
    else:
        text = t("anomaly.hampel", lang, what=what, typical=fmt(facts["typical"]), window=facts["window"],
                 score=f"{facts['score']:+.1f}")
    said = []
    if facts.get("other"):
        said.append(t("anomaly.other_day", lang, other=_metric_word(facts["other"], lang),
                      value=fmt(facts["other_value"]), typical=fmt(facts["other_typical"]))
                    + t("punct.colon", lang)
                    + t("anomaly.engagement_alone" if facts["metric"] == "engagements" else "anomaly.views_alone",
                        lang, metric=metric, other=_metric_word(facts["other"], lang)))
    said.append(_posts_note(facts["posts"], lang))
    if facts["hype"]:
        said.append(t("anomaly.hype", lang, limit=f"{HYPEAUDITOR_FOLLOWERS_PER_DAY:,}"))
    if facts["corrected"]:
        said.append(t("anomaly.corrected", lang))
    said += _events_notes(facts, lang)
    return text + "".join(t("punct.semicolon", lang) + s for s in said)


def localise(flags: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``flags`` (rows of ``anomalies``) with ``reason`` written in ``lang``."""
    if flags.empty or "facts" not in flags:
        return flags
    return flags.assign(reason=[reason_text(f, lang) for f in flags["facts"]])


def in_view(flags: pd.DataFrame, sel, pairs=None) -> pd.DataFrame:
    """The rows of ``flags`` a view shows, newest first (largest score first within a day): its
    days and platforms (``sel``), and with ``pairs`` (``queries.names.flag_pairs`` of the view: its
    influencers and categories) only the influencer-platform pairs those select. The Live page
    and an influencer's panel list the same flags for the same view.

    The trailing Hampel flags are left out: looking back, the robust z-score of the same day says
    the same thing with the whole series to compare with."""
    a = flags[flags["detector"] != "hampel"]
    if sel.start is not None:
        a = a[a["day"] >= pd.Timestamp(sel.start)]
    if sel.end is not None:
        a = a[a["day"] <= pd.Timestamp(sel.end)]
    if sel.platforms:
        a = a[a["platform"].isin(sel.platforms)]
    if pairs is not None:
        a = a[pd.MultiIndex.from_arrays([a["influencer"], a["platform"]]).isin(pairs)]
    return a.sort_values(["day", "score"], ascending=[False, False])


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
# What is scanned, and why each rule is there (docs/anomalies.md):
# - a day is scored only where its value is a real daily figure: the platform's own account-level
#   daily export where the account has one, else the engine's increments of a day that is not
#   spread from a lifetime snapshot interval longer than a day (a smooth share of a longer interval
#   cannot be a spike on its own);
# - a rise in views counts only when the engagement of that day did not rise with it, and a rise in
#   engagement only when the views did not: posting (and a post going viral) lifts both together,
#   bought views or bought likes lift one. A post far beyond the influencer's usual is its own check;
# - on a campaign event day (campaign.toml) the campaign itself makes numbers jump: no rise, and no
#   post far beyond the usual, is flagged on it.

# A flag must also be large in absolute terms: "+14 followers vs typical 3/day" is a real outlier
# statistically and nothing a campaign team needs to look at.
MIN_CHANGE = {"views": 1000, "impressions": 1000, "engagements": 100, "followers_gained": 100}
RATE_FACTOR = 4.0  # views per engagement (or the reverse) at least 4 times the series' typical ratio
STALL_DAYS = 3  # consecutive days with nothing at all
STALL_TYPICAL = 100  # ... of a series that usually has at least this much a day
MIN_POSTS = 7  # posts of an influencer on a platform before one of them can be far beyond the usual
POST_FACTOR = 10.0  # a post far beyond the usual: 10 times the typical post, in views and in engagement
POST_MIN_SIGMA = 0.25  # the spread of log(post views) used is never below this (a factor of 1.28)
DELETED_MIN = 100  # a post whose totals fall to 0 from at least this many views
DETECTORS = ("robust_z", "hampel", "impossible", "stalled", "outlier_post", "deleted")
DETECTOR_RANK = {d: k for k, d in enumerate(DETECTORS)}
BASIS = ("views", "impressions")


def _event_days(campaign: Campaign) -> np.ndarray:
    return np.array(sorted({pd.Timestamp(e.day).to_datetime64() for e in campaign.events}), dtype="datetime64[ns]")


def _engagement_metrics(campaign: Campaign) -> list[str]:
    from collectors.model import METRICS

    return [m for m in campaign.engagement if m in METRICS and m not in BASIS]


def daily_metrics(campaign: Campaign) -> list[str]:
    """The metrics the daily series read from the rollup and the account days."""
    return [*BASIS, *_engagement_metrics(campaign)]


def anomalies(frames, inc: pd.DataFrame, campaign: Campaign, threshold: float = 3.5, window: int = 7,
              n_sigmas: float = 3.0, min_change: dict | None = None, lang: str = "en") -> pd.DataFrame:
    """Every flag, one row each, with COLUMNS: detector (DETECTORS), day, influencer, platform,
    account (follower and post rows), post_pk and post_id (post rows), metric, value, typical,
    score, posts_published and reason.

    Scanned per influencer × platform: daily views (impressions where the group has no views) and
    engagements, for rises the other did not share, and views for days with nothing at all; per
    account: daily followers_gained, both ways; per post: its lifetime totals against the group's
    other posts, and for a fall to zero; post-day rows and each post's latest lifetime snapshot, for
    impossible values. ``typical`` is the group median (robust_z, stalled), the trailing median
    (hampel), the group's typical post (outlier_post), the value before (deleted) or empty
    (impossible, where ``score`` is value ÷ views). Series too short to score give no rows
    (``not_scored`` lists them). A flag whose distance from typical is under ``min_change``
    (MIN_CHANGE by default; pass {} for none) is dropped as too small to matter.

    ``reason`` is written in ``lang`` ("en" or "zh"); ``facts`` holds what it says as data, so
    ``localise(flags, lang)`` rewrites it in the other language without scanning again."""
    daily, followers, lifetimes = _series_inputs(frames, inc, campaign)
    checks = _impossible_inputs(frames, campaign)
    return scan(_stacked(daily, followers), checks, frames.posts, campaign, threshold, window, n_sigmas,
                min_change, lang, lifetimes=lifetimes)


# --- what the series are made of ------------------------------------------------------------------

def _owners(frames) -> pd.DataFrame:
    """Every account as the series name it, indexed by account_pk: platform, influencer, account
    (as ``queries.anomaly_inputs.flag_owners``; from the posts and account days when the frames have no accounts)."""
    cols = ["platform", "influencer", "account"]
    acc = getattr(frames, "accounts", None)
    if acc is not None and len(acc):
        return acc.drop_duplicates("account_pk").set_index("account_pk")[cols]
    p = frames.posts.drop_duplicates("account_pk").set_index("account_pk")[cols]
    ad = frames.account_days
    if len(ad):
        rest = ad[~ad["account_pk"].isin(p.index)].drop_duplicates("account_pk").set_index("account_pk")
        p = pd.concat([p, rest[["platform", "account"]].assign(influencer=rest["account"])[cols]])
    return p


def _published(posts: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """Posts published per account and local day: account_pk, day, n."""
    p = posts.dropna(subset=["published_at"])
    day = _local_day(pd.to_datetime(p["published_at"], utc=True), campaign.tz)
    return p.assign(day=day).groupby(["account_pk", "day"]).size().rename("n").reset_index()


def account_daily(inc: pd.DataFrame, posts: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """The engine's activity per account and day for the metrics the series read, with
    ``interpolated`` and ``corrected``: the rows the daily rollup stores (rollups._rollup_frame)."""
    from .metrics import Selection, _sum_known, _wide

    cols = daily_metrics(campaign)
    wide = _wide(inc, posts, Selection(), campaign)
    if wide.empty:
        return pd.DataFrame(columns=["account_pk", "day", *cols, "interpolated", "corrected"])
    return _sum_known(wide, ["account_pk", "day"], cols, extra={})


def _series_inputs(frames, inc: pd.DataFrame, campaign: Campaign):
    """What the series are made of, from the engine's frames: (daily, followers, lifetimes) as
    ``daily_series``, ``follower_series`` and ``post_lifetimes`` give them; ``_stacked`` turns the
    first two into the series."""
    owners = _owners(frames)
    pub = _published(frames.posts, campaign)
    ad = frames.account_days
    daily = daily_series(account_daily(inc, frames.posts, campaign), ad, owners, pub, campaign)
    lifetimes = post_lifetimes(frames.snapshots, frames.posts, campaign)
    return daily, follower_series(ad, owners, pub), lifetimes


def daily_series(acct: pd.DataFrame, adays: pd.DataFrame, owners: pd.DataFrame, pub: pd.DataFrame,
                 campaign: Campaign) -> pd.DataFrame:
    """Per influencer, platform and day, the daily figures the series read: views, impressions and
    engagements, ``basis`` (the group's views, or impressions where it has no views), posts_published
    and corrected.

    ``acct``: the engine's activity per account and day (``account_daily``, or the rollup's rows);
    ``adays``: the account days; ``owners``: platform and influencer per account_pk; ``pub``: posts
    published per account and day. An account whose account days know a metric is read from them
    (the platform's own daily figure), else from the engine's increments, where a day spread from a
    snapshot interval longer than a day is unknown. A group's day is unknown when any of its
    accounts that report the metric does not know it."""
    out_cols = ["influencer", "platform", "day", *BASIS, "engagements", "basis", "posts_published", "corrected"]
    eng = _engagement_metrics(campaign)

    def frame(f, with_flags):
        cols = ["account_pk", "day", *BASIS, *eng] + (["interpolated", "corrected"] if with_flags else [])
        f = f.reindex(columns=cols).copy()
        for m in (*BASIS, *eng):
            f[m] = pd.to_numeric(f[m]).astype("float64")
        f["engagements"] = f[eng].sum(axis=1, min_count=1) if eng else np.nan
        f["day"] = pd.to_datetime(f["day"])
        f["account_pk"] = f["account_pk"].astype("int64")
        return f[["account_pk", "day", *BASIS, "engagements"] + (["interpolated", "corrected"] if with_flags else [])]

    a, b = frame(acct, True), frame(adays, False)
    if a.empty and b.empty:
        return pd.DataFrame(columns=out_cols)
    a["interpolated"] = a["interpolated"].astype(bool)
    a["corrected"] = a["corrected"].astype(bool)
    m = a.merge(b, on=["account_pk", "day"], how="outer", suffixes=("", "_ad"), sort=True)
    m = m[m["account_pk"].isin(owners.index)]
    spread = m["interpolated"].to_numpy(dtype=object) == True  # noqa: E712 (NaN where only account days)
    pk = m["account_pk"].to_numpy()
    values, unknown = {}, {}
    for c in (*BASIS, "engagements"):
        # The accounts whose account days know the metric (read from them), and whose increments do.
        from_days = np.isin(pk, b.loc[b[c].notna(), "account_pk"].unique())
        reported = from_days | np.isin(pk, a.loc[a[c].notna(), "account_pk"].unique())
        v = np.where(from_days, m[c + "_ad"].to_numpy(dtype="float64"),
                     np.where(spread, np.nan, m[c].to_numpy(dtype="float64")))
        values[c], unknown[c] = v, reported & np.isnan(v)
    g = pd.DataFrame({"influencer": owners["influencer"].reindex(pk).to_numpy(dtype=object),
                      "platform": owners["platform"].reindex(pk).to_numpy(dtype=object),
                      "day": m["day"].to_numpy(), "corrected": m["corrected"].to_numpy(dtype=object) == True,  # noqa: E712
                      **{c: values[c] for c in values}, **{"_u" + c: unknown[c] for c in unknown}})
    g = g.dropna(subset=["influencer", "platform"])
    keys = ["influencer", "platform", "day"]
    grouped = g.groupby(keys, sort=True)
    out = grouped[[*BASIS, "engagements"]].sum(min_count=1)
    for c in (*BASIS, "engagements"):
        out[c] = out[c].where(~grouped["_u" + c].any())
    out["corrected"] = grouped["corrected"].any()
    out = out.reset_index()
    # Views or impressions, by the platform (metrics.views_basis), as on every page.
    out["basis"] = np.where((metrics.basis_of(out["platform"]) == "views").to_numpy(dtype=bool), "views", "impressions")
    n = pub.assign(influencer=owners["influencer"].reindex(pub["account_pk"]).to_numpy(dtype=object),
                   platform=owners["platform"].reindex(pub["account_pk"]).to_numpy(dtype=object))
    n = n.dropna(subset=["influencer"]).groupby(keys)["n"].sum().rename("posts_published")
    out = out.join(n, on=keys)
    return out[out_cols].reset_index(drop=True)


def follower_series(adays: pd.DataFrame, owners: pd.DataFrame, pub: pd.DataFrame) -> pd.DataFrame:
    """The account days that know followers_gained, with platform, influencer and account (the
    owner's) and posts_published (posts of the account that day)."""
    cols = ["account_pk", "platform", "influencer", "account", "day", "followers_gained", "posts_published"]
    if not len(adays) or "followers_gained" not in adays:
        return pd.DataFrame(columns=cols)
    f = adays.loc[adays["followers_gained"].notna(), ["account_pk", "day", "followers_gained"]].copy()
    f["account_pk"] = f["account_pk"].astype("int64")
    f["day"] = pd.to_datetime(f["day"])
    f["followers_gained"] = pd.to_numeric(f["followers_gained"]).astype("float64")
    f = f[f["account_pk"].isin(owners.index)]
    f = f.join(owners[["platform", "influencer", "account"]], on="account_pk")
    n = pub.set_index(["account_pk", "day"])["n"].rename("posts_published")
    f = f.join(n, on=["account_pk", "day"])
    return f.sort_values(["account_pk", "day"], kind="stable")[cols].reset_index(drop=True)


LIFETIME_COLUMNS = ["post_pk", "post_id", "account_pk", "influencer", "platform", "account", "day", "metric",
                    "value", "engagements", "zero_at", "before", "before_at"]


def post_lifetimes(snaps: pd.DataFrame, posts: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """Per post with a lifetime snapshot: its latest views (else impressions: ``metric``, ``value``)
    and engagements, the local day it was published, and, when its latest totals are all zero after
    a positive value (a deleted post), the first snapshot that shows it (``zero_at``) and the last
    value before (``before``, ``before_at``).

    ``snaps`` must hold each post's latest snapshot and every snapshot of the posts whose latest one
    has neither views nor impressions above 0 (queries.anomaly_inputs._lifetime_rows reads just those); ``posts``
    names the posts (post_pk, post_id, account_pk, influencer, platform, account, published_at)."""
    if not len(snaps):
        return pd.DataFrame(columns=LIFETIME_COLUMNS)
    eng = [m for m in campaign.engagement if m in snaps]
    s = snaps.sort_values(["post_pk", "captured_at"], kind="stable").reset_index(drop=True)
    pk = s["post_pk"].to_numpy()
    last = np.r_[pk[1:] != pk[:-1], True] if len(pk) else np.zeros(0, dtype=bool)
    views = pd.to_numeric(s["views"]).to_numpy(dtype="float64") if "views" in s else np.full(len(s), np.nan)
    impressions = (pd.to_numeric(s["impressions"]).to_numpy(dtype="float64") if "impressions" in s
                   else np.full(len(s), np.nan))
    total = (s[eng].apply(pd.to_numeric).sum(axis=1, min_count=1).to_numpy(dtype="float64") if eng
             else np.full(len(s), np.nan))
    latest = np.flatnonzero(last)
    # Views or impressions, by the post's platform (metrics.views_basis), as on every page.
    platform = posts.drop_duplicates("post_pk").set_index("post_pk")["platform"]
    by_views = (metrics.basis_of(platform) == "views").reindex(pk).fillna(False).to_numpy(dtype=bool)
    use_views = by_views[latest]
    basis = np.where(by_views, views, impressions)
    out = pd.DataFrame({"post_pk": pk[latest], "metric": np.where(use_views, "views", "impressions"),
                        "value": basis[latest], "engagements": total[latest]})
    gone = (basis[latest] == 0) & ((total[latest] == 0) | np.isnan(total[latest]))
    out["zero_at"], out["before"], out["before_at"] = pd.NaT, np.nan, pd.NaT
    out["zero_at"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
    out["before_at"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
    if gone.any():
        rows = np.flatnonzero(np.isin(pk, pk[latest][gone]) & (basis > 0))
        if len(rows):
            # The last positive snapshot of each such post, and the one after it (the first zero).
            final = rows[np.r_[pk[rows][1:] != pk[rows][:-1], True]]
            at = pd.to_datetime(s["captured_at"], utc=True).dt.as_unit("us")
            where = pd.Index(out["post_pk"]).get_indexer(pk[final])
            out.loc[where, "before"] = basis[final]
            out.loc[where, "before_at"] = at.iloc[final].to_numpy()
            out.loc[where, "zero_at"] = at.iloc[final + 1].to_numpy()
    p = posts.drop_duplicates("post_pk").set_index("post_pk")
    known = out["post_pk"].isin(p.index).to_numpy()
    out = out[known].reset_index(drop=True)
    info = p.reindex(out["post_pk"])
    for c in ("post_id", "account_pk", "influencer", "platform", "account"):
        out[c] = info[c].to_numpy(dtype=object) if c in info else None
    out["account_pk"] = out["account_pk"].astype("int64")
    published = pd.to_datetime(info["published_at"], utc=True)
    out["day"] = _local_day(published, campaign.tz).to_numpy()
    return out[LIFETIME_COLUMNS]


SERIES_COLUMNS = ["_sid", "_metric", "_up", "day", "influencer", "platform", "account", "value", "posts_published",
                  "corrected", "_account_pk", "_other_metric", "_other"]


def _stacked(daily: pd.DataFrame, followers: pd.DataFrame) -> pd.DataFrame:
    """Every series scanned, one below the other, numbered (``_sid``): per influencer and platform
    (sorted) its views, else impressions, then its engagements, each with the other (``_other``) of
    the same day; then per platform and account (sorted) followers_gained. ``_up``: rises only."""
    parts = []
    if len(daily):
        d = daily.dropna(subset=["influencer", "platform"]).sort_values(["influencer", "platform", "day"], kind="stable")
        gid = d.groupby(["influencer", "platform"], sort=True).ngroup().to_numpy(dtype=np.int64)
        views = (d["basis"] == "views").to_numpy()
        basis = np.where(views, d["views"].to_numpy(dtype="float64"), d["impressions"].to_numpy(dtype="float64"))
        e = d["engagements"].to_numpy(dtype="float64")
        common = dict(day=pd.to_datetime(d["day"]).to_numpy(), influencer=d["influencer"].to_numpy(dtype=object),
                      platform=d["platform"].to_numpy(dtype=object), account=None,
                      posts_published=d["posts_published"].to_numpy(dtype="float64"),
                      corrected=d["corrected"].to_numpy(dtype=bool), _up=True, _account_pk=None)
        name = np.where(views, "views", "impressions")
        parts.append(pd.DataFrame(dict(common, _sid=2 * gid, _metric=name, value=basis, _other_metric="engagements",
                                       _other=e)))
        parts.append(pd.DataFrame(dict(common, _sid=2 * gid + 1, _metric="engagements", value=e, _other_metric=name,
                                       _other=basis)))
    if len(followers):
        base = 2 * (int(parts[0]["_sid"].max()) // 2 + 1) if parts else 0
        a = followers.dropna(subset=["platform", "account_pk"]).sort_values(["platform", "account_pk", "day"],
                                                                            kind="stable")
        gid = a.groupby(["platform", "account_pk"], sort=True).ngroup().to_numpy(dtype=np.int64)
        parts.append(pd.DataFrame(dict(
            _sid=base + gid, _metric="followers_gained", _up=False, day=pd.to_datetime(a["day"]).to_numpy(),
            influencer=a["influencer"].to_numpy(dtype=object), platform=a["platform"].to_numpy(dtype=object),
            account=a["account"].to_numpy(dtype=object), value=a["followers_gained"].to_numpy(dtype="float64"),
            posts_published=a["posts_published"].to_numpy(dtype="float64"), corrected=False,
            _account_pk=a["account_pk"].to_numpy(dtype=object), _other_metric=None, _other=np.nan)))
    if not parts:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SERIES_COLUMNS]


# --- the detectors on whole arrays ------------------------------------------------------------------
# Each returns flag rows without ``facts`` and ``reason``: the columns of COLUMNS plus LAZY_COLUMNS,
# from which ``explain`` writes them for the rows a page shows.

LAZY_COLUMNS = ["_where", "_bound_metric", "_bound", "_at", "_before_at", "_corrected", "_window", "_account_pk",
                "_other_metric", "_other", "_other_typical"]


def _frame(n: int, **cols) -> pd.DataFrame:
    """Flag rows: COLUMNS and LAZY_COLUMNS, the ones not given empty."""
    empty = dict(detector=None, day=pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]").array,
                 influencer=None, platform=None, metric=None, value=np.nan, account=None, post_pk=None, post_id=None, typical=np.nan, score=np.nan, posts_published=None,
                 reason=None, facts=None, _where=None, _bound_metric=None, _bound=np.nan,
                 _at=pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]").array,
                 _before_at=pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]").array,
                 _corrected=False, _window=None, _account_pk=None, _other_metric=None, _other=np.nan,
                 _other_typical=np.nan)
    data = {c: cols[c] if c in cols else empty[c] for c in [*COLUMNS, *LAZY_COLUMNS]}
    return pd.DataFrame(data, index=range(n))


def _limits(metric: pd.Series, limits: dict) -> np.ndarray:
    """MIN_CHANGE (``limits``) of each row's metric, 0 for a metric without one: by metric, not by row."""
    metric = metric.to_numpy(dtype=object)
    need = np.zeros(len(metric))
    for m, v in limits.items():
        need[metric == m] = v
    return need


def _whole(x) -> np.ndarray:
    """Counts as Python ints (as the reasons write them), 0 where unknown."""
    return np.array([int(k) for k in np.nan_to_num(np.asarray(x, dtype="float64"), nan=0.0)], dtype=object)


def _spikes(series: pd.DataFrame, detector: str, limit: float, window: int, limits: dict,
            events: np.ndarray) -> pd.DataFrame:
    """The days ``detector`` (robust_z or hampel) flags in every series at once, kept when large
    enough (``limits``), not a rise on a campaign event day, and for views and engagements only when
    the other did not rise with it: the day's ratio of the two at least RATE_FACTOR times the
    series' typical ratio."""
    r = (flag_outliers(series, "value", group_cols=("_sid",), threshold=limit) if detector == "robust_z" else
         hampel(series, "value", group_cols=("_sid",), window=window, n_sigmas=limit))
    score = r["score"].to_numpy(dtype="float64")
    value = r["value"].to_numpy(dtype="float64")
    typical = r["typical"].to_numpy(dtype="float64")
    up = r["_up"].to_numpy(dtype=bool)
    flagged = np.where(up, _beyond(score, limit, "up"), r["flagged"].to_numpy(dtype=bool))
    need = _limits(r["_metric"], limits)
    day = pd.to_datetime(r["day"]).to_numpy().astype("datetime64[ns]")
    with np.errstate(invalid="ignore"):
        big = np.abs(value - typical) >= need
        rising = score > 0
    keep = flagged & big & ~(rising & np.isin(day, events))
    # The other metric of the same day, against its own typical ratio to this one.
    codes = _group_codes(r, ["_sid"])
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    other = r["_other"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        both = (value > 0) & (other > 0)
        ratio = np.where(both, value / other, np.nan)
        typical_ratio = _group_medians(codes, ratio, n_groups)[codes]
        day_ratio = np.where(other > 0, value / other, np.where(other == 0, np.inf, np.nan))
        alone = np.isfinite(typical_ratio) & (day_ratio >= RATE_FACTOR * typical_ratio)
    keep &= np.where(up, alone, True)
    other_typical = _group_medians(codes, other, n_groups)[codes]
    k = np.flatnonzero(keep)
    f = r.iloc[k]
    has_other = f["_other_metric"].notna().to_numpy()
    return _frame(len(k), detector=detector, day=day[k], influencer=f["influencer"].to_numpy(dtype=object),
                  platform=f["platform"].to_numpy(dtype=object), account=f["account"].to_numpy(dtype=object),
                  metric=f["_metric"].to_numpy(dtype=object), value=value[k], typical=typical[k], score=score[k],
                  posts_published=_whole(f["posts_published"]), _corrected=f["corrected"].to_numpy(dtype=bool),
                  _window=window, _account_pk=f["_account_pk"].to_numpy(dtype=object),
                  _other_metric=f["_other_metric"].to_numpy(dtype=object),
                  _other=np.where(has_other, other[k], np.nan), _other_typical=np.where(has_other, other_typical[k], np.nan),
                  _sid=f["_sid"].to_numpy())


def _stalls(series: pd.DataFrame) -> pd.DataFrame:
    """Runs of at least STALL_DAYS consecutive days with views (or impressions) of exactly 0 in a
    series that usually has at least STALL_TYPICAL a day: one flag per run, on its first day, with
    the run's length as ``score`` and the posts published during it."""
    s = series[series["_up"].to_numpy(dtype=bool) & series["_metric"].isin(BASIS).to_numpy()]
    s = s.sort_values(["_sid", "day"], kind="stable")
    if s.empty:
        return _frame(0)
    x = s["value"].to_numpy(dtype="float64")
    codes = _group_codes(s, ["_sid"])
    n_groups = int(codes.max()) + 1
    known = np.bincount(codes, weights=~np.isnan(x), minlength=n_groups)
    med = _group_medians(codes, x, n_groups)
    day = pd.to_datetime(s["day"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    zero = x == 0
    follows = np.r_[False, (codes[1:] == codes[:-1]) & zero[:-1] & (day[1:] - day[:-1] == 1)]
    start = zero & ~follows
    run = np.cumsum(start) - 1
    rows = np.flatnonzero(zero)
    if not len(rows):
        return _frame(0)
    length = np.bincount(run[rows])
    posts = np.bincount(run[rows], weights=np.nan_to_num(s["posts_published"].to_numpy(dtype="float64")[rows]))
    first = np.flatnonzero(start)
    ok = (length >= STALL_DAYS) & (med[codes[first]] >= STALL_TYPICAL) & (known[codes[first]] >= MIN_DAYS)
    first, length, posts = first[ok], length[ok], posts[ok]
    f = s.iloc[first]
    return _frame(len(first), detector="stalled", day=pd.to_datetime(f["day"]).to_numpy(),
                  influencer=f["influencer"].to_numpy(dtype=object), platform=f["platform"].to_numpy(dtype=object),
                  metric=f["_metric"].to_numpy(dtype=object), value=0.0, typical=med[codes[first]],
                  score=length.astype("float64"), posts_published=_whole(posts), _sid=f["_sid"].to_numpy())


def _lifetime_groups(life: pd.DataFrame) -> np.ndarray:
    return life.groupby(["influencer", "platform"], sort=True, dropna=False).ngroup().to_numpy(dtype=np.int64)


def _outlier_posts(life: pd.DataFrame, threshold: float, limits: dict, events: np.ndarray) -> pd.DataFrame:
    """Posts far beyond the influencer's usual on the platform: the logarithm of the post's latest
    views (else impressions) more than ``threshold`` robust standard deviations above the group's
    median post, at least POST_FACTOR times the typical post in views and, where the platform counts
    it, in engagements too, and at least MIN_CHANGE more; published on a day that is not a campaign
    event day, in a group of at least MIN_POSTS posts."""
    life = life.sort_values(["influencer", "platform", "post_pk"], kind="stable").reset_index(drop=True)
    if life.empty:
        return _frame(0)
    codes = _lifetime_groups(life)
    n_groups = int(codes.max()) + 1
    v = life["value"].to_numpy(dtype="float64")
    e = life["engagements"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        x = np.log1p(np.where(v >= 0, v, np.nan))
        ex = np.log1p(np.where(e >= 0, e, np.nan))
    count = np.bincount(codes, weights=~np.isnan(x), minlength=n_groups)
    med = _group_medians(codes, x, n_groups)
    mad = _group_medians(codes, np.abs(x - med[codes]), n_groups)
    sigma = np.maximum(HAMPEL_K * mad, POST_MIN_SIGMA)
    emed = _group_medians(codes, ex, n_groups)
    typical, etypical = np.expm1(med)[codes], np.expm1(emed)[codes]
    need = _limits(life["metric"], limits)
    day = pd.to_datetime(life["day"]).to_numpy().astype("datetime64[ns]")
    with np.errstate(invalid="ignore"):
        z = (x - med[codes]) / sigma[codes]
        counts_engagement = ~np.isnan(emed[codes])
        engaged = np.where(counts_engagement, e >= POST_FACTOR * etypical, True)
        keep = ((count[codes] >= MIN_POSTS) & (z > threshold) & (v >= POST_FACTOR * typical) & (v - typical >= need)
                & engaged & ~np.isnat(day) & ~np.isin(day, events))
    k = np.flatnonzero(keep)
    f = life.iloc[k]
    return _frame(len(k), detector="outlier_post", day=day[k], influencer=f["influencer"].to_numpy(dtype=object),
                  platform=f["platform"].to_numpy(dtype=object), account=f["account"].to_numpy(dtype=object),
                  post_pk=f["post_pk"].to_numpy(dtype=object), post_id=f["post_id"].to_numpy(dtype=object),
                  metric=f["metric"].to_numpy(dtype=object), value=v[k], typical=typical[k], score=z[k],
                  _account_pk=f["account_pk"].to_numpy(dtype=object),
                  _other_metric=np.where(counts_engagement[k], "engagements", None),
                  _other=np.where(counts_engagement[k], e[k], np.nan),
                  _other_typical=np.where(counts_engagement[k], etypical[k], np.nan))


def _deleted_posts(life: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """Posts whose latest lifetime totals are all 0 after at least DELETED_MIN views (or
    impressions): flagged on the day of the first snapshot that shows it."""
    f = life[life["zero_at"].notna().to_numpy() & (life["before"].to_numpy(dtype="float64") >= DELETED_MIN)]
    f = f.sort_values("post_pk", kind="stable")
    at = pd.to_datetime(f["zero_at"], utc=True)
    return _frame(len(f), detector="deleted", day=_local_day(at, campaign.tz).to_numpy(),
                  influencer=f["influencer"].to_numpy(dtype=object), platform=f["platform"].to_numpy(dtype=object),
                  account=f["account"].to_numpy(dtype=object), post_pk=f["post_pk"].to_numpy(dtype=object),
                  post_id=f["post_id"].to_numpy(dtype=object), metric=f["metric"].to_numpy(dtype=object), value=0.0,
                  typical=f["before"].to_numpy(dtype="float64"), _at=at.dt.as_unit("us").array,
                  _before_at=pd.to_datetime(f["before_at"], utc=True).dt.as_unit("us").array,
                  _account_pk=f["account_pk"].to_numpy(dtype=object))


def scan(series: pd.DataFrame, checks: list, posts: pd.DataFrame, campaign: Campaign, threshold: float = 3.5,
         window: int = 7, n_sigmas: float = 3.0, min_change: dict | None = None, lang: str = "en",
         detectors=("robust_z", "hampel"), explain_all: bool = True,
         lifetimes: pd.DataFrame | None = None) -> pd.DataFrame:
    """``anomalies`` from its inputs: the stacked series (``_stacked``), the frames checked for
    impossible values (``_impossible_inputs``), the posts (post_pk, post_id, influencer, platform,
    account) those name, and the posts' lifetimes (``post_lifetimes``). ``detectors`` says which
    statistics score the days (a view that shows no Hampel flags, Live, asks for ("robust_z",));
    stalls, posts far beyond the usual, deleted posts and impossible values are looked for whenever
    their inputs are given.

    With ``explain_all=False`` the rows come without ``reason`` and ``facts`` (an impossible value
    per post and metric can be hundreds of thousands in a big campaign whose export counts likes
    oddly), with LAZY_COLUMNS instead: ``explain`` writes them for the few rows a page shows."""
    limits = MIN_CHANGE if min_change is None else min_change
    events = _event_days(campaign)
    parts = []
    if len(series):
        for detector in ("robust_z", "hampel"):
            if detector in detectors:
                parts.append(_spikes(series, detector, threshold if detector == "robust_z" else n_sigmas, window,
                                     limits, events))
        parts.append(_stalls(series))
    if lifetimes is not None and len(lifetimes):
        parts.append(_outlier_posts(lifetimes, threshold, limits, events))
        parts.append(_deleted_posts(lifetimes, campaign))
    parts += _impossible_frames(checks, posts, campaign)
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS if explain_all else [*COLUMNS, *LAZY_COLUMNS])
    out = pd.concat(parts, ignore_index=True)
    # One order for every way of computing the flags (flag_store stores them a batch at a time):
    # day, influencer, platform, metric, detector, then the account of a followers series, the
    # check of an impossible value (post-day first) and the post.
    rank = out["detector"].map(DETECTOR_RANK).to_numpy(dtype=np.int64)
    tie = np.zeros(len(out), dtype=np.int64)
    fol = (out["metric"] == "followers_gained").to_numpy() & (rank <= 1)
    tie[fol] = out.loc[fol, "_account_pk"].astype("int64").to_numpy()
    tie[rank == 2] = out.loc[rank == 2, "_where"].map({"daily": 0, "lifetime": 1}).to_numpy(dtype=np.int64)
    post = pd.to_numeric(out["post_pk"]).fillna(-1).to_numpy(dtype="float64")
    out = out.assign(_rank=rank, _tie=tie, _post=post).sort_values(
        ["day", "influencer", "platform", "metric", "_rank", "_tie", "_post"], kind="stable")
    out = out.drop(columns=["_rank", "_tie", "_post", "_sid"], errors="ignore").reset_index(drop=True)
    for c in ("detector", "influencer", "platform", "account", "post_id", "metric"):
        # Text as Python objects, None where unknown, whichever part a row came from.
        values = out[c].to_numpy(dtype=object)
        out[c] = pd.Series(values, dtype=object).where(pd.notna(values), None)
    return explain(out, campaign, lang) if explain_all else out


def _short_id(post_id) -> str:
    # The tail of a URN (LinkedIn's urn:li:activity:7277…): the prefix is the same on every post.
    s = str(post_id).rsplit(":", 1)[-1]
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


def _impossible_cases(checks, posts: pd.DataFrame, campaign: Campaign):
    """For each check (where, frame) with values that break a bound: (where, the bad values,
    whether each one's post is known, the posts' facts in the bad values' order)."""
    posts = posts.drop_duplicates("post_pk").set_index("post_pk")
    for where, frame in checks:
        frame = frame.assign(engagements=engagements(frame, campaign))
        bad = impossible_values(frame, campaign.engagement)
        if bad.empty:
            continue
        pk = bad["post_pk"].to_numpy()
        yield where, bad, np.isin(pk, posts.index.to_numpy()), posts.reindex(pk)


def _impossible_frames(checks, posts: pd.DataFrame, campaign: Campaign) -> list[pd.DataFrame]:
    """The impossible values of ``checks`` as flag rows, built column by column."""
    out = []
    for where, bad, known, p in _impossible_cases(checks, posts, campaign):
        pk = bad["post_pk"].to_numpy()

        def col(name):
            values = p[name].to_numpy(dtype=object) if name in p else np.full(len(p), None, dtype=object)
            return np.where(known, values, None)

        value = bad["value"].to_numpy(dtype="float64")
        bound = bad["bound"].to_numpy(dtype="float64")
        at = (pd.Series(pd.NaT, index=range(len(bad)), dtype="datetime64[us, UTC]").array if where == "daily"
              else pd.to_datetime(bad["at"], utc=True).dt.as_unit("us").array)
        post_id = col("post_id")
        out.append(_frame(len(bad), detector="impossible", day=pd.to_datetime(bad["day"]).to_numpy(),
                          influencer=col("influencer"), platform=col("platform"), account=col("account"), post_pk=pk,
                          post_id=post_id, metric=bad["metric"].to_numpy(dtype=object), value=value,
                          score=value / bound, _where=where, _bound_metric=bad["bound_metric"].to_numpy(dtype=object),
                          _bound=bound, _at=at,
                          _account_pk=col("account_pk") if "account_pk" in p else None))
    return out


def _local_time(ts, campaign: Campaign):
    return None if pd.isna(ts) else pd.Timestamp(ts).tz_convert(campaign.tz)


def explain(flags: pd.DataFrame, campaign: Campaign, lang: str = "en") -> pd.DataFrame:
    """``flags`` (rows of ``scan(..., explain_all=False)``) with every ``facts`` and ``reason``
    written, as ``anomalies`` writes them, and without the columns that stood in for them."""
    if "_where" not in flags:
        return flags
    facts, reasons = list(flags["facts"]), list(flags["reason"])
    for k, r in enumerate(flags.to_dict("records")):
        if facts[k] is not None:
            continue
        kind, day = r["detector"], pd.Timestamp(r["day"])
        if kind == "impossible":
            pid = r["post_id"] if r["post_id"] is not None else r["post_pk"]
            f = dict(kind=kind, metric=r["metric"], value=float(r["value"]), bound_metric=r["_bound_metric"],
                     bound=float(r["_bound"]), post=_short_id(pid), where=r["_where"], day=day.date(),
                     at=None if r["_where"] == "daily" else _local_time(r["_at"], campaign))
        elif kind == "deleted":
            f = dict(kind=kind, metric=r["metric"], value=float(r["value"]), typical=float(r["typical"]),
                     post=_short_id(r["post_id"]), day=day.date(), at=_local_time(r["_at"], campaign),
                     before_at=_local_time(r["_before_at"], campaign), events=_event_labels(campaign, day))
        elif kind == "stalled":
            n = int(r["score"])
            f = dict(kind=kind, metric=r["metric"], value=float(r["value"]), typical=float(r["typical"]), days=n,
                     day=day.date(), until=(day + pd.Timedelta(days=n - 1)).date(), posts=int(r["posts_published"]),
                     events=_event_labels(campaign, day))
        elif kind == "outlier_post":
            other = r["_other_metric"] if isinstance(r["_other_metric"], str) else None
            f = dict(kind=kind, metric=r["metric"], value=float(r["value"]), typical=float(r["typical"]),
                     score=float(r["score"]), post=_short_id(r["post_id"]), day=day.date(), other=other,
                     other_value=float(r["_other"]) if other else None,
                     other_typical=float(r["_other_typical"]) if other else None, events=_event_labels(campaign, day))
        else:
            value = float(r["value"])
            other = r["_other_metric"] if isinstance(r["_other_metric"], str) else None
            f = dict(kind=kind, metric=r["metric"], value=value, typical=float(r["typical"]), score=float(r["score"]),
                     window=int(r["_window"]), posts=int(r["posts_published"]), day=day.date(),
                     hype=r["metric"] == "followers_gained" and value > HYPEAUDITOR_FOLLOWERS_PER_DAY,
                     corrected=bool(r["_corrected"]), other=other,
                     other_value=float(r["_other"]) if other else None,
                     other_typical=float(r["_other_typical"]) if other else None,
                     events=_event_labels(campaign, day))
        facts[k], reasons[k] = f, reason_text(f, lang)
    return flags.assign(facts=facts, reason=reasons).drop(columns=[c for c in LAZY_COLUMNS if c in flags])


def not_scored(frames, inc: pd.DataFrame, campaign: Campaign, min_days: int = MIN_DAYS,
               lang: str = "en") -> pd.DataFrame:
    """Series with too few days of a daily figure for a z-score: influencer, platform, account,
    metric, days, note (in ``lang``). Nothing about them is flagged, which is not the same as
    nothing being wrong."""
    daily, followers, _ = _series_inputs(frames, inc, campaign)
    s = _stacked(daily, followers)
    cols = ["influencer", "platform", "account", "metric", "days", "note"]
    if s.empty:
        return pd.DataFrame(columns=cols)
    g = s.groupby("_sid", sort=True)
    first = g.head(1).set_index("_sid")
    n = g["value"].count()
    rows = []
    for sid in n.index[n < min_days]:
        r, k = first.loc[sid], int(n[sid])
        word = _metric_word(r["_metric"], lang)
        said = t("anomaly.no_day", lang, metric=word) if k == 0 else t("anomaly.only_days", lang, n=k, metric=word)
        rows.append(dict(influencer=r["influencer"], platform=r["platform"], account=r["account"], metric=r["_metric"],
                         days=k, note=t("anomaly.not_scored", lang, platform=platform_name(r["platform"], lang),
                                        said=said, min_days=min_days)))
    return pd.DataFrame(rows, columns=cols)

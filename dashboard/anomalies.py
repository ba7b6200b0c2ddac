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


def _groups(daily: pd.DataFrame, group_cols: Sequence[str]):
    cols = list(group_cols)
    if not cols:
        yield (), daily
        return
    for key, g in daily.groupby(cols, sort=False, dropna=False, observed=True):
        yield key if isinstance(key, tuple) else (key,), g


def flag_outliers(daily: pd.DataFrame, value_col: str, group_cols: Sequence[str] = ("influencer", "platform"),
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
    for _, g in _groups(out, group_cols):
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


def hampel(daily: pd.DataFrame, value_col: str, group_cols: Sequence[str] = ("influencer", "platform"),
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
    for _, g in _groups(out, group_cols):
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
    rows = []
    for metric, direction, s in _series(frames, inc, campaign):
        scored = {"robust_z": flag_outliers(s, "value", group_cols=(), threshold=threshold, direction=direction),
                  "hampel": hampel(s, "value", group_cols=(), window=window, n_sigmas=n_sigmas, direction=direction)}
        for detector, r in scored.items():
            limit = (MIN_CHANGE if min_change is None else min_change).get(metric, 0)
            big = (r["value"] - r["typical"]).abs() >= limit
            for _, f in r[r["flagged"] & big].iterrows():
                rows.append(_daily_flag(detector, metric, f, campaign, window, lang))
    rows += _impossible_rows(frames, campaign, lang)
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.DataFrame(rows, columns=COLUMNS)
    order = {"robust_z": 0, "hampel": 1, "impossible": 2}
    out = out.sort_values(["day", "influencer", "platform", "metric", "detector"], kind="stable",
                          key=lambda c: c.map(order) if c.name == "detector" else c)
    return out.reset_index(drop=True)


def _daily_flag(detector: str, metric: str, f: pd.Series, campaign: Campaign, window: int, lang: str) -> dict:
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


def _short_id(post_id) -> str:
    s = str(post_id)
    return s if len(s) <= 12 else s[:10] + "…"


def _impossible_rows(frames, campaign: Campaign, lang: str = "en") -> list[dict]:
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

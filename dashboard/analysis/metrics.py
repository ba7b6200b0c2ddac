"""Metrics: the numbers the dashboard, the exports, the summary and the notebooks show.

Pure functions, frames in and frames out; every definition is written down in docs/metrics.md and
checked by a second, independent implementation in tests/test_metrics_oracle.py.

The central step is ``increments``: lifetime snapshots become daily increments per post and
metric, in the campaign timezone. Between two snapshots the difference is spread over the local
days of the interval pro rata by hours (marked interpolated when it spans more than one day). A
drop (a platform correction) is never shown as negative activity: increments follow the running
maximum of the lifetime value, and whatever a post ends below that maximum is taken back from its
latest increments, so increments are never negative and always add up to the latest lifetime
value minus the baseline. Daily observations are used as they are.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from collectors.model import FLOAT_METRICS, METRICS, NON_ADDITIVE

from ..text.weeks import week_start
from .config import EMV_FORMULA_VERSION, Campaign

ADDITIVE = tuple(m for m in METRICS if m not in NON_ADDITIVE)
BASIS_METRIC = "views_or_impressions"  # see ``views_or_impressions``
# What an aggregate sums: the additive metrics and "views or impressions", which is one of them
# per platform (COUNTS, unlike ADDITIVE, names no metric of the increments).
COUNTS = (*ADDITIVE, BASIS_METRIC)
INC_COLUMNS = ["post_pk", "day", "metric", "value", "interpolated", "corrected", "source"]


# --- snapshots to daily increments ------------------------------------------------------------

def _local_midnight_utc(days: pd.Series, tz) -> pd.Series:
    """UTC instants of local midnight at the start of each (naive) day."""
    return days.dt.tz_localize(tz, ambiguous=False, nonexistent="shift_forward").dt.tz_convert("UTC")


def _local_day(ts: pd.Series, tz) -> pd.Series:
    return ts.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def snapshot_increments(snaps: pd.DataFrame, campaign: Campaign, metrics=ADDITIVE) -> pd.DataFrame:
    """Daily increments from lifetime snapshots.

    ``snaps``: one row per post and capture: post_pk, platform, published_at (UTC, may be NaT),
    captured_at (UTC), and lifetime values of ``metrics`` (NaN where not reported).
    Returns INC_COLUMNS, one row per post, local day and metric with a non-zero or attributed value.
    """
    tz = campaign.tz
    cols = [m for m in metrics if m in snaps]
    if snaps.empty or not cols:
        return pd.DataFrame(columns=INC_COLUMNS)
    # ``_baseline`` (optional): a row whose value is a baseline, never counted (_after_daily's anchor).
    ids = ["post_pk", "platform", "published_at", "captured_at", *(["_baseline"] if "_baseline" in snaps else [])]
    long = snaps.melt(id_vars=ids, value_vars=cols, var_name="metric", value_name="v").dropna(subset=["v"])
    if long.empty:
        return pd.DataFrame(columns=INC_COLUMNS)
    long = long.sort_values(["post_pk", "metric", "captured_at"], kind="stable").reset_index(drop=True)
    long["captured_at"] = pd.to_datetime(long["captured_at"], utc=True)
    long["published_at"] = pd.to_datetime(long["published_at"], utc=True)

    # Segments: a definition change restarts the baseline, so values are never differenced across it.
    seg = np.zeros(len(long), dtype=np.int64)
    for ch in campaign.definition_changes:
        at = pd.Timestamp(ch.day).tz_localize(tz).tz_convert("UTC")
        hit = ((long["platform"] == ch.platform) & (long["metric"] == ch.metric) & (long["captured_at"] >= at)).to_numpy()
        seg += hit
    long["seg"] = seg
    key = ["post_pk", "metric", "seg"]
    g = long.groupby(key, sort=False)
    first = g.cumcount().to_numpy() == 0
    long["m"] = g["v"].cummax()
    prev_m = g["m"].shift()
    long["raw_delta"] = long["v"] - g["v"].shift()
    long["delta"] = (long["m"] - prev_m).fillna(0.0)
    long["start"] = g["captured_at"].shift()
    # Flagged: a drop, and every later increment that a drop's debt was taken from.
    long["corrected"] = (long["raw_delta"].notna() & (long["raw_delta"] != long["delta"])).to_numpy()

    # The first value of a segment: counted from the publish time when the metric was reported
    # from the post's first snapshot on and the post is the campaign's; otherwise a baseline.
    post_first = long.groupby("post_pk")["captured_at"].transform("min")
    starts_with_post = (long["captured_at"] == post_first).to_numpy() & (long["seg"] == 0).to_numpy()
    attributed = first & starts_with_post
    if campaign.first_snapshot == "baseline" and campaign.start is not None:
        cstart = pd.Timestamp(campaign.start).tz_localize(tz).tz_convert("UTC")
        attributed &= ~(long["published_at"] < cstart).fillna(False).to_numpy()
    if "_baseline" in long:
        attributed &= ~long["_baseline"].to_numpy(dtype=bool)
    pub = long["published_at"]
    long.loc[first & attributed, "delta"] = long.loc[first & attributed, "v"]
    # Publish time unknown (or after the capture, a bad cell): the first value lands on its
    # capture day, flagged as approximate.
    begin = pub.where(pub < long["captured_at"], long["captured_at"])
    long.loc[first, "start"] = begin[first]
    long["unknown_start"] = first & pub.isna().to_numpy()
    long = long[~first | attributed].copy()

    # A post that ends below its running maximum gives the excess back from its latest increments.
    last = long.groupby(key, sort=False).tail(1)
    excess = last[last["m"] > last["v"]]
    if len(excess):
        # Only the rows of the series that owe are visited (corrections are rare), on numpy arrays;
        # the walk back from the latest increment stays a loop so that the arithmetic (and so the
        # float result) is exactly the definition's: take min(owe, delta) until nothing is owed.
        group_of = long.groupby(key, sort=False).ngroup().to_numpy()
        owes = (excess["m"] - excess["v"]).to_numpy()
        wanted_groups = group_of[long.index.get_indexer(excess.index)]
        rows = np.flatnonzero(np.isin(group_of, wanted_groups))
        rows = rows[np.argsort(group_of[rows], kind="stable")]
        bounds = np.flatnonzero(np.diff(group_of[rows])) + 1
        rows_by_group = dict(zip(group_of[rows[np.r_[0, bounds]]], np.split(rows, bounds)))
        delta = long["delta"].to_numpy(dtype="float64", copy=True)
        corrected = long["corrected"].to_numpy(dtype=bool, copy=True)
        for owe, g_ in zip(owes, wanted_groups):
            for j in rows_by_group[g_][::-1]:
                take = min(owe, delta[j])
                if take > 0:
                    delta[j] -= take
                    corrected[j] = True
                    owe -= take
                if owe <= 0:
                    break
        long["delta"] = delta
        long["corrected"] = corrected

    return _spread_over_days(long, tz)


def _seconds(ts: pd.Series) -> np.ndarray:
    """UTC instants as whole seconds since the epoch (floored)."""
    return np.floor_divide(pd.DatetimeIndex(ts).as_unit("ns").asi8, 10**9)


# Above this, delta x seconds could overflow int64: such a count keeps its fractional shares.
_EXACT_LIMIT = 2**62


def _whole_shares(delta, interval, seg_start, seg_end, start, end, count) -> np.ndarray:
    """Largest-remainder split of each interval's whole delta over its days, by seconds.

    Rows are the days of multi-day intervals, grouped by ``interval`` (ascending, days in order).
    A day gets floor(delta x its seconds / the interval's seconds); the whole units left over go
    one each to the days with the largest remainders, the earlier day first on a tie. The
    arithmetic is on integers (seconds, floored), so the split is exact and the same on every
    machine, and each interval's days add up to its delta exactly. NaN where a row is not a whole
    count (``count`` false, a fractional delta, or too large for exact arithmetic): those keep
    their fractional shares."""
    out = np.full(len(delta), np.nan)
    total = end - start
    secs = np.maximum(np.minimum(end, seg_end) - np.maximum(start, seg_start), 0)
    ok = count & (delta == np.floor(delta)) & (total > 0) & (np.abs(delta) * np.maximum(total, 1) < _EXACT_LIMIT)
    if not ok.any():
        return out
    # An interval is split whole or not at all.
    ok_iv = pd.Series(ok).groupby(interval).transform("all").to_numpy()
    rows = np.flatnonzero(ok_iv)
    if not len(rows):
        return out
    d = delta[rows].astype(np.int64)
    s, t = secs[rows], total[rows]
    num = d * s
    base, rem = num // t, num % t
    g = interval[rows]
    left = d - pd.Series(base).groupby(g).transform("sum").to_numpy()  # whole units still to give
    # Rank the days of an interval by remainder, largest first, the earlier day first on a tie.
    order = np.lexsort((np.arange(len(rows)), -rem, g))
    starts = np.r_[0, np.flatnonzero(np.diff(g[order])) + 1]
    rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    extra = np.zeros(len(rows), np.int64)
    extra[order] = rank < left[order]
    out[rows] = (base + extra).astype("float64")
    return out


def _spread_over_days(iv: pd.DataFrame, tz) -> pd.DataFrame:
    """Each interval (start, captured_at] with its delta, spread over local days by hours.

    On whole arrays: the interval-day rows are made with np.repeat, only the columns needed are
    repeated, local midnights are computed once per distinct day, and rows are summed per post,
    day and metric by one stable sort (the summing reproduces pandas' own, so the result is
    exactly the same as a groupby's)."""
    iv = iv[(iv["delta"] != 0) | iv["corrected"]] if len(iv) else iv
    if iv.empty:
        return pd.DataFrame(columns=INC_COLUMNS)
    end = iv["captured_at"]
    start = iv["start"]
    eps = pd.Timedelta(microseconds=1)
    d0 = _local_day(start, tz)
    # A snapshot at local midnight closes the day before.
    d1 = _local_day(end - eps, tz).where(end > start, _local_day(end, tz))
    d0 = d0.where(d0 <= d1, d1)
    ndays = ((d1 - d0).dt.days + 1).to_numpy()
    rep = np.repeat(np.arange(len(iv)), ndays)
    # Day offset within its interval: position minus the interval's first position.
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(ndays) - ndays, ndays)
    # Days as numbers counted from the first day (local midnights and sorting work on these).
    dnum0 = d0.to_numpy().astype("datetime64[D]").astype(np.int64)
    first_day = int(dnum0.min())
    dcode = (dnum0 - first_day)[rep] + offset
    n_days = int(dcode.max()) + 1
    lo = int(np.argmin(dnum0))

    def days_at(i, k):
        """The days of intervals i at offsets k, as the naive day column (d0 + k days)."""
        return pd.Series(d0.to_numpy()[i]) + pd.to_timedelta(k, unit="D")

    delta = iv["delta"].to_numpy(dtype="float64")[rep]
    multi = ndays[rep] > 1
    value = delta.copy()
    if multi.any():
        at = np.flatnonzero(multi)
        # Local midnights of each day of the campaign once (few days, many rows).
        table = days_at(np.full(n_days, lo), np.arange(n_days) + (first_day - dnum0[lo]))
        dc = dcode[at]
        day_begin = _local_midnight_utc(table, tz).iloc[dc].reset_index(drop=True)
        day_end = _local_midnight_utc(table + pd.Timedelta(days=1), tz).iloc[dc].reset_index(drop=True)
        r = rep[at]
        s0 = start.iloc[r].reset_index(drop=True)
        s1 = end.iloc[r].reset_index(drop=True)
        seg_start = s0.where(s0 > day_begin, day_begin)
        seg_end = s1.where(s1 < day_end, day_end)
        length = (end - start).dt.total_seconds().to_numpy()[r]  # per interval, then repeated
        share = (seg_end - seg_start).dt.total_seconds() / length
        value[at] = delta[at] * share.clip(lower=0).to_numpy()
        # Counts are whole: each interval's delta is split into whole numbers that add up to it.
        whole = _whole_shares(delta[at], r, _seconds(seg_start), _seconds(seg_end), _seconds(s0), _seconds(s1),
                              ~iv["metric"].isin(FLOAT_METRICS).to_numpy()[r])
        value[at] = np.where(np.isnan(whole), value[at], whole)
    interpolated = multi | iv["unknown_start"].to_numpy(dtype=bool)[rep]
    corrected = iv["corrected"].to_numpy(dtype=bool)[rep]
    keep = (value != 0) | corrected
    if not keep.all():
        rep, offset, dcode = rep[keep], offset[keep], dcode[keep]
        value, interpolated, corrected = value[keep], interpolated[keep], corrected[keep]
    if not len(rep):
        return pd.DataFrame(columns=INC_COLUMNS)

    # Sum per post, day and metric, ordered as groupby(sort=True) orders them. Rows come by post,
    # metric and day, so a stable sort on one integer key has few runs to merge.
    pcode, puniq = pd.factorize(iv["post_pk"], sort=True)
    mcode, muniq = pd.factorize(iv["metric"], sort=True)
    pcode, mcode = pcode[rep], mcode[rep]
    key = (pcode.astype(np.int64) * n_days + dcode) * len(muniq) + mcode
    order = np.argsort(key, kind="stable")  # rows of a group keep their order
    key = key[order]
    new_group = np.r_[True, key[1:] != key[:-1]]
    size = np.diff(np.r_[np.flatnonzero(new_group), len(key)])
    firsts = order[new_group]
    val = value[firsts] + 0.0  # a group of one: pandas' sum starts at 0.0 (so -0.0 becomes 0.0)
    interp = interpolated[firsts]
    corr = corrected[firsts]
    many = size > 1
    if many.any():
        # Groups of several rows (a day shared by two intervals): pandas sums them, compensated.
        gid = np.cumsum(new_group) - 1
        gk = np.empty(len(value), np.int64)
        gk[order] = gid
        sub = np.flatnonzero(many[gk])  # in row order, as a groupby sees them
        grp = (pd.DataFrame(dict(k=gk[sub], value=value[sub], interpolated=interpolated[sub],
                                 corrected=corrected[sub]))
               .groupby("k", sort=True).agg(value=("value", "sum"), interpolated=("interpolated", "any"),
                                            corrected=("corrected", "any")))
        idx = grp.index.to_numpy()
        val[idx] = grp["value"].to_numpy()
        interp[idx] = grp["interpolated"].to_numpy()
        corr[idx] = grp["corrected"].to_numpy()
    day = days_at(rep[firsts], offset[firsts])
    res = pd.DataFrame({"post_pk": puniq.take(pcode[firsts]), "day": day,
                        "metric": muniq.take(mcode[firsts]), "value": val, "interpolated": interp,
                        "corrected": corr})
    res["source"] = "snapshot"
    return res[INC_COLUMNS]


def daily_increments(days: pd.DataFrame, metrics=ADDITIVE) -> pd.DataFrame:
    """Daily observations (post_pk, day, metrics) as increments, as the platform gave them."""
    cols = [m for m in metrics if m in days]
    if days.empty or not cols:
        return pd.DataFrame(columns=INC_COLUMNS)
    long = days.melt(id_vars=["post_pk", "day"], value_vars=cols, var_name="metric", value_name="value").dropna(subset=["value"])
    long["day"] = pd.to_datetime(long["day"])
    long["interpolated"] = False
    long["corrected"] = False
    long["source"] = "daily"
    return long[INC_COLUMNS].reset_index(drop=True)


def increments(snaps: pd.DataFrame, days: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """All daily increments. For a post and metric with daily observations, those are used up to
    their last day, and its snapshots only for the days after it (``_after_daily``): the
    platform's own per-day figures beat an interpolation, and a lifetime snapshot taken later
    still counts its growth (sources stitched, issue 12)."""
    a = snapshot_increments(snaps, campaign)
    b = daily_increments(days)
    if len(a) and len(b):
        have = pd.MultiIndex.from_frame(b[["post_pk", "metric"]].drop_duplicates())
        a = a[~pd.MultiIndex.from_frame(a[["post_pk", "metric"]]).isin(have)]
    c = _after_daily(snaps, b, campaign) if len(b) and len(snaps) else None
    parts = [x for x in (a, b, c) if x is not None and len(x)]
    if not parts:
        return pd.DataFrame(columns=INC_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype("float64")
    return out


# Increment rows worked out at once by ``in_parts``. A post's first snapshot is spread over every
# day since it was published, so the rows grow with posts x days, not with posts: one real 52 KB
# YouTube table (500 videos published since 2011) made 8 M rows and a 1.86 GB peak (issue 11).
SPREAD_ROWS = 400_000


def spread_rows(snaps: pd.DataFrame, days: pd.DataFrame) -> pd.Series:
    """Per post, about the rows ``increments`` makes (and holds while it works) for it: the days
    from its publication (or first capture) to its last capture plus one per snapshot (an
    interval's first and last day may be a day each), for each metric it reports a value other
    than 0 for (in its fullest snapshot), and its daily rows per metric. Indexed by post_pk."""
    parts = []
    cols = [m for m in ADDITIVE if m in snaps]
    if len(snaps) and cols:
        cap = pd.to_datetime(snaps["captured_at"], utc=True)
        pub = pd.to_datetime(snaps["published_at"], utc=True)
        # A value that is 0 (or unknown) gives no increment: only the others count.
        nonzero = (snaps[cols].to_numpy(dtype="float64", na_value=0.0) != 0).sum(axis=1)
        g = pd.DataFrame({"post_pk": snaps["post_pk"].to_numpy(), "cap": cap.to_numpy(),
                          "begin": pub.where(pub < cap, cap).to_numpy(),
                          "metrics": nonzero}).groupby("post_pk", sort=False)
        first, last, n = g["begin"].min(), g["cap"].max(), g.size()
        span = ((last - first).dt.days + 1 + n).astype("int64") * g["metrics"].max()
        if len(days):
            # _after_daily spreads the snapshots of a post with daily rows a second time.
            span = span.mul(np.where(span.index.isin(days["post_pk"]), 2, 1))
        parts.append(span)
    if len(days):
        dcols = [m for m in ADDITIVE if m in days]
        parts.append(days.groupby("post_pk", sort=False).size() * max(len(dcols), 1))
    if not parts:
        return pd.Series(dtype="int64")
    return parts[0] if len(parts) == 1 else parts[0].add(parts[1], fill_value=0).astype("int64")


def in_parts(snaps: pd.DataFrame, days: pd.DataFrame, limit: int | None = None, order=None):
    """(snaps, days) of groups of whole posts whose ``increments`` make at most about ``limit``
    rows each (``spread_rows``; a post larger than that is a group alone): consecutive runs of
    ``order`` (post_pks, every post of the frames among them) when given, else of post_pk order.
    A post's increments depend on its own observations only, so the groups' increments, put
    together, are exactly ``increments`` of all: callers that sum (per account and day) or write
    (a post's rows) go group by group and hold one group's rows at a time. One group, the frames as
    given, when they fit."""
    limit = limit or SPREAD_ROWS
    if _at_most(snaps, days) <= limit:  # the usual case, told without a grouping
        yield snaps, days
        return
    size = spread_rows(snaps, days)
    if size.sum() <= limit:
        yield snaps, days
        return
    size = size.sort_index() if order is None else size.reindex(pd.Index(order).unique(), fill_value=0)
    group = np.repeat(np.arange(len(cuts := _cuts(size.to_numpy(), limit)) - 1), np.diff(cuts))
    at = pd.Index(size.index)
    rows = [_rows_by_group(f, at, group) for f in (snaps, days)]
    for g in range(len(cuts) - 1):
        yield tuple(f if r is None else f.iloc[np.sort(r[1][r[0][g]:r[0][g + 1]])] for f, r in zip((snaps, days), rows))


def _at_most(snaps: pd.DataFrame, days: pd.DataFrame) -> int:
    """A bound of ``spread_rows(...).sum()`` from whole columns: every snapshot as if its post spanned
    all the frames' days, with every metric (twice with daily rows), plus the daily rows per metric."""
    cols = [m for m in ADDITIVE if m in snaps]
    rows = len(days) * len(ADDITIVE)
    if len(snaps) and cols:
        cap = snaps["captured_at"]
        first = cap.min()
        pub = snaps["published_at"].min()
        if pd.notna(pub):
            first = min(pd.Timestamp(pub), pd.Timestamp(first))
        span = (pd.Timestamp(cap.max()) - pd.Timestamp(first)).days + 2
        rows += len(snaps) * span * len(cols) * (2 if len(days) else 1)
    return rows


def _cuts(sizes: np.ndarray, limit: int) -> list[int]:
    """Positions cutting ``sizes`` into runs that add up to at most ``limit`` (a larger item alone)."""
    cuts, total = [0], 0
    for i, s in enumerate(sizes.tolist()):
        if total and total + s > limit:
            cuts.append(i)
            total = 0
        total += s
    cuts.append(len(sizes))
    return cuts


def _rows_by_group(frame: pd.DataFrame, posts: pd.Index, group: np.ndarray):
    """(where each group's rows start in ``order``, the frame's row positions ordered by group):
    a group's rows are then one slice. None for an empty frame."""
    if not len(frame):
        return None
    at = posts.get_indexer(frame["post_pk"].to_numpy())
    if (at < 0).any():
        raise ValueError("in_parts: a post of the frames is not in the order given")
    g = group[at]
    order = np.argsort(g, kind="stable")
    return np.searchsorted(g[order], np.arange(group.max() + 2 if len(group) else 1)), order


def _after_daily(snaps: pd.DataFrame, daily: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """Increments from lifetime snapshots on the days after a post's last daily row, per metric.

    When the daily rows start on or before the post's publish day, they add up to its lifetime
    value at the end of their last day: that sum is the baseline, at that local midnight, of the
    snapshots taken after it, so the post's increments add up to its latest lifetime value
    (YouTube's Chart data stops where a later video table snapshot goes on). When they start later
    (a video older than the export's range), the lifetime before them is unknown: the snapshots'
    own increments, spread by hours, are kept for the days after the last daily row only."""
    tz = campaign.tz
    cols = [m for m in ADDITIVE if m in snaps]
    cover = (daily.groupby(["post_pk", "metric"], sort=False)
             .agg(first=("day", "min"), last=("day", "max"), total=("value", "sum")).reset_index())
    cover = cover[cover["metric"].isin(cols) & cover["post_pk"].isin(snaps["post_pk"])]
    if cover.empty:
        return pd.DataFrame(columns=INC_COLUMNS)
    # The local midnight that ends the last daily day, in UTC.
    cover["after"] = _local_midnight_utc(cover["last"] + pd.Timedelta(days=1), tz)
    pub = (snaps.drop_duplicates("post_pk").set_index("post_pk")["published_at"])
    pub_day = _local_day(pd.to_datetime(pub, utc=True), tz)
    cover["from_publish"] = (cover["first"] <= cover["post_pk"].map(pub_day)).fillna(False).astype(bool)
    snaps = snaps.assign(captured_at=pd.to_datetime(snaps["captured_at"], utc=True),
                         published_at=pd.to_datetime(snaps["published_at"], utc=True))
    out = []
    for metric, cov in cover.groupby("metric", sort=True):
        s = snaps.loc[snaps["post_pk"].isin(cov["post_pk"]) & snaps[metric].notna(),
                      ["post_pk", "platform", "published_at", "captured_at", metric]]
        s = s.merge(cov[["post_pk", "after", "from_publish", "last"]], on="post_pk")
        later = s[s["from_publish"] & (s["captured_at"] > s["after"])]
        if len(later):
            keep = cov[cov["post_pk"].isin(later["post_pk"])].reset_index(drop=True)
            first = later.drop_duplicates("post_pk").set_index("post_pk")
            anchor = pd.DataFrame({"post_pk": keep["post_pk"],
                                   "platform": keep["post_pk"].map(first["platform"]),
                                   "published_at": keep["post_pk"].map(first["published_at"]),
                                   "captured_at": keep["after"], metric: keep["total"], "_baseline": True})
            frame = pd.concat([anchor, later[["post_pk", "platform", "published_at", "captured_at", metric]]
                               .assign(_baseline=False)], ignore_index=True)
            out.append(snapshot_increments(frame, campaign, metrics=(metric,)))
        rest = s[~s["from_publish"]]
        if len(rest):
            inc = snapshot_increments(rest[["post_pk", "platform", "published_at", "captured_at", metric]],
                                      campaign, metrics=(metric,))
            last = inc["post_pk"].map(cov.set_index("post_pk")["last"])
            out.append(inc[inc["day"] > last])
    out = [x for x in out if len(x)]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=INC_COLUMNS)


# --- aggregates -------------------------------------------------------------------------------

GROUPS = ("influencer", "category", "account", "platform", "post", "day", "week")


@dataclass(frozen=True)
class Selection:
    """What a view or an export is about: days (inclusive, campaign timezone) and filters."""

    start: date | None = None
    end: date | None = None
    platforms: tuple[str, ...] = ()
    influencers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


def in_window(sel: Selection, campaign) -> Selection:
    """``sel``, or without any date the campaign window of campaign.toml: what the pages show,
    their downloads hold and `reach export` writes. One rule in one place, so a download and an
    export of the same filters cover the same days (they once differed by the days after the
    campaign's end)."""
    if sel.start is None and sel.end is None and campaign.start:
        return replace(sel, start=campaign.start, end=campaign.end)
    return sel


def iso_week(days: pd.Series) -> pd.Series:
    """ISO week labels like 2025-W01 (Monday to Sunday; the ISO year, not the calendar year); read
    back by ``week_start`` (dashboard/text/weeks.py)."""
    codes, uniques = pd.factorize(days)  # a campaign has few distinct days and many rows
    iso = pd.Series(pd.DatetimeIndex(uniques)).dt.isocalendar()
    labels = (iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)).to_numpy()
    out = np.where(codes >= 0, labels[np.maximum(codes, 0)] if len(labels) else "", None)
    return pd.Series(out, index=days.index, dtype=object)


def _filter_posts(posts: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    keep = np.ones(len(posts), dtype=bool)
    if sel.platforms:
        keep &= posts["platform"].isin(sel.platforms).to_numpy()
    if sel.influencers:
        keep &= posts["influencer"].isin(sel.influencers).to_numpy()
    if sel.categories:
        keep &= posts["category"].isin(sel.categories).to_numpy()
    return posts[keep]


def _days(frame: pd.DataFrame, sel: Selection, col="day") -> pd.DataFrame:
    if sel.start is not None:
        frame = frame[frame[col] >= pd.Timestamp(sel.start)]
    if sel.end is not None:
        frame = frame[frame[col] <= pd.Timestamp(sel.end)]
    return frame


def engagements(frame: pd.DataFrame, campaign: Campaign) -> pd.Series:
    """likes + comments + shares + saves (campaign.engagement); NaN only when all are unknown."""
    cols = [m for m in campaign.engagement if m in frame]
    return frame[cols].sum(axis=1, min_count=1) if cols else pd.Series(np.nan, index=frame.index)


# --- "views or impressions": one definition ---------------------------------------------------
# Wherever volume is compared across platforms (EMV, rankings, the platform mix, the kiosk, the
# anomaly series), a platform is counted by its views, or by its impressions when none of its
# exports reports views (X, LinkedIn). The choice is per platform, from what its registered
# reports can carry, never per row or per group of rows: a per-row choice let an X row and a
# YouTube row without views mix impressions into "views", and a per-group choice gave one
# influencer different totals on different screens (issue 12). Docs: docs/metrics.md.


def views_basis(platform: str) -> str | None:
    """What "views or impressions" counts on ``platform``: "views" when it reports views,
    "impressions" when it reports impressions only, None when neither (Weibo)."""
    from collectors import registry

    reported = registry.platform_metrics().get(platform, frozenset())
    return "views" if "views" in reported else "impressions" if "impressions" in reported else None


def basis_of(platforms: pd.Series) -> pd.Series:
    """``views_basis`` of each row's platform (object: "views", "impressions" or None)."""
    uniq = pd.unique(platforms.astype(object))
    return platforms.astype(object).map({p: views_basis(p) for p in uniq})


def views_or_impressions(frame: pd.DataFrame) -> pd.Series:
    """Per row, the value "views or impressions" counts: the row's views on a platform whose
    basis is views, its impressions on one whose basis is impressions, else NaN. ``frame`` has
    platform and views and/or impressions."""
    basis = basis_of(frame["platform"])
    nan = pd.Series(np.nan, index=frame.index, dtype="float64")
    views = frame["views"].astype("float64") if "views" in frame else nan
    impressions = frame["impressions"].astype("float64") if "impressions" in frame else nan
    return views.where(basis == "views", impressions.where(basis == "impressions"))


def emv(frame: pd.DataFrame, campaign: Campaign) -> pd.Series:
    """Earned media value in USD: views × CPM / 1000, with the platform's CPM from the campaign
    config (impressions where a platform reports no views: ``views_or_impressions``; 0 for a
    platform without a CPM).
    Every output that carries EMV also carries ``emv_formula`` = EMV_FORMULA_VERSION."""
    basis = views_or_impressions(frame)
    cpm = frame["platform"].map(dict(campaign.cpm)).fillna(0.0).astype("float64")
    return (basis * cpm / 1000).fillna(0.0)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.where(den > 0)
    return num / den


# rate column, numerator, denominator; the numerator is summed only over posts that report the
# denominator (X reports no views: its engagements must not inflate engagement rate by views).
RATES = (("er_views", "engagements", "views"), ("er_impressions", "engagements", "impressions"),
         ("virality_views", "shares", "views"))
RATE_PARTS = tuple((f"_num_{r}", num, den) for r, num, den in RATES)


def add_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Rates as ratios of totals, each named by its denominator (fractions, not percent)."""
    df = df.copy()
    for r, num, den in RATES:
        part = f"_num_{r}"
        df[r] = _ratio(df[part] if part in df else df[num], df[den])
    return df


def followers_by_account(accounts: pd.DataFrame, account_days: pd.DataFrame, until: date | None = None) -> pd.Series:
    """Followers per account_pk: the latest level an export gave on or before ``until``, else the
    roster's figure. Followers are a level: never summed over days."""
    level = accounts.set_index("account_pk")["followers"].astype("float64") if len(accounts) else pd.Series(dtype="float64")
    if len(account_days) and "followers" in account_days:
        a = account_days[account_days["followers"].notna()]
        if until is not None:
            a = a[a["day"] <= pd.Timestamp(until)]
        if len(a):
            latest = a.sort_values("day").groupby("account_pk")["followers"].last()
            level = latest.combine_first(level)
    return level


def aggregate(inc: pd.DataFrame, posts: pd.DataFrame, campaign: Campaign, by=("platform",),
              sel: Selection = Selection(), followers: pd.Series | None = None,
              accounts: pd.DataFrame | None = None, account_days: pd.DataFrame | None = None) -> pd.DataFrame:
    """Activity in the selection summed by any of GROUPS (influencer, category, account,
    platform, post, day, week), with engagements, rates (ratios of totals) and EMV.

    With ``followers`` (``followers_by_account``) and ``accounts`` (Frames.accounts), adds
    ``followers`` (Σ over the group's accounts in the selection, as of the selection's end) and
    ``er_followers`` (Σ engagements of accounts with a follower count ÷ that Σ).
    With ``account_days`` and a grouping by account and day, adds ``reach_account``: the
    platform's own deduplicated reach of that account on that day, the one authoritative reach.
    Additive metrics only; reach is never summed here (see ``reach_table``)."""
    by = list(by)
    bad = [b for b in by if b not in GROUPS]
    if bad:
        raise ValueError(f"cannot group by {bad}: choose from {GROUPS}")
    wide = _wide(inc, posts, sel, campaign)
    if wide.empty:
        return pd.DataFrame(columns=by + list(COUNTS) + ["engagements", "emv_usd", "posts_active", "interpolated",
                                                         "corrected", "er_views", "er_impressions", "virality_views"])
    if not by:
        wide = wide.assign(_all=0)
    out = _sum_known(wide, by or ["_all"], list(COUNTS) + [name for name, _, _ in RATE_PARTS],
                     extra=dict(emv_usd=("emv_usd", "sum"), posts_active=("post_pk", "nunique")))
    out = out.drop(columns=["_all"], errors="ignore")
    out["engagements"] = engagements(out, campaign)
    out["emv_formula"] = EMV_FORMULA_VERSION
    if followers is not None and accounts is not None:
        out = _add_followers(out, wide, by, sel, followers, accounts, campaign)
    if account_days is not None and {"account", "day"} <= set(by):
        keys = [k for k in ("platform", "account", "day") if k in by or k in ("account", "day")]
        r = account_days.loc[account_days["reach"].notna(), ["platform", "account", "day", "reach"]]
        r = r.rename(columns={"reach": "reach_account"})
        out = out.merge(r[[k for k in keys] + ["reach_account"]], on=keys, how="left")
    return add_rates(out)


def _add_followers(out, wide, by, sel, followers, accounts, campaign) -> pd.DataFrame:
    keys = [k for k in by if k in ("influencer", "category", "account", "platform")]
    acc = _filter_posts(accounts.assign(followers=accounts["account_pk"].map(followers)), sel)
    acc = acc[acc["followers"].notna()]
    has = set(acc["account_pk"])
    num = engagements(wide, campaign).where(wide["account_pk"].isin(has))
    w = wide.assign(_num_er_followers=num)
    part = _sum_known(w.assign(_all=0), by or ["_all"], ["_num_er_followers"], extra={}).drop(
        columns=["_all", "interpolated", "corrected"], errors="ignore")
    out = out.merge(part, on=by, how="left") if by else out.assign(_num_er_followers=part["_num_er_followers"].iloc[0])
    if keys:
        f = acc.groupby(keys)["followers"].sum().rename("followers").reset_index()
        out = out.merge(f, on=keys, how="left")
    else:
        out["followers"] = acc["followers"].sum() if len(acc) else np.nan
    out["er_followers"] = _ratio(out["_num_er_followers"], out["followers"])
    return out


def daily_table(inc: pd.DataFrame, posts: pd.DataFrame, campaign: Campaign, by=("platform",),
                sel: Selection = Selection()) -> pd.DataFrame:
    """Activity by day: ``aggregate`` by ``by`` and day."""
    return aggregate(inc, posts, campaign, by=[b for b in by if b != "day"] + ["day"], sel=sel)


def _pivot_days_pandas(i: pd.DataFrame) -> pd.DataFrame:
    wide = i.pivot_table(index=["post_pk", "day"], columns="metric", values="value", aggfunc="sum", observed=True)
    flags = i.groupby(["post_pk", "day"]).agg(interpolated=("interpolated", "any"), corrected=("corrected", "any"))
    return wide.join(flags).reset_index()


def _pivot_days(i: pd.DataFrame) -> pd.DataFrame:
    """Increments to one row per post and day, a column per metric (summed) and the flags: the
    frame pivot_table + groupby give, from integer codes and one stable sort instead of a
    three-key groupby of millions of rows. Unusual input (missing keys or values, categorical
    metrics) takes the pandas path, so the result is always exactly the pandas one."""
    if (isinstance(i["metric"].dtype, pd.CategoricalDtype) or i["value"].isna().any()
            or i["post_pk"].isna().any() or i["day"].isna().any() or i["metric"].isna().any()):
        return _pivot_days_pandas(i)
    pcode, puniq = pd.factorize(i["post_pk"], sort=True)
    dcode, duniq = pd.factorize(i["day"], sort=True)
    mcode, muniq = pd.factorize(i["metric"], sort=True)
    n_m = len(muniq)
    row = pcode.astype(np.int64) * len(duniq) + dcode
    cell = row * n_m + mcode
    order = np.argsort(cell, kind="stable")  # rows of a cell keep their order, as in a groupby
    cell_sorted = cell[order]
    new_cell = np.r_[True, cell_sorted[1:] != cell_sorted[:-1]]
    starts = np.flatnonzero(new_cell)
    size = np.diff(np.r_[starts, len(cell_sorted)])
    value = i["value"].to_numpy(dtype="float64")
    sums = value[order[starts]] + 0.0  # a cell of one: pandas' sum starts at 0.0
    if (size > 1).any():
        # Cells of several increments: summed by pandas (a compensated sum), in row order.
        cid = np.empty(len(cell), np.int64)
        cid[order] = np.cumsum(new_cell) - 1
        sub = np.flatnonzero((size > 1)[cid])
        many = pd.Series(value[sub]).groupby(cid[sub], sort=True).sum()
        sums[many.index.to_numpy()] = many.to_numpy()
    cells = cell_sorted[starts]
    rows_of_cells = cells // n_m
    new_row = np.r_[True, rows_of_cells[1:] != rows_of_cells[:-1]]
    rowid = np.cumsum(new_row) - 1
    n_rows = int(rowid[-1]) + 1
    grid = np.full((n_rows, n_m), np.nan)
    grid[rowid, cells % n_m] = sums
    # Flags per post and day: any over the row's increments.
    row_sorted = cell_sorted // n_m
    row_starts = np.flatnonzero(np.r_[True, row_sorted[1:] != row_sorted[:-1]])
    interp = np.logical_or.reduceat(i["interpolated"].to_numpy(dtype=bool)[order], row_starts)
    corr = np.logical_or.reduceat(i["corrected"].to_numpy(dtype=bool)[order], row_starts)
    keys = cells[new_row] // n_m
    out = pd.DataFrame({"post_pk": puniq.take(keys // len(duniq)), "day": duniq.take(keys % len(duniq))})
    cols = pd.Index(muniq, name="metric")
    metric_frame = pd.DataFrame(grid, columns=cols)
    wide = pd.concat([out, metric_frame], axis=1)
    wide["interpolated"] = interp
    wide["corrected"] = corr
    return wide


def _wide(inc: pd.DataFrame, posts: pd.DataFrame, sel: Selection, campaign: Campaign) -> pd.DataFrame:
    """Increments pivoted to one row per post and day, joined with the post's attributes."""
    p = _filter_posts(posts, sel)
    i = _days(inc[inc["post_pk"].isin(p["post_pk"])], sel)
    if i.empty:
        return pd.DataFrame()
    wide = _pivot_days(i)
    # A post that reports a metric had 0 of it on a day without an increment; a post that never
    # reports it stays unknown. Which posts report what: a post x metric table of the selected
    # posts' rows, filled from integer codes (not a set of pairs built and probed row by row).
    mine = inc[inc["post_pk"].isin(p["post_pk"])]
    pcode, puniq = pd.factorize(mine["post_pk"])
    mcode, muniq = pd.factorize(mine["metric"])
    reports = np.zeros((len(puniq), len(muniq) + 1), dtype=bool)  # the last column: a metric nobody reports
    known = (pcode >= 0) & (mcode >= 0)  # a missing key reports nothing
    reports[pcode[known], mcode[known]] = True
    row_post = pd.Index(puniq).get_indexer(wide["post_pk"])
    for m in ADDITIVE:
        if m not in wide:
            wide[m] = np.nan
        missing = wide[m].isna().to_numpy()
        if missing.any():
            mi = pd.Index(muniq).get_indexer([m])[0]
            rp = row_post[missing]
            fill = (rp >= 0) & reports[np.maximum(rp, 0), mi]  # mi = -1: the all-False column
            col = wide[m].to_numpy(copy=True)
            col[np.flatnonzero(missing)[fill]] = 0.0
            wide[m] = col
    wide = wide.merge(p, on="post_pk", how="left")
    wide[BASIS_METRIC] = views_or_impressions(wide)
    wide["emv_usd"] = emv(wide, campaign)
    e = engagements(wide, campaign)
    # Numerators matched to their denominators: only posts that report the denominator count.
    for name, num, den in RATE_PARTS:
        wide[name] = (e if num == "engagements" else wide[num]).where(wide[den].notna())
    wide["week"] = iso_week(wide["day"])
    wide["post"] = wide["post_pk"]
    return wide


def week_totals(d: pd.DataFrame, cols: list[str], campaign: Campaign, sel: Selection, today: date | None,
                span=None):
    """A daily table's ISO weeks: (the daily rows inside the weeks' coverage, with their week;
    the sums per ``cols`` with week_start, days_covered, partial and rates; first and last day
    covered). Shared by ``weekly_table`` and the rollup's weekly frames (exports, summary).
    ``span``: (first, last) day of the whole table when ``d`` is a part of it (``_coverage``)."""
    d = d.assign(week=iso_week(d["day"]))
    first_day, last_day = _coverage(d, campaign, sel, today, span)
    # Weeks cover the campaign window (and the selection): activity after the end is not a week of it.
    d = d[(d["day"] >= pd.Timestamp(first_day)) & (d["day"] <= pd.Timestamp(last_day))]
    w = _sum_weeks(d, cols)
    w["week_start"] = w["week"].map(week_start)
    w["days_covered"] = [(min(ws + timedelta(days=6), last_day) - max(ws, first_day)).days + 1 for ws in w["week_start"]]
    w["partial"] = w["days_covered"] < 7
    w["emv_formula"] = EMV_FORMULA_VERSION
    return d, add_rates(w), first_day, last_day


def weekly_table(inc: pd.DataFrame, posts: pd.DataFrame, campaign: Campaign, by=(), sel: Selection = Selection(),
                 today: date | None = None, span=None) -> pd.DataFrame:
    """Activity by ISO week, with days covered, a partial flag and week-over-week changes.

    Counts change in percent (``wow_<metric>``; "new" when last week was zero), rates in
    percentage points (``wow_<rate>_pp``). The current, partial week is compared with the same
    weekdays of the week before (like for like)."""
    by = list(by)
    return weekly_from_daily(daily_table(inc, posts, campaign, by=by, sel=sel), campaign, by, sel, today, span=span)


def weekly_from_daily(d: pd.DataFrame, campaign: Campaign, by=(), sel: Selection = Selection(),
                      today: date | None = None, compare: tuple[str, ...] | None = None, span=None) -> pd.DataFrame:
    """``weekly_table`` from its daily table ``d`` (``daily_table`` by ``by``, or the rollup's
    equal rows: ``rollups.query`` by ``by`` and day), so the engine, the exports and the summary
    take the same steps. The week before's figures (``prev_*``, ``wow_*``) only for the weeks in
    ``compare`` when given; the others' are unknown."""
    by = list(by)
    cols = by + ["week"]
    if d.empty or "_num_er_views" not in d:
        return pd.DataFrame(columns=cols + ["week_start", "days_covered", "partial"])
    d, w, first_day, last_day = week_totals(d, cols, campaign, sel, today, span)
    # The week before, for every week at once: a daily row of day D counts for the week of D + 7
    # when D + 7 is a covered day, which is "the whole week before, or for a partial week the same
    # weekdays of the week before" (``d`` holds only covered days). One grouping, not one per week
    # (a filter and a sum per week took 17 s for 738 weeks by post). Rows with an unknown key
    # have no week before, as a comparison of keys never matched them.
    ahead = d["day"] + pd.Timedelta(days=7)
    shifted = d[(ahead >= pd.Timestamp(first_day)) & (ahead <= pd.Timestamp(last_day))]
    shifted = shifted.assign(week=iso_week(ahead[shifted.index])).dropna(subset=by)
    if compare is not None:
        shifted = shifted[shifted["week"].isin(list(compare))]  # weeks not asked for: unknown
    sums = _sum_weeks(shifted, cols) if len(shifted) else pd.DataFrame(columns=cols)
    keyed = w[cols].merge(sums, on=cols, how="left") if len(sums) else w[cols].copy()
    prev = add_rates(keyed.reindex(
        columns=list(COUNTS) + ["engagements"] + [name for name, _, _ in RATE_PARTS]).astype("float64")
        .reset_index(drop=True))
    for m in list(COUNTS) + ["engagements"]:
        w[f"prev_{m}"] = prev[m].to_numpy()
        w[f"wow_{m}"] = [wow_change(a, b) for a, b in zip(w[m], prev[m])]
    for r in ("er_views", "er_impressions", "virality_views"):
        w[f"prev_{r}"] = prev[r].to_numpy()
        w[f"wow_{r}_pp"] = (w[r] - prev[r].to_numpy()) * 100
    return w.sort_values(by + ["week"]).reset_index(drop=True)


def _sum_weeks(d: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return _sum_known(d, cols, [c for c in COUNTS if c in d] + ["engagements"] + [name for name, _, _ in RATE_PARTS],
                      extra=dict(emv_usd=("emv_usd", "sum")))


def _sum_known(frame: pd.DataFrame, keys: list[str], cols: list[str], extra: dict) -> pd.DataFrame:
    """Sums per group in which a value nobody reported stays unknown (NaN), never 0."""
    out = frame.groupby(keys, observed=True, dropna=False).agg(
        **{c: (c, "sum") for c in cols}, **{f"_n{i}": (c, "count") for i, c in enumerate(cols)}, **extra,
        interpolated=("interpolated", "any"), corrected=("corrected", "any")).reset_index()
    for i, c in enumerate(cols):
        out[c] = out[c].where(out.pop(f"_n{i}") > 0)
    return out


def _coverage(d: pd.DataFrame, campaign: Campaign, sel: Selection, today: date | None,
              span=None) -> tuple[date, date]:
    """The days a week can cover: the selection, within the campaign, up to yesterday's data.
    ``span``: the first and last day of the data when ``d`` holds a part of it (a run of posts)."""
    lo, hi = span if span is not None and span[0] is not None else (d["day"].min(), d["day"].max())
    first = max(x for x in (sel.start, campaign.start, pd.Timestamp(lo).date()) if x is not None)
    last = min(x for x in (sel.end, campaign.end, pd.Timestamp(hi).date(),
                           (today - timedelta(days=1)) if today else None) if x is not None)
    return first, last


def wow_change(this, last):
    """Week-over-week change of a count in percent; "new" when last week was zero."""
    if pd.isna(this) or pd.isna(last):
        return np.nan
    if last == 0:
        return "new" if this > 0 else 0.0
    return (this - last) / last * 100


# --- reach ------------------------------------------------------------------------------------

def latest_lifetime(snaps: pd.DataFrame, until: pd.Timestamp | None = None) -> pd.DataFrame:
    """Each post's latest snapshot (captured on or before ``until``, UTC)."""
    s = snaps if until is None else snaps[snaps["captured_at"] <= until]
    return s.sort_values("captured_at").groupby("post_pk", sort=False).tail(1)


def reach_table(snaps: pd.DataFrame, posts: pd.DataFrame, campaign: Campaign, by=("platform",),
                sel: Selection = Selection(), universe: float | pd.Series | None = None) -> pd.DataFrame:
    """Reach of the posts published in the selection, never silently summed.

    Per group: ``reach_max_post`` (a lower bound of unique reach), ``reach_sum`` (not
    deduplicated: an upper bound), ``reach_posts`` (posts with a reach figure),
    ``reach_avg_post``, ``er_reach`` (Σ lifetime engagements ÷ Σ reach of those posts) and
    ``avg_post_er_reach`` (the mean of per-post ERs, a separately named metric). With a
    ``universe`` U (a number, or followers per account_pk from ``followers_by_account``, when U
    is the sum of the followers of the group's accounts),
    ``reach_est_random_duplication`` = U·(1 − Π(1 − R_i/U)), with the model and
    U in its own columns."""
    by = list(by)
    tz = campaign.tz
    until = None
    if sel.end is not None:
        until = pd.Timestamp(sel.end + timedelta(days=1)).tz_localize(tz).tz_convert("UTC")
    p = _filter_posts(posts, sel).copy()
    p["pub_day"] = _local_day(pd.to_datetime(p["published_at"], utc=True), tz)
    p = _days(p, sel, "pub_day")
    last = latest_lifetime(snaps, until).merge(p, on="post_pk", how="inner", suffixes=("", "_post"))
    last = last[last["reach"].notna()].copy()
    cols = by
    if last.empty:
        return pd.DataFrame(columns=cols + ["reach_max_post", "reach_sum", "reach_posts", "reach_avg_post",
                                            "er_reach", "avg_post_er_reach"])
    last["engagements"] = engagements(last, campaign)
    last["post_er"] = _ratio(last["engagements"], last["reach"])
    grouped = last.groupby(cols, observed=True, dropna=False) if cols else [((), last)]
    rows = []
    for key, g in grouped:
        key = key if isinstance(key, tuple) else (key,)
        e = g["engagements"].where(g["reach"].notna())
        row = dict(zip(cols, key), reach_max_post=g["reach"].max(), reach_sum=g["reach"].sum(),
                   reach_posts=int(g["reach"].count()), reach_avg_post=g["reach"].mean(),
                   er_reach=e.sum() / g["reach"].sum() if g["reach"].sum() > 0 else np.nan,
                   avg_post_er_reach=g["post_er"].mean())
        u = universe
        if isinstance(universe, pd.Series):
            u = universe.reindex(g["account_pk"].unique()).sum(min_count=1) if "account_pk" in g else np.nan
            u = None if pd.isna(u) or u <= 0 else float(u)
        if u:
            r = np.minimum(g["reach"].to_numpy(dtype=float), u)
            row.update(reach_est_random_duplication=u * (1 - np.prod(1 - r / u)),
                       reach_est_model="random duplication" + (", U = followers of the accounts"
                                                               if isinstance(universe, pd.Series) else ""),
                       reach_est_universe=u)
        rows.append(row)
    return pd.DataFrame(rows)


def series_by_platform(daily: pd.DataFrame, metric: str, cumulative: bool = False) -> pd.DataFrame:
    """``metric`` per platform and day (columns platform, day, value), or its running total,
    from an aggregate grouped by platform and day."""
    if metric not in daily:  # no row reports it (a frame without the column)
        return pd.DataFrame(columns=["platform", "day", "value"])
    s = daily[["platform", "day", metric]].rename(columns={metric: "value"}).dropna(subset=["value"])
    s = s.sort_values(["platform", "day"]).reset_index(drop=True)
    if cumulative:
        s["value"] = s.groupby("platform")["value"].cumsum()
    return s

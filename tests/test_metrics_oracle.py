"""The metrics engine against a second, independent implementation in plain Python loops.

The oracle walks each post's snapshots with datetime and zoneinfo only: running maximum,
debt taken back from the latest intervals, each interval spread over local days by the hours it
spends in each. The engine does the same with vectorised pandas; they must agree."""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.analysis import metrics
from dashboard.analysis.config import Campaign

UTC = timezone.utc


def spread(out, value, start, end, tz, whole=True):
    """Add ``value`` over the local days of (start, end] by hours. A whole count is split into
    whole numbers: each day gets floor(value x its share), and the units left go one each to the
    days with the largest remainders, the earlier day first on a tie (Fractions, whole seconds)."""
    if value == 0:
        return
    if end <= start:
        out[end.astimezone(tz).date()] += value
        return
    sec = lambda t: math.floor(t.timestamp())  # noqa: E731
    total = sec(end) - sec(start)
    day, parts = start.astimezone(tz).date(), []
    while True:
        begin = datetime.combine(day, time(), tz).astimezone(UTC)
        finish = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
        lo, hi = max(start, begin), min(end, finish)
        if hi > lo:
            parts.append((day, Fraction(value) * (sec(hi) - sec(lo)) / total))
        if finish >= end:
            break
        day += timedelta(days=1)
    if not whole or value != int(value):  # watch time, in seconds, keeps its fractions
        for d, share in parts:
            out[d] += float(share)
        return
    left = int(value) - sum(math.floor(share) for _, share in parts)
    by_remainder = sorted(range(len(parts)), key=lambda k: (-(parts[k][1] - math.floor(parts[k][1])), k))
    for rank, k in enumerate(by_remainder):
        d, share = parts[k]
        out[d] += math.floor(share) + (1 if rank < left else 0)


def oracle_post(snaps, published, tz, campaign_start=None, first="baseline", whole=True):
    """{local day: increment} for one post and metric; snaps = [(utc datetime, value)]."""
    snaps = sorted((t, v) for t, v in snaps if v is not None)
    out = defaultdict(float)
    if not snaps:
        return out
    intervals = []  # [start, end, delta]
    t1, v1 = snaps[0]
    counted = not (first == "baseline" and campaign_start is not None and published is not None
                   and published < datetime.combine(campaign_start, time(), tz).astimezone(UTC))
    if counted:
        begin = published if (published is not None and published < t1) else t1
        intervals.append([begin, t1, v1])
    running, prev = v1, t1
    for t, v in snaps[1:]:
        new = max(running, v)
        intervals.append([prev, t, new - running])
        running, prev = new, t
    owe = running - snaps[-1][1]
    for iv in reversed(intervals):
        take = min(owe, iv[2])
        if take > 0:
            iv[2] -= take
            owe -= take
    for begin, end, delta in intervals:
        spread(out, delta, begin, end, tz, whole)
    return out


def engine_post(snaps, published, tz_name, campaign_start=None, first="baseline"):
    c = Campaign(timezone=tz_name, start=campaign_start, first_snapshot=first)
    frame = pd.DataFrame({
        "post_pk": 1, "platform": "x",
        "published_at": pd.Timestamp(published) if published else pd.NaT,
        "captured_at": [pd.Timestamp(t) for t, _ in snaps],
        "views": [v for _, v in snaps]})
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    inc = metrics.snapshot_increments(frame, c)
    return {d.date(): v for d, v in zip(inc["day"], inc["value"])}


def test_the_worked_example_of_methodology_section_3_2():
    tz = ZoneInfo("Asia/Shanghai")
    at = lambda d: datetime(2024, 12, d, 9, 0, tzinfo=tz).astimezone(UTC)  # noqa: E731
    snaps = [(at(23), 1000), (at(24), 1800), (at(26), 2600), (at(27), 2550), (at(28), 3000)]
    got = engine_post(snaps, at(23) - timedelta(hours=1), "Asia/Shanghai", date(2024, 12, 16))
    # Published Mon 08:00, so the first 1,000 land on Monday. Each 09:00→09:00 interval is split by
    # hours between the local days it touches (15 h before midnight, 9 h after); the missed
    # Wednesday gets 24 of the 48 h of Tue→Thu; Thu→Fri −50 is carried and taken from Fri→Sat.
    want = {23: 1000 + 800 * 15 / 24, 24: 800 * 9 / 24 + 800 * 15 / 48, 25: 800 * 24 / 48,
            26: 800 * 9 / 48, 27: 400 * 15 / 24, 28: 400 * 9 / 24}
    assert got == pytest.approx({date(2024, 12, d): v for d, v in want.items()})
    assert sum(got.values()) == pytest.approx(3000)


timestamps = st.datetimes(min_value=datetime(2024, 12, 1), max_value=datetime(2025, 2, 15)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC))


@st.composite
def histories(draw):
    n = draw(st.integers(1, 8))
    times = sorted(set(draw(st.lists(timestamps, min_size=n, max_size=n))))
    values, v = [], draw(st.integers(0, 5000))
    for _ in times:
        v = max(0, v + draw(st.integers(-300, 4000)))  # growth, corrections, flat stretches
        values.append(v)
    published = draw(st.one_of(st.none(), st.just(times[0] - timedelta(hours=draw(st.integers(0, 24 * 40))))))
    return list(zip(times, values)), published


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h=histories(), tz_name=st.sampled_from(["Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York"]),
       first=st.sampled_from(["baseline", "publish"]))
def test_daily_increments_agree_with_the_plain_python_oracle(h, tz_name, first):
    snaps, published = h
    start = date(2024, 12, 16)
    want = {d: v for d, v in oracle_post(snaps, published, ZoneInfo(tz_name), start, first).items() if abs(v) > 1e-9}
    got = {d: v for d, v in engine_post(snaps, published, tz_name, start, first).items() if abs(v) > 1e-9}
    assert set(got) == set(want)
    for d in want:
        assert got[d] == pytest.approx(want[d], rel=1e-9, abs=1e-6)
    # never negative, and they add up to the latest value minus the baseline
    assert all(v >= -1e-9 for v in got.values())
    counted = not (first == "baseline" and published is not None
                   and published < datetime(2024, 12, 16, tzinfo=ZoneInfo(tz_name)))
    baseline = 0 if counted else snaps[0][1]
    # whole numbers that add up exactly (issue 12: people count views in whole numbers)
    assert all(v == int(v) for v in got.values())
    assert sum(got.values()) == max(0, snaps[-1][1] - baseline)

"""Scheduled reports (dashboard/schedules.py): cron slots in the campaign timezone, a missed slot
sent late once, never twice, not even by two workers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from collectors.errors import ReachError
from collectors.store import database
from dashboard import schedules as S
from dashboard.analysis import config

SH = ZoneInfo("Asia/Shanghai")
MONDAY_9 = "0 9 * * mon"


def utc(*a):
    return datetime(*a, tzinfo=timezone.utc)


@pytest.mark.parametrize("now, slot", [
    (utc(2025, 1, 6, 1, 0), utc(2025, 1, 6, 1, 0)),      # Monday 09:00 in Yiwu exactly
    (utc(2025, 1, 6, 0, 59), utc(2024, 12, 30, 1, 0)),   # a minute before: last week's
    (utc(2025, 1, 8, 12, 0), utc(2025, 1, 6, 1, 0)),     # Wednesday: this Monday's
    (utc(2025, 1, 5, 17, 30), utc(2024, 12, 30, 1, 0)),  # Monday 01:30 in Yiwu, still Sunday in UTC
])
def test_the_latest_slot_is_cut_in_the_campaign_timezone(now, slot):
    assert S.latest_slot(MONDAY_9, SH, now) == slot


def test_a_slot_across_a_daylight_saving_change_keeps_its_local_hour():
    london = ZoneInfo("Europe/London")
    # 30 March 2025: clocks go forward; Monday 31 March 09:00 BST is 08:00 UTC, 24 March 09:00 GMT is 09:00 UTC.
    assert S.latest_slot(MONDAY_9, london, utc(2025, 3, 31, 12)) == utc(2025, 3, 31, 8)
    assert S.latest_slot(MONDAY_9, london, utc(2025, 3, 28, 12)) == utc(2025, 3, 24, 9)


def test_a_missed_slot_is_sent_late_once_and_only_the_latest(sqlite_url):
    eng = database.connect(sqlite_url)
    start = utc(2025, 1, 1, 0)  # the worker first sees the report on a Wednesday
    assert S.due(eng, "Monday", MONDAY_9, SH, start) is None  # the Monday before it existed: not sent
    # The worker is down from Sunday to the Wednesday two weeks later: two Mondays passed.
    back = utc(2025, 1, 15, 3)
    slot = S.due(eng, "Monday", MONDAY_9, SH, back)
    assert slot == utc(2025, 1, 13, 1)  # the latest Monday only
    assert S.claim(eng, "Monday", slot, back) is not None
    assert S.due(eng, "Monday", MONDAY_9, SH, back + timedelta(minutes=1)) is None
    assert S.claim(eng, "Monday", slot, back) is None  # a second worker: already recorded, not theirs
    assert S.due(eng, "Monday", MONDAY_9, SH, utc(2025, 1, 20, 1, 0)) == utc(2025, 1, 20, 1)
    eng.dispose()


def test_reports_are_read_from_campaign_toml_and_a_bad_schedule_is_named():
    c = config.from_dict({"campaign": {"end": "2025-01-26"}, "reports": [
        {"name": "Monday summary", "channels": ["managers"]}, {"name": "Daily", "schedule": "30 18 * * *", "pdf": False}],
        "dashboard": {"url": "https://reach.example.org/"}, "channels": [{"kind": "email", "name": "managers"}]})
    assert [(r.name, r.schedule, r.channels, r.pdf) for r in c.reports] == [
        ("Monday summary", MONDAY_9, ("managers",), True), ("Daily", "30 18 * * *", (), False)]
    assert c.url == "https://reach.example.org"
    with pytest.raises(ReachError, match=r"reports\[1\] \(x\): schedule 'every monday' is not a cron expression"):
        config.from_dict({"reports": [{"name": "x", "schedule": "every monday"}]})
    with pytest.raises(ReachError, match="'Monday' sends to channel 'team', which no \\[\\[channels\\]\\] table names"):
        config.from_dict({"reports": [{"name": "Monday", "channels": ["team"]}]})
    with pytest.raises(ReachError, match="url 'reach.example.org' is not an address"):
        config.from_dict({"dashboard": {"url": "reach.example.org"}})

"""Alert rules (dashboard/alerts.py): what each kind finds, recomputed from raw rows; each event
stored once and told once; cooldown, muting, delivery results, acknowledgement."""
from __future__ import annotations

import json
from dataclasses import replace
import sqlite3
import tomllib
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from collectors.errors import ReachError
from collectors.pipeline import Importer
from collectors.store import database, schema
from conftest import ROOT
from dashboard import alerts
from dashboard.analysis import config, metrics, queries

NOW = datetime(2025, 1, 27, 4, 0, tzinfo=timezone.utc)  # 12:00 in Yiwu, the day after the campaign


@pytest.fixture(scope="module")
def campaign():
    return config.load(ROOT / "campaign.toml")


@pytest.fixture
def demo(demo_db, tmp_path):
    """A copy of the demo: alert events are written."""
    db = tmp_path / "reach.db"
    with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    eng = database.connect(f"sqlite:///{db}")
    yield eng, db
    eng.dispose()


def rule(**kw):
    return config.alert_rule(kw, "test")


def _lifetime(db, metric):
    """Each post's latest snapshot value, straight from the tables."""
    with sqlite3.connect(db) as c:
        rows = c.execute(f"""SELECT p.platform, p.post_id, s.{metric} FROM posts p JOIN post_snapshots s ON s.post_pk = p.id
                             WHERE s.captured_at = (SELECT max(captured_at) FROM post_snapshots WHERE post_pk = p.id)""").fetchall()
    return {(p, i): v for p, i, v in rows if v is not None}


def test_a_post_over_its_threshold_fires_once_per_post(demo, campaign):
    eng, db = demo
    r = rule(name="Viral", kind="threshold", scope="post", metric="views", above=150_000)
    got = alerts.evaluate(eng, campaign, NOW, [r])
    want = {f"post:{p}:{i}" for (p, i), v in _lifetime(db, "views").items() if v >= 150_000}
    assert {f.key for f in got} == want and want
    f = got[0]
    assert f.value >= 150_000 and f.threshold == 150_000
    assert f.params["link"] == f"/posts?q={f.params['post_id']}"


def test_a_day_over_its_threshold_fires_for_that_day_only(demo, campaign):
    eng, db = demo
    fr = queries.frames.load_frames(eng)
    inc = metrics.increments(fr.snapshots, fr.post_days, campaign)
    daily = metrics.aggregate(inc, fr.posts, campaign, by=["day"], sel=metrics.Selection(platforms=("x",)))
    views = daily.set_index("day")["views_or_impressions"]
    today = date(2025, 1, 26)
    recent = {d.date(): v for d, v in views.items() if d.date() in (today, today - timedelta(days=1))}
    limit = min(recent.values()) + 1  # one of the two days over it, the other not
    r = rule(name="X day", kind="threshold", scope="day", metric="views_or_impressions", above=limit, platforms=["x"])
    now = datetime(2025, 1, 26, 10, tzinfo=timezone.utc)
    got = alerts.evaluate(eng, campaign, now, [r])
    assert [f.key for f in got] == [f"day:{d}" for d, v in sorted(recent.items()) if v >= limit]
    assert got[0].value == pytest.approx(max(recent.values()))
    assert got[0].params["link"].startswith("/?platform=x&metric=views_or_impressions&")


def test_a_change_against_the_day_before_needs_its_size_and_direction(demo, campaign):
    eng, _ = demo
    now = datetime(2024, 12, 23, 2, tzinfo=timezone.utc)  # 23 Dec in Yiwu: yesterday was the launch
    from dashboard.analysis import goals
    s = goals.daily(eng, campaign, config.Goal("views", 1), date(2024, 12, 21), date(2024, 12, 22)).set_index("day")["value"]
    pct = (s.iloc[1] - s.iloc[0]) / s.iloc[0] * 100
    assert pct > 100  # the launch ceremony
    up = alerts.evaluate(eng, campaign, now, [rule(name="up", kind="change", change_pct=pct - 1, direction="up")])
    assert [(f.key, round(f.value, 6)) for f in up] == [("day:2024-12-22", round(pct, 6))]
    assert alerts.evaluate(eng, campaign, now, [rule(name="big", kind="change", change_pct=pct + 1)]) == []
    assert alerts.evaluate(eng, campaign, now, [rule(name="down", kind="change", change_pct=50, direction="down")]) == []


def test_stale_sources_and_failures_are_named_with_what_and_when(demo, campaign):
    eng, _ = demo
    later = NOW + timedelta(days=3)
    got = alerts.evaluate(eng, campaign, later, [rule(name="stale", kind="stale", hours="2d")])
    assert {f.params["platform"] for f in got} >= {"x", "youtube", "tiktok"}
    assert all(f.value > 48 and f.threshold == 48 for f in got)
    r = Importer(eng, None).import_bytes("broken.csv", b"\x00\x01 not an export")
    assert not r.ok
    with eng.connect() as c:
        failed_at = c.execute(sa.select(sa.func.max(schema.import_failures.c.failed_at))).scalar()
    now = failed_at.replace(tzinfo=timezone.utc) + timedelta(hours=1)
    fails = alerts.evaluate(eng, campaign, now, [rule(name="fail", kind="failure")])
    assert [f.params["file"] for f in fails] == ["broken.csv"] and fails[0].params["link"] == "/data"
    # ... and told through a channel: the notice's facts carry the failure's own time beside the
    # event's (a failure's params once named it "at" too, and every delivery raised a TypeError).
    from notify_receivers import Hook, webhook_channel

    hook = Hook()
    try:
        told = replace(campaign, alerts=(rule(name="fail", kind="failure", channels=["hook"]),),
                       channels=tuple(tomllib.loads(webhook_channel("hook", hook))["channels"]))
        done = alerts.run(eng, told, now, send=alerts.sender(told))
        assert (done["sent"], done["failed"]) == (1, 0), done
        (body,) = hook.bodies
        facts = body.get("facts", body)
        assert "broken.csv" in json.dumps(body) and facts["failed_at"].startswith(str(failed_at.date()))
    finally:
        hook.close()


def test_each_event_is_stored_once_told_once_and_held_back_in_the_cooldown(demo, campaign):
    eng, db = demo
    r = rule(name="Viral", kind="threshold", scope="post", above=100_000, channels=["ops"], cooldown="6h")
    told = []

    def send(ev):
        told.append(ev.key)
        return [dict(channel="ops", ok=True, attempts=1)]

    first = alerts.run(eng, campaign, NOW, send, [r])
    n = len({k for k, v in _lifetime(db, "views").items() if v >= 100_000})
    assert n >= 2 and first["found"] == n
    # The first event is told; the others found in the same run fall in its cooldown.
    assert first["new"] == 1 and first["sent"] == 1 and len(told) == 1 and first["stored"] == n
    again = alerts.run(eng, campaign, NOW + timedelta(hours=1), send, [r])
    assert again == dict(found=n, new=0, sent=0, failed=0, stored=0) and len(told) == 1
    statuses = pd.Series([e.status for e in alerts.events(eng)]).value_counts().to_dict()
    assert statuses == {"sent": 1, "cooldown": n - 1}


def test_a_failed_delivery_is_stored_shown_and_retried_by_no_one_twice(demo, campaign):
    eng, _ = demo
    r = rule(name="Goal", kind="threshold", scope="total", above=1, channels=["hook"])
    out = alerts.run(eng, campaign, NOW, lambda ev: [dict(channel="hook", ok=False, error="HTTP 500")], [r])
    assert out["failed"] == 1
    bad = alerts.last_failure(eng)
    assert bad.rule == "Goal" and bad.deliveries == [dict(channel="hook", ok=False, error="HTTP 500")]
    assert alerts.run(eng, campaign, NOW + timedelta(hours=1), lambda ev: [dict(ok=True)], [r])["new"] == 0


def test_muted_and_channel_less_rules_store_without_telling_and_anyone_can_acknowledge(demo, campaign):
    eng, _ = demo
    rules = [rule(name="m", kind="threshold", scope="total", above=1, channels=["x"], muted=True),
             rule(name="q", kind="threshold", scope="total", above=1)]
    out = alerts.run(eng, campaign, NOW, lambda ev: pytest.fail("nothing to send"), rules)
    assert out == dict(found=2, new=0, sent=0, failed=0, stored=2)
    evs = {e.rule: e for e in alerts.events(eng)}
    assert (evs["m"].status, evs["q"].status) == ("muted", "quiet")
    assert alerts.acknowledge(eng, evs["m"].id, "viewer1", NOW)
    assert not alerts.acknowledge(eng, evs["m"].id, "viewer2", NOW)  # already: the first one stays
    (m,) = [e for e in alerts.events(eng) if e.rule == "m"]
    assert (m.acknowledged_by, m.acknowledged_at) == ("viewer1", NOW)


def test_a_goal_behind_fires_once_a_day(demo, campaign):
    eng, _ = demo
    c = config.from_dict({"campaign": {"start": "2024-12-16", "end": "2025-01-26", "timezone": "Asia/Shanghai"},
                          "goals": [{"name": "Big", "metric": "views", "target": 1e12}],
                          "alerts": [{"name": "Behind", "kind": "goal", "goal": "Big"}]})
    day1 = alerts.evaluate(eng, c, datetime(2025, 1, 10, 2, tzinfo=timezone.utc))
    day1b = alerts.evaluate(eng, c, datetime(2025, 1, 10, 9, tzinfo=timezone.utc))
    day2 = alerts.evaluate(eng, c, datetime(2025, 1, 11, 2, tzinfo=timezone.utc))
    assert [f.key for f in day1] == [f.key for f in day1b] == ["goal:Big:2025-01-10"]
    assert [f.key for f in day2] == ["goal:Big:2025-01-11"] and day1[0].value > 0


@pytest.mark.parametrize("raw, says", [
    (dict(name="a", kind="threshold", above=1, below=2), "one of above = N or below = N"),
    (dict(name="a", kind="threshold", scope="post", below=2), "use above for scope \"post\""),
    (dict(name="a", kind="change"), "needs change_pct"),
    (dict(name="a", kind="change", change_pct=10, period="month"), "period 'month' is not day or week"),
    (dict(name="a", kind="stale", cooldown="soon"), "'soon' is not a duration"),
    (dict(name="a", kind="threshold", above=1, metric="er_views"), "metric 'er_views' is not one of"),
    (dict(kind="stale"), "name is missing"),
])
def test_a_rule_written_wrong_is_named_with_what_was_expected(raw, says):
    with pytest.raises(ReachError) as e:
        config.from_dict({"campaign": {"end": "2025-01-26"}, "alerts": [raw]}, "campaign.toml")
    assert "campaign.toml, alerts[1]" in str(e.value) and says in str(e.value), str(e.value)

"""The Alerts page and the campaign.toml edits behind it (dashboard/alert_rules.py)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collectors.errors import ReachError
from collectors.store import database
from dashboard import alert_rules, alerts
from dashboard.analysis import config
from dashboard.web.pages import alerts as page
from test_page_data import dashboard_app_context, text_of

TOML = """# The team's campaign: keep these comments.
[campaign]
timezone = "Asia/Shanghai"  # days are cut here
start = 2024-12-16
end = 2025-01-26

[[channels]]
kind = "webhook"
name = "ops"
url = "http://127.0.0.1:9/hook"

# Told when a post takes off.
[[alerts]]
name = "Viral post"
kind = "threshold"
scope = "post"
above = 100000
channels = ["ops"]
"""


@pytest.fixture
def toml(tmp_path):
    p = tmp_path / "campaign.toml"
    p.write_text(TOML, encoding="utf-8")
    return p


def test_muting_and_saving_rules_keep_the_files_comments_and_a_bad_rule_is_not_written(toml):
    c = alert_rules.set_muted(toml, "Viral post", True)
    assert c.alerts[0].muted
    text = toml.read_text(encoding="utf-8")
    assert "# The team's campaign: keep these comments." in text and "# Told when a post takes off." in text
    assert "muted = true" in text
    c = alert_rules.save_rule(toml, dict(name="Stale", kind="stale", hours=48, channels=["ops"]))
    assert [r.name for r in c.alerts] == ["Viral post", "Stale"] and c.alerts[1].hours == 48
    c = alert_rules.save_rule(toml, dict(name="Stale sources", kind="stale", hours=24), old_name="Stale")
    assert [(r.name, r.hours) for r in c.alerts] == [("Viral post", 36.0), ("Stale sources", 24.0)]
    before = toml.read_text(encoding="utf-8")
    with pytest.raises(ReachError, match="sends to channel 'nowhere'"):
        alert_rules.save_rule(toml, dict(name="X", kind="failure", channels=["nowhere"]))
    with pytest.raises(ReachError, match="a threshold needs one of above"):
        alert_rules.save_rule(toml, dict(name="Y", kind="threshold"))
    assert toml.read_text(encoding="utf-8") == before
    c = alert_rules.delete_rule(toml, "Stale sources")
    assert [r.name for r in c.alerts] == ["Viral post"]
    with pytest.raises(ReachError, match="there is no alert named 'Gone'"):
        alert_rules.delete_rule(toml, "Gone")


def test_an_email_channels_recipients_and_language_are_set_from_the_page(toml):
    with open(toml, "a", encoding="utf-8") as f:
        f.write('\n[[channels]]\nkind = "email"\nname = "managers"\nhost = "127.0.0.1"\nto = ["a@example.org"]\n')
    c = alert_rules.set_recipients(toml, "managers", ["li.na@example.org", " director@example.org "], "zh")
    (mail,) = [ch for ch in c.channels if ch["name"] == "managers"]
    assert (mail["to"], mail["lang"]) == (["li.na@example.org", "director@example.org"], "zh")
    assert "# Told when a post takes off." in toml.read_text(encoding="utf-8")
    with pytest.raises(ReachError, match="'li.na at example' is not an e-mail address"):
        alert_rules.set_recipients(toml, "managers", ["li.na at example"], "en")
    with pytest.raises(ReachError, match="'ops' is not an e-mail channel"):
        alert_rules.set_recipients(toml, "ops", ["x@example.org"], "en")


def test_the_page_lists_rules_and_events_and_anyone_can_acknowledge(demo_db, tmp_path, toml, monkeypatch):
    import sqlite3

    db = tmp_path / "reach.db"
    with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    monkeypatch.setenv("REACH_CONFIG", str(toml))
    eng = database.connect(f"sqlite:///{db}")
    campaign = config.load(toml)
    out = alerts.run(eng, campaign, datetime(2025, 1, 27, 4, tzinfo=timezone.utc),
                     alerts.sender(campaign, sleep=lambda s: None))
    assert out["failed"] == 1  # nothing listens on port 9
    with dashboard_app_context(eng, role="viewer"):
        shown = text_of(page.layout())
        assert "Last failed delivery: Viral post to ops" in shown
        assert "Viral post" in shown and "ops" in shown
        assert "Mute" not in shown and "Only editors can change rules." in shown  # a viewer's page
        for ev in alerts.events(eng):
            assert alerts.message(ev, "en", campaign)[1].split("\n")[0] in shown
    with dashboard_app_context(eng, role="editor"):
        zh = text_of(page.layout(lang="zh"))
        assert "最近一次发送失败" in zh and "静音" in zh and "确认已读" in zh and "渠道" in zh
    eng.dispose()


def test_a_failed_notice_shows_on_the_live_freshness_line_until_one_goes_out(demo_db, tmp_path, toml, monkeypatch):
    import sqlite3

    from dashboard.web.pages import live

    db = tmp_path / "reach.db"
    with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    eng = database.connect(f"sqlite:///{db}")
    campaign = config.load(toml)
    now = datetime(2025, 1, 27, 4, tzinfo=timezone.utc)
    alerts.run(eng, campaign, now, alerts.sender(campaign, sleep=lambda s: None))
    with dashboard_app_context(eng, role="viewer"):
        shown = text_of(live._freshness(eng, campaign, "en", now))
        assert "Alerts: the notice of Viral post to ops failed" in shown
    # The channel works again: a later notice went out, the line goes.
    rule = config.alert_rule(dict(name="Total", kind="threshold", scope="total", above=1, channels=["ops"]), "t")
    alerts.run(eng, campaign, now, lambda ev: [dict(channel="ops", ok=True)], [rule])
    with dashboard_app_context(eng, role="viewer"):
        assert "Alerts:" not in text_of(live._freshness(eng, campaign, "en", now))
    eng.dispose()

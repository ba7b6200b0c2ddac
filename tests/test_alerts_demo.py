"""The alert scenario of the issue: `reach demo --live` with a rule on a viral post fires once, and
the notice arrives once at a local webhook and a local SMTP server, in each channel's language."""
from __future__ import annotations

import subprocess
import sys
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa

from collectors.store import database, schema
from conftest import ROOT
from dashboard import alerts
from dashboard.analysis import config
from notify_receivers import email_channel, webhook_channel

pytest.importorskip("aiosmtpd")


def test_the_live_demo_fires_once_on_a_viral_post_and_each_channel_hears_once(tmp_path, receivers):
    hook, box = receivers
    toml = (ROOT / "campaign.toml").read_text(encoding="utf-8") + """
[dashboard]
url = "https://reach.example.org"
""" + webhook_channel("ops-hook", hook) + email_channel("managers", box, "Campaign Reach <alerts@example.org>",
                                                       ["li.na@example.org"]) + """
[[alerts]]
name = "Viral post"
kind = "threshold"
scope = "post-day"
metric = "views"
above = 20000
platforms = ["tiktok"]
channels = ["ops-hook", "managers"]
"""
    cfg = tmp_path / "campaign.toml"
    cfg.write_text(toml, encoding="utf-8")
    db = tmp_path / "reach.db"
    run = subprocess.run([sys.executable, "-m", "dashboard.cli", "demo", "--live", "--for", "4", "--every", "0",
                          "--db", str(db), "--inbox", str(tmp_path / "inbox"), "--config", str(cfg)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    # One post of the closing livestream gained over 20,000 views on its first day: one event,
    # found by the first drop's import and by every one after it, stored and told once.
    assert len(hook.bodies) == 1, hook.bodies
    body = hook.bodies[0]
    assert body["rule"] == "Viral post" and body["threshold"] == 20000 and body["value"] > 20000
    assert body["facts"]["platform"] == "tiktok" and body["facts"]["scope"] == "post-day"
    assert body["link"] == f"https://reach.example.org/posts?platform=tiktok&q={body['facts']['post_id']}"
    assert body["lang"] == "en" and "gained" in body["text"]
    assert len(box.messages) == 1
    mail = box.messages[0]
    assert str(make_header(decode_header(mail["Subject"]))) == "Campaign Reach 提醒：Viral post"
    text = mail.get_body(("plain",)).get_content()
    assert "新增" in text and body["facts"]["post_id"] in text
    assert "lang=zh" in text  # the link opens the view in Chinese
    eng = database.connect(str(db))
    (ev,) = alerts.events(eng)
    assert (ev.status, [d["channel"] for d in ev.deliveries]) == ("sent", ["ops-hook", "managers"])
    # The event is the post the engine counts as gaining that much on that day.
    campaign = config.load(cfg)
    with eng.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(schema.alert_events)).scalar() == 1
    found = alerts.evaluate(eng, campaign, alerts.now_of(eng))
    assert [f.key for f in found] == [ev.key]
    eng.dispose()

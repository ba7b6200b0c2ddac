"""Scheduled reports through `reach worker`: the Monday summary arrives as HTML with its PDF
attached (at most two A4 pages), in each channel's language; a missed Monday is sent late, once."""
from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header

import pytest

from collectors.store import database, schema
from conftest import ROOT
from dashboard import alerts
from notify_receivers import email_channel, webhook_channel

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("weasyprint")


def _worker(db, cfg, cwd):
    r = subprocess.run([sys.executable, "-m", "dashboard.cli", "worker", "--once", "--db", str(db), "--config", str(cfg)],
                       cwd=cwd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_a_missed_monday_report_arrives_late_once_as_html_with_its_pdf(demo_db, tmp_path, receivers):
    hook, box = receivers
    db = tmp_path / "reach.db"
    with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    cfg = tmp_path / "campaign.toml"
    cfg.write_text((ROOT / "campaign.toml").read_text(encoding="utf-8")
                   + email_channel("managers", box, "Campaign Reach <reports@example.org>",
                                   ["li.na@example.org", "director@example.org"])
                   + webhook_channel("team", hook) + """
[[reports]]
name = "Monday summary"
channels = ["managers", "team"]
""", encoding="utf-8")
    # The schedule was first seen three weeks ago and no worker ran since: at least two Mondays passed.
    eng = database.connect(f"sqlite:///{db}")
    with database.write_transaction(eng) as c:
        c.execute(schema.meta_table.insert().values(key="schedule_seen:Monday summary",
                                                   value=(datetime.now(timezone.utc) - timedelta(days=21)).isoformat()))
    out = _worker(db, cfg, tmp_path)
    assert out.count("report Monday summary") == 1 and ": sent: managers ok, team ok" in out, out
    # Only the latest Monday, once: a second round sends nothing.
    assert "report" not in _worker(db, cfg, tmp_path)
    assert len(box.messages) == 1 and len(hook.bodies) == 1

    mail = box.messages[0]
    subject = str(make_header(decode_header(mail["Subject"])))
    week = hook.bodies[0]["facts"]["week"]
    assert subject.startswith(f"周报 {week}：") and "一带一路" in subject
    assert sorted(a.strip() for a in mail["To"].split(",")) == ["director@example.org", "li.na@example.org"]
    html = mail.get_body(("html",)).get_content()
    assert "<html" in html.lower() and week in html and "一带一路" in html
    assert "热门达人" in mail.get_body(("plain",)).get_content() or "达人" in mail.get_body(("plain",)).get_content()
    (pdf_part,) = [p for p in mail.iter_attachments()]
    assert pdf_part.get_content_type() == "application/pdf" and pdf_part.get_filename() == f"campaign-reach-{week}-zh.pdf"
    pdf = pypdf.PdfReader(io.BytesIO(pdf_part.get_content()))
    assert 1 <= len(pdf.pages) <= 2
    for page in pdf.pages:  # A4: 595 x 842 points
        assert abs(float(page.mediabox.width) - 595.3) < 2 and abs(float(page.mediabox.height) - 841.9) < 2
    text = "".join(p.extract_text() for p in pdf.pages)
    assert week in text

    body = hook.bodies[0]
    assert body["subject"].startswith(f"Weekly summary {week}: ") and body["link"].endswith(f"/weekly?week={week}")
    assert body["lang"] == "en"

    (ev,) = [e for e in alerts.events(eng) if e.kind == "report"]
    assert ev.status == "sent" and ev.rule == "report:Monday summary"
    eng.dispose()

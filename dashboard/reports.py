"""Scheduled reports: the weekly summary sent to its ``[[reports]]`` channels when its slot comes.

Each channel gets the summary in its own language: the e-mail its HTML page as the body (the
page `reach summary --html` writes and the Weekly page shows), the plain-text summary as the
other part, and the PDF of that page attached (``pdf = true``, the default; at most two A4 pages,
WeasyPrint: docs/reports.md); a chat channel gets the text and the link to the week on the Weekly
page. The week is the latest complete ISO week on the slot's day (the demo's own day on a demo
database, as the Weekly page's default). When the slot is due, claiming it and sending it are
schedules.py's and this module's; `reach worker` calls ``send_due`` once a minute.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import sqlalchemy as sa

from collectors.store import database, ledger

from . import alerts, schedules
from .analysis import queries, summary, week_store
from .analysis.config import Campaign, Report
from .analysis.metrics import Selection

log = logging.getLogger(__name__)


def week_summary(eng: sa.Engine, campaign: Campaign, lang: str, today):
    """The summary of the latest complete week on ``today``, as `reach summary` prints it."""
    s = week_store.report(eng, campaign, None, today, Selection(), lang=lang)
    return s if s is not None else summary.build_summary_db(eng, campaign, None, today=today, lang=lang)


def message(eng: sa.Engine, campaign: Campaign, report: Report, lang: str, today, with_pdf: bool):
    """The notice of ``report`` for a reader of ``lang``: a notify.Message."""
    from .notify import Message

    s = week_summary(eng, campaign, lang, today)
    k = 1 if lang == "zh" else 0
    subject = alerts.TEXT["report"][k].format(week=s.week, title=campaign.title(lang))
    attachments = []
    if with_pdf and report.pdf:
        attachments.append((f"campaign-reach-{s.week}{'-zh' if lang == 'zh' else ''}.pdf", summary.render_pdf(s),
                            "application/pdf"))
    return Message(subject, summary.render_text(s), html=summary.render_html(s),
                   link=alerts.view_url(campaign, f"/weekly?week={s.week}", lang), lang=lang,
                   attachments=tuple(attachments), facts=dict(report=report.name, week=s.week))


def _today(eng: sa.Engine, campaign: Campaign, slot: datetime):
    clock = ledger.demo_clock(eng)
    return (clock or slot).astimezone(campaign.tz).date()


def send_due(eng: sa.Engine, campaign: Campaign, now: datetime, channels: dict | None = None, **options) -> list[dict]:
    """Send every report whose slot is due at ``now`` and not yet claimed; one result per report
    sent (name, slot, status, deliveries)."""
    out = []
    built = None
    for report in campaign.reports:
        slot = schedules.due(eng, report.name, report.schedule, campaign.tz, now)
        if slot is None:
            continue
        event_id = schedules.claim(eng, report.name, slot, now)
        if event_id is None:
            continue  # another worker claimed it: theirs to send
        if built is None:
            built = alerts.build(campaign, **options) if channels is None else channels
        today = _today(eng, campaign, slot)
        results = []
        for name in report.channels:
            ch = built.get(name)
            if ch is None or isinstance(ch, Exception):
                results.append(dict(channel=name, ok=False, attempts=0,
                                    status=str(ch) if ch is not None else "no such channel in campaign.toml"))
                continue
            try:
                msg = message(eng, campaign, report, ch.lang, today, with_pdf=ch.kind == "email")
            except Exception as e:  # noqa: BLE001 - a report that cannot be built is a failed delivery, shown
                log.warning("report %s could not be built: %s", report.name, e)
                results.append(dict(channel=name, ok=False, attempts=0, status=f"the report could not be built: {e}"))
                continue
            d = ch.send(msg)
            results.append(dict(channel=d.channel, kind=d.kind, ok=d.ok, attempts=d.attempts, status=d.status,
                                at=d.at.isoformat()))
        status = "sent" if results and all(r["ok"] for r in results) else "failed" if results else "quiet"
        with database.write_transaction(eng) as conn:
            queries.events.set_outcome(conn, event_id, status, json.dumps(results, ensure_ascii=False))
        out.append(dict(report=report.name, slot=slot.isoformat(), status=status, deliveries=results))
    return out


def tick(eng: sa.Engine, campaign: Campaign, now: datetime | None = None, **options) -> dict:
    """One round of `reach worker`: the alert rules (on the database's clock: a demo's own), then
    the reports due (on the wall clock, ``now``)."""
    now = now or datetime.now(timezone.utc)
    fired = alerts.after_ingest(eng, campaign, **options)  # the same evaluation as after an import: never raises
    return dict(alerts=fired, reports=send_due(eng, campaign, now, **options))

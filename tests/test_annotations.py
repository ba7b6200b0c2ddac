"""Annotations (dashboard/analysis/annotations.py): stored with author and time, on the charts of the views
they concern, in the campaign timezone, exported, and kept by `reach rebuild`."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from collectors.archive import Archive
from collectors.errors import ReachError
from collectors.pipeline import Importer, rebuild
from collectors.store import database, schema
from dashboard.analysis import annotations as A
from dashboard.analysis import metrics
from dashboard.analysis.config import Campaign, Event
from test_store import x_content

CAMPAIGN = Campaign(timezone="Asia/Shanghai", start=date(2024, 12, 16), end=date(2025, 1, 26),
                    events=(Event(date(2024, 12, 22), "Launch ceremony, Yiwu", "义乌启动仪式"),))


@pytest.fixture
def engine(db_url):
    eng = database.connect(db_url)
    yield eng
    eng.dispose()


def test_an_annotation_is_stored_with_its_author_and_drawn_on_its_local_day(engine):
    # 00:30 in Yiwu on 1 January is still 31 December in UTC: the chart marks the local day.
    pk = A.add(engine, CAMPAIGN, A.Draft("2025-01-01", "00:30", "New Year livestream", "新年直播",
                                         {"platforms": ["tiktok"]}), author="lin")
    (a,) = A.stored(engine)
    assert (a.id, a.label, a.label_zh, a.platforms, a.author, a.updated_by) == (
        pk, "New Year livestream", "新年直播", ("tiktok",), "lin", "lin")
    assert a.at == datetime(2024, 12, 31, 16, 30, tzinfo=timezone.utc)
    assert a.local_day(CAMPAIGN) == date(2025, 1, 1)
    assert a.created_at is not None and abs((datetime.now(timezone.utc) - a.created_at).total_seconds()) < 120
    days = [(e.day, e.text("zh")) for e in A.events(engine, CAMPAIGN)]
    assert days == [(date(2024, 12, 22), "义乌启动仪式"), (date(2025, 1, 1), "新年直播")]


def test_an_annotation_shows_only_on_views_that_meet_its_selection(engine):
    A.add(engine, CAMPAIGN, A.Draft("2025-01-05", "", "TikTok live", selection={"platforms": ["tiktok"]}), "lin")
    A.add(engine, CAMPAIGN, A.Draft("2025-01-06", "", "Merchants' day", selection={"categories": ["merchant"]}), "lin")
    A.add(engine, CAMPAIGN, A.Draft("2025-01-07", "", "Everyone"), "lin")

    def labels(**sel):
        return [e.label for e in A.events(engine, CAMPAIGN, metrics.Selection(**sel)) if e.day.year == 2025]

    assert labels() == ["TikTok live", "Merchants' day", "Everyone"]
    assert labels(platforms=("youtube",)) == ["Merchants' day", "Everyone"]
    assert labels(platforms=("youtube", "tiktok")) == ["TikTok live", "Merchants' day", "Everyone"]
    assert labels(categories=("official",)) == ["TikTok live", "Everyone"]
    assert labels(platforms=("youtube",), categories=("official",)) == ["Everyone"]


def test_edit_and_delete_change_what_is_stored_and_say_when_it_is_gone(engine):
    pk = A.add(engine, CAMPAIGN, A.Draft("2025-01-05", "10:00", "Draft label"), "lin")
    A.edit(engine, CAMPAIGN, pk, A.Draft("2025-01-06", "11:15", "Market tour", "市场探访"), "wang")
    (a,) = A.stored(engine)
    assert (a.label, a.label_zh, a.author, a.updated_by) == ("Market tour", "市场探访", "lin", "wang")
    assert a.at == datetime(2025, 1, 6, 3, 15, tzinfo=timezone.utc)
    A.delete(engine, pk)
    assert A.stored(engine) == []
    with pytest.raises(ReachError, match=f"annotation {pk} does not exist"):
        A.delete(engine, pk)
    with pytest.raises(ReachError, match=f"annotation {pk} does not exist"):
        A.edit(engine, CAMPAIGN, pk, A.Draft("2025-01-06", "", "x"), "wang")


@pytest.mark.parametrize("draft, says", [
    (A.Draft("22/12/2024", "", "x"), "date '22/12/2024' is not a date like 2024-12-22"),
    (A.Draft("2024-12-22", "25:00", "x"), "time '25:00' is not a time like 14:30"),
    (A.Draft("2024-12-22", "", "   "), "label is empty"),
    (A.Draft("2024-12-22", "", "x" * 201), "label has 201 characters; at most 200"),
    (A.Draft("2024-12-22", "", "a\nb"), "label has a line break"),
    (A.Draft("2024-12-22", "", "ok", "中" * 201), "Chinese label has 201 characters"),
    (A.Draft("2024-12-22", "", "ok", selection={"platforms": [3]}), "platforms must be names"),
])
def test_a_wrong_field_is_refused_with_what_it_should_be_and_nothing_stored(sqlite_url, draft, says):
    eng = database.connect(sqlite_url)
    with pytest.raises(ReachError) as e:
        A.add(eng, CAMPAIGN, draft, "lin")
    assert says in str(e.value)
    assert A.stored(eng) == []
    eng.dispose()


def test_the_export_lists_campaign_events_and_annotations_by_date_in_the_campaign_timezone(engine):
    A.add(engine, CAMPAIGN, A.Draft("2025-01-01", "00:30", "=HYPERLINK(\"http://x\")", "新年直播",
                                    {"platforms": ["tiktok", "douyin"]}), author="lin")
    rows = A.export_rows(engine, CAMPAIGN)
    assert [r["source"] for r in rows] == ["campaign.toml", "annotation"]
    first, second = rows
    assert (first["date"], first["label_zh"], first["time"]) == ("2024-12-22", "义乌启动仪式", "")
    assert (second["date"], second["time"], second["platforms"], second["author"]) == (
        "2025-01-01", "00:30", "douyin|tiktok", "lin")
    assert second["created_at"].endswith("+08:00")
    assert list(rows[0]) == A.EXPORT_COLUMNS


def test_annotations_survive_a_rebuild_from_the_archive(tmp_path, db_url):
    eng = database.connect(db_url)
    archive = Archive(tmp_path / "archive")
    r = Importer(eng, archive).import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv",
                                           x_content([("1870000000000000001", 1200, 30)]))
    assert r.ok
    A.add(eng, CAMPAIGN, A.Draft("2024-12-20", "09:00", "Press day"), "lin")
    before = A.stored(eng)
    results = rebuild(eng, archive)
    assert [x.status for x in results] == ["imported"]
    assert A.stored(eng) == before
    with eng.connect() as c:
        assert schema.schema_version(c) == schema.SCHEMA_VERSION
        assert c.execute(sa.select(sa.func.count()).select_from(schema.posts)).scalar() == 1
    eng.dispose()


def test_a_schema_7_database_gains_the_annotations_table_and_keeps_its_data(db_url):
    eng = database.connect(db_url)
    with eng.begin() as c:
        c.execute(sa.text("DROP TABLE annotations"))  # as schema 7 made it
        c.execute(schema.meta_table.update().values(value="7"))
    assert A.stored(eng) == []  # read before the upgrade: nothing, not an error
    assert database.migrate(eng) == 7
    A.add(eng, CAMPAIGN, A.Draft("2024-12-20", "", "Press day"), "lin")
    assert [a.label for a in A.stored(eng)] == ["Press day"]
    eng.dispose()


def test_reach_export_events_writes_them_with_formulas_neutralised(tmp_path):
    from dashboard.cli import main

    db = tmp_path / "reach.db"
    eng = database.connect(f"sqlite:///{db}")
    A.add(eng, CAMPAIGN, A.Draft("2025-01-20", "10:00", "=HYPERLINK(\"http://evil\")", "市场日"), "lin")
    eng.dispose()
    cfg = tmp_path / "campaign.toml"
    cfg.write_text('[campaign]\ntimezone = "Asia/Shanghai"\nstart = 2024-12-16\nend = 2025-01-26\n\n'
                   '[[events]]\ndate = 2024-12-22\nlabel = "Launch"\nlabel_zh = "启动"\n', encoding="utf-8")
    out = tmp_path / "events.csv"
    assert main(["export", "events", "--db", str(db), "--config", str(cfg), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == ",".join(A.EXPORT_COLUMNS)
    assert lines[1].startswith("2024-12-22,,Launch,启动,campaign.toml")
    assert lines[2].startswith("2025-01-20,10:00,\"'=HYPERLINK(\"\"http://evil\"\")\",市场日,annotation")
    assert main(["export", "events", "--db", str(db), "--config", str(cfg), "--platform", "x"]) == 2

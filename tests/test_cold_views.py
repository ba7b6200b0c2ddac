"""The first view after an import (an empty cache) is cheap and shows what it showed before.

* Posts: a search reads the four searched texts of the selection's posts, without a metric, and
  orders the matching posts by the same SQL order as the unsearched grid; only a text sort reads
  their rows. The rows are those of the whole-table code (``search`` of ``post_table``).
* Weekly: the refresh's last step stores the default reports (dashboard/analysis/week_store.py); the page
  reads them when they are of the data, settings, code and day it would build for, and builds
  otherwise.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from collectors.store import database, ledger, schema
from dashboard.analysis import config, exports, listing, metrics, queries, rollups, summary, week_store
from dashboard.web import week_report
from dashboard.web.app import create_app
from dashboard.web.pages import posts as posts_page
from dashboard.web.pages import weekly

from test_query_plans import CAMPAIGN_TOML, build_campaign

S = metrics.Selection


@pytest.fixture
def campaign(tmp_path):
    (tmp_path / "campaign.toml").write_text(CAMPAIGN_TOML)
    return config.load(str(tmp_path / "campaign.toml"))


@pytest.fixture
def engine(sqlite_url, campaign):
    eng = build_campaign(sqlite_url, n_posts=900, per_account=30)
    rollups.refresh(eng, campaign)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def reading_engine(tmp_path_factory):
    """``engine`` once for the module, for the tests that only read."""
    tmp = tmp_path_factory.mktemp("cold-views")
    (tmp / "campaign.toml").write_text(CAMPAIGN_TOML)
    eng = build_campaign(f"sqlite:///{tmp / 'reach.db'}", n_posts=900, per_account=30)
    rollups.refresh(eng, config.load(str(tmp / "campaign.toml")))
    yield eng
    eng.dispose()


# --- Posts ------------------------------------------------------------------------------------------

SORTS = [None, [{"colId": "views", "sort": "asc"}], [{"colId": "engagements", "sort": "desc"}],
         [{"colId": "er_impressions", "sort": "desc"}], [{"colId": "published_at", "sort": "desc"}],
         [{"colId": "platform", "sort": "desc"}], [{"colId": "title", "sort": "asc"}],
         [{"colId": "influencer", "sort": "desc"}]]


def _old(eng, campaign, sel, q, request):
    table = listing.post_table(exports.posts_frame(eng), campaign, sel, listing._categories(eng))
    return posts_page.page_of(listing.search(table, q), request, "en", campaign.tz)


def _new(eng, campaign, sel, q, request):
    found = listing.Listing(eng, campaign, sel, q, request.get("sortModel"), "en")
    return {"rowData": posts_page.grid_rows(found.block(request["startRow"], request["endRow"]), "en", campaign.tz),
            "rowCount": found.total}


@pytest.mark.parametrize("q", ["tag5", "POST 1", "acct1 tag1", "unassigned", "187000000000000004", "nothing-like-it"])
def test_a_search_lists_the_rows_of_the_whole_table_code_in_every_order(reading_engine, campaign, q, monkeypatch):
    engine = reading_engine
    monkeypatch.setenv("REACH_CACHE_DIR", "off")
    # Small pieces, so the matching rows of a text sort are read in several statements.
    monkeypatch.setattr(listing, "SEARCH_CHUNK", 40)  # 3 statements for 111 matching posts
    rows = 0
    frame, categories = exports.posts_frame(engine), listing._categories(engine)
    for sel in (S(), S(start=date(2025, 3, 5), end=date(2025, 3, 12)), S(platforms=("x", "youtube"))):
        # The whole-table code's table once per selection (it is the same for every block and sort).
        table = listing.search(listing.post_table(frame, campaign, sel, categories), q)
        for sort in SORTS:
            for start, end in ((0, 10), (10, 400)):
                req = {"startRow": start, "endRow": end, "sortModel": sort}
                want = posts_page.page_of(table, req, "en", campaign.tz)
                assert _new(engine, campaign, sel, q, req) == want, (q, sel, sort, start)
                rows += len(want["rowData"])
    assert rows > 0 or q == "nothing-like-it"


def test_a_searched_first_view_reads_only_the_rows_it_shows(reading_engine, campaign, monkeypatch):
    """By the default order (or a number's), the search reads texts and the order, then the one
    block's rows: never every matching post's metrics, as the whole-table code did."""
    engine = reading_engine
    monkeypatch.setenv("REACH_CACHE_DIR", "off")
    read = []
    real = listing._frame
    monkeypatch.setattr(listing, "_frame", lambda conn, q: read.append(len(df := real(conn, q))) or df)
    sel = S()
    assert len(listing.Listing(engine, campaign, sel, "post").block(0, 25)) == 25
    with engine.connect() as conn:
        matching = listing.matching_pks(conn, campaign, sel, ["post"])
    assert len(matching) == 900 and read == [25]
    read.clear()
    found = listing.Listing(engine, campaign, sel, "tag5", [{"colId": "er_views", "sort": "desc"}])
    assert found.total == sum(1 for k in range(900) if "tag5" in f"post {k} #tag{k % 97}")
    found.block(0, 5)
    assert read == [5]


def test_the_search_is_the_casefolded_rule_on_title_influencer_account_and_post_id():
    import pandas as pd

    df = pd.DataFrame({"title": ["Straße in Yiwu", None, "Launch"], "influencer": ["A", "b (unassigned)", None],
                       "account": ["@a", "@b", "@c"], "post_id": ["1", "22", "333"]})
    assert list(listing.search(df, "STRASSE yiwu")["post_id"]) == ["1"]
    assert list(listing.search(df, "unassigned 2")["post_id"]) == ["22"]
    assert list(listing.search(df, "@")["post_id"]) == ["1", "22", "333"]
    assert listing.search(df, "launch yiwu").empty  # every word, in the same post
    assert list(listing.search(df, "h @c")["post_id"]) == ["333"]


# --- Weekly -----------------------------------------------------------------------------------------

def _last_day(engine) -> date:
    """The last day of activity in the rollup: the reports built on the day after it cover it."""
    with engine.connect() as c:
        return date.fromisoformat(str(c.execute(sa.select(sa.func.max(schema.daily_rollup.c.day))).scalar())[:10])


def _same(got, want):
    assert got is not None
    assert got == want and got.drivers == want.drivers
    assert summary.render_html(got) == summary.render_html(want)
    assert summary.render_text(got) == summary.render_text(want)


def test_the_stored_reports_are_the_summaries_the_page_would_build(engine, campaign):
    # The refresh runs on the data's last day (say a Sunday); the manager looks the day after.
    day = _last_day(engine)
    after = day + timedelta(days=1)
    assert week_store.save(engine, campaign, today=day) == 4  # each day's default week and the week before
    assert week_store.save(engine, campaign, today=day) == 0  # stored already for this data
    for today in (day, after):
        default = summary.build_summary_db(engine, campaign, None, today=today)
        before = default.previous_week
        assert before in default.weeks
        for week in (None, default.week, before):
            for lang in ("en", "zh"):
                want = summary.build_summary_db(engine, campaign, week, today=today, lang=lang)
                _same(week_store.report(engine, campaign, week, today, S(), lang), want)
    # On the data's last day its own activity is not counted yet (only up to yesterday's): kept apart.
    with engine.connect() as c:
        kept = set(c.execute(sa.select(queries.week_reports.reports_table.c.last_day).distinct()).scalars())
    assert kept == {(day - timedelta(days=1)).isoformat(), day.isoformat()}
    # Every later day builds the same reports as the day after the data.
    later = after + timedelta(days=60)
    _same(week_store.report(engine, campaign, None, later, S()),
          summary.build_summary_db(engine, campaign, None, today=later))


def test_reports_of_other_views_days_data_or_settings_are_never_served(engine, campaign):
    day = _last_day(engine)
    week_store.save(engine, campaign, today=day)
    assert week_store.report(engine, campaign, None, day, S()) is not None
    shown = week_store.report(engine, campaign, None, day, S())
    other_week = next(w for w in shown.weeks if w not in (shown.week, shown.previous_week))
    assert week_store.report(engine, campaign, other_week, day, S()) is None  # not a stored week
    assert week_store.report(engine, campaign, None, day, S(platforms=("x",))) is None  # filters
    # The day before: its own last day, not stored.
    assert week_store.report(engine, campaign, None, day - timedelta(days=1), S()) is None
    other = replace(campaign, engagement=("likes",))
    assert week_store.report(engine, other, None, day, S()) is None
    with database.write_transaction(engine) as c:  # a roster change moves the data version
        c.execute(schema.influencers.update().where(schema.influencers.c.id == 1).values(name="Renamed"))
    assert week_store.report(engine, campaign, None, day, S()) is None


def test_the_reports_keep_every_value_through_json(engine, campaign):
    s = summary.build_summary_db(engine, campaign, "2025-W11", today=_last_day(engine), lang="zh")
    back = week_store.decode(week_store.encode(s))
    _same(back, s)
    assert isinstance(back.kpis, tuple) and isinstance(back.top_posts[0].published, date)


def test_the_weekly_page_shows_the_stored_report_without_building_one(engine, campaign, tmp_path, monkeypatch):
    monkeypatch.setenv("REACH_CACHE_DIR", "off")
    week_store.save(engine, campaign)  # as the refresh's last step does, for today
    app = create_app(engine)
    app.server.config["REACH_CONFIG"] = str(tmp_path / "campaign.toml")
    with app.server.test_request_context("/"):
        want = weekly.pick_week(None, "?lang=zh")

        def no_build(*a, **k):
            raise AssertionError("the first view built the summary")

        monkeypatch.setattr(summary, "build_summary_db", no_build)
        assert weekly.pick_week(None, "?lang=zh") == want
        with pytest.raises(AssertionError, match="built the summary"):
            weekly.pick_week("2025-W12", "")  # a partial week, not stored: built as before


def test_an_unreadable_store_costs_time_not_the_page(engine, campaign, tmp_path, monkeypatch):
    monkeypatch.setenv("REACH_CACHE_DIR", "off")
    week_store.save(engine, campaign)
    with database.write_transaction(engine) as c:
        c.execute(sa.text("UPDATE week_reports SET summary = '{not json'"))
    app = create_app(engine)
    app.server.config["REACH_CONFIG"] = str(tmp_path / "campaign.toml")
    with app.server.test_request_context("/"):
        s, error = week_report.week_summary(None, "")
    assert error is None
    assert s == summary.build_summary_db(engine, campaign, None, today=datetime.now(campaign.tz).date())


def test_a_week_over_by_both_days_is_built_once(engine, campaign, monkeypatch):
    """In a running campaign the refresh stores today's and tomorrow's reports; a week that ended
    before both is the same report, built once (and still the one ``build_summary_db`` gives)."""
    day = _last_day(engine)
    with database.write_transaction(engine) as c:  # nothing stored to keep (see the test after the next)
        c.execute(queries.week_reports.state_table.delete())
    real, built = summary.build_summary_db, []
    monkeypatch.setattr(summary, "build_summary_db", lambda *a, **k: built.append(a[2]) or real(*a, **k))
    assert week_store.save(engine, campaign, today=day) == 4
    assert sorted(built) == ["2025-W10", "2025-W11"]
    monkeypatch.setattr(summary, "build_summary_db", real)
    for today in (day, day + timedelta(days=1)):
        for week in ("2025-W10", "2025-W11"):
            _same(week_store.report(engine, campaign, week, today, S()), real(engine, campaign, week, today=today))


def _daily_row_import(engine, import_id: int, post_pk: int, day: date) -> None:
    """An import of one post's daily row on ``day``, marked pending as bulk.write_parsed marks it."""
    from collectors.model import METRICS

    with database.write_transaction(engine) as c:
        c.execute(schema.imports.insert().values(
            id=import_id, sha256=f"{import_id:064x}", file_name=f"day{import_id}.csv", size_bytes=1,
            imported_at=datetime(2025, 3, 24, 9), platform="x", rows_read=1, rows_stored=1, rows_rejected=0,
            rows_skipped=0, source="file"))
        c.execute(schema.post_days.delete().where(schema.post_days.c.post_pk == post_pk, schema.post_days.c.day == day))
        c.execute(schema.post_days.insert().values(post_pk=post_pk, day=day, import_id=import_id,
                                                  **{m: 5000 for m in METRICS}))
        account = c.execute(sa.select(schema.posts.c.account_pk).where(schema.posts.c.id == post_pk)).scalar()
        c.execute(schema.meta_table.insert().values(
            key=f"{ledger.ROLLUP_PENDING}{import_id}",
            value=ledger.pending_value(pd.Timestamp(day) - pd.Timedelta(hours=8), accounts=[account])))


def test_a_report_is_kept_when_no_day_of_its_weeks_changed_and_rebuilt_when_one_did(engine, campaign, monkeypatch):
    # The refresh stores the latest complete week (W11 here: the data end on 20 March) and the
    # week before. An import whose rows start on 18 March changes neither: both are kept (and are
    # still what a build gives); one on 12 March changes W11, whose report is built again.
    real, built = summary.build_summary_db, []
    monkeypatch.setattr(summary, "build_summary_db", lambda *a, **k: built.append(a[2]) or real(*a, **k))
    today = datetime.now(campaign.tz).date()
    for import_id, day, rebuilt in ((101, date(2025, 3, 18), set()), (102, date(2025, 3, 12), {"2025-W11"})):
        built.clear()
        _daily_row_import(engine, import_id, 5, day)
        rollups.refresh(engine, campaign, [])
        assert set(built) == rebuilt, (day, built)
        for week in ("2025-W10", "2025-W11"):
            _same(week_store.report(engine, campaign, week, today, metrics.Selection()),
                  real(engine, campaign, week, today=today))

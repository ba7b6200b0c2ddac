"""Callbacks are thin: called as plain functions they do what the page relies on."""
from __future__ import annotations

import pytest
from dash.exceptions import PreventUpdate

from collectors.pipeline import Importer
from collectors.store import database, ledger
from dashboard.analysis import stamps
from dashboard.web import layout
from dashboard.web.app import create_app
from dashboard.web.pages import live
from test_store import x_content


@pytest.fixture
def app_ctx(sqlite_url):
    engine = database.connect(sqlite_url)
    Importer(engine, None).import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv",
                                        x_content([("1870000000000000001", 1200, 30)]))
    app = create_app(engine)
    with app.server.test_request_context("/"):
        yield engine
    engine.dispose()


def test_the_live_refresh_sends_nothing_when_the_data_did_not_change_and_redraws_after_an_import(app_ctx):
    seen = stamps.live_version(app_ctx)
    with pytest.raises(PreventUpdate):
        live.refresh(1, "?metric=impressions", seen)
    Importer(app_ctx, None).import_bytes("account_analytics_content_2024-12-16_2024-12-23.csv",
                                         x_content([("1870000000000000001", 1500, 31)]))
    body, version = live.refresh(2, "?metric=impressions", seen)
    assert version != seen and body  # a new version: the page is redrawn


def test_a_failed_attempt_reaches_the_live_freshness_line_without_an_import(app_ctx):
    seen = stamps.live_version(app_ctx)
    ledger.record_failure(app_ctx, "ab", "youtube API", "token expired", platform="youtube", source="api")
    body, version = live.refresh(2, "?metric=impressions", seen)
    assert version != seen and "token expired" in str(body)


def test_filter_controls_write_the_url_and_an_unchanged_view_writes_nothing(app_ctx):
    search = layout.filters_to_url("2024-12-16", "2024-12-31", ["x"], [], [], "impressions", "?lang=zh")
    assert search == "?from=2024-12-16&to=2024-12-31&platform=x&metric=impressions&lang=zh"
    with pytest.raises(PreventUpdate):
        layout.filters_to_url("2024-12-16", "2024-12-31", ["x"], [], [], "impressions", search)


def test_every_app_the_factory_builds_has_every_pages_callbacks(sqlite_url):
    # Dash gives callbacks declared with dash.callback to the first app that serves and forgets
    # them; the tests, and gunicorn's workers, build an app each.
    engine = database.connect(sqlite_url)
    apps = [create_app(engine), create_app(engine)]
    apps[0].server.test_client().get("/_dash-dependencies")  # the first app starts serving
    for app in apps:
        outputs = " ".join(c["output"] for c in app.server.test_client().get("/_dash-dependencies").get_json())
        for output in ("url.search", "live-body.children", "inf-detail.children", "posts-grid.getRowsResponse",
                       "weekly-report.srcDoc", "data-problems.children", "live-chart.figure"):
            assert output in outputs, (output, outputs)
    engine.dispose()


def test_an_annotation_moves_the_live_version_and_is_drawn_on_the_chart(app_ctx):
    from dashboard.analysis import annotations, config
    from dashboard.web import filters as F

    from dashboard.analysis import rollups

    campaign = config.Campaign(timezone="Asia/Shanghai")
    day = rollups.query(app_ctx, campaign, by=["day"])["day"].max().date()  # a day the chart draws
    seen = stamps.live_version(app_ctx)
    annotations.add(app_ctx, campaign, annotations.Draft(day.isoformat(), "09:00", "Press day", "媒体日",
                                                          {"platforms": ["x"]}), "lin")
    body, version = live.refresh(2, "?metric=impressions&lang=zh", seen)
    assert version != seen  # the page redraws: the chart gains the mark
    chart = next(c for c in body if getattr(c, "id", None) == "live-chart")
    assert "媒体日" in str(chart.figure["layout"])
    _, other = live.refresh(3, "?metric=impressions&platform=youtube", version)
    hidden = live.content(app_ctx, campaign, F.parse("?metric=impressions&platform=youtube"))
    assert all("Press day" not in str(getattr(c, "figure", "")) for c in hidden)  # not a YouTube view's

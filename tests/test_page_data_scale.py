"""The Data page with many accounts (issue 11: 830 at 10x the demo, a table row each made the page
slow): the freshness per account comes a page of ACCOUNTS_PAGE rows at a time, in the same order
as before (platform, then account), with how many there are and how many are stale."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from dash import html
from dash.exceptions import PreventUpdate

from dashboard.analysis import clock, config
from dashboard.web.pages import data as page
from test_page_data import dashboard_app_context, text_of, walk
from test_query_plans import build_campaign

NOW = datetime(2025, 3, 24, 12, tzinfo=timezone.utc)
CAMPAIGN = config.Campaign(timezone="UTC")


def _by_id(tree, cid):
    return next((c for c in walk(html.Div(tree)) if getattr(c, "id", None) == cid), None)


def _accounts_listed(tree) -> list[str]:
    table = _by_id(tree, "data-freshness-accounts")
    body = table.children[1]
    return [row.children[1].children for row in body.children]


@pytest.fixture
def many(sqlite_url):
    engine = build_campaign(sqlite_url, n_posts=500, per_account=2)  # 250 accounts on three platforms
    yield engine
    engine.dispose()


def test_the_accounts_come_a_page_at_a_time_in_the_order_of_the_freshness_table(many):
    acc = clock.account_freshness(many, NOW)
    assert len(acc) == 250
    tree = page.freshness_view(many, CAMPAIGN, "en", NOW)
    first = _accounts_listed(tree)
    assert first == list(acc["account"][:page.ACCOUNTS_PAGE])
    shown = text_of(tree)
    stale = int(acc["stale"].sum())
    assert f"Accounts 1–100 of 250 ({stale} stale)" in shown
    assert _by_id(tree, "data-accounts-prev").disabled and not _by_id(tree, "data-accounts-next").disabled
    # Every account is on exactly one page, in order; the last page is short and ends the paging.
    listed = []
    for p in range(3):
        view = page.accounts_view(acc, CAMPAIGN, "en", p, NOW)
        listed += _accounts_listed(view)
    assert listed == list(acc["account"])
    last = page.accounts_view(acc, CAMPAIGN, "en", 2, NOW)
    assert "Accounts 201–250 of 250" in text_of(last) and _by_id(last, "data-accounts-next").disabled
    # A page past the end (another tab, fewer accounts since) shows the last one.
    assert _accounts_listed(page.accounts_view(acc, CAMPAIGN, "en", 7, NOW)) == list(acc["account"][200:])
    assert "第 1–100 个账号，共 250 个" in text_of(page.accounts_view(acc, CAMPAIGN, "zh", 0, NOW))


def test_a_campaign_with_few_accounts_shows_them_all_without_paging(sqlite_url):
    engine = build_campaign(sqlite_url, n_posts=60, per_account=2)  # 30 accounts
    tree = page.freshness_view(engine, CAMPAIGN, "en", NOW)
    assert len(_accounts_listed(tree)) == 30
    assert _by_id(tree, "data-accounts-next") is None and "Accounts 1–" not in text_of(tree)
    engine.dispose()


def test_the_next_and_previous_buttons_turn_the_page(many, monkeypatch):
    acc = clock.account_freshness(many)
    with dashboard_app_context(many):
        monkeypatch.setattr(page, "ctx", SimpleNamespace(triggered_id="data-accounts-next"))
        view, at = page.page_accounts(1, 0, 0, "")
        assert at == 1 and _accounts_listed(view) == list(acc["account"][100:200])
        view, at = page.page_accounts(1, 1, 2, "")  # already on the last page: stays there
        assert at == 2 and _accounts_listed(view) == list(acc["account"][200:])
        monkeypatch.setattr(page, "ctx", SimpleNamespace(triggered_id="data-accounts-prev"))
        view, at = page.page_accounts(1, 1, 1, "?lang=zh")
        assert at == 0 and _accounts_listed(view) == list(acc["account"][:100])
        assert "上一页" in text_of(view)
        monkeypatch.setattr(page, "ctx", SimpleNamespace(triggered_id=None))
        with pytest.raises(PreventUpdate):
            page.page_accounts(0, 0, 0, "")


def test_the_page_and_the_tables_after_an_upload_list_a_page_of_accounts(many):
    with dashboard_app_context(many):
        for tree in (page.layout(), page.redraw_tables(1, "")):
            assert len(_accounts_listed(tree)) == page.ACCOUNTS_PAGE
            assert _by_id(tree, "data-accounts-page").data == 0


def test_an_account_with_no_influencer_says_so_not_nan(many):
    """build_campaign leaves every seventh account out of the roster: its influencer is unknown,
    which the table writes as "—" (pandas hands it over as NaN, which printed as "nan")."""
    acc = clock.account_freshness(many, NOW)
    assert acc["influencer"].isna().any()
    table = _by_id(page.accounts_view(acc, CAMPAIGN, "en", 0, NOW), "data-freshness-accounts")
    cells = [row.children[2].children for row in table.children[1].children]
    assert "—" in cells and not any(str(c).lower() == "nan" for c in cells)

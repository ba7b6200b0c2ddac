"""What an empty view says: nothing stored, data only outside the campaign's dates, or nothing
matching the filters. Real exports of another period (the samples of ../shared) imported under a
campaign.toml of other dates once showed "No data yet: drop an export file" on Live."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from collectors.store import database
from dashboard.analysis import config, rollups
from dashboard.web import filters as F
from dashboard.web.pages import live, platforms, posts, weekly

from browser import small_x_campaign  # two X posts of 22 Dec 2024


def _text(component) -> str:
    out = []

    def walk(c):
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
        elif hasattr(c, "children"):
            walk(c.children)
    walk(component)
    return "".join(out)


def _find(component, element_id):
    if isinstance(component, (list, tuple)):
        return next((x for c in component if (x := _find(c, element_id)) is not None), None)
    if getattr(component, "id", None) == element_id:
        return component
    return _find(getattr(component, "children", None), element_id) if hasattr(component, "children") else None


@pytest.fixture
def eng(sqlite_url):
    engine = database.connect(small_x_campaign(sqlite_url))
    yield engine
    engine.dispose()


LATER = config.Campaign(name="Spring", start=date(2025, 3, 1), end=date(2025, 3, 31))


@pytest.mark.parametrize("lang, said, link", [
    ("en", "No data in the campaign's dates (1 Mar 2025 to 31 Mar 2025, campaign.toml): the stored data run from "
           "23 Dec 2024 to 24 Dec 2024. Show 23 Dec 2024 to 24 Dec 2024", "Show 23 Dec 2024 to 24 Dec 2024"),
    ("zh", "活动日期（2025年3月1日 至 2025年3月31日，campaign.toml）内没有数据：已存储的数据从 2024年12月23日 到 "
           "2024年12月24日。查看 2024年12月23日 至 2024年12月24日", "查看 2024年12月23日 至 2024年12月24日")])
def test_data_outside_the_campaigns_dates_is_said_with_a_link_to_them(eng, lang, said, link):
    f = F.parse(f"?lang={lang}")
    rollups.refresh(eng, LATER)
    first, last = date(2024, 12, 23), date(2024, 12, 24)  # the days the two posts' snapshots cover
    for page, element_id, path in ((live, "live-empty", "/"), (platforms, "platforms-empty", "/platforms")):
        view = page.content(eng, LATER, f)
        box = _find(view, element_id)
        assert box is not None, (page.__name__, _text(view))
        text = _text(box)
        assert said in text and "No data yet" not in text and "暂无数据" not in text, text
        show = _find(box, element_id + "-show")
        assert show is not None and _text(show).startswith(link)
        # The link shows the stored days, in the same language.
        target = F.parse(show.href[len(path):])
        assert (target.start, target.end, target.lang) == (first, last, lang) and show.href.startswith(path)
    # With those dates, the view has its data.
    shown = live.content(eng, LATER, F.parse(f"?from={first}&to={last}&lang={lang}"))
    assert _find(shown, "live-empty") is None


def test_dates_in_the_address_or_other_filters_that_match_nothing_are_said_as_such(eng):
    rollups.refresh(eng, LATER)
    view = live.content(eng, LATER, F.parse("?from=2025-03-02&to=2025-03-09"))
    assert _text(_find(view, "live-empty")) == "Nothing matches these filters"
    campaign = replace(LATER, start=date(2024, 12, 16), end=date(2024, 12, 31))
    rollups.refresh(eng, campaign)
    view = platforms.content(eng, campaign, F.parse("?platform=tiktok"))
    assert _text(_find(view, "platforms-empty")) == "Nothing matches these filters"


def test_an_empty_database_says_where_data_comes_from(sqlite_url):
    engine = database.connect(sqlite_url)
    database.migrate(engine)
    view = live.content(engine, LATER, F.parse("?lang=zh"))
    assert _text(_find(view, "live-empty")).startswith("暂无数据：请在“数据”页面上传导出文件")
    engine.dispose()


@pytest.fixture
def spring_app(eng, tmp_path):
    """The app on the small campaign (December 2024) with a campaign.toml of March 2025, inside a
    request context: for the pages' layout functions."""
    from dashboard.web.app import create_app

    cfg = tmp_path / "campaign.toml"
    cfg.write_text('[campaign]\nname = "Spring"\nstart = 2025-03-01\nend = 2025-03-31\n')
    rollups.refresh(eng, config.load(str(cfg)))  # as after `reach import`
    app = create_app(eng)
    app.server.config["REACH_CONFIG"] = str(cfg)
    with app.server.test_request_context("/"):
        yield app


def test_the_posts_page_says_where_the_stored_posts_are(spring_app):
    view = posts.layout()
    assert "the stored data run from 23 Dec 2024 to 24 Dec 2024" in _text(_find(view, "posts-empty"))
    assert _find(view, "posts-empty-show").href == "/posts?from=2024-12-23&to=2024-12-24"
    assert _text(_find(posts.layout(**{"from": "2025-03-02"}), "posts-empty")) == "No posts published in this period"
    # The Weekly page says it as the other pages do, in the page's language (it showed the
    # command line's English advice, "give --config the campaign they belong to").
    view = weekly.layout(lang="zh")
    said = _text(_find(view, "weekly-empty"))
    assert said.startswith("活动日期（2025年3月1日 至 2025年3月31日，campaign.toml）内没有数据") and "--config" not in said
    # No link: the summary covers the campaign's dates, whatever the address says.
    assert _find(view, "weekly-empty-show") is None and "请在 campaign.toml 中设置 start 和 end" in said


def test_the_influencers_page_lists_the_accounts_and_says_where_their_data_is(spring_app):
    from dashboard.web.pages import influencers

    view = influencers.layout()
    assert "the stored data run from 23 Dec 2024 to 24 Dec 2024" in _text(_find(view, "inf-outside"))
    assert _find(view, "inf-outside-show").href == "/influencers?from=2024-12-23&to=2024-12-24"
    assert _find(view, "inf-grid") is not None  # the roster's accounts are still listed
    # With the stored dates, no such notice.
    assert _find(influencers.layout(**{"from": "2024-12-23", "to": "2024-12-24"}), "inf-outside") is None

"""Filters round-trip through the URL, and malformed URLs are tamed, not trusted."""
from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from dashboard.web.filters import Filters, parse, to_query


def test_a_link_reproduces_the_view():
    f = Filters(start=date(2024, 12, 16), end=date(2025, 1, 5), platforms=("x", "tiktok"), categories=("official",),
                influencers=("Chen Wei 陈伟", "Li, Na"), metric="engagements", lang="zh", kiosk=True, cumulative=True)
    assert parse(to_query(f)) == f


def test_defaults_leave_the_query_string_empty():
    assert to_query(Filters()) == ""
    assert parse("") == Filters()


def test_malformed_values_are_dropped_or_corrected():
    f = parse("?from=2025-13-40&to=2025-01-05&platform=x,myspace,<script>&metric=DROP TABLE&lang=zh-CN&kiosk=yes")
    assert f.start is None and f.end == date(2025, 1, 5)
    assert f.platforms == ("x",) and f.metric == "views" and f.lang == "zh" and f.kiosk
    assert parse("?from=2025-01-10&to=2025-01-01") .start == date(2025, 1, 1)  # reversed range is put right


@given(st.text(max_size=200))
def test_any_query_string_parses_to_valid_filters(text):
    f = parse(text)
    assert f.metric and f.lang in ("en", "zh")
    assert parse(to_query(f)) == f


def test_every_dropped_value_is_kept_with_its_parameter_and_reason():
    f = parse("?from=2025-13-45&to=2025-01-05&platform=x,myspace&metric=DROP TABLE")
    assert f.start is None and f.end == date(2025, 1, 5)
    assert f.ignored == (("from", "2025-13-45", "date"), ("metric", "DROP TABLE", "metric"),
                         ("platform", "myspace", "platform"))
    assert parse("?from=2024-12-16&platform=x").ignored == ()
    assert parse("?from=2025-13-45") == parse("")  # not part of the view: the URL callback compares views


def test_the_header_says_which_address_value_was_ignored_and_why_in_the_chosen_language():
    from dashboard.web import layout

    def text(component) -> str:
        return " ".join(str(c) for c in _strings(component))

    en = layout.url_notice(parse("?from=2025-13-45"))
    assert len(en) == 1 and en[0].id == "url-notice"
    assert text(en[0]) == "Ignored from=2025-13-45 in the address: not a date like 2025-01-31."
    zh = text(layout.url_notice(parse("?to=2025-02-30&lang=zh"))[0])
    assert zh == "已忽略地址中的 to=2025-02-30：不是 2025-01-31 这样的日期。"
    assert "tiktok" in text(layout.url_notice(parse("?platform=myspace"))[0])
    assert layout.url_notice(parse("?from=2025-01-05")) == []
    header = layout.header(parse("?from=2025-13-45&lang=zh"), "/")
    assert "url-notice" in repr(header) and "已忽略" in repr(header)


def _strings(component):
    children = getattr(component, "children", None)
    if isinstance(component, str):
        yield component
    elif isinstance(children, (list, tuple)):
        for c in children:
            yield from _strings(c)
    elif children is not None:
        yield from _strings(children)


def test_an_unknown_page_is_drawn_in_the_apps_frame_in_the_chosen_language(sqlite_url):
    import dash

    from collectors.store import database
    from dashboard.web import layout
    from dashboard.web.app import create_app

    zh = repr(layout.not_found(lang="zh"))
    assert "页面不存在" in zh and "nav-live" in zh and "nav-data" in zh and "Page not found" not in zh
    en = repr(layout.not_found())
    assert "Page not found" in en and "nav-summary" in en
    create_app(database.connect(sqlite_url))
    # Dash routes every address no page has to the page registered under this name.
    page = next(p for m, p in dash.page_registry.items() if m.split(".")[-1] == "not_found_404")
    assert page["layout"] is layout.not_found


def _options(component, id_):
    if getattr(component, "id", None) == id_:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children] if children is not None else []:
        found = _options(child, id_)
        if found is not None:
            return found
    return None


def test_the_filter_bar_offers_a_real_rosters_categories_the_known_ones_translated(sqlite_url):
    from collectors.pipeline import Importer
    from collectors.roster import import_roster
    from collectors.store import database
    from dashboard.analysis import rollups
    from dashboard.analysis.config import Campaign
    from dashboard.analysis.metrics import Selection
    from dashboard.web.app import create_app
    from dashboard.web.pages import posts
    from test_store import x_content

    engine = database.connect(sqlite_url)
    for n, handle in enumerate(("li_na", "yiwu_gov", "stray")):
        Importer(engine, None).import_bytes(f"account_analytics_content_2024-12-16_2024-12-2{n}.csv",
                                            x_content([(f"187000000000000000{n}", 1000 * (n + 1), 30)], handle=handle))
    own = "Tea blogger 茶博主"  # not one of the demo's categories
    import_roster(engine, None, "roster.csv",
                  f"name,category,platform,handle\nLi Na,{own},x,li_na\nYiwu Gov,official,x,yiwu_gov\n".encode())
    app = create_app(engine)
    with app.server.test_request_context("/"):
        for lang, official, unassigned in (("en", "Official", "Unassigned"), ("zh", "官方", "未分配")):
            bar = _options(posts.layout(lang=lang), "f-categories")
            assert bar.options == [{"label": official, "value": "official"}, {"label": own, "value": own},
                                   {"label": unassigned, "value": "unassigned"}], lang
        chosen = _options(posts.layout(category=own), "f-categories")
        assert chosen.value == [own] and own in [o["value"] for o in chosen.options]
    # And the category chosen selects its influencer's posts, and only those.
    by = rollups.query(engine, Campaign(), by=("influencer",), sel=Selection(categories=(own,)))
    assert by["influencer"].tolist() == ["Li Na"] and by["impressions"].tolist() == [1000]
    engine.dispose()

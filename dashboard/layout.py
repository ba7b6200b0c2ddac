"""The frame around every page: header, navigation that keeps the filters, and the filter bar.

Controls are initialised from the page's query string (Dash passes it to each page's layout), and
one callback writes any change back to the URL, so a link reproduces the view.
"""
from __future__ import annotations

from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from collectors.model import PLATFORMS

from . import filters as F
from .i18n import category_name, metric_name, platform_name, t
from .pages import all_pages

CATEGORIES = ("official", "merchant", "entrepreneur", "foreign resident", "journalist", "media",
              "international influencer", "unassigned")


def header(f: F.Filters, active: str):
    query = F.to_query(f)
    other = "zh" if f.lang == "en" else "en"
    switch = F.to_query(F.with_changes(f, lang=other))
    return html.Header([
        html.Div("Campaign Reach", className="brand"),
        html.Nav([dcc.Link(t(f"page.{p.SLUG}", f.lang), href=p.PATH + query, id=f"nav-{p.SLUG}",
                           className="nav-link" + (" active" if p.PATH == active else "")) for p in all_pages()]),
        html.Div([dcc.Link(t(f"lang.{other}", f.lang), href=active + switch, id="lang-switch", className="nav-link"),
                  dcc.Link(t("kiosk.enter", f.lang), href="/" + F.to_query(F.with_changes(f, kiosk=True)),
                           id="kiosk-link", className="nav-link"),
                  *_account(f.lang)], className="header-right"),
    ], className="header", lang="zh-CN" if f.lang == "zh" else "en")


def _account(lang: str) -> list:
    """Who is logged in and a way out; nothing for the local user of a loopback server."""
    from .auth import current_user, logout_href

    user = current_user()
    if not user:
        return []
    # A plain link, not dcc.Link: /logout is a Flask route, not a page of the app. It carries the
    # session's token, so a link from another site cannot log the user out.
    return [html.Span(user, className="header-user", id="header-user"),
            html.A(t("auth.logout", lang), href=logout_href(), id="logout-link", className="nav-link")]


def filter_bar(f: F.Filters, influencers: list[str]):
    lang = f.lang
    every = t("filter.all", lang)
    return html.Div([
        dcc.DatePickerRange(id="f-dates", start_date=f.start, end_date=f.end, display_format="YYYY-MM-DD",
                            clearable=True, first_day_of_week=1, start_date_placeholder_text=t("filter.start", lang),
                            end_date_placeholder_text=t("filter.end", lang)),
        dcc.Dropdown(id="f-platforms", options=[{"label": platform_name(p, lang), "value": p} for p in PLATFORMS],
                     value=list(f.platforms), multi=True, placeholder=f"{t('filter.platforms', lang)}: {every}",
                     className="dd"),
        dcc.Dropdown(id="f-categories", options=[{"label": category_name(c, lang), "value": c} for c in CATEGORIES],
                     value=list(f.categories), multi=True, placeholder=f"{t('filter.categories', lang)}: {every}",
                     className="dd"),
        dcc.Dropdown(id="f-influencers", options=[{"label": n, "value": n} for n in influencers],
                     value=list(f.influencers), multi=True, placeholder=f"{t('filter.influencers', lang)}: {every}",
                     className="dd wide"),
        dcc.Dropdown(id="f-metric", options=[{"label": metric_name(m, lang), "value": m} for m in F.CHART_METRICS],
                     value=f.metric, clearable=False, className="dd narrow"),
    ], className="filters")


@callback(Output("url", "search"),
          Input("f-dates", "start_date"), Input("f-dates", "end_date"), Input("f-platforms", "value"),
          Input("f-categories", "value"), Input("f-influencers", "value"), Input("f-metric", "value"),
          State("url", "search"), prevent_initial_call=True)
def filters_to_url(start, end, platforms, categories, influencers, metric, search):
    """Any filter change is written to the URL; the pages redraw from the URL alone."""
    current = F.parse(search)
    new = F.parse(F.to_query(F.with_changes(
        current, start=_day(start), end=_day(end), platforms=tuple(platforms or ()),
        categories=tuple(categories or ()), influencers=tuple(influencers or ()), metric=metric or "views")))
    if new == current:
        raise PreventUpdate
    return F.to_query(new)


def _day(value):
    from datetime import date

    return date.fromisoformat(value[:10]) if value else None


def download_links(f: F.Filters, links: list[tuple[str, str, str, str]]) -> list:
    """Download buttons carrying the page's filters: (id, i18n key, path, extra query) each,
    served by dashboard/downloads.py."""
    query = F.to_query(f)
    plain = {"textDecoration": "none", "color": "inherit"}
    out = []
    for id_, key, path, extra in links:
        href = path + query + ((("&" if query else "?") + extra) if extra else "")
        out.append(html.A(t(key, f.lang), href=href, id=id_, className="btn", download="", style=plain))
    return out

"""The frame around every page: header, navigation that keeps the filters, and the filter bar.

Controls are initialised from the page's query string (Dash passes it to each page's layout), and
one callback writes any change back to the URL, so a link reproduces the view.
"""
from __future__ import annotations

from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from collectors.model import PLATFORM_LABELS, PLATFORMS

from . import filters as F

PAGES = [("/", "Live"), ("/weekly", "Weekly summary")]
CATEGORIES = ("official", "merchant", "entrepreneur", "foreign resident", "journalist", "media",
              "international influencer", "unassigned")
METRIC_LABELS = {"views": "Views", "impressions": "Impressions", "engagements": "Engagements", "likes": "Likes",
                 "comments": "Comments", "shares": "Shares", "saves": "Saves", "clicks": "Link clicks",
                 "emv_usd": "EMV (USD)"}


def header(f: F.Filters, active: str):
    query = F.to_query(f)
    return html.Header([
        html.Div("Campaign Reach", className="brand"),
        html.Nav([dcc.Link(label, href=path + query, className="nav-link" + (" active" if path == active else ""),
                           id=f"nav-{label.split()[0].lower()}") for path, label in PAGES]),
    ], className="header")


def filter_bar(f: F.Filters, influencers: list[str]):
    return html.Div([
        dcc.DatePickerRange(id="f-dates", start_date=f.start, end_date=f.end, display_format="YYYY-MM-DD",
                            clearable=True, first_day_of_week=1),
        dcc.Dropdown(id="f-platforms", options=[{"label": PLATFORM_LABELS.get(p, p), "value": p} for p in PLATFORMS],
                     value=list(f.platforms), multi=True, placeholder="All platforms", className="dd"),
        dcc.Dropdown(id="f-categories", options=[{"label": c, "value": c} for c in CATEGORIES],
                     value=list(f.categories), multi=True, placeholder="All categories", className="dd"),
        dcc.Dropdown(id="f-influencers", options=[{"label": n, "value": n} for n in influencers],
                     value=list(f.influencers), multi=True, placeholder="All influencers", className="dd wide"),
        dcc.Dropdown(id="f-metric", options=[{"label": v, "value": k} for k, v in METRIC_LABELS.items()],
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

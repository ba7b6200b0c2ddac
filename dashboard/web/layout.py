"""The frame around every page: header, navigation that keeps the filters, and the filter bar.

Controls are initialised from the page's query string (Dash passes it to each page's layout), and
one callback writes any change back to the URL, so a link reproduces the view.
"""
from __future__ import annotations

from dataclasses import replace

from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from collectors.model import PLATFORMS
from collectors.roster import CATEGORIES as ROSTER_CATEGORIES

from ..text.i18n import category_name, metric_name, platform_name, t
from . import filters as F
from .pages import Callbacks, all_pages

# The filter bar's callback, registered by the app factory on each app (see dashboard/web/pages).
callbacks = Callbacks()
register = callbacks.register
# The categories the roster documents, in this order in the filter bar (translated); a roster's own
# categories follow, as written, then accounts without one.
KNOWN_CATEGORIES = (*ROSTER_CATEGORIES, "unassigned")


def header(f: F.Filters, active: str):
    query = F.to_query(f)
    demo = _demo_note(f.lang)
    other = "zh" if f.lang == "en" else "en"
    switch = F.to_query(F.with_changes(f, lang=other))
    return html.Header([
        *_campaign_name(f.lang),
        html.Div("Campaign Reach", className="brand"),
        html.Nav([dcc.Link(t(f"page.{p.SLUG}", f.lang), href=p.PATH + query, id=f"nav-{p.SLUG}",
                           className="nav-link" + (" active" if p.PATH == active else "")) for p in all_pages()]),
        html.Div([*([demo] if demo is not None else []),
                  dcc.Link(t(f"lang.{other}", f.lang), href=active + switch, id="lang-switch", className="nav-link"),
                  dcc.Link(t("kiosk.enter", f.lang), href="/" + F.to_query(F.with_changes(f, kiosk=True)),
                           id="kiosk-link", className="nav-link"),
                  *_account(f.lang)], className="header-right"),
        *url_notice(f),
    ], className="header", lang="zh-CN" if f.lang == "zh" else "en")


def url_notice(f: F.Filters) -> list:
    """What the address asked for that the page ignored, and why, one line each (a link with
    ``?from=2025-13-45`` must not silently show the whole campaign)."""
    known = {"date": "", "platform": ", ".join(PLATFORMS), "metric": ", ".join(F.CHART_METRICS)}
    lines = [html.Div(t("url.ignored", f.lang, param=param, value=value,
                        reason=t(f"url.ignored.{reason}", f.lang, known=known[reason])))
             for param, value, reason in f.ignored]
    return [html.Div(lines, className="url-notice", id="url-notice", role="status")] if lines else []


def empty_reason(eng, campaign, f: F.Filters) -> tuple[str, object, object]:
    """Why a view has nothing: ("none", …) nothing is stored; ("outside", first, last) the stored
    days lie outside the campaign's dates while the address names no dates; else ("no_match", …)."""
    from ..analysis import queries

    first, last = queries.rollup.stored_days(eng)
    if first is None:
        return "none", None, None
    sel = F.view_selection(f, campaign)
    if f.start is None and f.end is None and sel.start is not None and (
            last < sel.start or (sel.end is not None and first > sel.end)):
        return "outside", first, last
    return "no_match", first, last


def empty_view(eng, campaign, f: F.Filters, element_id: str, path: str | None, no_match: str = "empty.no_match",
               otherwise=None):
    """What a page shows when its view has nothing (``empty_reason``): where data comes from; the
    campaign's dates and the stored ones, with a link that shows those ("no data yet" would send
    the user to import files already there); or ``otherwise`` (words), else ``no_match`` (a UI
    string key). ``path`` None: no link (a view that does not follow dates in the address says
    how to summarise those dates instead)."""
    from ..text.i18n import fmt_date

    lang = f.lang
    reason, first, last = empty_reason(eng, campaign, f)
    if reason == "none":
        return html.Div(t("empty.no_data", lang) + " (`reach import`, `reach demo`)", className="empty", id=element_id)
    if reason == "outside":
        sel = F.view_selection(f, campaign)
        then = (dcc.Link(t("empty.show_stored", lang, first=fmt_date(first, lang), last=fmt_date(last, lang)),
                         href=path + F.to_query(replace(f, start=first, end=last)), id=element_id + "-show")
                if path is not None else html.Span(t("empty.set_dates", lang)))
        return html.Div([
            html.Span(t("empty.outside_window", lang, start=fmt_date(sel.start, lang),
                        end=fmt_date(sel.end, lang) if sel.end else "—", first=fmt_date(first, lang),
                        last=fmt_date(last, lang))), "" if lang == "zh" else " ", then],
            className="empty", id=element_id)
    return html.Div(otherwise if otherwise is not None else t(no_match, lang), className="empty", id=element_id)


def not_found(**query):
    """The page for an address no page has: the app's frame (header, navigation, the language of
    ``?lang=``) around a short "Page not found", not Dash's bare English heading."""
    from urllib.parse import urlencode

    f = F.parse("?" + urlencode(query, doseq=True))
    path = _pathname()
    return html.Div([header(f, path), html.Div([
        html.H1(t("page.not_found", f.lang)),
        html.P(t("page.not_found_help", f.lang, path=path))], className="empty", id="not-found")], className="page")


def _pathname() -> str:
    """The address being routed (Dash's routing callback has it as an input), else "/"."""
    from dash import ctx

    try:
        inputs = ctx.inputs
    except Exception:  # noqa: BLE001 - outside a callback (a test building the layout): no address
        return "/"
    path = next((v for k, v in inputs.items() if k.endswith(".pathname") and isinstance(v, str)), None)
    return path if path and path.startswith("/") else "/"


def _demo_note(lang: str):
    """"demo data as of …" on a demo database (its own clock, clock.clock), else None; None too
    outside a running app (a layout built in a test without one)."""
    from flask import has_app_context

    from collectors.store import ledger

    from . import data, freshness

    if not has_app_context():
        return None
    return freshness.demo_note(ledger.demo_clock(data.engine()), lang, data.campaign().tz)


def _campaign_name(lang: str) -> list:
    """The campaign's name in the page's language (campaign.toml ``name``, ``name_zh``), on a line
    of its own above the navigation; nothing outside a running app."""
    from flask import has_app_context

    from . import data

    if not has_app_context():
        return []
    return [html.Div(data.campaign().title(lang), className="campaign-name", id="campaign-name")]


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


def category_options(categories, chosen, lang: str) -> list[dict]:
    """The filter bar's categories: those of the database (``queries.names.category_names``) and any the
    address chose, the known ones first and translated, the others as the roster writes them."""
    have = set(categories) | set(chosen)
    ordered = [c for c in KNOWN_CATEGORIES if c in have and c != "unassigned"]
    ordered += sorted(have - set(KNOWN_CATEGORIES)) + ["unassigned"] * ("unassigned" in have)
    return [{"label": category_name(c, lang), "value": c} for c in ordered]


def filter_bar(f: F.Filters, influencers: list[str], categories: list[str]):
    lang = f.lang
    every = t("filter.all", lang)
    return html.Div([
        dcc.DatePickerRange(id="f-dates", start_date=f.start, end_date=f.end, display_format="YYYY-MM-DD",
                            clearable=True, first_day_of_week=1, start_date_placeholder_text=t("filter.start", lang),
                            end_date_placeholder_text=t("filter.end", lang)),
        dcc.Dropdown(id="f-platforms", options=[{"label": platform_name(p, lang), "value": p} for p in PLATFORMS],
                     value=list(f.platforms), multi=True, placeholder=f"{t('filter.platforms', lang)}: {every}",
                     className="dd"),
        dcc.Dropdown(id="f-categories", options=category_options(categories, f.categories, lang),
                     value=list(f.categories), multi=True, placeholder=f"{t('filter.categories', lang)}: {every}",
                     className="dd"),
        dcc.Dropdown(id="f-influencers", options=[{"label": n, "value": n} for n in influencers],
                     value=list(f.influencers), multi=True, placeholder=f"{t('filter.influencers', lang)}: {every}",
                     className="dd wide"),
        dcc.Dropdown(id="f-metric", options=[{"label": metric_name(m, lang), "value": m} for m in F.CHART_METRICS],
                     value=f.metric, clearable=False, className="dd narrow"),
    ], className="filters")


@callbacks(Output("url", "search"),
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
    served by dashboard/web/downloads.py."""
    query = F.to_query(f)
    plain = {"textDecoration": "none", "color": "inherit"}
    out = []
    for id_, key, path, extra in links:
        href = path + query + ((("&" if query else "?") + extra) if extra else "")
        out.append(html.A(t(key, f.lang), href=href, id=id_, className="btn", download="", style=plain))
    return out

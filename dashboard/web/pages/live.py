"""Live: the page a communications team keeps on the big screen.

KPIs, the chosen metric over time by platform (daily or cumulative) with the campaign's events,
freshness per platform and anomaly flags. It refreshes itself: an interval asks whether the data
changed (a cheap version check) and redraws only when it did, keeping the filters, which live in
the URL.

``?kiosk=1`` is the big screen, all of it on one 1920x1080 screen with nothing to scroll
(dashboard/web/assets/kiosk.css): no controls, large type (KPIs of 64 px, chart text of 20 px), the KPIs
always in view, below them the main charts one at a time, every ``?cycle=N`` seconds (default 15):
the chart metric per day and cumulative by platform, the platform mix per ISO week and the top
influencers, with a caption naming the chart ("… · 1/4"; the figure draws no second title), and
beside the chart when the page last got data, freshness and the newest anomalies. Every chart is drawn on the server when the data changes
(``kiosk_view``, a pure function of the step); the browser only shows the next one of them
(dashboard/web/assets/kiosk.js), so cycling sends nothing over the network.
"""
from __future__ import annotations

import random
from datetime import datetime
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from ...analysis import annotations, clock, flag_store, goals, metrics, platform_totals, queries, rollups, shared, stamps
from ...text.i18n import (fmt_date, fmt_datetime, fmt_number, fmt_range, fmt_time, metric_help,
                          metric_in_sentence, metric_name, platform_name, t)
from collectors.errors import ReachError
from collectors.model import PLATFORM_LABELS, PLATFORMS

from .. import auth, coverage, data, figures, layout as L
from .. import filters as F
from . import Callbacks

SLUG, PATH, ORDER = "live", "/", 10
# Registered on each app the factory builds (dashboard/web/pages/__init__.py says why not dash.callback).
callbacks = Callbacks()
register = callbacks.register

REFRESH_SECONDS = 30
KIOSK_STEPS = ("daily", "cumulative", "mix", "top")
CYCLE_SECONDS = 15  # the default of ?cycle=
CYCLE_LIMITS = (2, 3600)  # a faster cycle cannot be read, a slower one is a still picture
KIOSK_TOP_N = 10
KIOSK_FLAGS = 4  # the newest anomalies on the big screen: as many as fit beside the chart, unscrolled


def content(eng, campaign, f: F.Filters, now: datetime | None = None) -> list:
    """Everything below the filters, as components (a pure function of the database and filters).

    Without dates in the URL the view is the campaign window of campaign.toml. ``now`` is when the
    page got this data ("Last updated"): the database's clock (clock.clock: the demo's own clock on
    a demo, else the wall clock) when not given."""
    sel = F.view_selection(f, campaign)
    daily, total, published, reach = shared.memo(eng, campaign, "live.view", (sel,),
                                                lambda: view_data(eng, campaign, sel))
    if daily.empty:
        return [L.empty_view(eng, campaign, f, "live-empty", "/")]
    lang = f.lang
    now = now or clock.clock(eng)
    # On the big screen the numbers are compact (1.59M): a full count at a size readable from a
    # few metres does not fit six cards across; the card's tooltip keeps the exact number.
    short = dict(compact=True) if f.kiosk else {}
    kpis = html.Div([
        _kpi(metric_name("views", lang), fmt_number(total["views"], lang, **short), exact=fmt_number(total["views"], lang)),
        _kpi(metric_name("engagements", lang), fmt_number(total["engagements"], lang, **short),
             metric_help("engagements", lang), exact=fmt_number(total["engagements"], lang)),
        _kpi(metric_name("er_views", lang), fmt_number(total["er_views"], lang, kind="rate"), metric_help("er_views", lang)),
        _kpi(metric_name("posts", lang), fmt_number(int(published["posts"]), lang, **short),
             exact=fmt_number(int(published["posts"]), lang)),
        _kpi(metric_name("active_influencers", lang), fmt_number(int(published["active_influencers"]), lang)),
        _kpi(t("live.reach_range", lang),
             fmt_range(reach["reach_max_post"].iloc[0], reach["reach_sum"].iloc[0], lang, **short) if len(reach) else "—",
             t("live.reach_range_help", lang),
             exact=fmt_range(reach["reach_max_post"].iloc[0], reach["reach_sum"].iloc[0], lang) if len(reach) else None),
    ], className="kpis", id="live-kpis")
    updated = _updated(now, campaign.tz, lang)
    fresh = _freshness(eng, campaign, lang, now)
    if f.kiosk:
        flags = _anomalies(eng, campaign, sel, lang, limit=KIOSK_FLAGS)
        return [kpis, html.Div([html.Div(_kiosk_charts(eng, campaign, sel, daily, f), className="kiosk-stage"),
                                html.Div([updated, fresh, flags], className="kiosk-side")], className="kiosk-main")]
    flags = _anomalies(eng, campaign, sel, lang)
    series = metrics.series_by_platform(daily, f.metric, f.cumulative)
    note = coverage.note(coverage.gaps(daily["platform"].unique(), f.metric, campaign.engagement), lang,
                         lambda m: PATH + F.to_query(F.with_changes(f, metric=m)), id="live-metric-note",
                         empty=series.empty)
    if series.empty:
        # No platform of the view has this metric: the note and its switch in the chart's place,
        # not an empty frame.
        chart = [note if note is not None else html.Div(t("empty.no_match", lang), className="empty",
                                                        id="live-metric-note")]
    else:
        fig = figures.kept(eng, campaign, "live.chart", (sel, f.metric, f.cumulative, lang),
                           lambda: figures.metric_over_time(series, f.metric, f.cumulative,
                                                            annotations.events(eng, campaign, sel), lang=lang))
        chart = [*([note] if note is not None else []),
                 dcc.Graph(id="live-chart", figure=fig, config=figures.graph_config(lang), className="chart")]
    return [updated, kpis, *_goals(eng, campaign, lang), *chart, html.Div([fresh, flags], className="two-col")]


def _goal_status(p, lang: str, count=lambda x: x):
    if p.status == "met":
        return html.Span(t("goal.met", lang), className="chip ok")
    if p.status == "on track":
        return html.Span(t("goal.on_track", lang), className="chip ok")
    return html.Span(t("goal.behind", lang, n=count(p.behind_by), metric=metric_in_sentence(p.goal.metric, lang)),
                     className="chip bad")


def _goals(eng, campaign, lang: str) -> list:
    """Each goal of campaign.toml: value against target with the time gone, the forecast with its
    interval, and the verdict (dashboard/analysis/goals.py; docs/metrics.md defines each)."""
    if not campaign.goals:
        return []
    today = clock.today(eng, campaign.tz)
    rows = []
    for p in shared.memo(eng, campaign, "live.goals", (today,), lambda: goals.all_progress(eng, campaign, today)):
        g = p.goal
        name = g.text(lang) or f"{metric_name(g.metric, lang)} {fmt_number(g.target, lang)}"
        num = lambda x: fmt_number(x, lang, compact=True)  # noqa: E731
        if isinstance(p, goals.WeekProgress):
            line = t("goal.week", lang, week=p.week, met=p.met, n=len(p.influencers), behind=p.behind,
                     share=fmt_number(p.time_gone, lang, kind="rate"))
            chip = html.Span(t("goal.on_track", lang), className="chip ok") if not p.behind else \
                html.Span(t("goal.week_behind", lang, n=p.behind), className="chip bad")
            rows.append(html.Div([html.Div([html.B(name), chip], className="goal-head"), html.Div(line, className="muted")],
                                 className="goal"))
            continue
        bar = html.Div([html.Div(className="goal-fill", style={"width": f"{min(p.share, 1) * 100:.1f}%"}),
                        html.Div(className="goal-time", style={"left": f"{min(p.time_gone, 1) * 100:.1f}%"},
                                 title=t("goal.time_gone", lang, share=fmt_number(p.time_gone, lang, kind="rate")))],
                       className="goal-bar")
        detail = [t("goal.value", lang, value=num(p.value), target=num(p.target),
                    share=fmt_number(p.share, lang, kind="rate")),
                  " · " + t("goal.time_gone", lang, share=fmt_number(p.time_gone, lang, kind="rate"))]
        if p.forecast is not None:
            detail.append(" · " + t("goal.forecast", lang, deadline=fmt_date(g.deadline, lang), value=num(p.forecast.total),
                                    low=num(p.forecast.low), high=num(p.forecast.high)))
        elif p.status != "met" and g.deadline and today <= g.deadline:
            detail.append(" · " + t("goal.too_early", lang))
        rows.append(html.Div([html.Div([html.B(name), _goal_status(p, lang, num)], className="goal-head"), bar,
                              html.Div(detail, className="muted")], className="goal"))
    return [html.Div([html.H3(t("live.goals", lang)), *rows], className="panel goals", id="live-goals")]


def _updated(now, tz, lang: str):
    """"Last updated 14:05": when the page last got data, in the campaign timezone; the full date
    and time on hover."""
    return html.Div(t("live.updated", lang, time=fmt_time(now, lang, tz)), id="live-updated", className="updated",
                    title=fmt_datetime(now, lang, tz))


def view_data(eng, campaign, sel: metrics.Selection) -> tuple:
    """The numbers of the view: the rollup by platform and day and in total; posts published and
    their reach by narrow SQL over the view's days, not the whole database. Kept in the shared
    cache per data version and selection (dashboard/web/cache.py): the page refreshes itself."""
    daily = rollups.query(eng, campaign, by=["platform", "day"], sel=sel)
    if daily.empty:
        return daily, None, None, None
    total = rollups.query(eng, campaign, by=[], sel=sel).iloc[0]
    published = queries.posts.published_counts(eng, campaign, sel).iloc[0]
    return daily, total, published, queries.posts.reach_range(eng, campaign, sel)


# --- kiosk ------------------------------------------------------------------------------------

def cycle_seconds(value) -> int:
    """Seconds per chart from the URL's ``cycle``: CYCLE_SECONDS when absent or not a number,
    else kept within CYCLE_LIMITS."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    try:
        seconds = int(float(str(value).strip()))
    except (TypeError, ValueError, OverflowError):
        return CYCLE_SECONDS
    return min(max(seconds, CYCLE_LIMITS[0]), CYCLE_LIMITS[1])


def top_influencers(by: pd.DataFrame, metric: str, n: int = KIOSK_TOP_N) -> tuple[pd.DataFrame, bool]:
    """The ``n`` influencers with the most ``metric``, from rollup rows by influencer and platform:
    (rows influencer, platform, value for those influencers; whether impressions stood in for views).

    For views (and views or impressions) a platform that reports none is counted by its
    impressions (metrics.views_or_impressions), as in the platform mix and EMV: otherwise X and
    LinkedIn accounts would rank with nothing."""
    cols = ["influencer", "platform", "value"]
    by_volume = metric in ("views", metrics.BASIS_METRIC)
    if by.empty or (metric not in by and not (by_volume and {"views", "impressions"} & set(by))):
        return pd.DataFrame(columns=cols), False
    if by_volume:
        stand_in = metrics.basis_of(by["platform"]) == "impressions"
        value = metrics.views_or_impressions(by)
    else:
        stand_in, value = pd.Series(False, index=by.index), by[metric]
    rows = by[["influencer", "platform"]].assign(value=value.astype("float64").fillna(0.0), stand_in=stand_in)
    rows = rows[rows["value"] > 0]
    totals = rows.groupby("influencer")["value"].sum()
    # Most first; a tie goes to the name that sorts first, so the chart does not change order by chance.
    top = sorted(totals.index, key=lambda name: (-totals[name], name))[:n]
    rows = rows[rows["influencer"].isin(top)].sort_values(["influencer", "platform"]).reset_index(drop=True)
    return rows[cols], bool(rows["stand_in"].any())


def _kiosk_metric(metric: str) -> str:
    """What the kiosk charts for ``metric``: nobody can click the big screen's switch to X's and
    LinkedIn's impressions, so views are charted as views or impressions (metrics.views_basis),
    every platform but Weibo drawn, and the titles say so."""
    return metrics.BASIS_METRIC if metric == "views" else metric


def _kiosk_title(key: str, metric: str, lang: str) -> str:
    name = metric_name(_kiosk_metric(metric), lang)
    if key == "daily":
        return t("chart.over_time", lang, metric=name)
    if key == "cumulative":
        return t("chart.over_time_cumulative", lang, metric=name)
    if key == "mix":
        return t("kiosk.mix", lang, metric=name)
    return t("kiosk.top", lang, n=KIOSK_TOP_N, metric=name)


def kiosk_view(step: int, daily: pd.DataFrame, mix: pd.DataFrame, by_influencer: pd.DataFrame, metric: str,
               events=(), lang: str = "en") -> tuple[str, go.Figure]:
    """The kiosk's caption ("<title> · <i>/<n>") and chart for ``step`` (any whole number: the
    charts repeat in the order of KIOSK_STEPS).

    ``daily``: rollup rows by platform and day; ``mix``: ``platform_totals.weekly_mix``;
    ``by_influencer``: rollup rows by influencer and platform. A pure function: the page draws
    every step with it when the data changes."""
    i = step % len(KIOSK_STEPS)
    key = KIOSK_STEPS[i]
    title = _kiosk_title(key, metric, lang)
    metric = _kiosk_metric(metric)
    note = None
    if key in ("daily", "cumulative"):
        series = metrics.series_by_platform(daily, metric, key == "cumulative")
        # Nobody can click on a big screen: when no platform has the metric, the chart says which
        # platforms lack it and what they report instead, in place of an empty frame.
        lacking = coverage.gaps(daily["platform"].unique() if len(daily) else (), metric)
        empty = " ".join(coverage.sentence(g, lang) for g in lacking) or None
        fig = figures.metric_over_time(series, metric, key == "cumulative", events, lang=lang, empty=empty)
    elif key == "mix":
        fig = figures.mix_figure(mix, metric, lang)
    else:
        rows, stand_in = top_influencers(by_influencer, metric)
        note = t("kiosk.impressions_note", lang) if stand_in else None
        fig = figures.top_influencers_figure(rows, title, lang, metric=metric)
    fig = figures.for_kiosk(fig)
    if note:
        # Above the bars, where the figure's title was: the caption names the chart.
        fig.add_annotation(text=note, showarrow=False, xref="paper", yref="paper", x=0, y=1, xanchor="left",
                           yanchor="bottom", font=dict(size=figures.KIOSK_FONT, color="#555"))
    return f"{title} · {i + 1}/{len(KIOSK_STEPS)}", fig


def _kiosk_charts(eng, campaign, sel, daily: pd.DataFrame, f: F.Filters) -> list:
    """The caption, the chart showing the first step, and every step's chart for the browser."""
    mix, by_influencer = shared.memo(eng, campaign, "live.kiosk", (sel, f.metric), lambda: (
        platform_totals.weekly_mix(eng, campaign, sel, f.metric),
        rollups.query(eng, campaign, by=["influencer", "platform"], sel=sel)))
    views = [kiosk_view(i, daily, mix, by_influencer, f.metric, annotations.events(eng, campaign, sel), f.lang)
             for i in range(len(KIOSK_STEPS))]
    return [html.Div(views[0][0], id="kiosk-caption", className="kiosk-caption"),
            # The rest of the screen below the KPIs and the caption (a style, not CSS: dcc.Graph
            # sets its own height inline); the plot follows its box (graph_config: responsive).
            dcc.Graph(id="live-chart", figure=views[0][1], config=figures.graph_config(f.lang, displayModeBar=False),
                      className="chart kiosk-chart", style={"flex": "1 1 0", "minHeight": "0"}),
            dcc.Store(id="kiosk-views", data=[{"caption": c, "figure": fig} for c, fig in views])]


def _kpi(label, value, hint=None, exact=None):
    tip = " · ".join(x for x in ((exact if exact and exact != value else None), hint) if x)
    return html.Div([html.Div(label, className="kpi-label"), html.Div(value, className="kpi-value"),
                     html.Div(hint or "", className="kpi-hint")], className="kpi", title=tip)


def _freshness(eng, campaign, lang, now):
    # Per platform: how recent its data is, and per source (files, API) the last import and the
    # last error, so a collector that stopped (quota, expired token) is seen on the big screen.
    from .. import freshness

    from collectors.store import ledger

    rows = freshness.items(clock.freshness(eng, now), clock.source_freshness(eng), lang, campaign.tz, now)
    # The kiosk has no header: the demo's note goes with the freshness it explains.
    note = freshness.demo_note(ledger.demo_clock(eng), lang, campaign.tz, id="live-demo-clock")
    # An alert that could not be delivered is as much a broken source as a failed import.
    from ... import alerts

    bad = alerts.last_failure(eng, unresolved=True)
    if bad is not None:
        d = next((d for d in bad.deliveries if not d.get("ok")), {})
        rows = [*rows, html.Li(dcc.Link(t("alerts.failed_line", lang, rule=bad.rule, channel=d.get("channel", "?"),
                                          time=fmt_datetime(bad.fired_at, lang, campaign.tz)),
                                        href="/alerts" + ("?lang=zh" if lang == "zh" else "")),
                               className="failed", id="live-alert-failure")]
    # Imports stored but not yet counted (their refresh is on its way): the totals above are the
    # rollup as it stands (dashboard/analysis/rollups.py), and the line says so until it lands.
    counting = freshness.counting(rollups.waiting_to_show(eng), lang)
    extra = [x for x in (note, counting) if x is not None]
    return html.Div([html.H3(t("label.freshness", lang)), *extra, html.Ul(rows, id="live-freshness")],
                    className="panel")


live_flags = flag_store.live_flags


def shown_flags(eng, campaign, sel, limit: int = 8) -> pd.DataFrame:
    """The ``limit`` newest flags of the view (largest score first within a day), with their facts:
    the whole campaign's filtered to the view's days, platforms, influencers and categories. Read
    from the flags the last rollup refresh stored (dashboard/analysis/flag_store.py) when they are of this
    data; else computed (``live_flags``, once per data version for every worker). Language-free:
    their reasons are written in the page's language."""
    from ...analysis.anomalies import explain

    stored = flag_store.shown(eng, campaign, sel, limit)
    if stored is not None:
        return explain(stored, campaign)
    return computed_shown_flags(eng, campaign, sel, limit)


def computed_shown_flags(eng, campaign, sel, limit: int = 8) -> pd.DataFrame:
    """``shown_flags`` from the whole campaign's flags computed (or found in the shared cache)."""
    from ...analysis.anomalies import explain, in_view

    a = shared.memo(eng, campaign, "live.flags", (), lambda: live_flags(eng, campaign))
    # Facts only for the rows shown: a big campaign can have hundreds of thousands of flags.
    return explain(in_view(a, sel, queries.names.flag_pairs(eng, sel)).head(limit), campaign)


def _anomalies(eng, campaign, sel, lang, limit=8):
    from ...analysis.anomalies import localise

    # Per view, a few rows: a page view does not unpickle every flag of the campaign.
    a = localise(shared.memo(eng, campaign, "live.shown_flags", (sel, limit),
                            lambda: shown_flags(eng, campaign, sel, limit)), lang)
    items = [html.Li([html.Strong(f"{r.day:%Y-%m-%d} · {r.influencer} · {platform_name(r.platform, lang)}: "),
                      r.reason]) for r in a.itertuples()]
    return html.Div([html.H3(t("label.anomalies", lang)),
                     html.Ul(items or [html.Li(t("empty.none", lang))], id="live-anomalies")], className="panel")


@data.reads
def layout(**query):
    f = F.parse("?" + urlencode(query, doseq=True))
    eng, campaign = data.engine(), data.campaign()
    influencers = queries.names.influencer_names(eng)
    body = html.Div(content(eng, campaign, f), id="live-body")
    # Each view's interval a little off the nominal one (within 10%): screens opened together
    # (a team at nine, a wall of kiosks after a restart) drift apart instead of all asking at once
    # every interval (issue 15's load test: 50 refreshes in the same second queued for seconds).
    refresh = dcc.Interval(id="live-interval", interval=int(REFRESH_SECONDS * 1000 * random.uniform(0.9, 1.1)))
    stored = dcc.Store(id="live-version", data=stamps.live_version(eng))
    if f.kiosk:
        cycle = dcc.Interval(id="kiosk-cycle", interval=cycle_seconds(query.get("cycle")) * 1000)
        return html.Div([body, refresh, stored, cycle], className="kiosk", lang="zh-CN" if f.lang == "zh" else "en")
    toggle = dcc.RadioItems(id="live-view", options=[{"label": t("view.daily", f.lang), "value": "daily"},
                                                     {"label": t("view.cumulative", f.lang), "value": "cumulative"}],
                            value="cumulative" if f.cumulative else "daily", inline=True, className="toggle")
    notes = [_notes_box(eng, campaign, f.lang)] if auth.is_editor() else []
    return html.Div([L.header(f, "/"), L.filter_bar(f, influencers, queries.names.category_names(eng)),
                     html.Div([toggle, *_downloads(f)], className="toolbar"), body, *notes, refresh, stored],
                    className="page")


# --- annotations (editors) -------------------------------------------------------------------

def _notes_list(eng, campaign, lang: str):
    rows = []
    for a in annotations.stored(eng):
        local = a.at.astimezone(campaign.tz)
        where = ", ".join([*(PLATFORM_LABELS.get(p, p) for p in a.platforms), *a.categories, *a.influencers])
        rows.append(html.Li([html.B(f"{fmt_date(local.date(), lang)} {local:%H:%M}"), " · ", a.text(lang),
                             *([f" · {where}"] if where else []),
                             html.Span(" · " + t("notes.by", lang, author=a.updated_by or a.author or "—",
                                                 time=fmt_datetime(a.updated_at, lang, campaign.tz)), className="muted"),
                             " ", html.Button(t("notes.edit", lang), id={"type": "note-edit", "id": a.id}, className="btn-small"),
                             html.Button(t("notes.delete", lang), id={"type": "note-delete", "id": a.id},
                                         className="btn-small danger")]))
    return html.Ul(rows, id="notes-list") if rows else html.Div(t("notes.none", lang), className="muted", id="notes-list")


def _notes_box(eng, campaign, lang: str):
    def field(label, control):
        return html.Label([html.Span(t(label, lang)), control], className="form-field")

    return html.Details([
        html.Summary(t("notes.title", lang)),
        html.Div(t("notes.help", lang), className="muted"),
        html.Div([
            field("notes.date", dcc.Input(id="note-date", type="text", placeholder="2025-01-08", maxLength=10)),
            field("notes.time", dcc.Input(id="note-time", type="text", placeholder="20:00", maxLength=5)),
            field("notes.label", dcc.Input(id="note-label", type="text", maxLength=200, style={"width": "280px"})),
            field("notes.label_zh", dcc.Input(id="note-label-zh", type="text", maxLength=200, style={"width": "200px"})),
            field("notes.platforms", dcc.Dropdown(id="note-platforms", multi=True,
                                                  options=[{"label": PLATFORM_LABELS.get(p, p), "value": p}
                                                           for p in PLATFORMS])),
            field("notes.categories", dcc.Dropdown(id="note-categories", multi=True,
                                                   options=L.category_options(queries.names.category_names(eng), [], lang))),
            field("notes.influencers", dcc.Dropdown(id="note-influencers", multi=True,
                                                    options=queries.names.influencer_names(eng))),
            dcc.Store(id="note-editing"),
            html.Button(t("notes.add", lang), id="note-save", className="btn"),
        ], className="note-form"),
        html.Div(id="note-said", role="status"),
        html.Div(_notes_list(eng, campaign, lang), id="notes-box"),
    ], className="panel notes", id="live-notes")


@callbacks(Output("notes-box", "children"), Output("note-said", "children"), Output("note-editing", "data"),
           Output("note-save", "children"), Output("live-body", "children", allow_duplicate=True),
           Output("note-label", "value", allow_duplicate=True), Output("note-label-zh", "value", allow_duplicate=True),
           Input("note-save", "n_clicks"), Input({"type": "note-delete", "id": ALL}, "n_clicks"),
           State("note-date", "value"), State("note-time", "value"), State("note-label", "value"),
           State("note-label-zh", "value"), State("note-platforms", "value"), State("note-categories", "value"),
           State("note-influencers", "value"), State("note-editing", "data"), State("url", "search"),
           prevent_initial_call=True)
def save_note(_, deletes, day, hhmm, label, label_zh, platforms, categories, influencers, editing, search):
    if not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate
    f = F.parse(search or "")
    lang = f.lang
    eng, campaign = data.engine(), data.campaign()
    try:
        auth.require_editor()
    except Exception:  # noqa: BLE001 - werkzeug's Forbidden: nothing written
        return (no_update, html.Div(t("data.editors_only", lang), className="failed"), no_update, no_update, no_update,
                no_update, no_update)
    author = auth.current_user() or ""
    try:
        if isinstance(ctx.triggered_id, dict):
            annotations.delete(eng, int(ctx.triggered_id["id"]))
        else:
            draft = annotations.Draft(day or "", hhmm or "", label or "", label_zh or "",
                                      {"platforms": platforms or [], "categories": categories or [],
                                       "influencers": influencers or []})
            if editing:
                annotations.edit(eng, campaign, int(editing), draft, author)
            else:
                annotations.add(eng, campaign, draft, author)
    except ReachError as e:
        return no_update, html.Div(str(e), className="failed"), no_update, no_update, no_update, no_update, no_update
    # The labels emptied: a second click does not add the same annotation again.
    return _notes_list(eng, campaign, lang), None, None, t("notes.add", lang), content(eng, campaign, f), "", ""


@callbacks(Output("note-date", "value"), Output("note-time", "value"), Output("note-label", "value"),
           Output("note-label-zh", "value"), Output("note-platforms", "value"), Output("note-categories", "value"),
           Output("note-influencers", "value"), Output("note-editing", "data", allow_duplicate=True),
           Output("note-save", "children", allow_duplicate=True),
           Input({"type": "note-edit", "id": ALL}, "n_clicks"), State("url", "search"), prevent_initial_call=True)
def edit_note(clicks, search):
    if not ctx.triggered_id or not any(clicks or []):
        raise PreventUpdate
    campaign = data.campaign()
    a = next((a for a in annotations.stored(data.engine()) if a.id == ctx.triggered_id["id"]), None)
    if a is None:
        raise PreventUpdate
    local = a.at.astimezone(campaign.tz)
    return (local.date().isoformat(), local.strftime("%H:%M"), a.label, a.label_zh, list(a.platforms),
            list(a.categories), list(a.influencers), a.id,
            t("notes.save", F.parse(search or "").lang))


def _downloads(f: F.Filters) -> list:
    """The chart's rows (per platform and day) and the tidy rows beneath them (per influencer,
    platform and day), for the same filters."""
    return L.download_links(f, [
        ("live-download-csv", "button.download_csv", "/download/daily.csv", "by=platform"),
        ("live-download-tidy", "button.download_tidy", "/download/daily.csv", "by=influencer,platform")])


@callbacks(Output("live-body", "children"), Output("live-version", "data"),
           Input("live-interval", "n_intervals"), State("url", "search"), State("live-version", "data"),
           prevent_initial_call=True)
def refresh(_, search, seen):
    """Redraw only when the data changed: otherwise nothing is sent."""
    eng = data.engine()
    with stamps.one_version():  # the view is of the version sent back, read once
        now = stamps.live_version(eng)
        if now == seen:
            raise PreventUpdate
        return content(eng, data.campaign(), F.parse(search)), now


@callbacks(Output("url", "search", allow_duplicate=True), Input("live-view", "value"), State("url", "search"),
           prevent_initial_call=True)
def view_toggle(value, search):
    f = F.parse(search)
    new = F.with_changes(f, cumulative=value == "cumulative")
    if new == f:
        raise PreventUpdate
    return F.to_query(new)


# The next kiosk chart, in the browser (dashboard/web/assets/kiosk.js): every step's chart is in the
# page already (``kiosk-views``, drawn by ``kiosk_view``). Also run when a refresh brings new
# charts, so the screen stays on the step it was on.
callbacks.clientside(ClientsideFunction(namespace="reach", function_name="kioskStep"),
                    Output("live-chart", "figure"), Output("kiosk-caption", "children"),
                    Input("kiosk-cycle", "n_intervals"), Input("kiosk-views", "data"))

"""Alerts: the rules of campaign.toml and every event they found, with what was sent where.

Everyone sees the rules, the events (newest first: when, which rule, what it says in the page's
language, whether the notice went out, and to which channels) and the last failed delivery;
anyone may acknowledge an event ("seen, by whom, when"). Editors also mute and unmute a rule, test
it (what it finds in the data now, without storing or sending anything), delete it, and add or
change one with the form; each change is written to campaign.toml (dashboard/alert_rules.py: the
file keeps its comments, and a change it would refuse is not written).
"""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from collectors.errors import ReachError
from collectors.model import PLATFORM_LABELS, PLATFORMS

from ... import alert_rules, alerts
from ...analysis import config
from ...text.i18n import fmt_datetime, fmt_number, metric_name, t
from .. import auth, data, layout as L
from .. import filters as F
from . import Callbacks

SLUG, PATH, ORDER = "alerts", "/alerts", 55
callbacks = Callbacks()
register = callbacks.register
EVENTS_SHOWN = 100


WARNING_STYLE = {"background": "#fff4e5", "border": "1px solid #f0b35a", "borderRadius": "6px", "padding": "8px 12px",
                 "margin": "8px 0"}


def campaign_goals(r: config.AlertRule) -> tuple:
    return data.campaign().goals if r.kind == "goal" else ()


def _condition(r: config.AlertRule, lang: str) -> str:
    metric = metric_name(r.metric, lang) if r.metric != "posts" else metric_name("posts", lang)
    if r.kind == "threshold":
        op, value = (">=", r.above) if r.above is not None else ("<=", r.below)
        return t("alerts.kind.threshold", lang, metric=metric, scope=t(f"alerts.scope.{r.scope}", lang), op=op,
                 value=fmt_number(value, lang))
    if r.kind == "change":
        return t("alerts.kind.change", lang, metric=metric, value=fmt_number(r.change_pct, lang), period=r.period)
    if r.kind == "stale":
        return t("alerts.kind.stale", lang, value=fmt_number(r.hours, lang))
    goal = next((g for g in campaign_goals(r) if g.name == r.goal), None)
    return t(f"alerts.kind.{r.kind}", lang, goal=goal.text(lang) if goal else r.goal)


def _rules(campaign: config.Campaign, lang: str, editor: bool):
    if not campaign.alerts:
        return html.Div(t("alerts.none_rules", lang), className="muted", id="alerts-no-rules")
    head = html.Tr([html.Th(t(f"alerts.col.{c}", lang)) for c in ("rule", "when_fires", "channels", "cooldown", "state")]
                   + ([html.Th("")] if editor else []))
    rows = []
    for r in campaign.alerts:
        where = ", ".join(PLATFORM_LABELS.get(p, p) for p in r.platforms)
        tools = [html.Td([html.Button(t("alerts.unmute" if r.muted else "alerts.mute", lang),
                                      id={"type": "alert-mute", "name": r.name}, className="btn-small"),
                          html.Button(t("alerts.test", lang), id={"type": "alert-test", "name": r.name},
                                      className="btn-small"),
                          html.Button(t("alerts.edit", lang), id={"type": "alert-edit", "name": r.name},
                                      className="btn-small"),
                          html.Button(t("alerts.delete", lang), id={"type": "alert-delete", "name": r.name},
                                      className="btn-small danger")], className="nowrap")] if editor else []
        rows.append(html.Tr([html.Td(html.B(r.name)),
                             html.Td(_condition(r, lang) + (f" · {where}" if where else "")),
                             html.Td(", ".join(r.channels) or "—"),
                             html.Td(f"{fmt_number(r.cooldown_hours, lang)} h"),
                             html.Td(t("alerts.muted" if r.muted else "alerts.active", lang),
                                     className="muted" if r.muted else "")] + tools))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="table", id="alerts-rules")


def _channels(campaign: config.Campaign, lang: str, editor: bool):
    """Each channel: its kind and language, and an e-mail channel's recipients (editable by
    editors: written to campaign.toml). Never a secret: those are not in campaign.toml."""
    chans = [c for c in campaign.channels if isinstance(c, dict)]
    if not chans:
        return html.Div(t("alerts.none_channels", lang), className="muted", id="alerts-no-channels")
    rows = []
    for c in chans:
        name, kind = str(c.get("name", "")), str(c.get("kind", ""))
        to = c.get("to", [])
        to = [to] if isinstance(to, str) else list(to)
        if kind == "email" and editor:
            cell = html.Td([dcc.Input(id={"type": "alert-to", "name": name}, value=", ".join(to), type="text",
                                      style={"width": "360px"}),
                            dcc.Dropdown(id={"type": "alert-lang", "name": name}, options=["en", "zh"],
                                         value=str(c.get("lang", "en")), clearable=False,
                                         style={"width": "80px", "display": "inline-block", "verticalAlign": "middle"}),
                            html.Button(t("alerts.save_to", lang), id={"type": "alert-to-save", "name": name},
                                        className="btn-small")], className="nowrap")
        else:
            cell = html.Td(", ".join(to) if kind == "email" else "—")
        rows.append(html.Tr([html.Td(html.B(name)), html.Td(kind), html.Td(str(c.get("lang", "en"))), cell]))
    head = html.Tr([html.Th(t(f"alerts.col.{k}", lang)) for k in ("channel", "kind", "lang", "to")])
    return html.Table([html.Thead(head), html.Tbody(rows)], className="table", id="alerts-channels")


def _events(eng, campaign, lang: str):
    evs = alerts.events(eng, limit=EVENTS_SHOWN)
    if not evs:
        return html.Div(t("alerts.none_events", lang), className="muted", id="alerts-no-events")
    rows = []
    for ev in evs:
        if ev.kind == "report":
            what = f"{ev.params.get('report', '')}: {ev.params.get('slot', '')}"
        else:
            try:
                what = alerts.message(ev, lang, campaign)[1].split("\n")[0]
            except Exception:  # noqa: BLE001 - an event of an older shape: its rule and key still say what
                what = f"{ev.rule}: {ev.key}"
        sent = t(f"alerts.status.{ev.status}", lang)
        if ev.deliveries:
            sent += " · " + ", ".join(f"{d.get('channel')} {'✓' if d.get('ok') else '✗'}" for d in ev.deliveries)
        link = ev.params.get("link")
        what_cell = html.A(what, href=link + (("&" if "?" in link else "?") + "lang=zh" if lang == "zh" else "")) \
            if link else what
        seen = (t("alerts.seen_by", lang, user=ev.acknowledged_by or t("alerts.anonymous", lang),
                  time=fmt_datetime(ev.acknowledged_at, lang, campaign.tz)) if ev.acknowledged_at else
                html.Button(t("alerts.ack", lang), id={"type": "alert-ack", "id": ev.id}, className="btn-small"))
        rows.append(html.Tr([html.Td(fmt_datetime(ev.fired_at, lang, campaign.tz), className="nowrap"),
                             html.Td(what_cell), html.Td(sent, className="failed" if ev.status == "failed" else ""),
                             html.Td(seen)]))
    head = html.Tr([html.Th(t(f"alerts.col.{c}", lang)) for c in ("time", "what", "sent", "seen")])
    return html.Table([html.Thead(head), html.Tbody(rows)], className="table", id="alerts-events")


def _last_failure(eng, campaign, lang: str) -> list:
    bad = alerts.last_failure(eng)
    if bad is None:
        return []
    d = next((d for d in bad.deliveries if not d.get("ok")), {})
    return [html.Div(t("alerts.last_failure", lang, rule=bad.rule, channel=d.get("channel", "?"),
                       time=fmt_datetime(bad.fired_at, lang, campaign.tz), status=d.get("status", "")),
                     style=WARNING_STYLE, id="alerts-last-failure")]


def _form(campaign: config.Campaign, lang: str):
    channels = [str(c.get("name")) for c in campaign.channels if isinstance(c, dict)]

    def field(label, control):
        return html.Label([html.Span(t(label, lang)), control], className="form-field")

    return html.Details([
        html.Summary(t("alerts.form", lang)),
        html.Div([
            field("alerts.f.name", dcc.Input(id="alert-f-name", type="text", maxLength=100)),
            field("alerts.f.kind", dcc.Dropdown(id="alert-f-kind", options=list(config.ALERT_KINDS), value="threshold",
                                                clearable=False)),
            field("alerts.f.metric", dcc.Dropdown(id="alert-f-metric", value="views", clearable=False,
                                                  options=[{"label": metric_name(m, lang), "value": m}
                                                           for m in config.GOAL_METRICS])),
            field("alerts.f.scope", dcc.Dropdown(id="alert-f-scope", value="post-day", clearable=False,
                                                 options=[{"label": t(f"alerts.scope.{s}", lang).strip("（）"), "value": s}
                                                          for s in config.ALERT_SCOPES])),
            field("alerts.f.above", dcc.Input(id="alert-f-above", type="number", min=0)),
            field("alerts.f.below", dcc.Input(id="alert-f-below", type="number", min=0)),
            field("alerts.f.change", dcc.Input(id="alert-f-change", type="number", min=0)),
            field("alerts.f.hours", dcc.Input(id="alert-f-hours", type="number", min=0)),
            field("alerts.f.goal", dcc.Dropdown(id="alert-f-goal", options=[{"label": g.text(lang) or g.name, "value": g.name}
                                                                    for g in campaign.goals if g.name])),
            field("alerts.f.platforms", dcc.Dropdown(id="alert-f-platforms", multi=True,
                                                     options=[{"label": PLATFORM_LABELS.get(p, p), "value": p}
                                                              for p in PLATFORMS])),
            field("alerts.f.channels", dcc.Dropdown(id="alert-f-channels", multi=True, options=channels)),
            field("alerts.f.cooldown", dcc.Input(id="alert-f-cooldown", type="text", value="6h", maxLength=10)),
            dcc.Store(id="alert-f-old"),
            html.Button(t("alerts.f.save", lang), id="alert-f-save", className="btn"),
        ], className="alert-form"),
    ], id="alerts-form-box")


@data.reads
def layout(**query):
    f = F.parse("?" + urlencode(query, doseq=True))
    lang = f.lang
    eng, campaign = data.engine(), data.campaign()
    editor = auth.is_editor()
    return html.Div([
        L.header(f, PATH),
        *_last_failure(eng, campaign, lang),
        html.H2(t("alerts.rules", lang)),
        html.Div(_rules(campaign, lang, editor), id="alerts-rules-box"),
        html.Div(id="alerts-said", role="status"),
        _form(campaign, lang) if editor else html.Div(t("alerts.editors_only", lang), className="muted"),
        html.H2(t("alerts.channels", lang)),
        html.Div(_channels(campaign, lang, editor), id="alerts-channels-box"),
        html.Div(id="alerts-to-said", role="status"),
        html.H2(t("alerts.events", lang)),
        html.Div(_events(eng, campaign, lang), id="alerts-events-box"),
    ], className="page alerts-page")


# --- callbacks (thin: role check, call the service, redraw) -------------------------------------

def _lang(search) -> str:
    return F.parse(search or "").lang


def _said(text: str, ok: bool = True):
    return html.Div(text, className="said" if ok else "said failed", style=None if ok else WARNING_STYLE)


@callbacks(Output("alerts-events-box", "children", allow_duplicate=True),
           Input({"type": "alert-ack", "id": ALL}, "n_clicks"), State("url", "search"), prevent_initial_call=True)
def acknowledge(clicks, search):
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    eng, campaign = data.engine(), data.campaign()
    alerts.acknowledge(eng, int(ctx.triggered_id["id"]), auth.current_user() or "", datetime.now(timezone.utc))
    return _events(eng, campaign, _lang(search))


@callbacks(Output("alerts-rules-box", "children"), Output("alerts-said", "children"),
           Input({"type": "alert-mute", "name": ALL}, "n_clicks"),
           Input({"type": "alert-delete", "name": ALL}, "n_clicks"),
           Input({"type": "alert-test", "name": ALL}, "n_clicks"),
           Input("alert-f-save", "n_clicks"),
           State("alert-f-name", "value"), State("alert-f-kind", "value"), State("alert-f-metric", "value"),
           State("alert-f-scope", "value"), State("alert-f-above", "value"), State("alert-f-below", "value"),
           State("alert-f-change", "value"), State("alert-f-hours", "value"), State("alert-f-platforms", "value"),
           State("alert-f-channels", "value"), State("alert-f-cooldown", "value"), State("alert-f-old", "data"),
           State("alert-f-goal", "value"), State("url", "search"), prevent_initial_call=True)
def change(mutes, deletes, tests, save, name, kind, metric, scope, above, below, change_pct, hours, platforms,
           channels, cooldown, old, goal, search):
    trig = ctx.triggered_id
    if trig is None or not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate
    lang = _lang(search)
    eng, campaign = data.engine(), data.campaign()
    path = alert_rules.path_of(data.config_path())
    kind_of = trig.get("type") if isinstance(trig, dict) else trig
    if kind_of == "alert-test":  # reads only: anyone who sees the button is an editor, but nothing is written
        rule = next((r for r in campaign.alerts if r.name == trig["name"]), None)
        if rule is None:
            raise PreventUpdate
        found = alerts.evaluate(eng, campaign, alerts.now_of(eng), [rule])
        if not found:
            return no_update, _said(t("alerts.test_none", lang, rule=rule.name))
        shown = [alerts.message(alerts.Event(0, f.rule, f.key, f.kind, datetime.now(timezone.utc), f.value,
                                             f.threshold, f.params, "pending", [], None, None), lang, campaign)[1]
                 .split("\n")[0] for f in found[:10]]
        return no_update, html.Div([t("alerts.test_found", lang, rule=rule.name, n=len(found)),
                                    html.Ul([html.Li(s) for s in shown])], className="said")
    try:
        auth.require_editor()
    except Exception:  # noqa: BLE001 - werkzeug's Forbidden: said on the page, nothing written
        return no_update, _said(t("alerts.editors_only", lang), ok=False)
    try:
        if kind_of == "alert-mute":
            rule = next(r for r in campaign.alerts if r.name == trig["name"])
            campaign = alert_rules.set_muted(path, rule.name, not rule.muted)
            said = None
        elif kind_of == "alert-delete":
            campaign = alert_rules.delete_rule(path, trig["name"])
            said = _said(t("alerts.deleted", lang, rule=trig["name"], file=path.name))
        else:
            rule = dict(name=(name or "").strip(), kind=kind, metric=metric, channels=list(channels or []),
                        platforms=list(platforms or []), cooldown=(cooldown or "").strip() or None)
            if kind == "threshold":
                rule.update(scope=scope, above=above, below=below)
            elif kind == "change":
                rule.update(change_pct=change_pct)
            elif kind == "stale":
                rule.update(hours=hours)
            elif kind == "goal":
                rule.update(goal=goal)
            campaign = alert_rules.save_rule(path, rule, old_name=old or None)
            said = _said(t("alerts.saved", lang, rule=rule["name"], file=path.name))
    except (ReachError, StopIteration) as e:
        return no_update, _said(str(e), ok=False)
    return _rules(campaign, lang, True), said


@callbacks(Output("alert-f-name", "value"), Output("alert-f-kind", "value"), Output("alert-f-metric", "value"),
           Output("alert-f-scope", "value"), Output("alert-f-above", "value"), Output("alert-f-below", "value"),
           Output("alert-f-change", "value"), Output("alert-f-hours", "value"), Output("alert-f-platforms", "value"),
           Output("alert-f-channels", "value"), Output("alert-f-cooldown", "value"), Output("alert-f-old", "data"),
           Output("alert-f-goal", "value"), Output("alerts-form-box", "open"),
           Input({"type": "alert-edit", "name": ALL}, "n_clicks"), prevent_initial_call=True)
def edit(clicks):
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    r = next((r for r in data.campaign().alerts if r.name == ctx.triggered_id["name"]), None)
    if r is None:
        raise PreventUpdate
    return (r.name, r.kind, r.metric, r.scope, r.above, r.below, r.change_pct, r.hours, list(r.platforms),
            list(r.channels), f"{r.cooldown_hours:g}h", r.name, r.goal or None, True)


@callbacks(Output("alerts-channels-box", "children"), Output("alerts-to-said", "children"),
           Input({"type": "alert-to-save", "name": ALL}, "n_clicks"),
           State({"type": "alert-to", "name": ALL}, "value"), State({"type": "alert-to", "name": ALL}, "id"),
           State({"type": "alert-lang", "name": ALL}, "value"), State("url", "search"), prevent_initial_call=True)
def save_recipients(clicks, values, ids, langs, search):
    if not ctx.triggered_id or not any(clicks or []):
        raise PreventUpdate
    lang = _lang(search)
    try:
        auth.require_editor()
    except Exception:  # noqa: BLE001 - werkzeug's Forbidden: said on the page, nothing written
        return no_update, _said(t("alerts.editors_only", lang), ok=False)
    name = ctx.triggered_id["name"]
    k = [i["name"] for i in ids].index(name)
    path = alert_rules.path_of(data.config_path())
    try:
        campaign = alert_rules.set_recipients(path, name, str(values[k] or "").replace(";", ",").split(","), langs[k])
    except ReachError as e:
        return no_update, _said(str(e), ok=False)
    return _channels(campaign, lang, True), _said(t("alerts.to_saved", lang, channel=name))

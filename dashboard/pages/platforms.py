"""Platforms: the platforms of the campaign compared side by side, for the filters in the URL.

A table puts each platform's totals next to the others (rates are ratios of totals, reach a range
that is not deduplicated), a chart shows the platform mix of the chart metric per ISO week (shares
of each week's total) and small multiples compare volume, engagements, ER and EMV. A platform that
reports no views is counted by its impressions wherever views are compared, and labelled so.
Everything shown is a pure function of the database and the filters (``totals``, ``weekly_mix``).
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from .. import cache, data, figures, layout as L, metrics, queries, rollups
from .. import filters as F
from ..i18n import add_strings, fmt_date, fmt_number, fmt_range, metric_help, metric_name, platform_name, t, week_label

SLUG, PATH, ORDER = "platforms", "/platforms", 30

add_strings({
    "en": {
        "platforms.all": "All platforms",
        "platforms.table": "Platforms side by side",
        "platforms.period": "Activity from {start} to {end}, days in the campaign timezone ({tz})",
        "platforms.not_reported": "not reported",
        "platforms.mix": "Platform mix: share of each ISO week's {metric}",
        "platforms.mix_axis": "Share of the week (%)",
        "platforms.compare": "Platforms compared",
        "platforms.er": "ER",
        "platforms.hatched": ("Hatched bars and “(impressions)”: the platform reports no views, so its impressions "
                              "stand in for views, as in EMV, and its ER is by impressions."),
        "platforms.note": ("Rates are ratios of totals. Reach covers the posts published in the period and is not "
                           "deduplicated: from the largest post (a lower bound) to the sum over posts (an upper "
                           "bound). Active influencers published at least one post in the period."),
    },
    "zh": {
        "platforms.all": "全部平台",
        "platforms.table": "各平台对比",
        "platforms.period": "{start}至{end}的数据，日期按活动时区（{tz}）计算",
        "platforms.not_reported": "未提供",
        "platforms.mix": "平台构成：各 ISO 周{metric}的占比",
        "platforms.mix_axis": "占本周比例（%）",
        "platforms.compare": "平台比较",
        "platforms.er": "互动率",
        "platforms.hatched": "斜线柱和“（展示次数）”表示该平台不提供浏览量，以展示次数代替（与 EMV 相同），其互动率按展示次数计算。",
        "platforms.note": ("比率均为总量之比。覆盖人数按本期发布的帖子计算，未去重：从单帖最高（下限）到各帖之和（上限）。"
                           "活跃达人指本期至少发布一条帖子的达人。"),
    },
})

# Rows of the side-by-side table, in reading order: volume, engagement, rates, activity, value, reach.
TABLE_ROWS = ("views", "impressions", "engagements", "er_views", "er_impressions", "virality_views", "posts",
              "active_influencers", "emv_usd", "reach_range")
RATE_ROWS = ("er_views", "er_impressions", "virality_views")
ALL = "_all"  # the row of the totals across platforms


def window(f: F.Filters, campaign) -> metrics.Selection:
    """The filters' selection; without dates in the URL, the campaign window (as on the Live page)."""
    return F.view_selection(f, campaign)


def _published(posts: pd.DataFrame, campaign, sel: metrics.Selection) -> pd.DataFrame:
    p = metrics._filter_posts(posts, sel)
    return metrics._days(p.assign(day=metrics._local_day(p["published_at"], campaign.tz)), sel)


def totals(eng, campaign, sel: metrics.Selection, frames=None) -> pd.DataFrame:
    """One row per platform, and a last row ``platform == ALL`` for all of them together; from the
    rollups and narrow SQL, or from ``frames`` (queries.load_frames) when given.

    Activity (views … EMV, rates) is in the selection's days from the rollups; posts published,
    active influencers and reach are about the posts published in those days. ``basis`` says
    whether the platform is counted by views or, reporting none, by impressions."""
    by = rollups.query(eng, campaign, by=["platform"], sel=sel)
    if by.empty:
        return pd.DataFrame(columns=["platform", "basis", *TABLE_ROWS, "reach_max_post", "reach_sum"])
    every = rollups.query(eng, campaign, by=[], sel=sel).assign(platform=ALL)
    if frames is None:
        # Posts published and reach by narrow SQL over the view's days (queries.published_counts,
        # queries.reach_range): the same numbers as from the frames below, without reading them.
        posts = queries.published_counts(eng, campaign, sel, by=["platform"]).set_index("platform")
        posts.loc[ALL] = queries.published_counts(eng, campaign, sel).iloc[0]
        reach = queries.reach_range(eng, campaign, sel, by=["platform"])
        # Across platforms: the largest post of any, the sum of the sums (one read, not two).
        reach_all = pd.DataFrame([dict(platform=ALL, reach_max_post=reach["reach_max_post"].max(),
                                       reach_sum=reach["reach_sum"].sum())]) if len(reach) else reach.iloc[0:0]
    else:
        pub = _published(frames.posts, campaign, sel)
        posts = pub.groupby("platform").agg(posts=("post_pk", "size"), active_influencers=("influencer", "nunique"))
        posts.loc[ALL] = [len(pub), pub["influencer"].nunique()]
        reach = metrics.reach_table(frames.snapshots, frames.posts, campaign, by=["platform"], sel=sel)
        reach_all = metrics.reach_table(frames.snapshots, frames.posts, campaign, by=[], sel=sel).assign(platform=ALL)
    reach = pd.concat([reach, reach_all], ignore_index=True).reindex(columns=["platform", "reach_max_post",
                                                                              "reach_sum"])
    # Largest first, each platform on its own basis, so the columns read as a ranking.
    by = (by.assign(_size=metrics.views_or_impressions(by).fillna(0))
          .sort_values(["_size", "platform"], ascending=[False, True]).drop(columns="_size"))
    out = pd.concat([by, every], ignore_index=True)
    out = out.merge(posts.reset_index(), on="platform", how="left").merge(reach, on="platform", how="left")
    out[["posts", "active_influencers"]] = out[["posts", "active_influencers"]].fillna(0).astype(int)
    # Views, else impressions; a platform with neither (Weibo: likes, comments, reposts only) has
    # no basis and is counted in no volume comparison.
    out["basis"] = metrics.basis_of(out["platform"])
    out.loc[out["platform"] == ALL, "basis"] = None  # a mix: each platform counts on its own basis
    return out.reset_index(drop=True)


def weekly_mix(eng, campaign, sel: metrics.Selection, metric: str) -> pd.DataFrame:
    """The share of ``metric`` per platform in each ISO week (columns week, platform, basis, value,
    share in percent, days: the week's days inside the selection).

    For views a platform that reports none is counted by its impressions (``basis``), as in EMV:
    otherwise X and LinkedIn would vanish from the mix. Weeks with a total of 0 are left out."""
    w = rollups.query(eng, campaign, by=["platform", "week"], sel=sel)
    cols = ["week", "platform", "basis", "value", "share", "days"]
    if w.empty or metric not in w:
        return pd.DataFrame(columns=cols)
    if metric in ("views", metrics.BASIS_METRIC):
        w = w.assign(basis=metrics.basis_of(w["platform"]))
        w = w[w["basis"].notna()].copy()  # a platform with neither has no volume to share
        w["value"] = metrics.views_or_impressions(w)
    else:
        w = w[w.groupby("platform")[metric].transform(lambda s: s.notna().any())].copy()
        w["basis"], w["value"] = metric, w[metric]
    w["value"] = w["value"].fillna(0.0).astype(float)
    total = w.groupby("week")["value"].transform("sum")
    w = w[total > 0].copy()
    w["share"] = w["value"] / total[total > 0] * 100
    w["days"] = w["week"].map(lambda wk: _days_in(wk, sel))
    return w.sort_values(["week", "platform"])[cols].reset_index(drop=True)


def _days_in(week: str, sel: metrics.Selection) -> int:
    monday = metrics.week_start(week)
    lo, hi = max(monday, sel.start or monday), min(monday + timedelta(days=6), sel.end or monday + timedelta(days=6))
    return max((hi - lo).days + 1, 0)


def _label(platform: str, basis, lang: str) -> str:
    name = platform_name(platform, lang)
    return t("label.impressions_basis", lang, platform=name) if basis == "impressions" else name


def _hatch(shape):
    # Light lines over the platform's own colour: the colour stays the platform's, and bar labels
    # stay readable on dark colours (X is black).
    return dict(shape=shape, fillmode="overlay", fgcolor="rgba(255,255,255,0.55)", size=8)


def mix_figure(mix: pd.DataFrame, metric: str, lang: str) -> go.Figure:
    """Stacked 100% bars per ISO week, one fixed colour per platform."""
    fig = go.Figure()
    labels = {w: week_label(w, d, lang) for w, d in zip(mix["week"], mix["days"])}
    for platform, g in mix.groupby("platform", sort=True):
        fig.add_trace(go.Bar(
            x=[labels[w] for w in g["week"]], y=g["share"], name=_label(platform, g["basis"].iloc[0], lang),
            marker=dict(color=figures.PLATFORM_COLOURS.get(platform),
                        pattern=_hatch("/" if g["basis"].iloc[0] == "impressions" else "")),
            customdata=[fmt_number(v, lang, kind="money" if metric == "emv_usd" else "count") for v in g["value"]],
            hovertemplate="%{x}: %{y:.1f}% (%{customdata})<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(
        barmode="stack", title=t("platforms.mix", lang, metric=metric_name(
            metrics.BASIS_METRIC if metric == "views" else metric, lang)),  # the mix of views counts X's impressions
        xaxis_title=t("label.iso_week", lang), yaxis=dict(title=t("platforms.mix_axis", lang), range=[0, 100],
                                                          ticksuffix="%"),
        margin=dict(l=70, r=20, t=60, b=50), legend=dict(orientation="h", y=-0.2), template="plotly_white",
        hovermode="x unified",
    )
    return figures.no_chart(fig, t("empty.no_match", lang)) if mix.empty else fig


def compare_figure(tot: pd.DataFrame, lang: str) -> go.Figure:
    """Small multiples: one panel per measure, a horizontal bar per platform in its fixed colour.

    Volume and ER are on each platform's basis (hatched where impressions stand in for views)."""
    p = tot[tot["platform"] != ALL].iloc[::-1]  # plotly draws the first category at the bottom
    by_imp = p["basis"] == "impressions"
    panels = [
        (metric_name(metrics.BASIS_METRIC, lang), metrics.views_or_impressions(p), "count"),
        (metric_name("engagements", lang), p["engagements"], "count"),
        (t("platforms.er", lang), p["er_views"].where(~by_imp, p["er_impressions"]), "rate"),
        (metric_name("emv_usd", lang), p["emv_usd"], "money"),
        (metric_name("posts", lang), p["posts"], "count"),
    ]
    fig = make_subplots(rows=1, cols=len(panels), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[title for title, _, _ in panels])
    names = [_label(pl, b, lang) for pl, b in zip(p["platform"], p["basis"])]
    colours = [figures.PLATFORM_COLOURS.get(pl, "#777") for pl in p["platform"]]
    hatch = ["/" if b else "" for b in by_imp]
    for i, (title, values, kind) in enumerate(panels, start=1):
        v = pd.to_numeric(values, errors="coerce").astype(float)
        shown = v * 100 if kind == "rate" else v
        fig.add_trace(go.Bar(
            x=shown, y=names, orientation="h", marker=dict(color=colours, pattern=_hatch(hatch)),
            text=[fmt_number(x, lang, kind=kind, compact=kind != "rate") for x in v], textposition="auto",
            hovertemplate="%{y}: %{text}<extra>" + title + "</extra>", showlegend=False,
        ), row=1, col=i)
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=True, row=1, col=i)
    fig.update_layout(template="plotly_white", margin=dict(l=150, r=20, t=50, b=20),
                      height=max(260, 60 + 44 * len(p)), bargap=0.25)
    return fig


def _cell(row, key: str, lang: str):
    if key == "reach_range":
        return fmt_range(row["reach_max_post"], row["reach_sum"], lang)
    v = row[key]
    if pd.isna(v) and key in ("views", "er_views", "virality_views") and row["basis"] == "impressions":
        return html.Span(t("platforms.not_reported", lang), className="muted")
    kind = "rate" if key in RATE_ROWS else "money" if key == "emv_usd" else "count"
    return fmt_number(v, lang, kind=kind)


def table(tot: pd.DataFrame, lang: str):
    """Platforms as columns, measures as rows: the same measure reads across, side by side."""
    cols = list(tot.itertuples(index=False))
    head = [html.Th("")]
    for r in cols:
        name = t("platforms.all", lang) if r.platform == ALL else platform_name(r.platform, lang)
        swatch = None if r.platform == ALL else html.Span(className="swatch", style={
            "display": "inline-block", "width": "10px", "height": "10px", "marginRight": "6px",
            "background": figures.PLATFORM_COLOURS.get(r.platform, "#777")})
        head.append(html.Th([swatch, name], scope="col"))
    body = [html.Tr([html.Th(t("col.basis", lang), scope="row")]
                    + [html.Td(metric_name(r.basis, lang) if isinstance(r.basis, str) else "") for r in cols])]
    for key in TABLE_ROWS:
        body.append(html.Tr([html.Th(metric_name(key, lang), scope="row", title=metric_help(key, lang))]
                            + [html.Td(_cell(tot.iloc[i], key, lang)) for i in range(len(cols))]))
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(body)], className="table platforms-table",
                      id="platforms-table")


def content(eng, campaign, f: F.Filters, frames=None) -> list:
    """Everything below the filters, as components."""
    sel = window(f, campaign)
    lang = f.lang
    if frames is None:
        # Per data version, selection and metric, for every worker (dashboard/cache.py).
        tot, mix = cache.memo(eng, campaign, "platforms.view", (sel, f.metric),
                              lambda: (totals(eng, campaign, sel), weekly_mix(eng, campaign, sel, f.metric)))
    else:
        tot, mix = totals(eng, campaign, sel, frames), weekly_mix(eng, campaign, sel, f.metric)
    if tot.empty:
        return [L.empty_view(eng, campaign, f, "platforms-empty", "/platforms")]
    period = t("platforms.period", lang, start=fmt_date(sel.start, lang) if sel.start else "…",
               end=fmt_date(sel.end, lang) if sel.end else "…", tz=campaign.timezone)
    cfg = figures.graph_config(lang)
    return [
        html.H2(t("platforms.table", lang)),
        html.P(period, className="muted", id="platforms-period"),
        html.Div(table(tot, lang), className="table-wrap"),
        html.P([t("platforms.note", lang), " ", t("platforms.hatched", lang)], className="muted"),
        dcc.Graph(id="platforms-mix", figure=mix_figure(mix, f.metric, lang), config=cfg, className="chart"),
        html.H2(t("platforms.compare", lang)),
        dcc.Graph(id="platforms-compare", figure=compare_figure(tot, lang), config=cfg, className="chart"),
    ]


@data.reads  # one data version per view: each cached piece asks for it
def layout(**query):
    f = F.parse("?" + urlencode(query, doseq=True))
    eng, campaign = data.engine(), data.campaign()
    influencers = queries.influencer_names(eng)
    return html.Div([L.header(f, PATH), L.filter_bar(f, influencers, queries.category_names(eng)), html.Div(_downloads(f), className="toolbar"),
                     html.Div(content(eng, campaign, f), id="platforms-body")], className="page")


def _downloads(f: F.Filters) -> list:
    """The weekly rows per platform behind the mix chart, and the tidy daily rows per platform."""
    return L.download_links(f, [
        ("platforms-download-csv", "button.download_csv", "/download/weekly.csv", "by=platform"),
        ("platforms-download-tidy", "button.download_tidy", "/download/daily.csv", "by=platform")])

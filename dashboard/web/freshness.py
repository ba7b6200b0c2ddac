"""The freshness line: per platform, how recent its data is and, per source (files or APIs), the
last successful import and the last error.

Pure builders from the frames of dashboard/web/data.py (``freshness`` and ``source_freshness``), so
the Live page and the Data page show the same line and tests need no server.
"""
from __future__ import annotations

import pandas as pd
from dash import html

from collectors.messages import render

from ..text.i18n import MISSING, fmt_ago, fmt_date, fmt_datetime, freshness as fresh_text, platform_name, t


ERROR_CHARS = 160  # the line stays one line; the Data page's history has the whole message


def demo_note(clock, lang: str, tz, id: str = "demo-clock"):
    """The subtle line that says the demo's clock is the demo's ("demo data as of 27 Jan 2025"),
    for ``clock`` (ledger.demo_clock); None for real data, which keeps real time."""
    if clock is None:
        return None
    day = pd.Timestamp(clock).tz_convert(tz).date()
    return html.Span(t("fresh.demo_clock", lang, date=fmt_date(day, lang)), className="demo-clock muted", id=id,
                     title=t("fresh.demo_clock_help", lang))


def counting(n: int, lang: str, id: str = "live-counting"):
    """The line that says ``n`` imports are stored but not yet in the totals (their rollup refresh
    is on its way: pages show the rollup as it stands meanwhile, dashboard/analysis/rollups.py);
    None when there are none."""
    if not n:
        return None
    return html.Div(t("fresh.counting.one" if n == 1 else "fresh.counting.other", lang, n=n),
                    className="counting muted", id=id, role="status")


def short_error(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS - 1] + "…"


def lines(plat: pd.DataFrame, sources: pd.DataFrame, lang: str, tz, now=None) -> list[dict]:
    """One entry per platform: its name, the "as of" text, whether the data is stale, and per
    source the last success and (when there is one) the last error; ``failing`` when a source's
    latest attempt failed. Platforms in the order of ``plat``, then any known only by their sources."""
    order = list(plat["platform"]) if len(plat) else []
    order += [p for p in dict.fromkeys(sources["platform"]) if p not in order] if len(sources) else []
    by_plat = plat.set_index("platform") if len(plat) else None
    out = []
    for p in order:
        has_data = by_plat is not None and p in by_plat.index
        entry = dict(
            platform=p,
            name=platform_name(p, lang) if p else t("fresh.unknown_platform", lang),
            as_of=fresh_text(by_plat.loc[p, "as_of"], lang, tz, now=now) if has_data else None,
            stale=bool(by_plat.loc[p, "stale"]) if has_data else False,
            sources=[], failing=False,
        )
        for r in (sources[sources["platform"] == p].itertuples() if len(sources) else []):
            src = t(f"fresh.source.{r.source}", lang)
            ok = (t("fresh.last_ok", lang, source=src, ago=fmt_ago(r.last_success, lang, now))
                  if not pd.isna(r.last_success) else t("fresh.never_ok", lang, source=src))
            err = (t("fresh.error", lang, when=fmt_datetime(r.last_error_at, lang, tz), source=src,
                     error=short_error(render(r.last_error, lang))) if isinstance(r.last_error, str) else None)
            entry["sources"].append(dict(source=r.source, ok=ok, error=err, failing=bool(r.error_is_latest)))
            entry["failing"] |= bool(r.error_is_latest)
        out.append(entry)
    return out


def items(plat: pd.DataFrame, sources: pd.DataFrame, lang: str, tz, now=None) -> list:
    """The lines as list items: stale data and a failing latest attempt are highlighted."""
    out = []
    for e in lines(plat, sources, lang, tz, now):
        parts = [html.Strong(e["name"] + " "), e["as_of"] or MISSING]
        if e["stale"]:
            parts.append(html.Strong(" (" + t("label.stale", lang) + ")"))
        detail = []
        for s in e["sources"]:
            detail.append(html.Span(s["ok"], className="fresh-ok"))
            if s["error"]:
                detail.append(html.Span(s["error"], className="fresh-error" + (" failing" if s["failing"] else "")))
        if detail:
            parts.append(html.Div(detail, className="fresh-sources"))
        cls = " ".join(c for c, on in (("stale", e["stale"]), ("failing", e["failing"])) if on)
        out.append(html.Li(parts, className=cls, **{"data-platform": e["platform"]}))
    return out

"""The weekly summary against the demo campaign, with its numbers recomputed in plain Python.

The demo is built once for the module; expected values are summed directly from the rows of
``metrics.increments`` (never through weekly_table), so a summary that took the wrong days, the
wrong week before or the wrong denominator disagrees with them. A tiny hand-made campaign covers
what the demo never shows (a week after a week with zero views)."""
from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from collectors.errors import ReachError
from collectors.model import METRICS
from collectors.store import database
from dashboard.analysis import config, metrics, queries, summary
from dashboard.analysis.queries.frames import Frames

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
ENGAGEMENT = ("likes", "comments", "shares", "saves")
W03 = (date(2025, 1, 13), date(2025, 1, 19))
W02 = (date(2025, 1, 6), date(2025, 1, 12))


@pytest.fixture(scope="module")
def demo(demo_db):
    url = f"sqlite:///{demo_db}"
    engine = database.connect(url, create=False)
    frames = queries.frames.load_frames(engine)
    engine.dispose()
    campaign = config.load(ROOT / "campaign.toml")
    inc = metrics.increments(frames.snapshots, frames.post_days, campaign)
    return frames, campaign, Rows(inc)


class Rows:
    """The increment rows as plain tuples (post_pk, day, metric, value), walked by the checks."""

    def __init__(self, inc: pd.DataFrame):
        self.rows = [(int(p), d.date(), m, float(v)) for p, d, m, v in
                     zip(inc["post_pk"], inc["day"], inc["metric"], inc["value"])]
        self.views_posts = {p for p, _, m, _ in self.rows if m == "views"}
        self.impressions_posts = {p for p, _, m, _ in self.rows if m == "impressions"}


@pytest.fixture(scope="module")
def w03(demo):
    frames, campaign, _ = demo
    return summary.build_summary(frames, campaign, "2025-W03")


def plain_totals(inc: Rows, lo: date, hi: date) -> dict[str, float]:
    """Views, impressions, engagements and both ERs for days lo..hi, by walking the rows."""
    t = defaultdict(float)
    for post, day, metric, value in inc.rows:
        if not (lo <= day <= hi):
            continue
        if metric in ("views", "impressions"):
            t[metric] += value
        if metric in ENGAGEMENT:
            t["engagements"] += value
            t["e_views"] += value if post in inc.views_posts else 0.0
            t["e_impressions"] += value if post in inc.impressions_posts else 0.0
    t["er_views"] = t["e_views"] / t["views"]
    t["er_impressions"] = t["e_impressions"] / t["impressions"]
    return t


def local_publish_day(ts) -> date:
    return ts.to_pydatetime().astimezone(TZ).date()


def lifetime_basis(inc: Rows, until: date) -> dict[int, float]:
    """Per post: views up to ``until``, or impressions for a post that never reports views."""
    out = defaultdict(float)
    for post, day, metric, value in inc.rows:
        if day <= until and (metric == "views" or (metric == "impressions" and post not in inc.views_posts)):
            out[post] += value
    return out


# --- KPIs ---------------------------------------------------------------------------------------

def test_kpis_equal_the_increment_rows_of_the_week_summed_by_hand(demo, w03):
    _, _, inc = demo
    this = plain_totals(inc, *W03)
    for key in ("views", "impressions", "engagements", "er_views", "er_impressions"):
        assert w03.kpi(key).value == pytest.approx(this[key], rel=1e-9), key


def test_counts_change_in_percent_and_rates_in_percentage_points(demo, w03):
    _, _, inc = demo
    this, last = plain_totals(inc, *W03), plain_totals(inc, *W02)
    views = w03.kpi("views")
    assert views.previous == pytest.approx(last["views"], rel=1e-9)
    assert views.change == pytest.approx((this["views"] - last["views"]) / last["views"] * 100, rel=1e-9)
    er = w03.kpi("er_views")
    assert er.change_unit == "pp"
    assert er.change == pytest.approx((this["er_views"] - last["er_views"]) * 100, rel=1e-9)
    assert f"{er.change:+.2f} pp" in summary.render_text(w03)


def test_posts_published_and_active_influencers_count_the_weeks_posts_in_the_campaign_timezone(demo, w03):
    frames, _, _ = demo
    week = [r for r in frames.posts.itertuples() if W03[0] <= local_publish_day(r.published_at) <= W03[1]]
    before = [r for r in frames.posts.itertuples() if W02[0] <= local_publish_day(r.published_at) <= W02[1]]
    assert w03.kpi("posts").value == len(week)
    assert w03.kpi("posts").previous == len(before)
    assert w03.kpi("active_influencers").value == len({r.influencer for r in week})


def test_reach_is_the_range_from_the_largest_post_to_the_undeduplicated_sum(demo, w03):
    frames, _, _ = demo
    end = datetime(2025, 1, 20, tzinfo=TZ).astimezone(timezone.utc)
    week = {r.post_pk for r in frames.posts.itertuples() if W03[0] <= local_publish_day(r.published_at) <= W03[1]}
    latest = {}
    for r in frames.snapshots.sort_values("captured_at").itertuples():
        if r.post_pk in week and r.captured_at.to_pydatetime() <= end:
            latest[r.post_pk] = r.reach
    reaches = [v for v in latest.values() if v == v]
    reach = w03.kpi("reach")
    assert (reach.value, reach.upper) == (pytest.approx(max(reaches)), pytest.approx(sum(reaches)))
    assert reach.change is None and "not deduplicated" in reach.label


def test_the_first_campaign_week_shows_no_change_rather_than_one_against_nothing(demo):
    frames, campaign, _ = demo
    s = summary.build_summary(frames, campaign, "2024-W51")
    assert all(k.change is None and k.previous is None for k in s.kpis)
    assert "rose" not in s.narrative and "fell" not in s.narrative


# --- partial weeks ------------------------------------------------------------------------------

def test_a_week_containing_today_is_partial_and_compared_with_the_same_weekdays(demo):
    frames, campaign, inc = demo
    s = summary.build_summary(frames, campaign, "2025-W03", today=date(2025, 1, 16))
    assert (s.days_covered, s.partial, s.partial_label) == (3, True, "partial (3/7 days)")
    this = plain_totals(inc, date(2025, 1, 13), date(2025, 1, 15))
    last = plain_totals(inc, date(2025, 1, 6), date(2025, 1, 8))
    assert s.kpi("views").value == pytest.approx(this["views"], rel=1e-9)
    assert s.kpi("views").previous == pytest.approx(last["views"], rel=1e-9)
    assert "partial (3/7 days)" in summary.render_text(s)
    assert "partial week (3/7 days)" in s.narrative
    assert "2025-01-06 to 2025-01-08" in s.compared_with


def test_the_last_week_of_a_campaign_ending_midweek_is_partial(demo):
    frames, campaign, _ = demo
    s = summary.build_summary(frames, dataclasses.replace(campaign, end=date(2025, 1, 22)), "2025-W04")
    assert s.partial_label == "partial (3/7 days)"
    assert s.covered_end == date(2025, 1, 22)
    assert "partial (3/7 days)" in summary.render_html(s)


# --- rankings and mix ---------------------------------------------------------------------------

def test_top_posts_are_the_weeks_posts_by_lifetime_views_at_the_weeks_end(demo, w03):
    frames, _, inc = demo
    basis = lifetime_basis(inc, W03[1])
    week = [r for r in frames.posts.itertuples() if W03[0] <= local_publish_day(r.published_at) <= W03[1]]
    expected = sorted(week, key=lambda r: -basis.get(r.post_pk, 0.0))[:5]
    # A post without a link (Douyin's export has none) is listed with an empty one.
    assert [p.url for p in w03.top_posts] == [r.url if isinstance(r.url, str) else "" for r in expected]
    assert [p.views for p in w03.top_posts] == pytest.approx([basis[r.post_pk] for r in expected])
    # Lifetime at the week's end, not the latest value: later growth must not count.
    later = lifetime_basis(inc, date(2025, 1, 26))
    assert any(later[r.post_pk] > basis[r.post_pk] + 1 for r in expected)


def test_top_influencers_are_ranked_by_the_weeks_views_with_their_platforms(demo, w03):
    frames, _, inc = demo
    post = {r.post_pk: r for r in frames.posts.itertuples()}
    by_inf, platforms = defaultdict(float), defaultdict(set)
    for pk, day, metric, value in inc.rows:
        if not W03[0] <= day <= W03[1]:
            continue
        # Every platform with activity in the week is listed, also one without views (Weibo).
        platforms[post[pk].influencer].add(post[pk].platform)
        if metric == "views" or (metric == "impressions" and pk not in inc.views_posts):
            by_inf[post[pk].influencer] += value
    top = sorted(by_inf, key=lambda k: -by_inf[k])[:5]
    assert [i.name for i in w03.top_influencers] == top
    first = w03.top_influencers[0]
    assert first.views == pytest.approx(by_inf[top[0]])
    assert len(first.platforms.split(", ")) == len(platforms[top[0]])


def test_the_platform_mix_shares_add_up_to_100_and_x_counts_impressions(w03):
    shares = {m.platform: m for m in w03.platform_mix}
    assert sum(m.share for m in w03.platform_mix) == pytest.approx(100)
    assert shares["x"].basis == "impressions" and shares["tiktok"].basis == "views"
    assert [m.views for m in w03.platform_mix] == sorted((m.views for m in w03.platform_mix), reverse=True)


def test_only_the_events_of_the_week_are_listed(w03):
    assert [e.label for e in w03.events] == ["Jin Hub market tour"]
    assert "Jin Hub market tour" in w03.narrative


# --- narrative ----------------------------------------------------------------------------------

def _with_views_change(s, change):
    kpis = tuple(dataclasses.replace(k, change=change) if k.key == "views" else k for k in s.kpis)
    return dataclasses.replace(s, kpis=kpis)


def test_the_narrative_never_claims_a_rise_under_half_a_percent(w03):
    text = summary.narrative(_with_views_change(w03, 0.49), {"views": {"tiktok": 100.0}})
    assert "held steady" in text and "rose" not in text.split(";")[0]


def test_the_narrative_names_the_platform_that_moved_views_most_in_the_same_direction(w03):
    drivers = {"views": {"tiktok": 900.0, "youtube": 1200.0, "instagram": -5000.0}}
    assert "Views rose 23% week over week, led by YouTube" in summary.narrative(_with_views_change(w03, 23.2), drivers)
    assert "Views fell 4.0% week over week, most of it on Instagram" in summary.narrative(
        _with_views_change(w03, -4.0), drivers)


def _percent(change: float) -> str:
    """How the narrative writes a change: whole percents from 10 up, one decimal below."""
    return f"{abs(change):.0f}%" if abs(change) >= 10 else f"{abs(change):.1f}%"


def test_the_demo_narrative_agrees_with_the_kpis(w03):
    views, er = w03.kpi("views"), w03.kpi("er_views")
    assert f"Views {'rose' if views.change > 0 else 'fell'} {_percent(views.change)}" in w03.narrative
    assert f"{abs(er.change):.1f} pp" in w03.narrative


# --- Chinese -------------------------------------------------------------------------------------

def _moved(s, views_change, er_value, er_change):
    kpis = tuple(dataclasses.replace(k, change=views_change) if k.key == "views"
                 else dataclasses.replace(k, value=er_value, change=er_change) if k.key == "er_views" else k
                 for k in s.kpis)
    return dataclasses.replace(s, kpis=kpis)


def test_the_narrative_reads_the_same_facts_in_english_and_in_chinese():
    s = _moved(summary.build_summary(tiny_frames(), TINY, "2025-W02"), 23.2, 0.054, -0.4)
    drivers = {"views": {"tiktok": 900.0, "youtube": 300.0}}
    assert summary.narrative(s, drivers) == (
        "Views rose 23% week over week, led by TikTok; engagement rate by views fell 0.4 pp to 5.4%. "
        "0 posts published by 0 influencers; top influencer Ann.")
    assert summary.narrative(s, drivers, "zh") == (
        "浏览量环比上升 23%，主要来自 TikTok；按浏览量计算的互动率下降 0.4 个百分点，至 5.4%。"
        "0 位达人发布了 0 条帖子；浏览量最高的达人：Ann。")


def test_a_chinese_summary_of_a_week_after_zero_views_says_new_in_chinese():
    s = summary.build_summary(tiny_frames(), TINY, "2025-W02", lang="zh")
    assert s.narrative == "浏览量：700，为本周新增（上周为零）。0 位达人发布了 0 条帖子；浏览量最高的达人：Ann。"
    assert s.kpi("views").change == "new"  # the data is the same as in English
    text = summary.render_text(s)
    assert re.search(r"浏览量\s+700\s+0\s+新增", text)
    assert "变化对比：2025年第1周。时区：Asia/Shanghai。" in text
    assert "US$14" in text and "$14 " not in text.replace("US$14", "")


def test_the_demo_narrative_in_chinese_names_platforms_and_events_in_chinese(w03):
    zh = summary.narrative(w03, w03.drivers, "zh")
    views, er = w03.kpi("views"), w03.kpi("er_views")
    assert zh.startswith(f"浏览量环比{'上升' if views.change > 0 else '下降'} {_percent(views.change)}")
    assert f"{abs(er.change):.1f} 个百分点" in zh
    assert "活动事件：金枢市场探访（2025年1月18日）。" in zh  # label_zh of campaign.toml
    assert not re.search(r"\b(rose|fell|led by|posts|Events)\b", zh)
    assert "Jin Hub market tour" in summary.narrative(w03, w03.drivers, "en")


def test_the_chinese_text_report_keeps_its_columns_aligned_in_terminal_columns(w03):
    text = summary.render_text(w03, "zh")
    block = text.split("关键指标\n")[1].split("\n\n")[0].splitlines()
    assert len({summary._width(line) for line in block}) == 1  # CJK characters take two columns each
    assert "互动率（按浏览量）" in block[5] and "个百分点" in block[5]


def test_the_chinese_html_report_is_chinese_and_the_same_summary_still_renders_in_english(w03):
    en = summary.render_html(w03)
    zh_summary = dataclasses.replace(w03, lang="zh", narrative=summary.narrative(w03, w03.drivers, "zh"))
    zh = summary.render_html(zh_summary)
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    for heading in ("关键指标", "浏览量或展示次数前 5 名达人", "本周发布的前 5 条帖子", "平台构成", "活动事件"):
        assert f"<h2>{heading}</h2>" in zh
    assert "变化对比：2025年第2周。" in zh and "每周总结 <strong>2025-W03</strong>，2025-01-13 至 2025-01-19" in zh
    assert "<td>展示次数</td>" in zh  # X is counted by impressions, in words
    assert summary.render_html(zh_summary, "en") == en  # a summary is data: either language renders from it
    assert not re.search(r"<script|<link|@import|src=|url\(", zh, re.I)


def test_the_chinese_html_escapes_text_from_the_data():
    frames = tiny_frames(title="<script>alert(1)</script>", influencer='Eve "<b>"')
    page = summary.render_html(summary.build_summary(frames, TINY, "2025-W01", lang="zh"))
    assert "<script" not in page and "<b>" not in page and "&lt;script&gt;" in page
    assert "Tiny &lt;campaign&gt;" in page


def test_reach_summary_lang_zh_prints_the_chinese_summary(demo_db, capsys):
    from dashboard.cli import main

    assert main(["summary", "--db", f"sqlite:///{demo_db}", "--config", str(ROOT / "campaign.toml"),
                 "--week", "2025-W03", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    # campaign.toml's name_zh titles the Chinese summary
    assert out.startswith("2024“一带一路”“金”枢纽网络国际传播活动\n") and "每周总结 2025-W03：2025-01-13 至 2025-01-19" in out
    assert "浏览量环比" in out and "Weekly summary" not in out


# --- a week after a week with zero views ----------------------------------------------------------

def tiny_frames(title="Market day", url="https://www.youtube.com/watch?v=abc", influencer="Ann"):
    """One YouTube post with daily rows: 0 views (but likes) in 2025-W01, 100 views a day in W02."""
    posts = pd.DataFrame([dict(post_pk=1, platform="youtube", post_id="abc", account="ann", account_pk=1,
                               influencer=influencer, category="creator",
                               published_at=pd.Timestamp("2024-12-30T02:00Z"), url=url, title=title,
                               post_type="video")])
    rows = []
    for i in range(14):
        day = pd.Timestamp(date(2024, 12, 30) + timedelta(days=i))
        rows.append({"post_pk": 1, "day": day, **{m: float("nan") for m in METRICS},
                     "views": 0.0 if i < 7 else 100.0, "likes": 5.0 if i < 7 else 10.0})
    days = pd.DataFrame(rows)
    snaps = pd.DataFrame(columns=["post_pk", "platform", "published_at", "captured_at", *METRICS])
    adays = pd.DataFrame(columns=["platform", "account", "account_pk", "day", *METRICS])
    return Frames(posts, snaps, days, adays)


TINY = config.Campaign(name="Tiny <campaign>", timezone="Asia/Shanghai", start=date(2024, 12, 30),
                       end=date(2025, 1, 12), cpm={"youtube": 20.0})


def test_a_count_that_was_zero_last_week_is_new_not_an_infinite_percentage():
    s = summary.build_summary(tiny_frames(), TINY, "2025-W02")
    assert s.kpi("views").value == 700 and s.kpi("views").previous == 0
    assert s.kpi("views").change == "new"
    assert s.kpi("engagements").change == pytest.approx(100.0)
    assert s.kpi("posts").change == pytest.approx(-100.0)
    assert "new this week" in s.narrative and "rose" not in s.narrative
    assert re.search(r"Views\s+700\s+0\s+new", summary.render_text(s))


# --- rendering ----------------------------------------------------------------------------------

def test_the_text_version_has_aligned_columns_thousands_separators_and_iso_dates(w03):
    text = summary.render_text(w03)
    assert "2025-01-13 to 2025-01-19" in text
    assert f"{w03.kpi('views').value:,.0f}" in text and "," in f"{w03.kpi('views').value:,.0f}"
    kpi_block = text.split("KPIs\n")[1].split("\n\n")[0].splitlines()
    assert len({len(line) for line in kpi_block}) == 1  # the right-aligned change column ends in one place


def test_the_html_page_loads_nothing_from_anywhere(w03):
    page = summary.render_html(w03)
    assert len(page.encode()) < 5_000_000
    without_links = re.sub(r'<a href="[^"]*"', "<a", page)
    assert "http://" not in without_links and "https://" not in without_links
    assert not re.search(r"<script|<link|@import|src=|url\(", page, re.I)


def test_the_html_page_prints_on_a4_without_splitting_tables(w03):
    page = summary.render_html(w03)
    assert re.search(r"@page\s*\{[^}]*size:\s*A4[^}]*margin", page)
    assert re.search(r"@media print\{[^@]*table[^{]*\{[^}]*page-break-inside:avoid", page)


def test_the_platform_mix_draws_each_share_as_a_bar_in_its_row_the_largest_full_width(w03):
    page = summary.render_html(w03)
    mix = page.split("<h2>Platform mix</h2>")[1].split("</table>")[0]
    widths = [float(w) for w in re.findall(r'<td class="bar" aria-hidden="true"><span style="width:([\d.]+)%', mix)]
    shares = [m.share for m in w03.platform_mix]
    assert len(widths) == len(shares) and widths[0] == 100.0  # the mix is sorted by share, largest first
    assert widths == pytest.approx([100 * x / shares[0] for x in shares], abs=0.06)
    assert "<svg" not in page  # the bars are the chart: no second, taller drawing of the same numbers


def test_the_html_footer_names_the_timezone_and_the_emv_formula(w03):
    footer = summary.render_html(w03).split("<footer>")[1]
    assert "Asia/Shanghai" in footer and "emv-v1" in footer


def test_the_html_escapes_text_from_the_data_and_links_only_web_urls():
    frames = tiny_frames(title="<script>alert(1)</script> & co", url="javascript:alert(2)",
                         influencer='Eve "<b>" Smith')
    page = summary.render_html(summary.build_summary(frames, TINY, "2025-W01"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "<script" not in page and "<b>" not in page
    assert "Tiny &lt;campaign&gt;" in page
    assert "javascript:" not in page
    safe = summary.render_html(summary.build_summary(tiny_frames(), TINY, "2025-W01"))
    assert '<a href="https://www.youtube.com/watch?v=abc"' in safe


class _Texts(HTMLParser):
    """The page's text pieces and attribute values as a browser reads them (entities decoded once)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.attrs += [v for _, v in attrs if v is not None]

    def handle_data(self, data):
        self.texts.append(data)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_hostile_text_is_escaped_exactly_once_wherever_the_report_shows_it(lang):
    # Escaped twice, a reader would see "&amp;" or "&lt;"; not at all, the markup would be live.
    title, who, url = "<i>it's</i> \"q\" & co", "O'Neil & <Sons> \"Ltd\"", "https://x.com/a?b=1&c=\"2\"&d='3'"
    campaign = dataclasses.replace(TINY, name="Tiny & <Co> \"Ltd\"")
    page = summary.render_html(summary.build_summary(tiny_frames(title=title, url=url, influencer=who), campaign,
                                                     "2025-W01", lang=lang))
    parsed = _Texts()
    parsed.feed(page)
    assert title in parsed.texts and who in parsed.texts and url in parsed.attrs
    assert campaign.name in parsed.texts  # the heading
    assert any(who in text for text in parsed.texts if text != who)  # the narrative names the top influencer
    assert "<i>" not in page and "<Sons>" not in page and "&amp;amp;" not in page and "&amp;lt;" not in page
    assert all("&amp;" not in text and "&lt;" not in text for text in parsed.texts + parsed.attrs)


# --- bad week labels ----------------------------------------------------------------------------

@pytest.mark.parametrize("label", ["2025-13", "2025-W54", "last week", "2026-W01", "2024-W50"])
def test_a_bad_or_missing_week_is_an_error_naming_the_weeks_with_data(demo, label):
    frames, campaign, _ = demo
    with pytest.raises(ReachError) as e:
        summary.build_summary(frames, campaign, label)
    assert "2024-W51" in str(e.value) and "2025-W04" in str(e.value)


def test_a_lowercase_week_label_is_accepted(demo):
    frames, campaign, _ = demo
    assert summary.build_summary(frames, campaign, "2025-w02").week == "2025-W02"


def test_summary_html_into_a_folder_that_does_not_exist_is_a_one_line_error(demo_db, tmp_path, capsys):
    from dashboard.cli import main

    args = ["summary", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"), "--week", "2025-W01"]
    assert main(args + ["--html", str(tmp_path / "nope" / "w01.html")]) == 1
    err = capsys.readouterr().err
    assert "cannot write there" in err and "Traceback" not in err
    assert main(args + ["--html", str(tmp_path / "w01.html")]) == 0
    assert "<html" in (tmp_path / "w01.html").read_text(encoding="utf-8").lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w01.html"]  # no temporary file left


def _pdf_text(path) -> tuple[int, str]:
    """(pages, text) of a PDF file, the text NFKC and without whitespace (a PDF reads CJK glyphs
    back as Kangxi radicals and puts spaces between them)."""
    import unicodedata

    pypdf = pytest.importorskip("pypdf", reason="pypdf (the test extra) reads the PDF back: pip install pypdf")
    reader = pypdf.PdfReader(path)
    text = "".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.mark.parametrize("lang, title", [("en", "Weekly summary 2025-W03"), ("zh", "每周总结 2025-W03")])
def test_reach_summary_pdf_writes_the_weeks_report_on_at_most_two_a4_pages(demo_db, tmp_path, capsys, lang, title):
    from dashboard.cli import main

    pytest.importorskip("weasyprint", reason="WeasyPrint writes the PDF: pip install weasyprint")
    out = tmp_path / "w03.pdf"
    assert main(["summary", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"), "--week", "2025-W03",
                 "--lang", lang, "--pdf", str(out)]) == 0
    assert capsys.readouterr().err.strip() == f"wrote {out}"
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages, text = _pdf_text(out)
    assert 1 <= pages <= 2
    assert re.sub(r"\s+", "", title) in text and "Asia/Shanghai" in text  # the title line and the footer
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w03.pdf"]  # no temporary file left


def test_reach_summary_pdf_without_weasyprint_is_a_one_line_error_and_writes_nothing(demo_db, tmp_path, capsys,
                                                                                      monkeypatch):
    import sys

    from dashboard.cli import main

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if it were not installed: import fails
    out = tmp_path / "w03.pdf"
    assert main(["summary", "--db", str(demo_db), "--config", str(ROOT / "campaign.toml"), "--week", "2025-W03",
                 "--pdf", str(out)]) == 1
    err = capsys.readouterr().err
    assert "WeasyPrint" in err and "pip install weasyprint" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_data_only_outside_the_campaigns_dates_is_said_so_not_no_data_yet(demo_db, tmp_path, capsys):
    """Data stored, but a campaign.toml of other dates: "no data yet" would send the user to
    import files that are already there."""
    import sqlite3

    from dashboard.cli import main

    db = tmp_path / "reach.db"  # a copy: the rollups are recomputed for the other campaign
    with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    other = tmp_path / "campaign.toml"
    other.write_text('[campaign]\nname = "Another"\ntimezone = "Asia/Shanghai"\nstart = 2023-03-06\nend = 2023-04-02\n',
                     encoding="utf-8")
    assert main(["summary", "--db", str(db), "--config", str(other)]) == 1
    err = capsys.readouterr().err
    assert "no data in the campaign's dates (2023-03-06 to 2023-04-02" in err and "no data yet" not in err
    assert "stored data run from 2024-12-" in err and "Traceback" not in err

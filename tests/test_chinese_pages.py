"""The Chinese pages say the campaign's own name and the EMV formula in Chinese (issue 12): an
optional ``name_zh`` in campaign.toml, used on every page's header and in the weekly summary when
the language is Chinese; without it, the name as written."""
from __future__ import annotations

import dataclasses

from collectors.store import database
from dashboard.analysis import config, summary
from dashboard.text import i18n
from dashboard.web import layout
from dashboard.web import filters as F
from dashboard.web.app import create_app
from test_summary import TINY, tiny_frames

from conftest import ROOT

NAME_ZH = "2024“一带一路”“金”枢纽网络国际传播活动"


def test_the_repositorys_campaign_has_its_chinese_name_and_either_language_falls_back_to_the_name():
    c = config.load(ROOT / "campaign.toml")
    assert c.name_zh == NAME_ZH and c.title("zh") == NAME_ZH
    assert c.title("en") == c.name == '2024 Belt and Road "Jin" Hub Online International Communication Campaign'
    bare = config.from_dict({"campaign": {"name": "Spring push"}})
    assert bare.name_zh == "" and bare.title("zh") == "Spring push"


def test_the_chinese_summary_has_the_chinese_name_and_formula_and_the_english_one_the_english():
    campaign = dataclasses.replace(TINY, name="Tiny campaign", name_zh="小活动 <测试>")
    s = summary.build_summary(tiny_frames(), campaign, "2025-W02", lang="zh")
    html = summary.render_html(s)
    assert "<h1>小活动 &lt;测试&gt;</h1>" in html and "<title>小活动 &lt;测试&gt;" in html  # escaped, as data
    assert "EMV 公式：emv-v1：浏览量 × CPM ÷ 1000（平台不提供浏览量时用展示次数）。" in html
    assert "views x CPM" not in html
    text = summary.render_text(s)
    assert text.startswith("小活动 <测试>\n") and "EMV 公式：emv-v1：浏览量 × CPM ÷ 1000" in text
    en = summary.render_html(s, "en")
    assert "<h1>Tiny campaign</h1>" in en and f"EMV formula: {config.EMV_FORMULA_VERSION}." in en
    assert i18n.emv_formula("emv-v9: set by hand", "zh") == "emv-v9: set by hand"  # unknown: as it is


def test_every_page_header_names_the_campaign_in_the_pages_language(sqlite_url, tmp_path):
    toml = tmp_path / "campaign.toml"
    toml.write_text((ROOT / "campaign.toml").read_text(encoding="utf-8"), encoding="utf-8")
    engine = database.connect(sqlite_url)
    app = create_app(engine)
    app.server.config["REACH_CONFIG"] = str(toml)
    with app.server.test_request_context("/"):
        def name(lang):
            head = layout.header(F.parse(f"?lang={lang}"), "/")
            return next(c for c in head.children if getattr(c, "id", None) == "campaign-name").children

        assert name("zh") == NAME_ZH
        assert name("en").startswith("2024 Belt and Road")
    engine.dispose()

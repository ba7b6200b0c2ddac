"""One definition per concept (issue 13): the campaign's default timezone is named once, and every
part that falls back to it (campaign.toml without one, the importer, a parse, the API collectors,
the Data page's uploads, `reach rebuild`'s replay) falls back to the same zone."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

from collectors.api.run import Runner
from collectors.model import DEFAULT_TIMEZONE
from collectors.parse import Context
from collectors.pipeline import Importer
from dashboard.analysis import config
from dashboard.web.pages import data as data_page

ROOT = Path(__file__).resolve().parents[1]


def _default(func, name: str):
    return inspect.signature(func).parameters[name].default


def test_everything_that_falls_back_to_a_timezone_falls_back_to_the_campaigns_default():
    assert DEFAULT_TIMEZONE == "Asia/Shanghai"  # the reference campaign's (Yiwu)
    assert config.Campaign().timezone == config.from_dict({}).timezone == DEFAULT_TIMEZONE
    assert str(Context("x.csv").tz) == DEFAULT_TIMEZONE
    for func, name in ((Importer.__init__, "tz"), (Runner.__init__, "tz"), (data_page.import_uploads, "tz"),
                       (data_page.import_with_mapping, "tz")):
        assert _default(func, name) == DEFAULT_TIMEZONE, func


def test_the_default_timezone_is_written_out_in_one_place():
    pending: set[str] = set()
    found = sorted(str(p.relative_to(ROOT)) for folder in ("collectors", "dashboard") for p in (ROOT / folder).rglob("*.py")
                   if re.search(r"[\"']Asia/Shanghai[\"']", p.read_text(encoding="utf-8")))
    assert [p for p in found if p not in pending] == ["collectors/model.py"]

"""The docs stay true to the code: every report and platform page is documented and linked."""
from __future__ import annotations

from collectors.registry import reports

from conftest import ROOT

DOCS = ROOT / "docs"


def test_every_registered_report_is_documented_on_its_platform_page():
    index = (DOCS / "platforms.md").read_text(encoding="utf-8")
    for r in reports():
        module = r.parse.__module__.rsplit(".", 1)[-1]
        page = DOCS / "platforms" / f"{module}.md"
        assert page.exists(), f"{page} is missing"
        assert f"platforms/{module}.md" in index, f"docs/platforms.md does not link {page.name}"
        assert r.name in page.read_text(encoding="utf-8"), f"{r.name} is not described in {page}"


def test_architecture_names_modules_that_exist():
    import re

    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    for path in set(re.findall(r"(?:collectors|dashboard)/[a-z_]+\.py", text)):
        assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which does not exist"

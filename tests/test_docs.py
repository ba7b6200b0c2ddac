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
    for path in set(re.findall(r"(?:collectors|dashboard)/[a-z_/]+\.py", text)):
        assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which does not exist"


def test_every_test_named_in_the_security_table_exists():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "security.md").read_text(encoding="utf-8")
    named = re.findall(r"(tests/[\w/]+\.py)::([\w]+)", text)
    assert len(named) > 30
    missing = []
    for path, name in named:
        source = (root / path).read_text(encoding="utf-8")
        if not re.search(rf"def {re.escape(name)}\(", source):
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"

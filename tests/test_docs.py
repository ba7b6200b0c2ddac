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


def test_every_environment_variable_the_code_reads_is_in_the_deployment_guide():
    import re

    # Names that look like variables but are not read from the environment: a text constant, the
    # Flask config keys of the app, and prefixes in comments or messages ("REACH_MAX_*").
    not_env = {"REACH_NOTE", "REACH_DB_URL", "REACH_CACHE_PREFIX", "REACH_MAX_",
               "REACH_LOGIN_", "REACH_X"}
    found = set()
    for folder in ("collectors", "dashboard"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r"REACH_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    guide = (DOCS / "deploy.md").read_text(encoding="utf-8")
    missing = sorted(v for v in found - not_env if f"`{v}`" not in guide)
    assert not missing, f"docs/deploy.md does not list {missing}"

"""The direction of imports (docs/architecture.md), as import-linter contracts in pyproject.toml."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def _lint_imports() -> str:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed: `make .venv/.installed-test` installs the test extras")
    return found


def test_the_import_contracts_hold():
    r = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for contract in ("collectors never imports dashboard", "analysis never imports web",
                     "text imports neither analysis nor web", "analysis and text never import a web framework",
                     "analysis and text never import the commands", "web never imports the commands",
                     "pages import services, never other pages", "downloads never imports pages"):
        assert f"{contract} KEPT" in r.stdout, r.stdout


def test_a_broken_contract_fails(tmp_path):
    """The check can fail: the same contract with the direction reversed is broken today."""
    cfg = tmp_path / "contracts.toml"
    cfg.write_text('[tool.importlinter]\nroot_packages = ["collectors", "dashboard"]\n\n'
                   '[[tool.importlinter.contracts]]\nname = "dashboard never imports collectors"\n'
                   'type = "forbidden"\nsource_modules = ["dashboard"]\nforbidden_modules = ["collectors"]\n')
    r = subprocess.run([_lint_imports(), "--no-cache", "--config", str(cfg)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode != 0 and "BROKEN" in r.stdout, r.stdout + r.stderr

"""The analysts' notebooks run top to bottom against the demo campaign, and say the right things.

Every notebook in notebooks/ is executed in a fresh kernel of the interpreter running the tests
(a kernelspec written to a temporary folder, so no global `ipykernel install` is needed and a
fresh venv works), with REACH_DB pointing at a demo campaign built once for this module. A cell
that raises fails the test with the cell and its traceback.
"""
from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the test extra (nbformat, nbclient, ipykernel) is not installed")
nbclient = pytest.importorskip("nbclient", reason="the test extra (nbformat, nbclient, ipykernel) is not installed")
pytest.importorskip("ipykernel", reason="the test extra (nbformat, nbclient, ipykernel) is not installed")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402  (installed with nbclient)
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "campaign-reach-test"


@pytest.fixture(scope="module")
def demo(demo_db, tmp_path_factory):
    """The shared demo campaign database, and a folder of this module's own: (url, folder)."""
    return f"sqlite:///{demo_db}", tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="module")
def kernel_dir(demo):
    """A kernelspec for this interpreter, with the demo database in its environment."""
    url, tmp = demo
    spec = tmp / "kernels" / KERNEL
    spec.mkdir(parents=True)
    env = {
        "REACH_DB": url,
        "REACH_CONFIG": str(ROOT / "campaign.toml"),  # the demo campaign's config, whatever the shell says
        "PYTHONPATH": str(ROOT),  # the project even when it is not installed into the interpreter
        "IPYTHONDIR": str(tmp / "ipython"),  # no profile or startup file of the user's
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Campaign Reach (tests)", "language": "python", "env": env,
    }), encoding="utf-8")
    return tmp / "kernels"


@pytest.fixture(scope="module")
def run(kernel_dir):
    """Executes a notebook once (cached for the module) and returns it with its outputs."""
    done = {}

    def execute(path: Path):
        if path not in done:
            nb = nbformat.read(path, as_version=4)
            km = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
            km.connection_file = str(kernel_dir / f"{path.stem}-connection.json")
            client = nbclient.NotebookClient(nb, km=km, timeout=120, startup_timeout=60, allow_errors=False,
                                             resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
            client.execute(cleanup_kc=True)  # we own the kernel manager: shut the kernel down after
            done[path] = nb
        return done[path]

    return execute


def _text(cell) -> str:
    """Everything a cell printed or displayed as text."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
            parts.append(out["data"].get("text/html", ""))
    return "\n".join(parts)


def _tagged(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} >= {"weekly_summary.ipynb", "exploration.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_clean(path):
    """nbformat 4, valid, no stored outputs: the notebooks in git are code, not results."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: a cell has stored outputs"
    assert any("open_campaign()" in c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, run):
    nb = run(path)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o["output_type"] == "error"]
        assert not errors, f"{path.name}, cell {i}: {errors[0]['ename']}: {errors[0]['evalue']}"
        assert cell.execution_count is not None, f"{path.name}, cell {i} did not run"


def test_weekly_summary_prints_the_engines_week(run, demo):
    from dashboard.notebook import open_campaign

    url, _ = demo
    weeks = open_campaign(db=url, config=ROOT / "campaign.toml").weekly()
    last = weeks[~weeks["partial"]].iloc[-1]
    text = _text(_tagged(run(NOTEBOOK_DIR / "weekly_summary.ipynb"), "kpis"))
    assert f"Week {last['week']}:" in text
    assert f"{last['views']:,.0f}" in text  # the engine's number, as printed
    assert "not deduplicated" in text


def test_exploration_labels_reach_as_a_range(run):
    nb = run(NOTEBOOK_DIR / "exploration.ipynb")
    everything = "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert "not deduplicated" in everything
    assert " – " in everything  # max – sum ranges, never a single summed reach
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) >= 2  # the reach ranges and the views over time


def test_open_campaign_finds_the_project_from_a_subfolder(demo, monkeypatch):
    """Run from notebooks/, as Jupyter does: campaign.toml is found in the folder above."""
    from dashboard.analysis import metrics
    from dashboard.notebook import open_campaign

    url, _ = demo
    monkeypatch.chdir(NOTEBOOK_DIR)
    monkeypatch.setenv("REACH_DB", url)
    monkeypatch.delenv("REACH_CONFIG", raising=False)
    c = open_campaign()
    assert c.campaign.start is not None and c.config_path == str(ROOT / "campaign.toml")
    monday = metrics.week_start("2025-W02")
    sel = metrics.Selection(start=monday, end=monday + timedelta(days=6), platforms=("instagram",))
    direct = metrics.weekly_table(metrics.increments(c.frames.snapshots, c.frames.post_days, c.campaign),
                                  c.frames.posts, c.campaign, by=["influencer"], sel=sel)
    via = c.weekly(by=["influencer"], week="2025-W02", platforms="instagram")
    assert via.equals(direct)

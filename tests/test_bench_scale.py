"""bench/scale.py and its generator: the generated campaign is what it says it is, and the
exponent fitter and the doc writer are right. No timings are asserted (they belong to bench/)."""
from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402
import scale_data  # noqa: E402


def _counts(engine) -> dict:
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar()
                for t in ("accounts", "posts", "post_snapshots", "post_days", "account_days")}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "manifest.json":  # the manifest holds the generation time
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale") / "c"
    return folder, scale_data.write_campaign(folder, 0.05)


def test_tiny_campaign_imports_with_the_counts_the_generator_wrote(campaign, db_url, tmp_path):
    from collectors.archive import Archive
    from collectors.pipeline import Importer
    from collectors.roster import import_roster
    from collectors.store.database import connect

    folder, m = campaign
    assert set(m.by_platform) == {"x", "youtube", "facebook", "instagram"}
    assert all(v["files"] and v["posts"] for v in m.by_platform.values())
    engine = connect(db_url)
    try:
        archive = Archive(tmp_path / "archive")
        results = Importer(engine, archive).import_paths([folder / "exports"])
        assert [r.line() for r in results if r.status != "imported" or r.rejected or r.unknown_account] == []
        assert len(results) == m.files
        got = _counts(engine)
        assert got == {"accounts": m.accounts, "posts": m.posts, "post_snapshots": m.snapshots,
                       "post_days": m.post_days, "account_days": m.account_days}
        assert m.observations == m.snapshots + m.post_days + m.account_days > 0
        # The roster names the accounts the files created: it links them and creates none.
        roster = folder / "roster.csv"
        _, c = import_roster(engine, archive, roster.name, roster.read_bytes())
        assert c["accounts_created"] == 0 and c["accounts_linked"] == m.accounts - m.by_platform["youtube"]["accounts"]
    finally:
        engine.dispose()


def test_the_generator_is_deterministic_and_scales(campaign, tmp_path):
    folder, m = campaign
    again = scale_data.write_campaign(tmp_path / "again", 0.05)
    assert again.to_dict() | {"seconds": 0} == m.to_dict() | {"seconds": 0}
    assert _digest(tmp_path / "again") == _digest(folder)
    # 4x the scale, about 4x everything (at tiny scales each platform keeps one account and one portfolio).
    small, bigger = (scale_data.write_campaign(tmp_path / f"s{k}", k) for k in (0.25, 1))
    for k in ("files", "accounts", "posts", "observations"):
        assert 3 < getattr(bigger, k) / getattr(small, k) < 5, k


def test_fixed_cases_write_what_they_say(tmp_path, sqlite_url):
    from collectors.pipeline import Importer
    from collectors.store.database import connect

    folder = scale_data.write_x_folder(tmp_path / "folder", 3, posts_per_file=40)
    big = scale_data.write_x_file(tmp_path / "big", 1000, chunk=300)  # chunks must not repeat ids
    assert (folder.files, folder.posts, big.files, big.posts) == (3, 120, 1, 1000)
    engine = connect(sqlite_url)
    try:
        res = Importer(engine, None).import_paths([tmp_path / "folder", tmp_path / "big"])
        assert [r.status for r in res] == ["imported"] * 4 and not any(r.rejected for r in res)
        got = _counts(engine)
        assert (got["posts"], got["post_snapshots"]) == (1120, 1120)
    finally:
        engine.dispose()


@pytest.mark.parametrize("power", [0.5, 1.0, 1.1, 2.0])
def test_exponent_fitter_finds_the_power(power):
    sizes = [10_000, 100_000, 1_000_000]
    times = [3e-6 * s ** power for s in sizes]
    assert scale.fit_exponent(sizes, times) == pytest.approx(power)
    assert scale.fit_exponent(sizes[1:], times[1:]) == pytest.approx(power)


def test_exponent_fitter_least_squares_and_gaps():
    # Noisy points: the least-squares slope, not the end points' slope.
    xs, ys = [1, 10, 100], [1.0, 20.0, 100.0]
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / 3, sum(ly) / 3
    want = sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)
    assert scale.fit_exponent(xs, ys) == pytest.approx(want)
    assert scale.fit_exponent(xs, [1.0, None, 100.0]) == pytest.approx(1.0)  # a timeout has no time
    assert scale.fit_exponent([1, 10], [1.0, None]) is None
    assert scale.fit_exponent([5, 5], [1.0, 2.0]) is None


def test_percentile_interpolates_like_numpy():
    assert scale.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == pytest.approx(9.55)
    assert scale.percentile([0.2], 95) == 0.2


def test_payload_of_a_multi_output_callback():
    dep = {"output": "..inf-detail.children...inf-focus.data..",
           "inputs": [{"id": "inf-grid", "property": "selectedRows"}],
           "state": [{"id": "url", "property": "search"}, {"id": "inf-focus", "property": "data"}]}
    body = scale.Pages.payload(dep, {("inf-grid", "selectedRows"): [{"influencer": "A"}], ("url", "search"): "?x"})
    assert body["outputs"] == [{"id": "inf-detail", "property": "children"}, {"id": "inf-focus", "property": "data"}]
    assert body["inputs"] == [{"id": "inf-grid", "property": "selectedRows", "value": [{"influencer": "A"}]}]
    assert body["state"][1] == {"id": "inf-focus", "property": "data", "value": None}
    one = scale.Pages.payload({"output": "url.search@abc", "inputs": [{"id": "posts-q", "property": "value"}],
                               "state": []}, {("posts-q", "value"): "q"})
    assert one["outputs"] == {"id": "url", "property": "search@abc"}
    assert scale._new_search({"response": {"url": {"search@abc": "?q=q"}}}) == "?q=q"


def test_write_doc_replaces_only_its_block(tmp_path, monkeypatch):
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nkeep me\n", encoding="utf-8")
    monkeypatch.setattr(scale, "DOC", doc)
    scale.write_doc("| a |\n")
    scale.write_doc("| b |\n")
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nkeep me\n")
    assert text.count(scale.MARK_BEGIN) == 1 and "| b |" in text and "| a |" not in text
    doc.write_text(text + "\nafter\n", encoding="utf-8")
    scale.write_doc("| c |\n")
    assert doc.read_text(encoding="utf-8").endswith("| c |\n\n" + scale.MARK_END + "\n\nafter\n")

"""bench/load.py: a few seconds of its load test on a tiny campaign account for every row sent and
every request kind, it talks to loopback only, and its doc writer keeps each setup's table apart.
No timings are asserted (they belong to bench/)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402

KINDS = {"Live: layout", "Live: refresh, redrawn", "Influencers: layout", "Influencers: row click",
         "Posts: layout", "Posts: grid rows", "Posts: search box", "Posts: layout, searched",
         "Posts: grid rows, searched"}


def test_a_short_run_stores_every_row_sent_and_reports_every_request_kind(tmp_path, monkeypatch):
    # 2 viewers for 8 s, a file of 20 posts every 0.5 s, Live refreshed every 1.5 s: each viewer
    # goes through the whole cycle at least once, and the refresh sees the data change (the stream
    # publishes every second here, not every 10). Flask's server (--workers 0): one process starts
    # faster than gunicorn's three.
    monkeypatch.setenv("REACH_PUBLISH_EVERY", "1")
    args = load.parse_args(["--scale", "0.05", "--viewers", "2", "--duration", "8", "--think", "0.2",
                            "--import-every", "0.5", "--import-rows", "20", "--refresh-every", "1.5",
                            "--no-warmup", "--drain", "60", "--workers", "0", "--work", str(tmp_path / "w")])
    result = load.run(args)

    sent, stored = result["sent"], result["stored"]
    assert result["importer_error"] is None
    assert sent["files"] >= 6 and sent["posts"] == sent["snapshots"] == 20 * sent["files"]
    # Counted in the database after the inbox drained: every streamed post and snapshot, once.
    assert result["pending_after_drain"] == 0
    assert result["files"] == {"processed": sent["files"], "failed": 0, "failures": []}
    assert stored["posts"] == stored["distinct_posts"] == sent["posts"]
    assert stored["snapshots"] == sent["snapshots"]
    assert stored["all_posts"] == result["campaign"]["posts"] + sent["posts"]
    assert load.accounting(result) == dict(lost_posts=0, doubled_posts=0, lost_snapshots=0, doubled_snapshots=0)

    keys = load.per_key(result)
    assert KINDS <= set(keys) and any(k.startswith("download ") for k in keys), sorted(keys)
    assert [(k, r["first_error"]) for k, r in keys.items() if r["errors"]] == []
    assert all(r["n"] >= 1 and 0 < r["p50"] <= r["p95"] <= r["max"] for r in keys.values())
    assert result["peak_mb"]["web 1"] and result["peak_mb"]["reach watch"]

    text = load.render(result, "bench/load.py --viewers 2")
    assert all(f"| {k} |" in text for k in keys)
    assert "0 lost, 0 doubled" in text and "Errors: **0**" in text
    assert not list((tmp_path / "w" / "inbox").glob("*.csv"))


def test_the_load_test_refuses_any_address_but_loopback():
    assert load.loopback_only("http://127.0.0.1:8050", "web") == "http://127.0.0.1:8050"
    assert load.loopback_only("redis://localhost:6379/0", "--redis")
    for url in ("http://10.0.0.5:8050", "redis://redis.example.com:6379/0", "http://0.0.0.0:80", "postgresql://db/x"):
        with pytest.raises(SystemExit, match="only talks to 127.0.0.1"):
            load.loopback_only(url, "target")
    with pytest.raises(SystemExit):
        load.parse_args(["--redis", "redis://10.1.2.3:6379/0"])
    with pytest.raises(SystemExit):
        load.parse_args(["--viewers", str(load.MAX_VIEWERS + 1)])


def _result(mode: str) -> dict:
    return dict(mode=mode)


def test_the_doc_keeps_one_table_per_setup_under_one_heading(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Scale\n\ntext\n", encoding="utf-8")
    load.write_doc(_result("sqlite"), "SQLITE ONE", doc)
    load.write_doc(_result("pg"), "PG ONE", doc)
    load.write_doc(_result("sqlite"), "SQLITE TWO", doc)
    text = doc.read_text(encoding="utf-8")
    assert text.count(load.HEADING) == 1 and text.index("## Scale") < text.index(load.HEADING)
    assert "SQLITE ONE" not in text and text.count("SQLITE TWO") == 1 and text.count("PG ONE") == 1
    assert text.index("### SQLite, one web process") < text.index("SQLITE TWO") < text.index("### PostgreSQL")
    # A section after the heading stays after it, untouched.
    doc.write_text(text + "\n## Later\n\nmore\n", encoding="utf-8")
    load.write_doc(_result("pg"), "PG TWO", doc)
    text = doc.read_text(encoding="utf-8")
    assert "PG ONE" not in text and text.index("PG TWO") < text.index("## Later") and text.endswith("more\n")

"""The anomaly detector scored against the truth: the demo campaign plants known events (bought
views, a viral post, a stalled account, a deleted post, a follower jump; collectors/demo/campaign.py) and
writes them to anomalies-truth.json beside its exports. Imported like any campaign, the flags must
find them (recall) and be mostly about them (precision), on the demo's seed and on five others.

What counts as a hit (docs/anomalies.md): a flag on the event's influencer and platform whose day
is within one day of a day of the event, or of the day the exports first show it (a deleted post
is seen only in the next export after it went). The scores, and the command that printed them, are
in docs/anomalies.md; run this file with ``-s`` to print them again."""
from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT

# The demo's own seed first. Each other seed builds a demo anew (about 40-50 s): the default run
# scores the demo's seed only, so the whole suite stays under its 10-minute budget on 2 cores;
# REACH_ALL_SEEDS=1 scores all five (docs/anomalies.md quotes that run).
SEEDS = (2024, 1, 2, 3, 4, 5) if os.environ.get("REACH_ALL_SEEDS") else (2024,)
MIN_PRECISION = MIN_RECALL = 0.8
MAX_FLAGS = 20  # six weeks of a 40-influencer campaign: a list people read, not skim
# Which detectors name which kind of event, for the stricter score "and says what it is".
KIND_DETECTORS = {"bought_views": {"robust_z", "hampel"}, "viral_post": {"outlier_post"},
                  "stalled_account": {"stalled"}, "deleted_post": {"deleted"},
                  "follower_jump": {"robust_z", "hampel"}}
KIND_METRICS = {"bought_views": {"views", "impressions"}, "follower_jump": {"followers_gained"}}


def event_days(event: dict) -> list[date]:
    days = [date.fromisoformat(d) for d in event["days"]]
    return days + ([date.fromisoformat(event["seen"])] if event.get("seen") else [])


def hits(flag, event: dict, kind: bool = False) -> bool:
    """``flag`` (a row of ``anomalies``) names ``event``: its influencer and platform, within a day
    of one of its days; with ``kind``, also by the detector (and metric) that kind of event gets."""
    if (flag.influencer, flag.platform) != (event["influencer"], event["platform"]):
        return False
    if not any(abs((pd.Timestamp(flag.day).date() - d).days) <= 1 for d in event_days(event)):
        return False
    if kind:
        return flag.detector in KIND_DETECTORS[event["kind"]] and \
            flag.metric in KIND_METRICS.get(event["kind"], {flag.metric})
    return True


def score(flags: pd.DataFrame, events: list[dict], kind: bool = False) -> tuple[float, float]:
    """(precision, recall): the share of flags that name some event, the share of events some flag names."""
    rows = list(flags.itertuples())
    precision = sum(any(hits(f, e, kind) for e in events) for f in rows) / len(rows) if rows else 1.0
    recall = sum(any(hits(f, e, kind) for f in rows) for e in events) / len(events)
    return precision, recall


def _flags(db: Path):
    from collectors.store import database
    from dashboard.analysis import config
    from dashboard.analysis.anomalies import anomalies
    from dashboard.analysis.metrics import increments
    from dashboard.analysis.queries.frames import load_frames

    campaign = config.load(ROOT / "campaign.toml")
    engine = database.connect(f"sqlite:///{db}", create=False)
    frames = load_frames(engine)
    engine.dispose()
    return anomalies(frames, increments(frames.snapshots, frames.post_days, campaign), campaign)


@pytest.fixture(scope="module")
def seeded(demo_db, tmp_path_factory):
    """Per seed: (the flags, the planted events), the demo's own seed from the shared demo database."""
    from dashboard.cli import main

    out = {}
    for seed in SEEDS:
        if seed == 2024:
            db = demo_db
        else:
            tmp = tmp_path_factory.mktemp(f"demo-seed-{seed}")
            db = tmp / "reach.db"
            assert main(["demo", "--seed", str(seed), "--db", str(db), "--folder", str(tmp / "exports")]) == 0
        truth = json.loads((db.parent / "exports" / "anomalies-truth.json").read_text("utf-8"))
        assert truth["seed"] == seed
        out[seed] = (_flags(db), truth["events"])
    lines = [f"{'seed':>6} {'flags':>5} {'events':>6} {'precision':>9} {'recall':>6} {'same kind: p':>12} {'r':>4}"]
    for seed, (flags, events) in out.items():
        p, r = score(flags, events)
        pk, rk = score(flags, events, kind=True)
        lines.append(f"{seed:>6} {len(flags):>5} {len(events):>6} {p:>9.2f} {r:>6.2f} {pk:>12.2f} {rk:>4.2f}")
    print("\n" + "\n".join(lines))
    return out


def test_the_truth_file_names_one_event_of_each_kind_on_influencers_of_the_campaign(demo_db):
    from collectors.demo import campaign as demo
    from dashboard.analysis import config

    truth = json.loads((demo_db.parent / "exports" / demo.TRUTH_FILE).read_text("utf-8"))
    events = truth["events"]
    assert [e["kind"] for e in events] == list(demo.KINDS)
    assert len({e["influencer"] for e in events}) == len(events)  # a few influencers, one event each
    names = {n for n, _, _ in demo.INFLUENCERS}
    assert all(e["influencer"] in names and e["days"] for e in events)
    # The generator keeps day-level events away from the campaign's own event days: the same days
    # campaign.toml lists.
    campaign = config.load(ROOT / "campaign.toml")
    assert [date.fromisoformat(d) for d in truth["campaign_events"]] == [e.day for e in campaign.events]


def test_each_planted_event_is_in_the_imported_exports_as_the_truth_says(demo_db):
    """What the truth file claims is in the data (read back from the database the exports were
    imported into, not from the generator's model), whatever the detector makes of it."""
    import sqlite3

    from collectors.demo import campaign as demo

    events = {e["kind"]: e for e in json.loads((demo_db.parent / "exports" / demo.TRUTH_FILE).read_text("utf-8"))["events"]}
    con = sqlite3.connect(demo_db)

    def account(e):
        return con.execute("SELECT id FROM accounts WHERE platform = ? AND lower(handle) = lower(?)",
                           (e["platform"], e["account"])).fetchone()[0]

    def day_value(pk, day, col):
        row = con.execute(f"SELECT {col} FROM account_days WHERE account_pk = ? AND day = ?", (pk, day)).fetchone()
        return None if row is None else row[0]

    e = events["follower_jump"]
    assert day_value(account(e), e["days"][0], "followers_gained") >= 1500
    e = events["stalled_account"]
    basis = "views" if e["platform"] in ("tiktok", "youtube") else "impressions"
    assert [day_value(account(e), d, basis) for d in e["days"]] == [0] * len(e["days"])
    e = events["bought_views"]
    pk = account(e)
    bought = sum(day_value(pk, d, e["detail"]["metric"]) for d in e["days"])
    assert bought >= e["detail"]["extra"]  # the extra views, and the day's usual besides
    likes = [day_value(pk, d, "likes") for d in e["days"]]
    usual = sorted(r[0] for r in con.execute("SELECT likes FROM account_days WHERE account_pk = ? AND likes IS NOT NULL",
                                             (pk,)))
    assert max(likes) <= 5 * usual[len(usual) // 2] + 50  # no engagement to match
    for kind in ("viral_post", "deleted_post"):
        e = events[kind]
        snaps = con.execute("SELECT s.views, s.impressions FROM post_snapshots s JOIN posts p ON p.id = s.post_pk "
                            "WHERE p.platform = ? AND p.post_id LIKE ? ORDER BY s.captured_at",
                            (e["platform"], "%" + e["post_id"])).fetchall()
        values = [v if v is not None else i for v, i in snaps]
        if kind == "deleted_post":
            assert max(values) > 0 and values[-1] == 0
        else:
            assert values[-1] >= 20 * e["detail"]["typical"]
    con.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_the_flags_find_the_planted_events_and_little_else(seeded, seed):
    flags, events = seeded[seed]
    precision, recall = score(flags, events)
    assert len(flags) <= MAX_FLAGS, flags[["day", "influencer", "platform", "detector", "reason"]].to_string()
    assert precision >= MIN_PRECISION, flags[["day", "influencer", "platform", "detector", "reason"]].to_string()
    assert recall >= MIN_RECALL, [e for e in events if not any(hits(f, e) for f in flags.itertuples())]
    # And the flag that finds an event says what kind of thing happened.
    assert score(flags, events, kind=True)[1] >= MIN_RECALL


def test_the_score_counts_a_flag_a_day_off_and_not_two_days_off():
    event = {"kind": "follower_jump", "influencer": "Ana", "platform": "x", "days": ["2025-01-10"]}
    flags = pd.DataFrame({"influencer": ["Ana", "Ana", "Ana", "Bo"], "platform": ["x", "x", "tiktok", "x"],
                          "day": pd.to_datetime(["2025-01-11", "2025-01-12", "2025-01-10", "2025-01-10"]),
                          "detector": "robust_z", "metric": "followers_gained"})
    assert score(flags, [event]) == (0.25, 1.0)
    assert score(flags.iloc[1:], [event]) == (0.0, 0.0)
    # A deleted post is also found on the day the exports first show it.
    deleted = {"kind": "deleted_post", "influencer": "Ana", "platform": "x", "days": ["2025-01-02"],
               "seen": "2025-01-07"}
    late = flags.iloc[[0]].assign(day=pd.Timestamp("2025-01-08"), detector="deleted", metric="views")
    assert score(late, [deleted], kind=True) == (1.0, 1.0)

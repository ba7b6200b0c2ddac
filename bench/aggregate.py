"""Aggregation: daily and weekly group-bys of 1 M and 10 M daily increments, with DuckDB as the yardstick.

    .venv/bin/python bench/aggregate.py                          # 1 M and 10 M rows, 3 runs, medians
    .venv/bin/python bench/aggregate.py --rows 1000000 --repeat 5
    .venv/bin/python bench/aggregate.py --write-doc              # also update docs/performance.md

For each size it generates, in memory, N daily-increment observations in the engine's long format
(``metrics.INC_COLUMNS``: post_pk, day, metric, value, interpolated, corrected, source, with the
dtypes ``metrics.increments`` returns) for a campaign of 2,000 influencers with accounts on six
platforms, 40,000 posts and 120 days (metrics views, likes, comments, shares; YouTube rows are
"daily", the rest "snapshot" and partly interpolated), and the posts frame ``queries.frames.load_frames``
returns. Then, in this one process and interleaved so that machine noise hits them alike:

* full group-bys by (platform, day) and (influencer, week): ``metrics.aggregate`` (the engine);
  the same query in DuckDB over the same pandas frames (registered, not copied); a pandas groupby
  on categorical keys (the DESIGN.md section 8 baseline: sums only, keys held as categoricals);
* the dashboard-style filtered query (one platform, 50 influencers, 30 days, by influencer and
  day): ``metrics.aggregate(..., sel=Selection(...))``, DuckDB over the frames, a SQLite daily
  rollup table keyed by (platform, influencer, day) and the same rollup held as a pandas frame.
  The rollup is built once from the same data; its build time is reported apart (a full rebuild:
  the upper bound of what keeping it current on import costs);
* the product's own rollup, "product rollup": a fresh database made by ``collectors.store.database.connect``
  with influencers and accounts matching the posts (one account per influencer and platform), its
  ``daily_rollup`` table (day, account_pk) filled with ``rollups._rollup_rows`` from the same
  increments (inserted in batches) and the ``rollup_state`` fingerprint written as
  ``rollups.refresh`` writes it; the three queries above answered by ``rollups.query`` (checked
  equal to ``metrics.aggregate``: groups, sums, engagements, EMV, rates, posts active), its build
  time reported apart;
* peak memory (VmHWM) of a child process that opens the rollup file and answers the filtered
  query, of one that loads the raw frames and answers it with the engine, and of one that opens
  the product database with ``database.connect`` and answers it with ``rollups.query``.

Separately, ``metrics.snapshot_increments`` on 1 M lifetime snapshot rows (40,000 posts, 25
captures each, all canonical metric columns as ``load_frames`` returns them, a few platform
corrections), since that step runs before any aggregation.

Medians of ``--repeat`` runs are reported; the machine is noisy (runs vary 2-3x), so compare the
ratios measured in the same process, and treat gaps under 1.5x as ties.
"""
from __future__ import annotations

import argparse
import gc
import os
import pickle
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "performance.md"
HEADING = "## Aggregation"
MARK_BEGIN = "<!-- bench-aggregate:begin -->"
MARK_END = "<!-- bench-aggregate:end -->"

AIM_FILTER_MS = 20.0
AIM_RSS_MB = 500.0

D0 = date(2024, 12, 2)  # a Monday: weeks are whole
N_DAYS = 120
N_POSTS = 40_000
N_INFLUENCERS = 2_000
PLATFORMS = ("x", "facebook", "instagram", "youtube", "tiktok", "linkedin")
CATEGORIES = ("official", "merchant", "entrepreneur", "foreign resident", "journalist", "media",
              "international influencer")
CPM = {"x": 6.5, "facebook": 10.0, "instagram": 10.0, "youtube": 20.0, "tiktok": 5.0, "linkedin": 30.0}
# Share of a post's active days on which a metric moves (zero increments are not stored).
MOVES = {"views": 1.0, "likes": 0.95, "comments": 0.6, "shares": 0.65}
DROP_RATE = 0.0002  # per snapshot value: a platform correction (a later lifetime value lower than before)
SEL_PLATFORM = "instagram"
SEL_DAYS = (45, 74)  # day offsets from D0, inclusive: 30 days
SEL_INFLUENCERS = 50


def campaign():
    from dashboard.analysis.config import Campaign

    return Campaign(name="bench", timezone="Asia/Shanghai", start=D0, end=D0 + timedelta(N_DAYS - 1), cpm=dict(CPM))


# --- generated data ---------------------------------------------------------------------------

def make_posts(seed: int = 7):
    """40,000 posts of 2,000 influencers (1-6 accounts each), in the shape load_frames returns."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    infl_cat = rng.integers(0, len(CATEGORIES), N_INFLUENCERS)
    has = rng.random((N_INFLUENCERS, len(PLATFORMS))) < 0.45
    has[np.arange(N_INFLUENCERS), rng.integers(0, len(PLATFORMS), N_INFLUENCERS)] = True
    acc_infl, acc_plat = np.nonzero(has)
    n_acc = len(acc_infl)
    activity = rng.lognormal(0, 0.8, n_acc)
    acc = rng.choice(n_acc, N_POSTS, p=activity / activity.sum())
    order = np.lexsort((rng.random(N_POSTS), acc))  # posts of an account together, as imported
    acc = acc[order]
    pub_min = rng.integers(-10 * 1440, 50 * 1440, N_POSTS)  # minutes from D0 (UTC): some before the start
    infl_names = np.array([f"influencer{i:04d}" for i in range(N_INFLUENCERS)], dtype=object)
    plat = np.array(PLATFORMS, dtype=object)[acc_plat[acc]]
    handle = np.array([f"{PLATFORMS[p]}_{i:04d}" for i, p in zip(acc_infl, acc_plat)], dtype=object)[acc]
    post_pk = np.arange(1, N_POSTS + 1, dtype=np.int64)
    post_id = np.array([f"{1_869_000_000_000 + k * 7919}" for k in range(N_POSTS)], dtype=object)
    posts = pd.DataFrame({
        "post_pk": post_pk,
        "platform": pd.array(plat, dtype="str"),
        "post_id": pd.array(post_id, dtype="str"),
        "account": pd.array(handle, dtype="str"),
        "account_pk": (acc + 1).astype(np.int64),
        "influencer": pd.array(infl_names[acc_infl[acc]], dtype="str"),
        "category": pd.array(np.array(CATEGORIES, dtype=object)[infl_cat[acc_infl[acc]]], dtype="str"),
        "published_at": pd.Timestamp(D0, tz="UTC") + pd.to_timedelta(pub_min, unit="min"),
        "url": pd.array(np.array([f"https://example.com/{h}/{i}" for h, i in zip(handle, post_id)], dtype=object),
                        dtype="str"),
        "title": pd.array(np.array([f"Post {k}" for k in range(N_POSTS)], dtype=object), dtype="str"),
        "post_type": pd.array(np.where(rng.random(N_POSTS) < 0.3, "video", "post").astype(object), dtype="str"),
    })
    return posts


def _post_days(posts, rows: int, rng):
    """Per post: first active day offset and number of active days, sized so that about ``rows``
    observations result (posts are active from publishing, for a lognormal number of days)."""
    pub_day = ((posts["published_at"] - pd_ts(D0)).dt.total_seconds() // 86400).to_numpy().astype(np.int64)
    first = np.clip(pub_day, 0, N_DAYS - 1)
    avail = N_DAYS - first
    w = rng.lognormal(0, 0.7, len(posts))
    per_day = sum(MOVES.values())
    target = rows * 1.01 / per_day
    if avail.sum() < target:
        raise SystemExit(f"{rows:,} observations do not fit {N_POSTS:,} posts x {N_DAYS} days")
    lo, hi = 0.0, 10.0 * N_DAYS
    for _ in range(60):  # bisect the scale so that sum(min(avail, ceil(k * w))) ~ target
        k = (lo + hi) / 2
        if np.minimum(avail, np.ceil(k * w)).sum() < target:
            lo = k
        else:
            hi = k
    length = np.minimum(avail, np.ceil(hi * w)).astype(np.int64)
    return first, length


def pd_ts(d):
    import pandas as pd

    return pd.Timestamp(d, tz="UTC")


def make_increments(posts, rows: int, seed: int = 11):
    """``rows`` daily increments (metrics.INC_COLUMNS, the dtypes metrics.increments returns),
    built post by post in batches."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    first, length = _post_days(posts, rows, rng)
    plat = posts["platform"].to_numpy()
    daily_src = plat == "youtube"
    size = rng.lognormal(6, 1.2, len(posts))  # views on the first day
    metric_names = np.array(list(MOVES), dtype=object)
    src_names = np.array(["snapshot", "daily"], dtype=object)
    parts = {k: [] for k in ("post", "day", "metric", "value", "interp", "corr", "src")}
    batch = 2_000
    for b in range(0, len(posts), batch):
        idx = np.arange(b, min(b + batch, len(posts)))
        n = length[idx]
        post = np.repeat(idx, n)
        age = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        day = first[post] + age
        base = size[post] * np.exp(-age / 6.0) + 3.0
        for m_i, (m, p) in enumerate(MOVES.items()):
            keep = rng.random(len(post)) < p
            if m == "views":
                v = base * rng.lognormal(0, 0.3, len(post))
            else:
                v = base * {"likes": 0.04, "comments": 0.004, "shares": 0.006}[m] * rng.lognormal(0, 0.5, len(post))
            src = daily_src[post]
            v = np.where(src, np.round(v), v)
            v = np.where(keep & (v == 0), 1.0, v)
            parts["post"].append(post[keep])
            parts["day"].append(day[keep])
            parts["metric"].append(np.full(keep.sum(), m_i, dtype=np.int8))
            parts["value"].append(v[keep])
            parts["interp"].append((~src & (rng.random(len(post)) < 0.35))[keep])
            parts["corr"].append((rng.random(len(post)) < 0.001)[keep])
            parts["src"].append(src[keep].astype(np.int8))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((cat["metric"], cat["day"], cat["post"]))  # sorted as increments() sorts them
    if len(order) > rows:  # drop the surplus at random, keeping the order
        keep = np.ones(len(order), dtype=bool)
        keep[rng.choice(len(order), len(order) - rows, replace=False)] = False
        order = order[keep]
    post = cat["post"][order]
    inc = pd.DataFrame({
        "post_pk": posts["post_pk"].to_numpy()[post],
        "day": (np.datetime64(D0, "us") + cat["day"][order].astype("timedelta64[D]")).astype("datetime64[us]"),
        "metric": pd.array(metric_names[cat["metric"][order]], dtype="str"),
        "value": cat["value"][order].astype(np.float64),
        "interpolated": cat["interp"][order],
        "corrected": cat["corr"][order],
        "source": pd.array(src_names[cat["src"][order]], dtype="str"),
    })
    return inc


def make_snapshots(posts, rows: int, seed: int = 13):
    """Lifetime snapshots, ~25 per post, every canonical metric column (NaN where not reported),
    as load_frames returns them; a few platform corrections (a later value lower than before)."""
    import pandas as pd

    from collectors.model import METRICS

    rng = np.random.default_rng(seed)
    n_posts = len(posts)
    per = np.full(n_posts, rows // n_posts, dtype=np.int64)
    per[: rows - per.sum()] += 1
    post = np.repeat(np.arange(n_posts), per)
    end = np.datetime64(D0, "us") + np.timedelta64(N_DAYS, "D")
    pub_ns = posts["published_at"].dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    span = (end - pub_ns).astype("timedelta64[s]").astype(np.int64)
    # Capture times: sorted uniform in (published, end], denser early on (u**2).
    u = np.sort(rng.random(len(post)).reshape(-1) ** 2 + post * 2.0)  # sorting per post: offset by post
    u = u - post * 2.0
    cap = pub_ns[post] + (u * span[post]).astype("timedelta64[s]") + np.timedelta64(60, "s")
    snaps = {"post_pk": posts["post_pk"].to_numpy()[post], "platform": posts["platform"].to_numpy()[post],
             "published_at": pd.DatetimeIndex(pub_ns[post]).tz_localize("UTC"),
             "captured_at": pd.DatetimeIndex(cap).tz_localize("UTC")}
    final = rng.lognormal(8, 1.3, n_posts)
    age_h = (cap - pub_ns[post]).astype("timedelta64[s]").astype(np.int64) / 3600.0
    curve = 1 - np.exp(-age_h / 30.0)
    for m in METRICS:
        snaps[m] = np.full(len(post), np.nan)
    rate = {"views": 1.0, "likes": 0.04, "comments": 0.004, "shares": 0.006}
    boundaries = np.cumsum(per) - per
    for m, r in rate.items():
        v = np.floor(final[post] * r * curve * rng.uniform(0.97, 1.0, len(post)))
        v = np.maximum.accumulate(v + post * 1e12) - post * 1e12  # lifetime counts never fall...
        drop = rng.random(len(post)) < DROP_RATE  # ...except when the platform corrects them
        drop[boundaries] = False
        fall = np.where(drop, np.floor(v * 0.05), 0.0)
        fall_cum = np.cumsum(fall)
        fall_cum -= np.repeat(fall_cum[boundaries] - fall[boundaries], per)
        snaps[m] = np.maximum(v - fall_cum, 0.0)
    out = pd.DataFrame(snaps)
    out["platform"] = out["platform"].astype("str")
    return out[["post_pk", "platform", "published_at", "captured_at", *METRICS]]


def pick_selection(posts):
    """The dashboard-style filter: one platform, 50 of its influencers, 30 days."""
    from dashboard.analysis.metrics import Selection

    names = np.sort(posts.loc[posts["platform"] == SEL_PLATFORM, "influencer"].unique().astype(object))
    chosen = tuple(str(n) for n in names[np.linspace(0, len(names) - 1, SEL_INFLUENCERS).astype(int)])
    return Selection(start=D0 + timedelta(SEL_DAYS[0]), end=D0 + timedelta(SEL_DAYS[1]),
                     platforms=(SEL_PLATFORM,), influencers=chosen)


# --- the same queries in DuckDB, pandas on categoricals and a SQLite rollup -------------------

SUM_METRICS = tuple(MOVES)  # the metrics the generated data carries


def _cpm_case(col: str) -> str:
    return "CASE " + col + " " + " ".join(f"WHEN '{p}' THEN {c}" for p, c in CPM.items()) + " ELSE 0 END"


def duck_sql(by: list[str], where: str = "") -> str:
    """metrics.aggregate's output (sums, engagements, EMV, posts active, flags, rates) in SQL."""
    key = {"platform": "p.platform", "influencer": "p.influencer", "category": "p.category", "day": "i.day",
           "week": "strftime(i.day, '%G-W%V')"}
    sel_keys = ", ".join(f"{key[b]} AS {b}" for b in by)
    sums = ", ".join(f"sum(i.value) FILTER (WHERE i.metric = '{m}') AS {m}" for m in SUM_METRICS)
    return f"""
        SELECT *, likes + comments + shares AS engagements,
               (likes + comments + shares) / nullif(views, 0) AS er_views,
               shares / nullif(views, 0) AS virality_views
        FROM (SELECT {sel_keys}, {sums},
                     sum(i.value * ({_cpm_case('p.platform')}) / 1000) FILTER (WHERE i.metric = 'views') AS emv_usd,
                     count(DISTINCT i.post_pk) AS posts_active,
                     bool_or(i.interpolated) AS interpolated, bool_or(i.corrected) AS corrected
              FROM inc i JOIN posts p USING (post_pk) {where}
              GROUP BY ALL)
        ORDER BY ALL"""


def duck_where(sel) -> str:
    names = ", ".join(f"'{n}'" for n in sel.influencers)
    return (f"WHERE p.platform = '{sel.platforms[0]}' AND p.influencer IN ({names}) "
            f"AND i.day BETWEEN DATE '{sel.start}' AND DATE '{sel.end}'")


class Cats:
    """The frames as the DESIGN.md baseline holds them: categorical keys, post positions."""

    def __init__(self, inc, posts):
        import pandas as pd

        pos = pd.Index(posts["post_pk"]).get_indexer(inc["post_pk"])
        self.pos = pos.astype(np.int32)
        self.metric = pd.Categorical(inc["metric"])
        self.day = inc["day"].to_numpy()
        self.value = inc["value"].to_numpy()
        self.attr = {c: pd.Categorical(posts[c]) for c in ("platform", "influencer")}

    def groupby(self, by: list[str]):
        import pandas as pd

        cols = {}
        for b in by:
            if b == "day":
                cols[b] = self.day
            elif b == "week":  # Monday-based week number from D0 (a Monday)
                cols[b] = (self.day - np.datetime64(D0, "us")) // np.timedelta64(7, "D")
            else:
                cols[b] = self.attr[b].take(self.pos)
        frame = pd.DataFrame({**cols, "metric": self.metric, "value": self.value})
        return frame.groupby(by + ["metric"], observed=True, sort=False)["value"].sum().unstack("metric")


ROLLUP_COLUMNS = ("platform", "influencer", "day", "week", *SUM_METRICS, "emv_usd", "posts_active", "interpolated",
                  "corrected")


def build_rollup(con, path: Path) -> dict:
    """A daily rollup keyed by (platform, influencer, day), with the day's ISO week beside it, in a
    fresh SQLite file, from the same frames (computed by DuckDB, written in key order in batches)."""
    t0 = time.perf_counter()
    r = con.execute(f"""
        SELECT p.platform, p.influencer, strftime(i.day, '%Y-%m-%d') AS day, strftime(i.day, '%G-W%V') AS week,
               {", ".join(f"sum(i.value) FILTER (WHERE i.metric = '{m}') AS {m}" for m in SUM_METRICS)},
               sum(i.value * ({_cpm_case('p.platform')}) / 1000) FILTER (WHERE i.metric = 'views') AS emv_usd,
               count(DISTINCT i.post_pk) AS posts_active,
               bool_or(i.interpolated)::INT AS interpolated, bool_or(i.corrected)::INT AS corrected
        FROM inc i JOIN posts p USING (post_pk) GROUP BY ALL ORDER BY 1, 2, 3""").fetchall()
    t1 = time.perf_counter()
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    db = sqlite3.connect(path)
    cols = ", ".join(f"{m} REAL" for m in (*SUM_METRICS, "emv_usd"))
    db.execute(f"""CREATE TABLE rollup (platform TEXT NOT NULL, influencer TEXT NOT NULL, day TEXT NOT NULL, week TEXT NOT NULL, {cols},
                   posts_active INTEGER NOT NULL, interpolated INTEGER NOT NULL, corrected INTEGER NOT NULL,
                   PRIMARY KEY (platform, influencer, day)) WITHOUT ROWID""")
    ins = f"INSERT INTO rollup VALUES ({', '.join('?' * len(ROLLUP_COLUMNS))})"
    with db:
        for b in range(0, len(r), 100_000):
            db.executemany(ins, r[b:b + 100_000])
    db.close()
    t2 = time.perf_counter()
    return dict(rows=len(r), compute_s=t1 - t0, write_s=t2 - t1, build_s=t2 - t0, mb=path.stat().st_size / 1e6)


ROLLUP_QUERY = """
    SELECT influencer, day, {sums}, sum(emv_usd) AS emv_usd, sum(posts_active) AS posts_active,
           max(interpolated) AS interpolated, max(corrected) AS corrected
    FROM rollup WHERE platform = ? AND influencer IN ({marks}) AND day BETWEEN ? AND ?
    GROUP BY influencer, day ORDER BY influencer, day"""


def rollup_query(db, sel):
    """The filtered query answered from the rollup, as a frame with engagements and rates."""
    import pandas as pd

    sql = ROLLUP_QUERY.format(sums=", ".join(f"sum({m}) AS {m}" for m in SUM_METRICS),
                              marks=", ".join("?" * len(sel.influencers)))
    rows = db.execute(sql, (sel.platforms[0], *sel.influencers, sel.start.isoformat(), sel.end.isoformat())).fetchall()
    out = pd.DataFrame(rows, columns=["influencer", "day", *SUM_METRICS, "emv_usd", "posts_active", "interpolated",
                                      "corrected"])
    out["day"] = pd.to_datetime(out["day"])
    return _rates(out)


def rollup_full(db, by: list[str]):
    """A full group-by answered from the daily rollup. posts_active is exact by (platform, day) (a
    post has one influencer and one platform) but not by week: a post active on several days of a
    week would be counted once per day, so it is left out there."""
    import pandas as pd

    exact = "week" not in by
    keys = ", ".join(by)
    sql = (f"SELECT {keys}, {', '.join(f'sum({m})' for m in SUM_METRICS)}, sum(emv_usd)"
           + (", sum(posts_active)" if exact else "")
           + f", max(interpolated), max(corrected) FROM rollup GROUP BY {keys} ORDER BY {keys}")
    out = pd.DataFrame(db.execute(sql).fetchall(),
                       columns=[*by, *SUM_METRICS, "emv_usd", *(["posts_active"] if exact else []), "interpolated",
                                "corrected"])
    if "day" in by:
        out["day"] = pd.to_datetime(out["day"])
    return _rates(out)


def _rates(out):
    out["engagements"] = out["likes"] + out["comments"] + out["shares"]
    den = out["views"].where(out["views"] > 0)
    out["er_views"] = out["engagements"] / den
    out["virality_views"] = out["shares"] / den
    return out


def rollup_frame(path: Path):
    import pandas as pd

    db = sqlite3.connect(path)
    r = pd.read_sql_query("SELECT * FROM rollup", db)
    db.close()
    r["day"] = pd.to_datetime(r["day"])
    for c in ("platform", "influencer"):
        r[c] = r[c].astype("category")
    return r


def pandas_rollup_query(r, sel):
    m = ((r["platform"] == sel.platforms[0]).to_numpy() & r["influencer"].isin(sel.influencers).to_numpy()
         & (r["day"] >= np.datetime64(sel.start)).to_numpy() & (r["day"] <= np.datetime64(sel.end)).to_numpy())
    out = (r[m].groupby(["influencer", "day"], observed=True)
           .agg(**{c: (c, "sum") for c in (*SUM_METRICS, "emv_usd", "posts_active")},
                interpolated=("interpolated", "max"), corrected=("corrected", "max")).reset_index())
    return _rates(out)


# --- the product's own rollup: dashboard.analysis.rollups over collectors.store's daily_rollup ---------

PRODUCT_BATCH = 50_000  # rollup rows per INSERT executemany


def build_product_rollup(inc, posts, c, path: Path) -> dict:
    """A fresh product database (``database.connect``) with the influencers and accounts of the
    generated posts (one account per influencer and platform, id = the posts' account_pk), the
    ``daily_rollup`` rows computed by the product's own ``rollups._rollup_rows`` from the same
    increments, inserted in batches, and the ``rollup_state`` fingerprint written as
    ``rollups.refresh`` writes it. Like a full ``refresh`` minus ``load_frames`` and ``increments``."""
    import sqlalchemy as sa

    from collectors.store import database, schema
    from dashboard.analysis import rollups

    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    t0 = time.perf_counter()
    engine = database.connect(str(path))
    acc = posts.drop_duplicates("account_pk")[["account_pk", "platform", "account", "influencer", "category"]]
    infl = acc.drop_duplicates("influencer").sort_values("influencer")
    infl_id = {n: k + 1 for k, n in enumerate(infl["influencer"])}
    with engine.begin() as conn:
        conn.execute(schema.influencers.insert(), [dict(id=infl_id[n], name=n, category=cat)
                                                  for n, cat in zip(infl["influencer"], infl["category"])])
        conn.execute(schema.accounts.insert(), [
            dict(id=int(pk), platform=pl, account_key=h.lower(), handle=h, influencer_id=infl_id[n])
            for pk, pl, h, n in zip(acc["account_pk"], acc["platform"], acc["account"], acc["influencer"])])
    t1 = time.perf_counter()
    rows = rollups._rollup_rows(inc, posts, c)
    t2 = time.perf_counter()
    r = schema.daily_rollup
    with engine.begin() as conn:
        for b in range(0, len(rows), PRODUCT_BATCH):
            conn.execute(r.insert(), rows[b:b + PRODUCT_BATCH])
        # exactly what rollups.refresh writes, so that query(..., refresh_if_stale=True) finds it current
        conn.execute(schema.meta_table.delete().where(schema.meta_table.c.key == rollups.STATE_KEY))
        conn.execute(schema.meta_table.insert().values(key=rollups.STATE_KEY, value=rollups.fingerprint(c)))
    t3 = time.perf_counter()
    n = len(rows)
    del rows
    assert rollups.is_current(engine, c)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(r)).scalar() == n
    engine.dispose()
    mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    return dict(rows=n, accounts=len(acc), setup_s=t1 - t0, compute_s=t2 - t1, write_s=t3 - t2, build_s=t3 - t0,
                mb=mb)


def product_query(engine, c, by, sel=None):
    from dashboard.analysis import metrics, rollups

    return rollups.query(engine, c, by=by, sel=sel or metrics.Selection())


PRODUCT_COMPARED = ("views", "impressions", "likes", "comments", "shares", "saves", "engagements", "emv_usd",
                    "er_views", "er_impressions", "virality_views", "posts_active")


def _same_product(eng, prod, keys: list[str]) -> str:
    """The product rollup's answer against the engine's: same groups; sums, engagements, EMV and
    rates equal (NaN where the engine has NaN); posts active where both carry it."""
    import pandas as pd

    a, b = eng.copy(), prod.copy()
    for f in (a, b):
        for k in keys:
            f[k] = pd.to_datetime(f[k]).astype("datetime64[us]") if k == "day" else f[k].astype(str)
    m = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    if (m["_merge"] != "both").any():
        return f"{(m['_merge'] != 'both').sum()} of {len(m):,} groups differ"
    cols = [x for x in PRODUCT_COMPARED if f"{x}_a" in m and f"{x}_b" in m]
    for col in cols:
        x = m[f"{col}_a"].astype(float).to_numpy()
        y = m[f"{col}_b"].astype(float).to_numpy()
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return f"{col}: unknown (NaN) in different groups"
        ok = ~np.isnan(x)
        if not np.allclose(x[ok], y[ok], rtol=1e-9, atol=1e-6):
            return f"{col} differs (max {np.abs(x[ok] - y[ok]).max():.3g})"
    return f"same ({len(m):,} groups; {', '.join(cols)})"


# --- checks: the yardsticks compute the same numbers ------------------------------------------

def _same(a, b, keys: list[str], cols=("views", "likes", "comments", "shares", "emv_usd", "posts_active")) -> str:
    import pandas as pd

    a = a.copy()
    b = b.copy()
    for f in (a, b):
        for k in keys:
            if k == "day":
                f[k] = pd.to_datetime(f[k]).astype("datetime64[us]")
            else:
                f[k] = f[k].astype(str)
    m = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    if (m["_merge"] != "both").any():
        return f"{(m['_merge'] != 'both').sum()} groups differ"
    for c in cols:
        x = m[f"{c}_a"].astype(float).fillna(0).to_numpy()
        y = m[f"{c}_b"].astype(float).fillna(0).to_numpy()
        if not np.allclose(x, y, rtol=1e-9, atol=1e-6):
            return f"{c} differs (max {np.abs(x - y).max():.3g})"
    return "same"


# --- child processes for peak memory ----------------------------------------------------------

def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(args) -> None:
    """Run in a child process: load what a serving process would hold, answer the filtered query
    a few times, and print RSS after loading, peak RSS (VmHWM) and the query's median time."""
    import pandas as pd  # noqa: F401  (a serving process has pandas loaded either way)

    from dashboard.analysis import metrics

    sel = metrics.Selection(start=date.fromisoformat(args.child_start), end=date.fromisoformat(args.child_end),
                            platforms=(SEL_PLATFORM,), influencers=tuple(args.child_influencers.split(",")))
    times = []
    if args.child == "product":  # what a dashboard worker imports to answer it: store, rollups, a campaign
        from collectors.store import database
        from dashboard.analysis import rollups

        c = campaign()
        engine = database.connect(args.child_path, create=False)
        loaded = _status_mb("VmRSS")
        for _ in range(5):
            t0 = time.perf_counter()
            rollups.query(engine, c, by=["influencer", "day"], sel=sel)
            times.append(time.perf_counter() - t0)
    elif args.child == "rollup":
        db = sqlite3.connect(args.child_path)
        loaded = _status_mb("VmRSS")
        for _ in range(5):
            t0 = time.perf_counter()
            rollup_query(db, sel)
            times.append(time.perf_counter() - t0)
    else:
        with open(args.child_path, "rb") as f:
            inc, posts = pickle.load(f)
        loaded = _status_mb("VmRSS")
        c = campaign()
        for _ in range(3):
            t0 = time.perf_counter()
            metrics.aggregate(inc, posts, c, by=["influencer", "day"], sel=sel)
            times.append(time.perf_counter() - t0)
    print(f"{loaded:.1f} {_status_mb('VmHWM'):.1f} {statistics.median(times):.6f}")


def _child_rss(kind: str, path: Path, sel) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--child-path", str(path),
           "--child-start", sel.start.isoformat(), "--child-end", sel.end.isoformat(),
           "--child-influencers", ",".join(sel.influencers)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
    return dict(loaded_mb=float(out[0]), peak_mb=float(out[1]), query_s=float(out[2]))


# --- running and reporting --------------------------------------------------------------------

def _timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_size(rows: int, repeat: int, tmp: Path, posts, c, memory: bool) -> dict:
    import duckdb

    from dashboard.analysis import metrics

    t0 = time.perf_counter()
    inc = make_increments(posts, rows)
    gen_s = time.perf_counter() - t0
    print(f"{rows:,} increments ({inc['post_pk'].nunique():,} posts, {inc['day'].nunique()} days) generated in "
          f"{gen_s:.1f} s; frame {inc.memory_usage(deep=False).sum() / 1e6:,.0f} MB (str columns as pointers)", flush=True)
    sel = pick_selection(posts)
    con = duckdb.connect()
    con.register("inc", inc)
    con.register("posts", posts)
    t0 = time.perf_counter()
    cats = Cats(inc, posts)
    cats_s = time.perf_counter() - t0
    db_path = tmp / f"rollup-{rows}.db"
    rollup = build_rollup(con, db_path)
    print(f"  rollup: {rollup['rows']:,} rows, {rollup['mb']:.0f} MB; built in {rollup['build_s']:.1f} s "
          f"(DuckDB group-by {rollup['compute_s']:.1f} s, SQLite write {rollup['write_s']:.1f} s)", flush=True)
    rdb = sqlite3.connect(db_path)
    rframe = rollup_frame(db_path)
    from collectors.store import database

    prod_path = tmp / f"product-{rows}.db"
    product = build_product_rollup(inc, posts, c, prod_path)
    print(f"  product rollup (daily_rollup): {product['rows']:,} rows, {product['mb']:.0f} MB; built in "
          f"{product['build_s']:.1f} s (rollups._rollup_rows {product['compute_s']:.1f} s, insert "
          f"{product['write_s']:.1f} s)", flush=True)
    peng = database.connect(str(prod_path))

    full = {"daily": ["platform", "day"], "weekly": ["influencer", "week"]}
    t = {f"{k}_{e}": [] for k in full for e in ("engine", "duck", "cats", "sqlite", "product")}
    t.update({f"filter_{e}": [] for e in ("engine", "duck", "sqlite", "pandas", "product")})
    checks = {}
    inner = 10  # the filtered query is fast: several timings per run
    for k in range(repeat):
        for name, by in full.items():
            s, eng = _timed(lambda: metrics.aggregate(inc, posts, c, by=by))
            t[f"{name}_engine"].append(s)
            s, duck = _timed(lambda: con.execute(duck_sql(by)).df())
            t[f"{name}_duck"].append(s)
            s, _ = _timed(lambda: cats.groupby(by))
            t[f"{name}_cats"].append(s)
            s, lite = _timed(lambda: rollup_full(rdb, by))
            t[f"{name}_sqlite"].append(s)
            s, prod = _timed(lambda: product_query(peng, c, by))
            t[f"{name}_product"].append(s)
            if k == 0:
                if name == "weekly":
                    eng = eng.assign(week=eng["week"].astype(str))
                checks[name] = f"DuckDB {_same(eng, duck, by)}"
                cols = [x for x in ("views", "likes", "comments", "shares", "emv_usd", "posts_active") if x in lite]
                checks[name] += f", SQLite rollup {_same(eng, lite, by, cols)}"
                checks[f"{name}_product"] = f"product rollup vs engine {_same_product(eng, prod, by)}"
            print(f"  run {k + 1}/{repeat} {name} {'/'.join(by)}: engine {t[f'{name}_engine'][-1]:.2f} s, "
                  f"DuckDB {t[f'{name}_duck'][-1]:.2f} s, pandas categorical {t[f'{name}_cats'][-1]:.2f} s, "
                  f"SQLite rollup {t[f'{name}_sqlite'][-1]:.2f} s, product rollup "
                  f"{t[f'{name}_product'][-1]:.2f} s", flush=True)
        s, eng = _timed(lambda: metrics.aggregate(inc, posts, c, by=["influencer", "day"], sel=sel))
        t["filter_engine"].append(s)
        for _ in range(inner):
            s, duck = _timed(lambda: con.execute(duck_sql(["influencer", "day"], duck_where(sel))).df())
            t["filter_duck"].append(s)
            s, lite = _timed(lambda: rollup_query(rdb, sel))
            t["filter_sqlite"].append(s)
            s, pdr = _timed(lambda: pandas_rollup_query(rframe, sel))
            t["filter_pandas"].append(s)
            s, prod = _timed(lambda: product_query(peng, c, ["influencer", "day"], sel))
            t["filter_product"].append(s)
        if k == 0:
            keys = ["influencer", "day"]
            checks["filter"] = "; ".join(f"{n} {_same(eng, x, keys)}" for n, x in
                                         (("DuckDB", duck), ("SQLite rollup", lite), ("pandas rollup", pdr)))
            checks["filter_product"] = f"product rollup vs engine {_same_product(eng, prod, keys)}"
            checks["filter_groups"] = len(eng)
        print(f"  run {k + 1}/{repeat} filtered: engine {t['filter_engine'][-1]:.2f} s, DuckDB "
              f"{statistics.median(t['filter_duck'][-inner:]) * 1000:.1f} ms, SQLite rollup "
              f"{statistics.median(t['filter_sqlite'][-inner:]) * 1000:.2f} ms, pandas rollup "
              f"{statistics.median(t['filter_pandas'][-inner:]) * 1000:.1f} ms, product rollup "
              f"{statistics.median(t['filter_product'][-inner:]) * 1000:.1f} ms", flush=True)
    rdb.close()
    peng.dispose()
    con.close()
    med = {k: statistics.median(v) for k, v in t.items()}
    res = dict(rows=rows, gen_s=gen_s, cats_s=cats_s, rollup=rollup, product=product, med=med, runs=t, checks=checks,
               repeat=repeat)
    if memory:
        raw_path = tmp / f"raw-{rows}.pickle"
        with open(raw_path, "wb") as f:
            pickle.dump((inc, posts), f, protocol=5)
        del inc, cats, rframe
        gc.collect()
        res["rss_rollup"] = _child_rss("rollup", db_path, sel)
        res["rss_raw"] = _child_rss("raw", raw_path, sel)
        res["rss_product"] = _child_rss("product", prod_path, sel)
        raw_path.unlink()
        print(f"  serving process: rollup {res['rss_rollup']['peak_mb']:.0f} MB peak "
              f"({res['rss_rollup']['query_s'] * 1000:.2f} ms per query); raw frames "
              f"{res['rss_raw']['peak_mb']:,.0f} MB peak, {res['rss_raw']['loaded_mb']:,.0f} MB after loading "
              f"({res['rss_raw']['query_s']:.2f} s per query); product rollup (rollups.query) "
              f"{res['rss_product']['peak_mb']:.0f} MB peak, {res['rss_product']['loaded_mb']:.0f} MB after "
              f"connecting ({res['rss_product']['query_s'] * 1000:.1f} ms per query)", flush=True)
    return res


def run_snapshots(rows: int, repeat: int, posts, c) -> dict:
    from dashboard.analysis import metrics

    snaps = make_snapshots(posts, rows)
    times, out = [], None
    for k in range(repeat):
        s, out = _timed(lambda: metrics.snapshot_increments(snaps, c))
        times.append(s)
        print(f"  run {k + 1}/{repeat} snapshot_increments on {rows:,} snapshots: {s:.1f} s", flush=True)
    # How many (post, metric) series end below their running maximum (the correction loop's work).
    cols = list(SUM_METRICS)
    g = snaps.groupby("post_pk")[cols]
    below = int((g.max() > g.last()).to_numpy().sum())
    return dict(rows=rows, median_s=statistics.median(times), runs=times, out_rows=len(out), below=below,
                series=snaps["post_pk"].nunique() * len(cols))


def _fmt_s(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def _table(results: list[dict]) -> str:
    head = ("| query | observations | engine (`metrics.aggregate`) | DuckDB over the frames | pandas, categorical keys | "
            "SQLite rollup (bench table) | product rollup (`rollups.query`) | engine / DuckDB | product / DuckDB |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in results:
        m = r["med"]
        for name, label in (("daily", "full, by platform and day"), ("weekly", "full, by influencer and week")):
            lines.append(f"| {label} | {r['rows']:,} | {_fmt_s(m[f'{name}_engine'])} | {_fmt_s(m[f'{name}_duck'])} | "
                         f"{_fmt_s(m[f'{name}_cats'])} (sums only) | {_fmt_s(m[f'{name}_sqlite'])}"
                         f"{'' if name == 'daily' else ' (no posts active)'} | {_fmt_s(m[f'{name}_product'])}"
                         f"{'' if name == 'daily' else ' (no posts active)'} | "
                         f"{m[f'{name}_engine'] / m[f'{name}_duck']:.1f}x | "
                         f"{m[f'{name}_product'] / m[f'{name}_duck']:.2f}x |")
        lines.append(f"| filtered: 1 platform, 50 influencers, 30 days, by influencer and day | {r['rows']:,} | "
                     f"{_fmt_s(m['filter_engine'])} | {_fmt_s(m['filter_duck'])} | "
                     f"{_fmt_s(m['filter_pandas'])} (on the rollup frame) | {m['filter_sqlite'] * 1000:.2f} ms | "
                     f"{m['filter_product'] * 1000:.1f} ms | {m['filter_engine'] / m['filter_duck']:.1f}x | "
                     f"{m['filter_product'] / m['filter_duck']:.2f}x |")
    return head + "\n".join(lines) + "\n"


def _verdicts(results: list[dict]) -> list[str]:
    ok = lambda b: "met" if b else "NOT met"  # noqa: E731
    out = []
    for r in results:
        m = r["med"]
        v = [f"full daily aggregation no slower than DuckDB ({_fmt_s(m['daily_duck'])}): engine "
             f"{ok(m['daily_engine'] <= m['daily_duck'] * 1.5)} ({_fmt_s(m['daily_engine'])}, "
             f"{m['daily_engine'] / m['daily_duck']:.1f}x), SQLite rollup "
             f"{ok(m['daily_sqlite'] <= m['daily_duck'] * 1.5)} ({_fmt_s(m['daily_sqlite'])}, "
             f"{m['daily_sqlite'] / m['daily_duck']:.1f}x), product rollup "
             f"{ok(m['daily_product'] <= m['daily_duck'] * 1.5)} ({_fmt_s(m['daily_product'])}, "
             f"{m['daily_product'] / m['daily_duck']:.2f}x)",
             f"filtered query under {AIM_FILTER_MS:.0f} ms: engine {ok(m['filter_engine'] * 1000 < AIM_FILTER_MS)} "
             f"({_fmt_s(m['filter_engine'])}), SQLite rollup {ok(m['filter_sqlite'] * 1000 < AIM_FILTER_MS)} "
             f"({m['filter_sqlite'] * 1000:.2f} ms), product rollup {ok(m['filter_product'] * 1000 < AIM_FILTER_MS)} "
             f"({m['filter_product'] * 1000:.1f} ms)"]
        if "rss_raw" in r:
            v.append(f"serving process under {AIM_RSS_MB:.0f} MB: from the raw frames "
                     f"{ok(r['rss_raw']['peak_mb'] < AIM_RSS_MB)} ({r['rss_raw']['peak_mb']:,.0f} MB peak), from the "
                     f"bench rollup {ok(r['rss_rollup']['peak_mb'] < AIM_RSS_MB)} ({r['rss_rollup']['peak_mb']:,.0f} MB "
                     f"peak), product rollup via rollups.query {ok(r['rss_product']['peak_mb'] < AIM_RSS_MB)} "
                     f"({r['rss_product']['peak_mb']:,.0f} MB peak)")
        out.append(f"{r['rows']:,} observations: " + "; ".join(v))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="1000000,10000000",
                    help="observation counts, comma-separated (default 1000000,10000000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per query; medians are reported (default 3)")
    ap.add_argument("--snapshot-rows", type=int, default=1_000_000,
                    help="snapshot rows for the snapshot_increments timing (0 skips it; default 1,000,000)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    ap.add_argument("--write-doc", action="store_true", help="put the results into docs/performance.md")
    ap.add_argument("--child", choices=["rollup", "raw", "product"], help=argparse.SUPPRESS)
    ap.add_argument("--child-path", help=argparse.SUPPRESS)
    ap.add_argument("--child-start", help=argparse.SUPPRESS)
    ap.add_argument("--child-end", help=argparse.SUPPRESS)
    ap.add_argument("--child-influencers", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args)
        return 0

    import duckdb
    import pandas as pd

    sizes = [int(x.replace("_", "")) for x in args.rows.split(",") if x.strip()]
    c = campaign()
    posts = make_posts()
    print(f"campaign: {N_INFLUENCERS:,} influencers, {posts['account'].nunique():,} accounts on {len(PLATFORMS)} "
          f"platforms, {len(posts):,} posts, {N_DAYS} days from {D0}; nproc {os.cpu_count()}", flush=True)
    results, snap = [], None
    with tempfile.TemporaryDirectory(prefix="reach-bench-agg-") as d:
        tmp = Path(d)
        for n in sizes:
            results.append(run_size(n, args.repeat, tmp, posts, c, memory=not args.no_memory))
            gc.collect()
    if args.snapshot_rows:
        snap = run_snapshots(args.snapshot_rows, args.repeat, posts, c)

    table = _table(results)
    print()
    print(table)
    for r in results:
        rb = r["rollup"]
        pb = r["product"]
        print(f"{r['rows']:,}: product rollup {pb['rows']:,} rows built in {pb['build_s']:.1f} s "
              f"(_rollup_rows {pb['compute_s']:.1f} s, insert {pb['write_s']:.1f} s)")
        print(f"{r['rows']:,}: rollup {rb['rows']:,} rows built in {rb['build_s']:.1f} s; checks: "
              + "; ".join(f"{k} {v}" for k, v in r["checks"].items()))
    for v in _verdicts(results):
        print(v)
    if snap:
        print(f"snapshot_increments on {snap['rows']:,} snapshot rows: {snap['median_s']:.1f} s "
              f"({snap['out_rows']:,} increments; {snap['below']} of {snap['series']:,} series end below their maximum)")
    print(f"this process peak RSS {_status_mb('VmHWM'):,.0f} MB")
    if args.write_doc:
        cmd = ".venv/bin/python bench/aggregate.py" + (
            f" --rows {args.rows}" if args.rows != "1000000,10000000" else "") + (
            f" --repeat {args.repeat}" if args.repeat != 3 else "")
        write_doc(results, snap, cmd, pd.__version__, duckdb.__version__)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


INTRO = f"""{HEADING}

How long the metrics engine takes to sum daily increments by day and by week, and what a
dashboard-style filtered query costs, with DuckDB run in the same process as the yardstick. The
benchmark is `bench/aggregate.py` (see `bench/README.md`).

### Aims (from the issue)

| what | aim |
|---|---|
| full daily aggregation at 10 M observations | no slower than DuckDB over the same frames |
| dashboard-style filtered query (1 platform, 50 influencers, 30 days) | < {AIM_FILTER_MS:.0f} ms |
| resident memory of the process that serves it, at 10 M observations | < {AIM_RSS_MB:.0f} MB |

"No slower" allows the 1.5x noise band (DESIGN.md section 8). Measured here before (the issue,
10 M rows): a full group-by takes DuckDB about 1.7 s and pandas on categoricals about 3.1 s; the
filtered query takes DuckDB about 60 ms and a SQLite daily rollup table about 3 ms.

### What is measured

Generated in memory: {N_INFLUENCERS:,} influencers with accounts on the {len(PLATFORMS)} platforms,
{N_POSTS:,} posts published from 10 days before to 50 days after the start of a {N_DAYS}-day window,
each active from publishing for a lognormal number of days; N daily increments in the engine's long
format (`post_pk, day, metric, value, interpolated, corrected, source`, the dtypes
`metrics.increments` returns: `str` metric and source) for views, likes, comments and shares
(zero increments are not stored, so a post-day has 2-4 rows), and the posts frame as
`queries.frames.load_frames` returns it. In one process, interleaved: `metrics.aggregate` by
(platform, day) and by (influencer, week); the same output (sums, engagements, EMV, posts active,
flags, rates) in one DuckDB query over the registered pandas frames; a pandas groupby on
categorical keys (sums only: the DESIGN.md baseline); and the filtered query by (influencer, day)
through `metrics.aggregate(..., sel=Selection(...))`, in DuckDB, against a SQLite daily rollup
table keyed by (platform, influencer, day) (`WITHOUT ROWID`, built once from the same data), and
on that rollup held as a pandas frame. The full group-bys are also answered from the rollup
(posts active only by day: by week it cannot be summed from days). Each pair of results is checked
equal (sums, EMV, posts active). Peak memory: `VmHWM` of a child process that opens the rollup file and answers the
filtered query five times, and of one that loads the raw frames (pickled by the benchmark) and
answers it with the engine three times.

The product's own rollup ("product rollup" below) is measured beside them: a fresh database made
by `collectors.store.database.connect`, with influencers and accounts matching the posts (one account per
influencer and platform), its `daily_rollup` table (day, account_pk) filled by
`rollups._rollup_rows` from the same increments (inserted in batches of {PRODUCT_BATCH:,}) and the
`rollup_state` fingerprint written as `rollups.refresh` writes it, so `rollups.query` finds it
current. The same three queries go through `rollups.query` (stale check, SQL over the rollup
joined with accounts and influencers, pandas post-processing); each answer is checked against
`metrics.aggregate` for the same grouping and filter (groups, sums, engagements, EMV, the three
rates, posts active where both carry it). A third child process imports `collectors.store.database`,
`dashboard.analysis.rollups` and `dashboard.analysis.config`, opens the product database and answers the filtered
query with `rollups.query` five times.

### Results

{MARK_BEGIN}
{MARK_END}
"""


def write_doc(results, snap, cmd, pd_version, duck_version) -> None:
    """Append the Aggregation section to docs/performance.md if it is missing, then replace its
    measured block (between the aggregate markers); the rest of the file is left alone."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = [MARK_BEGIN, "",
             f"Measured {when} with `{cmd}` on {platform.node() or 'this machine'}: {os.cpu_count()} cores "
             f"(`nproc`), Python {platform.python_version()}, pandas {pd_version}, DuckDB {duck_version}, "
             f"SQLite {sqlite3.sqlite_version}. Medians of {results[0]['repeat'] if results else 0} runs "
             "(the filtered DuckDB, SQLite, pandas and product-rollup queries: of 10 timings per run).", "",
             _table(results)]
    for v in _verdicts(results):
        block.append(f"- {v}.")
    for r in results:
        rb, m = r["rollup"], r["runs"]
        runs = lambda k: ", ".join(f"{x:.2f}" for x in m[k])  # noqa: E731
        block.append(f"- {r['rows']:,}: the rollup has {rb['rows']:,} rows ({rb['mb']:.0f} MB); building it from "
                     f"scratch took {rb['build_s']:.1f} s (DuckDB group-by {rb['compute_s']:.1f} s, SQLite write "
                     f"{rb['write_s']:.1f} s). Runs (s): engine daily {runs('daily_engine')}, DuckDB daily "
                     f"{runs('daily_duck')}; engine weekly {runs('weekly_engine')}, DuckDB weekly "
                     f"{runs('weekly_duck')}; product rollup daily {runs('daily_product')}, weekly "
                     f"{runs('weekly_product')}; engine filtered {runs('filter_engine')}. Checks: "
                     + "; ".join(f"{k} {v}" for k, v in r["checks"].items() if k != "filter_groups")
                     + f" ({r['checks'].get('filter_groups', 0):,} groups). Converting the frame's keys to "
                     f"categoricals for the pandas baseline (not timed above) took {r['cats_s']:.1f} s.")
        pb = r["product"]
        block.append(f"- {r['rows']:,}, product rollup (`daily_rollup`, one account per influencer and platform: "
                     f"{pb['accounts']:,} accounts): {pb['rows']:,} rows ({pb['mb']:.0f} MB with indexes); built in "
                     f"{pb['build_s']:.1f} s: `rollups._rollup_rows` {pb['compute_s']:.1f} s, inserting in batches "
                     f"of {PRODUCT_BATCH:,} {pb['write_s']:.1f} s (a full `rollups.refresh` also runs "
                     "`load_frames` and `increments`, not timed here).")
        if "rss_raw" in r:
            a, b = r["rss_rollup"], r["rss_raw"]
            block.append(f"- {r['rows']:,}, serving process peak RSS: from the SQLite rollup {a['peak_mb']:,.0f} MB "
                         f"({a['query_s'] * 1000:.2f} ms per query); from the raw frames {b['peak_mb']:,.0f} MB "
                         f"({b['loaded_mb']:,.0f} MB after loading them, {b['query_s']:.2f} s per query).")
            if "rss_product" in r:
                p = r["rss_product"]
                block.append(f"- {r['rows']:,}, serving process peak RSS with the product's code (imports "
                             f"`collectors.store.database`, `dashboard.analysis.rollups`, `dashboard.analysis.config`; `database.connect`, then "
                             f"`rollups.query` five times): {p['peak_mb']:,.0f} MB ({p['loaded_mb']:,.0f} MB after "
                             f"connecting, {p['query_s'] * 1000:.1f} ms per query).")
    if snap:
        block.append(f"- `metrics.snapshot_increments` on {snap['rows']:,} lifetime snapshot rows ({N_POSTS:,} posts, "
                     f"about {snap['rows'] // N_POSTS} captures each; {snap['below']} of {snap['series']:,} "
                     f"post-metric series end below their running maximum after a platform correction): "
                     f"median {snap['median_s']:.1f} s (runs " + ", ".join(f"{x:.1f}" for x in snap["runs"])
                     + f"), {snap['out_rows']:,} increments.")
    block += ["", MARK_END]
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if MARK_BEGIN not in text:
        text = text.rstrip("\n") + "\n\n" + INTRO
    a, b = text.index(MARK_BEGIN), text.index(MARK_END) + len(MARK_END)
    DOC.write_text(text[:a] + "\n".join(block) + text[b:], encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())

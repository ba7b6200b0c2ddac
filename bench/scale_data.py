"""Campaigns at scale for bench/scale.py, written as the platforms' native export files.

``write_campaign(folder, scale)`` writes a campaign ``scale`` times the size of the demo
(`reach demo`, collectors/demo/campaign.py) into ``folder``: the export files under ``folder/exports/``
(what ``reach import folder/exports`` reads), ``roster.csv`` and ``campaign.toml`` beside them,
and ``manifest.json`` with what was written (posts, accounts, files and the rows each table holds
once the folder is imported). Same seed, same bytes.

The demo campaign (seed 2024, counted once on 2026-12-06 from `reach demo` and `reach status`):
451 export files plus a roster, 83 accounts, 2,059 posts, and 12,643 observations (8,227
post_snapshots + 2,055 post_days + 2,361 account_days). Issue 11 puts 100x the demo at "about
200,000 posts and 10 M observations", which is 8x the demo's observations per post: the demo
downloads most exports as lifetime snapshots and has post-day rows for a few YouTube videos only.
So 1x here keeps the demo's posts, accounts and files (2,059 posts on 83 accounts, about 440
files) and has about 100,000 observations, most of them post-days, by downloading the way a team
following a season does: every week of the six campaign weeks (16 Dec 2024 to 26 Jan 2025,
Asia/Shanghai) and once more six weeks after the end (9 Mar 2025), with per-day exports:

* X Premium content exports, ``x/<handle>/account_analytics_content_2024-12-16_<end>.csv``, one
  per account per download, each a lifetime snapshot of the account's posts (snapshots), and the
  account-level daily file ``daily_tweet_activity_metrics_<handle>_20241216_<end>_en.csv`` once
  at the end (account-days; the file name names the account);
* YouTube Studio ZIPs ``youtube/Content 2024-12-16_<end> <channel>.zip`` (Table data: a snapshot
  per video; Chart data: every video per day, the post-days; Totals: the channel per day);
* Meta Business Suite post exports per business portfolio of up to 5 Facebook pages or
  6 Instagram accounts: lifetime (``facebook/Dec-16-2024_<end>_<portfolio id>.csv``) and per day
  for the days since the previous download (``facebook/daily/...``, Meta's row per post and day,
  zeros before the post existed).

Accounts per 1x: 30 X, 15 YouTube, 20 Facebook, 18 Instagram (83; the roster ties all but the YouTube
channels, which files name by channel name only, to 40 influencers); about 0.59 posts per account
and campaign day (2,059 posts). Capture times come from the file names (the end of the range,
as collectors/pipeline.py ``capture_time_from_name`` reads it). The counts in the manifest are
what the database must hold after import: ``tests/test_bench_scale.py`` checks them.

The two fixed cases of the issue's aims table: ``write_x_folder`` (N X content exports of 500
posts each, one account each) and ``write_x_file`` (one X content export of N rows).

Everything is built with numpy arrays per file and joined as strings; nothing holds more than one
file's rows. 100x (about 44,000 files, 200,000 posts, 10 M observations) takes a minute or two.
"""
from __future__ import annotations

import io
import json
import sys
import time as _time
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's collectors, as the other benches

# The native headers are the demo's: one list per export, whichever generator writes it.
from collectors.demo.campaign import FB_HEADER, IG_HEADER, X_LEGACY_METRICS  # noqa: E402

START = date(2024, 12, 16)  # a Monday, like the demo
END = date(2025, 1, 26)
CAMPAIGN_DAYS = (END - START).days + 1  # 42
# The last day each download covers: six weekly downloads (Sundays) and one six weeks after the end.
ROUND_ENDS = tuple(START + timedelta(days=6 + 7 * i) for i in range(6)) + (date(2025, 3, 9),)
LAST = ROUND_ENDS[-1]
SPAN_DAYS = (LAST - START).days + 1  # 84 days of data by the last download
UTC_OFFSET = 8 * 3600  # Asia/Shanghai: UTC+8 all year

DEMO = dict(files=451, accounts=83, posts=2059, snapshots=8227, post_days=2055, account_days=2361,
            observations=12643)
MIX = {"x": 30, "youtube": 15, "facebook": 20, "instagram": 18}  # accounts per 1x: 83, as the demo
PORTFOLIO = {"facebook": 5, "instagram": 6}
POSTS_PER_DAY = DEMO["posts"] / (DEMO["accounts"] * CAMPAIGN_DAYS)  # 0.59
SIZE = {"x": 1500, "youtube": 2500, "facebook": 2500, "instagram": 4000}
LIKE_RATE = {"x": 0.015, "youtube": 0.035, "facebook": 0.02, "instagram": 0.045}
TAU_HOURS = {"x": 7, "youtube": 34, "facebook": 14, "instagram": 15}
PLATFORM_SEED = {"x": 1, "youtube": 2, "facebook": 3, "instagram": 4}

CAMPAIGN_TOML = """\
# Written by bench/scale_data.py: the demo campaign's window and timezone.
[campaign]
name = "Scale benchmark campaign ({scale}x the demo)"
timezone = "Asia/Shanghai"
start = 2024-12-16
end = 2025-01-26
first_snapshot = "baseline"

[[events]]
date = 2024-12-22
label = "Launch ceremony, Yiwu"

[engagement]
metrics = ["likes", "comments", "shares", "saves"]

[cpm]
x = 6.5
facebook = 10.0
instagram = 10.0
youtube = 20.0
"""

X_HEADER = ("Post id,Date,Post text,Post Link,Impressions,Likes,Engagements,Bookmarks,Shares,New follows,"
            "Replies,Reposts,Profile visits,Detail Expands,URL Clicks,Hashtag Clicks,Permalink Clicks")
X_DAILY_HEADER = ",".join(f'"{h}"' for h in ["Date", "Tweets published"] + X_LEGACY_METRICS
                          + ["promoted " + c for c in X_LEGACY_METRICS])
YT_TABLE_HEADER = ("Content,Video title,Video publish time,Duration,Views,Watch time (hours),Subscribers,Impressions,"
                   "Impressions click-through rate (%)")
YT_CHART_HEADER = "Date,Content,Video title,Video publish time,Duration,Views"
X_TEXTS = [
    "Yiwu hosts the Belt and Road \"Jin\" Hub campaign launch #BRI #Yiwu",
    "Small commodities, big world: traders met buyers from 40 countries today",
    "Live now from the International Trade City, day {n}",
    "Thread 1/{n} on how a market town became a global hub",
    "\u201cWe came for the lanterns, we stayed for the people\u201d, said a visitor from Lagos",
    "Photo of the day #{n}",
    "Export volume rose 12.4% year on year #JinHub",
    "Food street tour \U0001f35c part {n}",
]
META_TEXTS = ["Behind the scenes at a Yiwu workshop #{n}", "Night market in Jinhua after the launch",
              "Our stall's best seller this week: scarves", "Q&A with buyers from Madrid, part {n}",
              "“一带一路”金枢国际传播活动 #{n}"]
_B64 = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
_YT_LAST = np.array(list("AEIMQUYcgkosw048"))
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass
class Manifest:
    """What was written, and what the database holds once it is imported (``observations``)."""

    scale: float
    files: int = 0
    accounts: int = 0
    posts: int = 0
    snapshots: int = 0
    post_days: int = 0
    account_days: int = 0
    bytes: int = 0
    seconds: float = 0.0
    by_platform: dict = field(default_factory=dict)

    @property
    def observations(self) -> int:
        return self.snapshots + self.post_days + self.account_days

    def add(self, platform: str, **counts) -> None:
        mine = self.by_platform.setdefault(platform, dict(files=0, accounts=0, posts=0, snapshots=0, post_days=0,
                                                          account_days=0))
        for k, v in counts.items():
            mine[k] += int(v)
            setattr(self, k, getattr(self, k) + int(v))

    def to_dict(self) -> dict:
        return {**asdict(self), "observations": self.observations}


# --- time and text helpers ----------------------------------------------------------------------

def _midnight(d: date) -> int:
    """Unix seconds of local midnight starting day ``d`` (Asia/Shanghai)."""
    return (d - date(1970, 1, 1)).days * 86400 - UTC_OFFSET


def _day(i: int) -> date:
    return START + timedelta(days=int(i))


def _x_date(d: date) -> str:
    return f'"{_WEEKDAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day}, {d.year}"'  # quoted: holds a comma


def _md(d: date) -> str:
    return f'"{_MONTHS[d.month - 1]} {d.day}, {d.year}"'


def _mdy(d: date) -> str:
    return f"{d.month:02d}/{d.day:02d}/{d.year}"


def _quote(s: str) -> str:
    return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in ',"\n\r') else s


def _meta_cell(s: str) -> str:
    """Meta quotes a cell holding a space, comma, quote or newline (as its real files do)."""
    return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in ' ,"\n\r') else s


def _frac(hours: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Share of a post's lifetime total reached ``hours`` after publishing (the demo's curve)."""
    h = np.maximum(hours, 0.0)
    return 0.9 * (1 - np.exp(-h / tau)) + 0.1 * (1 - np.exp(-h / (10 * tau)))


def _s(a: np.ndarray) -> list[str]:
    return a.astype(np.int64).astype(str).tolist()


# --- the campaign ----------------------------------------------------------------------------

@dataclass
class _Posts:
    """One platform's posts, sorted by account and publish time; ``bounds`` slices an account's."""

    acc: np.ndarray
    pub: np.ndarray  # unix seconds
    day: np.ndarray  # campaign day index (0 = 16 Dec 2024)
    views: np.ndarray
    likes: np.ndarray
    comments: np.ndarray
    shares: np.ndarray
    tau: np.ndarray
    bounds: np.ndarray

    def of(self, a: int, until: int | None = None) -> np.ndarray:
        """Positions of account ``a``'s posts published before ``until`` (unix seconds)."""
        lo, hi = self.bounds[a], self.bounds[a + 1]
        if until is not None:
            hi = lo + int(np.searchsorted(self.pub[lo:hi], until, side="left"))
        return np.arange(lo, hi)

    def at(self, idx: np.ndarray, t: np.ndarray | int, final: np.ndarray) -> np.ndarray:
        """Lifetime counts of ``final`` at time(s) ``t`` (floors, so differences add up)."""
        return np.floor(final * _frac((t - self.pub[idx]) / 3600.0, self.tau[idx])).astype(np.int64)


def _posts(rng: np.random.Generator, platform: str, n_acc: int) -> _Posts:
    counts = rng.poisson(POSTS_PER_DAY, size=(n_acc, CAMPAIGN_DAYS))
    acc = np.repeat(np.repeat(np.arange(n_acc), CAMPAIGN_DAYS), counts.ravel())
    day = np.repeat(np.tile(np.arange(CAMPAIGN_DAYS), n_acc), counts.ravel())
    n = len(acc)
    minute = rng.integers(7 * 60, 20 * 60 + 30, n)
    pub = _midnight(START) + day.astype(np.int64) * 86400 + minute * 60 + rng.integers(0, 60, n)
    order = np.lexsort((pub, acc))
    acc, day, pub = acc[order], day[order], pub[order]
    size = SIZE[platform] * rng.lognormal(0, 0.45, n_acc)
    views = size[acc] * rng.lognormal(0, 0.6, n) * np.where(day == 6, 5.0, 1.0)  # launch day, 22 Dec
    likes = views * LIKE_RATE[platform] * rng.uniform(0.5, 1.6, n)
    bounds = np.searchsorted(acc, np.arange(n_acc + 1))
    return _Posts(acc, pub, day, views, likes, likes * rng.uniform(0.04, 0.14, n), likes * rng.uniform(0.08, 0.25, n),
                  TAU_HOURS[platform] * rng.uniform(0.7, 1.3, n), bounds)


def _n_accounts(platform: str, scale: float) -> int:
    return max(1, int(round(MIX[platform] * scale)))


def _ids(prefix: str, n: int, width: int, start: int = 0) -> list[str]:
    return [f"{prefix}{i:0{width}d}" for i in range(start, start + n)]


def _youtube_ids(rng: np.random.Generator, n: int) -> list[str]:
    """11-character video ids: 10 characters from a unique number, a last one from Studio's 16."""
    x = (np.arange(n, dtype=np.int64) * 2_654_435_761 + int(rng.integers(0, 1 << 30))) & ((1 << 60) - 1)
    chars = np.stack([_B64[(x >> (6 * i)) & 63] for i in range(10)] + [_YT_LAST[rng.integers(0, 16, n)]], axis=1)
    out = chars.view(f"<U{chars.shape[1]}").ravel().tolist()
    # A leading "-" is written " -..." by Studio (its CSV-injection guard); keep ids simple here.
    return ["A" + s[1:] if s.startswith("-") else s for s in out]


def _write(folder: Path, rel: str, data: bytes, m: Manifest, platform: str) -> None:
    p = folder / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    m.bytes += len(data)
    m.add(platform, files=1)


def _zip(members: list[tuple[str, str]], d: date) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in members:
            info = zipfile.ZipInfo(name, date_time=(d.year, d.month, d.day, 23, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, text.encode("utf-8"))
    return buf.getvalue()


def _x(folder: Path, rng: np.random.Generator, scale: float, m: Manifest, roster: list) -> None:
    n_acc = _n_accounts("x", scale)
    P = _posts(rng, "x", n_acc)
    handles = _ids("ScaleX", n_acc, 5)
    ms = P.pub * 1000 + rng.integers(0, 1000, len(P.pub))
    pid = _s(((ms - 1288834974657) << 22) | rng.integers(0, 1 << 22, len(P.pub)))
    tpl = rng.integers(0, len(X_TEXTS), len(P.pub))
    day_text = [_x_date(_day(i)) for i in range(CAMPAIGN_DAYS)]
    prefix = [f"{pid[i]},{day_text[P.day[i]]},{_quote(X_TEXTS[tpl[i]].format(n=i % 997))},"
              f"https://x.com/{handles[P.acc[i]]}/status/{pid[i]}" for i in range(len(pid))]
    coef = [1, None, None, 0.1, None, 0.0006, None, None, 0.004, 0.012, 0.005, 0.001, 0.0005]
    seen = np.zeros(n_acc, dtype=bool)
    for end in ROUND_ENDS:
        t = _midnight(end + timedelta(days=1))
        for a in range(n_acc):
            idx = P.of(a, t)[::-1]  # newest first
            if not len(idx):
                continue  # nothing posted yet: an empty list is not worth a download
            imp = P.at(idx, t, P.views[idx])
            likes, replies, reposts = (P.at(idx, t, v[idx]) for v in (P.likes, P.comments, P.shares))
            other = [P.at(idx, t, P.views[idx] * c) if c is not None else None for c in coef]
            bookmarks, follows, profile, detail, clicks, hashtag, permalink = (
                other[3], other[5], other[8], other[9], other[10], other[11], other[12])
            eng = likes + replies + reposts + bookmarks + clicks + profile + detail + hashtag + permalink + follows
            cols = [_s(c) for c in (imp, likes, eng, bookmarks, reposts // 4, follows, replies, reposts, profile,
                                    detail, clicks, hashtag, permalink)]
            lines = [X_HEADER] + [",".join(r) for r in zip([prefix[i] for i in idx.tolist()], *cols)]
            _write(folder, f"x/{handles[a]}/account_analytics_content_{START}_{end}.csv",
                   "\n".join(lines).encode("utf-8"), m, "x")  # no final newline, as X writes it
            m.add("x", snapshots=len(idx))
            seen[a] = True
    # The account-level daily file, downloaded once at the end (its name names the account).
    edges = _midnight(START) + 86400 * np.arange(SPAN_DAYS + 1)
    for a in range(n_acc):
        idx = P.of(a)
        daily = {}
        for key, final in (("imp", P.views), ("likes", P.likes), ("replies", P.comments), ("rt", P.shares)):
            life = P.at(idx[:, None], edges[None, :], final[idx][:, None])
            daily[key] = np.diff(life, axis=1).sum(axis=0)
        bg = (SIZE["x"] * 0.3 * (0.75 + 0.5 * ((np.arange(SPAN_DAYS) * 7919 + a) % 97) / 97)).astype(np.int64)
        imp = daily["imp"] + bg
        profile, clicks, detail = imp * 4 // 1000, imp * 5 // 1000, imp * 12 // 1000
        eng = daily["likes"] + daily["replies"] + daily["rt"] + profile + clicks + detail
        n_posts = np.bincount(P.day[idx], minlength=SPAN_DAYS)[:SPAN_DAYS]
        rate = np.where(imp > 0, eng / np.maximum(imp, 1), 0.0)
        lines = [X_DAILY_HEADER]
        for i in range(SPAN_DAYS):
            cells = [_day(i).isoformat(), n_posts[i], imp[i], eng[i], f"{rate[i]:.4f}", daily["rt"][i],
                     daily["replies"][i], daily["likes"][i], profile[i], clicks[i], 0, detail[i], 0, 0, 0,
                     imp[i] * 6 // 10000, 0, 0, 0, 0] + ["-"] * 18
            lines.append(",".join(f'"{c}"' for c in cells))
        _write(folder, f"x/{handles[a]}/daily_tweet_activity_metrics_{handles[a]}_{START:%Y%m%d}_{LAST:%Y%m%d}_en.csv",
               ("\n".join(lines) + "\n").encode("utf-8"), m, "x")
        m.add("x", account_days=SPAN_DAYS)
        seen[a] = True
    m.add("x", accounts=int(seen.sum()), posts=len(P.pub))
    roster += [("x", handles[a], "") for a in range(n_acc)]


def _youtube(folder: Path, rng: np.random.Generator, scale: float, m: Manifest, roster: list) -> None:
    n_acc = _n_accounts("youtube", scale)
    P = _posts(rng, "youtube", n_acc)
    names = _ids("Scale Channel ", n_acc, 5)
    vid = _youtube_ids(rng, len(P.pub))
    title = [f"Episode {i % 9973}: the road and the market" for i in range(len(vid))]
    pub_text = [_md(_day(d)) for d in range(CAMPAIGN_DAYS)]
    dur = rng.integers(20, 900, len(vid))
    edges = _midnight(START) + 86400 * np.arange(SPAN_DAYS + 1)
    day_iso = [_day(i).isoformat() for i in range(SPAN_DAYS)]
    seen = np.zeros(n_acc, dtype=bool)
    for end in ROUND_ENDS:
        t = _midnight(end + timedelta(days=1))
        n_days = (end - START).days + 1
        for a in range(n_acc):
            idx = P.of(a, t)
            if not len(idx):
                continue
            views = P.at(idx, t, P.views[idx])
            order = np.lexsort((idx, -views))
            watch = views * dur[idx] * 0.35 / 3600
            subs = views * 3 // 1000
            impressions = views * 10
            table = [YT_TABLE_HEADER, f"Total,,,,{views.sum()},{watch.sum():.4f},{subs.sum()},{impressions.sum()},6.00"]
            for j in order.tolist():
                i = idx[j]
                table.append(f"{vid[i]},{title[i]},{pub_text[P.day[i]]},{dur[i]},{views[j]},{watch[j]:.4f},"
                             f"{subs[j]},{impressions[j]},6.00")
            # Chart data: every video and day from its publishing day to the end of the range.
            life = P.at(idx[:, None], edges[None, :n_days + 1], P.views[idx][:, None])
            daily = np.diff(life, axis=1)
            live = np.arange(n_days)[None, :] >= P.day[idx][:, None]
            rows_i, days_i = np.nonzero(live)
            vals = daily[rows_i, days_i].tolist()
            chart = [YT_CHART_HEADER] + [
                f"{day_iso[d]},{vid[i]},{title[i]},{pub_text[P.day[i]]},{dur[i]},{v}"
                for i, d, v in zip(idx[rows_i].tolist(), days_i.tolist(), vals)]
            bg = int(SIZE["youtube"] * 0.2)
            totals = ["Date,Views"] + [f"{day_iso[d]},{int(v) + bg}" for d, v in enumerate(daily.sum(axis=0).tolist())]
            _write(folder, f"youtube/Content {START}_{end} {names[a]}.zip",
                   _zip([("Table data.csv", "\n".join(table) + "\n"), ("Chart data.csv", "\n".join(chart) + "\n"),
                         ("Totals.csv", "\n".join(totals) + "\n")], end), m, "youtube")
            m.add("youtube", snapshots=len(idx))
            seen[a] = True
            if end == LAST:  # the last download holds every day the earlier ones held, and more
                m.add("youtube", post_days=len(rows_i), account_days=n_days)
    m.add("youtube", accounts=int(seen.sum()), posts=len(P.pub))
    # Not in the roster: a channel is known by the name in its ZIP's file name only, which a
    # roster's handle or id does not match (the demo names it with --account); unassigned.


def _meta(folder: Path, rng: np.random.Generator, scale: float, m: Manifest, roster: list, platform: str) -> None:
    fb = platform == "facebook"
    n_acc = _n_accounts(platform, scale)
    P = _posts(rng, platform, n_acc)
    handles = _ids("scalefb" if fb else "scale.ig", n_acc, 5)
    names = _ids("Scale Page " if fb else "Scale Account ", n_acc, 5)
    acc_ids = _ids("1000" if fb else "178414", n_acc, 11, start=int(rng.integers(10**9, 10**10)))
    n = len(P.pub)
    post_ids = _ids("1" if fb else "18", n, 15 if fb else 16, start=int(rng.integers(10**13, 5 * 10**13)))
    tpl = rng.integers(0, len(META_TEXTS), n)
    prefix = []
    for i in range(n):
        a = P.acc[i]
        text = META_TEXTS[tpl[i]].format(n=i % 997)
        when = f"{_mdy(_day(P.day[i]))} {(P.pub[i] + UTC_OFFSET) % 86400 // 3600:02d}:{(P.pub[i] + UTC_OFFSET) % 3600 // 60:02d}"
        if fb:
            url = f"https://www.facebook.com/{handles[a]}/posts/pfbid0{post_ids[i]}"
            cells = [post_ids[i], acc_ids[a], names[a], text, "", "0", when, "N/A", url, "0", "0", "Photos",
                     "", "", "", ""]
        else:
            url = f"https://www.instagram.com/p/C{post_ids[i][-10:]}/"
            cells = [post_ids[i], acc_ids[a], handles[a], names[a], text, "0", when, url, "IG image", ""]
        prefix.append(",".join(_meta_cell(c) for c in cells))
    header = ",".join(_meta_cell(h) for h in (FB_HEADER if fb else IG_HEADER))
    size = PORTFOLIO[platform]
    groups = [np.arange(g, min(g + size, n_acc)) for g in range(0, n_acc, size)]
    portfolio = _ids("1", len(groups), 15, start=int(rng.integers(10**14, 5 * 10**14)))
    edges = _midnight(START) + 86400 * np.arange(SPAN_DAYS + 1)
    seen = np.zeros(n_acc, dtype=bool)

    def rows(idx: np.ndarray, views, reach, likes, comments, shares, when: list[str]) -> list[str]:
        cols = [_s(c) for c in (views, reach, likes, comments, shares, views // 100)]
        if fb:  # Views, Reach, Reactions comments and shares, Reactions, Comments, Shares, 5 empty, clicks x2, 3 empty
            rcs = _s(likes + comments + shares)
            return [f"{p},{w},{v},{r},{x},{lk},{c},{s},,,,,,{k},{k},,,"
                    for p, w, v, r, x, lk, c, s, k in zip([prefix[i] for i in idx.tolist()], when, cols[0], cols[1],
                                                         rcs, cols[2], cols[3], cols[4], cols[5])]
        # Views, Reach, Likes, Shares, Follows, Comments, Saves
        return [f"{p},{w},{v},{r},{lk},{s},0,{c},{k}"
                for p, w, v, r, lk, s, c, k in zip([prefix[i] for i in idx.tolist()], when, cols[0], cols[1], cols[2],
                                                   cols[4], cols[3], cols[5])]

    prev = START
    for end in ROUND_ENDS:
        t = _midnight(end + timedelta(days=1))
        first, last = (prev - START).days, (end - START).days
        for g, members in enumerate(groups):
            idx = np.concatenate([P.of(a, t) for a in members])
            if not len(idx):
                continue
            idx = idx[np.lexsort((idx, P.pub[idx]))]
            life = [P.at(idx, t, f[idx]) for f in (P.views, P.likes, P.comments, P.shares)]
            lines = [header] + rows(idx, life[0], life[0] * 3 // 4, life[1], life[2], life[3], ["Lifetime"] * len(idx))
            _write(folder, f"{platform}/{START:%b-%d-%Y}_{end:%b-%d-%Y}_{portfolio[g]}.csv",
                   ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"), m, platform)
            m.add(platform, snapshots=len(idx))
            # Per day: a row for every post and every day of the range, zeros before it existed.
            n_days = last - first + 1
            e = edges[first:last + 2]
            daily = [np.maximum(np.diff(P.at(idx[:, None], e[None, :], f[idx][:, None]), axis=1), 0)
                     for f in (P.views, P.likes, P.comments, P.shares)]
            ii = np.repeat(idx, n_days)
            when = [_mdy(_day(first + d)) for d in range(n_days)] * len(idx)
            dv = [d.ravel() for d in daily]
            lines = [header] + rows(ii, dv[0], dv[0] * 3 // 4, dv[1], dv[2], dv[3], when)
            _write(folder, f"{platform}/daily/{prev:%b-%d-%Y}_{end:%b-%d-%Y}_{portfolio[g]}.csv",
                   ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"), m, platform)
            m.add(platform, post_days=len(ii))
            seen[members[np.isin(members, P.acc[idx])]] = True
        prev = end + timedelta(days=1)
    m.add(platform, accounts=int(seen.sum()), posts=n)
    roster += [(platform, handles[a], acc_ids[a]) for a in range(n_acc)]


CATEGORIES = ("official", "merchant", "entrepreneur", "foreign resident", "journalist", "media",
              "international influencer")


def _roster(accounts: list, scale: float) -> str:
    """About two accounts per influencer, as the demo (40 influencers at 1x)."""
    n_inf = max(1, int(round(40 * scale)))
    lines = ["name,category,platform,handle,account_id"]
    for k, (platform, handle, account_id) in enumerate(accounts):
        j = k % n_inf
        lines.append(f"Influencer {j:05d},{CATEGORIES[j % len(CATEGORIES)]},{platform},{handle},{account_id}")
    return "\n".join(lines) + "\n"


def write_campaign(folder: Path | str, scale: float, seed: int = 11) -> Manifest:
    """Write the campaign at ``scale`` x the demo into ``folder`` (see the module docstring)."""
    t0 = _time.perf_counter()
    folder = Path(folder)
    exports = folder / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    m = Manifest(scale=scale)
    roster: list = []
    for platform, writer in (("x", _x), ("youtube", _youtube), ("facebook", _meta), ("instagram", _meta)):
        rng = np.random.default_rng([seed, PLATFORM_SEED[platform]])
        if writer is _meta:
            writer(exports, rng, scale, m, roster, platform)
        else:
            writer(exports, rng, scale, m, roster)
    (folder / "roster.csv").write_text(_roster(roster, scale), encoding="utf-8")
    (folder / "campaign.toml").write_text(CAMPAIGN_TOML.format(scale=scale), encoding="utf-8")
    m.seconds = _time.perf_counter() - t0
    (folder / "manifest.json").write_text(json.dumps(m.to_dict(), indent=1), encoding="utf-8")
    return m


# --- the fixed cases of the aims table ---------------------------------------------------------

def _x_rows(rng: np.random.Generator, n: int, handles: list[str], acc: np.ndarray, first_id: int) -> list[str]:
    """X content rows for ``n`` posts of the week 16-22 Dec 2024 (counts shaped like the real sample)."""
    day = rng.integers(0, 7, n)
    pid = _s(first_id + np.arange(n, dtype=np.int64) * 7919 + rng.integers(0, 7000, n))
    tpl = rng.integers(0, len(X_TEXTS), n).tolist()
    texts = [_quote(t.format(n=k)) for k in range(997) for t in X_TEXTS]  # every (template, n) once
    day_text = [_x_date(_day(i)) for i in range(7)]
    means = [1500, 8, 40, 1, 0.3, 0.2, 1, 2, 2, 15, 1, 0.2, 0.2]
    cols = [_s(rng.negative_binomial(1, 1 / (1 + mu), n)) for mu in means]
    k = (np.arange(n) % 997).tolist()
    return [f"{p},{day_text[d]},{texts[kk * len(X_TEXTS) + t]},https://x.com/{handles[a]}/status/{p},{','.join(r)}"
            for p, d, t, kk, a, *r in zip(pid, day.tolist(), tpl, k, acc.tolist(), *cols)]


def write_x_folder(folder: Path | str, n_files: int, posts_per_file: int = 500, seed: int = 12, *,
                   first: int = 0, prefix: str = "BenchX") -> Manifest:
    """``n_files`` X content exports of ``posts_per_file`` posts each, one account per file.

    Files ``first`` to ``first + n_files - 1``: calls with the same ``posts_per_file`` and other
    numbers write other accounts and post ids (bench/load.py streams files one call at a time)."""
    t0 = _time.perf_counter()
    folder = Path(folder)
    m = Manifest(scale=0)
    rng = np.random.default_rng(seed)
    for f in range(first, first + n_files):
        handle = f"{prefix}{f:05d}"
        rows = _x_rows(rng, posts_per_file, [handle], np.zeros(posts_per_file, dtype=np.int64),
                       1_869_000_000_000_000_000 + f * posts_per_file * 7919)
        _write(folder, f"x/{handle}/account_analytics_content_2024-12-16_2024-12-22.csv",
               "\n".join([X_HEADER] + rows).encode("utf-8"), m, "x")
        m.add("x", accounts=1, posts=posts_per_file, snapshots=posts_per_file)
    m.seconds = _time.perf_counter() - t0
    return m


def write_x_file(folder: Path | str, rows: int, seed: int = 13, chunk: int = 200_000) -> Manifest:
    """One X content export of ``rows`` posts over 200 accounts, written in chunks."""
    t0 = _time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    m = Manifest(scale=0)
    rng = np.random.default_rng(seed)
    handles = [f"BenchBig{i:03d}" for i in range(200)]
    path = folder / "account_analytics_content_2024-12-16_2024-12-22.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(X_HEADER)
        for lo in range(0, rows, chunk):
            n = min(chunk, rows - lo)
            part = _x_rows(rng, n, handles, rng.integers(0, len(handles), n), 1_869_000_000_000_000_000 + lo * 7919)
            out.write("\n" + "\n".join(part))
    m.bytes = path.stat().st_size
    m.add("x", files=1, accounts=len(handles), posts=rows, snapshots=rows)
    m.seconds = _time.perf_counter() - t0
    return m

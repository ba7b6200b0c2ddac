"""`reach demo --live`: the demo campaign's last day, played as if it were happening now.

The dashboard shows the campaign window of campaign.toml (16 Dec 2024 to 26 Jan 2025), so data
stamped with today's date would be invisible on the Live page. The simulation therefore runs its
own clock inside the window: it starts at 07:00 on the campaign's last day (Sunday 26 Jan 2025,
Asia/Shanghai) and moves on STEP (five minutes) per drop. On that day a few TikTok accounts of the
demo cast post the closing livestream (new posts, three times a usual post's size); each drop is
what TikTok Studio's post list would say at the simulated moment, one file per account, with the
moment in its ``Time`` column, so every drop is a new snapshot whose totals are at least the last
one's (the same curves as collectors/demo/campaign.py: numbers only grow). Each drop is written under a
hidden name and renamed into the inbox, as a careful uploader would.

By default the same process also runs the watcher on the inbox (collectors/watch.py, as
`reach watch` does), so `reach serve` in one terminal and `reach demo --live` in another is all it
takes: the Live page's 30-second refresh shows the totals of the last day climbing. On the whole
demo campaign (`reach demo`, or `make run` on first start) the live posts add to the last day;
on an empty database the live accounts' data is all there is.

The clock is kept in the database (collector_state ``demo``/``live_clock``), so a second run goes on
where the first stopped; at 23:55 the simulated day is over and the command says so.
"""
from __future__ import annotations

import os
import random
import time as _time
from datetime import datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

from collectors.store import ledger, schema

from . import campaign

LIVE_DAY = campaign.END  # the campaign's last day, inside the window the Live page shows
START = datetime.combine(LIVE_DAY, time(7, 0), campaign.TZ)
LAST = datetime.combine(LIVE_DAY, time(23, 55), campaign.TZ)
STEP = timedelta(minutes=5)  # simulated time per drop
LIVE_ACCOUNTS = ("beltroadbytes", "mayalindqvarn", "kofi.goes.east", "xiaofang.scarves")  # TikTok handles
CLOSING_BOOST = 3.0  # the closing livestream draws three times a usual post's audience
STATE = ("demo", "live_clock")  # collector_state: the last simulated moment dropped


class LiveDay:
    """The demo cast with the live day's extra posts; ``files(t)`` are the exports at moment ``t``."""

    def __init__(self, seed: int = 2024):
        cast = campaign.build_campaign(seed)
        self.roster = campaign.write_roster(cast)
        by = {(a.platform, a.handle): a for a in cast}
        self.accounts = [by[("tiktok", h)] for h in LIVE_ACCOUNTS]
        rng = random.Random(seed * 131 + LIVE_DAY.toordinal())
        for k, acc in enumerate(self.accounts):
            # One post shortly before the first drop (so the first drop already shows the day
            # starting), then three more spread over the day.
            times = [START - timedelta(minutes=25 - 7 * k)]
            times += sorted(datetime.combine(LIVE_DAY, time(h, rng.randint(0, 59)), campaign.TZ)
                            for h in rng.sample(range(9, 22), 3))
            for published in times:
                post = campaign._make_post(rng, acc, published)
                post.final = {m: v * CLOSING_BOOST for m, v in post.final.items()}
                acc.posts.append(post)
            acc.posts.sort(key=lambda p: (p.published, p.post_id))

    def files(self, t: datetime) -> dict[str, bytes]:
        return {f"Video Posts {acc.handle} {t:%Y-%m-%d %H%M}.csv": campaign.write_tiktok_posts(acc, t)
                for acc in self.accounts}

    def live_post_ids(self) -> set[str]:
        return {p.post_id for a in self.accounts for p in a.posts if p.published.date() == LIVE_DAY}


def drop(inbox: Path, files: dict[str, bytes]) -> list[Path]:
    """Write each file under a hidden name, then rename it into the inbox: the watcher never
    sees half a file."""
    out = []
    for name, data in files.items():
        tmp = inbox / f".{name}.writing"
        tmp.write_bytes(data)
        os.replace(tmp, inbox / name)
        out.append(inbox / name)
    return out


def next_moment(engine: sa.Engine) -> datetime:
    last = ledger.get_state(engine, *STATE)
    return START if last is None else datetime.fromisoformat(last).astimezone(campaign.TZ) + STEP


def run(engine: sa.Engine, archive, inbox: Path, *, every: float = 5.0, drops: int | None = None,
        seed: int = 2024, watcher=None, sleep=_time.sleep, clock=_time.monotonic, out=print) -> int:
    """Drop the live day's exports into ``inbox``, one moment every ``every`` seconds, ``drops``
    times (None: until the day is over or the watcher is stopped); with a ``watcher``, import
    them meanwhile and, at the end, what is still waiting."""
    inbox = Path(inbox)
    t = next_moment(engine)
    if t > LAST:
        out(f"the live demo has played the campaign's last day to its end ({LAST:%Y-%m-%d %H:%M}); "
            "build the demo anew to see it again")
        return 0
    day = LiveDay(seed)
    with engine.connect() as conn:
        people = conn.execute(sa.select(sa.func.count()).select_from(schema.influencers)).scalar()
        files_in = conn.execute(sa.select(sa.func.count()).select_from(schema.imports)).scalar()
    if not people:
        # The demo's roster, so the live accounts show under their influencers' names.
        from collectors.roster import import_roster

        import_roster(engine, archive, "roster.csv", day.roster)
    if not files_in:
        out("the database holds no campaign yet: only the live day will show (run `reach demo` first "
            "for the whole campaign)")
    out(f"live demo: {LIVE_DAY:%a %d %b %Y} from {t:%H:%M} (simulated, {campaign.TZ.key}), {STEP.seconds // 60} "
        f"minutes per drop, a drop every {every:g} s into {inbox}"
        + ("" if watcher is not None else "; import them with `reach watch " + str(inbox) + "`")
        + ". The dashboard's Live page (reach serve) shows it within 30 s.")
    n = 0
    while drops is None or n < drops:
        if watcher is not None and watcher.stopping:
            break
        if t > LAST:
            out(f"the campaign's last day is over ({LAST:%H:%M} simulated); the live demo stops")
            break
        written = drop(inbox, day.files(t))
        try:
            ledger.set_state(engine, *STATE, t.isoformat())
            ledger.set_demo_clock(engine, t)  # the pages' "now" (clock.clock): the live day looks live
        except sa.exc.DBAPIError as e:  # a long import holding the lock: the next run repeats this moment
            out(f"warning: the simulated clock was not saved ({e.orig})")
        n += 1
        out(f"drop {n}: {t:%Y-%m-%d %H:%M} (simulated): {len(written)} TikTok exports -> {inbox}")
        t += STEP
        if drops is None or n < drops:
            _wait(every, watcher, sleep, clock)
    if watcher is not None and not watcher.stopping:
        watcher.drain(timeout=watcher.settle + 5 * watcher.poll_every)
    return 0


def _wait(seconds: float, watcher, sleep, clock) -> None:
    """Wait ``seconds``, letting the watcher import what has become ready meanwhile."""
    end = clock() + seconds
    while True:
        if watcher is not None:
            watcher.poll()
            if watcher.stopping:
                return
        left = end - clock()
        if left <= 0:
            return
        sleep(min(left, watcher.poll_every) if watcher is not None else left)

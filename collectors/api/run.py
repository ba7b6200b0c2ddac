"""`reach collect`: for each platform, for each target, fetch pages, store each as a snapshot file.

Each page of canonical rows becomes one snapshot file (collectors/platforms/api_snapshots.py),
imported by the same ``Importer`` as an export, with ``source="api"``: archived, in the import
history, replayed by ``reach rebuild``, and "already imported" when the bytes repeat. After a page
is stored, the cursor of the next page is saved (``collector_state``), so a run that stops half-way
(a crash, Ctrl-C, a server that keeps failing) resumes there next time instead of storing the first
pages twice; the cursor is cleared when the target is done. YouTube's spent daily quota pauses the
platform until the next midnight Pacific time (``paused_until``).

A platform that fails is recorded in ``import_failures`` (source "api"), so the dashboard's
freshness line shows the last error per platform, and the other platforms go on.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random as _random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

import requests
import sqlalchemy as sa

from .. import messages
from ..archive import Archive
from ..errors import ReachError, UsageError
from ..messages import Message
from ..model import DEFAULT_TIMEZONE
from ..names import PLATFORM_ALIASES, closest
from ..pipeline import FileResult, Importer
from ..platforms import api_snapshots
from ..store import ledger
from . import Collector, Context, Target, collectors
from .credentials import Credentials
from .http import (ApiError, Client, Interrupted, QuotaExhausted, Redactor, WaitTooLong, check_loopback, guard_logs,
                   new_session)
from .limits import LocalLimiter

log = logging.getLogger("collectors.api")
PACIFIC = ZoneInfo("America/Los_Angeles")
ALIASES = {"meta": ("instagram", "facebook"), "twitter": ("x",)}
ORDER = ("youtube", "instagram", "facebook", "x", "tiktok", "bilibili")


@dataclass
class PlatformResult:
    platform: str
    status: str = "ok"  # ok | skipped | paused | stopped | failed | interrupted
    targets: int = 0
    posts: set = field(default_factory=set)
    snapshots: int = 0
    pages: int = 0
    message: str = ""
    notes: list[str] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)
    target_noun: str = "accounts"
    post_noun: str = "posts"

    @property
    def failed(self) -> bool:
        return self.status in ("stopped", "failed")

    def line(self) -> str:
        if self.status in ("skipped", "paused"):
            return f"{self.platform}: {self.status}: {self.message}"
        done = (f"{_n(self.targets, self.target_noun)}, {_n(len(self.posts), self.post_noun)}, "
                f"{_n(self.snapshots, 'snapshots')}")
        if self.status == "ok":
            return f"{self.platform}: {done}"
        return f"{self.platform}: {self.status}: {self.message}" + (f" (stored before that: {done})" if self.pages else "")


def _n(count: int, plural: str) -> str:
    return f"{count} {plural[:-1] if count == 1 and plural.endswith('s') else plural}"


def parse_every(text: str) -> float:
    """Seconds from 90s, 15m, 1h, 1h30m."""
    m = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*", text or "")
    if not m or not any(m.groups()):
        raise UsageError(f"--every {text!r} is not a duration like 15m, 1h or 90s")
    h, mi, s = (int(g or 0) for g in m.groups())
    seconds = h * 3600 + mi * 60 + s
    if seconds < 60:
        raise UsageError(f"--every {text!r} is shorter than a minute; the platforms' rate limits will not allow it")
    return float(seconds)


def select(platforms: list[str] | None) -> list[str]:
    """Platform names in run order; ``meta`` means Instagram and Facebook."""
    known = collectors()
    if not platforms:
        return [p for p in ORDER if p in known]
    out: list[str] = []
    for p in platforms:
        p = p.strip().lower()
        for name in ALIASES.get(p, (p,)):
            if name not in known:
                choices = [*ORDER, "meta"]
                raise UsageError(messages.unknown_platform(p, closest(p, choices, aliases=PLATFORM_ALIASES), choices))
            if name not in out:
                out.append(name)
    return out


def base_urls_from_env(env=None) -> dict[str, str]:
    """REACH_API_BASE_URLS: for tests only, and only towards this machine (a token must never be
    sent to a host that is not the platform's)."""
    env = os.environ if env is None else env
    raw = env.get("REACH_API_BASE_URLS")
    if not raw:
        return {}
    try:
        urls = json.loads(raw)
    except ValueError:
        raise ReachError("REACH_API_BASE_URLS is not JSON like {\"youtube\": \"http://127.0.0.1:8000/youtube/v3\"}") from None
    if not isinstance(urls, dict):
        raise ReachError("REACH_API_BASE_URLS should map platform names to URLs")
    for name, url in urls.items():
        check_local(name, url)
    return {str(k): str(v) for k, v in urls.items()}


def check_local(name: str, url: str) -> None:
    # Parsed as requests and urllib3 will send it (http.check_loopback), not by urllib.parse,
    # which reads http://evil.example\\@127.0.0.1/ as 127.0.0.1 while urllib3 connects to evil.example.
    check_loopback(url, f"the base URL for {name}")


def next_pacific_midnight(now: datetime) -> datetime:
    """When YouTube's daily quota comes back: the next midnight in Pacific time, as UTC."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
    return midnight.astimezone(timezone.utc)


class Runner:
    """One `reach collect` run over some platforms; see ``collect``."""

    def __init__(self, engine: sa.Engine, archive: Archive | None, credentials: Credentials, *,
                 sessions: dict[str, requests.Session] | None = None, base_urls: dict[str, str] | None = None,
                 sleep: Callable[[float], None] | None = None, clock: Callable[[], float] = time.time,
                 random: Callable[[], float] = _random.random, since: datetime | None = None,
                 stop: threading.Event | None = None, tz: str = DEFAULT_TIMEZONE, max_wait: float = 900.0,
                 explicit: bool = False, limiter=None):
        self.engine, self.archive, self.credentials = engine, archive, credentials
        self.sessions = sessions or {}
        self.base_urls = base_urls or {}
        for name, url in self.base_urls.items():
            check_local(name, url)
        self.stop = stop or threading.Event()
        self.sleep = sleep or self._interruptible_sleep
        self.clock, self.random, self.since, self.max_wait = clock, random, since, max_wait
        self.explicit = explicit  # platforms named on the command line: missing credentials are an error
        # Each platform's request budget (limits.py): shared through Redis by every worker when given one.
        self.limiter = limiter if limiter is not None else LocalLimiter(clock=clock)
        self.importer = Importer(engine, archive, tz=tz, source="api")
        self.redact = Redactor(credentials.secrets())
        guard_logs(self.redact)

    def _interruptible_sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Interrupted("interrupted while waiting")

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    # -- one platform ------------------------------------------------------------------------------
    def run_platform(self, collector: Collector, keys: "set[str] | None" = None) -> PlatformResult:
        """One platform's run over its targets (only those whose key is in ``keys`` when given:
        one Celery task's account batch, dashboard/tasks.py)."""
        p = collector.platform
        res = PlatformResult(p, target_noun=collector.target_noun, post_noun=collector.post_noun)
        ctx = self._context(collector, res)
        if ctx is None:
            return res
        try:
            targets = collector.targets(ctx)
            if keys is not None:
                targets = [t for t in targets if t.key in keys]
            if not targets:
                res.status = "skipped"
                res.message = "nothing to poll" + (f": {ctx.notes[0]}" if ctx.notes else
                                                   _nothing_hint(collector))
                res.notes = ctx.notes[1:]
                return res
            for target in targets:
                self._run_target(collector, ctx, target, res)
                res.targets += 1
        except QuotaExhausted as e:
            resume = e.resume_at or next_pacific_midnight(self.now())
            self._pause(p, resume, "daily quota used up")
            res.status, res.message = "stopped", Message("api.quota", until=f"{resume:%Y-%m-%d %H:%M}")
        except WaitTooLong as e:
            if e.resume_at is not None:
                # The platform said when it answers again: later runs do not ask before that.
                self._pause(p, e.resume_at, "rate limited")
            res.status, res.message = "stopped", _strip(str(e), p)
        except ApiError as e:  # AuthError included: its message says how to renew
            res.status, res.message = "failed", _strip(str(e), p)
        except Interrupted:
            res.status, res.message = "interrupted", "stopped by Ctrl-C; the next run resumes where this one stopped"
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            # JSON, but not in the shape the API documents: this platform stops, the others go on.
            log.debug("unexpected answer shape", exc_info=True)
            res.status = "failed"
            res.message = self.redact(Message("api.bad_shape", error=f"{type(e).__name__}: {e}"))
        # Whatever a platform module wrote (an API's words included) is shown and stored redacted.
        res.notes = [self.redact(n) for n in ctx.notes + res.notes]
        res.message = self.redact(res.message) if res.message else res.message
        if res.failed:
            message = self.redact(Message("api.platform", api=p, message=res.message))
            ledger.record_failure(self.engine, hashlib.sha256(message.encode()).hexdigest(), f"{collector.label} API",
                                 message, platform=p, source="api")
        return res

    def _context(self, collector: Collector, res: PlatformResult) -> "Context | None":
        """The platform's client and context; None, with ``res`` saying why, when the platform is
        paused or has no credentials."""
        p = collector.platform
        paused = ledger.get_state(self.engine, p, "paused_until")
        if paused:
            try:
                until = datetime.fromisoformat(paused)
            except ValueError:  # not a time we wrote: forget it rather than stop the platform for good
                until = self.now()
            if until > self.now():
                why = ledger.get_state(self.engine, p, "paused_reason") or "daily quota used up"
                res.status, res.message = "paused", f"{why}; next try after {until:%Y-%m-%d %H:%M} UTC"
                return None
            ledger.set_state(self.engine, p, "paused_until", None)
            ledger.set_state(self.engine, p, "paused_reason", None)
        if collector.credentials and not any(self.credentials.get(s, k) for s, k in collector.credentials):
            where = Message.join([self.credentials.where(s, k) for s, k in collector.credentials], Message("sep.or"))
            res.status = "failed" if self.explicit else "skipped"
            res.message = Message("api.no_credentials", where=where)
            return None
        session = self.sessions.get(p) or new_session()
        client = Client(p, session, self.base_urls.get(p, collector.base_url), redact=self.redact,
                        classify=collector.classify, auth_message=collector.renew(self.credentials, None),
                        sleep=self.sleep, clock=self.clock, random=self.random, max_wait=self.max_wait,
                        limiter=self.limiter)
        ctx = Context(p, client, self.credentials, self.engine, since=self.since, clock=self.clock)
        return ctx

    def target_keys(self, collector: Collector) -> list[str]:
        """The keys of the platform's targets now (none when it is paused, has no credentials or
        cannot list them: its run says why), to cut its run into account batches."""
        res = PlatformResult(collector.platform)
        ctx = self._context(collector, res)
        if ctx is None:
            return []
        try:
            return [t.key for t in collector.targets(ctx)]
        except (ApiError, Interrupted, KeyError, TypeError, ValueError, AttributeError, IndexError):
            return []  # the platform's own run meets the same refusal and records it

    def _pause(self, platform: str, until: datetime, why: str) -> None:
        ledger.set_state(self.engine, platform, "paused_until", until.astimezone(timezone.utc).isoformat())
        ledger.set_state(self.engine, platform, "paused_reason", why)

    def _run_target(self, collector: Collector, ctx: Context, target: Target, res: PlatformResult) -> None:
        p = collector.platform
        key = f"cursor:{target.key}"
        cursor = ledger.get_state(self.engine, p, key)
        resumed, stored_here = cursor is not None, 0
        ctx.client.auth_message = collector.renew(self.credentials, target)
        pages = collector.pages(ctx, target, cursor)
        try:
            for n, page in enumerate(pages, 1):
                if page.rows:
                    self._store_page(p, target, page.rows, n, resumed, res)
                    stored_here += 1
                ledger.set_state(self.engine, p, key, page.next_cursor)
                if self.stop.is_set():
                    raise Interrupted("interrupted between pages")
        except ApiError as e:
            if resumed and not stored_here and e.status == 400 and type(e) is ApiError:
                # A cursor saved long ago may have expired: forget it so the next run starts afresh.
                ledger.set_state(self.engine, p, key, None)
                said = str(e)
                inner = Message("api.cursor_refused", error=_strip(said, p), target=target.label)
                raise ApiError(Message("api.platform", api=p, message=inner) if said.startswith(f"{p}: ")
                               else Message("api.cursor_refused", error=said, target=target.label),
                               status=e.status) from None
            raise
        finally:
            pages.close()
        ledger.set_state(self.engine, p, key, None)

    def _store_page(self, platform: str, target: Target, rows: list[dict], n: int, resumed: bool,
                    res: PlatformResult) -> None:
        data = api_snapshots.write(platform, rows)
        when = max(r["captured_at"] for r in rows)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", target.key)[:60]
        name = f"{platform}-api-{safe}-{when:%Y%m%dT%H%M%SZ}-{'r' if resumed else 'p'}{n}.csv"
        r = self.importer.import_bytes(name, data)
        if not r.ok:
            raise ApiError(Message("api.platform", api=platform,
                                   message=Message("api.not_stored", name=name, why=r.message)))
        if r.problems:
            res.notes.append(f"{name}: {len(r.problems)} rows rejected; first: {r.problems[0]}")
        res.pages += 1
        res.posts.update(str(row["post_id"]) for row in rows)
        res.snapshots += r.snapshots
        res.files.append(r)

    # -- all of them ---------------------------------------------------------------------------------
    def run(self, platforms: list[str], on_result: Callable[[PlatformResult], None] | None = None) -> list[PlatformResult]:
        known = collectors()
        results = []
        for p in platforms:
            if self.stop.is_set():
                break
            r = self.run_platform(known[p])
            results.append(r)
            if on_result:
                on_result(r)
            if r.status == "interrupted":
                break
        return results


def _strip(message: str, platform: str) -> str:
    if isinstance(message, Message) and message.key == "api.platform" and message.params["api"] == platform:
        return message.params["message"]  # the message without its platform, its key kept
    prefix = f"{platform}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _nothing_hint(collector: Collector) -> str:
    if collector.platform == "tiktok":
        return ": no TikTok access token"
    if collector.platform == "bilibili":
        return ": no Bilibili posts stored and no bilibili.bvids in the credentials file"
    return (f": no {collector.label} accounts in the roster; import a roster with platform "
            f"{collector.platform} and the account's id in account_id")


def collect(engine: sa.Engine, archive: Archive | None, credentials: Credentials, platforms: list[str] | None = None,
            **options) -> list[PlatformResult]:
    """One run over ``platforms`` (all by default); see ``Runner`` for the options."""
    names = select(platforms)
    return Runner(engine, archive, credentials, explicit=bool(platforms), **options).run(names)


def data_folders(engine: sa.Engine, archive: Archive | None) -> tuple:
    """Where a credentials file must not be: beside the SQLite database, in the archive."""
    out = []
    if archive is not None:
        out.append(archive.root)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        out.append(os.path.dirname(os.path.abspath(engine.url.database)))
    return tuple(out)


def run_loop(runner: Runner, platforms: list[str], every: float | None, *,
             refresh: Callable[[list[FileResult]], None] | None = None, out=None, err=None) -> int:
    """Run once, or every ``every`` seconds until Ctrl-C; one line per platform per run.

    The first Ctrl-C asks the run to stop at the next page boundary (what is stored stays, the
    cursor is kept), the second stops at once. Exit status 1 when a platform failed in the last run."""
    import signal
    import sys

    out, err = out or sys.stdout, err or sys.stderr
    stop = runner.stop

    def on_sigint(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("stopping at the next page; Ctrl-C again to quit at once", file=err, flush=True)

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if main_thread else None
    failed = False
    try:
        while True:
            started = time.monotonic()

            def show(r: PlatformResult) -> None:
                print(r.line(), file=out, flush=True)
                for note in r.notes:
                    print(f"          {note}", file=out, flush=True)

            results = runner.run(platforms, on_result=show)
            files = [f for r in results for f in r.files if f.status == "imported"]
            if refresh and files:
                refresh(files)
            failed = any(r.failed for r in results)
            if every is None or stop.is_set():
                break
            wait = max(0.0, every - (time.monotonic() - started))
            at = datetime.now(timezone.utc) + timedelta(seconds=wait)
            print(f"next run at {at:%Y-%m-%d %H:%M} UTC (Ctrl-C to stop)", file=out, flush=True)
            if stop.wait(wait):
                break
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    if stop.is_set():
        print("stopped; what was stored stays, and the next run resumes where this one stopped", file=out)
    return 1 if failed else 0

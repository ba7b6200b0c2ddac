"""Each platform's request budget: kept by this process, or shared by every process through Redis.

A platform counts requests from an application, not from one of our processes: two Celery workers
collecting two account batches of the same platform spend one budget. ``RedisLimiter`` keeps each
platform's state in one Redis key that every worker and `reach collect` on any host updates with
an atomic Lua script on Redis's own clock (the hosts' clocks may differ); ``LocalLimiter`` keeps
the same state in memory, for one process (`reach collect` on one machine).

The rule is the generic cell rate algorithm without a burst: a budget of ``n`` requests per
``window`` lets one request through every ``window / n`` seconds. A caller reserves the next slot
and waits until it (``reserve``), so no process polls and the waiting ones are served in the order
they asked. Evenly spaced requests never put more than ``n`` (plus one at the window's edge) into
any window the platform counts in, wherever its windows start; leave a margin under the platform's
documented limit for the network's jitter (docs/workers.md). A 429 that one process receives holds
the platform for all of them (``hold``): the others do not spend their requests on refusals.

A platform without a budget only waits for holds. The budgets come from the caller (campaign.toml's
``[collect.rate]``, read by the dashboard; collectors never read the dashboard's settings).
"""
from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Mapping

from ..errors import ReachError
from .http import ApiError

KEY_PREFIX = "reach:rate:"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class Rate:
    requests: int
    per: float  # seconds

    @property
    def interval(self) -> float:
        """Seconds between two requests."""
        return self.per / self.requests

    def __str__(self) -> str:
        return f"{self.requests}/{_window_words(self.per)}"


def _window_words(seconds: float) -> str:
    for unit in ("d", "h", "m", "s"):
        n = seconds / _UNITS[unit]
        if n >= 1 and float(n).is_integer():
            return unit if n == 1 else f"{int(n)}{unit}"
    return f"{seconds:g}s"


def parse_rate(text, where: str = "rate") -> Rate:
    """``8/s``, ``300/15m``, ``200/1h``, ``10000/d``: requests per window."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([smhd])\s*", str(text))
    if not m or int(m.group(1)) < 1 or (m.group(2) is not None and float(m.group(2)) <= 0):
        raise ReachError(f"{where}: {text!r} is not a budget like \"8/s\", \"300/15m\" or \"200/1h\" "
                         "(requests per window)")
    return Rate(int(m.group(1)), float(m.group(2) or 1) * _UNITS[m.group(3)])


def parse_rates(raw: Mapping, where: str = "[collect.rate]") -> dict[str, Rate]:
    return {str(k).lower(): parse_rate(v, f"{where} {k}") for k, v in (raw or {}).items()}


class Limiter(ABC):
    """The budget of each platform's requests; ``http.Client`` asks before every request."""

    def __init__(self, rates: Mapping[str, Rate] | None = None):
        self.rates = dict(rates or {})

    def _interval(self, platform: str) -> float:
        r = self.rates.get(platform)
        return r.interval if r is not None else 0.0

    @abstractmethod
    def reserve(self, platform: str) -> float:
        """Take the platform's next slot; the seconds to wait before sending (0: now)."""

    @abstractmethod
    def hold(self, platform: str, seconds: float) -> None:
        """No request to this platform for ``seconds`` from now (it answered 429 Retry-After)."""

    @property
    def shared(self) -> bool:
        return False


class LocalLimiter(Limiter):
    """The budgets of this process alone."""

    def __init__(self, rates: Mapping[str, Rate] | None = None, clock: Callable[[], float] = time.time):
        super().__init__(rates)
        self.clock = clock
        self._next: dict[str, float] = {}  # the platform's next free slot (the algorithm's "TAT")
        self._lock = threading.Lock()

    def reserve(self, platform: str) -> float:
        with self._lock:
            now = self.clock()
            slot = max(self._next.get(platform, now), now)
            self._next[platform] = slot + self._interval(platform)
            return slot - now

    def hold(self, platform: str, seconds: float) -> None:
        with self._lock:
            until = self.clock() + max(0.0, seconds)
            self._next[platform] = max(self._next.get(platform, until), until)


# One round trip per request, atomic: read the platform's next free slot, take it (or move it to a
# hold's end), store it with an expiry, answer the wait. TIME is Redis's clock, one for every host.
_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local interval = tonumber(ARGV[1])
local hold = tonumber(ARGV[2])
local wait, nxt
if hold > 0 then
  nxt = math.max(slot, now + hold)
  wait = 0
else
  nxt = slot + interval
  wait = slot - now
end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.floor((nxt - now) / 1000) + 60000)
return wait
"""


class RedisLimiter(Limiter):
    """The budgets of every process that uses this Redis (``url``) and ``prefix``."""

    def __init__(self, url: str, rates: Mapping[str, Rate] | None = None, prefix: str = KEY_PREFIX):
        super().__init__(rates)
        import redis  # only where a Redis is configured: one machine runs without the package

        self.url, self.prefix = url, prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._script = self._redis.register_script(_SCRIPT)
        self._errors = redis.RedisError

    @property
    def shared(self) -> bool:
        return True

    def _call(self, platform: str, interval: float, hold: float) -> float:
        try:
            waited = self._script(keys=[self.prefix + platform], args=[int(interval * 1e6), int(hold * 1e6)])
        except self._errors as e:
            # Going on without the shared budget could exceed the platform's limit for every worker.
            raise ApiError(f"{platform}: the shared rate limit in Redis cannot be used "
                           f"({type(e).__name__}: {str(e)[:120]}); the run stops and the next one resumes") from None
        return int(waited) / 1e6

    def reserve(self, platform: str) -> float:
        return self._call(platform, self._interval(platform), 0.0)

    def hold(self, platform: str, seconds: float) -> None:
        if seconds > 0:
            self._call(platform, 0.0, seconds)


def limiter(rates: Mapping[str, Rate] | None = None, redis_url: str | None = None,
            clock: Callable[[], float] = time.time) -> Limiter:
    """Shared through Redis when a URL is given, else this process's own."""
    return RedisLimiter(redis_url, rates) if redis_url else LocalLimiter(rates, clock)

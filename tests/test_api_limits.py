"""collectors/api/limits.py: each platform's request budget, evenly spaced, per process or shared by
every process through the real Redis; a 429 that one process receives holds the others too."""
from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from api_server import ApiServer, reply
from collectors.api.http import ApiError, Client
from collectors.api.limits import LocalLimiter, Rate, RedisLimiter, parse_rate
from collectors.errors import ReachError
from conftest import redis_or_skip

REDIS_URL = os.environ.get("REACH_TEST_REDIS", "redis://127.0.0.1:6379/13")


@pytest.mark.parametrize("text, rate", [("8/s", Rate(8, 1)), ("300/15m", Rate(300, 900)), ("200/1h", Rate(200, 3600)),
                                        (" 10000 / d ", Rate(10000, 86400)), ("10/2.5s", Rate(10, 2.5))])
def test_a_budget_is_requests_per_window(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["8", "fast", "0/s", "8/0s", "8/w", "-1/s"])
def test_a_budget_that_cannot_be_meant_is_refused_with_an_example(text):
    with pytest.raises(ReachError, match=r'like "8/s", "300/15m"'):
        parse_rate(text, "[collect.rate] x")


def test_the_local_budget_spaces_requests_evenly_and_a_platform_without_one_never_waits():
    now = [1000.0]
    lim = LocalLimiter({"x": parse_rate("4/s")}, clock=lambda: now[0])
    assert [lim.reserve("x") for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]
    assert lim.reserve("youtube") == 0.0
    now[0] += 10  # idle for a while: no credit is saved up beyond the next slot
    assert [lim.reserve("x") for _ in range(2)] == [0.0, 0.25]
    lim.hold("youtube", 30)
    assert lim.reserve("youtube") == 30.0


def test_the_client_waits_its_turn_before_each_request(tmp_path):
    now = [0.0]
    waits = []

    def sleep(s):
        waits.append(s)
        now[0] += s

    with ApiServer() as srv:
        srv.route("GET", "/v1/a", reply(json={"ok": True}))
        c = Client("x", requests.Session(), srv.url("/v1"), sleep=sleep, clock=lambda: now[0],
                   limiter=LocalLimiter({"x": parse_rate("2/s")}, clock=lambda: now[0]))
        for _ in range(3):
            c.get("a")
    assert waits == [0.5, 0.5] and len(srv.requests) == 3


@pytest.fixture
def redis_limiters():
    client = redis_or_skip(REDIS_URL)
    prefix = f"reach-test-{uuid.uuid4().hex[:10]}:rate:"

    def make(rates):
        return RedisLimiter(REDIS_URL, rates, prefix=prefix)

    yield make
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


def _hammer(limiters, srv_url: str, n: int) -> None:
    """Each limiter's client (as one process each) sends ``n`` requests at once, in threads."""
    def run(lim):
        c = Client("x", requests.Session(), srv_url, limiter=lim, max_rate_waits=0)
        for _ in range(n):
            try:
                c.get("a")
            except ApiError:  # refused with 429: counted by the server
                pass
    threads = [threading.Thread(target=run, args=(lim,)) for lim in limiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _counting_server(srv: ApiServer, limit: int) -> Counter:
    seconds: Counter = Counter()
    lock = threading.Lock()

    def answer(req):
        with lock:
            s = int(time.time())
            seconds[s] += 1
            if seconds[s] > limit:
                seconds["refused"] += 1
                return reply(429, {"title": "Too Many Requests"}, headers={"Retry-After": "1"})
        return reply(json={"ok": True})
    srv.route("GET", "/v1/a", answer)
    return seconds


def test_two_processes_share_one_budget_through_redis_where_their_own_budgets_would_exceed_the_limit(redis_limiters):
    budget = {"x": parse_rate("8/s")}
    with ApiServer() as srv:
        own = _counting_server(srv, limit=10)
        _hammer([LocalLimiter(budget), LocalLimiter(budget)], srv.url("/v1"), 12)  # two processes, each its own
    assert own["refused"] > 0  # the server does refuse a burst over its limit: the check below can fail
    with ApiServer() as srv:
        shared = _counting_server(srv, limit=10)
        _hammer([redis_limiters(budget), redis_limiters(budget)], srv.url("/v1"), 12)
    assert shared["refused"] == 0 and sum(shared.values()) == 24, shared


def test_a_hold_from_one_process_makes_the_others_wait(redis_limiters):
    a, b = redis_limiters({}), redis_limiters({})
    assert b.reserve("x") == 0.0
    a.hold("x", 30)
    assert 29 < b.reserve("x") <= 30
    assert b.reserve("youtube") == 0.0


def test_a_redis_that_cannot_be_reached_stops_the_platform_in_words():
    pytest.importorskip("redis")
    lim = RedisLimiter("redis://127.0.0.1:1/0", {"x": parse_rate("1/s")})
    with pytest.raises(ApiError, match="the shared rate limit in Redis cannot be used"):
        lim.reserve("x")

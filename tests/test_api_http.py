"""The collectors' HTTP client: timeouts, retries with backoff, 429 waits, caps and redaction.

Every test runs against a real HTTP server on 127.0.0.1 and an injected ``sleep`` that records
the waits asked for and never waits."""
from __future__ import annotations

import logging
import time
from email.utils import format_datetime
from datetime import datetime, timezone

import pytest
import requests

from collectors.api.http import (ApiError, AuthError, BadResponse, Client, Redactor, WaitTooLong, guard_logs,
                                 retry_after)

from api_server import DROP, ApiServer, Sleeper, api_server, free_port, reply  # noqa: F401

SECRET = "EAAB-secret-token-0123456789"
OK = reply(json={"data": [1, 2, 3]})


def client(srv_url: str, sleeper=None, **kw) -> Client:
    return Client("testapi", requests.Session(), srv_url, redact=Redactor([SECRET]), sleep=sleeper or Sleeper(),
                  random=lambda: 0.5, **kw)


def test_429_waits_as_long_as_retry_after_says_then_succeeds(api_server):
    api_server.route("GET", "/v1/items", reply(429, {"error": "slow down"}, headers={"Retry-After": "2"}), OK)
    sleeper = Sleeper()
    r = client(api_server.url("/v1"), sleeper).get("items")
    assert r.data == {"data": [1, 2, 3]}
    assert sleeper.waits == [2.0]  # asked to wait the 2 s, and nothing really slept
    assert len(api_server.calls("/v1/items")) == 2


def test_retry_after_as_an_http_date_and_x_rate_limit_reset_count_from_the_injected_clock(api_server):
    now = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc).timestamp()
    api_server.route("GET", "/v1/a", reply(429, headers={"Retry-After": format_datetime(
        datetime(2026, 11, 30, 8, 0, 30, tzinfo=timezone.utc), usegmt=True)}), OK)
    api_server.route("GET", "/v1/b", reply(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
                                           headers={"x-rate-limit-reset": str(int(now) + 42)}), OK)
    sleeper = Sleeper()
    c = client(api_server.url("/v1"), sleeper, clock=lambda: now)
    c.get("a")
    c.get("b")
    assert sleeper.waits == [30.0, 42.0]


def test_a_wait_longer_than_the_cap_stops_with_the_time_to_come_back(api_server):
    now = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc).timestamp()
    api_server.route("GET", "/v1/items", reply(429, headers={"x-rate-limit-reset": str(int(now) + 3600)}))
    sleeper = Sleeper()
    with pytest.raises(WaitTooLong) as e:
        client(api_server.url("/v1"), sleeper, clock=lambda: now, max_wait=900).get("items")
    assert sleeper.waits == []
    assert "until 2026-11-30 09:00 UTC" in str(e.value) and "60 min" in str(e.value)


def test_5xx_is_retried_with_jittered_exponential_backoff_then_gives_up(api_server):
    api_server.route("GET", "/v1/ok-later", reply(500, {"error": {"message": "boom", "code": 1}}), reply(502), OK)
    sleeper = Sleeper()
    assert client(api_server.url("/v1"), sleeper).get("ok-later").status == 200
    # Full jitter: random() x base x 2^attempt, with random() = 0.5 injected.
    assert sleeper.waits == [1.0, 2.0]

    api_server.route("GET", "/v1/down", reply(503))
    sleeper = Sleeper()
    with pytest.raises(ApiError) as e:
        client(api_server.url("/v1"), sleeper, max_attempts=4).get("down")
    assert "GET /v1/down failed 4 times" in str(e.value) and "503" in str(e.value)
    assert len(sleeper.waits) == 3
    assert all(0 <= w <= 60 for w in sleeper.waits)


def test_connection_refused_is_retried_until_the_server_answers():
    port = free_port()
    started = []

    def start():  # the server comes up while the client backs off
        started.append(ApiServer(port).start())
        started[0].route("GET", "/v1/items", OK)

    sleeper = Sleeper(then=start)
    try:
        r = client(f"http://127.0.0.1:{port}/v1", sleeper).get("items", {"access_token": SECRET})
        assert r.data == {"data": [1, 2, 3]} and len(sleeper.waits) == 1
    finally:
        for s in started:
            s.stop()


def test_every_call_has_a_timeout_and_a_slow_answer_is_retried(api_server):
    slow = {"n": 0}

    def answer(req):
        slow["n"] += 1
        if slow["n"] == 1:
            time.sleep(0.6)
        return OK

    api_server.route("GET", "/v1/slow", answer)
    seen = []

    class Recording(requests.Session):
        def request(self, *a, **kw):
            seen.append(kw.get("timeout"))
            return super().request(*a, **kw)

    sleeper = Sleeper()
    c = Client("testapi", Recording(), api_server.url("/v1"), sleep=sleeper, random=lambda: 0.5, timeout=(2.0, 0.2))
    assert c.get("slow").status == 200
    assert seen == [(2.0, 0.2), (2.0, 0.2)] and len(sleeper.waits) == 1


def test_malformed_json_is_retried_once_then_fails_naming_the_path_and_first_bytes(api_server):
    html = reply(body=b"<html><body>Gateway hiccup</body></html>", headers={"Content-Type": "text/html"})
    api_server.route("GET", "/v1/once", html, OK)
    assert client(api_server.url("/v1")).get("once").data == {"data": [1, 2, 3]}

    api_server.route("GET", "/v1/always", html)
    with pytest.raises(BadResponse) as e:
        client(api_server.url("/v1")).get("always", {"access_token": SECRET})
    msg = str(e.value)
    assert "GET /v1/always" in msg and "<html><body>Gateway" in msg and SECRET not in msg
    assert len(api_server.calls("/v1/always")) == 2


def test_a_dropped_connection_is_a_retried_connection_error(api_server):
    api_server.route("GET", "/v1/items", DROP, OK)
    sleeper = Sleeper()
    assert client(api_server.url("/v1"), sleeper).get("items").status == 200
    assert len(sleeper.waits) == 1


def test_401_is_an_auth_error_with_the_renewal_message(api_server):
    api_server.route("GET", "/v1/me", reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                                                 "detail": "Unauthorized"}))
    with pytest.raises(AuthError) as e:
        client(api_server.url("/v1"), auth_message="renew it at example: put it in REACH_TEST_TOKEN").get("me")
    assert "REACH_TEST_TOKEN" in str(e.value) and "HTTP 401" in str(e.value)


def test_secrets_never_appear_in_errors_or_logs_even_when_the_api_echoes_the_url(api_server, caplog):
    echo = {"error": {"message": f"Invalid request https://graph.example/v1/x?access_token={SECRET}&key=AIzaOTHERKEY123",
                      "code": 100}}
    api_server.route("GET", "/v1/echo", reply(400, echo))
    caplog.set_level(logging.DEBUG)
    c = client(api_server.url("/v1"))
    guard_logs(c.redact)
    with pytest.raises(ApiError) as e:
        c.get("echo", {"access_token": SECRET})
    assert SECRET not in str(e.value) and "AIzaOTHERKEY123" not in str(e.value)
    assert "access_token=***" in str(e.value)
    # urllib3 logs the request line, query string included, at DEBUG: redacted too.
    assert "/v1/echo" in caplog.text and SECRET not in caplog.text

    refused = client(f"http://127.0.0.1:{free_port()}/v1", max_attempts=2)
    with pytest.raises(ApiError) as e:
        refused.get("items", {"access_token": SECRET})
    assert SECRET not in str(e.value) and "could not connect" in str(e.value)


def test_redactor_removes_known_secrets_and_credential_shaped_text():
    r = Redactor(["tok-1234567", "tok-1234567-longer"])
    assert r("a tok-1234567-longer b tok-1234567") == "a *** b ***"
    assert r("GET /x?key=abc&fields=id") == "GET /x?key=***&fields=id"
    assert r("(see /x?access_token=abc123).") == "(see /x?access_token=***)."
    assert r("X refused the Bearer Token; OAuth 2.0 user tokens expire") == "X refused the Bearer Token; OAuth 2.0 user tokens expire"
    assert r("Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAB") == "Authorization: Bearer ***"


def test_retry_after_reads_seconds_dates_and_resets():
    assert retry_after({"Retry-After": "7"}, 0) == 7.0
    assert retry_after({"x-rate-limit-reset": "1060"}, 1000.0) == 60.0
    assert retry_after({"x-rate-limit-reset": "900"}, 1000.0) == 0.0
    assert retry_after({}, 0) is None

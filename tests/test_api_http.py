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
    # An error body of a code alone ({"error": {"code": 503}}) adds nothing to the status: no
    # "HTTP 503:  (code 503)".
    api_server.route("GET", "/v1/bare", *[reply(503, {"error": {"code": 503, "message": ""}})] * 2)
    with pytest.raises(ApiError) as e:
        client(api_server.url("/v1"), Sleeper(), max_attempts=2).get("bare")
    assert "HTTP 503" in str(e.value) and "(code" not in str(e.value) and "  " not in str(e.value), str(e.value)
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


# --- every encoding of a secret, and any part of it ----------------------------------------------

def _echoes(secret: str) -> dict[str, str]:
    """The forms an API error has been seen (or could be expected) to echo a token in."""
    import base64
    import json
    from urllib.parse import quote, quote_plus

    return {
        "raw": secret,
        "url-encoded": quote(secret, safe=""),
        "url-encoded, lower-case hex": quote(secret, safe="").replace("%2F", "%2f").replace("%2B", "%2b"),
        "form-encoded": quote_plus(secret),
        "twice url-encoded": quote(quote(secret, safe=""), safe=""),
        "json-escaped": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "base64": base64.b64encode(secret.encode()).decode(),
        "base64 url-safe, unpadded": base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
        "inside basic auth": base64.b64encode(b"app-id:" + secret.encode()).decode(),
        "inside basic auth, other offset": base64.b64encode(b"app-id-2:" + secret.encode()).decode(),
        "hex": secret.encode().hex(),
        "prefix": secret[:8] + "...",
        "suffix": "..." + secret[-9:],
        "middle": secret[5:14],
        "cut by a line break": secret[:12] + "\n" + secret[12:],
        "upper-cased": secret.upper(),
    }


# A token with the characters that change under each encoding (/ + =), as some tokens have them.
ODD_SECRET = "ya29/a0Af+Hx9QzK=Lm3nOpQr7StUv"


def test_a_secret_echoed_in_any_encoding_or_in_part_never_leaves_the_client(api_server, caplog):
    caplog.set_level(logging.DEBUG)
    for how, echoed in _echoes(ODD_SECRET).items():
        api_server.route("GET", "/v1/echo", reply(400, {"error": {"message": f"bad token {echoed} in request",
                                                                  "code": 190}}))
        c = Client("testapi", requests.Session(), api_server.url("/v1"), redact=Redactor([ODD_SECRET]),
                   sleep=Sleeper(), random=lambda: 0.5)
        guard_logs(c.redact)
        with pytest.raises(ApiError) as e:
            c.get("echo")
        said = str(e.value)
        assert "bad token" in said and "in request" in said, how
        for part in (ODD_SECRET[i:i + 8] for i in range(len(ODD_SECRET) - 7)):
            assert part not in said, (how, said)
        assert echoed.strip(".") not in said, (how, said)


def test_the_redactor_removes_encodings_and_parts_and_keeps_ordinary_words():
    r = Redactor([SECRET])
    for how, echoed in _echoes(SECRET).items():
        assert r(f"<{echoed}>").count("***") >= 1 and echoed.strip(".") not in r(f"<{echoed}>"), how
    assert r('{"access_token": "another-one-1234"}') == '{"access_token": "***"}'
    assert r("access_token%3Dsomething-else") == "access_token%3D***"
    assert r("Authorization: Basic YXBwOnNlY3JldA==") == "Authorization: Basic ***"
    # Seven characters in a row of a secret are not a secret; the words around a secret stay.
    assert r("EAAB-se is fine; the token was refused") == "EAAB-se is fine; the token was refused"
    assert r("error 190: EAAB-secret-tok... expired") == "error 190: ***... expired"


def test_an_echoed_token_is_kept_out_of_the_import_failures_and_the_run_result(tmp_path, api_server):
    import base64
    from urllib.parse import quote

    import sqlalchemy as sa

    from collectors.store import schema
    from api_server import make_store
    from test_api_meta import IG_ID, ROSTER, TOKEN, V, _runner, graph_error

    echo = (f"Invalid OAuth access token {quote(TOKEN, safe='')[:-3]} (as sent: {TOKEN[:20]}..., "
            f"signed {base64.b64encode(TOKEN.encode()).decode()})")
    api_server.route("GET", f"{V}/{IG_ID}/media", reply(400, graph_error(100, echo)))
    engine, archive = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "archive", ROSTER)
    [res] = _runner(engine, archive, api_server).run(["instagram"])
    assert res.status == "failed" and "Invalid OAuth access token" in res.message
    with engine.connect() as conn:
        stored = repr(conn.execute(sa.select(schema.import_failures)).fetchall())
    for text in (res.message, stored):
        assert "Invalid OAuth access token" in text
        assert not any(TOKEN[i:i + 8] in text for i in range(len(TOKEN) - 7)), text
    engine.dispose()


# --- the base URL override: parsed as the request is sent ----------------------------------------

@pytest.mark.parametrize("url", [
    "http://evil.example\\@127.0.0.1/",  # the issue's: urllib.parse sees 127.0.0.1, urllib3 evil.example
    "http://127.0.0.1\\@evil.example/",
    "http://evil.example%5C@127.0.0.1/",
    "http://user:pass@127.0.0.1/",
    "http://127.0.0.1%2F@evil.example/",
    "http://127.0.0.1:80@evil.example/",
    "http://127.0.0.1#@evil.example/",
    "http://127.0.0.1?@evil.example/",
    "http://127.0.0.1 .evil.example/",
    "http://127.0.0.1\t/",
    "http://127.0.0.1.evil.example/",
    "http://127.1/",
    "http://2130706433/",
    "http://localhost.evil.example/",
    "http://[::ffff:8.8.8.8]/",
    "ftp://127.0.0.1/",
    "//127.0.0.1/x",
    "http://１２７.0.0.1/",
])
def test_a_base_url_override_that_any_parser_reads_as_another_host_is_refused(url):
    from collectors.api.http import check_loopback

    with pytest.raises(ApiError):
        check_loopback(url)


def test_the_issue_s_base_url_would_have_sent_the_token_elsewhere_and_is_refused_before_any_request():
    """urllib3 (what requests sends with) connects to evil.example for this URL; the check refuses it
    in REACH_API_BASE_URLS and when a Runner is given it."""
    import json

    from urllib3.util import parse_url

    from collectors.api.run import base_urls_from_env
    from collectors.errors import ReachError

    url = "http://evil.example\\@127.0.0.1/"
    prepared = requests.models.PreparedRequest()
    prepared.prepare_url(url, None)
    assert parse_url(prepared.url).host == "evil.example"
    with pytest.raises(ReachError, match="backslash"):
        base_urls_from_env({"REACH_API_BASE_URLS": json.dumps({"x": url})})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/youtube/v3", "http://localhost:9/2", "http://[::1]:8080/v1",
                                 "https://127.0.0.2/"])
def test_a_loopback_base_url_is_accepted(url):
    from collectors.api.http import check_loopback

    assert check_loopback(url) == url


def test_a_path_cannot_move_a_request_to_another_host(api_server):
    c = client(api_server.url("/v1"))
    for path in ("\\@evil.example/x", "x\\y"):
        with pytest.raises(ApiError, match="another host"):
            c.get(path)
    assert api_server.calls("/v1/x") == []

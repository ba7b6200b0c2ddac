"""The delivery channels, end to end against real servers on 127.0.0.1.

One ``http.server`` plays every robot: it checks the path and key each vendor uses, the JSON shape
each requires, and verifies each signature with its own code (Feishu, DingTalk, the generic
webhook's HMAC), answering with the vendor's success or error bodies; a test can put scripted
answers (500, 429, a rate-limit code) in front. aiosmtpd plays the mail server, with STARTTLS on a
certificate made here and a login that checks user and password. Waits go to an injected sleep
that records them, so nothing here really waits.
"""
from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.notify import (
    ChannelConfigError, DingTalkChannel, EmailChannel, FeishuChannel, Message, SlackChannel, WeComChannel,
    build_channels,
)

WECOM_KEY = "693a91f6-7a1b-4c2d-9e3f-5b6a7c8d9e0f"
FEISHU_HOOK = "2c1e8f47-5d3b-4a96-8e07-f1b2c3d4e5a6"
FEISHU_SECRET = "qF8rTz2LmW9xVb4NcK7s"
DINGTALK_TOKEN = "5f0e7d9c3b1a2f4e6d8c0b9a7f5e3d1c2b4a6f8e0d9c7b5a3f1e2d4c6b8a0f9e"
DINGTALK_SECRET = "SEC8d3f6a1c9e2b7f4a0d5c8e1b6f3a9d2c7e4b0f5a8d1c6e3b9f2a7d4c0e5b8f1a"
SLACK_PATH = "T0A1B2C3D/B4E5F6G7H/Qx9vLm3KpR7tZw2YnB5cJd8H"
WEBHOOK_SECRET = "whsec-7Hq2Lx9Vd4Rt"
SMTP_USER, SMTP_PASSWORD = "alerts@reach.test", "Smtp-Pw-4c9e1f7a"
SECRETS = [WECOM_KEY, FEISHU_HOOK, FEISHU_SECRET, DINGTALK_TOKEN, DINGTALK_SECRET, SLACK_PATH, WEBHOOK_SECRET,
           SMTP_PASSWORD]

LINK = "https://reach.example.org/live?platform=weibo&influencer=%E5%BC%A0%E4%BC%9F&from=2024-12-22"
SUBJECT_ZH = "警报：微博帖子浏览量超过阈值"
TEXT_ZH = "张伟在义乌发布的帖子今日浏览量为 125,000，超过阈值 100,000。\n发布时间：2024-12-22 10:00（北京时间）"


def message(**kw) -> Message:
    base = dict(subject=SUBJECT_ZH, text=TEXT_ZH, link=LINK, lang="zh",
                facts={"rule": "views-over-100k", "value": 125000, "threshold": 100000,
                       "selection": {"platform": "weibo"}, "post_id": "4981234567890123"})
    base.update(kw)
    return Message(**base)


# --- the robots' server -------------------------------------------------------------------------

@dataclass
class Received:
    vendor: str
    path: str
    query: dict
    headers: dict
    raw: bytes

    @property
    def json(self):
        return json.loads(self.raw.decode("utf-8"))


def answer(status=200, json_body=None, *, text=None, headers=None):
    if json_body is not None:
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(json_body).encode()
    return status, {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}, (text or "").encode()


def _vendor(path: str) -> str:
    if path == "/cgi-bin/webhook/send":
        return "wecom"
    if path.startswith("/open-apis/bot/v2/hook/"):
        return "feishu"
    if path == "/robot/send":
        return "dingtalk"
    if path.startswith("/services/"):
        return "slack"
    if path == "/hook":
        return "webhook"
    return "unknown"


def _within_an_hour(seconds: float) -> bool:
    return abs(time.time() - seconds) <= 3600


def check_wecom(req: Received):
    if req.query.get("key") != WECOM_KEY:
        return answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    body = req.json
    content = body.get("markdown", {}).get("content") if body.get("msgtype") == "markdown" else None
    if not isinstance(content, str) or not content or len(content.encode("utf-8")) > 4096:
        return answer(200, {"errcode": 40008, "errmsg": "invalid message type or content"})
    return answer(200, {"errcode": 0, "errmsg": "ok"})


def check_feishu(req: Received):
    if req.path.rsplit("/", 1)[1] != FEISHU_HOOK:
        return answer(200, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid", "data": {}})
    body = req.json
    ts = body.get("timestamp")
    expected = base64.b64encode(hmac.new(f"{ts}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
    if not (isinstance(ts, str) and ts.isdigit() and _within_an_hour(int(ts)) and body.get("sign") == expected):
        return answer(200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"})
    kind = body.get("msg_type")
    ok = False
    if kind == "post":
        (locale, post), = body["content"]["post"].items()
        ok = (locale in ("zh_cn", "en_us") and isinstance(post["title"], str)
              and all(isinstance(p, list) and all(e["tag"] in ("text", "a", "at", "img") for e in p)
                      for p in post["content"]))
    elif kind == "text":
        ok = isinstance(body["content"]["text"], str)
    elif kind == "interactive":
        ok = isinstance(body["card"]["elements"], list) and body["card"]["header"]["title"]["tag"] == "plain_text"
    if not ok:
        return answer(400, {"code": 9499, "msg": "Bad Request", "data": {}})
    return answer(200, {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"})


def check_dingtalk(req: Received):
    if req.query.get("access_token") != DINGTALK_TOKEN:
        return answer(200, {"errcode": 300001, "errmsg": "token is not exist"})
    ts = req.query.get("timestamp", "")
    digest = hmac.new(DINGTALK_SECRET.encode(), f"{ts}\n{DINGTALK_SECRET}".encode(), hashlib.sha256).digest()
    # parse_qs has already URL-decoded the sign: a '+' the client did not encode arrives as a space.
    if not (ts.isdigit() and _within_an_hour(int(ts) / 1000) and req.query.get("sign") == base64.b64encode(digest).decode()):
        return answer(200, {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/]"})
    body = req.json
    md = body.get("markdown") or {}
    if body.get("msgtype") != "markdown" or not isinstance(md.get("title"), str) or not isinstance(md.get("text"), str):
        return answer(200, {"errcode": 40035, "errmsg": "缺少参数 json"})
    return answer(200, {"errcode": 0, "errmsg": "ok"})


def check_slack(req: Received):
    if req.path.removeprefix("/services/") != SLACK_PATH:
        return answer(404, text="no_service")
    body = req.json
    if not isinstance(body.get("text"), str) or not all("type" in b for b in body.get("blocks", [None])):
        return answer(400, text="invalid_payload")
    return answer(200, text="ok")


def check_webhook(req: Received):
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), req.raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(req.headers.get("X-Reach-Signature-256", ""), expected):
        return answer(401, {"error": "bad signature"})
    body = req.json
    if body.get("schema") != 1 or not {"id", "subject", "text", "link", "lang", "rule", "value", "threshold"} <= set(body):
        return answer(422, {"error": "not the documented body"})
    return answer(200, {"received": True})


CHECKS = {"wecom": check_wecom, "feishu": check_feishu, "dingtalk": check_dingtalk, "slack": check_slack,
          "webhook": check_webhook}


class BotServer:
    def __init__(self):
        self.received: list[Received] = []
        self.scripts: dict[str, deque] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                req = Received(_vendor(parts.path), parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                               dict(self.headers.items()), raw)
                with outer.lock:
                    outer.received.append(req)
                    script = outer.scripts.get(req.vendor)
                    scripted = script.popleft() if script else None
                status, headers, body = scripted or CHECKS.get(req.vendor, lambda r: answer(404, text="no route"))(req)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def script(self, vendor: str, *answers):
        self.scripts.setdefault(vendor, deque()).extend(answers)

    def reset(self):
        with self.lock:
            self.received.clear()
            self.scripts.clear()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def bots():
    server = BotServer()
    yield server
    server.close()


@pytest.fixture
def server(bots):
    bots.reset()
    return bots


@pytest.fixture
def sleeps():
    return []


ENV = {"WECOM_KEY": WECOM_KEY, "FEISHU_HOOK": FEISHU_HOOK, "FEISHU_SECRET": FEISHU_SECRET,
       "DINGTALK_TOKEN": DINGTALK_TOKEN, "DINGTALK_SECRET": DINGTALK_SECRET, "SLACK_PATH": SLACK_PATH,
       "WEBHOOK_SECRET": WEBHOOK_SECRET, "WRONG": "not-the-right-secret-123"}
CONFIGS = {
    "wecom": {"token_env": "WECOM_KEY"},
    "feishu": {"token_env": "FEISHU_HOOK", "secret_env": "FEISHU_SECRET"},
    "dingtalk": {"token_env": "DINGTALK_TOKEN", "secret_env": "DINGTALK_SECRET"},
    "slack": {"token_env": "SLACK_PATH"},
    "webhook": {"secret_env": "WEBHOOK_SECRET"},
}
HTTP_KINDS = list(CONFIGS)


def channel(kind: str, server: BotServer, sleeps: list, **overrides):
    cfg = {"kind": kind, "name": f"team-{kind}", "lang": "zh", **CONFIGS[kind], **overrides}
    if kind == "webhook":
        cfg.setdefault("url", server.base + "/hook")
    else:
        cfg.setdefault("base_url", server.base)
    (ch,) = build_channels([cfg], env=ENV, sleep=sleeps.append)
    return ch


# --- formats --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_each_http_channel_delivers_a_chinese_message_in_its_vendors_format(kind, server, sleeps):
    delivery = channel(kind, server, sleeps).send(message())
    assert delivery.ok, delivery.status
    assert (delivery.attempts, delivery.channel, delivery.kind, sleeps) == (1, f"team-{kind}", kind, [])
    assert delivery.at.tzinfo is not None and abs(delivery.at.timestamp() - time.time()) < 60
    (req,) = server.received
    assert req.headers["Content-Type"].startswith("application/json")
    # UTF-8 on the wire, the Chinese as characters rather than \u escapes
    assert SUBJECT_ZH.encode("utf-8") in req.raw
    body = req.json
    if kind == "wecom":
        content = body["markdown"]["content"]
        assert SUBJECT_ZH in content and "125,000" in content and f"]({LINK})" in content
    elif kind == "feishu":
        post = body["content"]["post"]["zh_cn"]
        assert post["title"] == SUBJECT_ZH
        texts = [e["text"] for p in post["content"] for e in p if e["tag"] == "text"]
        assert texts == TEXT_ZH.split("\n")
        assert [e["href"] for p in post["content"] for e in p if e["tag"] == "a"] == [LINK]
    elif kind == "dingtalk":
        assert body["markdown"]["title"] == SUBJECT_ZH
        assert "发布时间" in body["markdown"]["text"] and f"]({LINK})" in body["markdown"]["text"]
    elif kind == "slack":
        assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": SUBJECT_ZH}}
        assert body["blocks"][-1]["text"] == {"type": "mrkdwn", "text": f"<{LINK}|在看板中打开此视图>"}
        assert body["text"].endswith(f"\n<{LINK}>")
    else:
        assert (body["rule"], body["value"], body["threshold"], body["link"], body["lang"]) == (
            "views-over-100k", 125000, 100000, LINK, "zh")
        assert body["selection"] == {"platform": "weibo"} and body["facts"] == {"post_id": "4981234567890123"}
        assert body["text"] == TEXT_ZH and body["at"] is None


@pytest.mark.parametrize("msg_type", ["text", "interactive"])
def test_feishu_also_sends_text_and_card_messages(msg_type, server, sleeps):
    delivery = channel("feishu", server, sleeps, msg_type=msg_type).send(message(lang="en", subject="Alert: views"))
    assert delivery.ok, delivery.status
    body = server.received[0].json
    assert body["msg_type"] == msg_type
    if msg_type == "text":
        assert body["content"]["text"].startswith("Alert: views\n") and LINK in body["content"]["text"]
    else:
        button = body["card"]["elements"][-1]["actions"][0]
        assert (button["url"], button["text"]["content"]) == (LINK, "Open this view in the dashboard")


def test_slack_escapes_what_its_mrkdwn_would_read_as_markup(server, sleeps):
    channel("slack", server, sleeps).send(message(text="views > 100k & <b>rising</b>"))
    section = server.received[0].json["blocks"][1]["text"]["text"]
    assert section == "views &gt; 100k &amp; &lt;b&gt;rising&lt;/b&gt;"


def test_a_long_chinese_wecom_message_is_cut_to_4096_bytes_on_a_character_and_keeps_its_link(server, sleeps):
    delivery = channel("wecom", server, sleeps).send(message(text="浏览量" * 2000))
    assert delivery.ok, delivery.status
    content = server.received[0].json["markdown"]["content"]
    assert 4000 < len(content.encode("utf-8")) <= 4096
    assert content.endswith(f"…\n[在看板中打开此视图]({LINK})")


def test_a_webhook_url_keeps_its_query(server, sleeps):
    assert channel("webhook", server, sleeps, url=server.base + "/hook?team=ops&env=prod").send(message()).ok
    assert server.received[0].query == {"team": "ops", "env": "prod"}


def test_the_generic_webhook_sends_the_same_id_on_a_retry_so_a_receiver_can_drop_the_repeat(server, sleeps):
    server.script("webhook", answer(502, text="bad gateway"))
    assert channel("webhook", server, sleeps).send(message()).ok
    first, second = server.received
    assert first.json["id"] == second.json["id"] and len(first.json["id"]) >= 16


# --- signatures, refusals and retries ----------------------------------------------------------------

@pytest.mark.parametrize("kind, said", [("feishu", "19021"), ("dingtalk", "310000"), ("webhook", "HTTP 401")])
def test_a_wrong_signing_secret_is_reported_as_a_failure_without_a_retry(kind, said, server, sleeps):
    delivery = channel(kind, server, sleeps, secret_env="WRONG").send(message())
    assert not delivery.ok
    assert (delivery.attempts, sleeps, len(server.received)) == (1, [], 1)
    assert said in delivery.status


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_a_5xx_then_a_success_is_retried_after_a_backoff_and_counts_two_attempts(kind, server, sleeps):
    server.script(kind, answer(500, text="internal error"))
    delivery = channel(kind, server, sleeps).send(message())
    assert delivery.ok, delivery.status
    assert (delivery.attempts, sleeps, len(server.received)) == (2, [1.0], 2)
    assert "HTTP 500" in delivery.status


@pytest.mark.parametrize("kind", ["slack", "webhook", "wecom"])
def test_a_429_waits_as_long_as_retry_after_says_then_delivers(kind, server, sleeps):
    server.script(kind, answer(429, text="rate_limited", headers={"Retry-After": "7"}))
    delivery = channel(kind, server, sleeps).send(message())
    assert delivery.ok, delivery.status
    assert (delivery.attempts, sleeps) == (2, [7.0])


def test_a_retry_after_longer_than_a_delivery_waits_is_not_waited_but_reported(server, sleeps):
    server.script("slack", answer(429, text="rate_limited", headers={"Retry-After": "3600"}))
    delivery = channel("slack", server, sleeps).send(message())
    assert not delivery.ok and (delivery.attempts, sleeps) == (1, [])
    assert "3600 s" in delivery.status and "not retried" in delivery.status


@pytest.mark.parametrize("kind, busy", [("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}),
                                        ("feishu", {"code": 11232, "msg": "frequency limited"}),
                                        ("dingtalk", {"errcode": 130101, "errmsg": "send too fast"})])
def test_a_robots_rate_limit_code_waits_a_minute_and_retries(kind, busy, server, sleeps):
    server.script(kind, answer(200, busy))
    delivery = channel(kind, server, sleeps).send(message())
    assert delivery.ok, delivery.status
    assert (delivery.attempts, sleeps) == (2, [60.0])


@pytest.mark.parametrize("kind, wrong, said", [
    ("wecom", {"token_env": "WRONG"}, "code 93000 invalid webhook url"),
    ("feishu", {"token_env": "WRONG"}, "code 19001"),
    ("dingtalk", {"token_env": "WRONG"}, "code 300001 token is not exist"),
    ("slack", {"token_env": "WRONG"}, "HTTP 404: no_service"),
])
def test_a_vendor_error_code_is_a_failure_without_a_retry(kind, wrong, said, server, sleeps):
    delivery = channel(kind, server, sleeps, **wrong).send(message())
    assert not delivery.ok
    assert (delivery.attempts, sleeps, len(server.received)) == (1, [], 1)
    assert said in delivery.status


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["wecom", "webhook"])
def test_a_refused_connection_is_retried_with_backoff_then_reported(kind, server, sleeps):
    port = _closed_port()
    where = {"url": f"http://127.0.0.1:{port}/hook"} if kind == "webhook" else {"base_url": f"http://127.0.0.1:{port}"}
    delivery = channel(kind, server, sleeps, **where).send(message())
    assert not delivery.ok
    assert (delivery.attempts, sleeps) == (3, [1.0, 2.0])
    assert f"cannot connect to 127.0.0.1:{port}" in delivery.status and "gave up after 3 attempts" in delivery.status


def test_no_secret_appears_in_a_delivery_a_log_line_or_a_repr(server, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    outputs = []
    for kind in HTTP_KINDS:
        server.script(kind, answer(500, text="oops"))
        ch = channel(kind, server, sleeps)
        outputs += [repr(ch), repr(ch.send(message()))]
        bad = channel(kind, server, sleeps, **({"secret_env": "WRONG"} if kind == "webhook" else {"token_env": "WRONG"}))
        outputs.append(repr(bad.send(message())))
    # A vendor that echoes the key back in its error, and a connection error whose exception
    # text quotes the whole URL, key included.
    server.script("wecom", answer(400, {"errcode": 93000, "errmsg": f"invalid webhook url, key={WECOM_KEY} hint: [{WECOM_KEY[:12]}]"}))
    outputs.append(repr(channel("wecom", server, sleeps).send(message())))
    outputs.append(repr(channel("wecom", server, sleeps, base_url=f"http://127.0.0.1:{_closed_port()}").send(message())))
    text = "\n".join(outputs) + "\n" + caplog.text
    assert "/cgi-bin/webhook/send" in caplog.text  # urllib3's request lines were captured, and cleaned
    for secret in SECRETS:
        assert secret not in text
        assert secret[:10] not in text and secret[-10:] not in text


# --- configuration --------------------------------------------------------------------------------

def test_secrets_come_from_the_credentials_file_when_the_environment_has_none(server, sleeps, tmp_path, monkeypatch):
    creds = tmp_path / "credentials.toml"
    creds.write_text(f'[notify.team-feishu]\ntoken = "{FEISHU_HOOK}"\nsecret = "{FEISHU_SECRET}"\n'
                     f'[alerts.dingtalk]\ntoken = "https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}"\n'
                     f'secret = "{DINGTALK_SECRET}"\n', encoding="utf-8")
    creds.chmod(0o600)
    monkeypatch.setenv("REACH_CREDENTIALS", str(creds))
    feishu, dingtalk = build_channels(
        [{"kind": "feishu", "name": "team-feishu", "base_url": server.base},
         {"kind": "dingtalk", "name": "ding", "credentials": "alerts.dingtalk", "base_url": server.base}],
        env={}, sleep=sleeps.append)
    assert feishu.send(message()).ok and dingtalk.send(message()).ok
    assert server.received[1].query["access_token"] == DINGTALK_TOKEN


def test_a_vendors_whole_webhook_url_gives_its_key_and_the_request_still_goes_to_base_url(server, sleeps):
    env = {"K": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"}
    (ch,) = build_channels([{"kind": "wecom", "name": "w", "token_env": "K", "base_url": server.base}], env=env,
                           sleep=sleeps.append)
    assert ch.send(message()).ok
    assert server.received[0].query == {"key": WECOM_KEY}


def test_the_default_hosts_are_the_vendors_own():
    assert (WeComChannel.BASE_URL, FeishuChannel.BASE_URL, DingTalkChannel.BASE_URL, SlackChannel.BASE_URL) == (
        "https://qyapi.weixin.qq.com", "https://open.feishu.cn", "https://oapi.dingtalk.com", "https://hooks.slack.com")
    ch = WeComChannel("w", token=WECOM_KEY)
    assert ch.base_url == "https://qyapi.weixin.qq.com"


@pytest.mark.parametrize("cfg, env, said", [
    ({"kind": "wecom", "name": "ops"}, {}, "channel 'ops' (wecom) has no token: set token_env"),
    ({"kind": "feishu", "name": "fs", "token_env": "NOPE"}, {}, "the environment variable NOPE (its token_env) is not set"),
    ({"kind": "email", "name": "mail", "host": "smtp.example.org", "from": "a@example.org", "to": "b@example.org",
      "user": "a@example.org"}, {}, "channel 'mail' (email) has no password"),
    ({"kind": "pager", "name": "p"}, {}, "kind should be one of email, webhook, slack, wecom, feishu, dingtalk"),
    ({"kind": "slack", "name": "s", "token_env": "T", "tokn": 1}, {"T": "x"}, "unknown setting 'tokn'"),
    ({"kind": "webhook", "name": "h"}, {}, "no url"),
    ({"kind": "webhook", "name": "h", "url": "http://example.org/hook"}, {}, "must be https unless it is this machine"),
    ({"kind": "wecom", "name": "w", "token_env": "T", "base_url": "ftp://example.org"}, {"T": "x"}, "plain https://"),
    ({"kind": "email", "name": "m", "host": "smtp.example.org", "from": "a@example.org", "to": ["b@example.org"],
      "user": "a", "password_env": "P", "security": "none"}, {"P": "pw-12345678"}, "in clear text"),
    ({"kind": "feishu", "name": "f", "token_env": "T", "msg_type": "card"}, {"T": "x"}, "msg_type should be one of"),
])
def test_a_channel_that_cannot_be_built_says_which_and_what_is_missing(cfg, env, said, tmp_path, monkeypatch):
    monkeypatch.setenv("REACH_CREDENTIALS", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    with pytest.raises(ChannelConfigError) as e:
        build_channels([cfg], env=env)
    assert said in str(e.value)


def test_a_secret_written_in_the_configuration_itself_is_refused_without_quoting_it():
    with pytest.raises(ChannelConfigError) as e:
        build_channels([{"kind": "dingtalk", "name": "d", "token": DINGTALK_TOKEN}], env={})
    assert "token is written in the configuration" in str(e.value) and "token_env" in str(e.value)
    assert DINGTALK_TOKEN not in str(e.value)


# --- e-mail ----------------------------------------------------------------------------------------

def _certificate(folder):
    """A self-signed certificate for 127.0.0.1 and localhost, trusted by the client as its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reach test smtp")])
    now = datetime.now(timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False), True)
            .add_extension(ski, False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class MailServer:
    """aiosmtpd on 127.0.0.1: STARTTLS required (or TLS from the start), a login checked against
    the test's user and password, every accepted mail kept."""

    def __init__(self, cert_file, key_file, *, implicit_tls=False):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.mails = []
        self.logins = []
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert_file, key_file)
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
                return "250 2.0.0 accepted"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login, auth_data.password) == (SMTP_USER.encode(), SMTP_PASSWORD.encode())
            outer.logins.append((mechanism, auth_data.login, ok))
            return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 235 or 535

        self.port = _closed_port()
        # aiosmtpd cannot tell that a connection is TLS from its first byte, so it would offer no
        # AUTH there unless told that TLS is not required (it is the whole connection).
        tls = ({"ssl_context": server_ctx, "auth_require_tls": False} if implicit_tls
               else {"tls_context": server_ctx, "require_starttls": True, "auth_require_tls": True})
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticator, **tls)
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return _certificate(tmp_path_factory.mktemp("smtp-cert"))


@pytest.fixture(scope="module")
def smtp_server(cert):
    server = MailServer(*cert)
    yield server
    server.stop()


def mail_channel(server, cert, sleeps, **overrides):
    cfg = {"kind": "email", "name": "managers", "host": "127.0.0.1", "port": server.port, "user": SMTP_USER,
           "password_env": "SMTP_PASSWORD", "from": "Campaign Reach 周报 <alerts@reach.test>",
           "to": ["li.na@reach.test", "manager@reach.test"], "ca_file": str(cert[0]), "lang": "zh", **overrides}
    (ch,) = build_channels([cfg], env={"SMTP_PASSWORD": SMTP_PASSWORD, "WRONG": "Wrong-Pw-0000"}, sleep=sleeps.append)
    return ch


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_an_email_over_starttls_with_a_login_arrives_whole(smtp_server, cert, sleeps):
    smtp_server.mails.clear()
    html_body = "<html><body><h1>第 52 周</h1><p>浏览量 <b>1,250,000</b></p></body></html>"
    m = message(html=html_body, attachments=[("周报-2024-W52.pdf", PDF, "application/pdf")])
    delivery = mail_channel(smtp_server, cert, sleeps).send(m)
    assert delivery.ok, delivery.status
    assert (delivery.attempts, delivery.kind, sleeps) == (1, "email", [])
    assert smtp_server.logins[-1] == ("PLAIN", SMTP_USER.encode(), True) or smtp_server.logins[-1][2]

    (sender, rcpts, raw), = smtp_server.mails
    assert (sender, rcpts) == ("alerts@reach.test", ["li.na@reach.test", "manager@reach.test"])
    assert raw.isascii()  # every header and part encoded for any server on the way
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == SUBJECT_ZH
    assert "=?utf-8?" in raw.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert mail["To"].addresses[1].addr_spec == "manager@reach.test"
    assert mail["From"].addresses[0].display_name == "Campaign Reach 周报"
    assert mail.get_content_type() == "multipart/mixed"
    alternative = mail.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    plain = mail.get_body(("plain",)).get_content()
    assert TEXT_ZH in plain and f"在看板中打开此视图: {LINK}" in plain
    html_part = mail.get_body(("html",)).get_content()
    assert "<h1>第 52 周</h1>" in html_part and f'<a href="{LINK.replace("&", "&amp;")}">' in html_part
    (attachment,) = mail.iter_attachments()
    assert attachment.get_filename() == "周报-2024-W52.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


def test_an_email_without_html_gets_an_html_part_written_from_its_text(smtp_server, cert, sleeps):
    smtp_server.mails.clear()
    assert mail_channel(smtp_server, cert, sleeps, lang="en").send(message(text="Line <1>\nLine 2", lang="en")).ok
    mail = email.message_from_bytes(smtp_server.mails[0][2], policy=email.policy.default)
    assert mail.get_content_type() == "multipart/alternative"
    assert "<p>Line &lt;1&gt;<br>Line 2</p>" in mail.get_body(("html",)).get_content()


def test_a_refused_login_is_a_failure_that_names_the_server_and_not_the_password(smtp_server, cert, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    ch = mail_channel(smtp_server, cert, sleeps, password_env="WRONG")
    delivery = ch.send(message())
    assert not delivery.ok
    assert (delivery.attempts, sleeps) == (1, [])
    assert f"the SMTP server 127.0.0.1:{smtp_server.port} refused the login of '{SMTP_USER}' (535" in delivery.status
    for text in (repr(delivery), caplog.text, repr(ch)):
        assert "Wrong-Pw-0000" not in text and SMTP_PASSWORD not in text


def test_an_untrusted_certificate_is_refused_rather_than_accepted(smtp_server, cert, sleeps):
    delivery = mail_channel(smtp_server, cert, sleeps, ca_file=None).send(message())
    assert not delivery.ok and delivery.attempts == 1
    assert "cannot be verified" in delivery.status


def test_the_ssl_port_option_speaks_tls_from_the_first_byte(cert, sleeps):
    server = MailServer(*cert, implicit_tls=True)
    try:
        delivery = mail_channel(server, cert, sleeps, security="ssl").send(message())
        assert delivery.ok, delivery.status
        assert len(server.mails) == 1
    finally:
        server.stop()


def test_an_smtp_server_that_cannot_be_reached_is_retried_then_reported(cert, sleeps):
    port = _closed_port()
    ch = EmailChannel("m", host="127.0.0.1", port=port, to="a@reach.test", sender="b@reach.test", sleep=sleeps.append)
    delivery = ch.send(message())
    assert not delivery.ok and (delivery.attempts, sleeps) == (3, [1.0, 2.0])
    assert f"cannot connect to the SMTP server 127.0.0.1:{port} (connection refused)" in delivery.status

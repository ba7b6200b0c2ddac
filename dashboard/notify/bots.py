"""Channels over HTTP: a generic JSON webhook, Slack, and the WeCom, Feishu and DingTalk robots.

Each posts one JSON body (UTF-8, Chinese left as it is, never ``\\u`` escaped) through an injectable
``requests.Session``, with a timeout and without following redirects (a redirect would carry a key
in its URL to wherever it points). The formats, and where they come from:

- **Generic webhook** (``WebhookChannel``): ``POST url`` with this body (``schema`` 1)::

      {"schema": 1, "id": "<message id, the same on every retry>", "subject": "...", "text": "...",
       "link": "https://dashboard/...?view", "lang": "en" | "zh", "sent_at": "2026-12-01T08:00:00Z",
       "rule": "...", "value": 12.5, "threshold": 10, "selection": {...}, "at": "...",
       "facts": {other facts of the event}}

  (``rule`` ... ``at`` are null when the message has no such fact.) With a shared secret the
  request carries ``X-Reach-Signature-256: sha256=<hex HMAC-SHA256 of the exact body bytes, keyed
  with the secret>``, as GitHub signs its webhooks (X-Hub-Signature-256, "Validating webhook
  deliveries", docs.github.com). A 2xx answer is a delivery.
- **Slack incoming webhook** (``SlackChannel``): ``POST https://hooks.slack.com/services/T../B../..``
  with ``text`` (the notification's fallback) and ``blocks``: a header, a ``mrkdwn`` section and the
  link as ``<url|label>``, with ``&``, ``<`` and ``>`` escaped as Slack's mrkdwn requires. Slack
  answers 200 ``ok``, or 400/403/404/410 with a word (``invalid_payload``, ``no_service``...), or
  429 with ``Retry-After`` (api.slack.com/messaging/webhooks).
- **WeCom group robot** (``WeComChannel``): ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``
  with ``{"msgtype": "markdown", "markdown": {"content": ...}}``, content at most 4096 bytes of
  UTF-8. It answers HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``; any other errcode is a
  failure, 45009 ("api freq out of limit", 20 messages a minute per robot) the one worth a retry
  (developer.work.weixin.qq.com/document/path/91770, 群机器人配置说明).
- **Feishu custom bot** (``FeishuChannel``): ``POST https://open.feishu.cn/open-apis/bot/v2/hook/HOOK``
  with ``msg_type`` ``post`` (rich text: a title and paragraphs of ``text`` and ``a`` tags under
  ``zh_cn`` or ``en_us``), ``text`` or ``interactive`` (a card). With signature verification the
  body also has ``timestamp`` (seconds, as a string) and ``sign`` = base64(HMAC-SHA256 with the key
  ``f"{timestamp}\\n{secret}"`` over an empty message). It answers ``{"code": 0, "msg": "success"}``;
  19021 is a bad signature or a clock more than an hour off, 11232 "frequency limited" the one
  worth a retry (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot, 自定义机器人使用指南).
- **DingTalk custom robot** (``DingTalkChannel``): ``POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN``
  with ``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``. With 加签 the URL also
  gets ``&timestamp=<ms>&sign=<URL-encoded base64(HMAC-SHA256 with the key secret over
  f"{timestamp}\\n{secret}")>``. It answers ``{"errcode": 0, "errmsg": "ok"}``; 310000 is a bad
  signature or clock, 130101 "send too fast" (20 a minute) the one worth a retry
  (open.dingtalk.com, 自定义机器人安全设置 and 自定义机器人发送群消息).

A robot's secret may be given as the key alone or as the whole URL the vendor shows; only the key
is taken from it, and the request goes to ``base_url`` (the vendor's host by default; tests and
Lark, Feishu's international twin at open.larksuite.com, set another). A base URL must be https,
or http to this machine only, so a key never crosses a network in clear text.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from collectors.api.http import ApiError, check_loopback, retry_after

from .channels import Channel, ChannelConfigError, Message, Outcome, truncate_utf8

DEFAULT_TIMEOUT = (5.0, 20.0)  # (connect, read) seconds: a robot answers in well under a second
USER_AGENT = "campaign-reach/0.1 (alerts)"
WEBHOOK_SIGNATURE_HEADER = "X-Reach-Signature-256"
WECOM_MARKDOWN_LIMIT = 4096  # bytes of UTF-8
SLACK_HEADER_LIMIT, SLACK_SECTION_LIMIT = 150, 3000  # characters, Block Kit's limits
KNOWN_FACTS = ("rule", "value", "threshold", "selection", "at")


def new_session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    return s


def check_base_url(url: str, what: str, *, allow_query: bool = False) -> str:
    """``url`` without a trailing slash when it is https (any host) or http to this machine.
    ``allow_query``: a webhook's own URL may carry a query (a robot's base URL may not)."""
    url = str(url or "").strip()
    base, sep, query = url.partition("?") if allow_query else (url, "", "")
    parts = urlsplit(base)
    if parts.scheme == "http":
        try:
            check_loopback(base, what)
        except ApiError as e:
            raise ChannelConfigError(f"{e}; a channel's URL must be https unless it is this machine") from None
    elif parts.scheme != "https" or not parts.hostname or "@" in parts.netloc or parts.query or parts.fragment:
        raise ChannelConfigError(f"{what} {url[:200]!r} should be a plain https://host[/path] URL")
    return base.rstrip("/") + sep + query if sep else base.rstrip("/")


def feishu_sign(timestamp: int, secret: str) -> str:
    """Feishu's signature: the key is the timestamp and the secret, the message is empty."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode("utf-8"), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's 加签, before URL encoding (requests encodes the query: '+' as %2B, '/' as %2F)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def webhook_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _json_bytes(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, default=_json_default, separators=(",", ":")).encode("utf-8")


def _json_default(value: Any):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _from_url(value: str, *, query: str | None = None, after: str | None = None) -> str:
    """The key in a vendor's webhook URL (``?key=``, ``?access_token=``, or the path after a
    marker), or ``value`` itself when it is not a URL."""
    value = str(value).strip()
    if not value.lower().startswith(("http://", "https://")):
        return value
    parts = urlsplit(value)
    if query:
        found = parse_qs(parts.query).get(query)
        if found and found[-1]:
            return found[-1]
    if after and after in parts.path:
        rest = parts.path.split(after, 1)[1].strip("/")
        if rest:
            return rest
    raise ChannelConfigError(f"the robot's URL does not hold its {query or 'key'} where the vendor puts it")


class HttpChannel(Channel):
    """Posts JSON and sorts the answers every HTTP channel shares: 429, 5xx, redirects."""

    def __init__(self, name: str, *, session: requests.Session | None = None, timeout=DEFAULT_TIMEOUT, **kw):
        super().__init__(name, **kw)
        self.session = session or new_session()
        self.timeout = timeout

    def _post(self, url: str, body: bytes, *, params=None, headers=None) -> requests.Response | Outcome:
        host = urlsplit(url).netloc  # never the path or the query: keys travel there
        try:
            return self.session.post(url, params=params, data=body, timeout=self.timeout, allow_redirects=False,
                                     headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
        except requests.Timeout:
            return Outcome(False, f"{host} did not answer in time", retry=True)
        except requests.ConnectionError:
            return Outcome(False, f"cannot connect to {host}", retry=True)
        except requests.RequestException as e:  # never str(e): it quotes the URL, key and all
            return Outcome(False, f"the request to {host} failed ({type(e).__name__})")

    def _http(self, r: requests.Response) -> Outcome | None:
        """The verdict on an HTTP status every vendor shares, or None to read the body."""
        host = urlsplit(r.url).netloc
        status = r.status_code
        if status == 429:
            said = _snippet(r)
            return Outcome(False, f"{host}: HTTP 429 (too many requests){': ' + said if said else ''}", retry=True,
                           wait=retry_after(r.headers, self.clock()))
        if status >= 500:
            return Outcome(False, f"{host}: HTTP {status}{': ' + _snippet(r) if _snippet(r) else ''}", retry=True)
        if 300 <= status < 400:
            return Outcome(False, f"{host}: HTTP {status}, a redirect (not followed: check base_url)")
        return None


def _snippet(r: requests.Response, n: int = 200) -> str:
    return (r.content or b"")[:n].decode("utf-8", "replace").strip()


def _json_of(r: requests.Response):
    try:
        return json.loads((r.content or b"").decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None


class WebhookChannel(HttpChannel):
    kind = "webhook"

    def __init__(self, name: str, *, url: str, secret: str | None = None, **kw):
        super().__init__(name, secrets=[secret], **kw)
        self.url = check_base_url(url, f"channel {name!r}: url", allow_query=True)
        self.secret = secret

    def payload(self, m: Message) -> dict:
        facts = dict(m.facts)
        body = {"schema": 1, "id": m.id, "subject": m.subject, "text": m.text, "link": m.link, "lang": m.lang,
                "sent_at": datetime.fromtimestamp(self.clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for k in KNOWN_FACTS:
            body[k] = facts.pop(k, None)
        body["facts"] = facts
        return body

    def _attempt(self, m: Message) -> Outcome:
        body = _json_bytes(self.payload(m))
        headers = {WEBHOOK_SIGNATURE_HEADER: webhook_signature(body, self.secret)} if self.secret else {}
        r = self._post(self.url, body, headers=headers)
        if isinstance(r, Outcome):
            return r
        verdict = self._http(r)
        if verdict:
            return verdict
        host = urlsplit(self.url).netloc
        if 200 <= r.status_code < 300:
            return Outcome(True, f"{host} accepted (HTTP {r.status_code})")
        said = _snippet(r)
        return Outcome(False, f"{host} refused: HTTP {r.status_code}{': ' + said if said else ''}")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel(HttpChannel):
    kind = "slack"
    BASE_URL = "https://hooks.slack.com"

    def __init__(self, name: str, *, token: str, base_url: str = BASE_URL, **kw):
        token = _from_url(token, after="/services/")
        super().__init__(name, secrets=[token], **kw)
        self.token = token.removeprefix("services/").strip("/")
        self.base_url = check_base_url(base_url, f"channel {name!r}: base_url")

    def payload(self, m: Message) -> dict:
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": m.subject[:SLACK_HEADER_LIMIT] or "-"}}]
        if m.text.strip():
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": _slack_escape(m.text)[:SLACK_SECTION_LIMIT]}})
        # The top-level text is what notifications show; it is read as mrkdwn too.
        fallback = _slack_escape(f"{m.subject}\n{m.text}")
        if m.link:
            url = m.link.replace("|", "%7C").replace(">", "%3E")  # would end Slack's <url|label> early
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{url}|{_slack_escape(m.link_label)}>"}})
            fallback += f"\n<{url}>"
        return {"text": fallback, "blocks": blocks}

    def _attempt(self, m: Message) -> Outcome:
        r = self._post(f"{self.base_url}/services/{self.token}", _json_bytes(self.payload(m)))
        if isinstance(r, Outcome):
            return r
        verdict = self._http(r)
        if verdict:
            return verdict
        said = _snippet(r)
        if r.status_code == 200:
            return Outcome(True, f"Slack accepted ({said or 'HTTP 200'})")
        return Outcome(False, f"Slack refused: HTTP {r.status_code}{': ' + said if said else ''}")


class _RobotChannel(HttpChannel):
    """A chat robot that answers HTTP 200 with a JSON error code: ``code_field`` 0 is a delivery,
    one of ``rate_limited`` is worth a retry after ``rate_limit_wait``, any other is a refusal."""

    vendor = "robot"
    code_field = "errcode"
    message_field = "errmsg"
    rate_limited: frozenset = frozenset()
    bad_signature: frozenset = frozenset()

    def _answer(self, r: requests.Response | Outcome) -> Outcome:
        if isinstance(r, Outcome):
            return r
        verdict = self._http(r)
        if verdict:
            return verdict
        data = _json_of(r)
        code = data.get(self.code_field) if isinstance(data, dict) else None
        if code is None and isinstance(data, dict):
            code = data.get("StatusCode")  # Feishu's older field, still sent beside "code"
        if not isinstance(code, int):
            said = _snippet(r)
            return Outcome(False, f"{self.vendor}: HTTP {r.status_code}, not the JSON answer the robot API documents"
                                  f"{': ' + said if said else ''}")
        said = str(data.get(self.message_field) or data.get("StatusMessage") or "").strip()
        if code == 0:
            return Outcome(True, f"{self.vendor} accepted ({said or 'ok'})")
        status = f"{self.vendor} refused: code {code}{' ' + said if said else ''}"
        if code in self.bad_signature:
            status += " (check the signing secret and this machine's clock)"
        if code in self.rate_limited:
            return Outcome(False, status, retry=True, wait=self.rate_limit_wait)
        return Outcome(False, status)


class WeComChannel(_RobotChannel):
    kind = "wecom"
    vendor = "WeCom"
    BASE_URL = "https://qyapi.weixin.qq.com"
    rate_limited = frozenset({45009})

    def __init__(self, name: str, *, token: str, base_url: str = BASE_URL, **kw):
        token = _from_url(token, query="key")
        super().__init__(name, secrets=[token], **kw)
        self.token = token
        self.base_url = check_base_url(base_url, f"channel {name!r}: base_url")

    def payload(self, m: Message) -> dict:
        head = f"**{m.subject}**\n"
        tail = f"\n[{m.link_label}]({m.link})" if m.link else ""
        room = WECOM_MARKDOWN_LIMIT - len((head + tail).encode("utf-8"))
        content = head + truncate_utf8(m.text, max(0, room)) + tail
        return {"msgtype": "markdown", "markdown": {"content": truncate_utf8(content, WECOM_MARKDOWN_LIMIT)}}

    def _attempt(self, m: Message) -> Outcome:
        return self._answer(self._post(f"{self.base_url}/cgi-bin/webhook/send", _json_bytes(self.payload(m)),
                                       params={"key": self.token}))


class FeishuChannel(_RobotChannel):
    kind = "feishu"
    vendor = "Feishu"
    BASE_URL = "https://open.feishu.cn"
    MSG_TYPES = ("post", "text", "interactive")
    code_field, message_field = "code", "msg"
    rate_limited = frozenset({11232})
    bad_signature = frozenset({19021})

    def __init__(self, name: str, *, token: str, secret: str | None = None, msg_type: str = "post",
                 base_url: str = BASE_URL, **kw):
        token = _from_url(token, after="/hook/")
        super().__init__(name, secrets=[token, secret], **kw)
        if msg_type not in self.MSG_TYPES:
            raise ChannelConfigError(f"channel {name!r}: msg_type should be one of {', '.join(self.MSG_TYPES)}, "
                                     f"not {msg_type!r}")
        self.token, self.secret, self.msg_type = token, secret, msg_type
        self.base_url = check_base_url(base_url, f"channel {name!r}: base_url")

    def payload(self, m: Message) -> dict:
        if self.msg_type == "text":
            text = f"{m.subject}\n{m.text}" + (f"\n{m.link_label}: {m.link}" if m.link else "")
            body: dict = {"msg_type": "text", "content": {"text": text}}
        elif self.msg_type == "interactive":
            elements: list = [{"tag": "div", "text": {"tag": "lark_md", "content": m.text}}]
            if m.link:
                elements.append({"tag": "action", "actions": [{"tag": "button", "type": "primary", "url": m.link,
                                                                "text": {"tag": "plain_text", "content": m.link_label}}]})
            body = {"msg_type": "interactive",
                    "card": {"header": {"title": {"tag": "plain_text", "content": m.subject}}, "elements": elements}}
        else:
            paragraphs = [[{"tag": "text", "text": line}] for line in m.text.split("\n")]
            if m.link:
                paragraphs.append([{"tag": "a", "text": m.link_label, "href": m.link}])
            locale = "zh_cn" if m.lang == "zh" else "en_us"
            body = {"msg_type": "post", "content": {"post": {locale: {"title": m.subject, "content": paragraphs}}}}
        if self.secret:
            # Signed at each attempt: the timestamp must be within an hour of Feishu's clock.
            ts = int(self.clock())
            body = {"timestamp": str(ts), "sign": feishu_sign(ts, self.secret), **body}
        return body

    def _attempt(self, m: Message) -> Outcome:
        return self._answer(self._post(f"{self.base_url}/open-apis/bot/v2/hook/{self.token}",
                                       _json_bytes(self.payload(m))))


class DingTalkChannel(_RobotChannel):
    kind = "dingtalk"
    vendor = "DingTalk"
    BASE_URL = "https://oapi.dingtalk.com"
    rate_limited = frozenset({130101})
    bad_signature = frozenset({310000})

    def __init__(self, name: str, *, token: str, secret: str | None = None, base_url: str = BASE_URL, **kw):
        token = _from_url(token, query="access_token")
        super().__init__(name, secrets=[token, secret], **kw)
        self.token, self.secret = token, secret
        self.base_url = check_base_url(base_url, f"channel {name!r}: base_url")

    def payload(self, m: Message) -> dict:
        # DingTalk's markdown joins single line breaks; a blank line between the caller's lines
        # keeps them apart.
        text = f"#### {m.subject}\n\n" + "\n\n".join(m.text.split("\n"))
        if m.link:
            text += f"\n\n[{m.link_label}]({m.link})"
        return {"msgtype": "markdown", "markdown": {"title": m.subject, "text": text}}

    def params(self) -> dict:
        params = {"access_token": self.token}
        if self.secret:
            ts = int(self.clock() * 1000)  # milliseconds, within an hour of DingTalk's clock
            params.update(timestamp=str(ts), sign=dingtalk_sign(ts, self.secret))
        return params

    def _attempt(self, m: Message) -> Outcome:
        return self._answer(self._post(f"{self.base_url}/robot/send", _json_bytes(self.payload(m)),
                                       params=self.params()))

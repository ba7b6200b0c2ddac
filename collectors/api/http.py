"""A small HTTP client for the API collectors, around an injected ``requests.Session``.

Every call has a timeout. Connection errors, timeouts and 5xx answers are retried with exponential
backoff and full jitter (a random wait between 0 and ``base * 2**attempt``, capped), so many
collectors that failed together do not retry together. HTTP 429 waits as long as the server says:
``Retry-After`` (seconds or an HTTP date) or ``x-rate-limit-reset`` (X: epoch seconds). A platform
module can classify its own answers further (``Verdict``): Meta throttles with error codes in a 400,
YouTube reports its daily quota in a 403, and each platform words an expired token its own way.
A wait longer than ``max_wait`` is not waited: the platform's run stops with a message saying when
to try again.

Before each request the client asks its ``limiter`` (limits.py) for the platform's next slot, so
the requests of every worker together stay within the platform's budget. ``sleep`` and ``clock``
are injectable so tests never wait, and every message that can leave this
module (exception text, log lines) goes through ``Redactor``: tokens and keys never appear, even
when an error quotes a URL that carries ``key=`` or ``access_token=``, and not in any encoding an
API may echo them in (URL-encoded or decoded, JSON- or HTML-escaped, base64 even inside a longer
base64 string, hex) nor in part (any 8 characters of a secret in a row).

A base URL other than the platform's (``REACH_API_BASE_URLS``, for tests) is checked by
``check_loopback`` on the URL as requests and urllib3 will send it, not as another parser reads it:
``http://evil.example\\@127.0.0.1/`` is 127.0.0.1 to ``urllib.parse`` and evil.example to urllib3.
"""
from __future__ import annotations

import base64
import email.utils
import html
import ipaddress
import json
import logging
import random as _random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

import requests

from ..errors import ReachError
from ..messages import Message

log = logging.getLogger("collectors.api")

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
USER_AGENT = "campaign-reach/0.1 (reach collect)"


# --- errors -----------------------------------------------------------------------------------

class ApiError(ReachError):
    """A platform's run cannot go on. The message is already redacted and names no secret."""

    def __init__(self, message: str, *, status: int | None = None, data: Any = None):
        super().__init__(message)
        self.status = status
        self.data = data  # the parsed error body, for the platform module (never printed)


class AuthError(ApiError):
    """The token or key was refused (expired, revoked, wrong): stop the platform until renewed."""


class QuotaExhausted(ApiError):
    """The platform's daily quota is used up; ``resume_at`` is when it comes back (UTC)."""

    def __init__(self, message: str, resume_at: datetime, *, status: int | None = None):
        super().__init__(message, status=status)
        self.resume_at = resume_at


class WaitTooLong(ApiError):
    """The platform asked for a wait longer than the cap: stop this run, try again later (after
    ``resume_at`` when the platform said when)."""

    def __init__(self, message: str, *, status: int | None = None, resume_at: datetime | None = None):
        super().__init__(message, status=status)
        self.resume_at = resume_at


class BadResponse(ApiError):
    """The answer was not the JSON the API documents, twice."""


class Interrupted(ReachError):
    """Ctrl-C arrived while waiting: stop between pages, keep what is stored."""


# --- redaction --------------------------------------------------------------------------------

# Query parameters and JSON fields that carry credentials in the APIs we call: key=..., also
# URL-encoded (key%3D...) and as a JSON or form field ("access_token": "...").
_NAMES = r"key|access_token|refresh_token|client_secret|token|bearer_token|api_key|user_token|password"
_SECRET_PARAMS = re.compile(rf"(?i)\b({_NAMES})(=|%3D)([^&\s\"'<>(),;]+)")
_SECRET_FIELDS = re.compile(rf"(?i)(\\?[\"'](?:{_NAMES})\\?[\"']\s*:\s*\\?[\"'])([^\"'\\]+)")
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|oauth|basic)(\s+|%20|\+)[A-Za-z0-9._~+/=%-]{8,}")
PART = 8  # this many characters of a secret in a row are redacted: a prefix, a suffix, any middle
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # keeps every index


def encodings(secret: str) -> set[str]:
    """The forms an API, a proxy or a log may echo a secret in."""
    out = {secret}
    for v in (quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret, safe="/"), quote(secret),
              quote(quote(secret, safe=""), safe="")):
        out |= {v, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), v)}
    out |= {unquote(secret), unquote_plus(secret)}  # a token kept URL-encoded, echoed decoded
    for j in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        out |= {j, j.replace("/", "\\/")}  # some encoders escape the slash
    out |= {html.escape(secret), html.escape(secret, quote=False)}
    raw = secret.encode("utf-8")
    out |= {raw.hex(), raw.hex().upper()}
    # Base64 of the secret alone, and the part of it that stays the same at each of the three
    # offsets it can have inside a longer encoded string ("Basic " + base64("id:secret")).
    for k in range(3):
        padded = b"\0" * k + raw
        first, last = -(-8 * k // 6), len(padded) * 8 // 6
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            full = enc(padded).decode("ascii")
            out.add(full[first:last])
            if k == 0:
                out |= {full, full.rstrip("=")}
    return {v for v in out if v}


class Redactor:
    """Removes known secrets, in every encoding and in part, and anything shaped like a credential
    from text."""

    def __init__(self, secrets=()):
        self.secrets: set[str] = set()
        self._exact: list[str] = []  # every encoding of every secret, longest first
        self._parts: set[str] = set()  # every run of PART characters of those
        self.add(*secrets)

    def add(self, *secrets) -> None:
        for s in secrets:
            if s and len(str(s)) >= 4 and str(s) not in self.secrets:
                s = str(s)
                self.secrets.add(s)
                forms = {f for f in encodings(s) if len(f) >= 4}
                self._exact = sorted(set(self._exact) | forms, key=len, reverse=True)
                for f in forms:
                    f = f.translate(_ASCII_LOWER)  # an echo may change the case (%2f, hex, a shouted message)
                    self._parts |= {f[i:i + PART] for i in range(len(f) - PART + 1)}

    def __call__(self, text: Any) -> str:
        if isinstance(text, Message):
            # Each value redacted in its place keeps the message's key (the Data page says it in
            # the reader's language); when that is not the whole text redacted (a secret across
            # a value and the words around it), the whole text redacted wins.
            plain = self._text(str.__str__(text))
            kept = text.map_text(self._text)
            return kept if str.__str__(kept) == plain else plain
        return self._text(text)

    def _text(self, text: Any) -> str:
        text = str(text)
        # Longest first, so a secret that contains another is removed whole.
        for s in self._exact:
            if s in text:
                text = text.replace(s, "***")
        text = self._remove_parts(text)
        text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
        text = _SECRET_FIELDS.sub(lambda m: f"{m.group(1)}***", text)
        return _AUTH_HEADER.sub(lambda m: f"{m.group(1)} ***", text)

    def _remove_parts(self, text: str) -> str:
        """Any PART characters in a row of any encoding of a secret, and what overlaps them: a
        truncated echo ("token AAAAB3Nza... is invalid") or a secret cut by a line break."""
        if not self._parts or len(text) < PART:
            return text
        spans: list[list[int]] = []
        low = text.translate(_ASCII_LOWER)
        for i in range(len(low) - PART + 1):
            if low[i:i + PART] in self._parts:
                if spans and i <= spans[-1][1]:
                    spans[-1][1] = i + PART
                else:
                    spans.append([i, i + PART])
        for start, end in reversed(spans):
            text = text[:start] + "***" + text[end:]
        return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record, for loggers we do not own (urllib3 writes
    request lines, query strings included, at DEBUG)."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call elsewhere must not break the collector
            return True
        clean = self.redactor(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_LOG_REDACTOR = Redactor()
_LOG_FILTER = RedactingFilter(_LOG_REDACTOR)


def guard_logs(redactor: Redactor) -> None:
    """Redact these secrets from urllib3's and requests' own log lines (they log full URLs at
    DEBUG) and from ours. One filter for the process; each run adds its secrets to it."""
    _LOG_REDACTOR.add(*redactor.secrets)
    for name in ("urllib3", "urllib3.connectionpool", "requests", "collectors.api"):
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)


# --- responses and verdicts -------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any  # the parsed JSON
    received_at: datetime  # the server's Date header, else the local clock at the answer (UTC)
    path: str  # the URL path, for messages (never the query string)


@dataclass
class Verdict:
    """What a platform module says about an answer the generic rules do not settle.

    kind: "ok" (a usable answer, even if its status is not 200), "auth", "quota", "throttle"
    (wait ``wait_s`` seconds, or back off when None), "retry" (a transient error in a 200) or
    "fail" (give up with ``message``)."""

    kind: str
    message: str = ""
    wait_s: float | None = None
    resume_at: datetime | None = None


Classifier = Callable[[int, Any, Mapping[str, str]], "Verdict | None"]


@dataclass
class Client:
    """Calls one platform's API: ``get``/``post`` return a ``Response`` or raise an ``ApiError``."""

    platform: str
    session: requests.Session
    base_url: str
    redact: Redactor = field(default_factory=Redactor)
    classify: Classifier | None = None
    auth_message: str = "the credentials were refused"  # how to renew, for 401 answers
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    max_attempts: int = 5  # per request, for 5xx and connection errors
    max_rate_waits: int = 5  # per request, for 429 and throttling answers
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_wait: float = 900.0  # a longer wait than this stops the run instead
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    random: Callable[[], float] = _random.random
    # The platform's request budget (limits.py): this process's, or every worker's through Redis.
    limiter: Any = None
    calls: int = 0  # requests sent, for the result line and tests

    def get(self, path: str, params=None, headers=None, *, auth_message: str | None = None) -> Response:
        return self.request("GET", path, params=params, headers=headers, auth_message=auth_message)

    def post(self, path: str, params=None, json_body=None, headers=None, *,
             auth_message: str | None = None) -> Response:
        return self.request("POST", path, params=params, json_body=json_body, headers=headers,
                            auth_message=auth_message)

    # -- the loop --------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params=None, json_body=None, headers=None,
                auth_message: str | None = None) -> Response:
        """One call, retried and waited as the module docstring says. ``auth_message`` says how to
        renew the credential this call uses, when it differs from the client's."""
        url = self.base_url.rstrip("/") + "/" + path.lstrip("/")
        shown = f"{method} {urlsplit(url).path}"  # no query string: keys travel there
        _same_host(self.base_url, url, shown)
        failures = rate_waits = malformed = 0
        while True:
            if self.limiter is not None:
                wait = self.limiter.reserve(self.platform)
                if wait >= 0.001:
                    self._sleep(wait)
            try:
                self.calls += 1
                r = self.session.request(method, url, params=params, json=json_body, headers=headers,
                                         timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as e:  # refused, reset, DNS, timeout
                failures += 1
                why = _connection_words(e)
                if failures >= self.max_attempts:
                    raise ApiError(self._said(Message("api.connection", request=shown, n=failures, why=why))) from None
                self._backoff(failures, f"{shown}: {why}")
                continue
            received = self._received_at(r)
            body = r.content or b""
            data, parsed = _parse_json(body)
            status = r.status_code
            if 200 <= status < 300 and not parsed:
                malformed += 1
                if malformed >= 2:
                    raise self._malformed(shown, body)
                log.warning("%s: %s answered with something that is not JSON; trying once more",
                            self.platform, shown)
                self._backoff(1, f"{shown}: not JSON")
                continue
            verdict = self.classify(status, data, r.headers) if self.classify else None
            if verdict is None:
                verdict = self._generic(status, r.headers, data, shown)
            kind = verdict.kind
            if kind == "ok":
                return Response(status, r.headers, data, received, urlsplit(url).path)
            if kind == "auth":
                advice = auth_message or self.auth_message
                said = (Message("api.auth_said", advice=advice, request=shown, status=status, said=verdict.message)
                        if verdict.message else Message("api.auth", advice=advice, request=shown, status=status))
                raise AuthError(self.redact(self._said(said)), status=status, data=data)
            if kind == "quota":
                raise QuotaExhausted(self.redact(verdict.message), verdict.resume_at, status=status)
            if kind == "throttle":
                rate_waits += 1
                wait = verdict.wait_s
                if wait is None:
                    wait = self._jitter(rate_waits)
                if wait > self.max_wait:
                    until = datetime.fromtimestamp(self.clock() + wait, timezone.utc)
                    raise WaitTooLong(self.redact(self._said(Message(
                        "api.wait_too_long", why=verdict.message or f"HTTP {status}", wait=_duration(wait),
                        until=f"{until:%Y-%m-%d %H:%M}", cap=_duration(self.max_wait)))),
                        status=status, resume_at=until)
                if rate_waits > self.max_rate_waits:
                    raise WaitTooLong(self.redact(self._said(Message(
                        "api.still_limited", n=self.max_rate_waits, request=shown))), status=status)
                log.info("%s: rate limited on %s; waiting %.1f s", self.platform, shown, wait)
                if self.limiter is not None and self.limiter.shared and verdict.wait_s:
                    self.limiter.hold(self.platform, wait)  # the platform said how long: the other workers wait too
                self._sleep(wait)
                continue
            if kind == "retry":
                failures += 1
                if failures >= self.max_attempts:
                    raise ApiError(self.redact(self._said(Message(
                        "api.failed_times", request=shown, n=failures, why=verdict.message))), status=status)
                self._backoff(failures, f"{shown}: {verdict.message}")
                continue
            raise ApiError(self.redact(self._said(Message(
                "api.refused", request=shown, status=status, why=verdict.message))), status=status, data=data)

    def _generic(self, status: int, headers, data, shown: str) -> Verdict:
        if 200 <= status < 300:
            return Verdict("ok")
        detail = api_message(data)
        if status == 401:
            return Verdict("auth", detail)
        if status == 429:
            return Verdict("throttle", f"HTTP 429{': ' + detail if detail else ''}", retry_after(headers, self.clock()))
        if status >= 500:
            return Verdict("retry", f"HTTP {status}{': ' + detail if detail else ''}")
        return Verdict("fail", detail or Message("api.why.none"))

    # -- helpers ---------------------------------------------------------------------------------
    def _said(self, message: Message) -> Message:
        """"youtube: ..." as a message: the platform, then what happened (run.py takes it apart)."""
        return Message("api.platform", api=self.platform, message=message)

    def _jitter(self, attempt: int) -> float:
        return self.random() * min(self.backoff_cap, self.backoff_base * 2 ** attempt)

    def _backoff(self, attempt: int, why: str) -> None:
        wait = self._jitter(attempt)
        log.info("%s: %s; retrying in %.1f s", self.platform, self.redact(why), wait)
        self._sleep(wait)

    def _sleep(self, seconds: float) -> None:
        self.sleep(max(0.0, float(seconds)))

    def _received_at(self, r) -> datetime:
        date = r.headers.get("Date")
        if date:
            try:
                t = email.utils.parsedate_to_datetime(date)
                if t.tzinfo is not None:
                    return t.astimezone(timezone.utc)
            except (TypeError, ValueError):
                pass
        return datetime.fromtimestamp(self.clock(), timezone.utc).replace(microsecond=0)

    def _malformed(self, shown: str, body: bytes) -> BadResponse:
        first = body[:80].decode("utf-8", "replace")
        return BadResponse(self.redact(self._said(Message("api.not_json", request=shown, first=repr(first)))))


def _same_host(base: str, url: str, shown: str) -> None:
    """A path joined to the base URL must not move the request to another host (an @ or a
    backslash in a path that came from data: a paging link, an id)."""
    from urllib3.util import parse_url

    try:
        if parse_url(base).host != parse_url(url).host or "\\" in url:
            raise ApiError(f"refusing {shown}: the path would send the request to another host")
    except ValueError:
        raise ApiError(f"refusing {shown}: not a URL") from None


def _parse_json(body: bytes) -> tuple[Any, bool]:
    if not body.strip():
        return None, False
    try:
        return json.loads(body.decode("utf-8-sig")), True
    except (UnicodeDecodeError, ValueError):
        return None, False


def _connection_words(e: requests.RequestException) -> str:
    if isinstance(e, requests.Timeout):
        return Message("api.why.timeout")
    if isinstance(e, requests.ConnectionError):
        return Message("api.why.connection")
    return type(e).__name__  # never str(e): it quotes the URL, query string and all


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``x-rate-limit-reset``
    (epoch seconds, X); None when neither header says."""
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return float(value)
        try:
            t = email.utils.parsedate_to_datetime(value)
            return max(0.0, t.timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-rate-limit-reset")
    if reset and re.fullmatch(r"\d+", reset.strip()):
        return max(0.0, float(reset) - now)
    return None


def api_message(data: Any) -> str:
    """The human part of an API's error body, whichever of the shapes we know it has."""
    if not isinstance(data, dict):
        return ""
    err = data.get("error")
    if isinstance(err, dict):
        msg = str(err.get("message") or "").strip()
        code = err.get("code")
        if not msg:
            return ""  # a bare code repeats the HTTP status the message already names ("HTTP 429:  (code 429)")
        return f"{msg} (code {code})" if code not in (None, "") and str(code) not in msg else msg
    if isinstance(err, str):
        return err
    if "detail" in data or "title" in data:  # X's problem+json
        return str(data.get("detail") or data.get("title"))
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or errors[0].get("detail") or "")
    if "message" in data and data.get("code") not in (0, None):  # Bilibili
        return f"{data['message']} (code {data['code']})"
    return ""


# --- where requests go -------------------------------------------------------------------------

def check_loopback(url: str, what: str = "the base URL") -> str:
    """``url`` when requests would send it to this machine (127.0.0.0/8, ::1, localhost), else
    ApiError. The host is the one urllib3 connects to, taken from the URL exactly as requests
    prepares it; a URL that other parsers read differently (a backslash, user info, an encoded
    or unusual host, control characters) is refused rather than interpreted."""
    from urllib3.util import parse_url
    from urllib3.exceptions import LocationParseError

    url = str(url)
    shown = repr(url[:200])
    if not url.isprintable() or any(c in url for c in "\\ \t") or not url.isascii():
        raise ApiError(f"{what} {shown} has a backslash, a space, a control or non-ASCII character; "
                       "write a plain http://127.0.0.1:PORT/path")
    try:
        prepared = requests.models.PreparedRequest()
        prepared.prepare_url(url, None)
        sent = parse_url(prepared.url)
    except (requests.RequestException, LocationParseError, ValueError) as e:
        raise ApiError(f"{what} {shown} is not a URL requests can send to ({type(e).__name__})") from None
    theirs = urlsplit(url)
    if "?" in url or "#" in url:
        raise ApiError(f"{what} {shown} has a query or a fragment: a base URL is a scheme, a host, a port "
                       "and a path")
    if sent.scheme not in ("http", "https") or theirs.scheme not in ("http", "https"):
        raise ApiError(f"{what} {shown} should start with http:// or https://")
    if sent.auth is not None or "@" in (theirs.netloc or "") or "@" in (sent.netloc or ""):
        raise ApiError(f"{what} {shown} has user info (an @ in the host part): refused, a token would "
                       "go to whoever the URL names before or after it")
    host = (sent.host or "").strip("[]").lower()
    try:
        port_ok = theirs.port == sent.port
    except ValueError:
        port_ok = False
    if host != (theirs.hostname or "").lower() or not port_ok or "%" in host:
        raise ApiError(f"{what} {shown} is read differently by different URL parsers: refused")
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        raise ApiError(f"{what} may only be overridden towards this machine (for tests), not {host or shown!r}")
    return url


def new_session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    return s

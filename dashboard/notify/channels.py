"""What every delivery channel shares: the message, the delivery result, retries and redaction.

A ``Message`` is what the caller wants said, already in the recipient's language: a subject, a
plain text, optionally an HTML body, the link back to the exact dashboard view, attachments and
the facts of the event (rule, value, threshold...). A channel only formats it for its medium
(smtp.py: e-mail; bots.py: a JSON webhook, Slack, WeCom, Feishu, DingTalk) and sends it.

``Channel.send(message)`` never raises for a delivery that failed: it returns a ``Delivery`` (ok or
not, the channel's name, how many attempts, what the other side said, when), so that one broken
channel never stops the others and the caller can store and show the last failure. An attempt
that failed for a reason that may pass (the server could not be reached, a 5xx, HTTP 429, a
robot's "too many messages" code, an SMTP 4xx) is tried again, ``attempts`` times in all (3 by
default), after an exponential backoff (1 s, 2 s, 4 s... capped) or as long as the server asked
(``Retry-After``; a robot's per-minute rate limit waits ``rate_limit_wait``). A wait longer than
``max_wait`` is not waited: the delivery fails and says so. A refusal (a 4xx, a wrong signature, a
refused login, any other vendor error code) is not retried: sending it again would be refused again.

Secrets (robot keys, tokens, signing secrets, SMTP passwords) never appear in a ``Delivery``, a log
line, an exception or a ``repr``: every text that leaves a channel goes through the collectors'
``Redactor`` (collectors/api/http.py), which also removes a secret echoed in another encoding or in
part, and the same secrets are added to the filter on urllib3's and requests' loggers, which write
whole URLs (query strings and keys included) at DEBUG.
"""
from __future__ import annotations

import abc
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, NamedTuple

from collectors.api.http import Redactor, guard_logs
from collectors.errors import ReachError

log = logging.getLogger("dashboard.notify")

# The one piece of wording a channel adds to the caller's text: the label of the link back to the
# dashboard, in the message's language.
LINK_LABEL = {"en": "Open this view in the dashboard", "zh": "在看板中打开此视图"}


class ChannelConfigError(ReachError):
    """A channel cannot be built from its configuration: the message names the channel and what is
    missing or wrong, and never quotes a secret."""


class Attachment(NamedTuple):
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


def language(lang: str | None) -> str:
    """'zh' for any Chinese tag (zh, zh-CN, zh_Hans...), else 'en': the two languages the dashboard
    speaks."""
    return "zh" if str(lang or "").strip().lower().replace("_", "-").startswith("zh") else "en"


@dataclass(frozen=True)
class Message:
    """One thing to say. ``facts`` carries what the event is (``rule``, ``value``, ``threshold``,
    ``selection``, ``at`` and anything else), for channels that send data rather than prose (the
    JSON webhook). ``id`` is the same on every retry, so a receiver can drop a repeated delivery."""

    subject: str
    text: str
    html: str | None = None
    link: str | None = None
    lang: str = "en"
    attachments: tuple = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self):
        # (filename, bytes, mime type) tuples are accepted as they are written at the call site.
        object.__setattr__(self, "attachments", tuple(Attachment(*a) for a in self.attachments))
        object.__setattr__(self, "lang", language(self.lang))

    @property
    def link_label(self) -> str:
        return LINK_LABEL[self.lang]

    def __repr__(self) -> str:  # attachments can be megabytes of PDF: their names and sizes only
        files = ", ".join(f"{a.filename} ({len(a.content)} bytes)" for a in self.attachments)
        return f"Message(subject={self.subject!r}, lang={self.lang!r}, link={self.link!r}, attachments=[{files}])"


@dataclass(frozen=True)
class Delivery:
    """The result of one ``send``: what a caller stores and shows. ``status`` is redacted."""

    ok: bool
    channel: str  # the channel's name in the configuration
    kind: str  # email, webhook, slack, wecom, feishu, dingtalk
    attempts: int
    status: str
    at: datetime  # UTC, when the last attempt ended


@dataclass
class Outcome:
    """What one attempt came to. ``wait``: the seconds the other side asked for before a retry."""

    ok: bool
    status: str
    retry: bool = False
    wait: float | None = None


class Channel(abc.ABC):
    """The retry loop and the redaction; a subclass formats and makes one attempt (``_attempt``):
    abstract, so a channel kind without one cannot even be built."""

    kind = "channel"

    def __init__(self, name: str, *, lang: str = "en", secrets=(), attempts: int = 3, backoff: float = 1.0,
                 backoff_cap: float = 60.0, max_wait: float = 300.0, rate_limit_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self.name = name
        self.lang = language(lang)  # the recipients' language: the caller writes the message in it
        self.attempts = max(1, int(attempts))
        self.backoff, self.backoff_cap, self.max_wait = float(backoff), float(backoff_cap), float(max_wait)
        self.rate_limit_wait = float(rate_limit_wait)
        self.sleep, self.clock = sleep, clock
        self.redact = Redactor([s for s in secrets if s])
        guard_logs(self.redact)

    def __repr__(self) -> str:  # never the settings: a URL or a key could be among them
        return f"<{type(self).__name__} {self.name!r}>"

    def send(self, message: Message) -> Delivery:
        attempt = 0
        earlier: list[str] = []
        while True:
            attempt += 1
            try:
                out = self._attempt(message)
            except Exception as e:  # a bug in formatting must cost this delivery, not the others
                out = Outcome(False, f"{type(e).__name__}: {e}")
            status = self.redact(out.status)
            if out.ok:
                if earlier:
                    status = f"{status} (attempt {attempt}; before: {'; '.join(earlier)})"
                log.info("%s %s: %s", self.kind, self.name, status)
                return self._delivery(True, attempt, status)
            if not out.retry or attempt >= self.attempts:
                if out.retry:
                    status = f"{status} (gave up after {attempt} attempts)"
                log.warning("%s %s: not delivered: %s", self.kind, self.name, status)
                return self._delivery(False, attempt, status)
            wait = out.wait if out.wait is not None else min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
            if wait > self.max_wait:
                status = (f"{status}; the server asked to wait {wait:.0f} s, longer than the {self.max_wait:.0f} s "
                          "a delivery waits: not retried")
                log.warning("%s %s: not delivered: %s", self.kind, self.name, status)
                return self._delivery(False, attempt, status)
            earlier.append(status)
            log.info("%s %s: %s; attempt %d of %d in %.1f s", self.kind, self.name, status, attempt + 1,
                     self.attempts, wait)
            self.sleep(max(0.0, wait))

    def _delivery(self, ok: bool, attempts: int, status: str) -> Delivery:
        at = datetime.fromtimestamp(self.clock(), timezone.utc)
        return Delivery(ok, self.name, self.kind, attempts, status, at)

    @abc.abstractmethod
    def _attempt(self, message: Message) -> Outcome:
        """One attempt to deliver ``message``: what the other side said, and whether to retry."""


def truncate_utf8(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character (a Chinese
    character is three bytes: a cut by characters or by bytes alone would break the limit or the
    text)."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    room = max(0, limit - len(ellipsis.encode("utf-8")))
    return raw[:room].decode("utf-8", "ignore") + ellipsis

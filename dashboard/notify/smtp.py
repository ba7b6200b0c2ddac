"""The e-mail channel: one message over SMTP (smtplib) to one or more recipients.

The mail is a multipart/alternative of a plain-text and an HTML part (an HTML part is written from
the text when the caller has none), inside a multipart/mixed when there are attachments (the weekly
report's PDF). Everything is UTF-8: a Chinese subject or file name is encoded as RFC 2047 / RFC 2231
words by the standard library's ``email`` policy, so it arrives intact through any server. The link
back to the dashboard view is added to both parts unless the caller's text already has it.

``security``: ``starttls`` (the default, port 587: plain connection, then STARTTLS before anything
else is said), ``ssl`` (port 465: TLS from the first byte) or ``none`` (port 25; a login is then
refused unless the server is this machine, since the password would travel in clear text). The
server's certificate is verified against the system's authorities, or ``ca_file`` (a company's own
authority, the tests' self-signed certificate); it is never left unverified.

A refused login, a refused sender or recipient and any other 5xx answer are not retried; a server
that cannot be reached, hangs up, or answers 4xx (greylisting, "try again later") is. When the
server refuses some recipients and accepts others the mail is not sent again (the others have it):
the delivery fails and names the refused addresses.
"""
from __future__ import annotations

import html
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from .channels import Channel, ChannelConfigError, Message, Outcome

SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_TIMEOUT = 30.0  # seconds per SMTP command: a big attachment takes a while on a slow link


def build_email(m: Message, sender: str, to: list[str]) -> EmailMessage:
    msg = EmailMessage()  # the default policy: UTF-8, RFC 2047 headers
    msg["Subject"] = m.subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Content-Language"] = "zh-CN" if m.lang == "zh" else "en"
    # RFC 3834: out-of-office robots and the like must not answer an automatic message.
    msg["Auto-Submitted"] = "auto-generated"
    text = m.text
    if m.link and m.link not in text:
        text = f"{text.rstrip()}\n\n{m.link_label}: {m.link}\n"
    msg.set_content(text)
    msg.add_alternative(_html(m), subtype="html")
    for a in m.attachments:
        maintype, _, subtype = (a.mime_type or "application/octet-stream").partition("/")
        msg.add_attachment(bytes(a.content), maintype=maintype, subtype=subtype or "octet-stream",
                           filename=a.filename)
    return msg


def _html(m: Message) -> str:
    if m.html:
        body = m.html
    else:
        paragraphs = [p for p in m.text.split("\n\n") if p.strip()]
        inner = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
        body = (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if m.lang == "zh" else "en"}"><head><meta charset="utf-8">'
                f"<title>{html.escape(m.subject)}</title></head><body>\n{inner}\n</body></html>")
    if m.link and m.link not in body and html.escape(m.link) not in body:
        link = f'<p><a href="{html.escape(m.link)}">{html.escape(m.link_label)}</a></p>'
        at = body.lower().rfind("</body>")
        body = body[:at] + link + "\n" + body[at:] if at >= 0 else body + "\n" + link
    return body


class EmailChannel(Channel):
    kind = "email"

    def __init__(self, name: str, *, host: str, to, sender: str, port: int | None = None,
                 security: str = "starttls", user: str | None = None, password: str | None = None,
                 ca_file: str | None = None, timeout: float = DEFAULT_TIMEOUT, **kw):
        super().__init__(name, secrets=[password], **kw)
        if security not in SECURITY_PORTS:
            raise ChannelConfigError(f"channel {name!r}: security should be one of {', '.join(SECURITY_PORTS)}, "
                                     f"not {security!r}")
        to = [to] if isinstance(to, str) else list(to or [])
        to = [t.strip() for t in to if str(t).strip()]
        if not host:
            raise ChannelConfigError(f"channel {name!r}: no SMTP host (host = \"smtp.example.org\")")
        if not to:
            raise ChannelConfigError(f"channel {name!r}: no recipient (to = [\"someone@example.org\"])")
        if not sender or "@" not in parseaddr(sender)[1]:
            raise ChannelConfigError(f"channel {name!r}: no sender address (from = \"Campaign Reach <alerts@example.org>\")")
        if user and not password:
            raise ChannelConfigError(f"channel {name!r}: a user is given but no password")
        if user and security == "none" and host not in ("127.0.0.1", "::1", "localhost"):
            raise ChannelConfigError(f"channel {name!r}: a login with security = \"none\" would send the password "
                                     "in clear text; use starttls or ssl")
        self.host, self.port = host, int(port or SECURITY_PORTS[security])
        self.security, self.user, self.password = security, user, password
        self.to, self.sender, self.timeout = to, sender, float(timeout)
        self.ca_file = ca_file

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()

    def _attempt(self, m: Message) -> Outcome:
        where = self.where
        mail = build_email(m, self.sender, self.to)
        try:
            if self.security == "ssl":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with conn:
                if self.security == "starttls":
                    conn.starttls(context=self._context())
                if self.user:
                    conn.login(self.user, self.password)
                refused = conn.send_message(mail, to_addrs=self.to)
        except smtplib.SMTPAuthenticationError as e:
            return Outcome(False, f"the SMTP server {where} refused the login of {self.user!r} ({_said(e)})")
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            listed = "; ".join(f"{addr}: {code} {_text(text)}" for addr, (code, text) in e.recipients.items())
            return Outcome(False, f"the SMTP server {where} refused every recipient ({listed})",
                           retry=all(400 <= c < 500 for c in codes))
        except smtplib.SMTPResponseException as e:  # sender refused, data refused, 421 and the like
            return Outcome(False, f"the SMTP server {where} answered {_said(e)}", retry=400 <= e.smtp_code < 500)
        except smtplib.SMTPNotSupportedError:
            what = "STARTTLS" if self.security == "starttls" else "a login (AUTH)"
            return Outcome(False, f"the SMTP server {where} does not offer {what}")
        except smtplib.SMTPServerDisconnected:
            return Outcome(False, f"the SMTP server {where} closed the connection", retry=True)
        except ssl.SSLCertVerificationError as e:
            return Outcome(False, f"the TLS certificate of the SMTP server {where} cannot be verified "
                                  f"({e.verify_message}); if it is signed by your own authority, set ca_file")
        except ssl.SSLError as e:
            return Outcome(False, f"TLS with the SMTP server {where} failed ({e.reason or type(e).__name__}); "
                                  "check security (starttls on 587, ssl on 465)")
        except (socket.timeout, TimeoutError):
            return Outcome(False, f"the SMTP server {where} did not answer in time", retry=True)
        except ConnectionRefusedError:
            return Outcome(False, f"cannot connect to the SMTP server {where} (connection refused)", retry=True)
        except socket.gaierror:
            return Outcome(False, f"cannot find the SMTP server {self.host} (unknown host name)", retry=True)
        except OSError as e:
            return Outcome(False, f"cannot talk to the SMTP server {where} ({e.strerror or type(e).__name__})",
                           retry=True)
        if refused:
            listed = "; ".join(f"{addr}: {code} {_text(text)}" for addr, (code, text) in refused.items())
            accepted = [t for t in self.to if t not in refused]
            return Outcome(False, f"the SMTP server {where} accepted {', '.join(accepted)} but refused {listed}")
        return Outcome(True, f"the SMTP server {where} accepted the mail for {', '.join(self.to)}")


def _text(raw) -> str:
    return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip()


def _said(e: smtplib.SMTPResponseException) -> str:
    return f"{e.smtp_code} {_text(e.smtp_error)}"

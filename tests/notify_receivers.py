"""What the notices of tests/test_alerts_demo.py and tests/test_reports.py are sent to: a webhook
receiver and an SMTP server on 127.0.0.1 (conftest.py's ``receivers`` fixture makes both), and the
[[channels]] of campaign.toml that name them."""
from __future__ import annotations

import email
import json
import threading
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Hook:
    """A webhook receiver on 127.0.0.1 that keeps every JSON body it is sent."""

    def __init__(self):
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.bodies.append(json.loads(raw))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/reach"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """An SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it accepts."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                box.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
                return "250 OK"

        import socket

        with socket.socket() as s:  # a free port (aiosmtpd checks its own with a connection, so not 0)
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()


def webhook_channel(name: str, hook: Hook, lang: str = "en") -> str:
    """A [[channels]] table of campaign.toml: a webhook to ``hook``."""
    return f'''
[[channels]]
kind = "webhook"
name = "{name}"
lang = "{lang}"
url = "{hook.url}"
'''


def email_channel(name: str, box: Mailbox, sender: str, to: list[str], lang: str = "zh") -> str:
    """A [[channels]] table of campaign.toml: e-mail through ``box``, without TLS (it is local)."""
    return f'''
[[channels]]
kind = "email"
name = "{name}"
lang = "{lang}"
host = "127.0.0.1"
port = {box.port}
security = "none"
from = "{sender}"
to = [{", ".join(f'"{t}"' for t in to)}]
'''

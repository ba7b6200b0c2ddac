"""Notifications: a message sent to e-mail, a JSON webhook, Slack, WeCom, Feishu or DingTalk.

The public surface is small: a ``Message`` (subject, text, HTML, the link back to the dashboard
view, language, attachments, the event's facts), one channel class per kind whose ``send(message)``
returns a ``Delivery`` (never raises for a failed delivery), and ``build_channels`` for
``[[channels]]`` tables with their secrets from the environment or the credentials file.
channels.py holds what all channels share (retries, redaction), smtp.py the e-mail channel,
bots.py the HTTP ones, config.py the configuration. docs/alerts.md is the user's guide.
"""
from .bots import DingTalkChannel, FeishuChannel, SlackChannel, WebhookChannel, WeComChannel
from .channels import Attachment, Channel, ChannelConfigError, Delivery, Message
from .config import KINDS, SECRETS, build_channels
from .smtp import EmailChannel

__all__ = [
    "Attachment", "Channel", "ChannelConfigError", "Delivery", "DingTalkChannel", "EmailChannel",
    "FeishuChannel", "KINDS", "Message", "SECRETS", "SlackChannel", "WeComChannel", "WebhookChannel",
    "build_channels",
]

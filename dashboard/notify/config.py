"""Channels from configuration: ``[[channels]]`` tables in, ready ``Channel`` objects out.

The configuration names each channel and says where to send; it never holds a secret, since
campaign.toml is committed and copied. A secret comes from the environment variable that the
channel's ``<secret>_env`` names, else from the credentials file (collectors/api/credentials.py:
``$REACH_CREDENTIALS`` or ``~/.config/campaign-reach/credentials.toml``, refused inside the
repository) under the table ``[notify.<channel name>]`` (or the one ``credentials`` names)::

    [[channels]]                    # campaign.toml
    kind = "feishu"
    name = "team-feishu"
    lang = "zh"
    token_env = "REACH_FEISHU_HOOK" # the hook id or the whole webhook URL
                                    # the signing secret: [notify.team-feishu] secret = "..."

A channel that cannot be built stops with one line naming it and what is missing, and which
secrets each kind takes is in ``SECRETS`` (docs/alerts.md has the table).
"""
from __future__ import annotations

import os
import re
from typing import Any, Callable, Iterable, Mapping

from collectors.api import credentials as creds_mod
from collectors.errors import ReachError

from .bots import DingTalkChannel, FeishuChannel, SlackChannel, WebhookChannel, WeComChannel
from .channels import Channel, ChannelConfigError, language
from .smtp import EmailChannel

KINDS: dict[str, type[Channel]] = {
    "email": EmailChannel,
    "webhook": WebhookChannel,
    "slack": SlackChannel,
    "wecom": WeComChannel,
    "feishu": FeishuChannel,
    "dingtalk": DingTalkChannel,
}
# kind -> {secret: required?}
SECRETS: dict[str, dict[str, bool]] = {
    "email": {"password": False},  # required when `user` is given (the channel checks)
    "webhook": {"secret": False},  # the HMAC key of X-Reach-Signature-256
    "slack": {"token": True},  # the webhook URL, or its part after /services/
    "wecom": {"token": True},  # the robot's key, or its whole webhook URL
    "feishu": {"token": True, "secret": False},  # the hook id (or URL); the signing secret
    "dingtalk": {"token": True, "secret": False},  # the access_token (or URL); the 加签 secret (SEC...)
}
# Settings the configuration may hold, per kind (besides kind, name, lang, credentials, <secret>_env).
SETTINGS: dict[str, dict[str, str]] = {
    "email": {"host": "host", "port": "port", "security": "security", "user": "user", "from": "sender",
              "to": "to", "ca_file": "ca_file", "timeout": "timeout"},
    "webhook": {"url": "url", "timeout": "timeout"},
    "slack": {"base_url": "base_url", "timeout": "timeout"},
    "wecom": {"base_url": "base_url", "timeout": "timeout"},
    "feishu": {"base_url": "base_url", "msg_type": "msg_type", "timeout": "timeout"},
    "dingtalk": {"base_url": "base_url", "timeout": "timeout"},
}
RETRY_SETTINGS = ("attempts", "backoff", "max_wait", "rate_limit_wait")
COMMON = {"kind", "name", "lang", "credentials", *RETRY_SETTINGS}
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def build_channels(configs: Iterable[Mapping[str, Any]], *, env: Mapping[str, str] | None = None,
                   credentials: creds_mod.Credentials | None = None, **options) -> list[Channel]:
    """One channel per table. ``credentials``: already loaded (else the file is read when a secret
    is not in the environment). ``options`` go to every channel (session, sleep, clock)."""
    env = os.environ if env is None else env
    loaded: list[creds_mod.Credentials] = [credentials] if credentials is not None else []
    seen: set[str] = set()
    out = []
    for i, cfg in enumerate(configs, 1):
        if not isinstance(cfg, Mapping):
            raise ChannelConfigError(f"channel #{i} should be a table ([[channels]]), not {type(cfg).__name__}")
        name = str(cfg.get("name") or "").strip()
        if not NAME.match(name):
            raise ChannelConfigError(f"channel #{i} needs a name of letters, digits, - and _ (name = \"ops-wecom\"), "
                                     f"not {name!r}")
        if name in seen:
            raise ChannelConfigError(f"two channels are named {name!r}")
        seen.add(name)
        kind = str(cfg.get("kind") or "").strip().lower()
        if kind not in KINDS:
            raise ChannelConfigError(f"channel {name!r}: kind should be one of {', '.join(KINDS)}, not {kind!r}")

        def load_credentials() -> creds_mod.Credentials:
            if not loaded:
                try:
                    loaded.append(creds_mod.load(env=env))
                except ReachError as e:
                    raise ChannelConfigError(f"channel {name!r} ({kind}): {e}") from None
            return loaded[0]

        out.append(build_channel(name, kind, cfg, env, load_credentials, options))
    return out


def build_channel(name: str, kind: str, cfg: Mapping[str, Any], env: Mapping[str, str],
                  load_credentials: Callable[[], creds_mod.Credentials], options: dict) -> Channel:
    secrets = SECRETS[kind]
    allowed = COMMON | set(SETTINGS[kind]) | {f"{s}_env" for s in secrets}
    for key in cfg:
        if key in secrets or key in ("password", "secret", "token", "key", "access_token"):
            raise ChannelConfigError(
                f"channel {name!r} ({kind}): {key} is written in the configuration, which is committed and copied; "
                f"remove it and set {key}_env = \"SOME_VARIABLE\" (the variable holding it) or put it in the "
                f"credentials file under [{_table(name, cfg)}]")
        if key not in allowed:
            raise ChannelConfigError(f"channel {name!r} ({kind}): unknown setting {key!r}; "
                                     f"it takes {', '.join(sorted(allowed))}")
    kwargs: dict[str, Any] = {SETTINGS[kind][k]: v for k, v in cfg.items() if k in SETTINGS[kind]}
    for field, required in secrets.items():
        required = required or (kind == "email" and field == "password" and bool(cfg.get("user")))
        value = _secret(name, kind, field, required, cfg, env, load_credentials)
        if value is not None:
            kwargs[field] = value
    for k in RETRY_SETTINGS:
        if k in cfg:
            kwargs[k] = cfg[k]
    if kind == "webhook" and not cfg.get("url"):
        raise ChannelConfigError(f"channel {name!r} (webhook): no url (url = \"https://example.org/hook\")")
    try:
        return KINDS[kind](name, lang=language(cfg.get("lang")), **kwargs, **options)
    except (TypeError, ValueError) as e:  # a setting of the wrong type (port = "x")
        raise ChannelConfigError(f"channel {name!r} ({kind}): a setting has the wrong type ({type(e).__name__})") from None


def _table(name: str, cfg: Mapping[str, Any]) -> str:
    return str(cfg.get("credentials") or f"notify.{name}")


def _secret(name: str, kind: str, field: str, required: bool, cfg: Mapping[str, Any], env: Mapping[str, str],
            load_credentials: Callable[[], creds_mod.Credentials]) -> str | None:
    var = cfg.get(f"{field}_env")
    if var:
        value = str(env.get(str(var)) or "").strip()
        if not value:
            raise ChannelConfigError(f"channel {name!r} ({kind}): the environment variable {var} (its {field}_env) "
                                     "is not set")
        return value
    creds = load_credentials()
    table: Any = creds.values
    for part in _table(name, cfg).split("."):
        table = table.get(part, {}) if isinstance(table, Mapping) else {}
    value = table.get(field) if isinstance(table, Mapping) else None
    if value not in (None, ""):
        return str(value).strip()
    if required:
        where = creds.file or creds_mod.DEFAULT_FILE
        raise ChannelConfigError(
            f"channel {name!r} ({kind}) has no {field}: set {field}_env = \"VARIABLE\" in its configuration and "
            f"that variable in the environment, or put {field} = \"...\" under [{_table(name, cfg)}] in the "
            f"credentials file ({where})")
    return None

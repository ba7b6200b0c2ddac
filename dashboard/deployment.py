"""Which deployment this process belongs to, read from the environment in one place.

The default is one machine: a SQLite file, the page cache in a folder beside it, everything in
one process (`make run`). Setting ``REACH_DB=postgresql://…`` and ``REACH_REDIS=redis://…``
switches to the distributed parts (docs/deploy.md): flask-caching's Redis backend for the page
cache, Redis as the Celery broker and result backend (unless ``REACH_BROKER`` names another
broker, such as RabbitMQ's ``amqp://``), and a rate-limit state the API collectors share.

Nothing here connects to anything: it only says what was asked for, and refuses a value that
cannot be meant (a typo in a URL should stop the process at start, not fall back silently to the
one-machine parts while several hosts think they share a cache).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from collectors.errors import ReachError

REDIS_ENV = "REACH_REDIS"
BROKER_ENV = "REACH_BROKER"
REDIS_SCHEMES = ("redis", "rediss", "unix")
BROKER_SCHEMES = REDIS_SCHEMES + ("amqp", "amqps", "pyamqp")


@dataclass(frozen=True)
class Deployment:
    redis: str | None  # the shared cache, the rate-limit state, and the broker unless ``broker`` says
    broker: str | None  # where Celery's tasks go; None on one machine (work runs in the process)

    @property
    def distributed(self) -> bool:
        return self.redis is not None


def _url(env: str, schemes: tuple[str, ...]) -> str | None:
    value = (os.environ.get(env) or "").strip()
    if not value:
        return None
    scheme = urlsplit(value).scheme.lower()
    if scheme not in schemes:
        raise ReachError(f"{env}={value!r} is not a URL this setting takes: expected "
                         + " or ".join(f"{s}://…" for s in schemes))
    return value


def current() -> Deployment:
    """The deployment the environment asks for (read each call: tests and `reach` subcommands set
    the environment before they start their parts)."""
    redis = _url(REDIS_ENV, REDIS_SCHEMES)
    broker = _url(BROKER_ENV, BROKER_SCHEMES) or redis
    if broker and not redis:
        raise ReachError(f"{BROKER_ENV} is set but {REDIS_ENV} is not: the workers' results, the shared "
                         f"cache and the rate limits need Redis too (docs/deploy.md)")
    return Deployment(redis=redis, broker=broker)


def key_prefix(db_url: str | None) -> str:
    """``reach:<hash>:``, the start of every key this campaign writes to a shared Redis: two
    campaigns (two databases) sharing one Redis never read each other's entries. A hash of the
    database URL without its password, so a key never carries a secret and a changed password
    keeps the keys; every host must then spell REACH_DB the same way (docs/deploy.md)."""
    if db_url:
        from sqlalchemy.engine import make_url

        db_url = make_url(db_url).render_as_string(hide_password=True)
    return "reach:" + hashlib.sha256((db_url or "").encode()).hexdigest()[:16] + ":"


CELERY_CONFIG_ENV = "REACH_CELERY_CONFIG"


def celery_config() -> str | None:
    """The Python module of Celery settings an operator overrides (docs/workers.md), if any."""
    return (os.environ.get(CELERY_CONFIG_ENV) or "").strip() or None

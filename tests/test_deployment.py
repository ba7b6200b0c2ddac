"""dashboard.deployment: the environment chooses one machine or the distributed parts, and a
mistyped URL stops the process instead of quietly falling back to one machine."""
import pytest

from collectors.errors import ReachError
from dashboard import deployment


def test_nothing_set_is_one_machine(monkeypatch):
    monkeypatch.delenv("REACH_REDIS", raising=False)
    monkeypatch.delenv("REACH_BROKER", raising=False)
    d = deployment.current()
    assert (d.redis, d.broker, d.distributed) == (None, None, False)


def test_redis_is_also_the_broker_unless_one_is_named(monkeypatch):
    monkeypatch.setenv("REACH_REDIS", "redis://127.0.0.1:6379/3")
    monkeypatch.delenv("REACH_BROKER", raising=False)
    assert deployment.current() == deployment.Deployment("redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("REACH_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
    d = deployment.current()
    assert d.distributed and d.broker.startswith("amqp://") and d.redis.endswith("/3")


@pytest.mark.parametrize("env, value", [("REACH_REDIS", "127.0.0.1:6379"), ("REACH_REDIS", "http://x"),
                                        ("REACH_BROKER", "kafka://x")])
def test_a_url_that_cannot_be_meant_is_refused_by_name(monkeypatch, env, value):
    monkeypatch.setenv("REACH_REDIS", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv(env, value)
    with pytest.raises(ReachError, match=env):
        deployment.current()


def test_a_broker_without_redis_is_refused(monkeypatch):
    monkeypatch.delenv("REACH_REDIS", raising=False)
    monkeypatch.setenv("REACH_BROKER", "amqp://127.0.0.1//")
    with pytest.raises(ReachError, match="REACH_REDIS is not"):
        deployment.current()

"""A web process's sweeper during a Redis outage: one line when it starts, one when it ends,
and the timers work again without a restart (no traceback every second in the logs)."""

from __future__ import annotations

import logging

import pytest

from queues import sweeper
from tests.faults import PrivateRedis, all_redis_on

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    with all_redis_on(server, key_prefix="sweeper-outage"):
        yield server
    server.stop()


def test_an_outage_is_logged_once_without_a_traceback_and_sweeps_resume(redis, caplog):
    caplog.set_level(logging.INFO, logger="queues.sweeper")
    sweeper.sweep_once("web-1")
    assert not caplog.records

    redis.stop()
    for _ in range(5):
        sweeper.sweep_once("web-1")
    paused = [r for r in caplog.records if r.name == "queues.sweeper"]
    assert [r.getMessage().split(":")[0] for r in paused] == ["Queue sweeps paused"]
    assert all(r.exc_info is None for r in paused)

    caplog.clear()
    redis.start()
    sweeper.sweep_once("web-1")
    assert [r.getMessage() for r in caplog.records] == ["Queue sweeps resumed"]
    assert sweeper.take_lease("web-1")  # the lease is held again: the sweeps run

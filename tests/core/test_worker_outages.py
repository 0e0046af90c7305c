"""The Celery worker when Redis, its broker, goes away with a task in flight (issue 9, item 22).

Celery 5.7.0 closes the lost connection a second time after collecting it; kombu's Redis
channel then tries to put the unacknowledged task back through a transport that is already
gone (``AttributeError: 'NoneType' object has no attribute 'hostname'`` in
``restore_unacked``) and the worker exits. It happens when the worker was waiting on Redis for
more work at that moment: a prefork pool with a free slot, as in production. The project pins a
Celery without that second close (constraints.txt).
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.celery_app import pause
from tests.faults import PrivateRedis, celery_broker
from tests.workers import celery_worker, wait_for, wait_until_ready, worker_database_url, worker_env

# The task in flight when Redis stops: long enough to outlast the outage.
IN_FLIGHT_SECONDS = 6.0
OUTAGE_SECONDS = 2.0
# The worker reconnects with growing pauses (2 s, 4 s, ...): after a short outage, well within.
BACK_WITHIN_SECONDS = 45.0


def test_the_worker_survives_redis_going_away_with_a_task_in_flight(tmp_path: Path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    env = worker_env(broker_url=redis.url, database_url=worker_database_url(), var=tmp_path)
    # As production runs it: prefork with a free slot, gossip, mingle and heartbeats.
    worker = celery_worker(
        tmp_path / "worker.log", env, app="tests.celery_app", pool="prefork", concurrency=2,
        quiet=False,
    )  # fmt: skip
    try:
        worker.start()
        wait_until_ready(worker)
        with celery_broker(redis.url):
            in_flight = pause.delay(IN_FLIGHT_SECONDS)
            wait_for(lambda: in_flight.id in worker.log(), "task received", worker, 30)

            redis.stop()
            worker.wait_for_log("Connection to broker lost", more_than=0, timeout=10)
            time.sleep(OUTAGE_SECONDS)
            assert worker.alive(), worker.log_tail()
            redis.start()

            after = pause.delay(0.1)
            wait_for(
                lambda: f"tests.pause[{after.id}] succeeded" in worker.log(),
                "task processed after Redis came back",
                worker,
                BACK_WITHIN_SECONDS,
            )
        assert "Unrecoverable error" not in worker.log()
    finally:
        worker.stop()
        redis.stop()


# The kill below leaves the task taken and never acknowledged: the broker hands it to another
# worker once the visibility timeout has passed (kombu's default is an hour).
VISIBILITY_SECONDS = 6
REDELIVERED_WITHIN_SECONDS = 30.0


def test_a_task_held_by_a_killed_worker_runs_again_after_the_visibility_timeout(tmp_path: Path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    env = worker_env(
        broker_url=redis.url,
        database_url=worker_database_url(),
        var=tmp_path,
        CELERY_VISIBILITY_TIMEOUT_SECONDS=str(VISIBILITY_SECONDS),
    )
    first = celery_worker(tmp_path / "first.log", env, app="tests.celery_app")
    second = celery_worker(tmp_path / "second.log", env, app="tests.celery_app")
    try:
        first.start()
        wait_until_ready(first)
        with celery_broker(redis.url):
            held = pause.delay(20)
        wait_for(lambda: held.id in first.log(), "task received", first, 30)
        assert first.process is not None
        first.process.kill()  # SIGKILL: no chance to give the task back
        first.process.wait(timeout=10)
        # A worker looks for such tasks when it starts and then every minute or so.
        time.sleep(VISIBILITY_SECONDS)

        second.start()
        wait_for(
            lambda: held.id in second.log(),
            "the task handed on",
            second,
            REDELIVERED_WITHIN_SECONDS,
        )
    finally:
        first.stop()
        second.stop()
        redis.stop()

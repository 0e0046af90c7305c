"""`make run` with REDIS_URL: Daphne, a Celery worker and beat under supervisord
(deploy/supervisord.conf), which starts a worker again when it dies (issue 9, item 22)."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from core.tasks import relay_outbox
from tests.e2e.processes import ROOT, ManagedProcess, free_port
from tests.faults import PrivateRedis, celery_broker
from tests.workers import BIN, wait_for, worker_database_url, worker_env

# The processes work on the test database (beat's periodic tasks read it).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SPAWNED_WORKER = re.compile(r"spawned: 'worker' with pid (\d+)")
START_SECONDS = 60.0


def test_make_run_keeps_a_worker_and_beat_running(tmp_path: Path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    port = free_port()
    # The environment `make run` gives supervisord (see the Makefile's run target).
    env = worker_env(
        broker_url=redis.url,
        database_url=worker_database_url(),
        var=tmp_path,
        REDIS_URL=redis.url,
        CACHE_KEY_PREFIX="esj-run-test",
        CHANNEL_LAYER_PREFIX="esj-run-test",
        QUEUE_SWEEPER_IN_WEB="0",
        RUN_VENV_BIN=str(BIN),
        RUN_VAR_DIR=str(tmp_path),
        RUN_WEB_COMMAND=f"{BIN}/daphne -b 127.0.0.1 -p {port} esanjeevani.asgi:application",
        RUN_CELERY="true",
        # The offline ABDM gateway is tested in test_run_gateway.py.
        RUN_ABDM_GATEWAY="false",
        RUN_ABDM_GATEWAY_COMMAND=f"{BIN}/python -m abdm_gateway --port {free_port()}",
    )
    config = str(ROOT / "deploy" / "supervisord.conf")
    run = ManagedProcess(
        "supervisord", [str(BIN / "supervisord"), "-c", config], tmp_path / "run.log", env
    )
    try:
        run.start()
        wait_for(lambda: " ready." in run.log(), "worker ready", run, START_SECONDS)
        wait_for(lambda: "Sending due task" in run.log(), "beat sending a task", run, START_SECONDS)
        (first_pid,) = SPAWNED_WORKER.findall(run.log())

        os.kill(int(first_pid), signal.SIGKILL)  # a worker that dies, whatever the cause
        wait_for(
            lambda: (
                len(SPAWNED_WORKER.findall(run.log())) == 2 and run.count_in_log(" ready.") == 2
            ),
            "a new worker, ready",
            run,
            START_SECONDS,
        )

        with celery_broker(redis.url):
            task = relay_outbox.delay()
        wait_for(
            lambda: f"relay_outbox[{task.id}] succeeded" in run.log(),
            "a task processed by the new worker",
            run,
            START_SECONDS,
        )
    finally:
        run.stop()
        redis.stop()
    assert "success: web entered RUNNING state" in run.log()  # Daphne beside them

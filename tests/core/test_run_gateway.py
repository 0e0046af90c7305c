"""`make run` without REDIS_URL: Daphne and the offline ABDM gateway under supervisord
(deploy/supervisord.conf), which starts the gateway again when it dies and stops both on Ctrl-C
(issue 11, item 6)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.processes import ROOT, ManagedProcess, answers_http, free_port
from tests.workers import BIN, wait_for, worker_database_url, worker_env

# The web reads the test database.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SPAWNED_GATEWAY = re.compile(r"spawned: 'abdm-gateway' with pid (\d+)")
SPAWNED_WEB = re.compile(r"spawned: 'web' with pid (\d+)")
START_SECONDS = 60.0


def gateway_command(port: int, data_dir: Path) -> str:
    """The gateway's command line as the Makefile's RUN_ABDM_GATEWAY_COMMAND builds it."""
    return f"{BIN}/python -m abdm_gateway --host 127.0.0.1 --port {port} --data-dir {data_dir}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: supervisord has not reaped it yet.
    state = subprocess.run(
        ["/bin/ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False
    ).stdout.strip()
    return bool(state) and not state.startswith("Z")


def test_make_run_without_redis_keeps_the_web_and_the_offline_gateway_running(tmp_path: Path):
    web_port, gateway_port = free_port(), free_port()
    # The environment `make run` gives supervisord without REDIS_URL (see the Makefile's run
    # target): no broker, so Celery is eager and no worker or beat starts.
    env = worker_env(
        broker_url="",
        database_url=worker_database_url(),
        var=tmp_path,
        QUEUE_SWEEPER_IN_WEB="0",
        ABDM_GATEWAY_URL=f"http://127.0.0.1:{gateway_port}/api/hiecm",
        ABDM_ABHA_URL=f"http://127.0.0.1:{gateway_port}/abha/api/v3",
        RUN_VENV_BIN=str(BIN),
        RUN_VAR_DIR=str(tmp_path),
        RUN_WEB_COMMAND=f"{BIN}/daphne -b 127.0.0.1 -p {web_port} esanjeevani.asgi:application",
        RUN_CELERY="false",
        RUN_ABDM_GATEWAY="true",
        RUN_ABDM_GATEWAY_COMMAND=gateway_command(gateway_port, tmp_path / "abdm_gateway"),
    )
    for key in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(key, None)
    health = f"http://127.0.0.1:{gateway_port}/_admin/health"
    home = f"http://127.0.0.1:{web_port}/"
    config = str(ROOT / "deploy" / "supervisord.conf")
    run = ManagedProcess(
        "supervisord", [str(BIN / "supervisord"), "-c", config], tmp_path / "run.log", env
    )
    # `make run` collects the static files before it serves (VAR_DIR is tmp_path here).
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    try:
        run.start()
        wait_for(lambda: answers_http(health), "gateway answering", run, START_SECONDS)
        wait_for(lambda: answers_http(home), "web answering", run, START_SECONDS)
        (gateway_pid,) = map(int, SPAWNED_GATEWAY.findall(run.log()))
        (web_pid,) = map(int, SPAWNED_WEB.findall(run.log()))
        assert "'worker'" not in run.log()  # eager Celery: no worker, no beat
        assert "'beat'" not in run.log()

        os.kill(gateway_pid, signal.SIGKILL)  # a gateway that dies, whatever the cause
        wait_for(
            lambda: len(SPAWNED_GATEWAY.findall(run.log())) == 2,
            "the gateway started again",
            run,
            START_SECONDS,
        )
        wait_for(lambda: answers_http(health), "the new gateway answering", run, START_SECONDS)
        new_gateway_pid = int(SPAWNED_GATEWAY.findall(run.log())[1])
        assert new_gateway_pid != gateway_pid
        assert answers_http(home)  # the web went on serving

        assert run.process is not None
        run.process.send_signal(signal.SIGINT)  # Ctrl-C
        assert run.process.wait(timeout=30) == 0
    finally:
        run.stop()
    assert not pid_alive(new_gateway_pid)
    assert not pid_alive(web_pid)
    assert not answers_http(health)
    assert not answers_http(home)

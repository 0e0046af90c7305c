"""Celery workers started by tests: the project's command line, on a private broker, against
the test database, logging to a file the test can read."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.e2e.processes import ManagedProcess

BIN = Path(sys.executable).parent
READY_SECONDS = 60.0


def worker_database_url(*, port: int | None = None) -> str:
    """The test database as a URL for another process (on 127.0.0.1:``port``, a proxy, if
    given)."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("Tests with a real worker share PostgreSQL: set DATABASE_URL to postgres://.")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = "127.0.0.1" if port else (db["HOST"] or "127.0.0.1")
    port = port or db["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


def worker_env(*, broker_url: str, database_url: str, var: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without test-only settings, pointed at ``broker_url``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "SMS_", "EMAIL_", "PYTEST_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="esanjeevani.settings",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_ALWAYS_EAGER="0",
        SECRET_KEY="worker-" + uuid.uuid4().hex + uuid.uuid4().hex,
        DEBUG="0",
        VAR_DIR=str(var),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def celery_worker(
    log_path: Path,
    env: dict[str, str],
    *,
    app: str = "esanjeevani",
    pool: str = "solo",
    concurrency: int = 1,
    quiet: bool = True,
) -> ManagedProcess:
    """A worker on the ``default`` queue. ``quiet`` leaves out gossip, mingle and heartbeats
    (alone on a private broker there is nobody to talk to); production keeps them."""
    args = [str(BIN / "celery"), "-A", app, "worker", f"--pool={pool}"]
    args += [f"--concurrency={concurrency}", "-Q", "default", "--loglevel=INFO"]
    if quiet:
        args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    args += ["-n", f"test-{uuid.uuid4().hex[:8]}@%h"]
    return ManagedProcess("celery worker", args, log_path, env)


def wait_until_ready(worker: ManagedProcess) -> None:
    worker.wait_until(lambda: " ready." in worker.log(), "ready")


def wait_for(
    condition: Callable[[], object], what: str, worker: ManagedProcess, seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if not worker.alive():
            pytest.fail(f"The worker died while waiting for {what}:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"No {what} after {seconds:.0f}s:\n{worker.log_tail()}")
        time.sleep(0.1)

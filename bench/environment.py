"""The bench's own PostgreSQL database and Redis, and the environment Django reads.

The database is created here and dropped at the end; nothing else on the server is touched.
Redis is a private ``redis-server`` on a free port by default: the application's channel layer
is ``RedisPubSubChannelLayer``, and Redis pub/sub channels are global to a server, not scoped to
a database number, so publishing ``opd.1`` changes on a shared Redis (even with ``/9`` in the
URL) would reach every other Daphne on that server whose waiting rooms show an OPD with id 1.
"""

from __future__ import annotations

import ctypes
import logging
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

logger = logging.getLogger("bench")

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PROTECTED_DATABASES = frozenset({"esanjeevani", "test_esanjeevani", "postgres"})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def die_with_parent() -> None:
    """In a child process: be sent SIGTERM when the bench itself dies."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def raise_open_files_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass
class BenchEnvironment:
    """Database name, Redis URL and a scratch directory for one run."""

    db_name: str
    redis_url: str | None
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="esj-bench-")))
    redis_process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:5432/{self.db_name}"

    @property
    def psycopg_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"

    def start(self) -> None:
        if self.db_name in PROTECTED_DATABASES or not self.db_name.startswith("esj_bench"):
            raise SystemExit(f"refusing to use database {self.db_name!r}: not a bench database")
        if self.redis_url is None:
            self.redis_url = self._start_private_redis()
        else:
            logger.warning(
                "using shared Redis %s: pub/sub channels are not scoped by database number, "
                "so other Daphnes on that server may receive the bench's OPD messages",
                self.redis_url,
            )
        self._create_database()
        self._export()

    def _start_private_redis(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            logger.warning("redis-server not on PATH; falling back to 127.0.0.1:6379/9")
            return "redis://127.0.0.1:6379/9"
        port = free_port()
        log = (self.work / "redis.log").open("wb")
        self.redis_process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(port, 10, self.redis_process)
        logger.info("private redis-server on port %s", port)
        return f"redis://127.0.0.1:{port}/9"

    def _create_database(self) -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            name = sql.Identifier(self.db_name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
        logger.info("created database %s", self.db_name)

    def _export(self) -> None:
        """What settings.py reads; set before django.setup() and inherited by every child."""
        assert self.redis_url is not None
        os.environ.update(
            DJANGO_SETTINGS_MODULE="esanjeevani.settings",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            SECRET_KEY="bench-" + secrets.token_hex(32),
            DEBUG="0",
            QUEUE_SWEEPER_IN_WEB="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CELERY_TASK_ALWAYS_EAGER="1",
            SMS_BACKEND="notifications.sms.ConsoleSmsBackend",
            VAR_DIR=str(self.work / "var"),
            LOG_LEVEL="WARNING",
            # Our own names on Redis too, should it be a shared one.
            CACHE_KEY_PREFIX="esjbench",
            CHANNEL_LAYER_PREFIX="esjbench",
            PYTHONUNBUFFERED="1",
        )
        for key in ("CACHE_URL", "CELERY_BROKER_URL"):
            os.environ.pop(key, None)

    def stop(self) -> None:
        try:
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.db_name)
                    )
                )
            logger.info("dropped database %s", self.db_name)
        finally:
            stop_process(self.redis_process)
            shutil.rmtree(self.work, ignore_errors=True)

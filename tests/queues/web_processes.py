"""Web processes started by tests: Daphnes on the test database and the test run's Redis, which
a test can kill (SIGKILL or SIGTERM) and start again on the same port; and a JSON WebSocket
client that keeps every frame it received.

Sockets are the ``websockets`` package's synchronous client, authenticated with sessions written
to the database as a sign-in would, so the tests need no event loop and may use the ORM anywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from knox.models import AuthToken
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from accounts.models import User
from tests.e2e.processes import ManagedProcess, answers_http, free_port

Frame = dict[str, Any]
# Queue changes are coalesced per OPD every QUEUE_BROADCAST_SECONDS (0.5 s).
FRAME_WAIT_SECONDS = 5.0


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("Two web processes share PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


@dataclass
class WebProcess:
    """One Daphne on a fixed port, which can be killed and started again on the same port."""

    name: str
    port: int
    env: dict[str, str]
    work: Path
    runs: list[ManagedProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def current(self) -> ManagedProcess:
        return self.runs[-1]

    def start(self) -> None:
        run = ManagedProcess(
            f"daphne {self.name}",
            [
                str(Path(sys.executable).parent / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "esanjeevani.asgi:application",
            ],
            self.work / f"daphne-{self.name}-{len(self.runs) + 1}.log",
            self.env,
        )
        self.runs.append(run)
        run.start()

    def wait_until_serving(self) -> None:
        self.current.wait_until(lambda: answers_http(self.url + "/"), f"serving {self.url}/")

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """SIGKILL: no disconnect handler, no cleanup, as when a machine dies. SIGTERM: what a
        deploy or a container stop sends."""
        process = self.current.process
        assert process is not None
        process.send_signal(sig)
        process.wait(timeout=20)
        self.current.stop()  # closes the log

    def logs(self) -> str:
        return "\n\n".join(f"--- {r.name} ({r.log_path}) ---\n{r.log_tail()}" for r in self.runs)


@dataclass
class TwoWebProcesses:
    a: WebProcess
    b: WebProcess

    def start(self) -> None:
        for web in (self.a, self.b):
            web.start()
        for web in (self.a, self.b):
            web.wait_until_serving()

    def kill(self) -> None:
        for web in (self.a, self.b):
            web.kill()

    def stop(self) -> None:
        for web in (self.a, self.b):
            if web.runs:
                web.current.stop()

    def logs(self) -> str:
        return self.a.logs() + "\n\n" + self.b.logs()


def web_environment(tmp_path: Path) -> dict[str, str]:
    """What a Daphne started by a test needs to serve the test database and Redis."""
    if not settings.REDIS_URL:
        pytest.fail("Web processes started by tests talk through Redis: set REDIS_URL.")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "SMS_", "OTP_", "PYTEST_", "QUEUE_"))
    }
    env.update(
        # settings_test: static files without collectstatic; everything else is set here.
        DJANGO_SETTINGS_MODULE="esanjeevani.settings_test",
        DATABASE_URL=_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CACHE_KEY_PREFIX=str(settings.CACHES["default"].get("KEY_PREFIX", "")),
        # The sessions this test writes are signed with the test run's key.
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        QUEUE_SWEEPER_IN_WEB="0",
        # A booking's SMS is sent in the web process, into memory: no broker, no worker.
        CELERY_TASK_ALWAYS_EAGER="1",
        SMS_BACKEND="notifications.sms.InMemorySmsBackend",
        VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    return env


@contextlib.contextmanager
def two_web_processes(tmp_path: Path, **overrides: str) -> Iterator[TwoWebProcesses]:
    """Two Daphne processes on the test database and the test run's Redis (not started),
    with these settings on top of ``web_environment``; stopped at the end."""
    env = {**web_environment(tmp_path), **overrides}
    pair = TwoWebProcesses(
        a=WebProcess("A", free_port(), env, tmp_path),
        b=WebProcess("B", free_port(), env, tmp_path),
    )
    try:
        yield pair
    finally:
        pair.stop()  # before pytest-django flushes the database


def api_token(user: User) -> str:
    _instance, token = AuthToken.objects.create(user=user)
    return str(token)


def api_post(base_url: str, path: str, token: str, payload: Frame) -> Frame:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        base_url + path,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body: Frame = json.loads(response.read())
        return body


class Socket:
    """A JSON WebSocket that keeps every frame it received, for waiting and for failures."""

    def __init__(self, connection: ClientConnection, name: str, logs: Callable[[], str]) -> None:
        self.connection = connection
        self.name = name
        self.logs = logs
        self.frames: list[Frame] = []
        self._read = 0

    def send(self, message: Frame) -> None:
        self.connection.send(json.dumps(message))

    def wait_for(self, timeout: float = FRAME_WAIT_SECONDS, **expected: Any) -> Frame:
        """The next unread frame whose fields have the expected values."""
        deadline = time.monotonic() + timeout
        while True:
            while self._read < len(self.frames):
                frame = self.frames[self._read]
                self._read += 1
                if all(frame.get(k) == v for k, v in expected.items()):
                    return frame
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                self.frames.append(json.loads(self.connection.recv(timeout=left)))
            except (TimeoutError, ConnectionClosed) as exc:
                raise AssertionError(
                    f"{self.name}: no frame like {expected} within {timeout}s ({exc!r}).\n"
                    f"Frames: {json.dumps(self.frames, indent=1)}\n\n{self.logs()}"
                ) from exc

    def wait_for_close(self, timeout: float = FRAME_WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.frames.append(json.loads(self.connection.recv(timeout=0.2)))
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
        raise AssertionError(f"{self.name} stayed open")


OpenSocket = Callable[[WebProcess, str, str], Socket]


@contextlib.contextmanager
def socket_opener(web: TwoWebProcesses) -> Iterator[OpenSocket]:
    """``open_socket(process, path, cookie)``; every socket is closed at the end."""
    with contextlib.ExitStack() as stack:

        def open_(process: WebProcess, path: str, cookie: str) -> Socket:
            connection = stack.enter_context(
                connect(
                    f"ws://127.0.0.1:{process.port}{path}",
                    origin=Origin(process.url),
                    additional_headers={"Cookie": cookie},
                    proxy=None,
                    open_timeout=5,
                )
            )
            return Socket(connection, f"{path} on {process.name}", web.logs)

        yield open_

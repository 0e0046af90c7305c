"""Real faults for the tests of what happens under them: a private Redis that is stopped and
started again, and a TCP proxy in front of PostgreSQL that can be cut.

Never the shared Redis at 6379 or the shared PostgreSQL itself: other test runs use them.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from core import publish
from esanjeevani.celery import app as celery_app
from tests.e2e.processes import ManagedProcess, answers_redis, free_port


class PrivateRedis:
    """A ``redis-server`` of this test's own on a free port, stopped and started at will."""

    def __init__(self, work: Path) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("These tests need redis-server on PATH for a private Redis.")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._work = work
        self._args = [server, "--bind", "127.0.0.1", "--port", str(self.port)]
        self._args += ["--save", "", "--appendonly", "no"]
        self._process: ManagedProcess | None = None
        self._starts = 0

    def start(self) -> None:
        self._starts += 1
        log = self._work / f"redis-{self.port}-{self._starts}.log"
        self._process = ManagedProcess("redis-server", self._args, log, env={})
        self._process.start()
        self._process.wait_until(lambda: answers_redis(self.port), "answering PING")

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
        deadline = time.monotonic() + 10
        while answers_redis(self.port):
            if time.monotonic() > deadline:
                pytest.fail("The private Redis did not stop.")
            time.sleep(0.05)


@contextlib.contextmanager
def celery_broker(url: str, *, eager: bool = False) -> Iterator[None]:
    """This process's Celery sends its tasks to ``url`` (not eager) while inside."""
    # The app reads Django's CELERY_* settings: only keys with that prefix override them.
    conf = celery_app.conf
    saved = {
        "CELERY_TASK_ALWAYS_EAGER": conf.task_always_eager,
        "CELERY_BROKER_URL": conf.broker_url,
    }
    conf.update(CELERY_TASK_ALWAYS_EAGER=eager, CELERY_BROKER_URL=url)
    _forget_producers()
    try:
        yield
    finally:
        _forget_producers()
        conf.update(saved)


def _forget_producers() -> None:
    # The app keeps its producer and connection pools for the broker it first used: forget them
    # (kombu keeps them per broker URL, and hands them back when that broker is used again).
    celery_app.amqp._producer_pool = None
    celery_app._pool = None


@contextlib.contextmanager
def all_redis_on(redis: PrivateRedis, *, key_prefix: str) -> Iterator[None]:
    """Cache, channel layer and Celery broker of this process on the private Redis: stopping
    it is Redis going away for the code under test."""
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis.url,
            "KEY_PREFIX": key_prefix,
        }
    }
    layers: dict[str, Any] = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis.url], "prefix": key_prefix},
        }
    }
    publish._redis_publisher.cache_clear()
    try:
        with override_settings(CACHES=caches, CHANNEL_LAYERS=layers), celery_broker(redis.url):
            yield
    finally:
        publish._redis_publisher.cache_clear()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target address until ``cut()``: then every open
    connection is dropped and new ones are refused, until ``restore()``. What a database that
    blinks looks like to its clients."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._closed = False

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        listener.settimeout(0.2)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            open_sockets, self._sockets = self._sockets, []
        if listener is not None:
            listener.close()
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

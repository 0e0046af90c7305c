"""Sending channel-layer messages from synchronous code, cheaply.

``async_to_sync(layer.group_send)`` outside an ASGI server (Celery workers, management
commands, tests) makes a new event loop, and so a new Redis connection, for every message.

- With Redis pub/sub (``RedisPubSubChannelLayer``, one host), a group send is one ``PUBLISH``
  of the layer's own serialisation to the group's pub/sub channel: done here with one
  synchronous client per process, in order, in the caller's thread.
- Otherwise (the in-memory layer of ``make run``, whose queues belong to the server's loop), the
  message is handed to an event loop and the caller goes on: inside Daphne's worker threads the
  server's own loop, elsewhere one background loop per process; each send waits for the one
  before it, so messages keep their order.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import redis
from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from core.outages import is_outage

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_background: asyncio.AbstractEventLoop | None = None
_tails: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The ASGI server's loop when called from one of its worker threads."""
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop: asyncio.AbstractEventLoop | None = getattr(local, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _background  # noqa: PLW0603
    with _lock:
        if _background is None or _background.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="channel-layer-publisher", daemon=True
            ).start()
            _background = loop
            atexit.register(_flush_background)
        return _background


def _enqueue(loop: asyncio.AbstractEventLoop, make: Any, label: str) -> None:
    def start() -> None:
        previous = _tails.get(loop)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await make()
            except Exception as exc:  # a lost message is repaired by the pages' periodic resync
                if is_outage(exc):
                    logger.warning("could not publish %s: %s", label, exc)
                else:
                    logger.exception("could not publish %s", label)

        task = loop.create_task(run())
        _tails[loop] = task
        task.add_done_callback(
            lambda done: _tails.pop(loop, None) if _tails.get(loop) is done else None
        )

    loop.call_soon_threadsafe(start)


Message = tuple[str, dict[str, Any]]

PUBLISH_TIMEOUT_SECONDS = 3.0


@functools.cache
def _redis_publisher() -> Callable[[list[Message]], None] | None:
    layer = get_channel_layer()
    layers: dict[str, dict[str, Any]] = settings.CHANNEL_LAYERS
    config: dict[str, Any] = layers["default"].get("CONFIG", {})
    hosts: list[str] = list(config.get("hosts", []))
    if not isinstance(layer, RedisPubSubChannelLayer) or len(hosts) != 1:
        return None
    # A Redis that stops answering must not hold the request (or the sweep) that publishes.
    client = redis.Redis.from_url(
        str(hosts[0]),
        socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS,
        socket_timeout=PUBLISH_TIMEOUT_SECONDS,
    )
    prefix = str(config.get("prefix", "asgi"))

    def publish(messages: list[Message]) -> None:
        # The channel name RedisPubSubChannelLayer.group_send publishes to (tests check that
        # consumers receive what is sent this way). Several messages: one round trip.
        pipe = client.pipeline(transaction=False)
        for group, message in messages:
            pipe.publish(f"{prefix}__group__{group}", layer.serialize(message))
        pipe.execute()

    return publish


def group_send(group: str, message: dict[str, Any]) -> None:
    """Publish ``message`` to ``group``, in order; never raises (pages resync what is lost)."""
    group_send_many([(group, message)])


def group_send_many(messages: list[Message]) -> None:
    """Publish several messages in order (with Redis, in one round trip)."""
    publisher = _redis_publisher()
    if publisher is not None:
        try:
            publisher(messages)
        except Exception as exc:
            # Called after a commit: the change stands, and pages resync what they missed.
            if is_outage(exc):
                logger.warning(
                    "could not publish %d channel-layer messages: %s", len(messages), exc
                )
            else:
                logger.exception("could not publish %d channel-layer messages", len(messages))
        return
    layer = get_channel_layer()
    if layer is None:
        return
    running: asyncio.AbstractEventLoop | None
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    loop = running or _server_loop() or _background_loop()
    for group, message in messages:

        def make(group: str = group, message: dict[str, Any] = message) -> Any:
            return layer.group_send(group, message)

        _enqueue(loop, make, f"{message.get('type')} to {group}")


def flush(timeout: float = 5.0) -> None:
    """Wait for the background loop's messages (before a short-lived process exits)."""
    loop = _background
    if loop is None or loop.is_closed():
        return
    tail = _tails.get(loop)
    if tail is None:
        return

    async def wait() -> None:
        await asyncio.gather(tail, return_exceptions=True)

    try:
        asyncio.run_coroutine_threadsafe(wait(), loop).result(timeout)
    except Exception:
        logger.warning("channel-layer messages still pending at exit")


def _flush_background() -> None:
    flush(timeout=2.0)

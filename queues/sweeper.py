"""Running the queue's timers: inside every web process, and as a command.

Deadlines live in the database; ``sweep()`` enforces them. Each web process starts a background
sweeper on its first request (Daphne has no start-up hook), so ``make run`` needs nothing else;
``manage.py run_queue_sweeper`` runs the same loop on its own. A short lease in the shared cache
lets one sweeper work at a time; sweeping is idempotent, so an overlap is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections

from core.outages import is_outage
from queues.services.timers import sweep

logger = logging.getLogger(__name__)

LEASE_KEY = "queues:sweeper-lease"


def _lease_seconds() -> int:
    return max(2, int(settings.QUEUE_SWEEP_SECONDS * 3))


def take_lease(owner: str) -> bool:
    if cache.add(LEASE_KEY, owner, timeout=_lease_seconds()):
        return True
    if cache.get(LEASE_KEY) == owner:
        cache.touch(LEASE_KEY, _lease_seconds())
        return True
    return False


class _Outage:
    """Whether the last sweep met an unreachable PostgreSQL or Redis: an outage is logged once
    when it starts and once when it ends, not with a traceback every second."""

    ongoing = False


def sweep_once(owner: str) -> None:
    close_old_connections()
    try:
        if take_lease(owner):
            sweep()
    except Exception as exc:
        if not is_outage(exc):
            logger.exception("queue sweep failed; the next one will retry")
        elif not _Outage.ongoing:
            _Outage.ongoing = True
            logger.warning(
                "Queue sweeps paused: %s (a backing service is unreachable); retrying every %s s",
                type(exc).__name__,
                settings.QUEUE_SWEEP_SECONDS,
            )
    else:
        if _Outage.ongoing:
            _Outage.ongoing = False
            logger.warning("Queue sweeps resumed")
    finally:
        close_old_connections()


async def run_forever(owner: str | None = None) -> None:
    owner = owner or uuid.uuid4().hex
    step = sync_to_async(sweep_once, thread_sensitive=False)
    while True:
        await asyncio.sleep(float(settings.QUEUE_SWEEP_SECONDS))
        await step(owner)


ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class StartsQueueSweeper:
    """ASGI wrapper: starts this process's sweeper on the first request it serves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.task is None and settings.QUEUE_SWEEPER_IN_WEB:
            self.task = asyncio.get_running_loop().create_task(run_forever())
        await self.app(scope, receive, send)

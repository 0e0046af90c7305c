"""When a service a request needs is down: PostgreSQL, Redis (cache, channel layer) or the
Celery broker.

Such a request is not the caller's fault and is worth repeating, so every door answers it the
same way: HTTP 503 with ``Retry-After`` (the API in its error envelope, pages with their own
page), never a 500. It is safe to say "try again" because of how writes are built: a write and
everything it must cause are committed in one transaction (``core.outbox`` for the work that
follows), and what runs after the commit is best-effort and never raises
(``transaction.on_commit(..., robust=True)``, ``core.publish``). So an outage error that reaches
the door means the write did not commit.
"""

from __future__ import annotations

import logging
from typing import Any

import kombu.exceptions
import redis.exceptions
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpRequest

logger = logging.getLogger(__name__)

# A database that cannot be reached (or dropped the connection, or timed out a lock), a Redis
# that refuses or times out, a broker the task could not be handed to.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseOperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)

# Celery options for a task whose work is a stored row (a notification, an ABDM message):
# acknowledged late and handed on if its worker dies, tried again with back-off while the
# database or broker is away (six times; after that a beat sweep picks the row up again).
OUTAGE_RETRYING_TASK: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": OUTAGE_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_kwargs": {"max_retries": 6},
    "ignore_result": True,
}

# What the 503 answers suggest: long enough for a restarted Redis or a fail-over to settle.
RETRY_AFTER_SECONDS = 15


def is_outage(exc: BaseException | None) -> bool:
    """``exc`` (or an error it was raised from) says a backing service is unreachable."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OUTAGE_ERRORS):
            return True
        exc = exc.__cause__
        seen += 1
    return False


def log_outage(request: HttpRequest, exc: BaseException) -> None:
    """One line, no traceback: during an outage every request fails the same way."""
    logger.warning(
        "Service unavailable for %s %s: %s", request.method, request.path, type(exc).__name__
    )

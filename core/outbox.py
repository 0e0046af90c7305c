"""Work that a committed change implies, recoverable without a person (the outbox pattern).

``enqueue()`` writes an ``OutboxMessage`` in the caller's transaction and sends its Celery task
after the commit, best-effort: a broker outage at that moment loses nothing, because the row
is the record. The task marks the message done (``complete()``) in the transaction that commits
its work. ``relay()``, run by beat every 30 s, sends again every message not done by its
``relay_at``, with exponential back-off, so a failed send, a lost broker message or a worker
killed mid-task delays the work by minutes, not forever. After ``MAX_RELAYS`` sends it gives up
and says so in the log (ERROR): that needs a person.

Tasks sent this way must be idempotent (they may run twice) and retry by themselves on
database and broker errors (``core.outages.OUTAGE_ERRORS``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from core.models import OutboxMessage
from core.outages import is_outage

logger = logging.getLogger(__name__)

# The first relay: long enough for the task sent at commit to have finished, retries included.
FIRST_RELAY_AFTER = timedelta(minutes=3)
RELAY_MAX_INTERVAL = timedelta(hours=1)
# 3 min, 6, 12, 24, 48, then hourly: about a day of tries.
MAX_RELAYS = 30


def relay_interval(relays: int) -> timedelta:
    """How long after its ``relays``-th relay a message is sent again."""
    return min(FIRST_RELAY_AFTER * (1 << min(relays, 10)), RELAY_MAX_INTERVAL)


def enqueue(task: str, *args: Any, key: str, now: datetime | None = None) -> OutboxMessage | None:
    """Record that ``task(*args)`` must run because of the change being written, and send it
    once that change commits. A key seen before records nothing and returns ``None``."""
    now = now or timezone.now()
    message, created = OutboxMessage.objects.get_or_create(
        key=key, defaults={"task": task, "args": list(args), "relay_at": now + FIRST_RELAY_AFTER}
    )
    if not created:
        return None
    transaction.on_commit(partial(_send_after_commit, message), robust=True)
    return message


def complete(key: str, *, now: datetime | None = None) -> bool:
    """The work behind ``key`` is committed (call it in that transaction): no more relays."""
    done = OutboxMessage.objects.filter(key=key, done_at=None).update(done_at=now or timezone.now())
    return done == 1


def relay(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send again the messages whose task has not marked them done in time; returns how many
    were sent. Safe to run in several processes at once: each send is claimed first."""
    now = now or timezone.now()
    waiting = OutboxMessage.objects.filter(done_at=None, gave_up_at=None, relay_at__lte=now)
    sent = 0
    for message in waiting.order_by("relay_at")[:limit]:
        if message.relays >= MAX_RELAYS:
            _give_up(message, now)
            continue
        relays = message.relays + 1
        claimed = OutboxMessage.objects.filter(pk=message.pk, relays=message.relays).update(
            relays=relays, relay_at=now + relay_interval(relays)
        )
        if not claimed:
            continue  # another relay took it
        try:
            _send(message)
        except Exception as exc:
            if not is_outage(exc):
                raise
            # The broker is away: the claim stands and the next relay tries again.
            logger.warning("Outbox relay stopped, the broker is unreachable: %s", exc)
            break
        sent += 1
    return sent


def _give_up(message: OutboxMessage, now: datetime) -> None:
    gave_up = OutboxMessage.objects.filter(pk=message.pk, gave_up_at=None).update(gave_up_at=now)
    if gave_up:
        logger.error(
            "Outbox message %s (%s) is still not done after %d sends: given up",
            message.key,
            message.task,
            message.relays,
        )


def _send(message: OutboxMessage) -> None:
    tasks = current_app.tasks
    if message.task not in tasks:
        current_app.loader.import_default_modules()  # every app's tasks.py (autodiscovery)
    # apply_async, not send_task: with eager Celery (make run without Redis) it runs here.
    current_app.tasks[message.task].apply_async(args=message.args)


def _send_after_commit(message: OutboxMessage) -> None:
    try:
        _send(message)
    except Exception as exc:
        if not is_outage(exc):
            raise  # on_commit(robust=True) logs it; the relay tries again
        logger.warning(
            "Outbox message %s not sent after commit (%s); the relay sends it later",
            message.key,
            type(exc).__name__,
        )

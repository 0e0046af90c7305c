"""Telling patients things by SMS and e-mail.

Two paths:

- ``notify()`` stores the message (idempotency key, rendered body) and delivers it exactly
  once through Celery, with retries and a record of every attempt. The apps that own a message
  compose it (a signed e-prescription's link, a follow-up reminder); this app only delivers.
- ``queue_sms()`` sends at once and stores nothing: one-time sign-in codes must never reach the
  database, and waiting-room news is worthless a few minutes later. A code is handed to the
  broker inside the request's transaction (no broker, no code, a 503); news after the commit,
  best-effort.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial

from django.db import transaction

from core.outages import is_outage
from notifications.models import Notification
from notifications.tasks import deliver_notification, send_sms

logger = logging.getLogger(__name__)


def queue_sms(*, to: str, body: str, required: bool = False) -> str:
    """Hand an SMS to the broker; returns the message reference. Nothing is stored: use it for
    one-time codes and other short-lived news.

    - News (the default) goes once the caller's transaction commits, best-effort: with the
      broker unreachable it is lost (and logged), and the change it announced stands.
    - ``required=True`` (a sign-in code) is handed over at once, inside the caller's
      transaction: an unreachable broker fails the request (503) and rolls back what it wrote,
      so nobody is told a code is on its way that never will be. Call it last in the
      transaction.
    """
    reference = uuid.uuid4().hex
    if required:
        send_sms.delay(to, body, reference)
    else:
        transaction.on_commit(partial(_send_news, to, body, reference), robust=True)
    return reference


def _send_news(to: str, body: str, reference: str) -> None:
    try:
        send_sms.delay(to, body, reference)
    except Exception as exc:
        if not is_outage(exc):
            raise
        logger.warning("SMS %s not sent, the broker is unreachable: %s", reference, exc)


def notify(
    *,
    key: str,
    channel: str,
    recipient: str,
    body: str,
    subject: str = "",
    topic: str = "",
    about: uuid.UUID | None = None,
) -> Notification | None:
    """Store a message under ``key`` and send it after the current transaction commits.

    A key seen before does nothing and returns ``None``: the first message with that key is the
    one sent, whatever this call's body says. Never pass a one-time code here (``queue_sms``).
    """
    if not recipient:
        raise ValueError("A notification needs a recipient.")
    notification, created = Notification.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "channel": channel,
            "recipient": recipient,
            "body": body,
            "subject": subject,
            "topic": topic,
            "about": about,
        },
    )
    if not created:
        return None
    pk = notification.pk
    # robust: a broker outage must not fail the caller's request after its data is committed;
    # the every-minute sweep (retry_due_notifications) sends the message once the broker is back.
    transaction.on_commit(partial(_deliver_after_commit, pk), robust=True)
    return notification


def _deliver_after_commit(pk: int) -> None:
    try:
        deliver_notification.delay(pk)
    except Exception as exc:
        if not is_outage(exc):
            raise
        logger.warning("Notification %s stored, its sending waits for the broker: %s", pk, exc)

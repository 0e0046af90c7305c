from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.outages import OUTAGE_RETRYING_TASK
from notifications import delivery
from notifications.sms import SmsDeliveryError, SmsMessage, get_backend

logger = logging.getLogger(__name__)


class TemporarySmsFailure(Exception):
    pass


@shared_task(
    autoretry_for=(TemporarySmsFailure,),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
    ignore_result=True,
)
def send_sms(to: str, body: str, reference: str) -> None:
    """Send one SMS that is not stored (sign-in codes, waiting-room news). The body is already
    rendered in the recipient's language."""
    try:
        get_backend().send(SmsMessage(to=to, body=body, reference=reference))
    except SmsDeliveryError as exc:
        logger.warning("SMS %s not delivered: %s", reference, exc)
        if exc.temporary:
            raise TemporarySmsFailure(str(exc)) from exc


# The notification counts its own attempts and gives up after MAX_ATTEMPTS.
@shared_task(bind=True, max_retries=None, **OUTAGE_RETRYING_TASK)
def deliver_notification(self: Any, notification_id: int) -> None:
    """Send one stored notification, exactly once however often this runs (see
    ``notifications.delivery``); a temporary failure comes back after its back-off."""
    result = delivery.deliver(notification_id)
    if result.retry_at is not None:
        countdown = max((result.retry_at - timezone.now()).total_seconds(), 0.0)
        if countdown <= settings.CELERY_MAX_RETRY_COUNTDOWN:
            raise self.retry(countdown=countdown)
        # A longer wait is the every-minute sweep's (retry_due_notifications): a message held
        # past the broker's visibility timeout would be handed to a second worker too.


@shared_task(ignore_result=True)
def retry_due_notifications() -> int:
    """Every minute (beat): re-enqueue notifications whose task was lost, whether the broker
    dropped the message or a worker died holding the claim."""
    delivery.give_up_abandoned()
    overdue = delivery.overdue_ids()
    for notification_id in overdue:
        deliver_notification.delay(notification_id)
    return len(overdue)

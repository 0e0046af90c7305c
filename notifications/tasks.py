from __future__ import annotations

import logging

from celery import shared_task

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
    """Send one SMS. The body is already rendered in the recipient's language."""
    try:
        get_backend().send(SmsMessage(to=to, body=body, reference=reference))
    except SmsDeliveryError as exc:
        logger.warning("SMS %s not delivered: %s", reference, exc)
        if exc.temporary:
            raise TemporarySmsFailure(str(exc)) from exc

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from abdm import inbound, outbound, records
from core.outages import OUTAGE_RETRYING_TASK


# The message counts its own attempts (abdm.models.MAX_ATTEMPTS) and its own back-off.
@shared_task(bind=True, max_retries=None, **OUTAGE_RETRYING_TASK)
def deliver_gateway_message(self: Any, message_id: int) -> None:
    """POST one stored message to the gateway, once however often this runs; a connection
    error, timeout or 5xx comes back after its back-off."""
    delay = outbound.deliver(message_id)
    if delay is not None and delay.total_seconds() <= settings.CELERY_MAX_RETRY_COUNTDOWN:
        raise self.retry(countdown=delay.total_seconds())
    # A longer wait is the sweep's (send_overdue_messages).


@shared_task(**OUTAGE_RETRYING_TASK)
def process_callback(message_id: int) -> None:
    """Process one recorded callback from the gateway, once."""
    inbound.process(message_id)


@shared_task(ignore_result=True)
def send_overdue_messages() -> int:
    """Re-enqueue outbound messages whose task was lost (broker message dropped, worker died)."""
    outbound.give_up_abandoned()
    overdue = outbound.overdue_ids()
    for message_id in overdue:
        deliver_gateway_message.delay(message_id)
    return len(overdue)


@shared_task(**OUTAGE_RETRYING_TASK)
def transfer_health_information(request_id: int) -> None:
    """Check, acknowledge and push one health-information request, once."""
    from abdm import transfer  # noqa: PLC0415 - it sends through abdm.services, which queues tasks

    transfer.run(request_id)


@shared_task(ignore_result=True)
def expire_consents() -> int:
    """Daily: consents past their data-erase time are expired and their artefact dropped."""
    return records.expire_consents(timezone.now())

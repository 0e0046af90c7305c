"""Sending one stored outbound message, exactly once however often the task runs.

The message keeps its REQUEST-ID across tries: that is the id the gateway's callback will
answer, and a 429 on a retry ("request id already used") proves an earlier try reached the
gateway, so it counts as sent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from abdm import gateway
from abdm.models import LEASE, MAX_ATTEMPTS, GatewayMessage, retry_delay

logger = logging.getLogger(__name__)


def deliver(message_id: int) -> timedelta | None:
    """Claim and POST the message. Returns the wait before the next try when it must be tried
    again, else ``None`` (sent, given up, or not ours to send: terminal or claimed elsewhere)."""
    now = timezone.now()
    message = GatewayMessage.claim_for_sending(message_id, now=now)
    if message is None:
        return None
    try:
        answer = gateway.post(
            message.path,
            message.body,
            request_id=message.request_id,
            hip_id=message.hip_id,
            extra_headers=message.headers or None,
        )
    except gateway.GatewayUnreachable as exc:
        if message.attempts >= MAX_ATTEMPTS:
            message.mark_failed(error=f"unreachable after {message.attempts} tries: {exc}")
            logger.warning("ABDM %s %s given up: %s", message.flow, message.request_id, exc)
            return None
        delay = retry_delay(message.attempts)
        message.mark_for_retry(at=timezone.now() + delay, error=str(exc))
        logger.info("ABDM %s %s retried in %s: %s", message.flow, message.request_id, delay, exc)
        return delay
    except gateway.GatewayRefused as exc:
        message.mark_failed(error=str(exc))
        logger.warning("ABDM %s %s refused: %s", message.flow, message.request_id, exc)
        return None
    if answer.status == 429:
        logger.info(
            "ABDM %s %s: request id already used, an earlier try reached the gateway",
            message.flow,
            message.request_id,
        )
    message.mark_accepted(now=timezone.now())
    return None


def give_up_abandoned() -> int:
    """Messages whose last allowed try died with its worker (lease lapsed): failed, as no try
    is left to claim them."""
    lapsed = timezone.now() - LEASE
    return GatewayMessage.objects.filter(
        direction=GatewayMessage.Direction.OUTBOUND,
        state=GatewayMessage.State.SENDING,
        sending_since__lt=lapsed,
        attempts__gte=MAX_ATTEMPTS,
    ).update(
        state=GatewayMessage.State.FAILED,
        sending_since=None,
        last_error="the worker holding the last try stopped",
    )


def overdue_ids(grace: timedelta = timedelta(minutes=1)) -> list[int]:
    """Outbound messages whose task should have run by now (lost broker message, dead worker)."""
    now = timezone.now()
    return list(
        GatewayMessage.objects.claimable(now)
        .filter(next_attempt_at__lt=now - grace)
        .values_list("pk", flat=True)[:500]
    )

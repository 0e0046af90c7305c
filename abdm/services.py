"""The two doors of the ABDM client: ``send`` (a call to the gateway) and ``record_callback``
(a call from it). Both store a ``GatewayMessage`` in the caller's transaction and hand it to a
Celery task after commit (robust: a broker outage never fails the caller; the sweep
``abdm.tasks.send_overdue_messages`` picks up what was not handed over)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from abdm.inbound import answered_request_id
from abdm.models import Flow, GatewayMessage, digest
from abdm.tasks import deliver_gateway_message, process_callback
from core.outages import is_outage

logger = logging.getLogger(__name__)


def send(
    flow: Flow,
    path: str,
    body: dict[str, Any],
    *,
    hip: bool = True,
    headers: dict[str, str] | None = None,
) -> GatewayMessage:
    """Queue one call to the gateway at ``path`` (e.g. ``/consent/v3/request/hip/on-notify``).
    ``hip``: the call names this HIP (header X-HIP-ID); ``headers``: extra ones (X-LINK-TOKEN),
    kept with the body until the gateway accepts the call. Sent after the caller's transaction
    commits, retried with back-off, sent once however often its task runs."""
    message = GatewayMessage.objects.create(
        request_id=uuid.uuid4(),
        direction=GatewayMessage.Direction.OUTBOUND,
        flow=flow,
        path=path,
        hip_id=settings.ABDM_HIP_ID if hip else "",
        state=GatewayMessage.State.QUEUED,
        body=body,
        headers=headers or {},
        body_digest=digest(body),
    )
    transaction.on_commit(lambda: hand_over(deliver_gateway_message, message.pk), robust=True)
    return message


def hand_over(task: Any, pk: int) -> None:
    try:
        task.delay(pk)
    except Exception as exc:
        if not is_outage(exc):
            raise
        logger.warning("ABDM message %s stored, its task waits for the broker: %s", pk, exc)


def record_callback(*, request_id: uuid.UUID, flow: Flow, path: str, body: Any) -> tuple[bool, int]:
    """Store one callback. Returns (new, pk); a request id seen before changes nothing. A second
    answer (with a new id) to a request that was already answered is stored as a duplicate."""
    existing = GatewayMessage.objects.filter(
        direction=GatewayMessage.Direction.INBOUND, request_id=request_id
    ).first()
    if existing is not None:
        return False, existing.pk
    now = timezone.now()
    answers_id = answered_request_id(body)
    answers = (
        GatewayMessage.objects.filter(
            direction=GatewayMessage.Direction.OUTBOUND, request_id=answers_id
        ).first()
        if answers_id
        else None
    )
    # A second answer (under a new request id) to a request already answered: kept, not run.
    duplicate = answers is not None and answers.answered_by.exists()
    try:
        with transaction.atomic():
            message = GatewayMessage.objects.create(
                request_id=request_id,
                direction=GatewayMessage.Direction.INBOUND,
                flow=flow,
                path=path,
                state=GatewayMessage.State.DUPLICATE
                if duplicate
                else GatewayMessage.State.RECEIVED,
                body=None if duplicate else body,
                body_digest=digest(body),
                answers=answers,
                answers_request_id=answers_id,
                created_at=now,
            )
            if answers is not None and not duplicate:
                GatewayMessage.mark_answered(answers.request_id, now=now)
    except IntegrityError:  # the same callback, recorded by a concurrent request
        return False, GatewayMessage.objects.get(
            direction=GatewayMessage.Direction.INBOUND, request_id=request_id
        ).pk
    if message.state == GatewayMessage.State.RECEIVED:
        pk = message.pk
        transaction.on_commit(lambda: hand_over(process_callback, pk), robust=True)
    return True, message.pk

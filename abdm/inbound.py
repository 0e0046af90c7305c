"""Processing callbacks from the gateway, once each.

``abdm.services.record_callback`` stores a verified callback and hands it to a Celery task after
commit; the task calls ``process``, which runs the flow's handler from ``HANDLERS``. Handlers
register with ``handles`` (``abdm/handlers.py`` and ``abdm/share.py``, imported at app start); a
callback of a flow with no handler is recorded and marked processed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from abdm.models import Flow, GatewayMessage

logger = logging.getLogger(__name__)

Handler = Callable[[GatewayMessage], None]
HANDLERS: dict[str, Handler] = {}


def handles(flow: Flow) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[flow] = handler
        return handler

    return register


def answered_request_id(body: Any) -> uuid.UUID | None:
    response = body.get("response") if isinstance(body, dict) else None
    value = response.get("requestId") if isinstance(response, dict) else None
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def process(message_id: int) -> bool:
    """Run the callback's handler once. ``False`` if it was processed (or claimed) already."""
    message = GatewayMessage.claim_for_processing(message_id)
    if message is None:
        return False
    handler = HANDLERS.get(message.flow)
    try:
        with transaction.atomic():
            if handler is not None:
                handler(message)
            message.mark_processed(now=timezone.now())
    except Exception as exc:
        message.mark_failed(error=type(exc).__name__)
        logger.exception("ABDM callback %s (%s) failed", message.request_id, message.flow)
        return False
    return True

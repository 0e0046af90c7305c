from __future__ import annotations

import uuid

from django.db import transaction

from notifications.tasks import send_sms


def queue_sms(*, to: str, body: str) -> str:
    """Send an SMS once the current transaction commits; returns the message reference."""
    reference = uuid.uuid4().hex
    transaction.on_commit(lambda: send_sms.delay(to, body, reference))
    return reference

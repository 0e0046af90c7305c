from __future__ import annotations

from celery import shared_task

from consultations.documents import render_and_store

# Celery's autodiscovery imports each app's tasks.py; the reminder job lives with its rules.
from consultations.reminders import remind_follow_ups
from core.outages import OUTAGE_ERRORS

__all__ = ["remind_follow_ups", "render_prescription"]


@shared_task(
    acks_late=True,
    # A database that blinks, a broker that goes away, a volume that hiccups: worth retrying.
    # After these retries (about a minute) the outbox relay sends the task again.
    autoretry_for=(*OUTAGE_ERRORS, OSError),
    retry_backoff=2,
    retry_backoff_max=30,
    retry_jitter=False,
    max_retries=6,
    ignore_result=True,
)
def render_prescription(prescription_id: int) -> None:
    """Render the signed prescription's PDF once, then send the notifications (idempotent:
    running it twice renders and notifies once). Sent through the outbox when it is signed."""
    render_and_store(prescription_id)

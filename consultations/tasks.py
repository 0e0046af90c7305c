from __future__ import annotations

from celery import shared_task

from consultations.documents import render_and_store

# Celery's autodiscovery imports each app's tasks.py; the reminder job lives with its rules.
from consultations.reminders import remind_follow_ups

__all__ = ["remind_follow_ups", "render_prescription"]


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=2,
    retry_backoff_max=120,
    max_retries=8,
    ignore_result=True,
)
def render_prescription(prescription_id: int) -> None:
    """Render the signed prescription's PDF once, then send the notifications (idempotent:
    running it twice renders and notifies once)."""
    render_and_store(prescription_id)

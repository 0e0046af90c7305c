from __future__ import annotations

from celery import shared_task

from consultations.documents import render_and_store


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

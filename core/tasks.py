from __future__ import annotations

from celery import shared_task

from core import outbox


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Every 30 s (beat): send again the outbox messages whose work is not done in time."""
    return outbox.relay()

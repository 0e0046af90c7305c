from __future__ import annotations

from celery import shared_task

from queues.sweeper import sweep_once


@shared_task(ignore_result=True)
def sweep_queues() -> None:
    """Celery beat's backstop for the web processes' sweepers (see queues.sweeper)."""
    sweep_once(owner="celery-beat")

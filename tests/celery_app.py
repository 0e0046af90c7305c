"""The project's Celery app with tasks of the tests' own: one that holds a worker for a while
(``celery -A tests.celery_app worker``), one that records its calls (eager, in-process)."""

from __future__ import annotations

import time
from typing import Any

from esanjeevani.celery import app

__all__ = ["RECORDED", "app", "pause", "record"]

RECORDED: list[Any] = []


@app.task(name="tests.pause", acks_late=True, ignore_result=True)
def pause(seconds: float) -> None:
    """Hold a worker's pool slot for ``seconds``."""
    time.sleep(seconds)


@app.task(name="tests.record", ignore_result=True)
def record(value: Any) -> None:
    RECORDED.append(value)

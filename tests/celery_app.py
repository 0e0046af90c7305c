"""The project's Celery app with one more task, for workers started by the tests that need a
task to be in flight for a while (``celery -A tests.celery_app worker``)."""

from __future__ import annotations

import time

from esanjeevani.celery import app

__all__ = ["app", "pause"]


@app.task(name="tests.pause", acks_late=True, ignore_result=True)
def pause(seconds: float) -> None:
    """Hold a worker's pool slot for ``seconds``."""
    time.sleep(seconds)

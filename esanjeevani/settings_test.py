"""Settings for the test suite: real PostgreSQL and Redis on this machine unless told otherwise."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/esanjeevani")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-checks")
os.environ.setdefault("SMS_BACKEND", "notifications.sms.InMemorySmsBackend")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("CACHE_KEY_PREFIX", "esj-test")
# Tests drive the queue's timers with a controlled clock; browser tests start real sweepers.
os.environ.setdefault("QUEUE_SWEEPER_IN_WEB", "0")

from esanjeevani.settings import *  # noqa: F403

# Tests render pages without running collectstatic first.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploaded records from tests go to a scratch directory, not the project's var/.
MEDIA_ROOT = Path(tempfile.gettempdir()) / "esanjeevani-test-media"
STATIC_ROOT = Path(tempfile.gettempdir()) / "esanjeevani-test-static"
STATIC_ROOT.mkdir(exist_ok=True)

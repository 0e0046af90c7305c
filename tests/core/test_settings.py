"""Settings read from the environment and fail loudly: each case starts a fresh Django process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VALID_SECRET_KEY = "test-only-secret-key-0123456789-abcdefghijklmnop"

# Sets Django up exactly as a server process would, then reports what it configured.
PROBE = """
import json

import django

django.setup()

from django.conf import settings

print(json.dumps({
    "secret_key": settings.SECRET_KEY,
    "database_engine": settings.DATABASES["default"]["ENGINE"],
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "celery_eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "celery_broker": settings.CELERY_BROKER_URL,
    "time_zone": settings.TIME_ZONE,
    "use_tz": settings.USE_TZ,
}))
"""


def start_django(**env: str) -> subprocess.CompletedProcess[str]:
    """Run the probe with nothing from the outside but PATH, HOME and the given variables."""
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(Path.home()),
            "DJANGO_SETTINGS_MODULE": "esanjeevani.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def configured(**env: str) -> dict[str, Any]:
    result = start_django(**env)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def error_of(result: subprocess.CompletedProcess[str]) -> str:
    """The exception that stopped start-up, without the traceback (which quotes settings.py)."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.rstrip().splitlines()
    # Traceback frames are indented; the exception starts at the last unindented line.
    start = max(index for index, line in enumerate(lines) if line and not line[0].isspace())
    return "\n".join(lines[start:])


def test_it_refuses_to_start_without_a_secret_key() -> None:
    error = error_of(start_django())

    assert "ImproperlyConfigured" in error
    assert "SECRET_KEY" in error


def test_it_reads_the_secret_key_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(VALID_SECRET_KEY)

    report = configured(SECRET_KEY_FILE=str(secret_file))

    assert report["secret_key"] == VALID_SECRET_KEY


def test_it_refuses_a_short_secret_key() -> None:
    error = error_of(start_django(SECRET_KEY="x" * 31))

    assert "SECRET_KEY must be at least 32 characters" in error


def test_it_refuses_the_sms_gateway_without_its_url() -> None:
    error = error_of(
        start_django(
            SECRET_KEY=VALID_SECRET_KEY,
            SMS_BACKEND="notifications.sms.HttpGatewaySmsBackend",
            SMS_GATEWAY_API_KEY="gateway-api-key",
        )
    )

    assert "ImproperlyConfigured" in error
    assert "SMS_GATEWAY_URL" in error


def test_it_starts_in_debug_without_a_secret_key() -> None:
    result = start_django(DEBUG="1")

    assert result.returncode == 0, result.stderr


def test_it_runs_on_embedded_defaults_without_database_and_redis_urls() -> None:
    report = configured(SECRET_KEY=VALID_SECRET_KEY)

    assert report["database_engine"] == "django.db.backends.sqlite3"
    assert report["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert report["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert report["celery_eager"] is True


def test_it_uses_redis_for_channels_cache_and_celery_when_redis_url_is_set() -> None:
    redis_url = "redis://127.0.0.1:6379/6"

    report = configured(SECRET_KEY=VALID_SECRET_KEY, REDIS_URL=redis_url)

    assert report["channel_layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert report["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert report["celery_eager"] is False
    assert report["celery_broker"] == redis_url


def test_it_keeps_server_time_in_utc() -> None:
    report = configured(SECRET_KEY=VALID_SECRET_KEY)

    assert report["time_zone"] == "UTC"
    assert report["use_tz"] is True


def test_it_refuses_a_database_url_with_an_unknown_scheme() -> None:
    error = error_of(
        start_django(
            SECRET_KEY=VALID_SECRET_KEY,
            DATABASE_URL="mongodb://esanjeevani:db-password@db:27017/esanjeevani",
        )
    )

    assert "ImproperlyConfigured" in error
    assert "DATABASE_URL" in error
    assert "mongodb" in error
    assert "db-password" not in error

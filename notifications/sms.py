"""Pluggable SMS backends, chosen by ``SMS_BACKEND`` as Django chooses e-mail backends.

- ``ConsoleSmsBackend``: prints each message (the ``make run`` default, so the OTP is visible).
- ``FileSmsBackend``: appends one JSON line per message to ``SMS_FILE_PATH``; black-box tests
  read codes from it.
- ``InMemorySmsBackend``: keeps messages in ``outbox`` for tests in one process.
- ``HttpGatewaySmsBackend``: posts to an SMS gateway (production).
"""

from __future__ import annotations

import fcntl
import json
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str
    reference: str  # our idempotency key, passed to the gateway


class SmsDeliveryError(Exception):
    """The gateway did not take the message."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


def _masked(number: str) -> str:
    return f"••••••{number[-4:]}"


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    def send(self, message: SmsMessage) -> None:
        sys.stdout.write(f"\n[SMS to {_masked(message.to)}] {message.body}\n\n")
        sys.stdout.flush()


class FileSmsBackend(BaseSmsBackend):
    def __init__(self, path: str | None = None) -> None:
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, message: SmsMessage) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({**asdict(message), "sent_at": timezone.now().isoformat()})
        with self.path.open("a", encoding="utf-8") as handle:
            # Several processes (web, workers) append to one file: lock so lines never interleave.
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(line + "\n")
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class InMemorySmsBackend(BaseSmsBackend):
    outbox: ClassVar[list[SmsMessage]] = []

    def send(self, message: SmsMessage) -> None:
        self.outbox.append(message)


class HttpGatewaySmsBackend(BaseSmsBackend):
    """A JSON-over-HTTPS gateway: ``POST {url}`` with a bearer key.

    5xx answers and timeouts are temporary (the task retries with back-off); 4xx are permanent.
    """

    def send(self, message: SmsMessage) -> None:
        payload = json.dumps(
            {
                "sender": settings.SMS_SENDER_ID,
                "to": message.to,
                "message": message.body,
                "reference": message.reference,
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is operator configuration
            settings.SMS_GATEWAY_URL,
            data=payload,
            method="POST",
            headers={
                "Authorization": f"Bearer {settings.SMS_GATEWAY_API_KEY}",
                "Content-Type": "application/json",
                "Idempotency-Key": message.reference,
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=settings.SMS_GATEWAY_TIMEOUT_SECONDS
            ) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise SmsDeliveryError(
                f"gateway answered {exc.code}", temporary=exc.code >= 500 or exc.code == 429
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsDeliveryError(f"gateway unreachable: {exc}", temporary=True) from exc


def get_backend() -> BaseSmsBackend:
    backend_class: type[BaseSmsBackend] = import_string(settings.SMS_BACKEND)
    return backend_class()
